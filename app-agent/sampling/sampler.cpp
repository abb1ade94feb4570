// SPDX-License-Identifier: MIT
#include "sampling/sampler.h"

#include <QSysInfo>

#include <QtGlobal>

#if defined(Q_OS_LINUX)
#include "sampling/linuxsampler.h"
#elif defined(Q_OS_MACOS)
#include "sampling/macsampler.h"
#elif defined(Q_OS_WIN)
#include "sampling/winsampler.h"
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

Hello Sampler::qtSystemFacts()
{
    Hello h;
    h.hostname = QSysInfo::machineHostName();
    // prettyProductName is what people recognise ("Debian GNU/Linux 12 (bookworm)");
    // productVersion ("12") is what code compares.
    h.osName = QSysInfo::prettyProductName();
    h.osVersion = QSysInfo::productVersion();
    h.kernel = QSysInfo::kernelVersion();
    h.arch = QSysInfo::currentCpuArchitecture();
    h.agentVersion = QStringLiteral(AUTOFACT_VERSION);
    return h;
}

} // namespace autofact::agent
