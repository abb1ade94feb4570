// SPDX-License-Identifier: MIT
#pragma once

#include "historydata.h"
#include "messages.h"
#include "metrics.h"
#include "store/store.h"

#include <QHash>
#include <QSet>
#include <QObject>

#include <atomic>
#include <memory>

namespace autofact::dashboard {

/**
 * The dashboard's read-only view of the database, on its own thread (WAL lets it read while
 * the StoreWorker writes). Call its slots only through queued invocations; answers come back
 * as signals. The Store is opened on first use, on the reader's thread.
 */
class StoreReader : public QObject
{
    Q_OBJECT
public:
    explicit StoreReader(QString databasePath, QObject *parent = nullptr);
    ~StoreReader() override;

    /**
     * Reads the client inventory and the database size; emits inventoryLoaded. Then, once per
     * client this reader has not summarised yet (every client the first time), reads what its
     * newest stored device readings say and emits deviceSummariesLoaded with those that have
     * any: the Disk and Network columns need not wait for the agent's next reading.
     */
    void loadInventory();
    /** Reads, decimates and emits historyLoaded, unless a newer request is already posted. */
    void loadHistory(const autofact::dashboard::HistoryRequest &request);
    /**
     * Reads the default config and every override; emits configsLoaded, with group overrides
     * keyed by server::groupRuleScope() ("@" and the group name).
     */
    void loadConfigs();
    /** Reads, decimates and emits compareLoaded, unless a newer compare request is posted. */
    void loadCompare(const autofact::dashboard::CompareRequest &request);
    /** Thread-safe, as setLatestHistoryRequest, for compare requests. */
    void setLatestCompareRequest(quint64 id) { m_latestCompare.store(id); }
    /** The synchronous work behind loadCompare (benchmarks call it directly). */
    static CompareData readCompare(server::Store &store, const CompareRequest &request,
                                   const std::atomic<quint64> *latest = nullptr);
    /**
     * Reads a client's device readings over a range, decimates each device's lines and emits
     * devicesLoaded, unless a newer device request is already posted.
     */
    void loadDevices(const autofact::dashboard::DeviceRequest &request);
    /** Thread-safe, as setLatestHistoryRequest, for device requests. */
    void setLatestDeviceRequest(quint64 id) { m_latestDevices.store(id); }
    /**
     * The synchronous work behind loadDevices (tests and benchmarks call it directly). Reads
     * the range an hour at a time, so memory stays bounded by the plot width, not the range.
     */
    static DeviceData readDevices(server::Store &store, const DeviceRequest &request,
                                  const std::atomic<quint64> *latest = nullptr);
    /** Reads the retention settings and each tier's figures; emits storageLoaded. */
    void loadStorage();
    /** Reads every client's samples since @p sinceMs (at most @p perClient newest each). */
    void loadRecent(qint64 sinceMs, int perClient);

    /**
     * Thread-safe: the newest request ID the GUI has posted. Older requests still queued are
     * skipped, and one being read stops early, so zooming fast never queues work.
     */
    void setLatestHistoryRequest(quint64 id) { m_latestRequest.store(id); }

    /** Which tier draws which part of a range: [from, hoursEnd) hours, [hoursEnd, minutesEnd) minutes, then raw. */
    struct TierPlan {
        qint64 hoursEnd = 0;
        qint64 minutesEnd = 0;
    };
    /**
     * The tiers for @p clientId over [@p fromMs, @p toMs) at @p columns pixels: the finest the
     * column width allows (raw when @p needRaw), and coarser ones where retention took it.
     */
    static TierPlan planTiers(server::Store &store, const QString &clientId, qint64 fromMs, qint64 toMs, int columns,
                              bool needRaw);
    /** The synchronous work behind loadHistory (benchmarks call it directly). */
    static HistoryData readHistory(server::Store &store, const HistoryRequest &request,
                                   const std::atomic<quint64> *latest = nullptr);

Q_SIGNALS:
    void inventoryLoaded(const QList<autofact::server::ClientInfo> &clients,
                         qint64 databaseBytes);
    /** Stored device figures per client (DeviceHistory::latestSummary), after inventoryLoaded. */
    void deviceSummariesLoaded(const QHash<QString, autofact::metrics::DeviceSummary> &summaries);
    void historyLoaded(const autofact::dashboard::HistoryData &data);
    void compareLoaded(const autofact::dashboard::CompareData &data);
    void devicesLoaded(const autofact::dashboard::DeviceData &data);
    void storageLoaded(const autofact::server::StorageStats &stats, const autofact::server::RetentionSettings &settings);
    void configsLoaded(const autofact::AgentConfig &defaults,
                       const QHash<QString, autofact::AgentConfig> &overrides);
    void readError(const QString &message);
    void recentLoaded(const autofact::dashboard::RecentHistory &recent);

private:
    server::Store *store();

    QString m_path;
    std::unique_ptr<server::Store> m_store;
    QSet<QString> m_summarised; ///< clients whose stored device readings were read (reader thread)
    std::atomic<quint64> m_latestRequest{0};
    std::atomic<quint64> m_latestCompare{0};
    std::atomic<quint64> m_latestDevices{0};
};

} // namespace autofact::dashboard
