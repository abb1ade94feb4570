// SPDX-License-Identifier: MIT
#pragma once

#include "hubactivity.h"
#include "store/storeresult.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QString>
#include <QTimer>

#include <memory>

namespace autofact::server {

class Store;

/**
 * The fleet as a shared PostgreSQL store sees it, for a dashboard that serves no agents itself
 * (`autofactory --no-listen`). The ingest nodes announce their commits (NOTIFY autofact_samples,
 * at most every 500 ms per node); on each announcement, agent sessions changing hands
 * (autofact_session) and revocations (autofact_revoke) the feed reads, for every client, its
 * newest stored sample and whether it has an open session, and emits what changed as a
 * HubActivity, the same report IngestServer::activity() gives a serving dashboard.
 *
 * Reads are coalesced to at most one every Options::minReadIntervalMs, and run every
 * Options::pollIntervalMs without any announcement too: a notification lost with a dropped
 * connection, or a disconnect (which nodes do not announce), is seen within that time.
 *
 * Owns a read-only Store of its own: create it, move it to a thread of its own, and call open(),
 * close() and refresh() on that thread only (queued). A lost database connection is replaced
 * at the next read, and listens again (Database::subscribe()).
 */
class FleetFeed : public QObject
{
    Q_OBJECT
public:
    struct Options {
        int minReadIntervalMs = 500; ///< at most two reads a second, however many nodes announce
        int pollIntervalMs = 5000;   ///< reads without an announcement
    };

    explicit FleetFeed(QString databasePath, QObject *parent = nullptr);
    FleetFeed(QString databasePath, Options options, QObject *parent = nullptr);
    ~FleetFeed() override;

    /**
     * Opens the store read-only, listens for the nodes' notifications and reads once (the
     * first activity() reports every client). Fails for a store that is not shared.
     */
    StoreResult<void> open();
    void close();
    bool isOpen() const { return m_store != nullptr; }
    /** Whether notifications arrive (false: polling only). */
    bool listening() const { return m_listening; }

    /** Reads now, whatever the coalescing says. */
    void refresh();
    /** Reads soon: now if the last read is old enough, else once when it is. */
    void requestRefresh();
    /**
     * Reads now and reports every client afresh, as the first read after open() did: for a
     * view connected after that.
     */
    void restate();

Q_SIGNALS:
    /** What changed since the last report; nothing is emitted when nothing did. */
    void activity(const autofact::server::HubActivity &activity);
    /** A read failed (a lost connection is replaced at the next read); one line for the user. */
    void readError(const QString &message);

private:
    /** What the feed last reported of one client. */
    struct Known {
        bool online = false;
        qint64 connectionCount = 0;
        qint64 lastSampleMs = 0; ///< clients.last_sample_ms as last read
        qint64 latestMs = 0;     ///< time of the newest sample reported
        qint64 sampleCount = 0;
    };

    StoreResult<void> openStore();
    void subscribe();
    StoreResult<HubActivity> read();

    QString m_path;
    Options m_options;
    std::unique_ptr<Store> m_store;
    QHash<QString, Known> m_known;
    bool m_firstRead = true;
    bool m_listening = false;
    QElapsedTimer m_lastRead;
    QTimer m_pollTimer{this};
    QTimer m_coalesceTimer{this};
};

} // namespace autofact::server
