// SPDX-License-Identifier: MIT
#pragma once

#include "clock.h"

namespace autofact::agent {

/**
 * A clock that moves only when told, for tests of time-driven rules: step it past a due time
 * instead of waiting for it. Wall and monotonic time advance together.
 */
class SteppedClock : public Clock
{
public:
    explicit SteppedClock(std::int64_t wallMs = 1'700'000'000'000, std::int64_t monotonicMs = 0)
        : m_wallMs(wallMs)
        , m_monotonicMs(monotonicMs)
    {
    }

    std::int64_t wallMs() const override { return m_wallMs; }
    std::int64_t monotonicMs() const override { return m_monotonicMs; }

    /** Moves both clocks forward by @p ms. */
    void advance(std::int64_t ms)
    {
        m_wallMs += ms;
        m_monotonicMs += ms;
    }

private:
    std::int64_t m_wallMs;
    std::int64_t m_monotonicMs;
};

} // namespace autofact::agent
