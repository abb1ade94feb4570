// SPDX-License-Identifier: MIT
#include "store/devicechunk.h"
#include "testdata.h"

#include <QFile>
#include <QTest>

using namespace autofact;
using namespace autofact::server;

namespace {

DeviceSeries seriesOf(std::initializer_list<SampleBatch> batches)
{
    DeviceSeries out;
    for (const SampleBatch &b : batches)
        out.appendBatch(b);
    return out;
}

SampleBatch withDevices(quint64 seq, int samples, qint64 startMs)
{
    SampleBatch b = testdata::makeBatch(seq, samples, 1, startMs);
    testdata::addDevices(b);
    return b;
}

} // namespace

Q_DECLARE_METATYPE(autofact::server::DeviceSeries)

class TestDeviceChunk : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void roundTrip_data()
    {
        QTest::addColumn<DeviceSeries>("series");
        QTest::addRow("empty") << DeviceSeries{};
        QTest::addRow("one sample") << seriesOf({withDevices(1, 1, 1'700'000'000'000)});
        QTest::addRow("ten minutes") << seriesOf({withDevices(1, 600, 1'700'000'000'000)});
        // Kinds at different rates: filesystems on every tenth sample only.
        SampleBatch sparse = withDevices(2, 60, 1'700'000'100'000);
        std::erase_if(sparse.devices.filesystems, [](const FilesystemUsage &f) { return f.sample % 10 != 0; });
        QTest::addRow("filesystems every tenth sample") << seriesOf({sparse});
        // Extremes every field can hold, and a counter that resets.
        SampleBatch edges = withDevices(3, 3, 1'700'000'200'000);
        edges.devices.filesystems[0].sizeBytes = protocol::maxCounter;
        edges.devices.networks[0].rxBytes = protocol::maxCounter;
        edges.devices.networks[2].rxBytes = 0;
        edges.devices.disks[1].intervalMs = UINT32_MAX;
        edges.devices.temperatures[0].milliCelsius = protocol::minMilliCelsius;
        edges.devices.temperatures[1].milliCelsius = protocol::maxMilliCelsius;
        edges.devices.names[0] = QStringLiteral("/mnt/ü space\ttab");
        QTest::addRow("edges") << seriesOf({edges});
    }

    void roundTrip()
    {
        QFETCH(DeviceSeries, series);
        const QByteArray blob = DeviceChunk::encode(series);
        DeviceSeries back;
        QString error;
        QVERIFY2(DeviceChunk::decode(blob, back, &error), qPrintable(error));
        QVERIFY(back == series);
    }

    void mergeKeepsTimeOrder()
    {
        const DeviceSeries a = seriesOf({withDevices(1, 5, 1'700'000'000'000)});
        const DeviceSeries b = seriesOf({withDevices(2, 5, 1'700'000'002'500)});
        const DeviceSeries m = DeviceSeries::merged({&a, &b});
        QCOMPARE(m.timestamps.size(), std::size_t(10));
        QVERIFY(std::is_sorted(m.timestamps.begin(), m.timestamps.end()));
        QCOMPARE(m.tables.filesystems.size(), std::size_t(20));
        // Each reading keeps its own values: the second batch's third sample sits at index 7.
        QCOMPARE(m.timestamps[7], 1'700'000'004'500);
        QCOMPARE(m.tables.forSample(7), b.tables.forSample(2));
    }

    void everyTruncationAndFlipIsAnErrorOrConsistent()
    {
        const DeviceSeries series = seriesOf({withDevices(1, 40, 1'700'000'000'000)});
        const QByteArray blob = DeviceChunk::encode(series);
        DeviceSeries out;
        for (qsizetype n = 0; n < blob.size(); ++n)
            QVERIFY(!DeviceChunk::decode(blob.first(n), out));
        for (qsizetype i = 0; i < blob.size(); ++i) {
            for (int bit = 0; bit < 8; ++bit) {
                QByteArray bad = blob;
                bad[i] = char(bad[i] ^ (1 << bit));
                QString error;
                if (!DeviceChunk::decode(bad, out, &error)) {
                    QVERIFY(error.startsWith(u"corrupt device chunk"));
                    continue;
                }
                // What decodes is a consistent series: indexes inside their tables.
                for (const auto &f : out.tables.filesystems) {
                    QVERIFY(f.sample < out.timestamps.size());
                    QVERIFY(f.device < out.tables.names.size());
                }
            }
        }
    }

    void fuzzSeedsDecodeToWhatTheyWereBuiltWith()
    {
        // tests/fuzz/corpus/fuzz_devicechunk: written by hand from docs/STORAGE.md's layout.
        const QString dir = QStringLiteral(AUTOFACT_SOURCE_DIR "/tests/fuzz/corpus/fuzz_devicechunk/");
        DeviceSeries plain, zstd;
        for (const auto &[name, out] : {std::pair{"plain-filesystems-network-temps", &plain},
                                        std::pair{"zstd-filesystems-network-temps", &zstd}}) {
            QFile file(dir + QLatin1StringView(name));
            QVERIFY2(file.open(QIODevice::ReadOnly), name);
            QString error;
            QVERIFY2(DeviceChunk::decode(file.readAll(), *out, &error), qPrintable(error));
        }
        QVERIFY(plain == zstd);
        QCOMPARE(plain.tables.names, (std::vector<QString>{QStringLiteral("/"), QStringLiteral("eth0")}));
        QCOMPARE(plain.timestamps, (std::vector<qint64>{1'700'000'000'000, 1'700'000'001'000, 1'700'000'002'000}));
        QCOMPARE(plain.tables.filesystems.size(), std::size_t(3));
        QCOMPARE(plain.tables.filesystems[2].usedBytes, 42949672960ull);
        QCOMPARE(plain.tables.networks.size(), std::size_t(2));
        QCOMPARE(plain.tables.networks[1].sample, 2u);
        QCOMPARE(plain.tables.networks[1].rxBytes, 126500ull);
        QCOMPARE(plain.tables.networks[1].rxDrops, 1ull);
        QCOMPARE(plain.tables.temperatures[1].milliCelsius, -5000);
        QCOMPARE(plain.tables.temperatures[1].criticalMilliCelsius, noCriticalTemperature);
    }

    void uncompressedSizeBombRefused()
    {
        // Format 1, zstd, a stated size of 2^40 bytes: refused before anything is allocated.
        QByteArray bomb("\x01\x01", 2);
        for (int i = 0; i < 5; ++i)
            bomb.append(char(0x80));
        bomb.append(char(0x20));
        DeviceSeries out;
        QString error;
        QVERIFY(!DeviceChunk::decode(bomb, out, &error));
        QVERIFY2(error.contains(u"uncompressed size"), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestDeviceChunk)
#include "tst_devicechunk.moc"
