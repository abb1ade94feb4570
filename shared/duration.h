// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringView>

#include <chrono>
#include <optional>

namespace autofact {

/**
 * Durations in the seed's style: "250ms", "5s", "15m", "1h", "1h30m", "1.5s", "7d".
 * Units: ms, s, m, h, d. A bare number is refused (ambiguous).
 */
namespace duration {

/** Parses @p text; std::nullopt on anything malformed, negative or over ~292 years. */
std::optional<std::chrono::milliseconds> parse(QStringView text);

/** Prints the shortest exact form: 250ms, 5s, 1m30s, 2h, 1d12h. */
QString format(std::chrono::milliseconds value);

} // namespace duration
} // namespace autofact
