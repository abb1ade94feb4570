// SPDX-License-Identifier: MIT
#pragma once

#include "boundedtcpserver.h"
#include "hubactivity.h"
#include "metricsregistry.h"

#include <QHostAddress>
#include <QObject>
#include <QTimer>
#include <QUrl>

#include <functional>
#include <memory>

class QHttpServer;

namespace autofact::server {

struct CommitStats;
class Store;

/**
 * autofactory --metrics: serves GET /metrics (Prometheus text format 0.0.4) from a
 * MetricsRegistry, with Qt HttpServer, on a thread of its own so a scrape of a large fleet
 * holds up neither the hub nor the window. Every other path or method is answered 404.
 *
 * The clients the store knows come from a read-only Store opened on this thread (as the
 * dashboard's StoreReader does): once at start, and again when a client the inventory did not
 * name yet connects (at most once a second), so its hostname label is right from its first series.
 *
 * Lives on its own thread: call it only through queued calls once moved there.
 */
class MetricsEndpoint : public QObject
{
    Q_OBJECT
public:
    struct Options {
        QHostAddress address = QHostAddress::LocalHost;
        quint16 port = 0; ///< 0: a free one
        BoundedTcpServer::Limits limits;
    };

    /**
     * @p databasePath: the store to read the inventory from (empty: none, clients appear as
     * they connect, without hostnames). @p queuedSamples: called at each scrape, thread-safe.
     */
    MetricsEndpoint(Options options, QString databasePath, std::function<quint64()> queuedSamples,
                    QObject *parent = nullptr);
    ~MetricsEndpoint() override;

    /** Starts listening; false with a one-line error if the address cannot be bound. */
    bool listen(QString *error);
    /** http://ADDR:PORT/metrics as bound (the real port when 0 was asked). */
    QUrl url() const;
    /** Stops listening and closes the store; queued news is ignored afterwards. */
    void shutdown();

    /** Reads the store's client list now (disk work: on this object's thread). */
    void loadInventory();
    void onActivity(const autofact::server::HubActivity &activity);
    void onCommitted(const autofact::server::CommitStats &stats);
    void onAlerts(const QList<autofact::server::AlertRecord> &active);

    /** The exposition as a scrape gets it now (tests, the benchmark). */
    QByteArray render();
    /** What it renders (tests and the benchmark fill it directly, on this object's thread). */
    MetricsRegistry &registry() { return m_registry; }

private:
    Options m_options;
    QString m_databasePath;
    std::function<quint64()> m_queuedSamples;
    MetricsRegistry m_registry;
    QByteArray m_buffer; ///< kept between scrapes: its capacity is the next one's
    std::unique_ptr<Store> m_store;
    QHttpServer *m_http = nullptr;
    BoundedTcpServer *m_tcp = nullptr;
    QTimer m_inventoryTimer{this}; // child: moves with the endpoint to its thread
    bool m_stopped = false;
};

} // namespace autofact::server
