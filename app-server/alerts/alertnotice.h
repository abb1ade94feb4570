// SPDX-License-Identifier: MIT
#pragma once

#include <QMetaType>
#include <QString>

namespace autofact::server {

/**
 * One message for the notification channels: an alert fired, fired again (repeat), resolved,
 * or a test. Carries everything a webhook body and a command's environment need
 * (docs/ALERTS.md), with the hostname in every summary.
 */
struct AlertNotice {
    enum class Status { Firing, Resolved };
    Status status = Status::Firing;
    bool repeat = false; ///< a reminder of an alert still firing
    bool test = false;   ///< `autofactory notify test` or the dashboard's Test button
    qint64 alertId = 0;
    QString rule;      ///< "cpu_busy"
    QString ruleTitle; ///< "CPU busy"
    QString clientId;
    QString hostname;
    double value = 0;
    double threshold = 0;
    QString unit;
    qint64 startedMs = 0;
    qint64 resolvedMs = 0; ///< 0 while firing
    QString summary;       ///< one line, hostname first
    QString urlHint;       ///< where to look: autofact://SERVER/client/ID/alert/N

    QString statusName() const
    {
        return status == Status::Firing ? QStringLiteral("firing") : QStringLiteral("resolved");
    }
};

} // namespace autofact::server

Q_DECLARE_METATYPE(autofact::server::AlertNotice)
