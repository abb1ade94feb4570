// SPDX-License-Identifier: MIT
#pragma once

#include "alerts/notificationsender.h"
#include "fleetfeed.h"
#include "ingestserver.h"
#include "metrics/metricsendpoint.h"
#include "storeworker.h"

#include <QObject>
#include <QThread>
#include <QUrl>

namespace autofact::server {

/**
 * autofactory without any window: the IngestServer on a network thread and the StoreWorker
 * on a database thread (with Options::noListen no IngestServer, and a FleetFeed on a thread of
 * its own instead). The thread that owns ServerCore (the GUI thread, or main in headless
 * mode) only receives coalesced signals, so ingest goes on whether or not a window exists.
 */
class ServerCore : public QObject
{
    Q_OBJECT
public:
    struct Options {
        QString databasePath;
        IngestServer::Options network;
        StoreWorker::DefaultChanges defaults;
        /// Unknown agents need an enrolment token; off only in tests not about enrolment.
        bool requireEnrolmentToken = true;
        /// "sha256:HEX" of the certificate served (empty for ws://): what agents pin.
        QString certificateFingerprint;
        /// Retries and timeouts of the notification channels.
        NotificationSender::Policy notify;
        /// --metrics: where to serve Prometheus /metrics (unset: not served).
        std::optional<MetricsEndpoint::Options> metrics;
        /// --no-listen: serve no agents; watch the fleet of a shared store through a FleetFeed
        /// (start() fails for an SQLite store). Changes still go through the StoreWorker.
        bool noListen = false;
    };

    explicit ServerCore(Options options, QObject *parent = nullptr);
    ~ServerCore() override;

    /** Opens the database and starts listening. False with a one-line error if not. */
    bool start(QString *error);
    /** Stops accepting, closes agents, writes what is queued, closes the database. */
    void stop();

    QUrl url() const { return m_url; }
    /** http://ADDR:PORT/metrics as bound; empty without Options::metrics. */
    QUrl metricsUrl() const { return m_metricsUrl; }
    const Options &options() const { return m_options; }
    /**
     * Lives on the network thread: connect to its signals, call it only through queued calls.
     * Null with Options::noListen (and before start()).
     */
    IngestServer *hub() const { return m_hub; }
    /**
     * Lives on the feed thread: same rule. Only with Options::noListen; its activity() is what
     * the hub's would be.
     */
    FleetFeed *feed() const { return m_feed; }
    /** Lives on the database thread: same rule. */
    StoreWorker *worker() const { return m_worker; }
    /** Lives on the notification thread: same rule. */
    NotificationSender *sender() const { return m_sender; }
    /** Lives on the metrics thread (null without Options::metrics): same rule. */
    MetricsEndpoint *metrics() const { return m_metrics; }

    /** Queued: replace the default agent config; connected agents get it at once. */
    void setDefaultConfig(const AgentConfig &config);
    /** Queued: set or clear one client's override. */
    void setClientOverride(const QString &clientId, const std::optional<AgentConfig> &config);
    /** Queued: put clients into @p group (empty: none); their agents get their behaviour at once. */
    void setClientGroup(const QStringList &clientIds, const QString &group);
    /** Queued: set or clear a group's behaviour override. */
    void setGroupOverride(const QString &group, const std::optional<AgentConfig> &config);
    /** Queued: join a retired identity's history to its successor; the worker answers with clientsMerged. */
    void mergeClients(const QString &oldId, const QString &newId);
    /** Queued: store retention settings; the worker answers with retentionChanged and purges. */
    void setRetention(const RetentionSettings &settings);
    /** Queued: forget a client; the worker answers with clientForgotten or storeError. */
    void forgetClient(const QString &clientId, bool deleteHistory);
    /** Queued: revoke (block) a client; its live session ends, the worker emits clientRevoked. */
    void revokeClient(const QString &clientId);
    /** Queued: create an enrolment token; the worker answers with tokenCreated or storeError. */
    void createToken(int maxUses, qint64 validForMs, const QString &label);

    /** Queued: the worker emits alertsChanged, alertSettingsChanged, notifiersChanged. */
    void publishAlertState();
    void acknowledgeAlert(qint64 alertId, bool on);
    /** Queued: silence until @p untilMs (0: lift the silence). */
    void silenceAlert(qint64 alertId, qint64 untilMs, const QString &reason);
    /** Queued: store a rule setting for @p clientId (empty: every client); unset removes it. */
    void setAlertRule(const QString &rule, const QString &clientId, const std::optional<AlertRuleSettings> &settings);
    void setAlertRepeatInterval(qint64 ms);
    /** Queued: the worker answers with alertHistory. */
    void requestAlertHistory(int limit);
    void addNotifier(NotifierInfo::Kind kind, const QString &target);
    void removeNotifier(qint64 notifierId);
    /** Queued: a test notice to one channel; the sender answers with delivered(). */
    void testNotifier(qint64 notifierId);

private:
    /** start() with Options::noListen, after the store worker opened: the FleetFeed. */
    bool startFeed(QString *error);

    Options m_options;
    QThread m_networkThread;
    QThread m_storeThread;
    QThread m_notifyThread;
    QThread m_metricsThread;
    QThread m_feedThread;
    StoreWorker *m_worker = nullptr;
    FleetFeed *m_feed = nullptr;
    NotificationSender *m_sender = nullptr;
    IngestServer *m_hub = nullptr;
    MetricsEndpoint *m_metrics = nullptr;
    QUrl m_url;
    QUrl m_metricsUrl;
    bool m_running = false;
};

} // namespace autofact::server
