// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "metrics.h"

#include <QHash>
#include <QMetaType>
#include <QString>
#include <QStringList>

namespace autofact::server {

/**
 * Coalesced news for user interfaces, emitted by IngestServer::activity() at most a few times
 * a second. A plain struct of its own, so views and models need not see the network server.
 */
struct HubActivity {
    QStringList connected;    ///< client IDs that (re)connected since the last report
    QStringList disconnected; ///< client IDs that went away
    QHash<QString, Sample> latest; ///< newest stored sample per client that sent any
    QHash<QString, metrics::DeviceSummary> devices; ///< newest device figures per client that sent any
    QHash<QString, quint32> backlog; ///< agent-reported unsent batches
    /// Online state, at the time of the report, of every client that connected or disconnected
    /// in the period (the two lists above lose the order of events).
    QHash<QString, bool> onlineNow;
    /// Clients that became stale (true: connected, no data for longer than staleAfterMs()) or
    /// recovered (false) in the period.
    QHash<QString, bool> staleNow;
    quint64 samplesStored = 0;
    /// Microseconds from arrival to acknowledgement of each batch acknowledged in the period.
    QList<qint64> ackLatencyUs;
    int onlineClients = 0;
};

} // namespace autofact::server

Q_DECLARE_METATYPE(autofact::server::HubActivity)
