// SPDX-License-Identifier: MIT
#include "boundedtcpserver.h"

#include "metricslogging.h"

#include <QTcpSocket>
#include <QTimer>

namespace autofact::server {

BoundedTcpServer::BoundedTcpServer(Limits limits, QObject *parent)
    : QTcpServer(parent)
    , m_limits(limits)
{
    // Connections beyond the limit are accepted only to be closed: a small backlog suffices.
    setMaxPendingConnections(m_limits.maxConnections);
}

int BoundedTcpServer::openConnections()
{
    m_open.removeIf([](const QPointer<QTcpSocket> &s) {
        return s.isNull() || s->state() == QAbstractSocket::UnconnectedState;
    });
    return int(m_open.size());
}

void BoundedTcpServer::incomingConnection(qintptr handle)
{
    auto *socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(handle)) {
        delete socket;
        return;
    }
    if (openConnections() >= m_limits.maxConnections) {
        ++m_refused;
        qCDebug(lcMetrics) << "refusing a metrics connection from" << socket->peerAddress().toString() << ":"
                           << m_limits.maxConnections << "open";
        socket->abort();
        socket->deleteLater();
        return;
    }
    m_open.append(socket);

    // One deadline and one byte budget per request; a response going out starts the next.
    auto *deadline = new QTimer(socket);
    deadline->setSingleShot(true);
    deadline->setInterval(m_limits.requestTimeoutMs);
    connect(deadline, &QTimer::timeout, socket, [socket] {
        qCDebug(lcMetrics) << "metrics connection from" << socket->peerAddress().toString() << "timed out";
        socket->abort();
    });
    deadline->start();
    auto received = std::make_shared<qint64>(0);
    // Connected before QHttpServer's own slot, which reads everything available each time: what
    // is available here is what arrived since the last readyRead.
    connect(socket, &QTcpSocket::readyRead, socket, [socket, received, max = m_limits.maxRequestBytes] {
        *received += socket->bytesAvailable();
        if (*received > max) {
            qCDebug(lcMetrics) << "metrics request from" << socket->peerAddress().toString() << "over" << max
                               << "bytes";
            socket->abort();
        }
    });
    connect(socket, &QTcpSocket::bytesWritten, socket, [deadline, received] {
        *received = 0;
        deadline->start();
    });
    addPendingConnection(socket);
}

} // namespace autofact::server
