// SPDX-License-Identifier: MIT
// platform: windows — compiled only on Windows (app-agent/sampling/CMakeLists.txt); not built by this CI.
#include <QtGlobal>

#if defined(Q_OS_WIN)

#include "sampling/winsampler.h"

#include <QDateTime>
#include <QSettings>
#include <QSysInfo>

#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#if defined(_WIN32_WINNT) && _WIN32_WINNT < 0x0601
#error "WinSampler needs _WIN32_WINNT >= 0x0601 (GetActiveProcessorCount, GetTickCount64)"
#endif

#include <algorithm>
#include <thread>

namespace autofact::agent {

// The layout ntdll fills for SystemProcessorPerformanceInformation; winternl.h hides the
// field names behind Reserved1/Reserved2, so it is spelled out here.
struct WinSampler::ProcessorPerformance {
    LARGE_INTEGER IdleTime;
    LARGE_INTEGER KernelTime; ///< includes IdleTime, DpcTime and InterruptTime
    LARGE_INTEGER UserTime;
    LARGE_INTEGER DpcTime;
    LARGE_INTEGER InterruptTime;
    ULONG InterruptCount;
};

namespace {

constexpr unsigned long systemProcessorPerformanceInformation = 8;

std::uint64_t ticks(const FILETIME &ft)
{
    return (std::uint64_t(ft.dwHighDateTime) << 32) | ft.dwLowDateTime;
}

std::uint64_t ticks(const LARGE_INTEGER &li)
{
    return li.QuadPart > 0 ? std::uint64_t(li.QuadPart) : 0;
}

/// a − b, or 0: the parts are read at slightly different moments and can exceed the whole.
std::uint64_t minusOrZero(std::uint64_t a, std::uint64_t b)
{
    return a > b ? a - b : 0;
}

QString lastError(const char *call)
{
    return QString::fromLatin1(call) + u" failed: error " + QString::number(GetLastError());
}

int logicalProcessorCount()
{
    const DWORD count = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return count > 0 ? int(count) : int(std::thread::hardware_concurrency());
}

} // namespace

WinSampler::WinSampler()
{
    // Here rather than at namespace scope: the struct is a private member.
    static_assert(sizeof(ProcessorPerformance) == 48,
                  "must match SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION");
    // Not in the SDK's import libraries for user mode; ntdll is mapped into every process.
    if (const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll")) {
        // Through void (*)(): a direct FARPROC cast trips GCC's -Wcast-function-type.
        const auto proc = reinterpret_cast<void (*)()>(
            GetProcAddress(ntdll, "NtQuerySystemInformation"));
        m_ntQuerySystemInformation = reinterpret_cast<NtQuerySystemInformationFn>(proc);
    }
    m_performance.resize(std::size_t(std::max(logicalProcessorCount(), 1)));
}

WinSampler::~WinSampler() = default;

bool WinSampler::readTotal(QString *error)
{
    FILETIME idle{}, kernel{}, user{};
    if (!GetSystemTimes(&idle, &kernel, &user)) {
        if (error)
            *error = lastError("GetSystemTimes");
        return false;
    }
    m_total = {};
    m_total.presentFields = CpuCounters::fieldCount;
    m_total[CpuField::User] = ticks(user);
    // Kernel time includes idle time.
    m_total[CpuField::System] = minusOrZero(ticks(kernel), ticks(idle));
    m_total[CpuField::Idle] = ticks(idle);
    return true;
}

bool WinSampler::readCores(QString *error)
{
    m_cores.clear();
    if (!m_ntQuerySystemInformation)
        return true;

    unsigned long returned = 0;
    const long status = m_ntQuerySystemInformation(
        systemProcessorPerformanceInformation, m_performance.data(),
        ULONG(m_performance.size() * sizeof(ProcessorPerformance)), &returned);
    if (status < 0) { // NT_SUCCESS(status) is status >= 0
        if (error)
            *error = u"NtQuerySystemInformation failed: status 0x"
                    + QString::number(std::uint32_t(status), 16);
        return false;
    }

    const std::size_t count =
        std::min<std::size_t>(returned / sizeof(ProcessorPerformance), m_performance.size());
    for (std::size_t i = 0; i < count; ++i) {
        const ProcessorPerformance &p = m_performance[i];
        CpuCounters c;
        c.presentFields = CpuCounters::fieldCount;
        const std::uint64_t idle = ticks(p.IdleTime);
        const std::uint64_t dpc = ticks(p.DpcTime);
        const std::uint64_t interrupt = ticks(p.InterruptTime);
        c[CpuField::User] = ticks(p.UserTime);
        c[CpuField::System] = minusOrZero(ticks(p.KernelTime), idle + dpc + interrupt);
        c[CpuField::Idle] = idle;
        c[CpuField::Irq] = interrupt;
        c[CpuField::SoftIrq] = dpc;
        m_cores.push_back({int(i), c});
    }
    return true;
}

bool WinSampler::readMemory(Memory &memory, QString *error)
{
    MEMORYSTATUSEX status{};
    status.dwLength = sizeof(status);
    if (!GlobalMemoryStatusEx(&status)) {
        if (error)
            *error = lastError("GlobalMemoryStatusEx");
        return false;
    }
    memory = {};
    memory.total = status.ullTotalPhys;
    memory.available = std::min<std::uint64_t>(status.ullAvailPhys, memory.total);
    memory.free = memory.available;
    memory.buffers = 0;
    memory.cached = 0;
    memory.used = memory.total - memory.available;
    // The "page file" figures are the commit limit: physical memory plus the page files.
    memory.swapTotal = minusOrZero(status.ullTotalPageFile, status.ullTotalPhys);
    memory.swapFree =
        std::min(minusOrZero(status.ullAvailPageFile, status.ullAvailPhys), memory.swapTotal);
    return true;
}

bool WinSampler::sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy,
                        QString *error)
{
    // Read everything before touching the baseline, so a failed read loses no interval.
    Memory memory;
    if (!readMemory(memory, error) || !readTotal(error) || !readCores(error))
        return false;

    Sample s;
    s.timestampMs = nowMs;
    m_cpu.update(m_total, m_cores, coreBusy).stamp(s);
    s.memory = memory;
    // Windows keeps no load average (no run-queue average in any API); load1/5/15 stay 0.
    out = s;
    return true;
}

Hello WinSampler::systemFacts() const
{
    Hello h = qtSystemFacts();

    const QSettings cpu(
        QStringLiteral("HKEY_LOCAL_MACHINE\\HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0"),
        QSettings::NativeFormat);
    h.cpuModel = cpu.value(QStringLiteral("ProcessorNameString")).toString().simplified();
    if (h.cpuModel.isEmpty())
        h.cpuModel = h.arch;

    h.cpuCount = std::uint16_t(std::clamp(logicalProcessorCount(), 0, int(UINT16_MAX)));

    MEMORYSTATUSEX status{};
    status.dwLength = sizeof(status);
    if (GlobalMemoryStatusEx(&status))
        h.memTotal = status.ullTotalPhys;

    // GetTickCount64 counts milliseconds since boot, sleep and hibernation included.
    h.bootTimeMs = QDateTime::currentMSecsSinceEpoch() - std::int64_t(GetTickCount64());
    return h;
}

} // namespace autofact::agent

#endif // Q_OS_WIN
