// SPDX-License-Identifier: MIT
#pragma once

#include "clienthealth.h"
#include "hubactivity.h"
#include "messages.h"
#include "store/storetypes.h"
#include "storeworker.h"
#include "strangerguard.h"
#include "warningsummary.h"

#include <QElapsedTimer>
#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QSet>
#include <QSslConfiguration>
#include <QTimer>
#include <QUrl>
#include <QWebSocketProtocol>

#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

class QWebSocket;
class QWebSocketServer;

namespace autofact::server {

/**
 * The network side of autofactory: accepts agents over WebSocket, runs the handshake, hands
 * batches to the StoreWorker, acknowledges what it committed, pushes agent configs, and
 * enforces limits (message size, Hello deadline, rate, idle timeout).
 *
 * Lives on one thread (the network thread); the StoreWorker lives on another and is only
 * reached through queued calls.
 */
class IngestServer : public QObject
{
    Q_OBJECT
public:
    struct Options {
        QHostAddress address = QHostAddress::Any;
        quint16 port = 8675;
        std::optional<QSslConfiguration> tls;
        qsizetype maxMessageBytes = protocol::maxMessageBytes; ///< after authentication
        /// Before authentication: enough for a Hello, so a stranger holds at most this much.
        qsizetype maxUnauthenticatedMessageBytes = protocol::maxUnauthenticatedMessageBytes;
        StrangerGuard::Limits strangers;
        int summaryIntervalMs = 10000; ///< warnings about strangers: one summary per interval
        int handshakeTimeoutMs = 10000; ///< WebSocket upgrade
        int helloTimeoutMs = 10000;     ///< Hello after the upgrade
        double messagesPerSecond = 200; ///< per connection, sustained
        double messageBurst = 1000;     ///< per connection, burst
        int maxPendingConnections = 1024;
        int activityIntervalMs = 250;   ///< coalescing period of activity()
        /// Samples waiting for the database above which new batches are not taken (the agent
        /// is told ServerBusy and resends after a pause): bounds the server's memory.
        quint64 maxQueuedSamples = 2'000'000;
    };

    IngestServer(Options options, StoreWorker *worker, QObject *parent = nullptr);
    ~IngestServer() override;

    /** Starts listening; false with a one-line error if the address cannot be bound. */
    bool listen(QString *error);
    /** ws://ADDR:PORT or wss://ADDR:PORT as bound (the real port when 0 was asked). */
    QUrl url() const;
    /** Stops accepting, closes every agent with "server shutting down". */
    void shutdown();

    int connectionCount() const { return int(m_sessions.size()); }
    /** Closes @p clientId's live session, if any (normal close, @p reason to the agent). */
    void endSessionOf(const QString &clientId, const QString &reason);
    int onlineClientCount() const { return int(m_byClient.size()); }

Q_SIGNALS:
    void clientConnected(const QString &clientId, const QString &peer, bool returning);
    void clientDisconnected(const QString &clientId, const QString &reason);
    void configApplied(const QString &clientId, quint32 revision);
    void activity(const autofact::server::HubActivity &activity);

private:
    enum class Phase { AwaitingHello, Authenticating, Ready, Closing };
    struct Session {
        quint64 id = 0;
        QWebSocket *socket = nullptr;
        QString peer;
        QHostAddress address;
        bool stranger = false; ///< counted by the StrangerGuard until authenticated or gone
        Phase phase = Phase::AwaitingHello;
        QString clientId;
        qint64 connectionId = 0;
        QElapsedTimer sinceConnect;
        QElapsedTimer sinceHeard;
        quint32 heartbeatMs = 15000;
        quint32 sendMs = 5000;     ///< the agent's send interval: how often data should arrive
        QElapsedTimer sinceData;   ///< since a batch with samples arrived (or the session began)
        bool stale = false;        ///< connected, but no data for longer than staleAfterMs()
        double tokens = 0;
        QElapsedTimer tokenClock;
        /// Lowest sequence refused while busy (0: none). Later batches wait behind it, so a
        /// refusal never shows up in the store as a sequence gap.
        quint64 busyFrom = 0;
        quint64 lastBatchSeq = 0; ///< sequence of the previous batch: going back starts a resend cycle
        /// Sequences handed to the store worker, not yet committed, with when each arrived
        /// (m_clock, µs): the ack latency is measured from there.
        std::map<quint64, qint64> queued;
    };

    void onNewConnection();
    /** Data arrived on @p s: it is not stale (any more). */
    void noteData(Session &s);
    void onBinaryMessage(quint64 sessionId, const QByteArray &bytes);
    void onDisconnected(quint64 sessionId);
    void onAuthenticated(quint64 sessionId, const AuthResult &result, const QString &error);
    void onCommitted(const std::vector<SessionCommit> &commits, const CommitStats &stats);
    void onConfigChanged(const QString &clientId, const AgentConfig &config);
    void onClientRevoked(const QString &clientId);
    void onClientForgotten(const QString &clientId);
    void leaveStrangers(Session &session);
    void onHousekeeping();
    void handleMessage(Session &session, Message &&message);
    void refuse(Session &session, ErrorCode code, const QString &reason,
                QWebSocketProtocol::CloseCode closeCode);
    void send(Session &session, const Message &message);
    bool takeToken(Session &session);
    Session *session(quint64 id);
    void emitActivity();
    /** Tells the store worker's alert rules (server clock). */
    void reportHealth(const QString &clientId, ClientHealth health);

    Options m_options;
    StoreWorker *m_worker;
    QWebSocketServer *m_server = nullptr;
    quint64 m_nextSessionId = 1;
    std::unordered_map<quint64, std::unique_ptr<Session>> m_sessions;
    QHash<QString, quint64> m_byClient; ///< Ready sessions by client ID
    QTimer m_housekeeping{this}; // children: they move with the hub to its thread
    QTimer m_activityTimer{this};
    HubActivity m_pendingActivity;
    StrangerGuard m_guard;
    WarningSummary m_summary;
    QElapsedTimer m_sinceSummary;
    QElapsedTimer m_clock; ///< monotonic time for the StrangerGuard and ack latencies
    bool m_shuttingDown = false;
};

} // namespace autofact::server
