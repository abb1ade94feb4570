// SPDX-License-Identifier: MIT
// The CPU delta math every platform sampler shares: hand-computed splits, counters going
// backwards, zero-length intervals, clamping, and the tracker's first sample and hotplug.
#include "sampling/cpudelta.h"

#include <QTest>

#include <cmath>
#include <initializer_list>
#include <utility>

using namespace autofact;
using namespace autofact::agent;

Q_DECLARE_METATYPE(autofact::agent::CpuCounters)

namespace {

using Floats = QList<float>;

/// Counters from {field, ticks} pairs; unnamed fields are 0.
CpuCounters counters(std::initializer_list<std::pair<CpuField, std::uint64_t>> fields)
{
    CpuCounters c;
    for (const auto &[field, ticks] : fields)
        c[field] = ticks;
    c.presentFields = CpuCounters::fieldCount;
    return c;
}

Floats splitOf(const CpuTimes &t)
{
    return {t.user, t.nice, t.system, t.idle, t.iowait, t.irq, t.softirq, t.steal, t.guest};
}

void compareFloats(const Floats &actual, const Floats &expected)
{
    QCOMPARE(actual.size(), expected.size());
    for (qsizetype i = 0; i < actual.size(); ++i) {
        QVERIFY2(std::isfinite(actual[i]), qPrintable(QStringLiteral("value %1").arg(i)));
        QVERIFY2(std::abs(actual[i] - expected[i]) < 1e-4f,
                 qPrintable(QStringLiteral("value %1: %2, expected %3")
                                    .arg(i)
                                    .arg(double(actual[i]))
                                    .arg(double(expected[i]))));
    }
}

CoreCounters core(int index, const CpuCounters &c)
{
    return {index, c};
}

} // namespace

class TestCpuDelta : public QObject
{
    Q_OBJECT

private slots:
    void split_data();
    void split();
    void tracker();
    void trackerHotplug();
    void trackerCoreGoesBackwards();
    void trackerAppendsAndCaps();
};

void TestCpuDelta::split_data()
{
    QTest::addColumn<CpuCounters>("previous");
    QTest::addColumn<CpuCounters>("current");
    QTest::addColumn<Floats>("expected"); // user nice system idle iowait irq softirq steal guest
    QTest::addColumn<float>("busy");
    QTest::addColumn<bool>("backwards");

    using F = CpuField;
    // Deltas 100 user, 50 system, 200 idle, 50 iowait: total 400.
    QTest::addRow("plain")
            << counters({{F::User, 100}, {F::System, 50}, {F::Idle, 800}, {F::IoWait, 50}})
            << counters({{F::User, 200}, {F::System, 100}, {F::Idle, 1000}, {F::IoWait, 100}})
            << Floats{25, 0, 12.5f, 50, 12.5f, 0, 0, 0, 0} << 37.5f << false;
    // Every column, deltas 10 each over user … steal: total 80, 12.5 % apiece; guest 10 + 10.
    QTest::addRow("all columns")
            << CpuCounters{}
            << counters({{F::User, 10}, {F::Nice, 10}, {F::System, 10}, {F::Idle, 10},
                         {F::IoWait, 10}, {F::Irq, 10}, {F::SoftIrq, 10}, {F::Steal, 10},
                         {F::Guest, 10}, {F::GuestNice, 10}})
            << Floats{12.5f, 12.5f, 12.5f, 12.5f, 12.5f, 12.5f, 12.5f, 12.5f, 25} << 75.0f << false;
    // iowait drops 500 → 400 (NO_HZ): it counts 0; the rest, 50 + 50 + 100 = 200, is the total.
    QTest::addRow("iowait backwards")
            << counters({{F::User, 100}, {F::System, 100}, {F::Idle, 1000}, {F::IoWait, 500}})
            << counters({{F::User, 150}, {F::System, 150}, {F::Idle, 1100}, {F::IoWait, 400}})
            << Floats{25, 0, 25, 50, 0, 0, 0, 0, 0} << 50.0f << true;
    // A 32-bit Mach tick counter wrapping: user goes backwards, idle still gives the interval.
    QTest::addRow("user wraps")
            << counters({{F::User, 4294967290u}, {F::Idle, 1000}})
            << counters({{F::User, 5}, {F::Idle, 1100}})
            << Floats{0, 0, 0, 100, 0, 0, 0, 0, 0} << 0.0f << true;
    QTest::addRow("zero interval")
            << counters({{F::User, 7}, {F::System, 3}, {F::Idle, 90}})
            << counters({{F::User, 7}, {F::System, 3}, {F::Idle, 90}})
            << Floats(9, 0.0f) << 0.0f << false;
    QTest::addRow("everything backwards")
            << counters({{F::User, 70}, {F::System, 30}, {F::Idle, 900}})
            << counters({{F::User, 7}, {F::System, 3}, {F::Idle, 90}})
            << Floats(9, 0.0f) << 0.0f << true;
    // Only guest advanced (its user column went backwards): guest 300 of a total of 100 from
    // idle alone would be 300 %; it is clamped.
    QTest::addRow("guest clamped")
            << counters({{F::User, 1000}, {F::Idle, 0}, {F::Guest, 0}})
            << counters({{F::User, 10}, {F::Idle, 100}, {F::Guest, 300}})
            << Floats{0, 0, 0, 100, 0, 0, 0, 0, 100} << 0.0f << true;
    // Windows-style counters (100 ns units): user 3e7, system 1e7, irq 5e6, softirq 5e6,
    // idle 5e7 over one CPU-second: total 1e8.
    QTest::addRow("windows units")
            << CpuCounters{}
            << counters({{F::User, 30'000'000}, {F::System, 10'000'000}, {F::Irq, 5'000'000},
                         {F::SoftIrq, 5'000'000}, {F::Idle, 50'000'000}})
            << Floats{30, 0, 10, 50, 0, 5, 5, 0, 0} << 50.0f << false;
}

void TestCpuDelta::split()
{
    QFETCH(CpuCounters, previous);
    QFETCH(CpuCounters, current);
    QFETCH(Floats, expected);
    QFETCH(float, busy);
    QFETCH(bool, backwards);

    const CpuDelta d = cpuDelta(previous, current);
    QCOMPARE(d.wentBackwards, backwards);
    compareFloats(splitOf(cpuTimes(d)), expected);
    compareFloats({cpuBusy(d)}, {busy});
}

void TestCpuDelta::tracker()
{
    using F = CpuField;
    CpuDeltaTracker t;
    QVERIFY(!t.hasPrevious());
    std::vector<float> busy;

    // First update: since boot, i.e. from zero.
    auto r = t.update(counters({{F::User, 30}, {F::System, 10}, {F::Idle, 60}}),
                      {core(0, counters({{F::User, 20}, {F::Idle, 20}})),
                       core(1, counters({{F::User, 10}, {F::System, 10}, {F::Idle, 40}}))},
                      busy);
    QVERIFY(r.first);
    QVERIFY(t.hasPrevious());
    QCOMPARE(r.coreCount, 2);
    QCOMPARE(r.coresAppeared, 0);
    QCOMPARE(r.coresVanished, 0);
    compareFloats(splitOf(r.cpu), {30, 0, 10, 60, 0, 0, 0, 0, 0});
    compareFloats(Floats(busy.begin(), busy.end()), {50, 20.0f / 60.0f * 100.0f});

    // Second: deltas user 30, idle 30; core 0 all user, core 1 all idle.
    busy.clear();
    r = t.update(counters({{F::User, 60}, {F::System, 10}, {F::Idle, 90}}),
                 {core(0, counters({{F::User, 40}, {F::Idle, 20}})),
                  core(1, counters({{F::User, 10}, {F::System, 10}, {F::Idle, 80}}))},
                 busy);
    QVERIFY(!r.first);
    QVERIFY(!r.totalWentBackwards);
    compareFloats(splitOf(r.cpu), {50, 0, 0, 50, 0, 0, 0, 0, 0});
    compareFloats(Floats(busy.begin(), busy.end()), {100, 0});

    // Third: nothing advanced.
    busy.clear();
    r = t.update(counters({{F::User, 60}, {F::System, 10}, {F::Idle, 90}}),
                 {core(0, counters({{F::User, 40}, {F::Idle, 20}})),
                  core(1, counters({{F::User, 10}, {F::System, 10}, {F::Idle, 80}}))},
                 busy);
    compareFloats(splitOf(r.cpu), Floats(9, 0.0f));
    compareFloats(Floats(busy.begin(), busy.end()), {0, 0});

    // Fourth: the aggregate idle goes backwards; user 60 → 80 is the whole interval.
    busy.clear();
    r = t.update(counters({{F::User, 80}, {F::System, 10}, {F::Idle, 50}}),
                 {core(0, counters({{F::User, 40}, {F::Idle, 20}})),
                  core(1, counters({{F::User, 10}, {F::System, 10}, {F::Idle, 80}}))},
                 busy);
    QVERIFY(r.totalWentBackwards);
    compareFloats(splitOf(r.cpu), {100, 0, 0, 0, 0, 0, 0, 0, 0});

    // Fifth: the backwards value became the baseline: idle 50 → 70, user 80 → 90.
    busy.clear();
    r = t.update(counters({{F::User, 90}, {F::System, 10}, {F::Idle, 70}}),
                 {core(0, counters({{F::User, 40}, {F::Idle, 20}})),
                  core(1, counters({{F::User, 10}, {F::System, 10}, {F::Idle, 80}}))},
                 busy);
    QVERIFY(!r.totalWentBackwards);
    compareFloats(splitOf(r.cpu), {100.0f / 3, 0, 0, 200.0f / 3, 0, 0, 0, 0, 0});
}

void TestCpuDelta::trackerHotplug()
{
    using F = CpuField;
    CpuDeltaTracker t;
    std::vector<float> busy;
    const CpuCounters total = counters({{F::User, 100}, {F::Idle, 100}});
    t.update(total,
             {core(0, counters({{F::User, 10}, {F::Idle, 10}})),
              core(1, counters({{F::User, 10}, {F::Idle, 10}}))},
             busy);

    // CPU 1 went offline, CPU 2 came online: CPU 2 is measured since boot (30 of 40 busy).
    busy.clear();
    auto r = t.update(total,
                      {core(0, counters({{F::User, 15}, {F::Idle, 15}})),
                       core(2, counters({{F::User, 30}, {F::Idle, 10}}))},
                      busy);
    QCOMPARE(r.coreCount, 2);
    QCOMPARE(r.coresAppeared, 1);
    QCOMPARE(r.coresVanished, 1);
    compareFloats(Floats(busy.begin(), busy.end()), {50, 75});

    // CPU 1 back: since boot again, not from its reading before it went offline.
    busy.clear();
    r = t.update(total,
                 {core(0, counters({{F::User, 15}, {F::Idle, 25}})),
                  core(1, counters({{F::User, 12}, {F::Idle, 20}})),
                  core(2, counters({{F::User, 30}, {F::Idle, 10}}))},
                 busy);
    QCOMPARE(r.coresAppeared, 1);
    QCOMPARE(r.coresVanished, 0);
    compareFloats(Floats(busy.begin(), busy.end()), {0, 37.5f, 0});
}

void TestCpuDelta::trackerCoreGoesBackwards()
{
    using F = CpuField;
    CpuDeltaTracker t;
    std::vector<float> busy;
    t.update(CpuCounters{}, {core(0, counters({{F::User, 100}, {F::Idle, 100}, {F::IoWait, 50}}))},
             busy);
    // iowait 50 → 20 counts 0: user 20, idle 60 → 25 % busy.
    busy.clear();
    t.update(CpuCounters{}, {core(0, counters({{F::User, 120}, {F::Idle, 160}, {F::IoWait, 20}}))},
             busy);
    compareFloats(Floats(busy.begin(), busy.end()), {25});
    // Every column backwards: zero-length interval.
    busy.clear();
    t.update(CpuCounters{}, {core(0, counters({{F::User, 1}, {F::Idle, 1}, {F::IoWait, 1}}))}, busy);
    compareFloats(Floats(busy.begin(), busy.end()), {0});
}

void TestCpuDelta::trackerAppendsAndCaps()
{
    using F = CpuField;
    CpuDeltaTracker t;
    std::vector<float> busy{42.0f}; // another sample's cores: kept
    std::vector<CoreCounters> cores;
    for (int i = 0; i < int(protocol::maxCoresPerSample) + 1; ++i)
        cores.push_back(core(i, counters({{F::User, 1}, {F::Idle, 3}})));
    const auto r = t.update(CpuCounters{}, cores, busy);
    QCOMPARE(r.coreCount, protocol::maxCoresPerSample);
    QCOMPARE(busy.size(), protocol::maxCoresPerSample + 1);
    QCOMPARE(busy.front(), 42.0f);
    QCOMPARE(busy.back(), 25.0f);
    // An empty reading appends nothing and zeroes the aggregate.
    busy.clear();
    const auto empty = t.update(CpuCounters{}, {}, busy);
    QCOMPARE(empty.coreCount, 0);
    QCOMPARE(empty.coresVanished, int(protocol::maxCoresPerSample) + 1);
    QVERIFY(busy.empty());
    compareFloats(splitOf(empty.cpu), Floats(9, 0.0f));
}

QTEST_GUILESS_MAIN(TestCpuDelta)
#include "tst_cpudelta.moc"
