// SPDX-License-Identifier: MIT
#include "metricsendpoint.h"

#include "metricslogging.h"
#include "store/store.h"
#include "storeworker.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QHttpServer>
#include <QHttpServerRequest>
#include <QHttpServerResponder>
#include <QHttpServerResponse>

namespace autofact::server {

MetricsEndpoint::MetricsEndpoint(Options options, QString databasePath, std::function<quint64()> queuedSamples,
                                 QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_databasePath(std::move(databasePath))
    , m_queuedSamples(std::move(queuedSamples))
{
    // New clients come in bursts (a fleet reconnecting): one inventory read per second at most.
    m_inventoryTimer.setSingleShot(true);
    m_inventoryTimer.setInterval(1000);
    connect(&m_inventoryTimer, &QTimer::timeout, this, &MetricsEndpoint::loadInventory);
}

MetricsEndpoint::~MetricsEndpoint() = default;

bool MetricsEndpoint::listen(QString *error)
{
    m_http = new QHttpServer(this);
    m_http->route(QStringLiteral("/metrics"), QHttpServerRequest::Method::Get, [this] {
        QElapsedTimer timer;
        timer.start();
        render();
        const qint64 us = timer.nsecsElapsed() / 1000;
        qCDebug(lcMetrics) << "scrape:" << m_buffer.size() << "bytes rendered in" << us << "µs";
        return QHttpServerResponse(QByteArrayLiteral("text/plain; version=0.0.4; charset=utf-8"), m_buffer);
    });
    m_http->setMissingHandler([](const QHttpServerRequest &, QHttpServerResponder &&responder) {
        responder.write(QByteArrayLiteral("not found; metrics are at /metrics\n"), QByteArrayLiteral("text/plain"),
                        QHttpServerResponder::StatusCode::NotFound);
    });
    m_tcp = new BoundedTcpServer(m_options.limits, this);
    if (!m_tcp->listen(m_options.address, m_options.port)) {
        if (error)
            *error = QStringLiteral("--metrics: cannot listen on %1 port %2: %3")
                         .arg(m_options.address.toString())
                         .arg(m_options.port)
                         .arg(m_tcp->errorString());
        delete m_tcp;
        m_tcp = nullptr;
        return false;
    }
    m_http->bind(m_tcp);
    qCInfo(lcMetrics).noquote() << "serving Prometheus metrics on" << url().toString();
    return true;
}

QUrl MetricsEndpoint::url() const
{
    if (!m_tcp)
        return {};
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(m_tcp->serverAddress().toString());
    url.setPort(m_tcp->serverPort());
    url.setPath(QStringLiteral("/metrics"));
    return url;
}

void MetricsEndpoint::shutdown()
{
    m_stopped = true;
    m_inventoryTimer.stop();
    delete m_http; // owns the TCP server and its connections
    m_http = nullptr;
    m_tcp = nullptr;
    m_store.reset();
}

void MetricsEndpoint::loadInventory()
{
    if (m_stopped || m_databasePath.isEmpty())
        return;
    if (!m_store) {
        StoreOptions options;
        options.mode = StoreOptions::Mode::ReadOnly;
        auto store = std::make_unique<Store>(m_databasePath, options);
        if (auto opened = store->open(); !opened) {
            qCWarning(lcMetrics).noquote() << "cannot read the client inventory:" << opened.error().message;
            m_registry.giveUpOnInventory();
            return;
        }
        m_store = std::move(store);
    }
    auto clients = m_store->inventory().clients();
    if (!clients) {
        qCWarning(lcMetrics).noquote() << "cannot read the client inventory:" << clients.error().message;
        // Without a hostname rather than not at all.
        m_registry.giveUpOnInventory();
        return;
    }
    m_registry.setInventory(*clients);
    // A client that enrolled between the hub's report and this read, or one the store no
    // longer lists but whose session is still closing: not worth another read.
    m_registry.giveUpOnInventory();
}

void MetricsEndpoint::onActivity(const HubActivity &activity)
{
    if (m_stopped)
        return;
    m_registry.applyActivity(activity);
    if (m_databasePath.isEmpty())
        m_registry.giveUpOnInventory(); // no store to ask: rendered without hostnames
    else if (m_registry.needsInventory() && !m_inventoryTimer.isActive())
        m_inventoryTimer.start();
}

void MetricsEndpoint::onCommitted(const CommitStats &stats)
{
    if (!m_stopped)
        m_registry.recordCommit(stats);
}

void MetricsEndpoint::onAlerts(const QList<AlertRecord> &active)
{
    if (!m_stopped)
        m_registry.setAlerts(active);
}

QByteArray MetricsEndpoint::render()
{
    if (m_queuedSamples)
        m_registry.setQueuedSamples(m_queuedSamples());
    m_registry.render(m_buffer, QDateTime::currentMSecsSinceEpoch());
    return m_buffer;
}

} // namespace autofact::server
