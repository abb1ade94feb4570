// SPDX-License-Identifier: MIT
#pragma once

#include "store/storetypes.h"

#include <QHash>
#include <QList>
#include <QMetaType>
#include <QPointF>
#include <QString>

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
