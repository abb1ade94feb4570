// SPDX-License-Identifier: MIT
#include "sampler.h"

#include <QtGlobal>

#if defined(Q_OS_LINUX)
#include "linuxsampler.h"
#elif defined(Q_OS_MACOS)
#include "macsampler.h"
#elif defined(Q_OS_WIN)
#include "winsampler.h"
#endif

namespace autofact::agent {

std::unique_ptr<Sampler> createPlatformSampler()
{
#if defined(Q_OS_LINUX)
    return std::make_unique<LinuxSampler>();
#elif defined(Q_OS_MACOS)
    return std::make_unique<MacSampler>();
#elif defined(Q_OS_WIN)
    return std::make_unique<WinSampler>();
#else
    return nullptr;
#endif
}

} // namespace autofact::agent
