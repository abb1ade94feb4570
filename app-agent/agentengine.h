// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "spool/batchstore.h"

#include <QObject>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace autofact::agent {

class AgentLink;
class BatchTransport;
class Clock;
class Sampler;

/**
 * The rules of an agent, in one place that both autofact-agent and autofact-loadgen run:
 * when to sample and when to seal (due times from the config in force), how many samples a
 * batch may hold, that no sequence number is used before the server's high-water mark is
 * known (Welcome), how many batches may be unacked, what an ack covers, what is resent after
 * a reconnect or a busy server, and when the server's spool limits apply.
 *
 * Storage, time, sampling and the connection are injected: a BatchStore (the SQLite Spool or a
 * MemoryBatchStore), a Clock (SystemClock or a test's SteppedClock), a Sampler and a
 * BatchTransport (normally an AgentLink, through attach()). The engine owns no timer: its
 * owner calls runDue() at nextDueMs() — Agent with one QTimer, the load generator from its
 * pool's tick, tests after stepping their clock.
 */
class AgentEngine : public QObject
{
    Q_OBJECT
public:
    AgentEngine(BatchStore &store, const Clock &clock, QObject *parent = nullptr);
    ~AgentEngine() override;

    /**
     * Largest batch for a host with @p cpuCount cores: a batch stays well under the server's
     * 1 MiB message cap however many cores (per-core values ride in every sample), and at
     * most 600 samples (10 minutes at 1 s).
     */
    static std::size_t maxSamplesPerBatchFor(int cpuCount);

    /** What samples; not owned. Without one, sampling is skipped. */
    void setSampler(Sampler *sampler) { m_sampler = sampler; }
    /** Sets the batch size from the host's core count (maxSamplesPerBatchFor()). */
    void setCpuCount(int cpuCount);
    std::size_t maxSamplesPerBatch() const { return m_maxSamplesPerBatch; }
    /** At most this many batches sent and not yet acked (default 8). */
    void setMaxInFlight(std::size_t batches) { m_maxInFlight = std::max<std::size_t>(1, batches); }
    /** False: an idle agent that only keeps its connection (load generator option). */
    void setSampling(bool on) { m_sampling = on; }
    /**
     * Local intervals that win over the server's (load generator options); nullopt follows
     * the server.
     */
    void setIntervalOverrides(std::optional<std::uint32_t> sampleMs,
                              std::optional<std::uint32_t> sendMs);
    /**
     * Shifts the first sample and seal by @p phaseMs (modulo each interval), so a simulated
     * fleet does not sample in lockstep. 0 (the agent): sample at once on start().
     */
    void setPhaseMs(std::int64_t phaseMs) { m_phaseMs = std::max<std::int64_t>(0, phaseMs); }

    /**
     * Puts @p config in force: due times move if an interval changed (a shorter interval takes
     * effect within one new interval; a longer one after the sample already due). Spool limits
     * apply only @p fromServer: built-in defaults never shrink a spool that holds the server's
     * last word. Emits configApplied().
     */
    void applyConfig(const AgentConfig &config, bool fromServer);
    const AgentConfig &config() const { return m_config; }
    std::uint32_t sampleIntervalMs() const;
    /** The server's config with the local interval overrides applied. */
    AgentConfig effectiveConfig() const;
    std::uint32_t sendIntervalMs() const;

    /** Sends through @p link and follows its events; replaces any earlier link. */
    void attach(AgentLink &link);
    /** Sends through @p transport (null: none); its events come through the on...() calls. */
    void setTransport(BatchTransport *transport);

    /** Schedules the first sample and seal from now (see setPhaseMs()). */
    void start();
    /** Does what is due at the clock's monotonic time; then nextDueMs() says when to call again. */
    void runDue();
    /** Monotonic time of the next sample or seal. */
    std::int64_t nextDueMs() const;
    /** No more sampling; seals what was taken (if sequences are known) and sends what it can. */
    void stop();
    bool isStopped() const { return m_stopped; }

    /** Takes one sample now, stamped with the clock's wall time. */
    bool takeSample();
    /** Takes one sample stamped @p wallMs (a backlog made up by the load generator). */
    bool takeSampleAt(std::int64_t wallMs);
    /** Seals open samples into batches once sequences may be used; returns how many. */
    int seal();
    /** seal(), then flush(). */
    void sealAndSend();
    /** Sends unacked batches not yet sent on this connection, while the window allows. */
    void flush();

    // Connection events (attach() wires them to an AgentLink).
    /** The server's high-water mark is known: sequences may be used; sealing and sending start. */
    void onWelcomed(const Welcome &welcome);
    /** Drops what @p ack covers from the store and the window; emits batchesAcknowledged(). */
    void onAcknowledged(const Ack &ack);
    /** The connection is gone: everything unacked goes again on the next one. */
    void onLinkDown();
    /** A busy server dropped what it had not acked: send it again now. */
    void onResendDue();

    /** True once a Welcome arrived in this process. */
    bool sequencesConfirmed() const { return m_sequencesConfirmed; }
    std::size_t inFlight() const { return m_inFlight.size(); }
    std::uint64_t samplesTaken() const { return m_samplesTaken; }
    BatchStore &store() { return m_store; }
    const BatchStore &store() const { return m_store; }

Q_SIGNALS:
    /** @p batch was put on the wire (again, after a reconnect or a busy server). */
    void batchSent(const autofact::agent::SpooledBatch &batch);
    /** An ack covered these batches (oldest first); they have left the store. */
    void batchesAcknowledged(const std::vector<autofact::agent::AckedBatch> &batches);
    /** A config is in force (due times already moved). */
    void configApplied(quint32 revision);

private:
    void rewindWindow();

    BatchStore &m_store;
    const Clock &m_clock;
    Sampler *m_sampler = nullptr;
    BatchTransport *m_transport = nullptr;
    AgentLink *m_link = nullptr;
    AgentConfig m_config;
    std::optional<std::uint32_t> m_sampleOverrideMs;
    std::optional<std::uint32_t> m_sendOverrideMs;
    std::size_t m_maxSamplesPerBatch = 600;
    std::size_t m_maxInFlight = 8;
    std::int64_t m_phaseMs = 0;
    std::int64_t m_nextSampleMs = 0;
    std::int64_t m_nextSealMs = 0;
    std::uint64_t m_lastSentSequence = 0;
    std::deque<std::uint64_t> m_inFlight; ///< sent on this connection, not acked, oldest first
    std::uint64_t m_samplesTaken = 0;
    Sample m_sample;
    std::vector<float> m_cores;
    DeviceTables m_devices; ///< reused between samples
    bool m_warnedInvalidDevices = false;
    bool m_started = false;
    bool m_stopped = false;
    bool m_sampling = true;
    bool m_sequencesConfirmed = false;
};

} // namespace autofact::agent
