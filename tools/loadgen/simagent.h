// SPDX-License-Identifier: MIT
#pragma once

#include "agentengine.h"
#include "link/agentlink.h"
#include "loadstats.h"
#include "spool/memorybatchstore.h"
#include "syntheticsampler.h"

#include <QElapsedTimer>
#include <QObject>
#include <QUrl>

#include <deque>
#include <memory>
#include <optional>

namespace autofact::agent {
class Clock;
}

namespace autofact::loadgen {

/**
 * One simulated agent: the agent's own AgentEngine and AgentLink, with a SyntheticSampler and
 * a MemoryBatchStore (no file) instead of /proc and the SQLite spool. Its AgentPool's tick
 * drives the engine, on the pool's clock, because thousands of agents share one event loop.
 *
 * What it adds to the agent is what a simulation needs: the books the load generator reports
 * (when each batch first went on the wire, when its ack came back, what was resent), crash-like
 * connection drops for fault injection, and a made-up backlog.
 */
class SimAgent : public QObject
{
    Q_OBJECT
public:
    struct Settings {
        int index = 0;
        QUrl server;
        AgentIdentity identity;
        QString token;       ///< sent while the agent has no identity
        QString fingerprint; ///< the server certificate to insist on (empty: trust store)
        std::optional<int> sampleIntervalMs; ///< local override; else what the server pushes
        std::optional<int> sendIntervalMs;   ///< local override; else what the server pushes
        bool sampling = true;                ///< false: idle agent (heartbeats only)
        std::uint64_t backlogSamples = 0;    ///< samples spooled before the first connect
        int cores = 8;                       ///< of the synthetic host
        quint32 seed = 0;
    };

    SimAgent(Settings settings, LoadStats &stats, const agent::Clock &clock,
             QObject *parent = nullptr);
    ~SimAgent() override;

    /** Connects; sampling begins at once, as on a real agent. */
    void start();
    /** Called by the pool every few tens of milliseconds: runs what the engine has due. */
    void tick();
    /** Stops sampling, seals what was taken and sends it; the link stays up for the acks. */
    void beginStop();
    /** Closes the link; nothing is sent afterwards. */
    void finish();
    /** Fault injection: tears the connection down abruptly (as a crash would) and reconnects. */
    void dropConnection();

    bool isStarted() const { return m_started; }
    bool isConnected() const;
    /** The newest acknowledged batch as it went on the wire, for resend fault tests. */
    const QByteArray &lastAckedPayload() const { return m_lastAckedPayload; }
    /** Hello as sent, including the current identity. */
    Hello hello() const;
    AgentSummary summary() const;
    agent::AgentEngine &engine() { return m_engine; }
    const agent::MemoryBatchStore &store() const { return m_store; }

private:
    /** A batch on the wire at least once and not acked yet. */
    struct Outstanding {
        std::uint64_t sequence = 0;
        std::uint32_t samples = 0;
        std::int64_t sentNs = -1; ///< on the current connection; -1 when not (yet) sent on it
        QByteArray payload;
    };

    void createLink();
    void countSamples();
    void onBatchSent(const agent::SpooledBatch &batch);
    void onBatchesAcknowledged(const std::vector<agent::AckedBatch> &batches);
    void onWelcomed(const Welcome &welcome);
    void onStateChanged(agent::AgentLink::State state);

    Settings m_settings;
    LoadStats &m_stats;
    SyntheticSampler m_sampler;
    agent::MemoryBatchStore m_store;
    agent::AgentEngine m_engine;
    std::unique_ptr<agent::AgentLink> m_link;
    Hello m_hello;
    QElapsedTimer m_latencyClock; ///< ns, for batch → ack latency
    std::deque<Outstanding> m_outstanding; ///< by sequence
    QByteArray m_lastAckedPayload;
    std::uint64_t m_samplesCounted = 0;
    bool m_started = false;
    bool m_stopping = false;
    bool m_wasReady = false;
    AgentSummary m_summary;
};

} // namespace autofact::loadgen
