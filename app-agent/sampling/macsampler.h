// SPDX-License-Identifier: MIT
// platform: macos — compiled only on macOS (app-agent/sampling/CMakeLists.txt); not built by this CI.
#pragma once

#include <QtGlobal>

#if defined(Q_OS_MACOS)

#include "sampling/cpudelta.h"
#include "sampling/sampler.h"

#include <mach/mach_types.h>

#include <vector>

namespace autofact::agent {

/**
 * Sampler for macOS, on Mach host statistics and sysctl. Compiled only on macOS; the CI builds
 * and tests Linux alone, so this code is not exercised there.
 *
 * CPU: host_processor_info(PROCESSOR_CPU_LOAD_INFO) gives cumulative per-CPU ticks for user,
 * system, idle and nice; the aggregate is their sum over CPUs. The percentages follow
 * CpuDeltaTracker, as on Linux: interval deltas, the first sample since boot with
 * SampleFlag::FirstAfterStart, a counter going backwards (the 32-bit tick counters wrap after
 * about 16 months of CPU time at 100 Hz) counts 0, a zero-length interval gives zeros. macOS
 * has no iowait, irq, softirq, steal or guest split: those stay 0.
 *
 * Memory (host_statistics64(HOST_VM_INFO64), pages × vm_page_size): total is `hw.memsize`;
 * free is free pages minus speculative ones (what `vm_stat` calls "Pages free"); available is
 * free + speculative + inactive + purgeable pages, capped at total; cached is the file-backed
 * (external) pages; buffers is 0; used = total − available. Swap from `vm.swapusage`.
 *
 * Load averages from getloadavg(). systemFacts(): CPU model from `machdep.cpu.brand_string`
 * (Intel; Apple silicon has it too on recent releases) or else `hw.model`, count from
 * `hw.logicalcpu`, boot time from `kern.boottime`, the rest from QSysInfo.
 */
class MacSampler final : public Sampler
{
public:
    MacSampler();
    ~MacSampler() override;

    bool sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy,
                QString *error = nullptr) override;
    Hello systemFacts() const override;

private:
    bool readCpu(QString *error);
    bool readMemory(Memory &memory, QString *error) const;

    mach_port_t m_host = 0; ///< mach_host_self() once: every call adds a send right to release
    CpuCounters m_total;
    std::vector<CoreCounters> m_cores; ///< reused between samples
    CpuDeltaTracker m_cpu;
};

} // namespace autofact::agent

#endif // Q_OS_MACOS
