// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>

namespace autofact::agent {

/**
 * The time an agent engine reads: wall-clock milliseconds stamp samples and age the spool;
 * monotonic milliseconds schedule sampling and sealing, so a wall-clock jump moves no timer.
 * SystemClock reads the machine; SteppedClock is set by tests.
 */
class Clock
{
public:
    virtual ~Clock() = default;
    /** Milliseconds since the Unix epoch. */
    virtual std::int64_t wallMs() const = 0;
    /** Milliseconds on a clock that never goes back; only differences mean anything. */
    virtual std::int64_t monotonicMs() const = 0;
};

} // namespace autofact::agent
