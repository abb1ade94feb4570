// SPDX-License-Identifier: MIT
#pragma once

#include "store/retention.h"
#include "store/storetypes.h"

#include <QHash>
#include <QList>
#include <QMetaType>
#include <QPointF>
#include <QString>
#include <QStringList>

namespace autofact::dashboard {

/** What a detail view asks the reader for. */
struct HistoryRequest {
    quint64 id = 0; ///< increasing; answers to older requests are dropped
    QString clientId;
    qint64 fromMs = 0; ///< inclusive
    qint64 toMs = 0;   ///< exclusive
    int columns = 1000; ///< horizontal pixels of the plot area: decimation target
    bool withCores = false; ///< per-core series too (forces a read of raw samples)
};

/**
 * One client's history over a range, decimated for a chart of HistoryRequest::columns pixels.
 * x is milliseconds since the epoch (UTC), as QDateTimeAxis expects.
 */
struct HistoryData {
    enum CpuSeries { CpuUser, CpuSystem, CpuIowait, CpuSteal, CpuSeriesCount };
    enum MemorySeries { MemUsed, MemCache, MemAvailable, MemSwap, MemSeriesCount };

    quint64 requestId = 0;
    QString clientId;
    qint64 fromMs = 0;
    qint64 toMs = 0;
    QList<QList<QPointF>> cpu;    ///< CpuSeriesCount series, percent
    QList<QList<QPointF>> cores;  ///< one per core, busy percent
    QList<QList<QPointF>> memory; ///< MemSeriesCount series, GiB
    double memoryMaxGiB = 0;      ///< largest of total memory and swap, for the axis
    QList<server::Gap> gaps;
    qint64 samples = 0;   ///< samples read (or summarised by minute rollups) before decimation
    bool fromRollups = false; ///< long range: read from per-minute min/max rollups
    qint64 readMs = 0;    ///< time spent reading + decimating on the reader thread
    QString error;
};

/** What the compare view plots for each host. */
enum class CompareMetric {
    CpuBusy,     ///< %, all but idle and iowait
    MemoryUsed,  ///< % of total
    LoadPerCore, ///< 1-minute load average divided by the core count
    CpuIowait,   ///< %
};

/** One metric of several clients over a range (the compare view's request). */
struct CompareRequest {
    quint64 id = 0; ///< increasing; answers to older requests are dropped
    QStringList clientIds;
    CompareMetric metric = CompareMetric::CpuBusy;
    qint64 fromMs = 0; ///< inclusive
    qint64 toMs = 0;   ///< exclusive
    int columns = 1000; ///< plot width in pixels: decimation target per host
};

/** One host's line in a CompareData: decimated points, and the gaps to break it at. */
struct CompareSeries {
    QString clientId;
    QString hostname;
    QList<QPointF> points;
    QList<server::Gap> gaps;
};

/** The answer to a CompareRequest. */
struct CompareData {
    quint64 requestId = 0;
    CompareMetric metric = CompareMetric::CpuBusy;
    qint64 fromMs = 0;
    qint64 toMs = 0;
    QList<CompareSeries> series; ///< in the request's order; unknown clients are left out
    qint64 samples = 0;
    bool fromRollups = false;
    qint64 readMs = 0;
    QString error;
};

/** What the detail view's Devices tab asks the reader for. */
struct DeviceRequest {
    quint64 id = 0; ///< increasing; answers to older requests are dropped
    QString clientId;
    qint64 fromMs = 0; ///< inclusive
    qint64 toMs = 0;   ///< exclusive
    int columns = 1000; ///< plot width in pixels: decimation target per line
};

/** The kinds of device readings; each has a chart and a device selector of its own. */
enum class DeviceKind {
    Filesystems,  ///< per mount point: use %, inodes used %
    Disks,        ///< per whole disk: read and write bytes/s, busy %
    Networks,     ///< per interface: received and sent bytes/s
    Temperatures, ///< per sensor ("chip/label"): °C
};
inline constexpr int deviceKindCount = 4;

/** One device's lines over a DeviceData's range, decimated. */
struct DeviceLines {
    QString name; ///< as the agent sent it: plain text, never markup
    /// One list per series of its kind (DeviceData::FsUsed … ::TempCelsius), x in ms since the epoch.
    QList<QList<QPointF>> series;
    double peak = 0;        ///< largest value of the first two series: the axis, the default choice
    double last = 0;        ///< the first series' newest value
    double criticalCelsius = 0; ///< temperatures: the newest critical threshold (hasCritical)
    bool hasCritical = false;
};

/** The answer to a DeviceRequest: every device of every kind in the range. */
struct DeviceData {
    enum FilesystemSeries { FsUsed, FsInodes, FsSeriesCount };             ///< %
    enum DiskSeries { DiskRead, DiskWrite, DiskBusy, DiskSeriesCount };    ///< bytes/s, bytes/s, %
    enum NetworkSeries { NetRx, NetTx, NetSeriesCount };                   ///< bytes/s
    enum TemperatureSeries { TempCelsius, TempSeriesCount };               ///< °C
    static constexpr int seriesCount(DeviceKind kind)
    {
        constexpr int counts[] = {FsSeriesCount, DiskSeriesCount, NetSeriesCount, TempSeriesCount};
        return counts[int(kind)];
    }

    quint64 requestId = 0;
    QString clientId;
    qint64 fromMs = 0;
    qint64 toMs = 0;
    bool hasReadings = false; ///< the client has device readings at all (in any range)
    QList<DeviceLines> kinds[deviceKindCount]; ///< per DeviceKind, devices sorted by name
    qint64 readings = 0;      ///< readings read before decimation
    qint64 readMs = 0;        ///< time spent reading + decimating on the reader thread
    QString error;

    const QList<DeviceLines> &devices(DeviceKind kind) const { return kinds[int(kind)]; }
};

/** One point of an overview sparkline. */
struct SparkPoint {
    qint64 timestampMs = 0;
    double cpuPercent = 0;
    double memoryPercent = 0;
};

/** The last minutes of every client, to fill the overview's sparklines at start-up. */
using RecentHistory = QHash<QString, QList<SparkPoint>>;

} // namespace autofact::dashboard

Q_DECLARE_METATYPE(autofact::dashboard::RecentHistory)
Q_DECLARE_METATYPE(autofact::dashboard::HistoryRequest)
Q_DECLARE_METATYPE(autofact::dashboard::HistoryData)
Q_DECLARE_METATYPE(autofact::dashboard::CompareRequest)
Q_DECLARE_METATYPE(autofact::dashboard::CompareData)
Q_DECLARE_METATYPE(autofact::dashboard::DeviceRequest)
Q_DECLARE_METATYPE(autofact::dashboard::DeviceData)
Q_DECLARE_METATYPE(autofact::server::StorageStats)
