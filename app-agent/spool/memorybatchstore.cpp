// SPDX-License-Identifier: MIT
#include "spool/memorybatchstore.h"

#include <algorithm>

namespace autofact::agent {

void MemoryBatchStore::setLimits(std::uint64_t maxBytes, std::int64_t maxAgeMs, std::int64_t nowMs)
{
    m_maxBytes = maxBytes;
    m_maxAgeMs = maxAgeMs;
    enforceLimits(nowMs);
}

void MemoryBatchStore::append(const Sample &sample, std::span<const float> coreBusy,
                              const DeviceTables &devices)
{
    // Sized as the Spool sizes it, so both stores drop at the same point under the same limits.
    const auto bytes = std::uint64_t(encodeOpenSample(sample, coreBusy, devices).size());
    HeldSample held{sample, std::vector<float>(coreBusy.begin(), coreBusy.end()), bytes, devices};
    held.sample.coreCount = static_cast<std::uint16_t>(coreBusy.size());
    m_open.push_back(std::move(held));
    m_openBytes += bytes;
    if (m_batchBytes + m_openBytes > m_maxBytes)
        enforceLimits(sample.timestampMs);
}

int MemoryBatchStore::seal(std::int64_t nowMs, std::size_t maxSamplesPerBatch)
{
    std::vector<std::uint64_t> sizes;
    sizes.reserve(m_open.size());
    for (const HeldSample &h : m_open)
        sizes.push_back(h.bytes);
    int sealed = 0;
    for (std::size_t i = 0, n = 0; i < m_open.size(); i += n) {
        n = batchLength(std::span<const std::uint64_t>(sizes).subspan(i), maxSamplesPerBatch);
        m_batches.push_back(encodeBatch(m_nextSequence++, m_droppedTotal,
                                        std::span<const HeldSample>(m_open).subspan(i, n)));
        m_batchBytes += std::uint64_t(m_batches.back().payload.size());
        ++sealed;
    }
    m_open.clear();
    m_openBytes = 0;
    enforceLimits(nowMs);
    return sealed;
}

std::vector<SpooledBatch> MemoryBatchStore::pending(std::uint64_t afterSequence,
                                                    std::size_t maxBatches) const
{
    auto it = std::upper_bound(m_batches.begin(), m_batches.end(), afterSequence,
                               [](std::uint64_t s, const SpooledBatch &b) { return s < b.sequence; });
    std::vector<SpooledBatch> out;
    for (; it != m_batches.end() && out.size() < maxBatches; ++it)
        out.push_back(*it);
    return out;
}

std::vector<AckedBatch> MemoryBatchStore::acknowledge(const Ack &ack)
{
    std::vector<AckedBatch> acked;
    std::erase_if(m_batches, [&](const SpooledBatch &b) {
        if (!ackCovers(ack, b.sequence))
            return false;
        acked.push_back({b.sequence, b.sampleCount});
        m_batchBytes -= std::uint64_t(b.payload.size());
        return true;
    });
    return acked;
}

void MemoryBatchStore::ensureSequenceAbove(std::uint64_t sequence)
{
    m_nextSequence = std::max(m_nextSequence, sequence + 1);
}

std::uint64_t MemoryBatchStore::backlogSamples() const
{
    std::uint64_t samples = 0;
    for (const SpooledBatch &b : m_batches)
        samples += b.sampleCount;
    return samples;
}

void MemoryBatchStore::enforceLimits(std::int64_t nowMs)
{
    const auto overAge = [&](std::int64_t firstTs) {
        return firstTs > 0 && nowMs - firstTs > m_maxAgeMs;
    };
    while (!m_batches.empty()
           && (m_batchBytes + m_openBytes > m_maxBytes || overAge(m_batches.front().firstTimestampMs))) {
        m_droppedTotal += m_batches.front().sampleCount;
        m_batchBytes -= std::uint64_t(m_batches.front().payload.size());
        m_batches.pop_front();
    }
    std::size_t drops = 0;
    while (drops < m_open.size() && m_openBytes > m_maxBytes) {
        m_openBytes -= m_open[drops].bytes;
        ++drops;
    }
    m_open.erase(m_open.begin(), m_open.begin() + std::ptrdiff_t(drops));
    m_droppedTotal += drops;
}

} // namespace autofact::agent
