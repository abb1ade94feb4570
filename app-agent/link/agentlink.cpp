// SPDX-License-Identifier: MIT
#include "link/agentlink.h"

#include "codec.h"
#include "duration.h"
#include "link/linklogging.h"
#include "spool/batchstore.h"

#include <QDateTime>

#include <algorithm>
#include <chrono>

namespace autofact::agent {

AgentLink::AgentLink(const BatchStore &store, QObject *parent)
    : QObject(parent)
    , m_store(store)
{
    m_uptime.start();
    m_reconnectTimer.setSingleShot(true);
    m_livenessTimer.setSingleShot(true);
    m_heartbeatTimer.setSingleShot(true);
    m_rewindTimer.setSingleShot(true);
    connect(&m_rewindTimer, &QTimer::timeout, this, [this] {
        if (m_state == State::Ready)
            Q_EMIT resendDue(); // else a reconnect resends everything anyway
    });
    m_socket.setMaxMessageBytes(protocol::maxMessageBytes);
    connect(&m_socket, &LinkSocket::connected, this, &AgentLink::onConnected);
    connect(&m_socket, &LinkSocket::disconnected, this, &AgentLink::onDisconnected);
    connect(&m_socket, &LinkSocket::binaryMessageReceived, this, &AgentLink::onBinaryMessage);
    connect(&m_socket, &LinkSocket::textMessageReceived, this, [this] {
        abortLink(QStringLiteral("server sent a text message; the protocol is binary"));
    });
    connect(&m_reconnectTimer, &QTimer::timeout, this, &AgentLink::start);
    connect(&m_livenessTimer, &QTimer::timeout, this, &AgentLink::onLivenessTimeout);
    connect(&m_heartbeatTimer, &QTimer::timeout, this, [this] {
        if (m_state != State::Ready)
            return;
        send(Heartbeat{m_uptime.elapsed(), m_store.backlogBatches(), m_store.backlogBytes(),
                       m_store.droppedTotal()});
    });
    applyConfig(AgentConfig{});
}

AgentLink::~AgentLink()
{
    m_socket.disconnect(this);
    m_socket.abort();
}

void AgentLink::applyConfig(const AgentConfig &config)
{
    m_config = config;
    m_heartbeatTimer.setInterval(int(config.heartbeatIntervalMs));
    // Three heartbeats without any word from the server: the link is dead.
    m_livenessTimer.setInterval(int(std::min<std::uint64_t>(3ull * config.heartbeatIntervalMs,
                                                             3600ull * 1000)));
    if (m_livenessTimer.isActive())
        m_livenessTimer.start();
    if (m_heartbeatTimer.isActive())
        m_heartbeatTimer.start();
}

std::int64_t AgentLink::backoffDelayMs(int attempt) const
{
    const std::int64_t base = std::max<std::int64_t>(1, m_config.reconnectBaseMs);
    const std::int64_t cap = std::max<std::int64_t>(base, m_config.reconnectMaxMs);
    const int shift = std::min(attempt, 30);
    return std::min(cap, base << shift);
}

void AgentLink::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged(state);
}

void AgentLink::start()
{
    if (m_state == State::Stopped && m_attempt < 0)
        return;
    if (!m_outage.isValid())
        m_outage.start();
    setState(State::Connecting);
    m_socket.open(m_url);
    qCDebug(lcLink).noquote() << "connecting to" << m_url.toString() << "-"
                              << ProxySetting::describe(m_socket.proxyInUse());
    // Covers a server that accepts TCP but never finishes the WebSocket handshake.
    m_livenessTimer.start();
}

void AgentLink::stop()
{
    m_reconnectTimer.stop();
    m_heartbeatTimer.stop();
    m_livenessTimer.stop();
    const bool wasOpen = m_socket.state() == LinkSocket::State::Open;
    setState(State::Stopped);
    m_attempt = -1;
    if (wasOpen) {
        // Queued after everything already sent: the close frame goes out last.
        m_socket.close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("agent stopping"));
    } else {
        m_socket.abort();
        QMetaObject::invokeMethod(this, &AgentLink::closed, Qt::QueuedConnection);
    }
}

void AgentLink::onConnected()
{
    qCInfo(lcLink).noquote() << "connected to" << m_url.toString() << "-"
                             << ProxySetting::describe(m_socket.proxyInUse());
    setState(State::Handshaking);
    send(m_hello);
}

void AgentLink::onDisconnected()
{
    m_heartbeatTimer.stop();
    m_livenessTimer.stop();
    m_rewindTimer.stop();
    // abortLink() has already scheduled the retry for this connection.
    if (m_state == State::Backoff)
        return;
    if (m_state == State::Stopped) {
        Q_EMIT closed();
        return;
    }
    if (m_state == State::Ready || m_state == State::Handshaking) {
        qCWarning(lcLink).noquote() << "link to" << m_url.toString() << "lost:"
                                    << (m_socket.errorString().isEmpty()
                                            ? QStringLiteral("closed (%1 %2)")
                                                  .arg(m_socket.closeCode())
                                                  .arg(m_socket.closeReason())
                                            : m_socket.errorString());
    } else if (m_state == State::Connecting) {
        // The first failure of an outage says why; the retries that follow stay quiet.
        const QString why = m_socket.errorString();
        if (m_attempt == 0)
            qCInfo(lcLink).noquote() << "cannot reach" << m_url.toString() << "-" << why;
        else
            qCDebug(lcLink).noquote() << "cannot reach" << m_url.toString() << "-" << why;
    }
    scheduleReconnect();
}

void AgentLink::scheduleReconnect()
{
    if (!m_outage.isValid())
        m_outage.start();
    if (m_outage.elapsed() >= std::int64_t(m_config.giveUpMs)) {
        const QString reason =
            QStringLiteral("no connection to %1 for %2 (give-up period); stopping, the spool "
                           "stays on disk for the next start")
                .arg(m_url.toString(),
                     duration::format(std::chrono::milliseconds(m_outage.elapsed())));
        qCCritical(lcLink).noquote() << reason;
        setState(State::Stopped);
        m_attempt = -1;
        Q_EMIT fatal(exitGaveUp, reason);
        return;
    }
    // Full jitter around the exponential step spreads a fleet's reconnects after an outage.
    const std::int64_t step = backoffDelayMs(m_attempt);
    const std::int64_t delay = step / 2 + std::int64_t(m_rng.bounded(quint32(step / 2 + 1)));
    const std::int64_t remaining = std::int64_t(m_config.giveUpMs) - m_outage.elapsed();
    ++m_attempt;
    setState(State::Backoff);
    qCInfo(lcLink).noquote() << "reconnecting in" << duration::format(std::chrono::milliseconds(delay))
                             << "(attempt" << m_attempt << ")";
    m_reconnectTimer.start(int(std::clamp<std::int64_t>(delay, 0, std::max<std::int64_t>(remaining, 0))));
}

void AgentLink::abortLink(const QString &why)
{
    qCWarning(lcLink).noquote() << why << "- dropping the link";
    m_socket.abort();
    if (m_state != State::Backoff && m_state != State::Stopped)
        onDisconnected();
}

void AgentLink::onLivenessTimeout()
{
    abortLink(QStringLiteral("no word from the server in %1")
                  .arg(duration::format(std::chrono::milliseconds(m_livenessTimer.interval()))));
}

void AgentLink::send(const Message &message)
{
    sendBytes(codec::encode(message));
}

bool AgentLink::sendBytes(const QByteArray &bytes)
{
    if (!m_socket.sendBinary(bytes))
        return false; // the socket is going away; its disconnect resets the window
    // A heartbeat is due only after a full interval of silence from our side.
    if (m_state == State::Ready)
        m_heartbeatTimer.start();
    return true;
}

bool AgentLink::sendBatch(const QByteArray &payload)
{
    return m_state == State::Ready && sendBytes(payload);
}

void AgentLink::onBinaryMessage(const QByteArray &bytes)
{
    if (m_state == State::Stopped) {
        // Closing down: an ack still trims the store; anything else would only restart timers
        // or abort the close under way (and with it the closed() the agent waits for).
        const DecodeResult r = codec::decode(bytes);
        if (const Ack *ack = r.ok() ? std::get_if<Ack>(&*r.message) : nullptr)
            Q_EMIT acknowledged(*ack);
        return;
    }
    const DecodeResult r = codec::decode(bytes);
    if (!r.ok()) {
        abortLink(QStringLiteral("malformed message from the server (%1)").arg(r.reason));
        return;
    }
    m_livenessTimer.start();
    const Message &message = *r.message;
    if (const auto *welcome = std::get_if<Welcome>(&message)) {
        if (m_state != State::Handshaking) {
            abortLink(QStringLiteral("unexpected Welcome"));
            return;
        }
        if (!welcome->secret.isEmpty()) {
            m_hello.agentId = welcome->agentId;
            m_hello.secret = welcome->secret;
            m_hello.token.clear();
        }
        qCInfo(lcLink).noquote() << (welcome->returning ? "welcomed back as" : "enrolled as")
                                 << welcome->agentId;
        m_attempt = 0;
        m_outage.invalidate();
        setState(State::Ready);
        // The engine learns the server's high-water mark here and starts sending.
        Q_EMIT welcomed(*welcome);
        m_heartbeatTimer.start();
    } else if (const auto *config = std::get_if<AgentConfig>(&message)) {
        applyConfig(*config);
        Q_EMIT configReceived(*config);
        send(ConfigApplied{config->revision});
    } else if (const auto *ack = std::get_if<Ack>(&message)) {
        m_busyCount = 0; // progress: the next busy notice starts again from the base delay
        Q_EMIT acknowledged(*ack);
    } else if (std::holds_alternative<Pong>(message)) {
        // Liveness only.
    } else if (const auto *error = std::get_if<ErrorMessage>(&message)) {
        const QString reason = QStringLiteral("server refused the agent: %1 (%2)")
                                   .arg(errorCodeName(error->code), error->reason);
        if (error->code == ErrorCode::ServerBusy) {
            // The server dropped what we sent since its last ack: resend it after a pause
            // that grows while the server stays busy (one step per resend cycle).
            if (m_rewindTimer.isActive())
                return;
            // Shorter than a reconnect: a busy server sheds a resend cheaply, and its queue
            // usually drains within a second or two.
            constexpr std::int64_t firstBusyStepMs = 250;
            const std::int64_t step = std::min<std::int64_t>(
                std::max<std::int64_t>(firstBusyStepMs, m_config.reconnectMaxMs),
                firstBusyStepMs << std::min(m_busyCount++, 20));
            const std::int64_t delay = step / 2 + std::int64_t(m_rng.bounded(quint32(step / 2 + 1)));
            qCInfo(lcLink).noquote() << "server busy; resending unacked batches in"
                                     << duration::format(std::chrono::milliseconds(delay));
            m_rewindTimer.start(int(std::min<std::int64_t>(delay, 3600 * 1000)));
            Q_EMIT serverBusy(delay);
        } else if (error->code == ErrorCode::BadSecret || error->code == ErrorCode::UnsupportedVersion
                   || error->code == ErrorCode::EnrolmentRefused || error->code == ErrorCode::Revoked) {
            // Retrying cannot help; hammering the server would not either. Only the server we
            // verified (TLS, pin) can say this: a stranger on the path never gets this far.
            const QString line = error->code == ErrorCode::Revoked
                                     ? QStringLiteral("revoked: the server no longer accepts this agent (%1)").arg(error->reason)
                                     : reason;
            qCCritical(lcLink).noquote() << line;
            stop();
            Q_EMIT fatal(exitRefused, line);
        } else {
            qCWarning(lcLink).noquote() << reason;
        }
    } else {
        qCWarning(lcLink) << "ignoring unexpected" << messageTypeName(message) << "from the server";
    }
}

} // namespace autofact::agent
