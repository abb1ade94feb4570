// SPDX-License-Identifier: MIT
#pragma once

#include <QtGlobal>

#if defined(Q_OS_WIN)

#include "sampling/cpudelta.h"
#include "sampling/sampler.h"

#include <vector>

namespace autofact::agent {

/**
 * Sampler for Windows, on Win32 system information calls. Compiled only on Windows; the CI
 * builds and tests Linux alone, so this code is not exercised there.
 *
 * CPU: the aggregate comes from GetSystemTimes() (which covers every processor group): user,
 * system = kernel − idle (kernel time includes idle time), idle; interrupt and DPC time are
 * not reported apart there, so the aggregate's irq and softirq stay 0 and are inside system.
 * Per core, NtQuerySystemInformation(SystemProcessorPerformanceInformation), resolved from
 * ntdll at run time, gives user, system = kernel − idle − DPC − interrupt, irq = interrupt,
 * softirq = DPC, idle; it only covers the processor group of the calling thread (64 CPUs at
 * most), and if ntdll lacks it the samples carry no per-core values. The percentages follow
 * CpuDeltaTracker, as on Linux: interval deltas, the first sample since boot with
 * SampleFlag::FirstAfterStart, counters going backwards count 0, zero-length intervals give
 * zeros.
 *
 * Memory from GlobalMemoryStatusEx(): total, free = available = ullAvailPhys, used = total −
 * available, buffers and cached 0 (Windows does not report a comparable cache figure there).
 * Swap is the page file: the commit limit minus physical memory (ullTotalPageFile −
 * ullTotalPhys, and likewise for the free part), clamped at 0.
 *
 * Windows has no load average: load1/5/15 are 0.
 *
 * systemFacts(): CPU model from the registry (`ProcessorNameString` of CentralProcessor\\0),
 * count from GetActiveProcessorCount(ALL_PROCESSOR_GROUPS), boot time = now − GetTickCount64(),
 * the rest from QSysInfo.
 */
class WinSampler final : public Sampler
{
public:
    WinSampler();
    ~WinSampler() override;

    bool sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy,
                QString *error = nullptr) override;
    Hello systemFacts() const override;

private:
    /// SYSTEM_PROCESSOR_PERFORMANCE_INFORMATION, defined in the .cpp next to <windows.h>.
    struct ProcessorPerformance;
    /// NtQuerySystemInformation's signature (NTSTATUS NTAPI (ULONG, PVOID, ULONG, PULONG)).
    using NtQuerySystemInformationFn = long(__stdcall *)(unsigned long, void *, unsigned long,
                                                         unsigned long *);

    bool readTotal(QString *error);
    bool readCores(QString *error);
    static bool readMemory(Memory &memory, QString *error);

    NtQuerySystemInformationFn m_ntQuerySystemInformation = nullptr;
    std::vector<ProcessorPerformance> m_performance; ///< reused between samples
    CpuCounters m_total;
    std::vector<CoreCounters> m_cores; ///< reused between samples
    CpuDeltaTracker m_cpu;
};

} // namespace autofact::agent

#endif // Q_OS_WIN
