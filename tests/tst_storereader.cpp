// SPDX-License-Identifier: MIT
// Long ranges are charted from per-minute rollups; the chart must show the same extremes as
// when it is built from every raw sample.
#include "clienttablemodel.h"
#include "storereader.h"
#include "storetesting.h"
#include "testdata.h"

#include "store/chunksealer.h"
#include "store/devicehistory.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <tuple>

using namespace autofact;
using namespace autofact::dashboard;
using autofact::server::Store;

class TestStoreReader : public QObject
{
    Q_OBJECT
private slots:
    void readsAcrossTierBoundaries()
    {
        // Three days at 10 s; raw kept a day, minutes two: a three-day chart at raw resolution
        // draws day one from hours, day two from minutes, day three from samples.
        QTemporaryDir dir;
        Store store(dir.filePath(QStringLiteral("t.db")));
        QVERIFY_STORE(store.open());
        AgentConfig tenSeconds = STORE_OK(store.configs().defaultConfig());
        tenSeconds.sampleIntervalMs = 10'000;
        tenSeconds.sendIntervalMs = 600'000;
        STORE_OK(store.configs().setDefaultConfig(tenSeconds));
        Hello hello;
        hello.hostname = QStringLiteral("h");
        hello.cpuCount = 1;
        const QString id = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("t"), 1)).clientId;
        constexpr qint64 day = 86'400'000;
        const qint64 end = 1'700'006'400'000 - 1'700'006'400'000 % 3'600'000;
        quint64 seq = 0;
        for (qint64 t = end - 3 * day; t < end; t += 600'000) {
            SampleBatch b = testdata::makeBatch(++seq, 60, 0, t);
            b.droppedTotal = 0;
            for (std::size_t i = 0; i < b.samples.size(); ++i) {
                b.samples[i].timestampMs = t + qint64(i) * 10'000;
                b.samples[i].flags = 0;
                b.samples[i].cpu = {50, 0, 0, 50, 0, 0, 0, 0, 0};
            }
            const Store::IngestItem item{id, &b};
            QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), t + 600'000)).front().status,
                     Store::IngestResult::Status::Stored);
        }
        server::RetentionSettings keep;
        keep.keepRawMs = day;
        keep.keepMinutesMs = 2 * day;
        STORE_OK(store.retention().setSettings(keep));
        while (STORE_OK(store.retention().purgeSlice(end, 100000)).more) {
        }
        HistoryRequest request;
        request.clientId = id;
        request.fromMs = end - 3 * day;
        request.toMs = end;
        request.columns = 10'000; // 26 s a column: raw where there is raw
        const StoreReader::TierPlan plan = StoreReader::planTiers(store, id, request.fromMs, request.toMs, request.columns, false);
        QCOMPARE(plan.hoursEnd, end - 2 * day);
        QCOMPARE(plan.minutesEnd, end - day);
        const HistoryData data = StoreReader::readHistory(store, request);
        QVERIFY(data.error.isEmpty());
        QVERIFY(data.fromRollups);
        const QList<QPointF> &user = data.cpu[HistoryData::CpuUser];
        int perDay[3] = {0, 0, 0};
        for (const QPointF &p : user) {
            QCOMPARE(p.y(), 50.0);
            ++perDay[std::clamp(int((qint64(p.x()) - request.fromMs) / day), 0, 2)];
        }
        QVERIFY2(perDay[0] >= 24 && perDay[0] <= 2 * 24 + 2, qPrintable(QString::number(perDay[0]))); // hours
        QVERIFY2(perDay[1] > 100 && perDay[1] <= 2 * 1440 + 2, qPrintable(QString::number(perDay[1]))); // minutes
        QVERIFY2(perDay[2] > 1440, qPrintable(QString::number(perDay[2])));                               // samples
        QCOMPARE(data.samples, 3 * 8640); // every sample, counted once whichever tier drew it
        // The "expired" gap is there for the chart to tint, not to blank.
        bool expired = false;
        for (const server::Gap &g : data.gaps)
            expired = expired || g.reason == QStringLiteral("expired");
        QVERIFY(expired);
        // The compare view reads across the same boundaries.
        CompareRequest compare;
        compare.clientIds = {id};
        compare.fromMs = request.fromMs;
        compare.toMs = request.toMs;
        compare.columns = 10'000;
        const CompareData c = StoreReader::readCompare(store, compare);
        QCOMPARE(c.samples, 3 * 8640);
        QVERIFY(c.series.front().points.first().x() < double(end - 2 * day));
    }

    void compareReadsOneMetricPerHost()
    {
        QTemporaryDir dir;
        Store store(dir.filePath(QStringLiteral("c.db")));
        QVERIFY_STORE(store.open());
        // Two hosts for a day at 10 s: "busy" at a steady 70 % on 4 cores with load 2, "idle"
        // at 10 % on 2 cores with load 0.5 and an hour missing (a recorded gap).
        const qint64 from = 1'700'000'000'000 - 1'700'000'000'000 % 60000;
        AgentConfig tenSeconds = STORE_OK(store.configs().defaultConfig());
        tenSeconds.sampleIntervalMs = 10'000;
        tenSeconds.sendIntervalMs = 600'000;
        STORE_OK(store.configs().setDefaultConfig(tenSeconds));
        QStringList ids;
        for (const auto &[host, cores, user, load] : {std::tuple{"busy", 4, 70.0f, 2.0f}, std::tuple{"idle", 2, 10.0f, 0.5f}}) {
            Hello hello;
            hello.hostname = QString::fromLatin1(host);
            hello.cpuCount = std::uint16_t(cores);
            const QString id = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("t"), 1)).clientId;
            ids.append(id);
            std::uint64_t seq = 0;
            for (int start = 0; start < 8640; start += 60) {
                if (ids.size() == 2 && start >= 3600 && start < 3960)
                    continue; // an hour of silence: the next batch records a gap
                SampleBatch b = testdata::makeBatch(++seq, 60, 0, from + qint64(start) * 10'000);
                b.droppedTotal = 0;
                for (std::size_t i = 0; i < b.samples.size(); ++i) {
                    Sample &x = b.samples[i];
                    x.timestampMs = from + qint64(start + int(i)) * 10'000;
                    x.cpu = {user, 0, 0, 100 - user, 0, 0, 0, 0, 0};
                    x.load1 = load;
                    x.memory.total = 8ull << 30;
                    x.memory.used = 2ull << 30;
                }
                const Store::IngestItem item{id, &b};
                QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), b.samples.back().timestampMs)).front().status,
                         Store::IngestResult::Status::Stored);
            }
        }
        CompareRequest request;
        request.clientIds = {ids[0], QStringLiteral("nobody"), ids[1]};
        request.fromMs = from;
        request.toMs = from + 86'400'000;
        for (const int columns : {2000, 200}) { // 43 s per column: raw samples; 432 s: rollups
            request.columns = columns;
            for (const auto &[metric, expectBusy, expectIdle] :
                 {std::tuple{CompareMetric::CpuBusy, 70.0, 10.0}, std::tuple{CompareMetric::MemoryUsed, 25.0, 25.0},
                  std::tuple{CompareMetric::LoadPerCore, 0.5, 0.25}, std::tuple{CompareMetric::CpuIowait, 0.0, 0.0}}) {
                request.metric = metric;
                const CompareData data = StoreReader::readCompare(store, request);
                QVERIFY2(data.error.isEmpty(), qPrintable(data.error));
                QCOMPARE(data.fromRollups, columns == 200);
                QCOMPARE(data.series.size(), 2); // the unknown client is left out
                QCOMPARE(data.series[0].hostname, QStringLiteral("busy"));
                QCOMPARE(data.series[1].clientId, ids[1]);
                QCOMPARE(data.samples, qint64(8640 + 8640 - 360));
                for (int h = 0; h < 2; ++h) {
                    const QList<QPointF> &points = data.series[h].points;
                    QVERIFY(points.size() > 50 && points.size() <= 2 * columns + 2);
                    for (const QPointF &p : points)
                        QVERIFY2(std::abs(p.y() - (h == 0 ? expectBusy : expectIdle)) < 1e-4,
                                 qPrintable(QStringLiteral("%1 at %2").arg(p.y()).arg(p.x())));
                }
                QVERIFY(data.series[0].gaps.isEmpty());
                QCOMPARE(data.series[1].gaps.size(), 1);
                QCOMPARE(data.series[1].gaps.front().startMs, from + qint64(3599) * 10'000);
            }
        }
        // A newer request posted meanwhile stops the read.
        std::atomic<quint64> latest{5};
        request.id = 4;
        QVERIFY(StoreReader::readCompare(store, request, &latest).series.isEmpty());
    }

    void rollupsShowTheSameExtremesAsRawSamples()
    {
        QTemporaryDir dir;
        Store store(dir.filePath(QStringLiteral("h.db")));
        QVERIFY_STORE(store.open());
        Hello hello;
        hello.hostname = QStringLiteral("h");
        const QString id = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("test"), 1)).clientId;
        QVERIFY(!id.isEmpty());

        // Three days at 10 s, values that wander and spike, in 60-sample batches.
        const qint64 from = 1'700'000'000'000 - 1'700'000'000'000 % 60000;
        const int total = 3 * 8640;
        std::uint64_t seq = 0;
        for (int start = 0; start < total; start += 60) {
            SampleBatch b = testdata::makeBatch(++seq, 60, 1, from + qint64(start) * 10'000);
            b.droppedTotal = 0;
            for (std::size_t i = 0; i < b.samples.size(); ++i) {
                const int n = start + int(i);
                b.samples[i].timestampMs = from + qint64(n) * 10'000;
                b.samples[i].cpu.user = float(40 + 30 * std::sin(n / 500.0) + (n % 997 == 0 ? 25 : 0));
                b.samples[i].cpu.nice = 0;
                b.samples[i].cpu.iowait = float((qint64(n) * 7919) % 100) / 10.0f;
                b.samples[i].memory.used = (8ull << 30) + quint64((qint64(n) * 104729) % 1000) * (1 << 20);
            }
            const Store::IngestItem item{id, &b};
            QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), 1)).front().status,
                     Store::IngestResult::Status::Stored);
        }

        HistoryRequest request;
        request.clientId = id;
        request.fromMs = from;
        request.toMs = from + qint64(total) * 10'000;
        request.columns = 300; // 864 s per column: rollups
        const HistoryData rolled = StoreReader::readHistory(store, request);
        request.withCores = true; // forces raw samples
        const HistoryData raw = StoreReader::readHistory(store, request);
        QVERIFY(rolled.fromRollups);
        QVERIFY(!raw.fromRollups);
        QCOMPARE(rolled.samples, qint64(total));
        QCOMPARE(raw.samples, qint64(total));
        QCOMPARE(raw.cores.size(), 1);
        QVERIFY(rolled.cores.isEmpty());

        const double span = double(request.toMs - request.fromMs);
        const auto extremes = [&](const QList<QPointF> &points) {
            std::vector<std::pair<double, double>> cols(std::size_t(request.columns), {1e300, -1e300});
            for (const QPointF &p : points) {
                const auto c = std::size_t(std::clamp(int((p.x() - double(request.fromMs)) / span * request.columns), 0,
                                                      request.columns - 1));
                cols[c].first = std::min(cols[c].first, p.y());
                cols[c].second = std::max(cols[c].second, p.y());
            }
            return cols;
        };
        const auto check = [&](const QList<QPointF> &a, const QList<QPointF> &b, const char *what) {
            const auto ca = extremes(a);
            const auto cb = extremes(b);
            double minA = 1e300, maxA = -1e300, minB = 1e300, maxB = -1e300;
            for (std::size_t c = 0; c < ca.size(); ++c) {
                minA = std::min(minA, ca[c].first);
                maxA = std::max(maxA, ca[c].second);
                minB = std::min(minB, cb[c].first);
                maxB = std::max(maxB, cb[c].second);
                // A minute straddling a column edge may land in the neighbour column.
                const std::size_t lo = c == 0 ? 0 : c - 1;
                const std::size_t hi = std::min(ca.size() - 1, c + 1);
                double nearMax = -1e300;
                for (std::size_t k = lo; k <= hi; ++k)
                    nearMax = std::max(nearMax, cb[k].second);
                QVERIFY2(ca[c].second <= nearMax + 1e-3,
                         qPrintable(QStringLiteral("%1: column %2 peak %3 not shown near it (%4)")
                                        .arg(QLatin1StringView(what)).arg(c).arg(ca[c].second).arg(nearMax)));
            }
            QCOMPARE(float(minA), float(minB));
            QCOMPARE(float(maxA), float(maxB));
        };
        check(raw.cpu[HistoryData::CpuUser], rolled.cpu[HistoryData::CpuUser], "user");
        check(raw.cpu[HistoryData::CpuIowait], rolled.cpu[HistoryData::CpuIowait], "iowait");
        check(raw.memory[HistoryData::MemUsed], rolled.memory[HistoryData::MemUsed], "used");
        // The rollup read is the cheap one: far fewer rows.
        QVERIFY(rolled.cpu[HistoryData::CpuUser].size() <= 4 * request.columns + 2);
    }

    void recentHistorySeedsSparklines()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("r.db"));
        QString id;
        {
            Store store(path);
            QVERIFY_STORE(store.open());
            Hello hello;
            hello.hostname = QStringLiteral("r");
            id = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("test"), 1)).clientId;
            SampleBatch b = testdata::makeBatch(1, 20, 2, 1'700'000'000'000);
            b.droppedTotal = 0;
            for (std::size_t i = 0; i < b.samples.size(); ++i)
                b.samples[i].cpu.user = float(i);
            const Store::IngestItem item{id, &b};
            QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), 1)).front().status,
                     Store::IngestResult::Status::Stored);
        }
        StoreReader reader(path);
        QSignalSpy spy(&reader, &StoreReader::recentLoaded);
        reader.loadRecent(1'700'000'005'000, 8); // samples 5..19 qualify, the newest 8 kept
        QCOMPARE(spy.size(), 1);
        const RecentHistory recent = spy.first().first().value<RecentHistory>();
        QCOMPARE(recent.size(), 1);
        const QList<SparkPoint> points = recent.value(id);
        QCOMPARE(points.size(), 8);
        QCOMPARE(points.first().timestampMs, 1'700'000'012'000);
        QCOMPARE(points.last().timestampMs, 1'700'000'019'000);
        // cpu = busy: user (i) + nice 0.5 + system 4 + irq .25 + softirq .75 + steal .5
        QCOMPARE(points.last().cpuPercent, 19.0 + 6.0);
    }

    void inventoryBringsEachClientsStoredDeviceFigures()
    {
        // "up": readings an hour ago (every kind), at minute 8 (no temperatures, sealed) and in
        // the next window (network only). "down": one batch, then it left. "old": an agent
        // before issue 17, no readings at all.
        constexpr qint64 t0 = 1'699'999'200'000; // a whole hour: a window starts here
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("d.db"));
        metrics::DeviceSummary expectUp, expectDown;
        QString up, down, old;
        {
            Store store(path);
            QVERIFY_STORE(store.open());
            const auto enrol = [&](const QString &host) {
                Hello hello;
                hello.hostname = host;
                return STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("t"), 1));
            };
            const auto write = [&](const QString &id, const SampleBatch &b) {
                const Store::IngestItem item{id, &b};
                return STORE_OK(store.ingest().write(std::span(&item, 1), b.samples.back().timestampMs + 1000)).front().status
                        == Store::IngestResult::Status::Stored;
            };
            const auto upAuth = enrol(QStringLiteral("up"));
            up = upAuth.clientId;
            down = enrol(QStringLiteral("down")).clientId;
            old = enrol(QStringLiteral("old")).clientId;

            SampleBatch hourAgo = testdata::makeBatch(1, 60, 0, t0 - 3'600'000);
            testdata::addDevices(hourAgo);
            QVERIFY(write(up, hourAgo));
            SampleBatch minute8 = testdata::makeBatch(2, 60, 0, t0 + 8 * 60'000);
            testdata::addDevices(minute8);
            minute8.devices.temperatures.clear();
            minute8.devices.dropInvalid();
            QVERIFY(write(up, minute8));
            STORE_OK(store.devices().sealSlice(t0 + 10 * 60'000 + server::ChunkSealer::graceMs + 1000, 100));
            SampleBatch nextWindow = testdata::makeBatch(3, 60, 0, t0 + 10 * 60'000);
            testdata::addDevices(nextWindow);
            nextWindow.devices.filesystems.clear();
            nextWindow.devices.disks.clear();
            nextWindow.devices.temperatures.clear();
            nextWindow.devices.dropInvalid();
            QVERIFY(write(up, nextWindow));
            // What the hub would have said of the last two batches; the hour-old temperatures
            // are past the 20 minutes looked at.
            expectUp.update(minute8);
            metrics::DeviceSummary network;
            network.update(nextWindow);
            expectUp.merge(network);
            QVERIFY(expectUp.filesystemsMs && expectUp.disksMs && expectUp.networkMs && !expectUp.temperaturesMs);
            QCOMPARE(expectUp.networkMs, t0 + 10 * 60'000 + 59'000);

            SampleBatch downBatch = testdata::makeBatch(1, 30, 0, t0);
            testdata::addDevices(downBatch);
            QVERIFY(write(down, downBatch));
            expectDown.update(downBatch);
            QVERIFY(write(old, testdata::makeBatch(1, 30, 0, t0)));

            // Everyone leaves; "up" comes back.
            STORE_OK(store.enrolment().markAllOffline(t0 + 20 * 60'000, QStringLiteral("test")));
            Hello again;
            again.hostname = QStringLiteral("up");
            again.agentId = up;
            again.secret = upAuth.issuedSecret;
            QCOMPARE(STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(again, QStringLiteral("t"), t0 + 21 * 60'000)).clientId, up);
        }
        {
            // The store method alone: the newest reading of each kind, the same summary.
            Store store(path, server::StoreOptions{server::StoreOptions::Mode::ReadOnly});
            QVERIFY_STORE(store.open());
            QCOMPARE(STORE_OK(store.devices().latestSummary(up)), expectUp);
            QCOMPARE(STORE_OK(store.devices().latestSummary(down)), expectDown);
            QVERIFY(STORE_OK(store.devices().latestSummary(old)).empty());
            QVERIFY(STORE_OK(store.devices().latestSummary(QStringLiteral("no-such-client"))).empty());
        }

        StoreReader reader(path);
        QSignalSpy inventory(&reader, &StoreReader::inventoryLoaded);
        QSignalSpy summaries(&reader, &StoreReader::deviceSummariesLoaded);
        reader.loadInventory();
        QCOMPARE(inventory.count(), 1);
        QCOMPARE(summaries.count(), 1);
        const auto figures = summaries.first().first().value<QHash<QString, metrics::DeviceSummary>>();
        QCOMPARE(figures.size(), 2); // "old" has nothing to say
        QCOMPARE(figures.value(up), expectUp);
        QCOMPARE(figures.value(down), expectDown);
        // Read once per client: the five-second refreshes do not read device history again.
        reader.loadInventory();
        QCOMPARE(inventory.count(), 2);
        QCOMPARE(summaries.count(), 1);

        // The table the dashboard builds from both answers, right after start-up.
        ClientTableModel model;
        model.setNow(t0 + 22 * 60'000);
        model.setInventory(inventory.first().first().value<QList<server::ClientInfo>>());
        model.setStoredDevices(figures);
        const auto cell = [&](const QString &id, int column, int role = Qt::DisplayRole) {
            return model.index(model.rowOf(id), column).data(role);
        };
        QCOMPARE(cell(up, ClientTableModel::StatusColumn).toString(), QStringLiteral("up"));
        QCOMPARE(cell(up, ClientTableModel::DiskColumn).toString(), QStringLiteral("53.2 %"));
        QCOMPARE(cell(up, ClientTableModel::NetworkColumn).toString(),
                 QStringLiteral("↓%1 ↑%2").arg(ClientTableModel::rateText(expectUp.rxBytesPerSec),
                                              ClientTableModel::rateText(expectUp.txBytesPerSec)));
        QVERIFY(cell(up, ClientTableModel::DiskColumn, Qt::ToolTipRole).toString().contains(QStringLiteral("/srv/my data")));
        // Offline: the last fill level, greyed; no network rate (it is not one now).
        QCOMPARE(cell(down, ClientTableModel::StatusColumn).toString(), QStringLiteral("down"));
        QCOMPARE(cell(down, ClientTableModel::DiskColumn).toString(), QStringLiteral("53.2 %"));
        QVERIFY(cell(down, ClientTableModel::DiskColumn, Qt::ForegroundRole).isValid());
        QCOMPARE(cell(down, ClientTableModel::NetworkColumn).toString(), QStringLiteral("—"));
        QCOMPARE(cell(old, ClientTableModel::DiskColumn).toString(), QStringLiteral("—"));
        QCOMPARE(cell(old, ClientTableModel::NetworkColumn).toString(), QStringLiteral("—"));
    }
};

QTEST_MAIN(TestStoreReader)
#include "tst_storereader.moc"
