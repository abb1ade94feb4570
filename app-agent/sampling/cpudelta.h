// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "sampling/procstat.h"

#include <array>
#include <cstdint>
#include <vector>

namespace autofact::agent {

/**
 * @file
 * CPU percentages from cumulative tick counters, shared by every platform sampler.
 *
 * Counters use the /proc/stat column layout (CpuCounters, CpuField) whatever the platform:
 * macOS fills User, Nice, System and Idle from Mach ticks, Windows fills User, System, Idle,
 * Irq and SoftIrq from 100 ns units. The unit does not matter as long as it is the same for
 * both readings, because only ratios are reported.
 *
 * Rules (the ones LinuxSampler documents):
 * - a column that decreased between two readings contributes 0 for that interval (the other
 *   columns still give the split), and the new value becomes the baseline;
 * - a zero-length interval (nothing advanced) gives 0 everywhere;
 * - every percentage is finite and within [0, 100].
 */

/** Ticks per column between two readings of the same cumulative counters. */
struct CpuDelta {
    std::array<std::uint64_t, CpuCounters::fieldCount> ticks{};
    std::uint64_t total = 0;    ///< User … Steal; the Guest columns are already inside User and Nice
    bool wentBackwards = false; ///< at least one column decreased and counted 0
};

/** Per-column ticks from @p previous to @p current; decreased columns count 0. */
CpuDelta cpuDelta(const CpuCounters &previous, const CpuCounters &current);

/**
 * The split of @p delta in percent of its total: user … steal add up to 100; guest (Guest +
 * GuestNice) is a share of the same total. All zero when the total is 0.
 */
CpuTimes cpuTimes(const CpuDelta &delta);

/** Busy percent of @p delta: 100 − idle − iowait, or 0 when the total is 0. */
float cpuBusy(const CpuDelta &delta);

/**
 * Keeps the previous reading of the aggregate and per-core counters and turns each new reading
 * into percentages for one Sample.
 *
 * The first update() has no previous reading and measures from zero (the average since boot).
 * A core is identified by CoreCounters::index; a core without a previous reading (it came
 * online, or this is the first update) is measured from zero as well, and a core missing from
 * the new reading is forgotten. Call update() only with a complete, successful reading: it
 * always replaces the baseline.
 */
class CpuDeltaTracker
{
public:
    /** What one update() measured. */
    struct Result {
        CpuTimes cpu;                    ///< split of the aggregate counters
        std::uint16_t coreCount = 0;     ///< values appended to coreBusy
        bool first = false;              ///< no previous reading: since-boot averages
        bool totalWentBackwards = false; ///< an aggregate column decreased
        int coresAppeared = 0;           ///< cores without a previous reading (0 on the first)
        int coresVanished = 0;           ///< cores of the previous reading missing now

        /** Writes the CPU split and core count into @p sample; FirstAfterStart on the first. */
        void stamp(Sample &sample) const
        {
            sample.cpu = cpu;
            sample.coreCount = coreCount;
            if (first)
                sample.flags |= FirstAfterStart;
        }
    };

    /**
     * Measures from the previous reading to @p total and @p cores, appends one busy percentage
     * per core (in the order of @p cores, at most protocol::maxCoresPerSample) to @p coreBusy
     * and makes this reading the new baseline, all cores included.
     */
    Result update(const CpuCounters &total, const std::vector<CoreCounters> &cores,
                  std::vector<float> &coreBusy);

    /** Whether update() has been called, i.e. the next one measures a real interval. */
    bool hasPrevious() const { return m_havePrevious; }

private:
    struct PreviousCore {
        CpuCounters counters;
        bool valid = false;
    };

    bool m_havePrevious = false;
    CpuCounters m_previousTotal;
    std::vector<PreviousCore> m_previousCores; ///< indexed by CoreCounters::index
};

} // namespace autofact::agent
