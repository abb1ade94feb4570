// SPDX-License-Identifier: MIT
#include "link/linksocket.h"

#include "link/linklogging.h"

#include <QCryptographicHash>
#include <QFile>
#include <QHostAddress>
#include <QSslConfiguration>
#include <QSslError>
#include <QWebSocket>

namespace autofact::agent {

void LinkSocket::Deleter::operator()(QWebSocket *socket) const
{
    // Possibly inside one of the socket's own signals: it may still be on the stack.
    socket->deleteLater();
}

LinkSocket::LinkSocket(QObject *parent)
    : QObject(parent)
{
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, &LinkSocket::onTimeout);
}

LinkSocket::~LinkSocket()
{
    discard();
}

bool LinkSocket::setCaFile(const QString &path, QString *error)
{
    if (path.isEmpty()) {
        m_ca.clear();
        return true;
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        if (error)
            *error = QStringLiteral("\"ca\" file %1: %2").arg(path, file.errorString());
        return false;
    }
    // A trust file is a few certificates; a huge file is a mistake, not a trust store.
    const QList<QSslCertificate> certificates =
        QSslCertificate::fromData(file.read(4 * 1024 * 1024), QSsl::Pem);
    if (certificates.isEmpty()) {
        if (error)
            *error = QStringLiteral("\"ca\" file %1 holds no PEM certificate").arg(path);
        return false;
    }
    m_ca = certificates;
    return true;
}

LinkSocket::State LinkSocket::state() const
{
    if (!m_socket || m_finishQueued)
        return State::Unconnected;
    if (m_closing)
        return State::Closing;
    switch (m_socket->state()) {
    case QAbstractSocket::ConnectedState:
        return State::Open;
    case QAbstractSocket::UnconnectedState:
        return State::Unconnected;
    case QAbstractSocket::ClosingState:
        return State::Closing;
    default:
        return State::Connecting;
    }
}

qint64 LinkSocket::bytesToWrite() const
{
    return m_socket ? m_socket->bytesToWrite() : 0;
}

void LinkSocket::open(const QUrl &url)
{
    discard();
    m_url = url;
    m_error.clear();
    m_closeCode = 0;
    m_closeReason.clear();
    m_closing = false;
    m_wasOpen = false;
    m_finishQueued = false;
    const std::uint64_t generation = ++m_generation;

    m_socket.reset(new QWebSocket);
    QWebSocket *socket = m_socket.get();
    socket->setMaxAllowedIncomingFrameSize(quint64(m_maxMessageBytes));
    socket->setMaxAllowedIncomingMessageSize(quint64(m_maxMessageBytes));
    if (!m_ca.isEmpty()) {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        // Setting the CA list also turns off Qt's on-demand loading of the system roots: the
        // file replaces the platform's store instead of adding to it.
        tls.setCaCertificates(m_ca);
        socket->setSslConfiguration(tls);
    }
    m_proxyInUse = m_proxy.proxyFor(url);
    socket->setProxy(m_proxyInUse);
    const QString dialled =
        m_proxyInUse.type() == QNetworkProxy::NoProxy ? url.host() : m_proxyInUse.hostName();
    m_lookupNow = QHostAddress(dialled).isNull();

    connect(socket, &QWebSocket::connected, this, [this, socket] { onConnected(socket); });
    connect(socket, &QWebSocket::disconnected, this, [this, socket] {
        if (socket == m_socket.get())
            finishLater();
    });
    connect(socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this, [this, socket] { onError(socket); });
    connect(socket, &QWebSocket::sslErrors, this,
            [this, socket](const QList<QSslError> &errors) { onSslErrors(socket, errors); });
    connect(socket, &QWebSocket::binaryMessageReceived, this, [this, socket](const QByteArray &m) {
        if (socket == m_socket.get() && !m_finishQueued)
            Q_EMIT binaryMessageReceived(m);
    });
    connect(socket, &QWebSocket::textMessageReceived, this, [this, socket](const QString &m) {
        if (socket == m_socket.get() && !m_finishQueued)
            Q_EMIT textMessageReceived(m);
    });
    m_connectTimer.start(m_connectTimeoutMs);
    socket->open(url);
    // open() can fail at once (a URL QWebSocket refuses) and emit nothing but an error.
    if (generation == m_generation && socket->state() == QAbstractSocket::UnconnectedState)
        finishLater();
}

QString LinkSocket::fingerprintOf(const QSslCertificate &certificate)
{
    if (certificate.isNull())
        return QString();
    return QStringLiteral("sha256:")
           + QString::fromLatin1(certificate.digest(QCryptographicHash::Sha256).toHex());
}

void LinkSocket::warnTls(const QString &why)
{
    m_error = why;
    // Loud on purpose: a refused certificate is a configuration fault, not a network blip.
    // Once per reason, though: the link retries every few seconds.
    const QString logged = m_url.toDisplayString() + QStringLiteral(" - ") + why;
    if (logged != m_lastTlsWarning)
        qCWarning(lcLink).noquote() << logged;
    else
        qCDebug(lcLink).noquote() << logged;
    m_lastTlsWarning = logged;
}

void LinkSocket::onConnected(QWebSocket *socket)
{
    if (socket != m_socket.get() || m_finishQueued)
        return;
    if (!m_pin.isEmpty()) {
        // A certificate the trust store accepts is still the wrong server if it is not the
        // pinned one: refuse before the caller sends anything.
        const QString presented = fingerprintOf(socket->sslConfiguration().peerCertificate());
        if (presented != m_pin) {
            warnTls(presented.isEmpty()
                        ? QStringLiteral("TLS: the server presented no certificate, but %1 is pinned (plain ws://?)").arg(m_pin)
                        : QStringLiteral("TLS: the server's certificate %1 does not match the pinned %2").arg(presented, m_pin));
            finishLater();
            return;
        }
    }
    m_connectTimer.stop();
    m_lookupNow = false;
    m_wasOpen = true;
    m_lastTlsWarning.clear(); // a later refusal is news again
    Q_EMIT connected();
}

void LinkSocket::onError(QWebSocket *socket)
{
    if (socket != m_socket.get())
        return;
    m_lookupNow = false; // a socket error comes after the lookup (or is its failure)
    if (m_error.isEmpty()) {
        if (socket->error() == QAbstractSocket::RemoteHostClosedError && m_wasOpen)
            m_error = QStringLiteral("the server went away without a close frame");
        else
            m_error = socket->errorString();
    }
    // Every socket error ends the connection, but not every one is followed by disconnected()
    // (a refused upgrade leaves the TCP connection up).
    finishLater();
}

void LinkSocket::onSslErrors(QWebSocket *socket, const QList<QSslError> &errors)
{
    if (socket != m_socket.get())
        return;
    if (!m_pin.isEmpty()) {
        QSslCertificate peer = socket->sslConfiguration().peerCertificate();
        if (peer.isNull() && !errors.isEmpty())
            peer = errors.first().certificate();
        const QString presented = fingerprintOf(peer);
        if (presented == m_pin) {
            // The very certificate the user pinned: who signed it, its name and its dates are
            // what the pin replaces.
            socket->ignoreSslErrors();
            return;
        }
        warnTls(QStringLiteral("TLS: the server's certificate %1 does not match the pinned %2")
                    .arg(presented.isEmpty() ? QStringLiteral("(none)") : presented, m_pin));
        return;
    }
    QStringList reasons;
    for (const QSslError &e : errors)
        reasons.append(e.errorString());
    warnTls(QStringLiteral("TLS: the server's certificate is not trusted (%1)")
                .arg(reasons.join(QStringLiteral("; "))));
}

void LinkSocket::onTimeout()
{
    if (!m_socket || m_finishQueued)
        return;
    m_error = QStringLiteral("timed out after %1 ms without an open WebSocket").arg(m_connectTimeoutMs);
    finishLater();
}

void LinkSocket::finishLater()
{
    if (m_finishQueued)
        return;
    m_finishQueued = true;
    m_connectTimer.stop();
    const std::uint64_t generation = m_generation;
    // Queued: the caller may act from its slot, and the socket's error() can still follow
    // its disconnected().
    QMetaObject::invokeMethod(this, [this, generation] {
        if (generation != m_generation)
            return; // aborted or reopened meanwhile
        if (QWebSocket *socket = m_socket.get(); socket && m_error.isEmpty()) {
            // QWebSocket reports 1000 until a close frame says otherwise.
            const QWebSocketProtocol::CloseCode code = socket->closeCode();
            m_closeCode = int(code);
            m_closeReason = socket->closeReason();
            if (!m_closing && code != QWebSocketProtocol::CloseCodeNormal
                && code != QWebSocketProtocol::CloseCodeGoingAway)
                m_error = QStringLiteral("closed with code %1 (%2)").arg(m_closeCode).arg(m_closeReason);
        }
        discard();
        Q_EMIT disconnected();
    }, Qt::QueuedConnection);
}

bool LinkSocket::sendBinary(const QByteArray &payload)
{
    if (state() != State::Open)
        return false;
    m_socket->sendBinaryMessage(payload);
    return true;
}

void LinkSocket::close(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    if (state() != State::Open) {
        abort();
        return;
    }
    m_closing = true;
    m_socket->close(code, reason);
}

void LinkSocket::abort()
{
    ++m_generation;
    discard();
}

void LinkSocket::discard()
{
    m_connectTimer.stop();
    if (m_lookupNow)
        m_lookupAbandoned = true; // Qt cannot cancel a running getaddrinfo(); it finishes alone
    m_lookupNow = false;
    if (!m_socket)
        return;
    m_socket->disconnect(this);
    m_socket->abort();
    m_socket.reset();
}

} // namespace autofact::agent
