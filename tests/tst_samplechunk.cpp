// SPDX-License-Identifier: MIT
// The raw-sample chunk format: every value read back equals what was sent, to the stated
// precision (exact for integers, 0.01 for percentages and load), for regular and irregular
// clocks, counter resets, edge values, 1 and 4,096 cores; corrupt chunks are errors.
#include "store/samplechunk.h"

#include <QDir>
#include <QFile>
#include <QTest>

#include <cmath>
#include <limits>
#include <random>

using namespace autofact;
using namespace autofact::server;

Q_DECLARE_METATYPE(autofact::server::ChunkSamples)

namespace {

constexpr std::uint64_t kGiB = 1024ull * 1024 * 1024;

/** A plausible machine: percentages that sum to 100, memory that moves, load that drifts. */
ChunkSamples machine(int samples, int cores, std::uint32_t seed, qint64 startMs = 1'780'000'000'000,
                     int jitterMs = 3)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::uniform_int_distribution<int> jitter(-jitterMs, jitterMs);
    ChunkSamples d;
    std::uint64_t free = 3 * kGiB;
    std::vector<float> coreValues(std::size_t(std::max(cores, 1)));
    for (int i = 0; i < samples; ++i) {
        Sample s;
        s.timestampMs = startMs + qint64(i) * 1000 + jitter(rng);
        s.cpu.user = 30.0f * unit(rng);
        s.cpu.system = 10.0f * unit(rng);
        s.cpu.iowait = unit(rng) < 0.1f ? 5.0f * unit(rng) : 0.0f;
        s.cpu.softirq = 0.25f;
        s.cpu.idle = 100.0f - s.cpu.user - s.cpu.system - s.cpu.iowait - s.cpu.softirq;
        s.memory.total = 16 * kGiB;
        free = free + 4096 * std::uint64_t(rng() % 64) - 4096 * 31;
        s.memory.free = free;
        s.memory.available = free + 4 * kGiB;
        s.memory.buffers = 200 * 1024 * 1024;
        s.memory.cached = 3 * kGiB + 4096 * (rng() % 8);
        s.memory.used = s.memory.total - s.memory.available;
        s.memory.swapTotal = 2 * kGiB;
        s.memory.swapFree = 2 * kGiB - 1024 * 1024;
        s.load1 = std::round(unit(rng) * 400.0f) / 100.0f;
        s.load5 = 1.25f;
        s.load15 = 0.75f;
        s.coreCount = quint16(cores);
        s.flags = i == 0 ? FirstAfterStart : 0;
        for (int c = 0; c < cores; ++c)
            coreValues[std::size_t(c)] = 100.0f * unit(rng) * unit(rng);
        d.append(s, 100 + quint64(i / 5), coreValues.data());
    }
    return d;
}

void compareToSent(const ChunkSamples &sent, const ChunkSamples &got)
{
    QCOMPARE(got.size(), sent.size());
    QCOMPARE(got.cores.size(), sent.cores.size());
    const auto close = [](float stored, float original) {
        // Exactly what stored() promises, and that is within 0.005 (plus float rounding).
        return stored == SampleChunk::stored(original)
                && (std::fabs(double(stored) - double(original)) <= 0.005 + 1e-5 || !std::isfinite(original)
                    || std::fabs(double(original)) > 1e13);
    };
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const Sample &a = sent.samples[i];
        const Sample &b = got.samples[i];
        QCOMPARE(b.timestampMs, a.timestampMs);
        QCOMPARE(got.sequences[i], sent.sequences[i]);
        QCOMPARE(b.memory, a.memory);
        QCOMPARE(b.flags, a.flags);
        QCOMPARE(b.coreCount, a.coreCount);
        for (auto field : {&CpuTimes::user, &CpuTimes::nice, &CpuTimes::system, &CpuTimes::idle, &CpuTimes::iowait,
                           &CpuTimes::irq, &CpuTimes::softirq, &CpuTimes::steal, &CpuTimes::guest})
            QVERIFY2(close(b.cpu.*field, a.cpu.*field), qPrintable(QStringLiteral("sample %1: %2 read back as %3")
                                                                      .arg(i).arg(double(a.cpu.*field)).arg(double(b.cpu.*field))));
        for (auto field : {&Sample::load1, &Sample::load5, &Sample::load15})
            QVERIFY2(close(b.*field, a.*field), qPrintable(QStringLiteral("sample %1: load %2 read back as %3")
                                                              .arg(i).arg(double(a.*field)).arg(double(b.*field))));
    }
    for (std::size_t k = 0; k < sent.cores.size(); ++k)
        QVERIFY2(close(got.cores[k], sent.cores[k]), qPrintable(QStringLiteral("core value %1: %2 read back as %3")
                                                                   .arg(k).arg(double(sent.cores[k])).arg(double(got.cores[k]))));
}

} // namespace

class TestSampleChunk : public QObject
{
    Q_OBJECT

private slots:
    void roundTrip_data();
    void roundTrip();
    void loadAveragesWithTwoDecimalsAreExact();
    void zstdAndColumnCodecsShrinkRandomData();
    void corruptChunksAreErrors();
    void fuzzSeedsDecode();
};

void TestSampleChunk::roundTrip_data()
{
    QTest::addColumn<ChunkSamples>("data");
    QTest::addColumn<bool>("zstd");

    QTest::newRow("empty") << ChunkSamples{} << true;
    QTest::newRow("one sample, one core") << machine(1, 1, 1) << true;
    QTest::newRow("600 samples, 8 cores") << machine(600, 8, 2) << true;
    QTest::newRow("600 samples, 8 cores, uncompressed") << machine(600, 8, 3) << false;
    QTest::newRow("no per-core values") << machine(50, 0, 4) << true;
    QTest::newRow("4096 cores") << machine(20, 4096, 5) << true;
    QTest::newRow("irregular clock") << machine(300, 4, 6, 1'700'000'000'000, 900) << true;

    {
        // Edge values the protocol accepts: 0 and 100 exactly, the smallest percentages, memory
        // at the protocol's 2^53 cap and at zero, a huge load average (stored bit-exact).
        ChunkSamples d = machine(6, 2, 7);
        d.samples[0].cpu.user = 100.0f;
        d.samples[0].cpu.idle = 0.0f;
        d.samples[1].cpu.user = std::numeric_limits<float>::denorm_min();
        d.samples[2].cpu.system = 0.004999f;
        d.samples[3].memory.free = std::uint64_t(1) << 53;
        d.samples[3].memory.total = std::uint64_t(1) << 53;
        d.samples[4].memory = Memory{};
        d.samples[5].load1 = 3.0e30f;
        d.cores[0] = 100.0f;
        d.cores[1] = 0.0f;
        QTest::newRow("edge values") << d << true;
    }
    {
        // A machine rebooted mid-chunk: memory and sequences start again, and the clock jumps back.
        ChunkSamples d = machine(120, 4, 8);
        for (std::size_t i = 60; i < d.size(); ++i) {
            d.sequences[i] = 1 + (i - 60) / 5;
            d.samples[i].timestampMs -= 3'600'000;
            d.samples[i].memory.free = 1234567 + i; // not a multiple of 1024
            d.samples[i].memory.total = 8 * kGiB;
            d.samples[i].memory.used = 5; // not total - available
        }
        QTest::newRow("counter resets") << d << true;
    }
    {
        // A CPU taken offline and brought back: core counts change inside a chunk.
        ChunkSamples d;
        const ChunkSamples wide = machine(30, 8, 9);
        for (std::size_t i = 0; i < wide.size(); ++i) {
            Sample s = wide.samples[i];
            s.coreCount = i % 3 == 0 ? 8 : (i % 3 == 1 ? 3 : 0);
            d.append(s, wide.sequences[i], wide.cores.data() + 8 * i);
        }
        QTest::newRow("changing core counts") << d << true;
    }
    {
        // Samples with the same timestamp (two batches of a reinstalled agent) and descending time.
        ChunkSamples d = machine(10, 2, 10);
        d.samples[3].timestampMs = d.samples[2].timestampMs;
        std::reverse(d.samples.begin() + 5, d.samples.end());
        QTest::newRow("equal and descending timestamps") << d << true;
    }
}

void TestSampleChunk::roundTrip()
{
    QFETCH(ChunkSamples, data);
    QFETCH(bool, zstd);
    const QByteArray blob = SampleChunk::encode(data, zstd ? SampleChunk::Compression::Zstd
                                                            : SampleChunk::Compression::None);
    ChunkSamples got;
    got.samples.resize(3); // decode replaces whatever was there
    QString error;
    QVERIFY2(SampleChunk::decode(blob, got, &error), qPrintable(error));
    compareToSent(data, got);
}

void TestSampleChunk::loadAveragesWithTwoDecimalsAreExact()
{
    // /proc/loadavg prints two decimals; the agent parses them as floats: those come back bit-exact.
    ChunkSamples d = machine(1, 0, 11);
    for (int hundredths = 0; hundredths < 100000; hundredths += 7) {
        Sample s = d.samples[0];
        s.load1 = QByteArray::number(hundredths / 100.0, 'f', 2).toFloat();
        d.append(s, 1, nullptr);
    }
    ChunkSamples got;
    QVERIFY(SampleChunk::decode(SampleChunk::encode(d), got));
    for (std::size_t i = 0; i < d.size(); ++i)
        QCOMPARE(std::bit_cast<std::uint32_t>(got.samples[i].load1), std::bit_cast<std::uint32_t>(d.samples[i].load1));
}

void TestSampleChunk::zstdAndColumnCodecsShrinkRandomData()
{
    // Not the benchmark (bench_store reports real and synthetic corpora): a guard that the
    // column codecs are in use at all. Random per-core values are the worst case for them.
    const ChunkSamples d = machine(600, 8, 12);
    const QByteArray blob = SampleChunk::encode(d);
    const QByteArray plain = SampleChunk::encode(d, SampleChunk::Compression::None);
    qInfo("600 samples, 8 random cores: %lld bytes (%.1f a sample), %lld before zstd", qlonglong(blob.size()),
          double(blob.size()) / 600, qlonglong(plain.size()));
    QVERIFY(blob.size() < plain.size());
    QVERIFY(blob.size() < 600 * 40);
}

void TestSampleChunk::corruptChunksAreErrors()
{
    const QByteArray good = SampleChunk::encode(machine(50, 4, 13));
    const QByteArray plain = SampleChunk::encode(machine(50, 4, 13), SampleChunk::Compression::None);
    ChunkSamples got;
    QString error;
    QVERIFY(!SampleChunk::decode(QByteArray(), got, &error));
    QVERIFY(error.contains(u"corrupt sample chunk"));
    QVERIFY(!SampleChunk::decode(QByteArray("\x09\x00", 2), got, &error));
    QVERIFY(error.contains(u"version"));
    // Every truncation and every single flipped byte is either an error or decodes to something
    // within bounds; none crashes (run under the sanitizers in the fuzz build).
    for (const QByteArray &blob : {good, plain}) {
        for (qsizetype cut = 0; cut < blob.size(); ++cut)
            QVERIFY2(!SampleChunk::decode(blob.first(cut), got), qPrintable(QString::number(cut)));
        for (qsizetype at = 0; at < blob.size(); ++at) {
            QByteArray bad = blob;
            bad[at] = char(bad[at] ^ 0x5a);
            if (SampleChunk::decode(bad, got)) {
                QVERIFY(got.size() <= SampleChunk::maxSamples);
                std::size_t cores = 0;
                for (const Sample &s : got.samples)
                    cores += s.coreCount;
                QCOMPARE(got.cores.size(), cores);
            }
        }
    }
    // A stated size past the limit is refused before anything is allocated.
    QByteArray bomb("\x01\x01", 2);
    bomb.append("\xff\xff\xff\xff\x7f", 5);
    QVERIFY(!SampleChunk::decode(bomb, got, &error));
    QVERIFY(error.contains(u"size"));
}

void TestSampleChunk::fuzzSeedsDecode()
{
    // The fuzzer's seeds (hand-built, docs/STORAGE.md's table) are valid chunks: if the format
    // changed under them, they would only exercise the error paths.
    const QDir seeds(QStringLiteral(AUTOFACT_FIXTURES "/../fuzz/corpus/fuzz_samplechunk"));
    QStringList files = seeds.entryList(QDir::Files);
    files.removeIf([](const QString &f) { return f.startsWith(u"crash-"); }); // inputs that once failed: any bytes
    QVERIFY(files.size() >= 3);
    for (const QString &name : files) {
        QFile f(seeds.filePath(name));
        QVERIFY(f.open(QIODevice::ReadOnly));
        ChunkSamples got;
        QString error;
        QVERIFY2(SampleChunk::decode(f.readAll(), got, &error), qPrintable(name + u": " + error));
        QCOMPARE(got.size(), 3u);
        QCOMPARE(got.samples[0].timestampMs, 1'700'000'000'000);
        QCOMPARE(got.samples[2].timestampMs, 1'700'000'002'002);
        QCOMPARE(got.samples[0].cpu.user, 12.5f);
        QCOMPARE(got.samples[1].cpu.idle, 80.51f); // 100 - the rest (80.50), residual +1 hundredth
        QCOMPARE(got.samples[2].memory.used, got.samples[2].memory.total - got.samples[2].memory.available);
        QCOMPARE(got.cores.size(), 5u);
        QCOMPARE(got.cores[1], 50.0f); // core 1 of sample 0
        QCOMPARE(got.cores[2], 90.0f); // core 0 of sample 1
        QCOMPARE(got.cores[3], 49.0f); // core 1 of sample 1 (delta -1)
        QCOMPARE(got.samples[2].coreCount, 1);
    }
}

QTEST_GUILESS_MAIN(TestSampleChunk)
#include "tst_samplechunk.moc"
