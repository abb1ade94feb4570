// SPDX-License-Identifier: MIT
#include "storereader.h"

#include "dashboardlogging.h"
#include "clienttablemodel.h"
#include "decimator.h"

#include <QElapsedTimer>

#include <limits>
#include <vector>

namespace autofact::dashboard {

using server::Store;
using server::StoreOptions;

StoreReader::StoreReader(QString databasePath, QObject *parent)
    : QObject(parent)
    , m_path(std::move(databasePath))
{
    qRegisterMetaType<HistoryRequest>();
    qRegisterMetaType<HistoryData>();
    qRegisterMetaType<RecentHistory>();
    qRegisterMetaType<QList<Store::ClientInfo>>();
    qRegisterMetaType<AgentConfig>();
    qRegisterMetaType<QHash<QString, AgentConfig>>();
}

StoreReader::~StoreReader() = default;

Store *StoreReader::store()
{
    if (m_store)
        return m_store.get();
    auto store = std::make_unique<Store>(m_path, StoreOptions{StoreOptions::Mode::ReadOnly});
    QString error;
    if (!store->open(&error)) {
        qCWarning(lcDashboard).noquote() << "cannot open the database for reading:" << error;
        Q_EMIT readError(error);
        return nullptr;
    }
    m_store = std::move(store);
    return m_store.get();
}

void StoreReader::loadInventory()
{
    Store *s = store();
    if (!s)
        return;
    const QList<Store::ClientInfo> clients = s->clients();
    Q_EMIT inventoryLoaded(clients, s->databaseSizeBytes());
}

void StoreReader::loadConfigs()
{
    Store *s = store();
    if (!s)
        return;
    QHash<QString, AgentConfig> overrides;
    for (const Store::ClientInfo &c : s->clients()) {
        if (c.hasOverride)
            overrides.insert(c.id, s->effectiveConfig(c.id));
    }
    Q_EMIT configsLoaded(s->defaultConfig(), overrides);
}

void StoreReader::loadRecent(qint64 sinceMs, int perClient)
{
    Store *s = store();
    if (!s)
        return;
    RecentHistory recent;
    QString error;
    const bool ok = s->forEachSample(
        {}, sinceMs, std::numeric_limits<qint64>::max(),
        [&](const server::StoredSample &stored) {
            QList<SparkPoint> &points = recent[stored.clientId];
            points.append({stored.sample.timestampMs, cpuPercent(stored.sample),
                           memoryPercent(stored.sample)});
            if (points.size() > perClient)
                points.removeFirst();
            return true;
        },
        &error);
    if (!ok)
        Q_EMIT readError(error);
    Q_EMIT recentLoaded(recent);
}

void StoreReader::loadHistory(const HistoryRequest &request)
{
    if (request.id < m_latestRequest.load())
        return; // superseded before we got to it
    Store *s = store();
    if (!s)
        return;
    HistoryData data = readHistory(*s, request, &m_latestRequest);
    if (request.id < m_latestRequest.load())
        return;
    Q_EMIT historyLoaded(data);
}

HistoryData StoreReader::readHistory(Store &store, const HistoryRequest &request,
                                     const std::atomic<quint64> *latest)
{
    QElapsedTimer timer;
    timer.start();
    HistoryData data;
    data.requestId = request.id;
    data.clientId = request.clientId;
    data.fromMs = request.fromMs;
    data.toMs = request.toMs;

    const double x0 = double(request.fromMs);
    const double x1 = double(request.toMs);
    const int columns = std::max(1, request.columns);
    std::vector<Decimator> cpu(HistoryData::CpuSeriesCount, Decimator(x0, x1, columns));
    std::vector<Decimator> memory(HistoryData::MemSeriesCount, Decimator(x0, x1, columns));
    std::vector<Decimator> cores;
    constexpr double gib = 1024.0 * 1024.0 * 1024.0;
    double memoryMax = 0;
    qint64 count = 0;
    qint64 rows = 0; ///< rollup rows read, for the superseded-request check

    QString error;
    // A pixel column of two minutes or more: per-minute min/max rollups show exactly the same
    // extremes per column and are 60x fewer rows to read. Per-core lines need raw samples.
    constexpr qint64 rollupColumnMs = 2 * 60 * 1000;
    if (!request.withCores && (request.toMs - request.fromMs) / columns >= rollupColumnMs) {
        data.fromRollups = true;
        const bool ok = store.forEachMinute(
            request.clientId, request.fromMs - request.fromMs % 60000, request.toMs,
            [&](const server::MinuteRollup &r) {
                if (latest && (++rows & 1023) == 0 && latest->load() > request.id)
                    return false;
                count += r.count;
                const double x = double(r.firstMs + r.lastMs) / 2.0;
                using M = server::MinuteRollup;
                const auto both = [x, &r](Decimator &d, M::Series series, double scale) {
                    d.add(x, r.min[series] / scale);
                    d.add(x, r.max[series] / scale);
                };
                both(cpu[HistoryData::CpuUser], M::CpuUser, 1);
                both(cpu[HistoryData::CpuSystem], M::CpuSystem, 1);
                both(cpu[HistoryData::CpuIowait], M::CpuIowait, 1);
                both(cpu[HistoryData::CpuSteal], M::CpuSteal, 1);
                both(memory[HistoryData::MemUsed], M::MemUsed, gib);
                both(memory[HistoryData::MemCache], M::MemCache, gib);
                both(memory[HistoryData::MemAvailable], M::MemAvailable, gib);
                both(memory[HistoryData::MemSwap], M::SwapUsed, gib);
                memoryMax = std::max({memoryMax, r.memTotal / gib, r.max[M::SwapUsed] / gib});
                return true;
            },
            &error);
        if (!ok)
            data.error = error;
    }
    const bool ok = data.fromRollups || store.forEachSample(
        {request.clientId}, request.fromMs, request.toMs,
        [&](const server::StoredSample &stored) {
            // Checked every 4096 rows: an atomic load per row would show in the profile.
            if (latest && (count & 4095) == 0 && latest->load() > request.id)
                return false;
            ++count;
            const Sample &s = stored.sample;
            const double x = double(s.timestampMs);
            cpu[HistoryData::CpuUser].add(x, s.cpu.user + s.cpu.nice);
            cpu[HistoryData::CpuSystem].add(x, s.cpu.system + s.cpu.irq + s.cpu.softirq);
            cpu[HistoryData::CpuIowait].add(x, s.cpu.iowait);
            cpu[HistoryData::CpuSteal].add(x, s.cpu.steal);
            const Memory &m = s.memory;
            memory[HistoryData::MemUsed].add(x, double(m.used) / gib);
            memory[HistoryData::MemCache].add(x, double(m.cached + m.buffers) / gib);
            memory[HistoryData::MemAvailable].add(x, double(m.available) / gib);
            const quint64 swapUsed = m.swapTotal - std::min(m.swapFree, m.swapTotal);
            memory[HistoryData::MemSwap].add(x, double(swapUsed) / gib);
            // Same axis rule as the rollup path: total memory or the swap actually used.
            memoryMax = std::max({memoryMax, double(m.total) / gib, double(swapUsed) / gib});
            if (s.coreCount > cores.size())
                cores.resize(s.coreCount, Decimator(x0, x1, columns));
            for (int i = 0; i < s.coreCount; ++i)
                cores[std::size_t(i)].add(x, stored.core(i));
            return true;
        },
        &error);
    if (!ok)
        data.error = error;

    for (Decimator &d : cpu)
        data.cpu.append(d.take());
    for (Decimator &d : memory)
        data.memory.append(d.take());
    for (Decimator &d : cores)
        data.cores.append(d.take());
    data.memoryMaxGiB = memoryMax;
    for (const Store::Gap &gap : store.gaps(request.clientId, request.fromMs,
                                            std::numeric_limits<qint64>::max())) {
        if (gap.startMs < request.toMs)
            data.gaps.append(gap);
    }
    data.samples = count;
    data.readMs = timer.elapsed();
    qCDebug(lcDashboard) << "history" << request.clientId << count << "samples in"
                         << data.readMs << "ms";
    return data;
}

} // namespace autofact::dashboard
