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

/** "12 s", "3 min 5 s", "2 h 4 min": the length a gap's reason names. */
QString lengthText(qint64 ms)
{
    const qint64 s = (ms + 500) / 1000;
    if (s < 60)
        return QStringLiteral("%1 s").arg(s);
    if (s < 3600)
        return s % 60 ? QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60)
                      : QStringLiteral("%1 min").arg(s / 60);
    return (s % 3600) / 60 ? QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60)
                           : QStringLiteral("%1 h").arg(s / 3600);
}

} // namespace

bool GapDetector::averagesTheSampleAfter(const QString &reason)
{
    return reason.startsWith(QStringLiteral("agent stalled")) || reason.startsWith(QStringLiteral("sampling late"));
}

GapDetector::Spacing GapDetector::classify(qint64 spacingMs, qint64 intervalMs)
{
    const qint64 interval = std::max<qint64>(1, intervalMs);
    // At fast sampling a scheduler hiccup of a few hundred ms is not a frozen host.
    if (spacingMs > std::max(3 * interval, interval + stallMinimumMs))
        return Spacing::Stalled;
    if (spacingMs > interval + std::max<qint64>(interval / 2, lateMarginMs))
        return Spacing::Late;
    return Spacing::OnTime;
}

std::vector<GapDetector::Found> GapDetector::detectWithin(const SampleBatch &batch, qint64 intervalMs)
{
    std::vector<Found> gaps;
    if (batch.samples.size() < 2)
        return gaps;
    std::vector<qint64> times;
    times.reserve(batch.samples.size());
    for (const Sample &sample : batch.samples)
        times.push_back(sample.timestampMs);
    if (!std::is_sorted(times.begin(), times.end()))
        std::sort(times.begin(), times.end());
    const qint64 interval = std::max<qint64>(1, intervalMs);
    constexpr qint64 maxMs = std::numeric_limits<qint64>::max();
    for (std::size_t i = 1; i < times.size(); ++i) {
        const qint64 a = times[i - 1];
        const qint64 b = times[i];
        if (a < 0 && b > maxMs + a)
            continue; // agent timestamps: no overflow, no gap from nonsense
        const Spacing kind = classify(b - a, interval);
        if (kind == Spacing::OnTime)
            continue;
        // A run of late samples (a slow or starved agent) is one gap, not one per sample.
        if (!gaps.empty() && gaps.back().endMs == a && (kind == Spacing::Stalled) == gaps.back().stalled) {
            gaps.back().endMs = b;
            gaps.back().samplesLost += estimateLost(a, b, interval);
            continue;
        }
        Found gap{a, b, QString(), estimateLost(a, b, interval), 0, 0};
        gap.stalled = kind == Spacing::Stalled;
        gaps.push_back(gap);
    }
    for (Found &gap : gaps)
        gap.reason = (gap.stalled ? QStringLiteral("agent stalled (%1)") : QStringLiteral("sampling late (%1)"))
                         .arg(lengthText(gap.endMs - gap.startMs));
    return gaps;
}

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
                                                    qint64 nowMs, bool sameSession)
{
    // Between the batch's own samples: true of every batch, late or first, whatever the
    // sequence says (a host frozen for a minute sends its minute-old samples and new ones
    // in one batch).
    std::vector<Found> within = detectWithin(batch, state.intervalMs);
    std::vector<Found> gaps;
    if (late || state.baselinePending)
        return within;
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
        && span->minMs - *state.lastSampleMs > 3 * interval) {
        Found gap{*state.lastSampleMs, span->minMs, QStringLiteral("agent offline"),
                  estimateLost(*state.lastSampleMs, span->minMs, interval), 0, 0};
        // Same connection, no batch missing, yet no samples: the agent was frozen, not gone.
        if (sameSession) {
            gap.stalled = true;
            gap.reason = QStringLiteral("agent stalled (%1)").arg(lengthText(gap.endMs - gap.startMs));
        }
        gaps.push_back(gap);
    }
    gaps.insert(gaps.end(), within.begin(), within.end());
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
