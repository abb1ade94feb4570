// SPDX-License-Identifier: MIT
#pragma once

#include <QList>
#include <QPointer>
#include <QTcpServer>

class QTcpSocket;

namespace autofact::server {

/**
 * A QTcpServer for QHttpServer::bind() that keeps a small HTTP endpoint from being a way to
 * tie up the server: Qt HttpServer 6.4 itself has no limit on connections, on how long a
 * request may take to arrive, or on the size of a request body (it buffers what it is sent).
 *
 * - at most @c maxConnections open at once; more are closed at once;
 * - each request must arrive, and its response be written, within @c requestTimeoutMs of the
 *   connection or of the previous response (a slow or idle peer is cut off);
 * - at most @c maxRequestBytes may arrive per request (headers and body).
 *
 * Connections and their sockets live on the server's thread.
 */
class BoundedTcpServer : public QTcpServer
{
    Q_OBJECT
public:
    struct Limits {
        int maxConnections = 16;
        int requestTimeoutMs = 10000;
        qint64 maxRequestBytes = 16 * 1024;
    };

    explicit BoundedTcpServer(Limits limits, QObject *parent = nullptr);

    /** Connections open now. */
    int openConnections();
    /** Connections closed at once because @c maxConnections were open. */
    quint64 refusedConnections() const { return m_refused; }

protected:
    void incomingConnection(qintptr handle) override;

private:
    Limits m_limits;
    QList<QPointer<QTcpSocket>> m_open;
    quint64 m_refused = 0;
};

} // namespace autofact::server
