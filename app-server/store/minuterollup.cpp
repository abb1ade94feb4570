// SPDX-License-Identifier: MIT
#include "minuterollup.h"

#include <algorithm>
#include <limits>

namespace autofact::server {

void MinuteRollup::reset(qint64 timestampMs, qint64 periodMs)
{
    minuteMs = timestampMs - ((timestampMs % periodMs) + periodMs) % periodMs;
    sums.fill(0);
    firstMs = lastMs = timestampMs;
    count = 0;
    memTotal = 0;
    mins.fill(std::numeric_limits<double>::max());
    maxs.fill(std::numeric_limits<double>::lowest());
}

void MinuteRollup::add(const Sample &sample)
{
    ++count;
    firstMs = std::min(firstMs, qint64(sample.timestampMs));
    lastMs = std::max(lastMs, qint64(sample.timestampMs));
    memTotal = std::max(memTotal, double(sample.memory.total));
    for (int i = 0; i < metrics::seriesCount; ++i) {
        const double v = metrics::seriesValue(sample, Series(i));
        mins[std::size_t(i)] = std::min(mins[std::size_t(i)], v);
        maxs[std::size_t(i)] = std::max(maxs[std::size_t(i)], v);
        sums[std::size_t(i)] += v;
    }
}

} // namespace autofact::server
