// SPDX-License-Identifier: MIT
#pragma once

#include "alerts/alertrules.h"
#include "hubactivity.h"
#include "messages.h"
#include "store/alertstore.h"
#include "store/storetypes.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <array>
#include <optional>
#include <vector>

namespace autofact::server {

struct CommitStats;

/**
 * What autofactory tells Prometheus: per-client gauges from the hub's live news and the store's
 * inventory, and the server's own counters and histograms. Rendered in the text exposition
 * format 0.0.4.
 *
 * Not thread-safe: it lives on one thread (MetricsEndpoint's) and is fed by queued signals.
 * Clients are rendered only once their hostname is known (from the inventory), so a series
 * never changes its labels after its first scrape.
 */
class MetricsRegistry
{
public:
    /** Fixed buckets (upper bounds, seconds) with their counts, sum and count. */
    struct Histogram {
        explicit Histogram(std::vector<double> bounds);
        void observe(double seconds);
        std::vector<double> bounds;
        std::vector<quint64> counts; ///< per bucket, not cumulative; last: above every bound
        double sum = 0;
        quint64 count = 0;
    };

    MetricsRegistry();

    /**
     * The store's client list: hostnames and last sample times. Clients in no inventory and
     * without a live session (forgotten with their history, merged away) are dropped.
     */
    void setInventory(const QList<ClientInfo> &clients);
    /** Marks the clients still waiting for an inventory as known without a hostname. */
    void giveUpOnInventory();
    /** The hub's news: sessions begun and ended, newest samples, ack latencies. */
    void applyActivity(const HubActivity &activity);
    /** One group commit: its duration and the samples it stored. */
    void recordCommit(const CommitStats &stats);
    /** The active (unresolved) alerts, as StoreWorker::alertsChanged gives them. */
    void setAlerts(const QList<AlertRecord> &active);
    /** Samples handed to the store worker and not yet committed. */
    void setQueuedSamples(quint64 samples) { m_queuedSamples = samples; }

    /** True when a client showed up that the inventory did not name yet. */
    bool needsInventory() const { return m_waitingForInventory > 0; }
    int clientCount() const { return int(m_clients.size()); }

    /** The whole exposition, ages counted to @p nowMs (wall clock, ms since the epoch). */
    QByteArray render(qint64 nowMs) const;
    /** The same into @p out (cleared; its capacity is reused). */
    void render(QByteArray &out, qint64 nowMs) const;

    /** @p value as a label value: backslash, double quote and line feed escaped (UTF-8). */
    static QByteArray escapeLabelValue(const QString &value);

private:
    struct Client {
        QString id;
        QByteArray labels; ///< client_id="…",hostname="…" escaped, built once per hostname
        bool known = false; ///< hostname known (from the inventory): rendered
        bool online = false;
        qint64 lastSampleMs = 0; ///< 0: none known
        std::optional<Sample> latest; ///< newest sample seen since start
    };

    Client &client(const QString &id);
    void setLabels(Client &c, const QString &hostname);

    std::vector<Client> m_clients;
    QHash<QString, std::size_t> m_index; ///< client ID → position in m_clients
    int m_waitingForInventory = 0;
    int m_online = 0;
    quint64 m_samplesStored = 0;
    quint64 m_queuedSamples = 0;
    Histogram m_ackLatency;
    Histogram m_commitTime;
    std::array<int, alertRuleCount> m_alertsByRule{}; ///< active alerts per AlertRule, in enum order
    int m_alertsOther = 0; ///< of rules this build does not know (a newer server wrote them)
};

} // namespace autofact::server
