// SPDX-License-Identifier: MIT
#pragma once

#include "agentlink.h"
#include "loadstats.h"
#include "spool.h"
#include "syntheticsampler.h"

#include <QElapsedTimer>
#include <QObject>
#include <QUrl>

#include <deque>
#include <memory>
#include <optional>

namespace autofact::loadgen {

/**
 * One simulated agent: a SyntheticSampler, an in-memory Spool (open() is never called, so no
 * file is created) and the real AgentLink. It is driven by its AgentPool's tick instead of
 * timers of its own, because thousands of agents share one event loop.
 *
 * Besides moving data it keeps the books the load generator reports: which sealed batches
 * were put on the socket when, and which were acknowledged. AgentLink sends oldest first and
 * removes acked sequences from its window, so the batches in flight are always the first
 * inFlight() entries of the unacked list; that lets the agent time every batch without any
 * hook inside the link.
 */
class SimAgent : public QObject
{
    Q_OBJECT
public:
    struct Settings {
        int index = 0;
        QUrl server;
        AgentIdentity identity;
        std::optional<int> sampleIntervalMs; ///< local override; else what the server pushes
        std::optional<int> sendIntervalMs;   ///< local override; else what the server pushes
        bool sampling = true;                ///< false: idle agent (heartbeats only)
        std::uint64_t backlogSamples = 0;    ///< samples spooled before the first connect
        quint32 seed = 0;
    };

    SimAgent(Settings settings, LoadStats &stats, QObject *parent = nullptr);
    ~SimAgent() override;

    /** Connects; sampling begins at once, as on a real agent. */
    void start(std::int64_t nowMs);
    /** Called by the pool every few tens of milliseconds with its monotonic clock. */
    void tick(std::int64_t nowMs);
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

private:
    struct Outstanding {
        std::uint64_t sequence = 0;
        std::uint32_t samples = 0;
        bool everSent = false;
        std::int64_t sentNs = -1; ///< on the current connection; -1 when not (yet) sent on it
        QByteArray payload;
    };

    void createLink();
    void takeSample();
    void sealAndSend();
    void trackSealed();
    void stampSent();
    void onWelcomed(const Welcome &welcome);
    void onAcknowledged(const Ack &ack);
    void onStateChanged(agent::AgentLink::State state);
    void onConfig(const AgentConfig &config);

    Settings m_settings;
    LoadStats &m_stats;
    SyntheticSampler m_sampler;
    agent::Spool m_spool;
    std::unique_ptr<agent::AgentLink> m_link;
    Hello m_hello;
    QElapsedTimer m_clock; ///< latency clock (ns)
    std::deque<Outstanding> m_unacked;
    std::uint64_t m_trackedUpTo = 0;
    QByteArray m_lastAckedPayload;
    Sample m_sample;
    std::vector<float> m_cores;
    int m_sampleMs = 1000;
    int m_sendMs = 5000;
    std::int64_t m_nextSampleMs = 0;
    std::int64_t m_nextSendMs = 0;
    bool m_started = false;
    bool m_stopping = false;
    bool m_wasReady = false;
    bool m_sequencesConfirmed = false; ///< a Welcome arrived: batches may be numbered
    AgentSummary m_summary;
};

} // namespace autofact::loadgen
