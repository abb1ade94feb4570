// SPDX-License-Identifier: MIT
#include "sampler.h"

#include <QtGlobal>

#ifdef Q_OS_LINUX
#include "linuxsampler.h"
#endif

namespace autofact::agent {

std::unique_ptr<Sampler> createPlatformSampler()
{
#ifdef Q_OS_LINUX
    return std::make_unique<LinuxSampler>();
#else
    // macOS (host_statistics64, sysctl) and Windows (GetSystemTimes, PDH) samplers go here.
    return nullptr;
#endif
}

} // namespace autofact::agent
