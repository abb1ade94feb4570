// SPDX-License-Identifier: MIT
#include "ingestserver.h"

#include "clienthealth.h"

#include "codec.h"
#include "serverlogging.h"
#include "untrustedtext.h"

#include <QDateTime>
#include <QWebSocket>
#include <QWebSocketServer>

#include <algorithm>

namespace autofact::server {

namespace {
/// Before authentication: room for a Hello frame (16 KiB) and the next frame's header.
constexpr qint64 kUnauthenticatedReadBuffer = 32 * 1024;
} // namespace

IngestServer::IngestServer(Options options, StoreWorker *worker, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_worker(worker)
    , m_guard(m_options.strangers)
    , m_summary([](const QString &line) { qCWarning(lcHub).noquote() << line; })
{
    m_clock.start();
    m_sinceSummary.start();
    qRegisterMetaType<HubActivity>();
    const auto mode =
        m_options.tls ? QWebSocketServer::SecureMode : QWebSocketServer::NonSecureMode;
    m_server = new QWebSocketServer(QStringLiteral("autofactory"), mode, this);
    if (m_options.tls)
        m_server->setSslConfiguration(*m_options.tls);
    m_server->setHandshakeTimeout(std::chrono::milliseconds(m_options.handshakeTimeoutMs));
    // Reconnect storms: thousands of agents may knock at once after an outage.
    m_server->setMaxPendingConnections(m_options.maxPendingConnections);
    connect(m_server, &QWebSocketServer::newConnection, this, &IngestServer::onNewConnection);
    connect(m_server, &QWebSocketServer::acceptError, this, [](QAbstractSocket::SocketError e) {
        qCWarning(lcHub) << "accept error" << e;
    });
    connect(m_server, &QWebSocketServer::peerVerifyError, this, [](const QSslError &e) {
        qCWarning(lcHub) << "TLS peer verify error:" << e.errorString();
    });
    connect(m_server, &QWebSocketServer::sslErrors, this, [](const QList<QSslError> &errors) {
        for (const QSslError &e : errors)
            qCWarning(lcHub) << "TLS error:" << e.errorString();
    });

    connect(m_worker, &StoreWorker::authenticated, this, &IngestServer::onAuthenticated);
    connect(m_worker, &StoreWorker::committed, this, &IngestServer::onCommitted);
    connect(m_worker, &StoreWorker::configChanged, this, &IngestServer::onConfigChanged);
    connect(m_worker, &StoreWorker::clientRevoked, this, &IngestServer::onClientRevoked);
    connect(m_worker, &StoreWorker::clientForgotten, this, &IngestServer::onClientForgotten);
    connect(m_worker, &StoreWorker::sessionTakenElsewhere, this,
            [this](const QString &clientId) { endSessionOf(clientId, QStringLiteral("connected to another server node")); });

    // One timer for all connections: per-socket timers cost too much at 10,000 agents.
    m_housekeeping.setInterval(500);
    connect(&m_housekeeping, &QTimer::timeout, this, &IngestServer::onHousekeeping);
    m_activityTimer.setInterval(m_options.activityIntervalMs);
    m_activityTimer.setSingleShot(true);
    connect(&m_activityTimer, &QTimer::timeout, this, &IngestServer::emitActivity);
}

IngestServer::~IngestServer()
{
    for (auto &[id, s] : m_sessions) {
        s->socket->disconnect(this);
        s->socket->abort();
        delete s->socket;
    }
}

bool IngestServer::listen(QString *error)
{
    if (!m_server->listen(m_options.address, m_options.port)) {
        if (error)
            *error = QStringLiteral("cannot listen on %1:%2: %3")
                         .arg(m_options.address.toString())
                         .arg(m_options.port)
                         .arg(m_server->errorString());
        return false;
    }
    m_housekeeping.start();
    return true;
}

QUrl IngestServer::url() const
{
    QUrl url;
    url.setScheme(m_options.tls ? QStringLiteral("wss") : QStringLiteral("ws"));
    QHostAddress address = m_server->serverAddress();
    url.setHost(address.toString());
    url.setPort(m_server->serverPort());
    return url;
}

IngestServer::Session *IngestServer::session(quint64 id)
{
    const auto it = m_sessions.find(id);
    return it == m_sessions.end() ? nullptr : it->second.get();
}

void IngestServer::onNewConnection()
{
    while (QWebSocket *socket = m_server->nextPendingConnection()) {
        // Qt's defaults are about 2 GiB: set our caps before the first frame is read. Until it
        // authenticates, a peer may send no more than a Hello needs; the full cap comes after.
        socket->setMaxAllowedIncomingFrameSize(quint64(m_options.maxUnauthenticatedMessageBytes));
        socket->setMaxAllowedIncomingMessageSize(quint64(m_options.maxUnauthenticatedMessageBytes));
        // The frame caps act on a frame's header, but the socket below reads (and decrypts) all
        // that arrives: bound that too, so a stranger's burst waits in the kernel, not here.
        socket->setReadBufferSize(kUnauthenticatedReadBuffer);
        if (m_shuttingDown) {
            socket->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("server shutting down"));
            socket->deleteLater();
            continue;
        }
        auto s = std::make_unique<Session>();
        s->id = m_nextSessionId++;
        s->socket = socket;
        s->peer = socket->peerAddress().toString() + u':' + QString::number(socket->peerPort());
        s->sinceConnect.start();
        s->sinceHeard.start();
        s->tokens = m_options.messageBurst;
        s->tokenClock.start();
        s->address = socket->peerAddress();
        const quint64 id = s->id;
        connect(socket, &QWebSocket::binaryMessageReceived, this,
                [this, id](const QByteArray &bytes) { onBinaryMessage(id, bytes); });
        connect(socket, &QWebSocket::textMessageReceived, this, [this, id](const QString &) {
            if (Session *s = session(id))
                refuse(*s, ErrorCode::Malformed, QStringLiteral("text messages are not part of the protocol"),
                       QWebSocketProtocol::CloseCodeDatatypeNotSupported);
        });
        connect(socket, &QWebSocket::disconnected, this, [this, id] { onDisconnected(id); });
        qCDebug(lcHub).noquote() << "connection from" << s->peer;
        QString why;
        s->stranger = m_guard.admit(s->address, &why);
        Session &added = *m_sessions.emplace(id, std::move(s)).first->second;
        if (!added.stranger)
            refuse(added, ErrorCode::RateLimited, why + QStringLiteral("; try again later"),
                   QWebSocketProtocol::CloseCodePolicyViolated);
    }
}

bool IngestServer::takeToken(Session &s)
{
    const double elapsed = double(s.tokenClock.restart()) / 1000.0;
    s.tokens = std::min(m_options.messageBurst, s.tokens + elapsed * m_options.messagesPerSecond);
    if (s.tokens < 1.0)
        return false;
    s.tokens -= 1.0;
    return true;
}

void IngestServer::send(Session &s, const Message &message)
{
    s.socket->sendBinaryMessage(codec::encode(message));
}

void IngestServer::leaveStrangers(Session &s)
{
    if (!s.stranger)
        return;
    s.stranger = false;
    m_guard.leave(s.address);
}

void IngestServer::refuse(Session &s, ErrorCode code, const QString &reason,
                          QWebSocketProtocol::CloseCode closeCode)
{
    if (s.phase == Phase::Closing)
        return;
    const QString line = QStringLiteral("refusing %1%2: %3 - %4")
                             .arg(s.peer,
                                  s.clientId.isEmpty() ? QString() : QStringLiteral(" (client %1)").arg(s.clientId),
                                  errorCodeName(code), reason);
    if (s.phase == Phase::Ready)
        qCWarning(lcHub).noquote() << line;
    else // strangers: summarised, so a flood of them cannot flood the log
        m_summary.note(errorCodeName(code), s.address.toString(), line);
    send(s, ErrorMessage{code, reason});
    s.phase = Phase::Closing;
    s.socket->close(closeCode, errorCodeName(code));
}

void IngestServer::onBinaryMessage(quint64 sessionId, const QByteArray &bytes)
{
    Session *s = session(sessionId);
    if (!s || s->phase == Phase::Closing)
        return;
    s->sinceHeard.restart();
    if (!takeToken(*s)) {
        refuse(*s, ErrorCode::RateLimited,
               QStringLiteral("more than %1 messages per second").arg(m_options.messagesPerSecond),
               QWebSocketProtocol::CloseCodePolicyViolated);
        return;
    }
    DecodeResult r = codec::decode(bytes, s->phase == Phase::Ready ? m_options.maxMessageBytes
                                                                   : m_options.maxUnauthenticatedMessageBytes);
    if (!r.ok()) {
        refuse(*s, r.error, r.reason,
               r.error == ErrorCode::TooLarge ? QWebSocketProtocol::CloseCodeTooMuchData
                                              : QWebSocketProtocol::CloseCodePolicyViolated);
        return;
    }
    handleMessage(*s, std::move(*r.message));
}

void IngestServer::handleMessage(Session &s, Message &&message)
{
    if (s.phase == Phase::AwaitingHello) {
        auto *hello = std::get_if<Hello>(&message);
        if (!hello) {
            refuse(s, ErrorCode::UnexpectedMessage,
                   QStringLiteral("expected Hello first, got %1").arg(messageTypeName(message)),
                   QWebSocketProtocol::CloseCodePolicyViolated);
            return;
        }
        if (hello->protocolVersion != protocol::version) {
            refuse(s, ErrorCode::UnsupportedVersion,
                   QStringLiteral("protocol version %1 is not supported; this server speaks %2")
                       .arg(hello->protocolVersion)
                       .arg(protocol::version),
                   QWebSocketProtocol::CloseCodePolicyViolated);
            return;
        }
        // Checked before the database is asked anything: a guesser costs a hash lookup at most.
        if (const auto wait = m_guard.mustWaitMs(s.address, m_clock.elapsed())) {
            refuse(s, ErrorCode::RateLimited,
                   QStringLiteral("too many failed attempts from this address; try again in %1 s")
                       .arg((*wait + 999) / 1000),
                   QWebSocketProtocol::CloseCodePolicyViolated);
            return;
        }
        s.phase = Phase::Authenticating;
        QMetaObject::invokeMethod(m_worker, [w = m_worker, id = s.id, h = std::move(*hello), peer = s.peer] {
            w->authenticate(id, h, peer);
        });
        return;
    }
    if (s.phase != Phase::Ready) {
        // Messages between Hello and Welcome: the agent must wait for Welcome.
        refuse(s, ErrorCode::UnexpectedMessage,
               QStringLiteral("%1 before Welcome").arg(messageTypeName(message)),
               QWebSocketProtocol::CloseCodePolicyViolated);
        return;
    }
    if (auto *batch = std::get_if<SampleBatch>(&message)) {
        if (!batch->samples.empty())
            noteData(s);
        const quint64 queued = m_worker->queuedSamples();
        const quint64 seq = batch->sequence;
        // An idle queue takes any batch, so one large backlog batch is never refused forever.
        const bool full = queued > 0 && queued + batch->samples.size() > m_options.maxQueuedSamples;
        // After a refusal, later batches wait until the refused one comes back: taking them
        // would leave a hole the store records as a sequence gap.
        const bool behindRefused = s.busyFrom != 0 && seq > s.busyFrom;
        if (full || behindRefused) {
            // Not queued, never acked: the batch stays in the agent's spool. One notice per
            // resend cycle: on the first refusal, and when the agent starts over (its sequence
            // goes back) and is refused again; never once per batch of one cycle.
            const bool notify = s.busyFrom == 0 || seq <= s.lastBatchSeq;
            s.lastBatchSeq = seq;
            // A refused resend of a batch still queued is no hole: its first copy gets stored.
            if (!s.queued.count(seq) && (s.busyFrom == 0 || seq < s.busyFrom))
                s.busyFrom = seq;
            if (notify) {
                send(s, ErrorMessage{ErrorCode::ServerBusy,
                                     QStringLiteral("%1 samples waiting for the database; resend from sequence %2 later")
                                         .arg(queued)
                                         .arg(s.busyFrom)});
                qCInfo(lcHub).noquote() << "server busy:" << queued << "samples queued; told" << s.clientId
                                        << "to resend from" << s.busyFrom;
            }
            return;
        }
        s.lastBatchSeq = seq;
        if (s.busyFrom != 0 && seq == s.busyFrom)
            s.busyFrom = 0; // the hole is filled, in order
        s.queued.try_emplace(seq, m_clock.nsecsElapsed() / 1000);
        m_worker->reserveQueued(batch->samples.size());
        QMetaObject::invokeMethod(m_worker, [w = m_worker, id = s.id, client = s.clientId,
                                             b = std::move(*batch)]() mutable {
            w->enqueue(id, client, std::move(b));
        });
    } else if (const auto *hb = std::get_if<Heartbeat>(&message)) {
        m_pendingActivity.backlog.insert(s.clientId, hb->backlogBatches);
        QMetaObject::invokeMethod(m_worker, [w = m_worker, client = s.clientId, n = hb->backlogBatches,
                                             t = QDateTime::currentMSecsSinceEpoch()] {
            w->noteBacklog(client, n, t);
        });
        send(s, Pong{hb->sentMs, QDateTime::currentMSecsSinceEpoch()});
    } else if (const auto *applied = std::get_if<ConfigApplied>(&message)) {
        QMetaObject::invokeMethod(m_worker, [w = m_worker, client = s.clientId, rev = applied->revision] {
            w->recordConfigApplied(client, rev);
        });
        Q_EMIT configApplied(s.clientId, applied->revision);
    } else {
        refuse(s, ErrorCode::UnexpectedMessage,
               QStringLiteral("%1 is not something an agent sends").arg(messageTypeName(message)),
               QWebSocketProtocol::CloseCodePolicyViolated);
    }
}

void IngestServer::onAuthenticated(quint64 sessionId, const AuthResult &result, const QString &error)
{
    Session *s = session(sessionId);
    const bool opened = error.isEmpty()
                        && (result.outcome == AuthResult::Outcome::NewClient
                            || result.outcome == AuthResult::Outcome::Returning);
    if (!s || s->phase != Phase::Authenticating) {
        // The agent left while the database was checking it. A client enrolled for it never
        // received its secret: remove it, or every retry would leave another orphan row.
        if (opened && result.outcome == AuthResult::Outcome::NewClient)
            QMetaObject::invokeMethod(m_worker, [w = m_worker, id = result.clientId] {
                w->discardEnrolment(id);
            });
        else if (opened)
            QMetaObject::invokeMethod(m_worker, [w = m_worker, c = result.connectionId] {
                w->recordDisconnect(c, QStringLiteral("closed during handshake"));
            });
        return;
    }
    if (!error.isEmpty()) {
        refuse(*s, ErrorCode::Internal, error, QWebSocketProtocol::CloseCodeBadOperation);
        return;
    }
    switch (result.outcome) {
    case AuthResult::Outcome::BadSecret:
        m_guard.recordFailure(s->address, m_clock.elapsed());
        refuse(*s, ErrorCode::BadSecret, QStringLiteral("wrong secret for client %1").arg(result.clientId),
               QWebSocketProtocol::CloseCodePolicyViolated);
        return;
    case AuthResult::Outcome::EnrolmentRefused:
        m_guard.recordFailure(s->address, m_clock.elapsed());
        refuse(*s, ErrorCode::EnrolmentRefused, result.reason, QWebSocketProtocol::CloseCodePolicyViolated);
        return;
    case AuthResult::Outcome::Revoked:
        refuse(*s, ErrorCode::Revoked, QStringLiteral("client %1 was revoked").arg(result.clientId),
               QWebSocketProtocol::CloseCodePolicyViolated);
        return;
    case AuthResult::Outcome::NewClient:
    case AuthResult::Outcome::Returning:
        break;
    }
    leaveStrangers(*s);
    s->socket->setMaxAllowedIncomingFrameSize(quint64(m_options.maxMessageBytes));
    s->socket->setMaxAllowedIncomingMessageSize(quint64(m_options.maxMessageBytes));
    // Qt parses a frame only once all of it is buffered: a bound below the message cap would
    // stall a large batch for good.
    s->socket->setReadBufferSize(0);
    // One live connection per client: a newer one replaces an older (e.g. half-open) one.
    if (const auto old = m_byClient.find(result.clientId); old != m_byClient.end()) {
        if (Session *previous = session(*old)) {
            qCInfo(lcHub).noquote() << "client" << result.clientId << "reconnected from" << s->peer
                                    << "; closing its older connection from" << previous->peer;
            previous->phase = Phase::Closing;
            previous->socket->close(QWebSocketProtocol::CloseCodeNormal,
                                    QStringLiteral("replaced by a newer connection"));
        }
    }
    s->clientId = result.clientId;
    s->connectionId = result.connectionId;
    s->phase = Phase::Ready;
    s->heartbeatMs = result.config.heartbeatIntervalMs;
    s->sendMs = result.config.sendIntervalMs;
    s->sinceData.start(); // a fresh connection has until one send interval and a half
    m_byClient.insert(result.clientId, s->id);
    const bool returning = result.outcome == AuthResult::Outcome::Returning;
    qCInfo(lcHub).noquote() << (returning ? "welcome back" : "enrolled") << result.clientId
                            << "from" << s->peer << (result.reason.isEmpty() ? QString() : u"(" + result.reason + u')');
    send(*s, Welcome{protocol::version, result.clientId, result.issuedSecret, returning,
                     QDateTime::currentMSecsSinceEpoch(), result.lastSequence});
    send(*s, result.config);
    m_pendingActivity.connected.append(result.clientId);
    m_pendingActivity.disconnected.removeAll(result.clientId);
    reportHealth(result.clientId, ClientHealth::Up);
    if (!m_activityTimer.isActive())
        m_activityTimer.start();
    Q_EMIT clientConnected(result.clientId, s->peer, returning);
}

void IngestServer::onCommitted(const std::vector<SessionCommit> &commits, const CommitStats &stats)
{
    for (const SessionCommit &c : commits) {
        if (c.latest)
            m_pendingActivity.latest.insert(c.clientId, *c.latest);
        if (!c.devices.empty())
            m_pendingActivity.devices[c.clientId].merge(c.devices);
        Session *s = session(c.session);
        if (!s || s->phase != Phase::Ready)
            continue; // the agent resends after reconnecting; the store dedupes
        if (c.failedBatches > 0) {
            // Unacked batches would sit in the agent's window forever: make it reconnect and
            // resend them, after its backoff gives the database time to recover.
            refuse(*s, ErrorCode::Internal,
                   QStringLiteral("%1 batches could not be stored; resend later").arg(c.failedBatches),
                   QWebSocketProtocol::CloseCodeBadOperation);
            continue;
        }
        const qint64 nowUs = m_clock.nsecsElapsed() / 1000;
        for (const SequenceRange &r : c.ranges) {
            const auto first = s->queued.lower_bound(r.first);
            const auto end = s->queued.upper_bound(r.last);
            for (auto it = first; it != end; ++it)
                m_pendingActivity.ackLatencyUs.append(nowUs - it->second);
            s->queued.erase(first, end);
        }
        if (!c.ranges.empty()) {
            // Ranges only: a cumulative ack could tell the agent to drop a batch we never saw.
            Ack ack;
            ack.ranges = c.ranges;
            if (ack.ranges.size() > protocol::maxAckRanges)
                ack.ranges.resize(protocol::maxAckRanges);
            send(*s, ack);
        }
    }
    m_pendingActivity.samplesStored += stats.samples;
    if (!m_activityTimer.isActive())
        m_activityTimer.start();
}

void IngestServer::onConfigChanged(const QString &clientId, const AgentConfig &config)
{
    const auto it = m_byClient.find(clientId);
    if (it == m_byClient.end())
        return;
    if (Session *s = session(*it)) {
        s->heartbeatMs = config.heartbeatIntervalMs;
        s->sendMs = config.sendIntervalMs;
        send(*s, config);
    }
}

void IngestServer::onClientRevoked(const QString &clientId)
{
    const auto it = m_byClient.find(clientId);
    if (it == m_byClient.end())
        return;
    if (Session *s = session(*it))
        refuse(*s, ErrorCode::Revoked, QStringLiteral("client %1 was revoked").arg(clientId),
               QWebSocketProtocol::CloseCodePolicyViolated);
}

void IngestServer::endSessionOf(const QString &clientId, const QString &reason)
{
    const auto it = m_byClient.find(clientId);
    if (it == m_byClient.end())
        return;
    if (Session *s = session(*it); s && s->phase != Phase::Closing) {
        qCInfo(lcHub).noquote() << "client" << clientId << "session ends:" << reason;
        s->phase = Phase::Closing; // nothing more it sends is handed to the store
        s->socket->close(QWebSocketProtocol::CloseCodeNormal, reason);
    }
}

void IngestServer::onClientForgotten(const QString &clientId)
{
    // Its credentials are gone: the session must not go on sending under them (with its history
    // deleted, every batch would fail). The agent reconnects and is treated as a new one: it
    // enrols again only with a valid token.
    endSessionOf(clientId, QStringLiteral("client forgotten on the server"));
    // Its last batches were written just before the forget: their news must not bring the
    // row back in the views.
    m_pendingActivity.latest.remove(clientId);
    m_pendingActivity.devices.remove(clientId);
    m_pendingActivity.backlog.remove(clientId);
    m_pendingActivity.staleNow.remove(clientId);
}

void IngestServer::onDisconnected(quint64 sessionId)
{
    const auto it = m_sessions.find(sessionId);
    if (it == m_sessions.end())
        return;
    std::unique_ptr<Session> s = std::move(it->second);
    m_sessions.erase(it);
    leaveStrangers(*s);
    // The close reason is the agent's text (up to 123 bytes of it): kept and logged cleaned.
    // No reason and no socket error is a clean close without words, not a lost connection.
    QString reason;
    if (!s->socket->closeReason().isEmpty())
        reason = cleanUntrustedText(s->socket->closeReason());
    else if (s->socket->error() == QAbstractSocket::UnknownSocketError)
        reason = QStringLiteral("closed by the agent (code %1)").arg(int(s->socket->closeCode()));
    else if (const QString why = s->socket->errorString(); why.isEmpty() || why == u"Unknown error")
        reason = QStringLiteral("connection lost"); // Qt had nothing to add
    else
        reason = QStringLiteral("connection lost (%1)").arg(why);
    if (s->connectionId > 0)
        QMetaObject::invokeMethod(m_worker, [w = m_worker, c = s->connectionId, reason] {
            w->recordDisconnect(c, reason);
        });
    if (!s->clientId.isEmpty()) {
        qCInfo(lcHub).noquote() << "client" << s->clientId << "disconnected:" << reason;
        // A connection replaced by a newer one of the same agent may finish closing after the
        // new one is up: the client is still online then.
        if (m_byClient.value(s->clientId) == sessionId) {
            m_byClient.remove(s->clientId);
            m_pendingActivity.disconnected.append(s->clientId);
            reportHealth(s->clientId, ClientHealth::Down);
            if (!m_activityTimer.isActive())
                m_activityTimer.start();
            Q_EMIT clientDisconnected(s->clientId, reason);
        }
    }
    s->socket->deleteLater();
}

void IngestServer::onHousekeeping()
{
    if (m_sinceSummary.elapsed() >= m_options.summaryIntervalMs) {
        m_summary.flush(int((m_sinceSummary.restart() + 500) / 1000));
        m_guard.prune(m_clock.elapsed());
    }
    // Closing a socket can synchronously end its session: decide first, act afterwards.
    std::vector<std::pair<quint64, ErrorCode>> verdicts;
    for (const auto &[id, s] : m_sessions) {
        if (s->phase == Phase::AwaitingHello && s->sinceConnect.elapsed() > m_options.helloTimeoutMs)
            verdicts.emplace_back(id, ErrorCode::HelloTimeout);
        else if (s->phase == Phase::Authenticating
                 && s->sinceConnect.elapsed() > 3 * qint64(m_options.helloTimeoutMs))
            verdicts.emplace_back(id, ErrorCode::Internal); // the database never answered
        else if (s->phase == Phase::Ready && s->sinceHeard.elapsed() > 3 * qint64(s->heartbeatMs))
            verdicts.emplace_back(id, ErrorCode::IdleTimeout);
        else if (s->phase == Phase::Closing && s->sinceHeard.elapsed() > 10000)
            verdicts.emplace_back(id, ErrorCode::None); // never answered our close
        // Heard (heartbeats) but no data: the agent's sampling or the host is hung.
        if (s->phase == Phase::Ready && !s->stale && s->sinceData.elapsed() > staleAfterMs(s->sendMs)) {
            s->stale = true;
            qCWarning(lcHub).noquote() << "client" << s->clientId << "is stale: connected, but no data for"
                                       << s->sinceData.elapsed() / 1000 << "s";
            m_pendingActivity.staleNow.insert(s->clientId, true);
            reportHealth(s->clientId, ClientHealth::Stale);
            if (!m_activityTimer.isActive())
                m_activityTimer.start();
        }
    }
    for (const auto &[id, verdict] : verdicts) {
        Session *s = session(id);
        if (!s)
            continue;
        if (verdict == ErrorCode::HelloTimeout)
            refuse(*s, verdict, QStringLiteral("no Hello within %1 ms").arg(m_options.helloTimeoutMs),
                   QWebSocketProtocol::CloseCodePolicyViolated);
        else if (verdict == ErrorCode::IdleTimeout)
            refuse(*s, verdict, QStringLiteral("nothing heard for three heartbeat intervals"),
                   QWebSocketProtocol::CloseCodeGoingAway);
        else if (verdict == ErrorCode::Internal)
            refuse(*s, verdict, QStringLiteral("the server could not check this agent in time"),
                   QWebSocketProtocol::CloseCodeBadOperation);
        else
            s->socket->abort();
    }
}

void IngestServer::noteData(Session &s)
{
    s.sinceData.restart();
    if (!s.stale)
        return;
    s.stale = false;
    qCInfo(lcHub).noquote() << "client" << s.clientId << "is up again: data arrives";
    m_pendingActivity.staleNow.insert(s.clientId, false);
    reportHealth(s.clientId, ClientHealth::Up);
    if (!m_activityTimer.isActive())
        m_activityTimer.start();
}

void IngestServer::reportHealth(const QString &clientId, ClientHealth health)
{
    QMetaObject::invokeMethod(m_worker, [w = m_worker, clientId, health, t = QDateTime::currentMSecsSinceEpoch()] {
        w->noteHealth(clientId, health, t);
    });
}

void IngestServer::emitActivity()
{
    m_pendingActivity.onlineClients = int(m_byClient.size());
    for (const QString &id : std::as_const(m_pendingActivity.connected))
        m_pendingActivity.onlineNow.insert(id, m_byClient.contains(id));
    for (const QString &id : std::as_const(m_pendingActivity.disconnected))
        m_pendingActivity.onlineNow.insert(id, m_byClient.contains(id));
    Q_EMIT activity(m_pendingActivity);
    m_pendingActivity = HubActivity();
}

void IngestServer::shutdown()
{
    m_shuttingDown = true;
    m_server->close();
    m_housekeeping.stop();
    std::vector<quint64> ids;
    for (const auto &[id, s] : m_sessions)
        ids.push_back(id);
    for (quint64 id : ids) {
        Session *s = session(id);
        if (!s || s->phase == Phase::Closing)
            continue;
        send(*s, ErrorMessage{ErrorCode::ServerShutdown, QStringLiteral("server shutting down")});
        s->phase = Phase::Closing;
        s->socket->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("server shutting down"));
    }
}

} // namespace autofact::server
