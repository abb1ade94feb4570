// SPDX-License-Identifier: MIT
#include "sampling/counterdelta.h"

namespace autofact::agent {

CounterStep counterStep(std::uint64_t previous, std::uint64_t current)
{
    if (current >= previous)
        return {current - previous, CounterChange::Advanced};
    constexpr std::uint64_t range32 = std::uint64_t(1) << 32;
    if (previous < range32) {
        const std::uint64_t wrapped = range32 - previous + current;
        if (wrapped < range32 / 2)
            return {wrapped, CounterChange::Wrapped};
    }
    return {0, CounterChange::Reset};
}

} // namespace autofact::agent
