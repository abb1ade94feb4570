// SPDX-License-Identifier: MIT
#include "storereader.h"

#include "alerts/alertrules.h"

#include "dashboardlogging.h"
#include "clienttablemodel.h"
#include "decimator.h"
#include "metrics.h"
#include "store/devicehistory.h"
#include "store/samplechunk.h"

#include <QElapsedTimer>

#include <limits>
#include <vector>

namespace autofact::dashboard {

using server::Store;
using server::StoreOptions;
using server::StoreResult;

StoreReader::StoreReader(QString databasePath, QObject *parent)
    : QObject(parent)
    , m_path(std::move(databasePath))
{
    qRegisterMetaType<HistoryRequest>();
    qRegisterMetaType<HistoryData>();
    qRegisterMetaType<CompareRequest>();
    qRegisterMetaType<CompareData>();
    qRegisterMetaType<DeviceRequest>();
    qRegisterMetaType<DeviceData>();
    qRegisterMetaType<server::StorageStats>();
    qRegisterMetaType<server::RetentionSettings>();
    qRegisterMetaType<RecentHistory>();
    qRegisterMetaType<QList<server::ClientInfo>>();
    qRegisterMetaType<AgentConfig>();
    qRegisterMetaType<QHash<QString, AgentConfig>>();
    qRegisterMetaType<QHash<QString, metrics::DeviceSummary>>();
}

StoreReader::~StoreReader() = default;

Store *StoreReader::store()
{
    if (m_store)
        return m_store.get();
    auto store = std::make_unique<Store>(m_path, StoreOptions{StoreOptions::Mode::ReadOnly});
    if (auto opened = store->open(); !opened) {
        const QString error = opened.error().message;
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
    auto clients = s->inventory().clients();
    if (!clients) {
        Q_EMIT readError(clients.error().message);
        return;
    }
    auto size = s->history().databaseSizeBytes();
    if (!size)
        Q_EMIT readError(size.error().message);
    Q_EMIT inventoryLoaded(*clients, size.valueOr(0));

    // Once per client, not every refresh: afterwards the hub's live summaries are fresher.
    QHash<QString, metrics::DeviceSummary> summaries;
    for (const server::ClientInfo &c : std::as_const(*clients)) {
        if (m_summarised.contains(c.id))
            continue;
        m_summarised.insert(c.id);
        auto summary = s->devices().latestSummary(c.id);
        if (!summary)
            // One client's corrupt window leaves its columns empty, not everyone's.
            qCWarning(lcDashboard).noquote() << "no stored device figures for" << c.id << summary.error().message;
        else if (!summary->empty())
            summaries.insert(c.id, *summary);
    }
    if (!summaries.isEmpty())
        Q_EMIT deviceSummariesLoaded(summaries);
}

void StoreReader::loadStorage()
{
    Store *s = store();
    if (!s)
        return;
    auto stats = s->retention().stats();
    auto settings = stats ? s->retention().settings() : StoreResult<server::RetentionSettings>(stats.error());
    if (!settings) {
        Q_EMIT readError(settings.error().message);
        return;
    }
    Q_EMIT storageLoaded(*stats, *settings);
}

void StoreReader::loadConfigs()
{
    Store *s = store();
    if (!s)
        return;
    auto clients = s->inventory().clients();
    auto defaults = s->configs().defaultConfig();
    if (!clients || !defaults) {
        Q_EMIT readError(clients ? defaults.error().message : clients.error().message);
        return;
    }
    QHash<QString, AgentConfig> overrides;
    for (const server::ClientInfo &c : *clients) {
        if (!c.hasOverride)
            continue;
        auto effective = s->configs().effectiveConfig(c.id);
        if (!effective) {
            Q_EMIT readError(effective.error().message);
            return;
        }
        overrides.insert(c.id, *effective);
    }
    auto groups = s->configs().groupOverrides();
    if (!groups) {
        Q_EMIT readError(groups.error().message);
        return;
    }
    for (auto it = groups->cbegin(); it != groups->cend(); ++it)
        overrides.insert(server::groupRuleScope(it.key()), *it);
    Q_EMIT configsLoaded(*defaults, overrides);
}

void StoreReader::loadRecent(qint64 sinceMs, int perClient)
{
    Store *s = store();
    if (!s)
        return;
    RecentHistory recent;
    auto read = s->history().forEachSample(
        {}, sinceMs, std::numeric_limits<qint64>::max(),
        [&](const server::StoredSample &stored) {
            QList<SparkPoint> &points = recent[stored.clientId];
            points.append({stored.sample.timestampMs, metrics::cpuPercent(stored.sample),
                           metrics::memoryPercent(stored.sample)});
            if (points.size() > perClient)
                points.removeFirst();
            return true;
        });
    if (!read)
        Q_EMIT readError(read.error().message);
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

namespace {

qint64 hourStart(qint64 ms)
{
    constexpr qint64 hour = 3600 * 1000;
    return ms - ((ms % hour) + hour) % hour;
}

} // namespace

StoreReader::TierPlan StoreReader::planTiers(Store &store, const QString &clientId, qint64 fromMs, qint64 toMs, int columns,
                                             bool needRaw)
{
    // The finest tier a pixel column can use: raw samples below two minutes a column (and for
    // per-core lines), minutes below two hours, hours beyond. Older than a tier's oldest row
    // (retention took it), the next coarser one draws: a range never shows empty while a
    // coarser tier has it.
    const qint64 columnMs = (toMs - fromMs) / std::max(1, columns);
    constexpr qint64 twoMinutes = 2 * 60 * 1000;
    constexpr qint64 twoHours = 2 * 3600 * 1000;
    TierPlan plan{toMs, toMs};
    if (!needRaw && columnMs >= twoHours)
        return plan;
    auto horizons = store.history().tierStarts(clientId);
    const qint64 rawStart = horizons ? horizons->first : std::numeric_limits<qint64>::min();
    const qint64 minuteStart = horizons ? horizons->second : std::numeric_limits<qint64>::min();
    // Boundaries on whole minutes and hours: a rollup row is drawn only where the finer tier
    // has nothing (the partial minute or hour at a horizon was purged from the finer tier).
    if (needRaw || columnMs < twoMinutes)
        plan.minutesEnd = rawStart == std::numeric_limits<qint64>::min()
                                  ? fromMs
                                  : std::clamp<qint64>(metrics::minuteStart(rawStart + metrics::minuteMs - 1), fromMs, toMs);
    // No minute rows at all: the hours draw everything the raw samples do not.
    plan.hoursEnd = minuteStart == std::numeric_limits<qint64>::min()
                            ? plan.minutesEnd
                            : std::clamp<qint64>(minuteStart, fromMs, plan.minutesEnd);
    return plan;
}

void StoreReader::loadCompare(const CompareRequest &request)
{
    if (request.id < m_latestCompare.load())
        return;
    Store *s = store();
    if (!s)
        return;
    CompareData data = readCompare(*s, request, &m_latestCompare);
    if (request.id < m_latestCompare.load())
        return;
    Q_EMIT compareLoaded(data);
}

CompareData StoreReader::readCompare(Store &store, const CompareRequest &request, const std::atomic<quint64> *latest)
{
    QElapsedTimer timer;
    timer.start();
    CompareData data;
    data.requestId = request.id;
    data.metric = request.metric;
    data.fromMs = request.fromMs;
    data.toMs = request.toMs;
    const int columns = std::max(1, request.columns);
    using metrics::Series;
    for (const QString &id : request.clientIds) {
        if (latest && latest->load() > request.id)
            break; // superseded: the caller drops this answer
        auto info = store.inventory().client(id);
        if (!info) {
            if (info.error().kind != server::StoreError::Kind::NotFound)
                data.error = info.error().message;
            continue;
        }
        const double cores = std::max<double>(1, info->cpuCount);
        Decimator decimator(double(request.fromMs), double(request.toMs), columns);
        StoreResult<void> read;
        const TierPlan plan = planTiers(store, id, request.fromMs, request.toMs, columns, false);
        data.fromRollups = data.fromRollups || plan.minutesEnd > request.fromMs;
        {
            const auto addRollup = [&](const server::MinuteRollup &r) {
                    data.samples += r.count;
                    const double x = double(r.firstMs + r.lastMs) / 2.0;
                    double lo = 0, hi = 0;
                    switch (request.metric) {
                    case CompareMetric::CpuBusy: lo = r.min(Series::CpuBusy); hi = r.max(Series::CpuBusy); break;
                    case CompareMetric::CpuIowait: lo = r.min(Series::CpuIowait); hi = r.max(Series::CpuIowait); break;
                    case CompareMetric::LoadPerCore: lo = r.min(Series::Load1) / cores; hi = r.max(Series::Load1) / cores; break;
                    case CompareMetric::MemoryUsed:
                        if (r.memTotal <= 0)
                            return true;
                        lo = 100.0 * r.min(Series::MemUsed) / r.memTotal;
                        hi = 100.0 * r.max(Series::MemUsed) / r.memTotal;
                        break;
                    }
                    decimator.add(x, lo);
                    decimator.add(x, hi);
                    return true;
            };
            if (plan.hoursEnd > request.fromMs)
                read = store.history().forEachHour(id, hourStart(request.fromMs), plan.hoursEnd, addRollup);
            if (read && plan.minutesEnd > plan.hoursEnd)
                read = store.history().forEachMinute(id, metrics::minuteStart(plan.hoursEnd), plan.minutesEnd, addRollup);
        }
        if (read && plan.minutesEnd < request.toMs) {
            read = store.history().forEachSample({id}, plan.minutesEnd, request.toMs, [&](const server::StoredSample &stored) {
                ++data.samples;
                const Sample &s = stored.sample;
                double v = 0;
                switch (request.metric) {
                case CompareMetric::CpuBusy: v = metrics::seriesValue(s, Series::CpuBusy); break;
                case CompareMetric::CpuIowait: v = s.cpu.iowait; break;
                case CompareMetric::LoadPerCore: v = double(s.load1) / (s.coreCount > 0 ? double(s.coreCount) : cores); break;
                case CompareMetric::MemoryUsed:
                    v = metrics::memoryPercent(s);
                    if (v < 0)
                        return true;
                    break;
                }
                decimator.add(double(s.timestampMs), v);
                return true;
            });
        }
        if (!read)
            data.error = read.error().message;
        CompareSeries series;
        series.clientId = id;
        series.hostname = info->hostname.isEmpty() ? id : info->hostname;
        series.points = decimator.take();
        auto gaps = store.history().gaps(id, request.fromMs, std::numeric_limits<qint64>::max());
        if (!gaps)
            data.error = gaps.error().message;
        for (const server::Gap &gap : gaps.valueOr({}))
            if (gap.startMs < request.toMs)
                series.gaps.append(gap);
        data.series.append(series);
    }
    data.readMs = timer.elapsed();
    return data;
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
    // Which decimator draws which series, and in what unit.
    using metrics::Series;
    struct Charted {
        Decimator *decimator;
        Series series;
        double scale;
    };
    const Charted charted[] = {
        {&cpu[HistoryData::CpuUser], Series::CpuUser, 1},
        {&cpu[HistoryData::CpuSystem], Series::CpuSystem, 1},
        {&cpu[HistoryData::CpuIowait], Series::CpuIowait, 1},
        {&cpu[HistoryData::CpuSteal], Series::CpuSteal, 1},
        {&memory[HistoryData::MemUsed], Series::MemUsed, gib},
        {&memory[HistoryData::MemCache], Series::MemCache, gib},
        {&memory[HistoryData::MemAvailable], Series::MemAvailable, gib},
        {&memory[HistoryData::MemSwap], Series::SwapUsed, gib},
    };
    double memoryMax = 0;
    qint64 count = 0;
    qint64 rows = 0; ///< rollup rows read, for the superseded-request check

    // Which tier draws which part of the range (planTiers): hours, then minutes, then raw.
    const TierPlan plan = planTiers(store, request.clientId, request.fromMs, request.toMs, columns, request.withCores);
    data.fromRollups = plan.minutesEnd > request.fromMs;
    const auto addRollup = [&](const server::MinuteRollup &r) {
        if (latest && (++rows & 1023) == 0 && latest->load() > request.id)
            return false;
        count += r.count;
        const double x = double(r.firstMs + r.lastMs) / 2.0;
        for (const Charted &c : charted) {
            c.decimator->add(x, r.min(c.series) / c.scale);
            c.decimator->add(x, r.max(c.series) / c.scale);
        }
        memoryMax = std::max({memoryMax, r.memTotal / gib, r.max(Series::SwapUsed) / gib});
        return true;
    };
    if (plan.hoursEnd > request.fromMs)
        if (auto read = store.history().forEachHour(request.clientId, hourStart(request.fromMs), plan.hoursEnd, addRollup); !read)
            data.error = read.error().message;
    if (plan.minutesEnd > plan.hoursEnd)
        if (auto read = store.history().forEachMinute(request.clientId, metrics::minuteStart(plan.hoursEnd), plan.minutesEnd,
                                                      addRollup);
            !read)
            data.error = read.error().message;
    auto read = plan.minutesEnd >= request.toMs ? StoreResult<void>() : store.history().forEachSample(
        {request.clientId}, plan.minutesEnd, request.toMs,
        [&](const server::StoredSample &stored) {
            // Checked every 4096 rows: an atomic load per row would show in the profile.
            if (latest && (count & 4095) == 0 && latest->load() > request.id)
                return false;
            ++count;
            const Sample &s = stored.sample;
            const double x = double(s.timestampMs);
            for (const Charted &c : charted)
                c.decimator->add(x, metrics::seriesValue(s, c.series) / c.scale);
            // Same axis rule as the rollup path: total memory or the swap actually used.
            memoryMax = std::max({memoryMax, double(s.memory.total) / gib,
                                  double(metrics::swapUsed(s.memory)) / gib});
            if (s.coreCount > cores.size())
                cores.resize(s.coreCount, Decimator(x0, x1, columns));
            for (int i = 0; i < s.coreCount; ++i)
                cores[std::size_t(i)].add(x, stored.core(i));
            return true;
        });
    if (!read)
        data.error = read.error().message;

    for (Decimator &d : cpu)
        data.cpu.append(d.take());
    for (Decimator &d : memory)
        data.memory.append(d.take());
    for (Decimator &d : cores)
        data.cores.append(d.take());
    data.memoryMaxGiB = memoryMax;
    auto gaps = store.history().gaps(request.clientId, request.fromMs, std::numeric_limits<qint64>::max());
    if (!gaps)
        data.error = gaps.error().message;
    for (const server::Gap &gap : gaps.valueOr({})) {
        if (gap.startMs < request.toMs)
            data.gaps.append(gap);
    }
    data.samples = count;
    data.readMs = timer.elapsed();
    qCDebug(lcDashboard) << "history" << request.clientId << count << "samples in"
                         << data.readMs << "ms";
    return data;
}

void StoreReader::loadDevices(const DeviceRequest &request)
{
    if (request.id < m_latestDevices.load())
        return;
    Store *s = store();
    if (!s)
        return;
    DeviceData data = readDevices(*s, request, &m_latestDevices);
    if (request.id < m_latestDevices.load())
        return;
    Q_EMIT devicesLoaded(data);
}

DeviceData StoreReader::readDevices(Store &store, const DeviceRequest &request, const std::atomic<quint64> *latest)
{
    QElapsedTimer timer;
    timer.start();
    DeviceData data;
    data.requestId = request.id;
    data.clientId = request.clientId;
    data.fromMs = request.fromMs;
    data.toMs = request.toMs;
    auto span = store.devices().span(request.clientId);
    if (!span) {
        data.error = span.error().message;
        return data;
    }
    data.hasReadings = span->has_value();
    if (!data.hasReadings || request.toMs <= request.fromMs) {
        data.readMs = timer.elapsed();
        return data;
    }

    // One line per device and kind, each series decimated for the plot width as it streams by.
    struct Line {
        QString name;
        std::vector<Decimator> series;
        double peak = 0;
        double last = 0;
        double critical = 0;
        bool hasCritical = false;
        void add(std::size_t i, double x, double y)
        {
            series[i].add(x, y);
            if (i < 2)
                peak = std::max(peak, y);
            if (i == 0)
                last = y;
        }
    };
    std::vector<Line> lines[deviceKindCount];
    QHash<QString, std::size_t> byName[deviceKindCount];
    const double x0 = double(request.fromMs);
    const double x1 = double(request.toMs);
    const int columns = std::max(1, request.columns);

    // An hour of chunks at a time: a week of one-second readings would not fit in memory at
    // once, and slices on window boundaries decode each ten-minute chunk exactly once.
    constexpr qint64 sliceMs = 3600 * 1000;
    const qint64 from = std::max(request.fromMs, (*span)->first);
    const qint64 to = std::min(request.toMs, (*span)->second + 1); // exclusive
    for (qint64 at = server::SampleChunk::windowOf(from); at < to; at += sliceMs) {
        if (latest && latest->load() > request.id)
            break; // superseded: the caller drops this answer
        auto read = store.devices().read(request.clientId, std::max(at, from), std::min(at + sliceMs, to) - 1);
        if (!read) {
            data.error = read.error().message;
            break;
        }
        const server::DeviceSeries &slice = *read;
        const std::vector<qint64> &times = slice.timestamps;
        const std::vector<QString> &names = slice.tables.names;
        // The slice's name indices mapped to lines once per kind, not a hash lookup per reading.
        const auto forEach = [&](DeviceKind kind, const auto &entries, auto &&take) {
            std::vector<std::size_t> map(names.size(), std::size_t(-1));
            for (const auto &e : entries) {
                if (e.sample >= times.size() || e.device >= names.size())
                    continue;
                std::size_t &line = map[e.device];
                if (line == std::size_t(-1)) {
                    std::vector<Line> &kindLines = lines[int(kind)];
                    auto known = byName[int(kind)].constFind(names[e.device]);
                    if (known == byName[int(kind)].constEnd()) {
                        kindLines.push_back({names[e.device],
                                             std::vector<Decimator>(std::size_t(DeviceData::seriesCount(kind)),
                                                                    Decimator(x0, x1, columns))});
                        known = byName[int(kind)].insert(names[e.device], kindLines.size() - 1);
                    }
                    line = *known;
                }
                ++data.readings;
                take(lines[int(kind)][line], double(times[e.sample]), e);
            }
        };
        forEach(DeviceKind::Filesystems, slice.tables.filesystems, [](Line &l, double x, const FilesystemUsage &f) {
            if (const double used = metrics::filesystemPercent(f); used >= 0)
                l.add(DeviceData::FsUsed, x, used);
            if (f.inodesTotal > 0) // btrfs and friends report no inode counts
                l.add(DeviceData::FsInodes, x, 100.0 * double(f.inodesUsed) / double(f.inodesTotal));
        });
        forEach(DeviceKind::Disks, slice.tables.disks, [](Line &l, double x, const DiskIo &d) {
            l.add(DeviceData::DiskRead, x, metrics::perSecond(d.readBytes, d.intervalMs));
            l.add(DeviceData::DiskWrite, x, metrics::perSecond(d.writeBytes, d.intervalMs));
            l.add(DeviceData::DiskBusy, x, metrics::diskBusyPercent(d));
        });
        forEach(DeviceKind::Networks, slice.tables.networks, [](Line &l, double x, const NetworkIo &n) {
            l.add(DeviceData::NetRx, x, metrics::perSecond(n.rxBytes, n.intervalMs));
            l.add(DeviceData::NetTx, x, metrics::perSecond(n.txBytes, n.intervalMs));
        });
        forEach(DeviceKind::Temperatures, slice.tables.temperatures, [](Line &l, double x, const Temperature &t) {
            l.add(DeviceData::TempCelsius, x, t.milliCelsius / 1000.0);
            l.hasCritical = t.criticalMilliCelsius != noCriticalTemperature;
            l.critical = l.hasCritical ? t.criticalMilliCelsius / 1000.0 : 0;
        });
    }
    for (int kind = 0; kind < deviceKindCount; ++kind) {
        std::vector<Line> &kindLines = lines[kind];
        std::sort(kindLines.begin(), kindLines.end(), [](const Line &a, const Line &b) { return a.name < b.name; });
        for (Line &l : kindLines) {
            DeviceLines out;
            out.name = l.name;
            for (Decimator &d : l.series)
                out.series.append(d.take());
            out.peak = l.peak;
            out.last = l.last;
            out.criticalCelsius = l.critical;
            out.hasCritical = l.hasCritical;
            data.kinds[kind].append(std::move(out));
        }
    }
    data.readMs = timer.elapsed();
    qCDebug(lcDashboard) << "devices" << request.clientId << data.readings << "readings in" << data.readMs << "ms";
    return data;
}

} // namespace autofact::dashboard
