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
Q_DECLARE_METATYPE(autofact::server::StorageStats)
