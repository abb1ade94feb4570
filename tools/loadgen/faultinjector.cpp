// SPDX-License-Identifier: MIT
#include "faultinjector.h"

#include "codec.h"
#include "link/linksocket.h"
#include "loadgenlogging.h"

#include <QSslConfiguration>
#include <QTimer>
#include <QWebSocket>

namespace autofact::loadgen {

namespace {
// A side connection that has not finished in this time is abandoned.
constexpr int sideConnectionTimeoutMs = 10000;

QWebSocket *openSideSocket(QObject *parent, const QString &pin)
{
    auto *socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, parent);
    // The pinned certificate, and only that one, as the agent's LinkSocket does.
    QObject::connect(socket, &QWebSocket::sslErrors, socket, [socket, pin](const QList<QSslError> &) {
        if (!pin.isEmpty() && agent::LinkSocket::fingerprintOf(socket->sslConfiguration().peerCertificate()) == pin)
            socket->ignoreSslErrors();
    });
    QObject::connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
    QObject::connect(socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), socket,
                     [socket](QAbstractSocket::SocketError) {
                         if (socket->state() == QAbstractSocket::UnconnectedState)
                             socket->deleteLater();
                     });
    QTimer::singleShot(sideConnectionTimeoutMs, socket, [socket] { socket->abort(); });
    return socket;
}
} // namespace

FaultInjector::FaultInjector(QUrl server, LoadStats &stats, quint32 seed, QObject *parent)
    : QObject(parent)
    , m_server(std::move(server))
    , m_stats(stats)
    , m_rng(seed)
{
}

void FaultInjector::resend(const Hello &hello, const QByteArray &payload)
{
    if (hello.agentId.isEmpty() || payload.isEmpty())
        return;
    ++m_stats.resendsInjected;
    QWebSocket *socket = openSideSocket(this, m_pin);
    connect(socket, &QWebSocket::connected, socket, [socket, hello] {
        socket->sendBinaryMessage(codec::encode(hello));
    });
    connect(socket, &QWebSocket::binaryMessageReceived, socket,
            [this, socket, payload](const QByteArray &bytes) {
                const DecodeResult r = codec::decode(bytes);
                if (!r.ok()) {
                    socket->abort();
                    return;
                }
                if (std::holds_alternative<Welcome>(*r.message)) {
                    socket->sendBinaryMessage(payload);
                } else if (std::holds_alternative<Ack>(*r.message)) {
                    ++m_stats.resendsAcked;
                    socket->close();
                } else if (const auto *e = std::get_if<ErrorMessage>(&*r.message)) {
                    qCWarning(lcLoadgen).noquote() << "resend refused:" << e->reason;
                    socket->close();
                }
            });
    socket->open(m_server);
}

void FaultInjector::sendMalformed()
{
    ++m_stats.malformedInjected;
    QWebSocket *socket = openSideSocket(this, m_pin);
    QByteArray junk(int(16 + m_rng.bounded(512)), Qt::Uninitialized);
    for (char &c : junk)
        c = char(m_rng.bounded(256));
    connect(socket, &QWebSocket::connected, socket, [socket, junk] {
        socket->sendBinaryMessage(junk);
    });
    connect(socket, &QWebSocket::binaryMessageReceived, socket, [this](const QByteArray &bytes) {
        const DecodeResult r = codec::decode(bytes);
        if (r.ok() && std::holds_alternative<ErrorMessage>(*r.message))
            ++m_stats.malformedRefused;
    });
    socket->open(m_server);
}

} // namespace autofact::loadgen
