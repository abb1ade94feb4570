// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringView>

#include <optional>

/** Sizes as people write them: `--max-db-size 20GiB`, the Storage page, `autofactory storage`. */
namespace autofact::server::bytesize {

/** "500MiB", "20GiB", "1.5TB", "4096" (bytes): binary and decimal units; nullopt if not a size. */
std::optional<qint64> parse(QStringView text);
/** "1.5 GiB", "512 B": binary units, one decimal. */
QString format(qint64 bytes);

} // namespace autofact::server::bytesize
