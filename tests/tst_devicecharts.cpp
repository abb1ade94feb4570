// SPDX-License-Identifier: MIT
// The detail view's Devices tab: device readings stored through the normal ingest path, read
// and decimated on the reader's thread, charted per device with a selector; a client without
// readings gets a sentence instead of empty charts.
#include "clientdetailview.h"
#include "devicechartsview.h"
#include "historychartview.h"
#include "storereader.h"
#include "storetesting.h"
#include "testdata.h"

#include <QComboBox>
#include <QLabel>
#include <QLineSeries>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

using namespace autofact;
using namespace autofact::dashboard;
using server::Store;

namespace {
// Sample times on a whole hour: a range from here is aligned like the fixed ranges.
constexpr qint64 kStart = 1'699'999'200'000;
constexpr int kSamples = 120;

QStringList names(const QList<DeviceLines> &devices)
{
    QStringList out;
    for (const DeviceLines &d : devices)
        out << d.name;
    return out;
}

QStringList items(const QComboBox *box)
{
    QStringList out;
    for (int i = 0; i < box->count(); ++i)
        out << box->itemText(i);
    return out;
}

const DeviceLines *find(const DeviceData &data, DeviceKind kind, const QString &name)
{
    for (const DeviceLines &d : data.devices(kind))
        if (d.name == name)
            return &d;
    return nullptr;
}
} // namespace

class TestDeviceCharts : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_path = m_dir.filePath(QStringLiteral("devices.db"));
        Store store(m_path);
        QVERIFY_STORE(store.open());
        // "new": two minutes of one-second samples, every reading testdata::addDevices makes.
        // "old": the same samples without device tables (an agent before issue 17).
        for (const char *host : {"new", "old"}) {
            Hello hello;
            hello.hostname = QString::fromLatin1(host);
            hello.cpuCount = 2;
            const QString id = STORE_OK(testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("t"), 1)).clientId;
            (hello.hostname == u"new" ? m_newId : m_oldId) = id;
            for (int b = 0; b < kSamples / 60; ++b) {
                SampleBatch batch = testdata::makeBatch(std::uint64_t(b + 1), 60, 2, kStart + b * 60'000);
                if (hello.hostname == u"new")
                    testdata::addDevices(batch);
                const Store::IngestItem item{id, &batch};
                QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), kStart + (b + 1) * 60'000)).front().status,
                         Store::IngestResult::Status::Stored);
            }
        }
    }

    void readerChartsEachDeviceFromTheStore()
    {
        Store store(m_path, server::StoreOptions{server::StoreOptions::Mode::ReadOnly});
        QVERIFY_STORE(store.open());
        DeviceRequest request;
        request.id = 1;
        request.clientId = m_newId;
        request.fromMs = kStart;
        request.toMs = kStart + 3600'000;
        request.columns = 4000; // wider than the data: every reading is a point
        const DeviceData data = StoreReader::readDevices(store, request);
        QVERIFY2(data.error.isEmpty(), qPrintable(data.error));
        QVERIFY(data.hasReadings);
        QCOMPARE(data.readings, qint64(kSamples) * 7); // 2 filesystems, 1 disk, 2 interfaces, 2 sensors
        QCOMPARE(names(data.devices(DeviceKind::Filesystems)), (QStringList{QStringLiteral("/"), QStringLiteral("/srv/my data")}));
        QCOMPARE(names(data.devices(DeviceKind::Disks)), QStringList{QStringLiteral("nvme0n1")});
        QCOMPARE(names(data.devices(DeviceKind::Networks)), (QStringList{QStringLiteral("eth0"), QStringLiteral("wlp2s0")}));
        QCOMPARE(names(data.devices(DeviceKind::Temperatures)),
                 (QStringList{QStringLiteral("coretemp/Package id 0"), QStringLiteral("nvme/Composite")}));

        // The points are the readings' formulas at the samples' times (addDevices counts k
        // samples into each batch of 60).
        const DeviceLines *eth = find(data, DeviceKind::Networks, QStringLiteral("eth0"));
        QVERIFY(eth);
        QCOMPARE(eth->series[DeviceData::NetRx].size(), kSamples);
        for (int i = 0; i < kSamples; ++i) {
            const int k = i % 60;
            QCOMPARE(eth->series[DeviceData::NetRx][i], QPointF(double(kStart + i * 1000), 125'000.0 + 1500.0 * k));
            QCOMPARE(eth->series[DeviceData::NetTx][i].y(), 9'000.0 + k);
        }
        QCOMPARE(eth->peak, 125'000.0 + 1500.0 * 59);
        const DeviceLines *data2 = find(data, DeviceKind::Filesystems, QStringLiteral("/srv/my data"));
        QVERIFY(data2);
        const double used = double(1ull << 40) + 59.0 * 1'048'576;
        QCOMPARE(data2->series[DeviceData::FsUsed].last().y(), 100.0 * used / (used + double(900ull << 30)));
        QCOMPARE(data2->series[DeviceData::FsInodes].first().y(), 100.0 * 52'000 / 134'217'728);
        const DeviceLines *nvme = find(data, DeviceKind::Disks, QStringLiteral("nvme0n1"));
        QVERIFY(nvme);
        QCOMPARE(nvme->series[DeviceData::DiskWrite][1].y(), 65'536.0);
        QCOMPARE(nvme->series[DeviceData::DiskBusy][1].y(), 3.1); // 31 ms of 1000
        const DeviceLines *package = find(data, DeviceKind::Temperatures, QStringLiteral("coretemp/Package id 0"));
        const DeviceLines *composite = find(data, DeviceKind::Temperatures, QStringLiteral("nvme/Composite"));
        QVERIFY(package && composite);
        QCOMPARE(package->series[DeviceData::TempCelsius].first().y(), 45.0);
        QVERIFY(package->hasCritical);
        QCOMPARE(package->criticalCelsius, 100.0);
        QVERIFY(!composite->hasCritical);
        QCOMPARE(composite->series[DeviceData::TempCelsius].first().y(), 38.85);

        // A narrow chart gets about two points a pixel column, extremes kept.
        request.columns = 10;
        request.toMs = kStart + kSamples * 1000;
        const DeviceData narrow = StoreReader::readDevices(store, request);
        const QList<QPointF> &rx = find(narrow, DeviceKind::Networks, QStringLiteral("eth0"))->series[DeviceData::NetRx];
        QVERIFY2(rx.size() <= 2 * 10 + 2, qPrintable(QString::number(rx.size())));
        const auto [lo, hi] = std::minmax_element(rx.cbegin(), rx.cend(), [](QPointF a, QPointF b) { return a.y() < b.y(); });
        QCOMPARE(lo->y(), 125'000.0);
        QCOMPARE(hi->y(), 125'000.0 + 1500.0 * 59);

        // A range without readings has none; a client that never sent any says so.
        request.fromMs = kStart - 7 * 86'400'000;
        request.toMs = kStart - 86'400'000;
        const DeviceData before = StoreReader::readDevices(store, request);
        QVERIFY(before.hasReadings);
        QCOMPARE(before.readings, 0);
        QVERIFY(before.devices(DeviceKind::Networks).isEmpty());
        request.clientId = m_oldId;
        request.toMs = kStart + 3600'000;
        QVERIFY(!StoreReader::readDevices(store, request).hasReadings);
    }

    void aWeekReadsInSlicesAndCountsEachReadingOnce()
    {
        // Readings every ten minutes of a week plus a day before it: the reader walks hour
        // slices, and every reading in range is counted once, whatever slice holds it.
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("week.db"));
        constexpr qint64 day = 86'400'000;
        qint64 inRange = 0;
        const qint64 from = kStart;
        const qint64 to = kStart + 7 * day;
        QString id;
        {
            Store store(path);
            QVERIFY_STORE(store.open());
            AgentConfig slow = STORE_OK(store.configs().defaultConfig());
            slow.sampleIntervalMs = 600'000;
            slow.sendIntervalMs = 3600'000;
            STORE_OK(store.configs().setDefaultConfig(slow));
            Hello hello;
            hello.hostname = QStringLiteral("week");
            id = STORE_OK(testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("t"), 1)).clientId;
            std::uint64_t seq = 0;
            for (qint64 t = from - day; t < to + day; t += 6 * 600'000) {
                SampleBatch batch = testdata::makeBatch(++seq, 6, 0, t);
                for (std::size_t i = 0; i < batch.samples.size(); ++i) {
                    batch.samples[i].timestampMs = t + qint64(i) * 600'000;
                    batch.samples[i].flags = 0;
                    inRange += batch.samples[i].timestampMs >= from && batch.samples[i].timestampMs < to;
                }
                testdata::addDevices(batch);
                const Store::IngestItem item{id, &batch};
                QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), t + 6 * 600'000)).front().status,
                         Store::IngestResult::Status::Stored);
            }
        }
        Store store(path, server::StoreOptions{server::StoreOptions::Mode::ReadOnly});
        QVERIFY_STORE(store.open());
        DeviceRequest request;
        request.id = 3;
        request.clientId = id;
        request.fromMs = from;
        request.toMs = to;
        request.columns = 800;
        const DeviceData data = StoreReader::readDevices(store, request);
        QVERIFY2(data.error.isEmpty(), qPrintable(data.error));
        QCOMPARE(inRange, 7 * 144);
        QCOMPARE(data.readings, inRange * 7);
        const QList<QPointF> &fs = find(data, DeviceKind::Filesystems, QStringLiteral("/"))->series[DeviceData::FsUsed];
        QVERIFY(fs.first().x() >= double(from));
        QVERIFY(fs.last().x() < double(to));
        QVERIFY(fs.size() <= 2 * 800 + 2);
        // A newer request posted meanwhile stops the read: its answer would be dropped anyway.
        const std::atomic<quint64> newer{4};
        QVERIFY(StoreReader::readDevices(store, request, &newer).readings < data.readings);
    }

    void detailViewChartsTheChosenDevice()
    {
        QThread thread;
        auto *reader = new StoreReader(m_path);
        reader->moveToThread(&thread);
        connect(&thread, &QThread::finished, reader, &QObject::deleteLater);
        thread.start();
        const auto stop = qScopeGuard([&] {
            thread.quit();
            thread.wait();
        });

        ClientDetailView view(reader);
        view.resize(1200, 800);
        view.setCustomRange(kStart, kStart + 5 * 60'000);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QSignalSpy shown(&view, &ClientDetailView::devicesShown);
        server::ClientInfo info;
        info.id = m_newId;
        info.hostname = QStringLiteral("new");
        view.setClient(info);
        QVERIFY(!view.showsDevices()); // CPU and memory first; devices are read once asked for
        view.setDevicesShown(true);
        QVERIFY(shown.wait(5000));
        DeviceChartsView *charts = view.deviceCharts();
        QVERIFY(charts->isVisible());
        QVERIFY(!charts->showsNoReadings());
        QCOMPARE(charts->shownData().readings, qint64(kSamples) * 7);

        // Each selector lists its kind's devices; the default is the one most worth a look.
        QComboBox *fsBox = charts->selector(DeviceKind::Filesystems);
        QComboBox *netBox = charts->selector(DeviceKind::Networks);
        QComboBox *tempBox = charts->selector(DeviceKind::Temperatures);
        QCOMPARE(items(fsBox), (QStringList{QStringLiteral("/"), QStringLiteral("/srv/my data")}));
        QCOMPARE(items(netBox), (QStringList{QStringLiteral("eth0"), QStringLiteral("wlp2s0")}));
        QCOMPARE(items(charts->selector(DeviceKind::Disks)), QStringList{QStringLiteral("nvme0n1")});
        QCOMPARE(items(tempBox), (QStringList{QStringLiteral("coretemp/Package id 0"), QStringLiteral("nvme/Composite")}));
        QCOMPARE(charts->selectedDevice(DeviceKind::Filesystems), QStringLiteral("/srv/my data")); // the fullest
        QCOMPARE(charts->selectedDevice(DeviceKind::Networks), QStringLiteral("eth0"));            // the busiest
        QCOMPARE(charts->selectedDevice(DeviceKind::Temperatures), QStringLiteral("coretemp/Package id 0"));

        // The network chart draws eth0's rates, in kB/s (125 to 213.5 kB/s).
        HistoryChartView *net = charts->chart(DeviceKind::Networks);
        QLineSeries *rx = net->series()[DeviceData::NetRx];
        QCOMPARE(rx->count(), kSamples);
        QCOMPARE(rx->at(0), QPointF(double(kStart), 125.0));
        QCOMPARE(rx->at(59).y(), 125.0 + 1.5 * 59);
        QVERIFY(net->valuesAt(double(kStart)).contains(QStringLiteral("kB/s")));

        // Switching interface as a user does (keyboard on the selector) redraws the series.
        netBox->setFocus();
        QTest::keyClick(netBox, Qt::Key_Down);
        QCOMPARE(charts->selectedDevice(DeviceKind::Networks), QStringLiteral("wlp2s0"));
        QCOMPARE(rx->count(), kSamples);
        for (int i = 0; i < rx->count(); ++i)
            QCOMPARE(rx->at(i).y(), 0.0);
        // The choice survives a reload of the range.
        const int answers = int(shown.count());
        view.reload();
        QTRY_COMPARE_WITH_TIMEOUT(int(shown.count()), answers + 1, 5000);
        QCOMPARE(charts->selectedDevice(DeviceKind::Networks), QStringLiteral("wlp2s0"));

        // Temperatures: the critical threshold is a dashed line where the kernel gives one.
        HistoryChartView *temp = charts->chart(DeviceKind::Temperatures);
        QLineSeries *critical = temp->series()[DeviceData::TempSeriesCount];
        QCOMPARE(critical->name(), QStringLiteral("critical 100 °C"));
        QCOMPARE(critical->pen().style(), Qt::DashLine);
        QCOMPARE(critical->at(0).y(), 100.0);
        QCOMPARE(temp->series()[DeviceData::TempCelsius]->at(0).y(), 45.0);
        tempBox->setFocus();
        QTest::keyClick(tempBox, Qt::Key_Down);
        QCOMPARE(charts->selectedDevice(DeviceKind::Temperatures), QStringLiteral("nvme/Composite"));
        QCOMPARE(critical->count(), 0);
        QCOMPARE(critical->name(), QStringLiteral("no critical threshold reported"));
        QCOMPARE(temp->series()[DeviceData::TempCelsius]->at(0).y(), 38.85);

        // Disk busy % on its own axis beside the byte rates.
        HistoryChartView *disk = charts->chart(DeviceKind::Disks);
        QCOMPARE(disk->series()[DeviceData::DiskBusy]->at(0).y(), 3.0);
        QVERIFY(disk->valuesAt(double(kStart)).contains(QStringLiteral("busy: 3.0 %")));

        // Another client: the choices start over.
        server::ClientInfo old;
        old.id = m_oldId;
        old.hostname = QStringLiteral("old");
        view.setClient(old);
        QVERIFY(shown.wait(5000));
        QVERIFY(charts->showsNoReadings());
        auto *label = charts->findChild<QLabel *>(QStringLiteral("noDeviceReadings"));
        QVERIFY(label && label->isVisible());
        QVERIFY(label->text().startsWith(QStringLiteral("No device readings from this agent")));
        QVERIFY(!charts->chart(DeviceKind::Networks)->isVisible());
        view.setClient(info);
        QVERIFY(shown.wait(5000));
        QVERIFY(!charts->showsNoReadings());
        QCOMPARE(charts->selectedDevice(DeviceKind::Networks), QStringLiteral("eth0"));
    }

    void zoomingADeviceChartMovesEveryChart()
    {
        QThread thread;
        auto *reader = new StoreReader(m_path);
        reader->moveToThread(&thread);
        connect(&thread, &QThread::finished, reader, &QObject::deleteLater);
        thread.start();
        const auto stop = qScopeGuard([&] {
            thread.quit();
            thread.wait();
        });
        ClientDetailView view(reader);
        view.resize(1200, 800);
        view.setCustomRange(kStart, kStart + 5 * 60'000);
        view.setDevicesShown(true);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QSignalSpy shown(&view, &ClientDetailView::devicesShown);
        server::ClientInfo info;
        info.id = m_newId;
        view.setClient(info);
        QVERIFY(shown.wait(5000));
        // Panned by a minute on the network chart: the CPU chart follows, and the devices are
        // read again for the new range.
        Q_EMIT view.deviceCharts()->chart(DeviceKind::Networks)->userRangeChanged(kStart + 60'000, kStart + 6 * 60'000);
        QCOMPARE(view.cpuChart()->xFrom(), kStart + 60'000);
        QCOMPARE(view.deviceCharts()->chart(DeviceKind::Filesystems)->xFrom(), kStart + 60'000);
        QVERIFY(shown.wait(5000));
        QCOMPARE(view.deviceCharts()->shownData().fromMs, kStart + 60'000);
        QCOMPARE(view.deviceCharts()->shownData().readings, qint64(kSamples - 60) * 7);
    }

private:
    QTemporaryDir m_dir;
    QString m_path;
    QString m_newId;
    QString m_oldId;
};

QTEST_MAIN(TestDeviceCharts)
#include "tst_devicecharts.moc"
