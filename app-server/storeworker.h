// SPDX-License-Identifier: MIT
#pragma once

#include "alerts/alertnotice.h"
#include "clienthealth.h"
#include "messages.h"
#include "metrics.h"
#include "store/store.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QSet>
#include <QTimer>
#include <QUuid>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

namespace autofact::server {

class AlertMonitor;

/** What one group commit did for one connection: the sequences to acknowledge. */
struct SessionCommit {
    quint64 session = 0;
    QString clientId;
    std::vector<SequenceRange> ranges; ///< stored or duplicate: acknowledge these
    quint64 batches = 0;               ///< batches of this session in the commit
    quint64 storedSamples = 0;
    quint64 duplicateBatches = 0;
    quint64 failedBatches = 0; ///< not stored, not acked: the agent resends
    std::optional<Sample> latest; ///< newest sample stored, for live views
    metrics::DeviceSummary devices; ///< newest device readings stored, for live views
};

/** Figures of one group commit. */
struct CommitStats {
    int batches = 0;
    quint64 samples = 0;
    qint64 elapsedUs = 0;
};

/**
 * Owns the server's writing Store on a dedicated thread. Batches from all connections are
 * queued and written in group commits (one transaction for many agents' batches); results
 * go back as signals so the hub can acknowledge only what is durably stored.
 *
 * It is the only writer: the hub and the dashboard ask it through these slots (queued) and hear
 * back through its signals. Every failure is logged and emitted as storeError, so the
 * dashboard can show it and a headless server's log says it.
 *
 * Every public slot must be invoked on the worker's thread (queued from the hub).
 */
class StoreWorker : public QObject
{
    Q_OBJECT
public:
    explicit StoreWorker(QString path, QObject *parent = nullptr);
    ~StoreWorker() override;

    /** Default-config changes given on the command line; unset fields keep stored values. */
    struct DefaultChanges {
        std::optional<quint32> sampleIntervalMs;
        std::optional<quint32> sendIntervalMs;
        std::optional<quint32> heartbeatIntervalMs;
        // Device collectors (--filesystems-interval …); 0 = off.
        std::optional<quint32> filesystemsIntervalMs;
        std::optional<quint32> disksIntervalMs;
        std::optional<quint32> networkIntervalMs;
        std::optional<quint32> temperaturesIntervalMs;
        // Retention (--keep-raw, --keep-minutes, --keep-hours, --max-db-size); 0 = forever / no cap.
        std::optional<qint64> keepRawMs;
        std::optional<qint64> keepMinutesMs;
        std::optional<qint64> keepHoursMs;
        std::optional<qint64> maxDbBytes;
    };

    /** Whether unknown agents need an enrolment token (default true); before open(). */
    void setTokenRequired(bool required) { m_tokenRequired = required; }

    /** Opens the store and applies @p changes to the stored default agent config. */
    StoreResult<void> open(const DefaultChanges &changes);
    /** Writes everything queued, marks connections closed, closes the database. */
    void close();

    void authenticate(quint64 session, const autofact::Hello &hello, const QString &peer);
    void enqueue(quint64 session, const QString &clientId, autofact::SampleBatch batch);
    void recordDisconnect(qint64 connectionId, const QString &reason);
    void recordConfigApplied(const QString &clientId, quint32 revision);
    /** Replaces the default config; emits configChanged for every known client. */
    void setDefaultConfig(const autofact::AgentConfig &config);
    /** Sets or clears one client's override; emits configChanged for it. */
    void setClientOverride(const QString &clientId, const std::optional<autofact::AgentConfig> &config);
    /** Puts clients into @p group (empty: none); their agents get their new behaviour at once. */
    void setClientGroup(const QStringList &clientIds, const QString &group);
    /** Sets or clears a group's behaviour override; its members' agents get it at once. */
    void setGroupOverride(const QString &group, const std::optional<autofact::AgentConfig> &config);
    /**
     * Joins @p oldId's history to @p newId (Inventory::beginMerge and the steps after it, with
     * ingest in between); answers with clientsMerged or storeError.
     */
    void mergeClients(const QString &oldId, const QString &newId);
    /**
     * Looks for behaviour and group changes made by another process (`autofactory group`):
     * pushes each changed client its config and applies group alert rules. Every 2 s.
     */
    void pollConfigChanges();
    /** Forgets a client (see Store::forgetClient); answers with clientForgotten or storeError. */
    void forgetClient(const QString &clientId, bool deleteHistory);
    /**
     * Removes a client enrolled for an agent that left before it received its secret: no one
     * can ever use that identity, and every retry would leave another orphan row.
     */
    void discardEnrolment(const QString &clientId);
    /** Revokes a client (dashboard Block); answers with clientRevoked or storeError. */
    void revokeClient(const QString &clientId);
    /** Creates an enrolment token; answers with tokenCreated or storeError. */
    void createToken(int maxUses, qint64 validForMs, const QString &label);
    /**
     * Looks for clients revoked by another process (`autofactory revoke`); emits clientRevoked
     * for each new one. Runs every second while open.
     */
    void pollRevocations();
    /** Writes what is queued now. */
    void flush();
    /** Stores new retention settings (the dashboard's Storage page) and purges by them. */
    void setRetention(const autofact::server::RetentionSettings &settings);
    /**
     * One purge slice at @p nowMs (0: the clock); while it finds more, the next is queued, so
     * ingest commits run between slices. Runs every minute while open.
     */
    void purge(qint64 nowMs = 0);
    /**
     * One seal slice at @p nowMs: closed windows of head rows into chunks (ChunkSealer). Runs
     * after each purge run, slice after slice like it.
     */
    void seal(qint64 nowMs);
    /** Slice size: rows deleted (or sealed) per transaction. */
    void setPurgeSliceRows(int rows) { m_purgeSliceRows = rows; }

    // --- alerts (AlertMonitor) ---
    /** The hub saw @p clientId's health change at @p atMs (server clock). */
    void noteHealth(const QString &clientId, autofact::server::ClientHealth health, qint64 atMs);
    /** The agent reported a spool backlog in a heartbeat. */
    void noteBacklog(const QString &clientId, quint32 batches, qint64 atMs);
    /** Runs the timed rules and repeats now (the worker does it every second). */
    void evaluateAlerts();
    /** Emits alertsChanged, alertSettingsChanged and notifiersChanged with the current state. */
    void publishAlertState();
    void acknowledgeAlert(qint64 alertId, bool on);
    /** Silences an alert until @p untilMs (0: lifts it). */
    void silenceAlert(qint64 alertId, qint64 untilMs, const QString &reason);
    /** Stores a rule setting for @p clientId (empty: every client), or removes it (@p remove). */
    void setAlertRule(const QString &rule, const QString &clientId, const autofact::server::AlertRuleSettings &settings,
                      bool remove);
    void setAlertRepeatInterval(qint64 ms);
    /** Answers with alertHistory. */
    void requestAlertHistory(int limit);
    void addNotifier(autofact::server::NotifierInfo::Kind kind, const QString &target);
    void removeNotifier(qint64 notifierId);
    /** Counts a delivery attempt (from the NotificationSender); written once a second. */
    void recordDelivery(qint64 notifierId, bool ok, bool deadLetter, const QString &error);
    /** Writes the counted delivery outcomes now (in one transaction). */
    void writeDeliveries();
    /**
     * Reads the notifiers (`autofactory notify add` in another process changes them) and emits
     * notifiersChanged when they differ. Runs every 2 s while open.
     */
    void pollNotifiers();
    /** Name in notices' url_hint: the server's host name. */
    void setServerName(const QString &name) { m_serverName = name; }

    /** Largest queue (in samples) before a commit is forced without waiting. */
    void setMaxQueuedSamples(quint64 samples) { m_maxQueuedSamples = samples; }
    /** How long the first queued batch may wait for company before the commit. */
    void setCommitDelayMs(int ms) { m_commitTimer.setInterval(ms); }

    /**
     * Samples handed to the worker and not yet committed. Thread-safe: the hub adds before it
     * queues a batch (reserveQueued) and the worker subtracts after each commit, so the hub
     * can shed load before the database thread's queue grows without bound.
     */
    quint64 queuedSamples() const { return m_queued.load(std::memory_order_relaxed); }
    void reserveQueued(quint64 samples) { m_queued.fetch_add(samples, std::memory_order_relaxed); }

Q_SIGNALS:
    /** Shared store: @p clientId connected to another node; its session here is stale. */
    void sessionTakenElsewhere(const QString &clientId);
    /** @p error is empty on success; otherwise the database failed and result is unset. */
    void authenticated(quint64 session, const autofact::server::AuthResult &result,
                       const QString &error);
    void committed(const std::vector<autofact::server::SessionCommit> &commits,
                   const autofact::server::CommitStats &stats);
    void configChanged(const QString &clientId, const autofact::AgentConfig &config);
    /** A default or override change is stored (configChanged follows for each client). */
    void configStored();
    void clientForgotten(const QString &clientId, bool historyDeleted);
    /** Retention settings as stored (after a change, and once at open). */
    void retentionChanged(const autofact::server::RetentionSettings &settings);
    /** A purge run finished (all slices): what it deleted. */
    void purged(const autofact::server::PurgeResult &total);
    /** @p oldId's history now belongs to @p newId and @p oldId is gone. */
    void clientsMerged(const QString &oldId, const QString &newId, const autofact::server::MergeResult &result);
    /** @p clientId was revoked (here or by another process): its sessions must end. */
    void clientRevoked(const QString &clientId);
    /** A token from createToken(): @p token is shown once and never stored. */
    void tokenCreated(const QString &token, const QString &tokenId, qint64 expiresMs);
    /** Something could not be stored or read; one line for the user. */
    void storeError(const QString &message);

    /** Alerts fired, resolved or repeated: for the notification channels and the tray. */
    void alertNotices(const QList<autofact::server::AlertNotice> &notices);
    /** The active alerts changed (fired, resolved, acknowledged, silenced); newest first. */
    void alertsChanged(const QList<autofact::server::AlertRecord> &active);
    /** Rule settings as stored (over the shipped defaults), and the repeat interval. */
    void alertSettingsChanged(const QList<autofact::server::AlertRuleRow> &rows, qint64 repeatMs);
    void notifiersChanged(const QList<autofact::server::NotifierInfo> &notifiers);
    void alertHistory(const QList<autofact::server::AlertRecord> &alerts);

private:
    /** Logs and emits a failed call; true when @p result is ok. */
    template<typename T>
    bool check(const StoreResult<T> &result, const QString &what);

    struct Pending {
        quint64 session;
        QString clientId;
        SampleBatch batch;
    };

    void emitNotices(std::vector<AlertNotice> notices);
    /** The next slice of a running merge, or its end. */
    void continueMerge();
    /** Pushes the effective config of every client whose revision is above @p sinceRevision. */
    void pushConfigsSince(quint32 sinceRevision);
    /** After a change of ours at @p revision: also applies what others changed since @p since. */
    void catchUp(quint32 since, quint32 revision);
    /** Group memberships or rules changed: the monitor re-reads them, the window hears of it. */
    void reloadAlertRules();
    void emitAlertSettings();

    bool doesHousekeeping();
    void listenForOtherNodes(Store &store);
    /** Shared store: NOTIFY autofact_samples for watching dashboards (FleetFeed), coalesced. */
    void announceSamples();

    QString m_path;
    QSet<QString> m_localSessions; ///< clients with a live session on this node (from the hub)
    /// The highest batch sequence of each client whose samples this node's alert rules judged.
    QHash<QString, quint64> m_judgedUpTo;
    /// This process's name on a shared store (pg_stat_activity.application_name).
    QString m_nodeName = QStringLiteral("autofact-node-") + QUuid::createUuid().toString(QUuid::Id128).left(12);
    QString m_serverName;
    std::unique_ptr<Store> m_store;
    std::unique_ptr<AlertMonitor> m_alerts;
    QTimer m_alertTimer{this};
    int m_alertTicks = 0;
    QList<NotifierInfo> m_notifiers;
    QHash<qint64, DeliveryCounts> m_deliveries; ///< counted, not yet written
    std::vector<Pending> m_pending;
    /** The connection that brought each client's newest batch: a silence on the same one is a stall. */
    QHash<QString, quint64> m_lastSessionOf;
    quint64 m_pendingSamples = 0;
    quint64 m_maxQueuedSamples = 50000;
    QTimer m_commitTimer{this};
    QTimer m_revocationTimer{this};
    QSet<QString> m_revoked;
    quint32 m_configCounter = 0; ///< behaviour revisions up to this one are pushed
    QTimer m_purgeTimer{this};
    int m_purgeSliceRows = 5000;
    bool m_purging = false;
    bool m_purgeAgain = false;
    bool m_warnedOverBudget = false;
    PurgeResult m_purgeRun; ///< totals of the run in progress
    SealResult m_sealRun;   ///< totals of the seal run in progress
    qint64 m_sealBacklog = 0;
    qint64 m_sealReported = 0; ///< tenths of the backlog reported
    static constexpr qint64 kSealProgressFrom = 100000; ///< backlogs this big are a migration: progress in the log
    std::optional<MergeJob> m_merge; ///< a merge moving samples slice by slice
    quint32 m_mergeSince = 0;
    static constexpr int kMergeSliceRows = 20000;
    bool m_tokenRequired = true;
    std::atomic<quint64> m_queued{0}; // child: moves with the worker to its thread
    QElapsedTimer m_samplesAnnounced;
    bool m_announcePending = false;
    static constexpr qint64 kAnnounceEveryMs = 500;
};

} // namespace autofact::server

Q_DECLARE_METATYPE(autofact::server::AuthResult)
Q_DECLARE_METATYPE(autofact::server::SessionCommit)
Q_DECLARE_METATYPE(autofact::server::CommitStats)
Q_DECLARE_METATYPE(autofact::Hello)
Q_DECLARE_METATYPE(autofact::SampleBatch)
Q_DECLARE_METATYPE(autofact::AgentConfig)
Q_DECLARE_METATYPE(autofact::server::AlertRecord)
Q_DECLARE_METATYPE(autofact::server::AlertRuleRow)
Q_DECLARE_METATYPE(autofact::server::NotifierInfo)
Q_DECLARE_METATYPE(autofact::server::MergeResult)
Q_DECLARE_METATYPE(autofact::server::RetentionSettings)
Q_DECLARE_METATYPE(autofact::server::PurgeResult)
