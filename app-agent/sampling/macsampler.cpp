// SPDX-License-Identifier: MIT
// platform: macos — compiled only on macOS (app-agent/sampling/CMakeLists.txt); not built by this CI.
#include <QtGlobal>

#if defined(Q_OS_MACOS)

#include "sampling/macsampler.h"

#include <QSysInfo>

#include <mach/mach.h>
#include <mach/mach_error.h>
#include <mach/mach_host.h>
#include <mach/processor_info.h>
#include <mach/vm_statistics.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#include <sys/types.h>
#include <stdlib.h> // getloadavg: BSD, not in std::

#include <algorithm>
#include <cmath>

namespace autofact::agent {

namespace {

template<typename T>
bool sysctlValue(const char *name, T &value)
{
    size_t size = sizeof(value);
    return sysctlbyname(name, &value, &size, nullptr, 0) == 0 && size == sizeof(value);
}

QString sysctlString(const char *name)
{
    size_t size = 0;
    if (sysctlbyname(name, nullptr, &size, nullptr, 0) != 0 || size == 0)
        return {};
    QByteArray buffer(qsizetype(size), '\0');
    if (sysctlbyname(name, buffer.data(), &size, nullptr, 0) != 0)
        return {};
    // The value is NUL-terminated; QByteArray::data() keeps its own terminator past size.
    return QString::fromUtf8(buffer.constData()).simplified();
}

QString machError(const char *call, kern_return_t kr)
{
    return QString::fromLatin1(call) + u" failed: " + QString::fromUtf8(mach_error_string(kr));
}

float finiteLoad(double value)
{
    return std::isfinite(value) && value >= 0 ? float(value) : 0.0f;
}

} // namespace

MacSampler::MacSampler()
    : m_host(mach_host_self())
{
}

MacSampler::~MacSampler()
{
    mach_port_deallocate(mach_task_self(), m_host);
}

bool MacSampler::readCpu(QString *error)
{
    natural_t cpuCount = 0;
    processor_info_array_t info = nullptr;
    mach_msg_type_number_t infoCount = 0;
    const kern_return_t kr = host_processor_info(m_host, PROCESSOR_CPU_LOAD_INFO, &cpuCount,
                                                 &info, &infoCount);
    if (kr != KERN_SUCCESS) {
        if (error)
            *error = machError("host_processor_info", kr);
        return false;
    }

    const auto *load = reinterpret_cast<const processor_cpu_load_info_data_t *>(info);
    m_total = {};
    m_total.presentFields = 4;
    m_cores.resize(cpuCount);
    for (natural_t i = 0; i < cpuCount; ++i) {
        CpuCounters c;
        c.presentFields = 4;
        c[CpuField::User] = load[i].cpu_ticks[CPU_STATE_USER];
        c[CpuField::Nice] = load[i].cpu_ticks[CPU_STATE_NICE];
        c[CpuField::System] = load[i].cpu_ticks[CPU_STATE_SYSTEM];
        c[CpuField::Idle] = load[i].cpu_ticks[CPU_STATE_IDLE];
        for (std::size_t f = 0; f < c.ticks.size(); ++f)
            m_total.ticks[f] += c.ticks[f];
        m_cores[i] = {int(i), c};
    }

    // The array is allocated in our address space by the kernel (MIG out-of-line data).
    vm_deallocate(mach_task_self(), reinterpret_cast<vm_address_t>(info),
                  vm_size_t(infoCount) * sizeof(integer_t));
    return true;
}

bool MacSampler::readMemory(Memory &memory, QString *error) const
{
    std::uint64_t total = 0;
    if (!sysctlValue("hw.memsize", total)) {
        if (error)
            *error = QStringLiteral("sysctl hw.memsize failed");
        return false;
    }

    vm_statistics64_data_t vm{};
    mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
    const kern_return_t kr =
        host_statistics64(m_host, HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&vm), &count);
    if (kr != KERN_SUCCESS) {
        if (error)
            *error = machError("host_statistics64", kr);
        return false;
    }

    const std::uint64_t page = vm_page_size;
    // free_count includes the speculative (read-ahead) pages; vm_stat reports them apart.
    const std::uint64_t freePages =
        vm.free_count > vm.speculative_count ? vm.free_count - vm.speculative_count : 0;
    const std::uint64_t availablePages =
        std::uint64_t(vm.free_count) + vm.inactive_count + vm.purgeable_count;

    memory = {};
    memory.total = total;
    memory.free = std::min(freePages * page, total);
    // Purgeable pages also sit on the active/inactive queues, so the sum can overshoot.
    memory.available = std::min(availablePages * page, total);
    memory.buffers = 0;
    memory.cached = std::min(std::uint64_t(vm.external_page_count) * page, total);
    memory.used = total - memory.available;

    xsw_usage swap{};
    if (sysctlValue("vm.swapusage", swap)) {
        memory.swapTotal = swap.xsu_total;
        memory.swapFree = std::min(swap.xsu_avail, swap.xsu_total);
    }
    return true;
}

bool MacSampler::sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy,
                        QString *error)
{
    // Read everything before touching the baseline, so a failed read loses no interval.
    Memory memory;
    if (!readMemory(memory, error) || !readCpu(error))
        return false;

    Sample s;
    s.timestampMs = nowMs;
    m_cpu.update(m_total, m_cores, coreBusy).stamp(s);
    s.memory = memory;

    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) == 3) {
        s.load1 = finiteLoad(load[0]);
        s.load5 = finiteLoad(load[1]);
        s.load15 = finiteLoad(load[2]);
    }
    out = s;
    return true;
}

Hello MacSampler::systemFacts() const
{
    Hello h = qtSystemFacts();

    h.cpuModel = sysctlString("machdep.cpu.brand_string");
    if (h.cpuModel.isEmpty())
        h.cpuModel = sysctlString("hw.model");
    if (h.cpuModel.isEmpty())
        h.cpuModel = h.arch;

    std::int32_t cpus = 0;
    if (sysctlValue("hw.logicalcpu", cpus) && cpus > 0)
        h.cpuCount = std::uint16_t(std::min<std::int32_t>(cpus, UINT16_MAX));

    std::uint64_t memTotal = 0;
    if (sysctlValue("hw.memsize", memTotal))
        h.memTotal = memTotal;

    struct timeval boot{};
    if (sysctlValue("kern.boottime", boot) && boot.tv_sec > 0)
        h.bootTimeMs = std::int64_t(boot.tv_sec) * 1000 + std::int64_t(boot.tv_usec) / 1000;

    return h;
}

} // namespace autofact::agent

#endif // Q_OS_MACOS
