// SPDX-License-Identifier: MIT
#pragma once

#include "link/batchtransport.h"
#include "link/linksocket.h"
#include "messages.h"

#include <QElapsedTimer>
#include <QObject>
#include <QRandomGenerator>
#include <QTimer>
#include <QUrl>

#include <cstdint>

namespace autofact::agent {

class BatchStore;

/**
 * The agent's connection to the server: handshake, heartbeats, a liveness timeout, and
 * reconnects with capped exponential backoff and jitter. It carries batches (BatchTransport)
 * but decides nothing about them: which batches go, how many may be unacked and what an ack
 * covers are AgentEngine's rules. The store is read only for the heartbeat's backlog figures.
 *
 * All timing uses Qt timers and QElapsedTimer (monotonic), so wall-clock jumps do not matter.
 */
class AgentLink : public QObject, public BatchTransport
{
    Q_OBJECT
public:
    enum class State {
        Idle,        ///< not started
        Connecting,  ///< TCP/WebSocket handshake in progress
        Handshaking, ///< Hello sent, waiting for Welcome
        Ready,       ///< welcomed; batches flow
        Backoff,     ///< waiting to reconnect
        Stopped,     ///< stopped by stop(), a fatal error, or giving up
    };
    Q_ENUM(State)

    /// Exit codes the agent uses for fatal link outcomes.
    static constexpr int exitGaveUp = 3;
    static constexpr int exitRefused = 4;

    explicit AgentLink(const BatchStore &store, QObject *parent = nullptr);
    ~AgentLink() override;

    void setServerUrl(const QUrl &url) { m_url = url; }
    /** PEM certificates trusted for wss:// instead of the platform's store (LinkSocket). */
    bool setCaFile(const QString &path, QString *error) { return m_socket.setCaFile(path, error); }
    /** How to reach the server: the system's proxy configuration, none, or a given proxy. */
    void setProxy(const ProxySetting &proxy) { m_socket.setProxy(proxy); }
    /** Talk only to the server with this certificate fingerprint (LinkSocket). */
    void setPinnedFingerprint(const QString &fingerprint) { m_socket.setPinnedFingerprint(fingerprint); }
    QUrl serverUrl() const { return m_url; }
    /** System facts and identity sent in Hello (agentId/secret empty for a new agent). */
    void setHello(const Hello &hello) { m_hello = hello; }
    const Hello &hello() const { return m_hello; }
    /** Timing of heartbeats and reconnects; applies at once. */
    void applyConfig(const AgentConfig &config);
    /** Seeds the jitter, for reproducible tests. */
    void setJitterSeed(quint32 seed) { m_rng.seed(seed); }

    void start();
    /** Sends what is pending and closes the socket normally; no reconnect afterwards. */
    void stop();
    bool isReady() const override { return m_state == State::Ready; }
    bool sendBatch(const QByteArray &payload) override;

    State state() const { return m_state; }
    int reconnectAttempts() const { return m_attempt; }
    /** Delay before reconnect attempt @p attempt (0-based), before jitter. */
    std::int64_t backoffDelayMs(int attempt) const;
    /** See LinkSocket::mayHoldNameLookup(). */
    bool mayHoldNameLookup() const { return m_socket.mayHoldNameLookup(); }

Q_SIGNALS:
    void stateChanged(autofact::agent::AgentLink::State state);
    /** Welcome received; a new agent must persist welcome.agentId and welcome.secret. */
    void welcomed(const autofact::Welcome &welcome);
    /** The server pushed a config; the link already answered with ConfigApplied. */
    void configReceived(const autofact::AgentConfig &config);
    /** The server acknowledged batches (also while closing down); the engine trims the store. */
    void acknowledged(const autofact::Ack &ack);
    /** The link cannot go on: the server refused the agent, or the give-up period passed. */
    void fatal(int exitCode, const QString &reason);
    /** The server said it is busy; resendDue() follows after @p delayMs. */
    void serverBusy(qint64 delayMs);
    /** After a busy server's pause: everything sent and not acked should go again. */
    void resendDue();
    /** After stop(): the socket is closed (or was never open). */
    void closed();

private:
    void setState(State state);
    void onConnected();
    void onDisconnected();
    void onBinaryMessage(const QByteArray &bytes);
    void onLivenessTimeout();
    void scheduleReconnect();
    void send(const Message &message);
    /** False when the socket is not open (nothing was queued). */
    bool sendBytes(const QByteArray &bytes);
    void abortLink(const QString &why);

    const BatchStore &m_store;
    LinkSocket m_socket;
    QUrl m_url;
    Hello m_hello;
    AgentConfig m_config;
    State m_state = State::Idle;
    QTimer m_reconnectTimer;
    QTimer m_heartbeatTimer;
    QTimer m_livenessTimer;
    QTimer m_rewindTimer; ///< after ServerBusy: time to resend everything unacked
    int m_busyCount = 0;
    QElapsedTimer m_outage; ///< running while the link is down
    QElapsedTimer m_uptime;
    QRandomGenerator m_rng{QRandomGenerator::system()->generate()};
    int m_attempt = 0;
};

} // namespace autofact::agent
