// SPDX-License-Identifier: MIT
#pragma once

#include "hubactivity.h"
#include "messages.h"
#include "metrics.h"
#include "store/storetypes.h"

#include <QAbstractTableModel>
#include <QHash>

#include <optional>
#include <vector>

namespace autofact::dashboard {

/**
 * Every client the server knows, one row each: inventory from the Store (read on the
 * dashboard's reader thread) merged with the hub's live news (HubActivity, connects,
 * disconnects, applied config revisions). Offline clients stay listed with when they left.
 *
 * Lives on the GUI thread; all inputs arrive as plain values.
 */
class ClientTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column {
        StatusColumn,
        HostnameColumn,
        IdColumn,
        OsColumn,
        CpuColumn,
        MemoryColumn,
        SwapColumn,
        LoadColumn,
        LastSeenColumn,
        BacklogColumn,
        DroppedColumn,
        ConfigColumn,
        AlertsColumn, ///< alerts firing (the hostname carries a badge too)
        GroupColumn,  ///< the client's group (after the first columns: saved header states keep their meaning)
        DiskColumn,   ///< the fullest filesystem's use % (tooltip: its mount point); offline: the last known, greyed
        NetworkColumn, ///< receive and send rates of all reported interfaces (sorted by their sum); online only
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole + 1, ///< numeric value for numeric columns, text otherwise
        ClientIdRole,                ///< the client's ID (any column)
        StatusRole,                  ///< Status as int
    };

    enum class Status {
        Online,  ///< connected now
        Offline, ///< sent data before, not connected
        NoData,  ///< never sent a sample
        Blocked, ///< revoked: its secret no longer works (shown even while its session ends)
        Stale,   ///< connected, but no data for longer than expected: a hung agent or host
    };
    Q_ENUM(Status)

    /** One row. */
    struct Row {
        server::ClientInfo info;
        std::optional<Sample> latest; ///< newest live sample seen by this dashboard
        metrics::DeviceSummary devices; ///< newest device figures, live or stored (empty(): none yet)
        quint32 backlog = 0;          ///< agent-reported unsent batches
        bool online = false;
        bool stale = false;           ///< the hub's verdict (HubActivity::staleNow)
        qint64 lastSeenMs = 0;
        qint64 leftMs = 0;            ///< when it went offline (this session or as stored)
        QString leftReason;
        QStringList alerts;           ///< titles of the alerts firing for it
    };

    explicit ClientTableModel(QObject *parent = nullptr);

    /** "28 up · 1 stale · 2 down", with never-seen and blocked clients when there are any. */
    QString healthSummary() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    /**
     * Merges a Store inventory: new clients are added, known ones get fresh facts, clients
     * missing from it (forgotten with their history) are removed unless they are online now.
     */
    void setInventory(const QList<server::ClientInfo> &clients);
    /**
     * Merges device figures read from the Store at start-up (StoreReader::deviceSummariesLoaded)
     * into known rows: each kind is taken when newer than the row's, so a live reading that came
     * first stays. Changed rows emit liveDevices as live ones do.
     */
    void setStoredDevices(const QHash<QString, metrics::DeviceSummary> &summaries);
    /** Applies one coalesced hub report. */
    void applyActivity(const server::HubActivity &activity);
    void clientConnected(const QString &clientId);
    void clientDisconnected(const QString &clientId, const QString &reason);
    void configApplied(const QString &clientId, quint32 revision);
    /** Alert titles firing per client (clients not named have none). */
    void setAlerts(const QHash<QString, QStringList> &alertsByClient);
    /** Removes a row at once (after "forget"); the next inventory confirms it. */
    void removeClient(const QString &clientId);

    /** Clock for relative times; refreshes the "last seen" column. Tests set it directly. */
    void setNow(qint64 nowMs);
    qint64 now() const { return m_nowMs; }

    int rowOf(const QString &clientId) const;
    const Row *row(const QString &clientId) const;
    const Row &rowAt(int row) const { return m_rows[std::size_t(row)]; }
    QStringList clientIds() const;
    Status status(const Row &row) const;

    /** Columns holding numbers: aligned right, busiest first on the first click. */
    static bool isNumeric(int column);
    /** The group names clients are in, sorted. */
    QStringList groups() const;

    /** "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
    static QString formatAgo(qint64 deltaMs);
    /** A rate in bytes per second with SI units: "80 kB/s", "1.2 MB/s". */
    static QString rateText(double bytesPerSecond);

Q_SIGNALS:
    /** A live sample arrived for @p clientId (for sparklines and live charts). */
    void liveSample(const QString &clientId, const autofact::Sample &sample);
    /**
     * New device figures arrived for @p clientId (live, or read from the Store at start-up);
     * @p summary holds every kind's latest.
     */
    void liveDevices(const QString &clientId, const autofact::metrics::DeviceSummary &summary);
    /** An event named a client the inventory does not know yet: reload the inventory. */
    void inventoryStale();

private:
    int ensureRow(const QString &clientId);
    void rowChanged(int row);
    QVariant displayData(const Row &row, int column) const;
    QVariant sortData(const Row &row, int column) const;

    std::vector<Row> m_rows;
    QHash<QString, int> m_index;
    QHash<QString, QStringList> m_alertsByClient;
    qint64 m_nowMs = 0;
};

} // namespace autofact::dashboard
