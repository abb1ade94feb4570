// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "metrics.h"

#include <QtGlobal>

#include <array>

namespace autofact::server {

/**
 * Minimum and maximum of each charted series (metrics::Series) over one UTC minute of one
 * client, kept up to date at ingest. Charts over long ranges read these instead of raw
 * samples: a week is 10,080 rows instead of 604,800, and min/max per minute keeps every peak
 * a pixel column can show.
 */
struct MinuteRollup {
    using Series = metrics::Series;
    qint64 minuteMs = 0; ///< start of the minute, UTC ms
    qint64 firstMs = 0;  ///< first sample in the minute
    qint64 lastMs = 0;   ///< last sample in the minute
    quint32 count = 0;
    double memTotal = 0; ///< largest memory total seen in the minute, bytes
    std::array<double, metrics::seriesCount> mins{};
    std::array<double, metrics::seriesCount> maxs{};
    std::array<double, metrics::seriesCount> sums{}; ///< the hour tier's averages; minutes keep none

    double min(Series s) const { return mins[std::size_t(s)]; }
    double max(Series s) const { return maxs[std::size_t(s)]; }

    double avg(Series s) const { return count > 0 ? sums[std::size_t(s)] / count : 0; }
    /**
     * Starts an empty rollup for the period holding @p timestampMs: a minute, or an hour for
     * the hour tier (minuteMs is then the start of the hour).
     */
    void reset(qint64 timestampMs, qint64 periodMs = metrics::minuteMs);
    /** Adds one sample of this minute. */
    void add(const Sample &sample);
};

} // namespace autofact::server
