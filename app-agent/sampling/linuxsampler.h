// SPDX-License-Identifier: MIT
#pragma once

#include "sampling/cpudelta.h"
#include "sampling/devicecollectors.h"
#include "sampling/loadavg.h"
#include "sampling/meminfo.h"
#include "sampling/procstat.h"
#include "sampling/sampler.h"

#include <QByteArrayView>
#include <QString>

#include <vector>

namespace autofact::agent {

/**
 * Sampler for Linux, reading procfs below a configurable root (tests use a fake one).
 *
 * Files read per sample: `stat`, `meminfo`, `loadavg`; once per systemFacts(): also `cpuinfo`
 * and `sys/kernel/osrelease`.
 *
 * How CPU percentages are derived from the cumulative /proc/stat counters (the arithmetic is
 * CpuDeltaTracker's, shared with the macOS and Windows samplers):
 * - **Interval**: each sample reports the split of the ticks between the previous successful
 *   sample and this one, for the aggregate line and for each online CPU. The eight time
 *   columns (user … steal) add up to 100 %; guest (guest + guest_nice) is part of user and nice
 *   and reported as a share of the same total. Per-core busy = 100 − idle − iowait.
 * - **First sample**: there is no previous reading, so it reports the average since boot
 *   (deltas from zero) and carries SampleFlag::FirstAfterStart. No second read, no sleep.
 * - **Counters going backwards** (iowait on NO_HZ kernels, the aggregate after a CPU goes
 *   offline, some hypervisors): a column that decreased contributes 0 ticks for that interval
 *   and the split is computed from the columns that did not; the new value becomes the baseline.
 *   If nothing advanced, see the zero-length interval.
 * - **Zero-length interval** (no tick elapsed, or every column went backwards): all CPU fields
 *   and the per-core values are 0 — there is no time to divide.
 * - **Hotplug**: the per-core list follows the CPUs online now, in the kernel's order. A CPU
 *   that was not online at the previous sample has no previous reading and is measured like a
 *   first sample (since boot); a CPU that went offline simply drops out. coreBusy carries no
 *   CPU numbers, so receivers see only the count change.
 *
 * Memory follows MemInfo (used = total − available, as `free` in procps-ng 4.0.2).
 *
 * systemFacts(): cpuCount is the number of CPUs online now (`cpuN` lines), bootTimeMs comes
 * from `btime`, memTotal from MemTotal, cpuModel from cpuInfo (falling back to the
 * architecture name), kernel from `sys/kernel/osrelease` (falling back to QSysInfo), OS name
 * and version from QSysInfo (prettyProductName, productVersion).
 *
 * Devices: collectDevices() runs DeviceCollectors on `<procRoot>/self/mountinfo`,
 * `<procRoot>/diskstats`, `<procRoot>/net/dev` and, below @p sysRoot, `block/` and
 * `class/hwmon/` (or `class/thermal/`); see there for what each reports and when.
 *
 * Cost: after the first sample, sample() reuses its file buffers and counter arrays and does
 * not allocate (unless a CPU with a higher number comes online); collectDevices() likewise
 * (unless a device appears or the mount table changes).
 */
class LinuxSampler final : public Sampler
{
public:
    explicit LinuxSampler(const QString &procRoot = QStringLiteral("/proc"),
                          const QString &sysRoot = QStringLiteral("/sys"));

    bool sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy,
                QString *error = nullptr) override;
    void collectDevices(std::int64_t nowMs, const AgentConfig &config, DeviceTables &out) override;
    Hello systemFacts() const override;

    /**
     * CPU model name from /proc/cpuinfo text: `model name` (x86), else `Hardware` (SoC name on
     * many ARM kernels), else the distinct ARM `CPU part`s by name (big.LITTLE gives two,
     * joined with " + "), else `Processor` (32-bit ARM), else an empty string.
     */
    static QString cpuModelFromCpuInfo(QByteArrayView cpuinfo);

private:
    QString m_procRoot;
    ProcStat m_stat;
    MemInfo m_memInfo;
    LoadAvg m_loadAvg;
    CpuDeltaTracker m_cpu; ///< cores keyed by the kernel's CPU number
    DeviceCollectors m_devices;
};

} // namespace autofact::agent
