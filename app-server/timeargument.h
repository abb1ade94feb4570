// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringView>

#include <optional>

namespace autofact::server {

/**
 * Parses a --from/--to value into UTC milliseconds since the epoch.
 *
 * Accepted: ISO 8601 ("2026-11-29T04:18:53.123Z", "2026-11-29T04:18:53+02:00",
 * "2026-11-29T04:18", "2026-11-29"; without an offset the time is taken as UTC, like every
 * time the server prints), "now", or a time relative to @p nowMs written as a minus sign and
 * a duration ("-1h", "-7d", "-1h30m"; see autofact::duration::parse).
 * On failure returns std::nullopt and sets @p error to a one-line message.
 */
std::optional<qint64> parseTimeArgument(QStringView text, qint64 nowMs, QString *error);

} // namespace autofact::server
