// SPDX-License-Identifier: MIT
#pragma once

#include "spool/batchstore.h"

#include <cstdint>
#include <deque>
#include <vector>

namespace autofact::agent {

/**
 * A BatchStore that keeps everything in memory and nothing on disk: for the load generator,
 * whose thousands of simulated agents need the agent's rules but not its durability, and for
 * tests. Same contract as the SQLite Spool — sequences only move forward, batches leave when
 * acked or when the limits drop them (oldest sealed batches first, then the oldest open
 * samples), and every dropped sample is counted in droppedTotal().
 */
class MemoryBatchStore : public BatchStore
{
public:
    MemoryBatchStore() = default;

    // Reading.
    std::vector<SpooledBatch> pending(std::uint64_t afterSequence, std::size_t maxBatches) const override;
    std::size_t openSampleCount() const override { return m_open.size(); }
    std::uint32_t backlogBatches() const override { return std::uint32_t(m_batches.size()); }
    std::uint64_t backlogBytes() const override { return m_batchBytes; }
    /** Samples in sealed, unacked batches. */
    std::uint64_t backlogSamples() const;
    std::uint64_t nextSequence() const override { return m_nextSequence; }
    std::uint64_t droppedTotal() const override { return m_droppedTotal; }

    // Writing.
    void append(const Sample &sample, std::span<const float> coreBusy,
                const DeviceTables &devices = {}) override;
    int seal(std::int64_t nowMs, std::size_t maxSamplesPerBatch) override;
    std::vector<AckedBatch> acknowledge(const Ack &ack) override;
    void ensureSequenceAbove(std::uint64_t sequence) override;
    void setLimits(std::uint64_t maxBytes, std::int64_t maxAgeMs, std::int64_t nowMs) override;

private:
    void enforceLimits(std::int64_t nowMs);

    std::deque<SpooledBatch> m_batches; ///< by sequence, oldest first
    std::uint64_t m_batchBytes = 0;
    std::vector<HeldSample> m_open;
    std::uint64_t m_openBytes = 0;
    std::uint64_t m_nextSequence = 1;
    std::uint64_t m_droppedTotal = 0;
    // Until the server's limits arrive, the same defaults as the agent's AgentConfig.
    std::uint64_t m_maxBytes = AgentConfig{}.spoolMaxBytes;
    std::int64_t m_maxAgeMs = std::int64_t(AgentConfig{}.spoolMaxAgeMs);
};

} // namespace autofact::agent
