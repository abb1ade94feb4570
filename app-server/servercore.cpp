// SPDX-License-Identifier: MIT
#include "servercore.h"

#include "alerts/notificationsender.h"
#include "serverlogging.h"
#include "store/storelocation.h"

#include <QSysInfo>

namespace autofact::server {

ServerCore::ServerCore(Options options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
    m_networkThread.setObjectName(QStringLiteral("autofact-network"));
    m_storeThread.setObjectName(QStringLiteral("autofact-store"));
    m_notifyThread.setObjectName(QStringLiteral("autofact-notify"));
    m_metricsThread.setObjectName(QStringLiteral("autofact-metrics"));
    m_feedThread.setObjectName(QStringLiteral("autofact-feed"));
}

ServerCore::~ServerCore()
{
    stop();
}

bool ServerCore::start(QString *error)
{
    if (m_options.noListen && !StoreLocation::looksLikePostgres(m_options.databasePath)) {
        if (error)
            *error = QStringLiteral("--no-listen needs a shared PostgreSQL store (--db postgresql://...): "
                                    "with SQLite no other node serves the agents");
        return false;
    }
    m_storeThread.start();
    m_networkThread.start();
    m_notifyThread.start();
    m_worker = new StoreWorker(m_options.databasePath);
    m_worker->setTokenRequired(m_options.requireEnrolmentToken);
    m_worker->setServerName(QSysInfo::machineHostName());
    m_worker->moveToThread(&m_storeThread);
    // Notifications on a thread of their own: a receiver that never answers holds up nothing.
    m_sender = new NotificationSender(m_options.notify);
    m_sender->moveToThread(&m_notifyThread);
    connect(m_worker, &StoreWorker::notifiersChanged, m_sender, &NotificationSender::setNotifiers);
    connect(m_worker, &StoreWorker::alertNotices, m_sender, [s = m_sender](const QList<AlertNotice> &notices) {
        for (const AlertNotice &n : notices)
            s->send(n);
    });
    connect(m_sender, &NotificationSender::attemptFinished, m_worker, &StoreWorker::recordDelivery);
    if (m_options.metrics) {
        // Its own thread: rendering a large fleet's scrape holds up neither the hub nor a window.
        // Connected before open(), which emits the first alertsChanged.
        m_metricsThread.start();
        m_metrics = new MetricsEndpoint(*m_options.metrics, m_options.databasePath,
                                        [w = m_worker] { return w->queuedSamples(); });
        m_metrics->moveToThread(&m_metricsThread);
        connect(m_worker, &StoreWorker::alertsChanged, m_metrics, &MetricsEndpoint::onAlerts);
        connect(m_worker, &StoreWorker::committed, m_metrics,
                [m = m_metrics](const std::vector<SessionCommit> &, const CommitStats &stats) { m->onCommitted(stats); });
        bool listening = false;
        QString listenError;
        QMetaObject::invokeMethod(
            m_metrics,
            [&] {
                listening = m_metrics->listen(&listenError);
                m_metricsUrl = m_metrics->url();
            },
            Qt::BlockingQueuedConnection);
        if (!listening) {
            if (error)
                *error = listenError;
            stop();
            return false;
        }
    }
    StoreResult<void> opened;
    QMetaObject::invokeMethod(
        m_worker, [&] { opened = m_worker->open(m_options.defaults); },
        Qt::BlockingQueuedConnection);
    if (!opened) {
        if (error)
            *error = opened.error().message;
        stop();
        return false;
    }
    if (m_options.noListen)
        return startFeed(error);
    m_hub = new IngestServer(m_options.network, m_worker);
    m_hub->moveToThread(&m_networkThread);
    if (m_metrics) {
        connect(m_hub, &IngestServer::activity, m_metrics, &MetricsEndpoint::onActivity);
        QMetaObject::invokeMethod(m_metrics, [m = m_metrics] { m->loadInventory(); });
    }
    bool listening = false;
    QString listenError;
    QMetaObject::invokeMethod(
        m_hub,
        [&] {
            listening = m_hub->listen(&listenError);
            m_url = m_hub->url();
        },
        Qt::BlockingQueuedConnection);
    if (!listening) {
        if (error)
            *error = listenError;
        stop();
        return false;
    }
    m_running = true;
    return true;
}

bool ServerCore::startFeed(QString *error)
{
    // No hub: the live figures are what the ingest nodes store, read on a thread of their own
    // so that a slow read of a large fleet holds up neither the window nor the store worker.
    m_feedThread.start();
    m_feed = new FleetFeed(m_options.databasePath);
    m_feed->moveToThread(&m_feedThread);
    if (m_metrics) {
        connect(m_feed, &FleetFeed::activity, m_metrics, &MetricsEndpoint::onActivity);
        QMetaObject::invokeMethod(m_metrics, [m = m_metrics] { m->loadInventory(); });
    }
    StoreResult<void> watching;
    QMetaObject::invokeMethod(m_feed, [&] { watching = m_feed->open(); }, Qt::BlockingQueuedConnection);
    if (!watching) {
        if (error)
            *error = watching.error().message;
        stop();
        return false;
    }
    qCInfo(lcServer).noquote() << "watching the fleet, not serving agents";
    m_running = true;
    return true;
}

void ServerCore::stop()
{
    if (m_metrics) {
        // First: its scrapes read the worker's queue depth.
        QMetaObject::invokeMethod(m_metrics, [this] {
            m_metrics->shutdown();
            delete m_metrics;
        }, Qt::BlockingQueuedConnection);
        m_metrics = nullptr;
    }
    if (m_feed) {
        QMetaObject::invokeMethod(m_feed, [this] {
            m_feed->close();
            delete m_feed;
        }, Qt::BlockingQueuedConnection);
        m_feed = nullptr;
    }
    if (m_hub) {
        QMetaObject::invokeMethod(m_hub, [this] { m_hub->shutdown(); }, Qt::BlockingQueuedConnection);
    }
    if (m_worker) {
        // After the hub stopped handing over batches: write the rest, close the database.
        QMetaObject::invokeMethod(m_worker, [this] { m_worker->close(); }, Qt::BlockingQueuedConnection);
    }
    if (m_hub) {
        QMetaObject::invokeMethod(m_hub, [this] { delete m_hub; }, Qt::BlockingQueuedConnection);
        m_hub = nullptr;
    }
    if (m_worker) {
        QMetaObject::invokeMethod(m_worker, [this] { delete m_worker; }, Qt::BlockingQueuedConnection);
        m_worker = nullptr;
    }
    if (m_sender) {
        // Deliveries still running are abandoned: a stopping server does not wait for receivers.
        QMetaObject::invokeMethod(m_sender, [this] { delete m_sender; }, Qt::BlockingQueuedConnection);
        m_sender = nullptr;
    }
    m_networkThread.quit();
    m_storeThread.quit();
    m_notifyThread.quit();
    m_metricsThread.quit();
    m_feedThread.quit();
    m_networkThread.wait();
    m_storeThread.wait();
    m_notifyThread.wait();
    m_metricsThread.wait();
    m_feedThread.wait();
    m_metricsUrl.clear();
    if (m_running)
        qCInfo(lcServer) << "server stopped";
    m_running = false;
}

void ServerCore::setDefaultConfig(const AgentConfig &config)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, config] { w->setDefaultConfig(config); });
}

void ServerCore::setClientOverride(const QString &clientId, const std::optional<AgentConfig> &config)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, clientId, config] {
        w->setClientOverride(clientId, config);
    });
}

} // namespace autofact::server

namespace autofact::server {

void ServerCore::forgetClient(const QString &clientId, bool deleteHistory)
{
    if (!m_worker)
        return; // not running: nothing to forget through
    if (!m_hub) {
        // --no-listen: no session here to end first. A session an ingest node holds goes on
        // until the agent reconnects, when its wiped secret is refused.
        QMetaObject::invokeMethod(m_worker, [w = m_worker, clientId, deleteHistory] { w->forgetClient(clientId, deleteHistory); });
        return;
    }
    // The session ends first, on the network thread, and the forget is queued from there: it
    // reaches the worker after every batch that session handed over, and no batch follows it.
    QMetaObject::invokeMethod(m_hub, [h = m_hub, w = m_worker, clientId, deleteHistory] {
        h->endSessionOf(clientId, QStringLiteral("client forgotten on the server"));
        QMetaObject::invokeMethod(w, [w, clientId, deleteHistory] { w->forgetClient(clientId, deleteHistory); });
    });
}

void ServerCore::setClientGroup(const QStringList &clientIds, const QString &group)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, clientIds, group] { w->setClientGroup(clientIds, group); });
}

void ServerCore::setGroupOverride(const QString &group, const std::optional<AgentConfig> &config)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, group, config] { w->setGroupOverride(group, config); });
}

void ServerCore::setRetention(const RetentionSettings &settings)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, settings] { w->setRetention(settings); });
}

void ServerCore::mergeClients(const QString &oldId, const QString &newId)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, oldId, newId] { w->mergeClients(oldId, newId); });
}

void ServerCore::revokeClient(const QString &clientId)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, clientId] { w->revokeClient(clientId); });
}

void ServerCore::createToken(int maxUses, qint64 validForMs, const QString &label)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, maxUses, validForMs, label] {
        w->createToken(maxUses, validForMs, label);
    });
}

void ServerCore::publishAlertState()
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker] { w->publishAlertState(); });
}

void ServerCore::acknowledgeAlert(qint64 alertId, bool on)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, alertId, on] { w->acknowledgeAlert(alertId, on); });
}

void ServerCore::silenceAlert(qint64 alertId, qint64 untilMs, const QString &reason)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, alertId, untilMs, reason] {
        w->silenceAlert(alertId, untilMs, reason);
    });
}

void ServerCore::setAlertRule(const QString &rule, const QString &clientId,
                              const std::optional<AlertRuleSettings> &settings)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, rule, clientId, settings] {
        w->setAlertRule(rule, clientId, settings.value_or(AlertRuleSettings{}), !settings);
    });
}

void ServerCore::setAlertRepeatInterval(qint64 ms)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, ms] { w->setAlertRepeatInterval(ms); });
}

void ServerCore::requestAlertHistory(int limit)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, limit] { w->requestAlertHistory(limit); });
}

void ServerCore::addNotifier(NotifierInfo::Kind kind, const QString &target)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, kind, target] { w->addNotifier(kind, target); });
}

void ServerCore::removeNotifier(qint64 notifierId)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, notifierId] { w->removeNotifier(notifierId); });
}

void ServerCore::testNotifier(qint64 notifierId)
{
    QMetaObject::invokeMethod(m_sender, [s = m_sender, notifierId] {
        s->sendTo(notifierId, NotificationSender::testNotice(QSysInfo::machineHostName()));
    });
}

} // namespace autofact::server
