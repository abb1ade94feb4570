// SPDX-License-Identifier: MIT
#include "servercore.h"

#include "serverlogging.h"

namespace autofact::server {

ServerCore::ServerCore(Options options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
    m_networkThread.setObjectName(QStringLiteral("autofact-network"));
    m_storeThread.setObjectName(QStringLiteral("autofact-store"));
}

ServerCore::~ServerCore()
{
    stop();
}

bool ServerCore::start(QString *error)
{
    m_storeThread.start();
    m_networkThread.start();
    m_worker = new StoreWorker(m_options.databasePath);
    m_worker->setTokenRequired(m_options.requireEnrolmentToken);
    m_worker->moveToThread(&m_storeThread);
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
    m_hub = new IngestServer(m_options.network, m_worker);
    m_hub->moveToThread(&m_networkThread);
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

void ServerCore::stop()
{
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
    m_networkThread.quit();
    m_storeThread.quit();
    m_networkThread.wait();
    m_storeThread.wait();
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
    QMetaObject::invokeMethod(m_worker, [w = m_worker, clientId, deleteHistory] {
        w->forgetClient(clientId, deleteHistory);
    });
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

} // namespace autofact::server
