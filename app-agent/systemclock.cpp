// SPDX-License-Identifier: MIT
#include "systemclock.h"

#include <QDateTime>

#include <chrono>

namespace autofact::agent {

std::int64_t SystemClock::wallMs() const
{
    return QDateTime::currentMSecsSinceEpoch();
}

std::int64_t SystemClock::monotonicMs() const
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

} // namespace autofact::agent
