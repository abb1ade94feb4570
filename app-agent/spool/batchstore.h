// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <QByteArray>

#include <cstdint>
#include <span>
#include <vector>

namespace autofact::agent {

/** One sealed batch, encoded exactly as it goes on the wire (so a resend is byte-identical). */
struct SpooledBatch {
    std::uint64_t sequence = 0;
    std::int64_t firstTimestampMs = 0;
    std::uint32_t sampleCount = 0;
    QByteArray payload;
};

/** A batch an ack covered, as BatchStore::acknowledge() reports it. */
struct AckedBatch {
    std::uint64_t sequence = 0;
    std::uint32_t sampleCount = 0;
    bool operator==(const AckedBatch &) const = default;
};

/** One sample not yet sealed into a batch, with its per-core values and device readings. */
struct HeldSample {
    Sample sample;
    std::vector<float> cores;
    std::uint64_t bytes = 0; ///< encoded size (encodedSampleBytes()), what limits count
    DeviceTables devices;    ///< this sample's device readings (sample 0)
};

/**
 * Encoded open samples a batch holds at most (besides the count limit): device tables make
 * samples of very different sizes. Each open sample carries its own envelope and names, so a
 * batch is smaller than the sum; three quarters of the 1 MiB message cap leaves room.
 */
inline constexpr std::uint64_t maxBatchSampleBytes = 768 * 1024;

/**
 * How many of @p bytes' leading samples go in one batch: at most @p maxSamples, and no more
 * than maxBatchSampleBytes of them (but always at least one).
 */
std::size_t batchLength(std::span<const std::uint64_t> bytes, std::size_t maxSamples);

/**
 * True when @p ack covers @p sequence: at or below its cumulative mark, or inside one of its
 * ranges. The one place that says what an ack means; stores and the engine both use it.
 */
bool ackCovers(const Ack &ack, std::uint64_t sequence);

/** A sample on its own, encoded as a one-sample SampleBatch (how the spool keeps it on disk). */
QByteArray encodeOpenSample(const Sample &sample, std::span<const float> cores,
                            const DeviceTables &devices = {});

/** Numbers @p samples as batch @p sequence and encodes it for the wire. */
SpooledBatch encodeBatch(std::uint64_t sequence, std::uint64_t droppedTotal,
                         std::span<const HeldSample> samples);

/**
 * Where an agent keeps samples until the server acknowledges them: open samples are appended,
 * sealed into numbered batches, handed out for sending, and dropped once acked or once the
 * server's limits (size, age) say so — oldest first, counted in droppedTotal().
 *
 * Implemented by the durable SQLite Spool (the agent) and by MemoryBatchStore (the load
 * generator, tests). AgentEngine decides when each call is made; a store only keeps data.
 * Sequence numbers are handed out by seal(), strictly increasing, never reused.
 */
class BatchStore
{
public:
    virtual ~BatchStore() = default;
    BatchStore(const BatchStore &) = delete;
    BatchStore &operator=(const BatchStore &) = delete;

    /** Size and age limits; enforced at once and after every seal. */
    virtual void setLimits(std::uint64_t maxBytes, std::int64_t maxAgeMs, std::int64_t nowMs) = 0;
    /** Adds one sample (with its per-core values and device readings) to the open batch. */
    virtual void append(const Sample &sample, std::span<const float> coreBusy,
                        const DeviceTables &devices = {}) = 0;
    /**
     * Seals open samples into batches of at most @p maxSamplesPerBatch (and at most
     * maxBatchSampleBytes of encoded samples); returns how many.
     */
    virtual int seal(std::int64_t nowMs, std::size_t maxSamplesPerBatch) = 0;
    /** Unacked batches with sequence > @p afterSequence, oldest first, at most @p maxBatches. */
    virtual std::vector<SpooledBatch> pending(std::uint64_t afterSequence,
                                              std::size_t maxBatches) const = 0;
    /**
     * Drops every batch the ack covers (ackCovers()) and returns them, oldest first;
     * duplicates and stale acks are harmless and return nothing.
     */
    virtual std::vector<AckedBatch> acknowledge(const Ack &ack) = 0;
    /** Never hand out a sequence at or below @p sequence (the server's high-water mark). */
    virtual void ensureSequenceAbove(std::uint64_t sequence) = 0;

    virtual std::uint64_t droppedTotal() const = 0;
    /** The sequence the next sealed batch gets. */
    virtual std::uint64_t nextSequence() const = 0;
    virtual std::size_t openSampleCount() const = 0;
    virtual std::uint32_t backlogBatches() const = 0;
    virtual std::uint64_t backlogBytes() const = 0;

protected:
    BatchStore() = default;
};

} // namespace autofact::agent
