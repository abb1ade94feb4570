// SPDX-License-Identifier: MIT
#pragma once

#include "clock.h"

namespace autofact::agent {

/** The machine's clocks: QDateTime for wall time, std::chrono::steady_clock for scheduling. */
class SystemClock : public Clock
{
public:
    std::int64_t wallMs() const override;
    std::int64_t monotonicMs() const override;
};

} // namespace autofact::agent
