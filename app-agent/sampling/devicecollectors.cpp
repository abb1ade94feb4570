// SPDX-License-Identifier: MIT
#include "sampling/devicecollectors.h"

#include "sampling/samplinglogging.h"

#include <utility>

namespace autofact::agent {

DeviceCollectors::DeviceCollectors(const QString &procRoot, const QString &sysRoot,
                                   FilesystemCollector::StatFs statFs)
    : m_filesystems(procRoot, std::move(statFs))
    , m_disks(procRoot, sysRoot)
    , m_network(procRoot)
    , m_temperatures(sysRoot)
{
}

bool DeviceCollectors::isDue(std::int64_t nowMs, std::int64_t lastRunMs, std::uint32_t intervalMs,
                             std::uint32_t sampleIntervalMs)
{
    if (intervalMs == 0)
        return false;
    if (nowMs < lastRunMs)
        return true;
    return nowMs - lastRunMs + std::int64_t(sampleIntervalMs / 2) >= std::int64_t(intervalMs);
}

bool DeviceCollectors::due(Schedule &schedule, std::int64_t nowMs, std::uint32_t intervalMs,
                           const AgentConfig &config, Collector collector)
{
    if (intervalMs == 0) {
        if (schedule.hasRun) {
            switch (collector) {
            case Collector::Filesystems: break; // no baseline
            case Collector::Disks: m_disks.reset(); break;
            case Collector::Network: m_network.reset(); break;
            case Collector::Temperatures: m_temperatures.reset(); break;
            }
            schedule = {};
        }
        return false;
    }
    if (schedule.hasRun && !isDue(nowMs, schedule.lastRunMs, intervalMs, config.sampleIntervalMs))
        return false;
    schedule.hasRun = true;
    schedule.lastRunMs = nowMs;
    return true;
}

void DeviceCollectors::reportResult(Schedule &schedule, const char *what, bool ok,
                                    const QString &error)
{
    if (ok) {
        if (schedule.failing)
            qCInfo(lcSampler) << what << "collector works again";
        schedule.failing = false;
        return;
    }
    // Once as a warning: a collector that cannot work here (no /proc/diskstats in a
    // container) would otherwise warn every few seconds.
    if (!schedule.failing)
        qCWarning(lcSampler).noquote() << what << "collector failed, skipped:" << error;
    else
        qCDebug(lcSampler).noquote() << what << "collector failed, skipped:" << error;
    schedule.failing = true;
}

DeviceCollectors::Collectors DeviceCollectors::collect(std::int64_t nowMs, const AgentConfig &config,
                                                       DeviceTables &out)
{
    out.clear();
    Collectors ran;
    QString error;
    if (due(m_filesystemsSchedule, nowMs, config.filesystemsIntervalMs, config, Collector::Filesystems)) {
        ran |= Collector::Filesystems;
        const bool ok = m_filesystems.collect(out, &error);
        reportResult(m_filesystemsSchedule, "filesystems", ok, error);
    }
    if (due(m_disksSchedule, nowMs, config.disksIntervalMs, config, Collector::Disks)) {
        ran |= Collector::Disks;
        const bool ok = m_disks.collect(nowMs, out, &error);
        reportResult(m_disksSchedule, "disks", ok, error);
    }
    if (due(m_networkSchedule, nowMs, config.networkIntervalMs, config, Collector::Network)) {
        ran |= Collector::Network;
        const bool ok = m_network.collect(nowMs, out, &error);
        reportResult(m_networkSchedule, "network", ok, error);
    }
    if (due(m_temperaturesSchedule, nowMs, config.temperaturesIntervalMs, config, Collector::Temperatures)) {
        ran |= Collector::Temperatures;
        m_temperatures.collect(nowMs, out);
    }
    return ran;
}

} // namespace autofact::agent
