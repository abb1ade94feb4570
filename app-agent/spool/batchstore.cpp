// SPDX-License-Identifier: MIT
#include "spool/batchstore.h"

#include "codec.h"

#include <algorithm>

namespace autofact::agent {

bool ackCovers(const Ack &ack, std::uint64_t sequence)
{
    if (sequence <= ack.cumulative)
        return true;
    return std::any_of(ack.ranges.begin(), ack.ranges.end(), [sequence](const SequenceRange &r) {
        return sequence >= r.first && sequence <= r.last;
    });
}

// The codec already versions, verifies and bounds SampleBatch, so a lone sample needs no
// second encoding of its own.
std::size_t batchLength(std::span<const std::uint64_t> bytes, std::size_t maxSamples)
{
    const std::size_t limit = std::min(bytes.size(), std::max<std::size_t>(1, maxSamples));
    std::uint64_t total = 0;
    for (std::size_t n = 0; n < limit; ++n) {
        total += bytes[n];
        if (total > maxBatchSampleBytes)
            return std::max<std::size_t>(1, n);
    }
    return limit;
}

QByteArray encodeOpenSample(const Sample &sample, std::span<const float> cores,
                            const DeviceTables &devices)
{
    SampleBatch one;
    one.devices = devices;
    one.sequence = 1;
    one.samples.push_back(sample);
    one.samples.back().coreCount = static_cast<std::uint16_t>(cores.size());
    one.coreBusy.assign(cores.begin(), cores.end());
    return codec::encode(Message(std::move(one)));
}

SpooledBatch encodeBatch(std::uint64_t sequence, std::uint64_t droppedTotal,
                         std::span<const HeldSample> samples)
{
    SampleBatch batch;
    batch.sequence = sequence;
    batch.droppedTotal = droppedTotal;
    batch.samples.reserve(samples.size());
    for (const HeldSample &h : samples) {
        batch.samples.push_back(h.sample);
        batch.coreBusy.insert(batch.coreBusy.end(), h.cores.begin(), h.cores.end());
        batch.devices.append(h.devices, std::uint32_t(batch.samples.size() - 1));
    }
    SpooledBatch out;
    out.sequence = sequence;
    out.firstTimestampMs = batch.samples.empty() ? 0 : batch.samples.front().timestampMs;
    out.sampleCount = static_cast<std::uint32_t>(batch.samples.size());
    out.payload = codec::encode(Message(std::move(batch)));
    return out;
}

} // namespace autofact::agent
