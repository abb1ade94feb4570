// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace autofact::agent {

/**
 * @file
 * Differences of cumulative kernel counters (/proc/diskstats, /proc/net/dev) between two
 * readings of the same device, shared by DiskStats and NetDev.
 *
 * A counter that went down between two readings either wrapped or was reset:
 * - **Wrap**: the previous value fits in 32 bits and the wrapped difference
 *   (2^32 − previous + current) is below 2^31. 32-bit counters exist on every kernel:
 *   diskstats' io_ticks is printed through jiffies_to_msecs() as an unsigned int (it wraps
 *   after 49.7 days of busy time), and on 32-bit kernels every diskstats field and many
 *   drivers' network counters are an unsigned long. The 2^31 bound tells a wrap from a reset
 *   of a small counter: a counter that really wrapped moved less than half its range in one
 *   interval.
 * - **Reset**: anything else that went down: a device removed and added again under the same
 *   name or a driver reloaded (the counters restarted from 0), or a 64-bit counter stepping
 *   back (per-CPU sums read mid-update, a hypervisor's virtual NIC). The two cannot be told
 *   apart, and taking the current value as the delta — right for a restart — would report up
 *   to 2^64 for a step back. So a reset gives no figures for that interval: the device's
 *   reading becomes its new baseline, as on its first reading.
 */

/** What happened to a counter, or to the counters of one device, between two readings. */
enum class CounterChange {
    Advanced, ///< every counter stayed or went up
    Wrapped,  ///< at least one 32-bit counter wrapped, none reset
    Reset,    ///< at least one counter went down in a way a wrap does not explain
};

/** The difference from @p previous to @p current of one counter under the rules above. */
struct CounterStep {
    std::uint64_t delta = 0; ///< 0 for a reset
    CounterChange change = CounterChange::Advanced;
};

/** One counter's step from @p previous to @p current (see the file's rules). */
CounterStep counterStep(std::uint64_t previous, std::uint64_t current);

/**
 * The steps of one device's @p N counters into @p delta. When any of them was reset the result
 * is Reset and @p delta is meaningless: the device has no figures for this interval.
 */
template<std::size_t N>
CounterChange counterDeltas(const std::array<std::uint64_t, N> &previous,
                            const std::array<std::uint64_t, N> &current,
                            std::array<std::uint64_t, N> &delta)
{
    CounterChange change = CounterChange::Advanced;
    for (std::size_t i = 0; i < N; ++i) {
        const CounterStep step = counterStep(previous[i], current[i]);
        delta[i] = step.delta;
        if (step.change == CounterChange::Reset)
            change = CounterChange::Reset;
        else if (step.change == CounterChange::Wrapped && change == CounterChange::Advanced)
            change = CounterChange::Wrapped;
    }
    return change;
}

} // namespace autofact::agent
