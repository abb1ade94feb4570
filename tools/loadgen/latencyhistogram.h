// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>

namespace autofact::loadgen {

/**
 * Fixed-size log-linear histogram of durations in microseconds (16 sub-buckets per power of
 * two, so a percentile is exact to within about 6 %). Adding costs a few instructions and no
 * allocation, so every acknowledged batch of 10,000 agents can be recorded; histograms of
 * several threads are merged for a report.
 */
class LatencyHistogram
{
public:
    void add(std::int64_t micros);
    void merge(const LatencyHistogram &other);
    /**
     * What was added after @p earlier (a snapshot of this same histogram): the window between
     * two reports. Its maximum is the upper edge of its highest bucket.
     */
    LatencyHistogram since(const LatencyHistogram &earlier) const;
    void clear() { *this = LatencyHistogram(); }

    std::uint64_t count() const { return m_count; }
    std::int64_t maxMicros() const { return m_max; }
    /** Value at quantile @p q (0..1), as the upper edge of its bucket; 0 when empty. */
    std::int64_t quantileMicros(double q) const;

private:
    static constexpr int subBits = 4;
    static constexpr int subBuckets = 1 << subBits;
    static constexpr int bucketCount = (40 - subBits + 1) * subBuckets;
    static int indexOf(std::uint64_t value);
    static std::uint64_t upperEdge(int index);

    std::array<std::uint64_t, bucketCount> m_buckets{};
    std::uint64_t m_count = 0;
    std::int64_t m_max = 0;
};

} // namespace autofact::loadgen
