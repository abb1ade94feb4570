// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "wsclient.h"

#include <QElapsedTimer>
#include <QObject>
#include <QRandomGenerator>
#include <QTimer>
#include <QUrl>

#include <cstdint>
#include <deque>

namespace autofact::agent {

class Spool;

/**
 * The agent's connection to the server: handshake, batch sending with a bounded window of
 * unacked batches, heartbeats, a liveness timeout, and reconnects with capped exponential
 * backoff and jitter. It never decides what to sample; it moves what the spool holds.
 *
 * All timing uses Qt timers and QElapsedTimer (monotonic), so wall-clock jumps do not matter.
 */
class AgentLink : public QObject
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

    explicit AgentLink(Spool &spool, QObject *parent = nullptr);
    ~AgentLink() override;

    void setServerUrl(const QUrl &url) { m_url = url; }
    /** PEM certificates trusted for wss:// instead of the system's store. */
    void setCaFile(const QString &path) { m_socket.setCaFile(path); }
    QUrl serverUrl() const { return m_url; }
    /** System facts and identity sent in Hello (agentId/secret empty for a new agent). */
    void setHello(const Hello &hello) { m_hello = hello; }
    const Hello &hello() const { return m_hello; }
    /** Timing of heartbeats and reconnects; applies at once. */
    void applyConfig(const AgentConfig &config);
    /** At most this many batches sent and not yet acked. */
    void setMaxInFlight(std::size_t batches) { m_maxInFlight = batches; }
    /** Seeds the jitter, for reproducible tests. */
    void setJitterSeed(quint32 seed) { m_rng.seed(seed); }

    void start();
    /** Sends what is pending and closes the socket normally; no reconnect afterwards. */
    void stop();
    /** Sends spooled batches while the window allows; called after each seal. */
    void flush();

    State state() const { return m_state; }
    std::size_t inFlight() const { return m_inFlight.size(); }
    int reconnectAttempts() const { return m_attempt; }
    /** Delay before reconnect attempt @p attempt (0-based), before jitter. */
    std::int64_t backoffDelayMs(int attempt) const;

Q_SIGNALS:
    void stateChanged(autofact::agent::AgentLink::State state);
    /** Welcome received; a new agent must persist welcome.agentId and welcome.secret. */
    void welcomed(const autofact::Welcome &welcome);
    /** The server pushed a config; the link already answered with ConfigApplied. */
    void configReceived(const autofact::AgentConfig &config);
    /** Batches were acknowledged and removed from the spool. */
    void acknowledged(const autofact::Ack &ack);
    /** The link cannot go on: the server refused the agent, or the give-up period passed. */
    void fatal(int exitCode, const QString &reason);
    /** The server said it is busy; unacked batches are resent after @p delayMs. */
    void serverBusy(qint64 delayMs);
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
    void rewind();

    Spool &m_spool;
    WsClient m_socket;
    QUrl m_url;
    Hello m_hello;
    AgentConfig m_config;
    State m_state = State::Idle;
    QTimer m_reconnectTimer;
    QTimer m_heartbeatTimer;
    QTimer m_livenessTimer;
    QTimer m_rewindTimer; ///< after ServerBusy: resend everything unacked
    int m_busyCount = 0;
    QElapsedTimer m_outage; ///< running while the link is down
    QElapsedTimer m_uptime;
    QRandomGenerator m_rng{QRandomGenerator::system()->generate()};
    int m_attempt = 0;
    std::size_t m_maxInFlight = 8;
    std::uint64_t m_lastSentSequence = 0;
    std::deque<std::uint64_t> m_inFlight;
};

} // namespace autofact::agent
