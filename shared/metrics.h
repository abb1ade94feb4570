// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <algorithm>
#include <cstdint>

/**
 * The one place for the formulas that turn a sample into the numbers a user sees. The store's
 * minute rollups, the charts, the client table, the overview tiles and the CSV export all use
 * these, so a series means the same thing wherever it is shown.
 */
namespace autofact::metrics {

inline constexpr std::int64_t minuteMs = 60000;

/** Start of the UTC minute holding @p ms (a floor, also for times before 1970). */
constexpr std::int64_t minuteStart(std::int64_t ms)
{
    return ms - ((ms % minuteMs) + minuteMs) % minuteMs;
}

/** Swap in use, bytes; a kernel reporting more free than total counts as none used. */
constexpr std::uint64_t swapUsed(const Memory &m)
{
    return m.swapTotal - std::min(m.swapFree, m.swapTotal);
}

/** Page cache plus buffers, bytes: memory the kernel can give back. */
constexpr std::uint64_t memCache(const Memory &m)
{
    return m.cached + m.buffers;
}

/** CPU busy percentage (everything but idle and iowait). */
inline double cpuPercent(const Sample &s)
{
    return double(s.cpu.busy());
}

/** Memory used in percent of total; -1 when the total is unknown. */
inline double memoryPercent(const Sample &s)
{
    if (s.memory.total == 0)
        return -1;
    return 100.0 * double(s.memory.used) / double(s.memory.total);
}

/** Swap used in percent of swap total; -1 without swap. */
inline double swapPercent(const Sample &s)
{
    if (s.memory.swapTotal == 0)
        return -1;
    return 100.0 * double(swapUsed(s.memory)) / double(s.memory.swapTotal);
}

/** The charted series: the CPU split shown as stacked areas and the memory lines. */
enum class Series {
    CpuUser,      ///< user + nice, %
    CpuSystem,    ///< system + irq + softirq, %
    CpuIowait,    ///< %
    CpuSteal,     ///< %
    MemUsed,      ///< bytes
    MemCache,     ///< cached + buffers, bytes
    MemAvailable, ///< bytes
    SwapUsed,     ///< swap total - swap free, bytes
    CpuBusy,      ///< all but idle and iowait, % (its own min/max: the sum of the parts' extremes is not it)
    Load1,        ///< 1-minute load average
};
inline constexpr int seriesCount = 10;

/** The value of @p series for one sample. */
inline double seriesValue(const Sample &s, Series series)
{
    switch (series) {
    case Series::CpuUser: return double(s.cpu.user) + double(s.cpu.nice);
    case Series::CpuSystem: return double(s.cpu.system) + double(s.cpu.irq) + double(s.cpu.softirq);
    case Series::CpuIowait: return s.cpu.iowait;
    case Series::CpuSteal: return s.cpu.steal;
    case Series::MemUsed: return double(s.memory.used);
    case Series::MemCache: return double(memCache(s.memory));
    case Series::MemAvailable: return double(s.memory.available);
    case Series::SwapUsed: return double(swapUsed(s.memory));
    case Series::CpuBusy:
        // Summed in double, as the store's SQL does when it backfills this series.
        return double(s.cpu.user) + double(s.cpu.nice) + double(s.cpu.system) + double(s.cpu.irq)
               + double(s.cpu.softirq) + double(s.cpu.steal);
    case Series::Load1: return s.load1;
    }
    return 0;
}

/** Filesystem use in percent as df shows it: used / (used + available); -1 when empty. */
inline double filesystemPercent(const FilesystemUsage &f)
{
    const double denominator = double(f.usedBytes) + double(f.availableBytes);
    return denominator > 0 ? 100.0 * double(f.usedBytes) / denominator : -1;
}

/** @p count per second over @p intervalMs. */
inline double perSecond(std::uint64_t count, std::uint32_t intervalMs)
{
    return intervalMs > 0 ? double(count) * 1000.0 / double(intervalMs) : 0;
}

/** Disk busy in percent of its interval (io_ticks). */
inline double diskBusyPercent(const DiskIo &d)
{
    return d.intervalMs > 0 ? std::min(100.0, 100.0 * double(d.busyMs) / double(d.intervalMs)) : 0;
}

/**
 * The device figures a table row, a tile and the alert rules show: each kind's latest reading,
 * kept until a newer one (filesystems may be read once a minute, samples every second).
 */
struct DeviceSummary {
    std::int64_t filesystemsMs = 0;  ///< time of the latest filesystem reading (0: none yet)
    double fullestPercent = -1;      ///< the fullest filesystem's use %
    QString fullestMount;
    std::int64_t networkMs = 0;
    double rxBytesPerSec = 0, txBytesPerSec = 0; ///< all reported interfaces together
    std::int64_t disksMs = 0;
    double readBytesPerSec = 0, writeBytesPerSec = 0, busiestDiskPercent = 0;
    std::int64_t temperaturesMs = 0;
    double hottestCelsius = 0;
    QString hottestSensor;

    bool empty() const { return !filesystemsMs && !networkMs && !disksMs && !temperaturesMs; }
    /** Takes each kind's newest sample in @p batch (samples of one batch are in time order). */
    void update(const SampleBatch &batch);
    /** Takes the kinds @p newer has readings of. */
    void merge(const DeviceSummary &newer);
    bool operator==(const DeviceSummary &) const = default;
};

/** The fullest filesystem's use % at each sample of @p batch that has filesystem readings. */
std::vector<std::pair<std::uint32_t, double>> fullestFilesystemBySample(const DeviceTables &devices);

/** One sample's temperature readings, for the temperature rule. */
struct HottestReading {
    std::uint32_t sample = 0;
    double celsius = 0;      ///< the hottest sensor
    bool atCritical = false; ///< some sensor at or above its own critical threshold
};
/** The hottest sensor at each sample of @p devices that has temperature readings. */
std::vector<HottestReading> hottestBySample(const DeviceTables &devices);

} // namespace autofact::metrics
