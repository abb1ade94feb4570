// SPDX-License-Identifier: MIT
// The formulas every view shares (shared/metrics.h): what each series means, on edge values.
#include "metrics.h"

#include <QTest>

using namespace autofact;
using metrics::Series;

namespace {
Sample sample()
{
    Sample s;
    s.cpu = {10, 2, 5, 70, 4, 1, 3, 5, 0}; // user nice system idle iowait irq softirq steal guest
    s.memory.total = 1000;
    s.memory.used = 250;
    s.memory.cached = 100;
    s.memory.buffers = 20;
    s.memory.available = 600;
    s.memory.swapTotal = 200;
    s.memory.swapFree = 150;
    return s;
}
} // namespace

class TestMetrics : public QObject
{
    Q_OBJECT

private slots:
    void minuteStart_data()
    {
        QTest::addColumn<qint64>("ms");
        QTest::addColumn<qint64>("minute");
        QTest::addRow("on the minute") << qint64(120'000) << qint64(120'000);
        QTest::addRow("inside") << qint64(179'999) << qint64(120'000);
        QTest::addRow("zero") << qint64(0) << qint64(0);
        QTest::addRow("before 1970 floors down") << qint64(-1) << qint64(-60'000);
        QTest::addRow("before 1970 on the minute") << qint64(-60'000) << qint64(-60'000);
    }
    void minuteStart()
    {
        QFETCH(qint64, ms);
        QFETCH(qint64, minute);
        QCOMPARE(metrics::minuteStart(ms), minute);
    }

    void series()
    {
        const Sample s = sample();
        QCOMPARE(metrics::seriesValue(s, Series::CpuUser), 12.0);   // user + nice
        QCOMPARE(metrics::seriesValue(s, Series::CpuSystem), 9.0);  // system + irq + softirq
        QCOMPARE(metrics::seriesValue(s, Series::CpuIowait), 4.0);
        QCOMPARE(metrics::seriesValue(s, Series::CpuSteal), 5.0);
        QCOMPARE(metrics::seriesValue(s, Series::MemUsed), 250.0);
        QCOMPARE(metrics::seriesValue(s, Series::MemCache), 120.0); // cached + buffers
        QCOMPARE(metrics::seriesValue(s, Series::MemAvailable), 600.0);
        QCOMPARE(metrics::seriesValue(s, Series::SwapUsed), 50.0);
        // The CPU series split adds up to the busy figure the table and tiles show.
        QCOMPARE(metrics::seriesValue(s, Series::CpuUser) + metrics::seriesValue(s, Series::CpuSystem)
                         + metrics::seriesValue(s, Series::CpuSteal),
                 metrics::cpuPercent(s));
    }

    void percentages()
    {
        Sample s = sample();
        QCOMPARE(metrics::memoryPercent(s), 25.0);
        QCOMPARE(metrics::swapPercent(s), 25.0);
        s.memory.total = 0;
        s.memory.swapTotal = 0;
        QCOMPARE(metrics::memoryPercent(s), -1.0);
        QCOMPARE(metrics::swapPercent(s), -1.0);
    }

    void swapFreeAboveTotalCountsAsNoneUsed()
    {
        Memory m;
        m.swapTotal = 16;
        m.swapFree = 17;
        QCOMPARE(metrics::swapUsed(m), 0u);
    }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
