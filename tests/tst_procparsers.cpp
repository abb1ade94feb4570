// SPDX-License-Identifier: MIT
// ProcStat, MemInfo and LoadAvg on saved and hand-written /proc files.
#include "sampling/loadavg.h"
#include "sampling/meminfo.h"
#include "sampling/procfile.h"
#include "sampling/procstat.h"

#include "testfiles.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace autofact;
using namespace autofact::agent;

namespace {

QString fixture(const QString &name)
{
    return testdata::procFixture(name);
}

QByteArray readFixture(const QString &name)
{
    return testdata::readProcFixture(name);
}

using Ticks = QList<quint64>;

Ticks ticksOf(const CpuCounters &c)
{
    return Ticks(c.ticks.begin(), c.ticks.end());
}

constexpr quint64 KiB = 1024;

} // namespace

class TestProcParsers : public QObject
{
    Q_OBJECT
private slots:
    // --- /proc/stat ---
    void statFixture_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QList<int>>("indices");
        QTest::addColumn<int>("presentFields");
        QTest::addColumn<Ticks>("total");
        QTest::addColumn<Ticks>("firstCore");
        QTest::addColumn<qint64>("btime");

        QTest::addRow("8 cores") << QStringLiteral("stat-8core")
                                 << QList<int>{0, 1, 2, 3, 4, 5, 6, 7} << 10
                                 << Ticks{301854, 612, 111922, 8979004, 3552, 2, 3944, 0, 0, 0}
                                 << Ticks{44490, 19, 21045, 1087069, 220, 1, 3410, 0, 0, 0}
                                 << qint64(1418183276);
        QTest::addRow("bookworm 2 cores") << QStringLiteral("stat-bookworm-2core") << QList<int>{0, 1} << 10
                                          << Ticks{3886, 0, 1854, 66125, 321, 0, 32, 10, 0, 0}
                                          << Ticks{1680, 0, 797, 33635, 6, 0, 15, 3, 0, 0}
                                          << qint64(1795925893);
        QTest::addRow("1 cpu") << QStringLiteral("stat-1cpu") << QList<int>{0} << 10
                               << Ticks{100, 2, 30, 800, 5, 1, 2, 0, 0, 0}
                               << Ticks{100, 2, 30, 800, 5, 1, 2, 0, 0, 0}
                               << qint64(1700000000);
        QTest::addRow("old kernel, 7 fields") << QStringLiteral("stat-oldkernel-7fields") << QList<int>{0, 1} << 7
                                              << Ticks{1000, 20, 300, 8000, 50, 10, 20, 0, 0, 0}
                                              << Ticks{500, 10, 150, 4000, 25, 5, 10, 0, 0, 0}
                                              << qint64(1200000000);
        QTest::addRow("no trailing newline") << QStringLiteral("stat-no-trailing-newline") << QList<int>{0, 1} << 10
                                             << Ticks{10, 0, 5, 85, 0, 0, 0, 0, 0, 0}
                                             << Ticks{5, 0, 2, 43, 0, 0, 0, 0, 0, 0}
                                             << qint64(1600000000);
        QTest::addRow("hotplug gap") << QStringLiteral("stat-hotplug-a") << QList<int>{0, 1, 3} << 10
                                     << Ticks{4150, 0, 1050, 14700, 0, 0, 0, 0, 0, 0}
                                     << Ticks{1000, 0, 250, 3750, 0, 0, 0, 0, 0, 0}
                                     << qint64(1600000000);
    }
    void statFixture()
    {
        QFETCH(QString, file);
        QFETCH(QList<int>, indices);
        QFETCH(int, presentFields);
        QFETCH(Ticks, total);
        QFETCH(Ticks, firstCore);
        QFETCH(qint64, btime);

        ProcStat stat(fixture(file));
        QString error;
        QVERIFY2(stat.read(&error), qPrintable(error));
        QCOMPARE(ticksOf(stat.total()), total);
        QCOMPARE(stat.total().presentFields, presentFields);
        QList<int> got;
        for (const CoreCounters &c : stat.cores()) {
            got.append(c.index);
            QCOMPARE(c.counters.presentFields, presentFields);
        }
        QCOMPARE(got, indices);
        QCOMPARE(ticksOf(stat.cores().front().counters), firstCore);
        QCOMPARE(qint64(stat.bootTime()), btime);

        // Same bytes through parse(): read() adds nothing but the file.
        ProcStat fromBytes;
        QVERIFY(fromBytes.parse(readFixture(file)));
        QCOMPARE(ticksOf(fromBytes.total()), total);
        QCOMPARE(fromBytes.cores().size(), stat.cores().size());
    }

    void stat256Cpus()
    {
        QByteArray text = "cpu  0 0 0 0 0 0 0 0 0 0\n";
        for (int i = 0; i < 256; ++i)
            text += "cpu" + QByteArray::number(i) + ' ' + QByteArray::number(i * 10) + " 1 2 "
                    + QByteArray::number(100000 + i) + " 4 5 6 7 8 9\n";
        text += "intr 0\nbtime 1\n";
        ProcStat stat;
        QVERIFY(stat.parse(text));
        QCOMPARE(stat.cores().size(), std::size_t(256));
        for (int i = 0; i < 256; ++i) {
            const CoreCounters &c = stat.cores()[std::size_t(i)];
            QCOMPARE(c.index, i);
            QCOMPARE(ticksOf(c.counters),
                     (Ticks{quint64(i) * 10, 1, 2, 100000 + quint64(i), 4, 5, 6, 7, 8, 9}));
        }
    }

    void statInline_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<Ticks>("total");
        QTest::addColumn<int>("presentFields");
        QTest::addColumn<int>("cores");
        QTest::addRow("cpu line last, no newline")
            << QByteArray("cpu  1 2 3 4 5 6 7 8 9 10") << Ticks{1, 2, 3, 4, 5, 6, 7, 8, 9, 10} << 10 << 0;
        QTest::addRow("4 fields (Linux 2.4)")
            << QByteArray("cpu  1 2 3 4\ncpu0 1 2 3 4\n") << Ticks{1, 2, 3, 4, 0, 0, 0, 0, 0, 0} << 4 << 1;
        QTest::addRow("8 fields (Linux 2.6.11)")
            << QByteArray("cpu  1 2 3 4 5 6 7 8\n") << Ticks{1, 2, 3, 4, 5, 6, 7, 8, 0, 0} << 8 << 0;
        QTest::addRow("11 fields (future kernel)")
            << QByteArray("cpu  1 2 3 4 5 6 7 8 9 10 11\n") << Ticks{1, 2, 3, 4, 5, 6, 7, 8, 9, 10} << 10 << 0;
        QTest::addRow("trailing space")
            << QByteArray("cpu  1 2 3 4 5 6 7 8 9 10 \ncpu0 1 2 3 4 5 6 7 8 9 10 \n")
            << Ticks{1, 2, 3, 4, 5, 6, 7, 8, 9, 10} << 10 << 1;
        QTest::addRow("max uint64")
            << QByteArray("cpu  18446744073709551615 0 0 0\n") << Ticks{18446744073709551615ull, 0, 0, 0, 0, 0, 0, 0, 0, 0} << 4 << 0;
        QTest::addRow("other cpu-prefixed line ignored")
            << QByteArray("cpufreq 1\ncpu  1 2 3 4\n") << Ticks{1, 2, 3, 4, 0, 0, 0, 0, 0, 0} << 4 << 0;
    }
    void statInline()
    {
        QFETCH(QByteArray, text);
        QFETCH(Ticks, total);
        QFETCH(int, presentFields);
        QFETCH(int, cores);
        ProcStat stat;
        QString error;
        QVERIFY2(stat.parse(text, &error), qPrintable(error));
        QCOMPARE(ticksOf(stat.total()), total);
        QCOMPARE(stat.total().presentFields, presentFields);
        QCOMPARE(int(stat.cores().size()), cores);
        QCOMPARE(qint64(stat.bootTime()), qint64(0));
    }

    void statBad_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addRow("empty") << QByteArray();
        QTest::addRow("no aggregate line") << QByteArray("cpu0 1 2 3 4\nbtime 5\n");
        QTest::addRow("3 fields") << QByteArray("cpu  1 2 3\n");
        QTest::addRow("letter") << QByteArray("cpu  1 x 3 4\n");
        QTest::addRow("negative") << QByteArray("cpu  1 -2 3 4\n");
        QTest::addRow("glued") << QByteArray("cpu  1 2a 3 4\n");
        QTest::addRow("overflow") << QByteArray("cpu  18446744073709551616 0 0 0\n");
        QTest::addRow("bad core index") << QByteArray("cpu  1 2 3 4\ncpu1x 1 2 3 4\n");
        QTest::addRow("huge core index") << QByteArray("cpu  1 2 3 4\ncpu99999999 1 2 3 4\n");
        QTest::addRow("bad btime") << QByteArray("cpu  1 2 3 4\nbtime x\n");
        QTest::addRow("truncated core line") << QByteArray("cpu  1 2 3 4\ncpu0 1 2");
    }
    void statBad()
    {
        QFETCH(QByteArray, text);
        ProcStat stat;
        // Leftovers from a good parse must not survive a bad one.
        QVERIFY(stat.parse("cpu  1 2 3 4\ncpu0 1 2 3 4\nbtime 9\n"));
        QString error;
        QVERIFY(!stat.parse(text, &error));
        QVERIFY(!error.isEmpty());
        QVERIFY(stat.cores().empty());
        QCOMPARE(ticksOf(stat.total()), Ticks(10, 0));
        QCOMPARE(qint64(stat.bootTime()), qint64(0));
    }

    void statMissingFile()
    {
        ProcStat stat(fixture(QStringLiteral("does-not-exist")));
        QString error;
        QVERIFY(!stat.read(&error));
        QVERIFY2(error.contains(QStringLiteral("does-not-exist")), qPrintable(error));
    }

    // --- ProcFile: opened once, read from the start each time ---
    void procFileReadsCurrentContentEachTime()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("stat"));
        const auto rewrite = [&](const QByteArray &bytes) {
            QFile f(path); // in place, as the kernel regenerates a procfs file
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            QCOMPARE(f.write(bytes), bytes.size());
        };
        ProcFile file(path);
        rewrite("first\n");
        QVERIFY(file.read());
        QCOMPARE(file.data(), QByteArrayView("first\n"));
        // Longer than the initial 4 KiB buffer: the buffer grows, the text comes whole.
        QByteArray big;
        for (int i = 0; big.size() < 20000; ++i)
            big += "intr line " + QByteArray::number(i) + '\n';
        rewrite(big);
        QVERIFY(file.read());
        QCOMPARE(file.data(), QByteArrayView(big));
        // Shorter again: nothing of the longer text is left behind.
        rewrite("short\n");
        QVERIFY(file.read());
        QCOMPARE(file.data(), QByteArrayView("short\n"));
        // Exactly the buffer's size: still read to the end.
        const QByteArray exact(qsizetype(32768), 'x');
        rewrite(exact);
        QVERIFY(file.read());
        QCOMPARE(file.data().size(), exact.size());
    }

    void procFileOnLiveProc()
    {
        // The kernel generates /proc/uptime anew on every read from offset 0.
        ProcFile file(QStringLiteral("/proc/uptime"));
        QVERIFY(file.read());
        const QByteArray first = file.data().toByteArray();
        QVERIFY(first.endsWith('\n'));
        QTRY_VERIFY_WITH_TIMEOUT(file.read() && file.data() != QByteArrayView(first), 5000);
    }

    // --- /proc/meminfo ---
    void meminfo_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("estimated");
        QTest::addColumn<Memory>("expected");

        // used = total - available, exactly what `free -b` printed on the machine it came from.
        QTest::addRow("bookworm") << readFixture(QStringLiteral("meminfo-bookworm-2core")) << false
                                  << Memory{24683652 * KiB, 24475780 * KiB, 24420812 * KiB,
                                            2992 * KiB, (81940 + 59204) * KiB,
                                            (24683652 - 24420812) * KiB, 0, 0};
        // available estimated as free + buffers + cached + SReclaimable.
        QTest::addRow("no MemAvailable") << readFixture(QStringLiteral("meminfo-no-memavailable")) << true
                                         << Memory{15666184 * KiB, 440324 * KiB,
                                                   (440324 + 1020128 + 12007640 + 1738124) * KiB,
                                                   1020128 * KiB, (12007640 + 1738124) * KiB,
                                                   (15666184 - 15206216) * KiB, 0, 0};
        QTest::addRow("swap, no trailing newline")
            << QByteArray("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 600 kB\nBuffers: 10 kB\n"
                          "Cached: 300 kB\nSwapTotal: 2000 kB\nSwapFree: 1500 kB\nSReclaimable: 20 kB")
            << false << Memory{1000 * KiB, 100 * KiB, 600 * KiB, 10 * KiB, 320 * KiB, 400 * KiB,
                               2000 * KiB, 1500 * KiB};
        // LXC: MemAvailable from the host exceeds the container's MemTotal; procps uses MemFree.
        QTest::addRow("available > total")
            << QByteArray("MemTotal: 1000 kB\nMemFree: 700 kB\nMemAvailable: 5000 kB\n")
            << false << Memory{1000 * KiB, 700 * KiB, 700 * KiB, 0, 0, 300 * KiB, 0, 0};
        QTest::addRow("free > total")
            << QByteArray("MemTotal: 1000 kB\nMemFree: 1200 kB\nMemAvailable: 900 kB\n")
            << false << Memory{1000 * KiB, 1000 * KiB, 900 * KiB, 0, 0, 100 * KiB, 0, 0};
        QTest::addRow("estimate > total")
            << QByteArray("MemTotal: 1000 kB\nMemFree: 600 kB\nBuffers: 300 kB\nCached: 300 kB\n")
            << true << Memory{1000 * KiB, 600 * KiB, 1000 * KiB, 300 * KiB, 300 * KiB, 0, 0, 0};
        QTest::addRow("swapFree > swapTotal")
            << QByteArray("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 100 kB\nSwapTotal: 10 kB\nSwapFree: 20 kB\n")
            << false << Memory{1000 * KiB, 100 * KiB, 100 * KiB, 0, 0, 900 * KiB, 10 * KiB, 10 * KiB};
        QTest::addRow("lookalike keys ignored")
            << QByteArray("MemTotal: 1000 kB\nMemFreeX: 1 kB\nMemFree: 100 kB\nSwapCached: 77 kB\nCached: 5 kB\nMemAvailable: 200 kB\n")
            << false << Memory{1000 * KiB, 100 * KiB, 200 * KiB, 0, 5 * KiB, 800 * KiB, 0, 0};
    }
    void meminfo()
    {
        QFETCH(QByteArray, text);
        QFETCH(bool, estimated);
        QFETCH(Memory, expected);
        MemInfo info;
        QString error;
        QVERIFY2(info.parse(text, &error), qPrintable(error));
        QCOMPARE(info.availableEstimated(), estimated);
        const Memory m = info.memory();
        QCOMPARE(quint64(m.total), quint64(expected.total));
        QCOMPARE(quint64(m.free), quint64(expected.free));
        QCOMPARE(quint64(m.available), quint64(expected.available));
        QCOMPARE(quint64(m.buffers), quint64(expected.buffers));
        QCOMPARE(quint64(m.cached), quint64(expected.cached));
        QCOMPARE(quint64(m.used), quint64(expected.used));
        QCOMPARE(quint64(m.swapTotal), quint64(expected.swapTotal));
        QCOMPARE(quint64(m.swapFree), quint64(expected.swapFree));
        QVERIFY(m == expected);
    }

    void meminfoBad_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addRow("empty") << QByteArray();
        QTest::addRow("no MemTotal") << QByteArray("MemFree: 100 kB\nMemAvailable: 100 kB\n");
        QTest::addRow("MemTotal zero") << QByteArray("MemTotal: 0 kB\n");
        QTest::addRow("malformed MemTotal") << QByteArray("MemTotal: lots kB\n");
        QTest::addRow("malformed MemFree") << QByteArray("MemTotal: 10 kB\nMemFree: -1 kB\n");
    }
    void meminfoBad()
    {
        QFETCH(QByteArray, text);
        MemInfo info;
        QString error;
        QVERIFY(!info.parse(text, &error));
        QVERIFY(!error.isEmpty());
        QVERIFY(info.values() == MemInfo::Values{});
    }

    void meminfoFile()
    {
        MemInfo info(fixture(QStringLiteral("meminfo-bookworm-2core")));
        QVERIFY(info.read());
        QCOMPARE(quint64(info.values().memTotal), 24683652 * KiB);
        QVERIFY(info.values().hasMemAvailable);
        MemInfo missing(fixture(QStringLiteral("does-not-exist")));
        QString error;
        QVERIFY(!missing.read(&error));
        QVERIFY(error.contains(QStringLiteral("does-not-exist")));
    }

    // --- /proc/loadavg ---
    void loadavg_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<float>("load1");
        QTest::addColumn<float>("load5");
        QTest::addColumn<float>("load15");
        QTest::addColumn<int>("running");
        QTest::addColumn<int>("total");
        QTest::addColumn<int>("lastPid");
        QTest::addRow("fixture") << readFixture(QStringLiteral("loadavg")) << 0.02f << 0.04f << 0.05f << 1 << 497 << 11947;
        QTest::addRow("bookworm") << readFixture(QStringLiteral("loadavg-bookworm")) << 0.04f << 0.13f << 0.08f << 1 << 82 << 4406;
        QTest::addRow("no trailing newline") << QByteArray("1.50 2.25 3.00 2/100 42") << 1.5f << 2.25f << 3.0f << 2 << 100 << 42;
        QTest::addRow("loads only") << QByteArray("0.00 0.01 0.02\n") << 0.0f << 0.01f << 0.02f << 0 << 0 << 0;
        QTest::addRow("busy host") << QByteArray("123.45 67.89 10.11 57/10000 4194303\n") << 123.45f << 67.89f << 10.11f << 57 << 10000 << 4194303;
    }
    void loadavg()
    {
        QFETCH(QByteArray, text);
        QFETCH(float, load1);
        QFETCH(float, load5);
        QFETCH(float, load15);
        QFETCH(int, running);
        QFETCH(int, total);
        QFETCH(int, lastPid);
        LoadAvg l;
        QString error;
        QVERIFY2(l.parse(text, &error), qPrintable(error));
        // Exact: both sides are the float nearest to the same decimal.
        QVERIFY(l.load1() == load1);
        QVERIFY(l.load5() == load5);
        QVERIFY(l.load15() == load15);
        QCOMPARE(l.running(), running);
        QCOMPARE(l.total(), total);
        QCOMPARE(l.lastPid(), lastPid);
    }

    void loadavgBad_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addRow("empty") << QByteArray();
        QTest::addRow("words") << QByteArray("a b c 1/2 3\n");
        QTest::addRow("two values") << QByteArray("0.1 0.2\n");
        QTest::addRow("nan") << QByteArray("nan nan nan 1/2 3\n");
        QTest::addRow("inf") << QByteArray("inf 0 0 1/2 3\n");
        QTest::addRow("negative") << QByteArray("-1.0 0 0 1/2 3\n");
        QTest::addRow("glued") << QByteArray("0.10.2 0.3 0.4\n");
    }
    void loadavgBad()
    {
        QFETCH(QByteArray, text);
        LoadAvg l;
        QString error;
        QVERIFY(!l.parse(text, &error));
        QVERIFY(!error.isEmpty());
        QCOMPARE(l.load1(), 0.0f);
    }

    void loadavgFile()
    {
        LoadAvg l(fixture(QStringLiteral("loadavg")));
        QVERIFY(l.read());
        QCOMPARE(l.total(), 497);
    }
};

QTEST_GUILESS_MAIN(TestProcParsers)
#include "tst_procparsers.moc"
