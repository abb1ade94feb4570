// SPDX-License-Identifier: MIT
// The alert rules' state machines on an injected clock: every rule fires after its hold time
// and not before, resolves after its resolve time, does not flap, honours overrides.
#include "alerts/alertengine.h"

#include <QTest>

using namespace autofact;
using namespace autofact::server;

namespace {

const QString kClient = QStringLiteral("c1");
constexpr qint64 kT0 = 1'780'000'000'000; // some day in 2026
constexpr qint64 kSecond = 1000;

Sample sample(qint64 t, double cpu, double memPercent = 10, double swapPercent = 0, double load1 = 0.1,
              int cores = 4)
{
    Sample s;
    s.timestampMs = t;
    s.cpu.user = float(cpu);
    s.cpu.idle = float(100 - cpu);
    s.memory.total = 1000;
    s.memory.used = quint64(memPercent * 10);
    s.memory.available = s.memory.total - s.memory.used;
    s.memory.swapTotal = 1000;
    s.memory.swapFree = 1000 - quint64(swapPercent * 10);
    s.load1 = float(load1);
    s.coreCount = quint16(cores);
    return s;
}

/** One sample per second from @p from for @p seconds, each made by @p make(t). */
template<typename Make>
std::vector<AlertTransition> feed(AlertEngine &engine, qint64 from, int seconds, Make make, quint64 dropped = 0)
{
    std::vector<AlertTransition> out;
    for (int i = 0; i < seconds; ++i)
        engine.observeSamples(kClient, {make(from + i * kSecond)}, dropped, out);
    return out;
}

AlertRuleSet rulesWith(AlertRule rule, AlertRuleSettings settings, const QString &client = QString())
{
    return AlertRuleSet({AlertRuleRow{QString::fromLatin1(alertRuleInfo(rule).key), client, settings}});
}

AlertEngine engineWith(const AlertRuleSet &rules = {})
{
    AlertEngine engine;
    std::vector<AlertTransition> none;
    engine.setRules(rules, kT0, none);
    engine.addClient(kClient, QStringLiteral("web01"));
    return engine;
}

} // namespace

class TestAlertEngine : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void shippedDefaultsAreSane()
    {
        for (const AlertRuleInfo &info : alertRules()) {
            QCOMPARE(alertRuleFromKey(QString::fromLatin1(info.key)), info.rule);
            QVERIFY2(info.shipped.enabled, info.key);
            QVERIFY2(info.shipped.resolveMs > 0, info.key); // hysteresis on every rule
            if (info.hasThreshold)
                QVERIFY(info.shipped.threshold >= info.minThreshold && info.shipped.threshold <= info.maxThreshold);
        }
        QVERIFY(!alertRuleFromKey(u"no_such_rule"));
    }

    void thresholdRulesFireAfterTheHoldTimeAndResolveAfterTheirOwn_data()
    {
        QTest::addColumn<int>("rule");
        QTest::addColumn<double>("threshold");
        QTest::addRow("cpu busy") << int(AlertRule::CpuBusy) << 90.0;
        QTest::addRow("memory used") << int(AlertRule::MemoryUsed) << 90.0;
        QTest::addRow("swap used") << int(AlertRule::SwapUsed) << 50.0;
        QTest::addRow("load per core") << int(AlertRule::LoadPerCore) << 2.0;
    }
    void thresholdRulesFireAfterTheHoldTimeAndResolveAfterTheirOwn()
    {
        QFETCH(int, rule);
        QFETCH(double, threshold);
        const AlertRule r = AlertRule(rule);
        AlertEngine engine = engineWith(rulesWith(r, {true, threshold, 60 * kSecond, 30 * kSecond}));
        const auto make = [r](double v) {
            return [r, v](qint64 t) {
                switch (r) {
                case AlertRule::CpuBusy: return sample(t, v);
                case AlertRule::MemoryUsed: return sample(t, 5, v);
                case AlertRule::SwapUsed: return sample(t, 5, 10, v);
                default: return sample(t, 5, 10, 0, v * 4, 4);
                }
            };
        };
        const double high = r == AlertRule::LoadPerCore ? 3.0 : threshold + 5;
        const double low = r == AlertRule::LoadPerCore ? 1.0 : threshold - 5;
        // Held for 60 s counts from the first sample above: the 61st sample (t0+60 s) fires.
        auto out = feed(engine, kT0, 60, make(high));
        QVERIFY2(out.empty(), "fired before the hold time");
        out = feed(engine, kT0 + 60 * kSecond, 1, make(high));
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].kind, AlertTransition::Kind::Fired);
        QCOMPARE(out[0].rule, r);
        QCOMPARE(out[0].clientId, kClient);
        QCOMPARE(out[0].hostname, QStringLiteral("web01"));
        QCOMPARE(out[0].startedMs, kT0);
        QCOMPARE(out[0].atMs, kT0 + 60 * kSecond);
        QCOMPARE(out[0].threshold, threshold);
        QVERIFY(qAbs(out[0].value - high) < 0.01);
        QCOMPARE(engine.firingCount(), 1);
        // Below for 30 s resolves; 29 s does not.
        const qint64 t1 = kT0 + 61 * kSecond;
        out = feed(engine, t1, 30, make(low));
        QVERIFY2(out.empty(), "resolved before the resolve time");
        out = feed(engine, t1 + 30 * kSecond, 1, make(low));
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].kind, AlertTransition::Kind::Resolved);
        QCOMPARE(out[0].resolution, QStringLiteral("condition cleared"));
        QVERIFY(qAbs(out[0].value - low) < 0.01);
        QCOMPARE(engine.firingCount(), 0);
    }

    void aFillingFilesystemFiresOnItsReadingsAlone()
    {
        // Filesystems read once a minute, samples every second: only readings move the rule.
        AlertEngine engine = engineWith(rulesWith(AlertRule::DiskUsed, {true, 90, 5 * 60 * kSecond, 2 * 60 * kSecond}));
        const auto minute = [&engine](qint64 from, double rootPercent, double dataPercent) {
            SampleBatch b;
            for (int i = 0; i < 60; ++i)
                b.samples.push_back(sample(from + i * kSecond, 5));
            b.devices.names = {QStringLiteral("/"), QStringLiteral("/srv")};
            // use % as df: used / (used + available); 1 % reserved for root.
            const auto fs = [](std::uint16_t device, double percent) {
                const auto used = std::uint64_t(percent * 1000);
                return FilesystemUsage{0, device, 101000, used, 100000 - used, 0, 0};
            };
            b.devices.filesystems = {fs(0, rootPercent), fs(1, dataPercent)};
            std::vector<AlertTransition> out;
            engine.observeSamples(kClient, b.samples, 0, out, &b.devices);
            return out;
        };
        // The fullest filesystem counts: /srv at 95 % for five readings (4 minutes) is pending.
        for (int m = 0; m < 5; ++m)
            QVERIFY(minute(kT0 + m * 60 * kSecond, 40, 95).empty());
        // The sixth reading is five minutes after the first: it fires, naming the value.
        auto out = minute(kT0 + 5 * 60 * kSecond, 40, 96);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].rule, AlertRule::DiskUsed);
        QCOMPARE(out[0].kind, AlertTransition::Kind::Fired);
        QVERIFY(qAbs(out[0].value - 96) < 0.01);
        // Samples without filesystem readings neither resolve nor move it.
        std::vector<AlertTransition> none;
        for (int i = 0; i < 600; ++i)
            engine.observeSamples(kClient, {sample(kT0 + 360 * kSecond + i * kSecond, 5)}, 0, none);
        QVERIFY(none.empty());
        QCOMPARE(engine.firingCount(), 1);
        // Cleaned up: readings below for two minutes resolve it.
        QVERIFY(minute(kT0 + 1000 * kSecond, 40, 70).empty());
        QVERIFY(minute(kT0 + 1060 * kSecond, 40, 70).empty());
        out = minute(kT0 + 1120 * kSecond, 40, 70);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].kind, AlertTransition::Kind::Resolved);
    }

    void aHotSensorFiresOnItsThresholdOrItsOwnCriticalPoint()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::TemperatureHigh, {true, 90, 60 * kSecond, 60 * kSecond}));
        // Two sensors read every 10 s; the rule follows the hottest.
        const auto reading = [&engine](qint64 t, std::int32_t packageMc, std::int32_t nvmeMc, std::int32_t nvmeCriticalMc) {
            SampleBatch b;
            b.samples.push_back(sample(t, 5));
            b.devices.names = {QStringLiteral("coretemp/Package id 0"), QStringLiteral("nvme/Composite")};
            b.devices.temperatures = {{0, 0, packageMc, 100'000}, {0, 1, nvmeMc, nvmeCriticalMc}};
            std::vector<AlertTransition> out;
            engine.observeSamples(kClient, b.samples, 0, out, &b.devices);
            return out;
        };
        for (int i = 0; i < 6; ++i)
            QVERIFY(reading(kT0 + i * 10 * kSecond, 95'000, 40'000, noCriticalTemperature).empty());
        auto out = reading(kT0 + 60 * kSecond, 95'500, 40'000, noCriticalTemperature);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].rule, AlertRule::TemperatureHigh);
        QCOMPARE(out[0].value, 95.5);
        // Cooled: resolved after a minute below.
        for (int i = 0; i < 6; ++i)
            QVERIFY(reading(kT0 + (70 + i * 10) * kSecond, 60'000, 40'000, noCriticalTemperature).empty());
        out = reading(kT0 + 130 * kSecond, 60'000, 40'000, noCriticalTemperature);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].kind, AlertTransition::Kind::Resolved);
        // An NVMe drive at its own critical point (70 °C) fires below the 90 °C threshold.
        for (int i = 0; i < 6; ++i)
            QVERIFY(reading(kT0 + (200 + i * 10) * kSecond, 60'000, 70'000, 70'000).empty());
        out = reading(kT0 + 260 * kSecond, 60'000, 71'000, 70'000);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].kind, AlertTransition::Kind::Fired);
    }

    void aValueHoveringAtTheThresholdFiresOnceAndDoesNotFlap()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::CpuBusy, {true, 90, 10 * kSecond, 30 * kSecond}));
        // 91, 89, 91, 89 ... for 10 minutes: never 10 s straight above, so it never fires.
        auto out = feed(engine, kT0, 600, [](qint64 t) { return sample(t, (t / kSecond) % 2 ? 91 : 89); });
        QVERIFY(out.empty());
        // Above for 20 s: fires once; then hovering for 10 minutes: no 30 s straight below.
        out = feed(engine, kT0 + 600 * kSecond, 20, [](qint64 t) { return sample(t, 95); });
        QCOMPARE(out.size(), std::size_t(1));
        out = feed(engine, kT0 + 620 * kSecond, 600,
                   [](qint64 t) { return sample(t, (t / kSecond) % 20 ? 50 : 95); });
        QVERIFY2(out.empty(), "flapped");
        QCOMPARE(engine.firingCount(), 1);
    }

    void resentAndOlderSamplesAreNotJudgedTwice()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::CpuBusy, {true, 90, 10 * kSecond, 10 * kSecond}));
        auto out = feed(engine, kT0, 6, [](qint64 t) { return sample(t, 99); });
        // The same six seconds again (a resend) must not count as six more.
        out = feed(engine, kT0, 6, [](qint64 t) { return sample(t, 99); });
        QVERIFY(out.empty());
        out = feed(engine, kT0 + 6 * kSecond, 4, [](qint64 t) { return sample(t, 99); });
        QVERIFY(out.empty());
        out = feed(engine, kT0 + 10 * kSecond, 1, [](qint64 t) { return sample(t, 99); });
        QCOMPARE(out.size(), std::size_t(1));
    }

    void groupOverridesSitBetweenFleetAndClient()
    {
        const QString member = QStringLiteral("c2");
        const QString own = QStringLiteral("c3");
        const QString web = groupRuleScope(QStringLiteral("web"));
        AlertRuleSet rules(
                {
                        AlertRuleRow{QStringLiteral("cpu_busy"), QString(), {true, 50, 0, kSecond}},
                        AlertRuleRow{QStringLiteral("cpu_busy"), web, {true, 80, 0, kSecond}},
                        AlertRuleRow{QStringLiteral("memory_used"), web, {false, 70, 0, kSecond}},
                        AlertRuleRow{QStringLiteral("cpu_busy"), own, {true, 99, 0, kSecond}},
                },
                {{member, QStringLiteral("web")}, {own, QStringLiteral("web")}});
        const auto cpu = std::size_t(AlertRule::CpuBusy);
        const auto memory = std::size_t(AlertRule::MemoryUsed);
        QCOMPARE(rules.forClient(kClient)[cpu].threshold, 50.0);  // in no group
        QCOMPARE(rules.forClient(member)[cpu].threshold, 80.0);   // the group's
        QVERIFY(!rules.forClient(member)[memory].enabled);
        QCOMPARE(rules.forClient(own)[cpu].threshold, 99.0);      // its own beats the group's
        QVERIFY(!rules.forClient(own)[memory].enabled);           // rule by rule
        QCOMPARE(rules.forGroup(QStringLiteral("web"))[cpu].threshold, 80.0);
        QCOMPARE(rules.forGroup(QStringLiteral("db"))[cpu].threshold, 50.0);
        QCOMPARE(rules.groupOf(own), QStringLiteral("web"));
        QVERIFY(rules.override(web, AlertRule::CpuBusy));
    }

    void clientOverridesBeatTheFleetDefault()
    {
        const QString other = QStringLiteral("c2");
        AlertRuleSet rules({
                AlertRuleRow{QStringLiteral("cpu_busy"), QString(), {true, 50, 0, kSecond}},
                AlertRuleRow{QStringLiteral("cpu_busy"), other, {true, 95, 0, kSecond}},
                AlertRuleRow{QStringLiteral("rule_of_a_newer_version"), QString(), {true, 1, 0, 0}},
        });
        QCOMPARE(rules.forClient(kClient)[0].threshold, 50.0);
        QCOMPARE(rules.forClient(other)[0].threshold, 95.0);
        QVERIFY(rules.override(other, AlertRule::CpuBusy));
        QVERIFY(!rules.override(kClient, AlertRule::CpuBusy));
        AlertEngine engine = engineWith(rules);
        engine.addClient(other, QStringLiteral("db01"));
        std::vector<AlertTransition> out;
        engine.observeSamples(kClient, {sample(kT0, 80)}, 0, out);
        engine.observeSamples(other, {sample(kT0, 80)}, 0, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].clientId, kClient);
    }

    void disablingAFiringRuleResolvesItAndADisabledRuleNeverFires()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::CpuBusy, {true, 50, 0, kSecond}));
        auto out = feed(engine, kT0, 1, [](qint64 t) { return sample(t, 99); });
        QCOMPARE(out.size(), std::size_t(1));
        out.clear();
        engine.setRules(rulesWith(AlertRule::CpuBusy, {false, 50, 0, kSecond}), kT0 + kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].kind, AlertTransition::Kind::Resolved);
        QCOMPARE(out[0].resolution, QStringLiteral("rule disabled"));
        out = feed(engine, kT0 + 2 * kSecond, 100, [](qint64 t) { return sample(t, 99); });
        QVERIFY(out.empty());
    }

    void hostStaleFiresOnTheServerClockAndResolvesWhenDataFlowsAgain()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::HostStale, {true, 0, 60 * kSecond, 30 * kSecond}));
        std::vector<AlertTransition> out;
        engine.observeHealth(kClient, ClientHealth::Up, kT0);
        engine.observeHealth(kClient, ClientHealth::Stale, kT0 + 10 * kSecond);
        engine.tick(kT0 + 69 * kSecond, out);
        QVERIFY(out.empty());
        engine.tick(kT0 + 70 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].rule, AlertRule::HostStale);
        QCOMPARE(out[0].startedMs, kT0 + 10 * kSecond);
        QCOMPARE(out[0].value, 60.0); // seconds stale
        out.clear();
        engine.tick(kT0 + 99 * kSecond, out);
        engine.observeHealth(kClient, ClientHealth::Up, kT0 + 100 * kSecond);
        engine.tick(kT0 + 129 * kSecond, out);
        QVERIFY(out.empty());
        engine.tick(kT0 + 130 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].kind, AlertTransition::Kind::Resolved);
        QCOMPARE(out[0].value, 89.0); // how long it held, not how long it has been up
    }

    void aStaleHostThatGoesDownStaysAlertedUntilHostDownTakesOver()
    {
        AlertRuleSet rules({AlertRuleRow{QStringLiteral("host_stale"), QString(), {true, 0, 60 * kSecond, 30 * kSecond}},
                            AlertRuleRow{QStringLiteral("host_down"), QString(), {true, 0, 180 * kSecond, 30 * kSecond}}});
        AlertEngine engine = engineWith(rules);
        engine.addClient(kClient, QString(), true);
        std::vector<AlertTransition> out;
        engine.observeHealth(kClient, ClientHealth::Stale, kT0);
        engine.tick(kT0 + 60 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        out.clear();
        // The heartbeat timeout ends the session: down. Stale holds, with no gap in between.
        engine.observeHealth(kClient, ClientHealth::Down, kT0 + 75 * kSecond);
        for (qint64 t = 76; t < 255; ++t)
            engine.tick(kT0 + t * kSecond, out);
        QVERIFY(out.empty());
        QCOMPARE(engine.firingCount(), 1);
        engine.tick(kT0 + 255 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(2));
        QCOMPARE(out[0].rule, AlertRule::HostDown);
        QCOMPARE(out[0].kind, AlertTransition::Kind::Fired);
        QCOMPARE(out[1].rule, AlertRule::HostStale);
        QCOMPARE(out[1].resolution, QStringLiteral("host down"));
        QCOMPARE(out[1].value, 255.0); // stale (then down) for that long, in all
        QCOMPARE(engine.firingCount(), 1);
    }

    void hostDownFiresOnlyForClientsThatHaveSentData()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::HostDown, {true, 0, 180 * kSecond, 30 * kSecond}));
        engine.addClient(kClient, QString(), true); // has sent data before (the inventory says so)
        engine.addClient(QStringLiteral("new"), QStringLiteral("new01"));
        std::vector<AlertTransition> out;
        // Both disconnect; the hub reports both as down.
        engine.observeHealth(kClient, ClientHealth::Down, kT0);
        engine.observeHealth(QStringLiteral("new"), ClientHealth::Down, kT0);
        engine.tick(kT0 + 179 * kSecond, out);
        QVERIFY(out.empty());
        engine.tick(kT0 + 3600 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].clientId, kClient); // "new" never sent data: never seen, not down
        QCOMPARE(out[0].rule, AlertRule::HostDown);
        out.clear();
        // Back, then gone again within the resolve time: still the same alert, no new one.
        engine.observeHealth(kClient, ClientHealth::Up, kT0 + 3601 * kSecond);
        engine.tick(kT0 + 3610 * kSecond, out);
        engine.observeHealth(kClient, ClientHealth::Down, kT0 + 3611 * kSecond);
        engine.tick(kT0 + 3700 * kSecond, out);
        QVERIFY(out.empty());
        QCOMPARE(engine.firingCount(), 1);
    }

    void aHostGoingDownClosesItsSampleAlerts()
    {
        AlertRuleSet rules({AlertRuleRow{QStringLiteral("cpu_busy"), QString(), {true, 90, 0, 60 * kSecond}},
                            AlertRuleRow{QStringLiteral("host_down"), QString(), {true, 0, 60 * kSecond, kSecond}}});
        AlertEngine engine = engineWith(rules);
        auto out = feed(engine, kT0, 1, [](qint64 t) { return sample(t, 99); });
        QCOMPARE(out.size(), std::size_t(1));
        engine.setAlertId(kClient, AlertRule::CpuBusy, 5);
        out.clear();
        engine.observeHealth(kClient, ClientHealth::Down, kT0 + kSecond);
        engine.tick(kT0 + 61 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(2));
        QCOMPARE(out[0].rule, AlertRule::HostDown);
        QCOMPARE(out[0].kind, AlertTransition::Kind::Fired);
        QCOMPARE(out[1].rule, AlertRule::CpuBusy);
        QCOMPARE(out[1].kind, AlertTransition::Kind::Resolved);
        QCOMPARE(out[1].alertId, qint64(5));
        QCOMPARE(out[1].resolution, QStringLiteral("host down: no data to judge"));
        QCOMPARE(engine.firingCount(), 1);
    }

    void theBacklogIsUnknownUntilReportedAndANewLimitCountsFromNow()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::SpoolBacklog, {true, 100, 60 * kSecond, 10 * kSecond}));
        // A backlog alert restored at start: no heartbeat yet, so nothing is known, nothing resolves.
        engine.restoreFiring(kClient, AlertRule::SpoolBacklog, 9, kT0 - 3600 * kSecond, 500);
        std::vector<AlertTransition> out;
        engine.tick(kT0 + 300 * kSecond, out);
        QVERIFY(out.empty());
        engine.observeBacklog(kClient, 400, kT0 + 301 * kSecond);
        engine.tick(kT0 + 400 * kSecond, out);
        QVERIFY(out.empty()); // still above: still the same alert
        engine.observeBacklog(kClient, 0, kT0 + 401 * kSecond);
        engine.tick(kT0 + 411 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].alertId, qint64(9));
        out.clear();
        // 50 batches, below 100; a new limit of 20 makes the same backlog a problem from now on.
        engine.observeBacklog(kClient, 50, kT0 + 500 * kSecond);
        engine.setRules(rulesWith(AlertRule::SpoolBacklog, {true, 20, 60 * kSecond, 10 * kSecond}), kT0 + 1000 * kSecond, out);
        engine.tick(kT0 + 1059 * kSecond, out);
        QVERIFY(out.empty());
        engine.tick(kT0 + 1060 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].startedMs, kT0 + 1000 * kSecond);
    }

    void droppedSamplesFireAtOnceFromABaselineAndResolveAfterQuietTime()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::SamplesDropped, {true, 0, 0, 60 * kSecond}));
        // The first counter seen (500) is history, not news.
        auto out = feed(engine, kT0, 5, [](qint64 t) { return sample(t, 1); }, 500);
        QVERIFY(out.empty());
        out = feed(engine, kT0 + 5 * kSecond, 1, [](qint64 t) { return sample(t, 1); }, 530);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].rule, AlertRule::SamplesDropped);
        QCOMPARE(out[0].value, 30.0);
        out = feed(engine, kT0 + 6 * kSecond, 1, [](qint64 t) { return sample(t, 1); }, 540);
        QVERIFY(out.empty());
        out = feed(engine, kT0 + 7 * kSecond, 60, [](qint64 t) { return sample(t, 1); }, 540);
        QVERIFY(out.empty());
        out = feed(engine, kT0 + 67 * kSecond, 1, [](qint64 t) { return sample(t, 1); }, 540);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].kind, AlertTransition::Kind::Resolved);
        QCOMPARE(out[0].value, 40.0); // lost while it fired
        // A counter that goes back (a new spool) is a new baseline, not an alert.
        out = feed(engine, kT0 + 68 * kSecond, 2, [](qint64 t) { return sample(t, 1); }, 3);
        QVERIFY(out.empty());
    }

    void spoolBacklogFiresWhenReportedAboveTheLimitForTheHoldTime()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::SpoolBacklog, {true, 100, 60 * kSecond, 10 * kSecond}));
        std::vector<AlertTransition> out;
        engine.observeBacklog(kClient, 50, kT0);
        engine.tick(kT0 + 100 * kSecond, out);
        QVERIFY(out.empty());
        engine.observeBacklog(kClient, 150, kT0 + 100 * kSecond);
        engine.observeBacklog(kClient, 170, kT0 + 130 * kSecond); // still above: the clock runs on
        engine.tick(kT0 + 159 * kSecond, out);
        QVERIFY(out.empty());
        engine.tick(kT0 + 160 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].value, 170.0);
        out.clear();
        engine.observeBacklog(kClient, 0, kT0 + 200 * kSecond);
        engine.tick(kT0 + 210 * kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].kind, AlertTransition::Kind::Resolved);
    }

    void aNodeThatIsNotTheJudgeRunsOnlyTheBacklogRule()
    {
        // A node of a shared store that does not judge host rules still judges the backlogs its
        // own sessions report; the judge sees nothing of those.
        AlertRuleSet rules({AlertRuleRow{QStringLiteral("host_down"), QString(), {true, 0, 60 * kSecond, 30 * kSecond}},
                            AlertRuleRow{QStringLiteral("spool_backlog"), QString(), {true, 100, 60 * kSecond, 10 * kSecond}}});
        AlertEngine engine = engineWith(rules);
        engine.addClient(kClient, QString(), true);
        engine.observeHealth(kClient, ClientHealth::Down, kT0); // (not this node's to judge)
        engine.observeBacklog(kClient, 500, kT0);
        std::vector<AlertTransition> out;
        engine.tick(kT0 + 3600 * kSecond, out, false);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].rule, AlertRule::SpoolBacklog);
        out.clear();
        engine.tick(kT0 + 3601 * kSecond, out, true);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].rule, AlertRule::HostDown);
        // Adopting the store's word (the client is held elsewhere) forgets the backlog heard
        // here: the alert goes on as stored and nothing here judges it until a report comes.
        out.clear();
        engine.setAlertId(kClient, AlertRule::SpoolBacklog, 7); // as written to the store
        engine.setAlertId(kClient, AlertRule::HostDown, 8);
        QCOMPARE(engine.firingCount(), 2);
        // The store: the backlog alert still active, host down resolved by another node.
        AlertEngine::StoredFirings stored;
        stored[std::size_t(AlertRule::SpoolBacklog)] = {7, kT0, 500};
        engine.adoptStored(kClient, stored, false, false);
        engine.tick(kT0 + 7200 * kSecond, out, false);
        QVERIFY(out.empty());
        QCOMPARE(engine.firingCount(), 1);
    }

    void aPendingConditionSurvivesAReconnectButNotAMove()
    {
        // CPU busy must hold 60 s. 40 s of it were seen when the session ended.
        AlertEngine engine = engineWith(rulesWith(AlertRule::CpuBusy, {true, 90, 60 * kSecond, 30 * kSecond}));
        AlertEngine moved = engineWith(rulesWith(AlertRule::CpuBusy, {true, 90, 60 * kSecond, 30 * kSecond}));
        for (AlertEngine *e : {&engine, &moved})
            QVERIFY(feed(*e, kT0, 41, [](qint64 t) { return sample(t, 97); }).empty());
        // Back on the same node, nothing stored elsewhere: the 40 s still count.
        engine.adoptStored(kClient, {}, false, true);
        auto out = feed(engine, kT0 + 41 * kSecond, 21, [](qint64 t) { return sample(t, 97); });
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].startedMs, kT0);
        // After another node stored its data, they start again.
        moved.adoptStored(kClient, {}, true, true);
        QVERIFY(feed(moved, kT0 + 41 * kSecond, 20, [](qint64 t) { return sample(t, 97); }).empty());
        out = feed(moved, kT0 + 61 * kSecond, 42, [](qint64 t) { return sample(t, 97); });
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].startedMs, kT0 + 41 * kSecond);
    }

    void aRestoredAlertDoesNotFireAgainAndCanResolve()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::CpuBusy, {true, 90, 0, 5 * kSecond}));
        engine.restoreFiring(kClient, AlertRule::CpuBusy, 42, kT0 - 3600 * kSecond, 97);
        QCOMPARE(engine.firingCount(), 1);
        auto out = feed(engine, kT0, 10, [](qint64 t) { return sample(t, 99); });
        QVERIFY(out.empty());
        out = feed(engine, kT0 + 10 * kSecond, 6, [](qint64 t) { return sample(t, 10); });
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].alertId, qint64(42));
        QCOMPARE(out[0].startedMs, kT0 - 3600 * kSecond);
    }

    void removingAClientResolvesItsAlertsWithTheReason()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::CpuBusy, {true, 90, 0, 5 * kSecond}));
        auto out = feed(engine, kT0, 1, [](qint64 t) { return sample(t, 99); });
        engine.setAlertId(kClient, AlertRule::CpuBusy, 7);
        out.clear();
        engine.removeClient(kClient, QStringLiteral("client forgotten"), kT0 + kSecond, out);
        QCOMPARE(out.size(), std::size_t(1));
        QCOMPARE(out[0].alertId, qint64(7));
        QCOMPARE(out[0].resolution, QStringLiteral("client forgotten"));
        QVERIFY(!engine.hasClient(kClient));
        out = feed(engine, kT0 + 2 * kSecond, 5, [](qint64 t) { return sample(t, 99); });
        QVERIFY(out.empty());
        // Enrolled again: watched again from a clean state.
        engine.addClient(kClient, QStringLiteral("web01"));
        out = feed(engine, kT0 + 10 * kSecond, 1, [](qint64 t) { return sample(t, 99); });
        QCOMPARE(out.size(), std::size_t(1));
    }

    void hostsWithoutSwapNeverFireTheSwapRule()
    {
        AlertEngine engine = engineWith(rulesWith(AlertRule::SwapUsed, {true, 1, 0, kSecond}));
        auto out = feed(engine, kT0, 10, [](qint64 t) {
            Sample s = sample(t, 1);
            s.memory.swapTotal = 0;
            s.memory.swapFree = 0;
            return s;
        });
        QVERIFY(out.empty());
    }
};

QTEST_GUILESS_MAIN(TestAlertEngine)
#include "tst_alertengine.moc"
