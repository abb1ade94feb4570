// SPDX-License-Identifier: MIT
#pragma once

#include <QHash>
#include <QLoggingCategory>
#include <QString>

#include <functional>

namespace autofact::server {

/**
 * Warnings about strangers, summarised: the first of a kind in an interval is logged as it
 * happens, the rest are counted and logged as one line when the interval ends ("… and 498
 * more in the last 10 s from 2 addresses, most from 192.0.2.7 (480)"). A flood of bad
 * attempts then costs two log lines per kind and interval, not one per attempt.
 */
class WarningSummary
{
public:
    using Sink = std::function<void(const QString &line)>;

    /** @p sink receives every line (the hub logs them at warning level). */
    explicit WarningSummary(Sink sink) : m_sink(std::move(sink)) {}

    /** One event of @p kind from @p address; @p detail is the full line for the first one. */
    void note(const QString &kind, const QString &address, const QString &detail);
    /** Ends the interval of @p seconds: one summary line per kind with uncounted events. */
    void flush(int seconds);

private:
    struct Kind {
        bool firstLogged = false;
        int more = 0;
        QHash<QString, int> byAddress;
    };
    Sink m_sink;
    QHash<QString, Kind> m_kinds;
};

} // namespace autofact::server
