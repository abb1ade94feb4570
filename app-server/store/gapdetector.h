// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <QString>

#include <optional>
#include <vector>

namespace autofact::server {

/**
 * The gap rules of ingest, as a pure function of what the store knows about a client and the
 * batch that arrives (docs/STORAGE.md): no database, so every rule is tested on its own.
 *
 * - a sequence number skipped: "sequence gap" with the missing batch numbers;
 * - the agent's drop counter went up: "agent dropped N samples" (exact count);
 * - samples resume more than 3 sampling intervals after the newest stored one, with no
 *   sequence gap to explain it: "agent offline", or "agent stalled (LENGTH)" when the batch
 *   before came over the same connection (the agent lived through the silence);
 * - inside a batch, two samples further apart than 3 intervals (and than an interval + 2 s):
 *   "agent stalled (LENGTH)" (the agent or its host was frozen: SIGSTOP, a paused VM, a
 *   suspend), or further apart than an interval and a margin (half an interval, at least
 *   500 ms): "sampling late (LENGTH)". A run
 *   of such spacings is one gap. The sample after such a gap is averaged over its span (its CPU
 *   figures cover the whole time since the sample before).
 * A late batch (older than the newest, never stored) records only gaps inside itself: the gap
 * recorded when it was missing stays, documenting what was missing at the time. The first batch after a
 * re-enrolment is the baseline of sequence and drop counter, not evidence of a gap.
 */
class GapDetector
{
public:
    /** What the store knows about a client before a batch. */
    struct ClientState {
        quint64 lastSequence = 0;
        std::optional<qint64> lastSampleMs; ///< newest stored sample (trusted), if any
        quint64 droppedTotal = 0;
        qint64 intervalMs = 1000; ///< the client's sampling interval (at least 1)
        bool baselinePending = false;
    };
    /** A gap to record. */
    struct Found {
        qint64 startMs = 0;
        qint64 endMs = 0;
        QString reason;
        quint64 samplesLost = 0;
        quint64 sequenceFirst = 0; ///< 0 unless a sequence gap
        quint64 sequenceLast = 0;
        bool stalled = false; ///< inside a batch: "agent stalled" rather than "sampling late"
        bool operator==(const Found &) const = default;
    };

    /** How far apart two consecutive samples are, against the sampling interval. */
    enum class Spacing { OnTime, Late, Stalled };
    /** Smallest lateness (beyond one interval) that counts as "sampling late". */
    static constexpr qint64 lateMarginMs = 500;
    /** Smallest lateness (beyond one interval) that counts as "agent stalled" (and 3 intervals). */
    static constexpr qint64 stallMinimumMs = 2000;
    static Spacing classify(qint64 spacingMs, qint64 intervalMs);
    /**
     * Whether a gap with @p reason ends on a sample averaged over the whole gap: the agent
     * lived through it ("agent stalled", "sampling late"), so its next CPU reading spans it.
     */
    static bool averagesTheSampleAfter(const QString &reason);
    /** The gaps between @p batch's own samples ("agent stalled", "sampling late"). */
    static std::vector<Found> detectWithin(const SampleBatch &batch, qint64 intervalMs);

    /** Largest step a sample may be stamped ahead of the server's clock and still count. */
    static constexpr qint64 clockSkewAllowanceMs = 5ll * 60 * 1000;

    /**
     * Gaps that @p batch reveals. @p late: the batch's sequence is at or below lastSequence
     * (and it was not stored before).
     */
    static std::vector<Found> detect(const ClientState &state, const SampleBatch &batch, bool late,
                                     qint64 nowMs, bool sameSession = false);
    /** The client's state once @p batch is stored. */
    static ClientState after(const ClientState &state, const SampleBatch &batch, bool late,
                             qint64 nowMs);
    /** Samples missing between two timestamps at @p intervalMs (estimate; 0 if none). */
    static quint64 estimateLost(qint64 startMs, qint64 endMs, qint64 intervalMs);
};

} // namespace autofact::server
