// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "sampling/diskstats.h"
#include "sampling/filesystemcollector.h"
#include "sampling/hwmon.h"
#include "sampling/netdev.h"

#include <QFlags>
#include <QString>

#include <cstdint>

namespace autofact::agent {

/**
 * The four Linux device collectors (filesystems, disks, network, temperatures) and when each
 * runs: what LinuxSampler::collectDevices() delegates to.
 *
 * Schedule: a collector with interval I (AgentConfig's filesystemsIntervalMs, disksIntervalMs,
 * networkIntervalMs, temperaturesIntervalMs) runs at the sample tick on or after I since its
 * last run: it is due when `now − lastRun + sampleIntervalMs / 2 >= I`. The half tick absorbs
 * timer jitter (a tick 1 ms early must not push the run a whole sample later). It runs on the
 * first call, and when the clock went back (now < lastRun) it runs at once and measures from
 * there. Interval 0 turns a collector off and forgets its baselines, so turning it on again
 * starts with a baseline read instead of a delta across the time it was off.
 *
 * A collector that fails (its file cannot be read) is logged — a warning the first time, then
 * debug messages until it works again — and skipped; the others go ahead.
 *
 * Cost: the collectors keep their buffers and per-device state, and @p out is cleared with its
 * capacity kept, so steady-state calls do not allocate.
 */
class DeviceCollectors
{
public:
    enum class Collector {
        Filesystems = 0x1,
        Disks = 0x2,
        Network = 0x4,
        Temperatures = 0x8,
    };
    Q_DECLARE_FLAGS(Collectors, Collector)

    /** @p statFs as FilesystemCollector's (statvfs() when empty). */
    explicit DeviceCollectors(const QString &procRoot = QStringLiteral("/proc"),
                              const QString &sysRoot = QStringLiteral("/sys"),
                              FilesystemCollector::StatFs statFs = {});

    /**
     * Clears @p out, then runs the collectors due at @p nowMs under @p config and appends
     * their readings (sample 0). Returns the collectors that ran (including failed ones).
     */
    Collectors collect(std::int64_t nowMs, const AgentConfig &config, DeviceTables &out);

    /** Whether a collector last run at @p lastRunMs with @p intervalMs is due (see above). */
    static bool isDue(std::int64_t nowMs, std::int64_t lastRunMs, std::uint32_t intervalMs,
                      std::uint32_t sampleIntervalMs);

    FilesystemCollector &filesystems() { return m_filesystems; }
    DiskStats &disks() { return m_disks; }
    NetDev &network() { return m_network; }
    Hwmon &temperatures() { return m_temperatures; }

private:
    struct Schedule {
        std::int64_t lastRunMs = 0;
        bool hasRun = false;
        bool failing = false; ///< the last run failed and was reported
    };

    /** Whether @p collector runs now; turns it off (forgetting its state) at interval 0. */
    bool due(Schedule &schedule, std::int64_t nowMs, std::uint32_t intervalMs,
             const AgentConfig &config, Collector collector);
    void reportResult(Schedule &schedule, const char *what, bool ok, const QString &error);

    FilesystemCollector m_filesystems;
    DiskStats m_disks;
    NetDev m_network;
    Hwmon m_temperatures;
    Schedule m_filesystemsSchedule, m_disksSchedule, m_networkSchedule, m_temperaturesSchedule;
};

Q_DECLARE_OPERATORS_FOR_FLAGS(DeviceCollectors::Collectors)

} // namespace autofact::agent
