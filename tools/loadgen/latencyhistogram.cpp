// SPDX-License-Identifier: MIT
#include "latencyhistogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace autofact::loadgen {

int LatencyHistogram::indexOf(std::uint64_t value)
{
    // Values below 2^subBits get one bucket each; above, each power of two is split in
    // subBuckets linear steps.
    if (value < std::uint64_t(subBuckets))
        return int(value);
    const int magnitude = std::bit_width(value) - 1; // >= subBits
    const int shift = magnitude - subBits;
    const int sub = int((value >> shift) & (subBuckets - 1));
    return std::min(bucketCount - 1, (shift + 1) * subBuckets + sub);
}

std::uint64_t LatencyHistogram::upperEdge(int index)
{
    if (index < subBuckets)
        return std::uint64_t(index);
    const int shift = index / subBuckets - 1;
    const std::uint64_t sub = std::uint64_t(index % subBuckets);
    return (((std::uint64_t(subBuckets) | sub) + 1) << shift) - 1;
}

void LatencyHistogram::add(std::int64_t micros)
{
    const std::uint64_t v = micros < 0 ? 0 : std::uint64_t(micros);
    ++m_buckets[std::size_t(indexOf(v))];
    ++m_count;
    m_max = std::max<std::int64_t>(m_max, std::int64_t(v));
}

void LatencyHistogram::merge(const LatencyHistogram &other)
{
    for (std::size_t i = 0; i < m_buckets.size(); ++i)
        m_buckets[i] += other.m_buckets[i];
    m_count += other.m_count;
    m_max = std::max(m_max, other.m_max);
}

LatencyHistogram LatencyHistogram::since(const LatencyHistogram &earlier) const
{
    LatencyHistogram window;
    for (std::size_t i = 0; i < m_buckets.size(); ++i) {
        window.m_buckets[i] = m_buckets[i] - std::min(m_buckets[i], earlier.m_buckets[i]);
        window.m_count += window.m_buckets[i];
        if (window.m_buckets[i] > 0)
            window.m_max = std::int64_t(upperEdge(int(i)));
    }
    window.m_max = std::min(window.m_max, m_max);
    return window;
}

std::int64_t LatencyHistogram::quantileMicros(double q) const
{
    if (m_count == 0)
        return 0;
    const auto rank = std::uint64_t(std::ceil(std::clamp(q, 0.0, 1.0) * double(m_count)));
    std::uint64_t seen = 0;
    for (int i = 0; i < bucketCount; ++i) {
        seen += m_buckets[std::size_t(i)];
        if (seen >= std::max<std::uint64_t>(rank, 1))
            return std::min<std::int64_t>(std::int64_t(upperEdge(i)), m_max);
    }
    return m_max;
}

} // namespace autofact::loadgen
