// SPDX-License-Identifier: MIT
#include "timeargument.h"

#include "duration.h"

#include <QDateTime>

namespace autofact::server {

std::optional<qint64> parseTimeArgument(QStringView text, qint64 nowMs, QString *error)
{
    const QStringView trimmed = text.trimmed();
    auto fail = [&]() -> std::optional<qint64> {
        if (error)
            *error = QStringLiteral("bad time '%1': use ISO 8601 (e.g. 2026-11-29T04:18:53Z) "
                                    "or a relative time such as -1h or -7d")
                             .arg(text);
        return std::nullopt;
    };
    if (trimmed.isEmpty())
        return fail();
    if (trimmed == u"now")
        return nowMs;
    if (trimmed.startsWith(u'-')) {
        const auto d = duration::parse(trimmed.mid(1));
        if (!d)
            return fail();
        return nowMs - d->count();
    }
    // A bare year or number would parse as a date in some readings; insist on YYYY-MM-DD.
    if (trimmed.size() < 10 || trimmed[4] != u'-' || trimmed[7] != u'-')
        return fail();
    QDateTime dt = QDateTime::fromString(trimmed.toString(), Qt::ISODateWithMs);
    if (!dt.isValid())
        return fail();
    if (dt.timeSpec() == Qt::LocalTime)
        dt = QDateTime(dt.date(), dt.time(), Qt::UTC);
    return dt.toMSecsSinceEpoch();
}

} // namespace autofact::server
