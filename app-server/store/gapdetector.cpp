// SPDX-License-Identifier: MIT
#include "gapdetector.h"

#include <algorithm>
#include <limits>

namespace autofact::server {

namespace {

struct Span {
    qint64 minMs = 0;
    qint64 maxMs = 0;
};

std::optional<Span> timeSpan(const SampleBatch &batch)
{
    if (batch.samples.empty())
        return std::nullopt;
    Span s{batch.samples.front().timestampMs, batch.samples.front().timestampMs};
    for (const Sample &sample : batch.samples) {
        s.minMs = std::min<qint64>(s.minMs, sample.timestampMs);
        s.maxMs = std::max<qint64>(s.maxMs, sample.timestampMs);
    }
    return s;
}

} // namespace

quint64 GapDetector::estimateLost(qint64 startMs, qint64 endMs, qint64 intervalMs)
{
    if (intervalMs <= 0 || endMs <= startMs)
        return 0;
    // Timestamps come from agents: keep the arithmetic away from overflow (endMs > startMs
    // here, so only a negative startMs can push the difference past the maximum).
    constexpr qint64 maxMs = std::numeric_limits<qint64>::max();
    if (startMs < 0 && endMs > maxMs + startMs)
        return 0;
    const qint64 span = endMs - startMs;
    if (span > maxMs / 2)
        return 0;
    const qint64 periods = (span + intervalMs / 2) / intervalMs;
    return periods > 1 ? quint64(periods - 1) : 0;
}

std::vector<GapDetector::Found> GapDetector::detect(const ClientState &state,
                                                    const SampleBatch &batch, bool late,
                                                    qint64 nowMs)
{
    std::vector<Found> gaps;
    if (late || state.baselinePending)
        return gaps;
    const std::optional<Span> span = timeSpan(batch);
    const qint64 interval = std::max<qint64>(1, state.intervalMs);
    const qint64 gapEnd = span ? span->minMs : state.lastSampleMs.value_or(nowMs);
    const qint64 gapStart = state.lastSampleMs ? std::min(*state.lastSampleMs, gapEnd) : gapEnd;
    const bool sequenceGap = batch.sequence > state.lastSequence + 1;
    if (sequenceGap)
        gaps.push_back({gapStart, gapEnd, QStringLiteral("sequence gap"),
                        estimateLost(gapStart, gapEnd, interval), state.lastSequence + 1,
                        batch.sequence - 1});
    if (batch.droppedTotal > state.droppedTotal) {
        const quint64 dropped = batch.droppedTotal - state.droppedTotal;
        gaps.push_back({gapStart, gapEnd, QStringLiteral("agent dropped %1 samples").arg(dropped),
                        dropped, 0, 0});
    }
    // A sequence gap already explains the silence; do not report it twice.
    if (!sequenceGap && state.lastSampleMs && span
        && span->minMs - *state.lastSampleMs > 3 * interval)
        gaps.push_back({*state.lastSampleMs, span->minMs, QStringLiteral("agent offline"),
                        estimateLost(*state.lastSampleMs, span->minMs, interval), 0, 0});
    return gaps;
}

GapDetector::ClientState GapDetector::after(const ClientState &state, const SampleBatch &batch,
                                            bool late, qint64 nowMs)
{
    ClientState next = state;
    next.lastSequence = std::max<quint64>(state.lastSequence, batch.sequence);
    if (const std::optional<Span> span = timeSpan(batch)) {
        // A sample stamped far in the future (a clock that jumped, then came back) must not
        // become the client's newest sample: "agent offline" detection would stop for good.
        const qint64 trusted = std::min(span->maxMs, nowMs + clockSkewAllowanceMs);
        next.lastSampleMs = state.lastSampleMs ? std::max(*state.lastSampleMs, trusted) : trusted;
    }
    next.droppedTotal = late ? state.droppedTotal : batch.droppedTotal;
    next.baselinePending = false;
    return next;
}

} // namespace autofact::server
