// SPDX-License-Identifier: MIT
// Alerts through a real store: firings and resolutions are written, survive a restart without
// firing again, repeat until acknowledged, stay quiet while silenced; on a store shared by
// several nodes (two Stores on one location; PostgreSQL under tests/with-postgres.sh), an
// alert is carried on when its client moves node, fired and resolved once, and what one node
// or dashboard changes reaches the others.
#include "alerts/alertmonitor.h"
#include "storetesting.h"
#include "testpostgres.h"

#include <QTemporaryDir>
#include <QTest>

using namespace autofact;
using namespace autofact::server;

namespace {

QString kClient; // enrolled in the store by init()
constexpr qint64 kT0 = 1'780'000'000'000;
constexpr qint64 kSecond = 1000;

Sample busy(qint64 t, float cpu)
{
    Sample s;
    s.timestampMs = t;
    s.cpu.user = cpu;
    s.cpu.idle = 100 - cpu;
    s.memory.total = 1000;
    s.memory.used = 100;
    s.coreCount = 2;
    return s;
}

} // namespace

class TestAlertMonitor : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    int m_n = 0;
    QString m_path;

    /** A monitor watching kClient with CPU busy > 90 % firing at once, resolving after 5 s. */
    static void setUp(AlertMonitor &monitor)
    {
        QVERIFY_STORE(monitor.load(kT0));
        monitor.addClient(kClient, QStringLiteral("web01\x1b[31m"));
        QVERIFY_STORE(monitor.setRule(QStringLiteral("cpu_busy"), QString(), AlertRuleSettings{true, 90, 0, 5 * kSecond}, kT0));
    }

    /** Two nodes on one store: A set up as setUp() does, B loaded after A's rule was stored. */
    struct TwoNodes {
        explicit TwoNodes(const QString &path) : storeA(path), nodeA(storeA, QStringLiteral("srv")), storeB(path),
                                                 nodeB(storeB, QStringLiteral("srv"))
        {
            ready = storeA.open() && storeB.open();
            if (ready) {
                setUp(nodeA);
                ready = !QTest::currentTestFailed() && nodeB.load(kT0).ok();
            }
        }
        Store storeA;
        AlertMonitor nodeA;
        Store storeB;
        AlertMonitor nodeB;
        bool ready = false;
    };

private Q_SLOTS:
    void init()
    {
        m_path = autofact::testing::postgresAdminUri().isEmpty()
                         ? m_dir.filePath(QStringLiteral("alerts%1.db").arg(++m_n))
                         : autofact::testing::newPostgresDatabase();
        QVERIFY(!m_path.isEmpty());
        Store store(m_path);
        QVERIFY_STORE(store.open());
        Hello hello;
        hello.hostname = QStringLiteral("web01");
        hello.cpuCount = 2;
        kClient = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("127.0.0.1"), kT0)).clientId;
        QVERIFY(!kClient.isEmpty());
    }

    void aFiringIsStoredSurvivesARestartAndResolvesOnce()
    {
        qint64 id = 0;
        {
            Store store(m_path);
            QVERIFY_STORE(store.open());
            AlertMonitor monitor(store, QStringLiteral("srv"));
            setUp(monitor);
            monitor.observeBatch(kClient, {busy(kT0, 97)}, 0);
            const auto notices = monitor.settle(kT0 + 100);
            QCOMPARE(notices.size(), std::size_t(1));
            const AlertNotice &n = notices[0];
            QCOMPARE(n.status, AlertNotice::Status::Firing);
            QCOMPARE(n.rule, QStringLiteral("cpu_busy"));
            // The hostname first, cleaned of the escape sequence an agent put in it.
            QVERIFY2(n.summary.startsWith(QStringLiteral("web01[31m: CPU busy 97.0 % (above 90.0 %)")), qPrintable(n.summary));
            QVERIFY(n.urlHint.startsWith(QStringLiteral("autofact://srv/client/%1/alert/").arg(kClient)));
            const auto stored = STORE_OK(store.alerts().alerts(false));
            QCOMPARE(stored.size(), 1);
            id = stored[0].id;
            QCOMPARE(n.alertId, id);
            QCOMPARE(stored[0].startedMs, kT0);
            QCOMPARE(stored[0].firedMs, kT0 + 100);
            QCOMPARE(monitor.active().size(), 1);
            QVERIFY(monitor.takeChanged());
            QVERIFY(!monitor.takeChanged());
        }
        Store store(m_path);
        QVERIFY_STORE(store.open());
        AlertMonitor monitor(store, QStringLiteral("srv"));
        QVERIFY_STORE(monitor.load(kT0 + 10 * kSecond));
        QCOMPARE(monitor.active().size(), 1);
        monitor.addClient(kClient, QStringLiteral("web01"));
        // Still busy after the restart: the same alert, no second firing.
        monitor.observeBatch(kClient, {busy(kT0 + 11 * kSecond, 99)}, 0);
        QVERIFY(monitor.settle(kT0 + 11 * kSecond).empty());
        monitor.observeBatch(kClient, {busy(kT0 + 12 * kSecond, 10), busy(kT0 + 17 * kSecond, 10)}, 0);
        const auto notices = monitor.settle(kT0 + 17 * kSecond);
        QCOMPARE(notices.size(), std::size_t(1));
        QCOMPARE(notices[0].status, AlertNotice::Status::Resolved);
        QCOMPARE(notices[0].alertId, id);
        QVERIFY(monitor.active().isEmpty());
        const auto all = STORE_OK(store.alerts().alerts(true));
        QCOMPARE(all.size(), 1);
        QCOMPARE(all[0].resolvedMs, kT0 + 17 * kSecond);
        QCOMPARE(all[0].resolution, QStringLiteral("condition cleared"));
        QVERIFY(STORE_OK(store.alerts().alerts(false)).isEmpty());
    }

    void aRuleThatFiresAndResolvesInOneBatchLeavesNothingActive()
    {
        // A replayed spool: one batch holds the busy minute and the calm after it.
        Store store(m_path);
        QVERIFY_STORE(store.open());
        AlertMonitor monitor(store, QStringLiteral("srv"));
        setUp(monitor);
        std::vector<Sample> batch;
        batch.push_back(busy(kT0, 97));
        for (int i = 1; i <= 6; ++i)
            batch.push_back(busy(kT0 + i * kSecond, 5));
        monitor.observeBatch(kClient, batch, 0);
        const auto notices = monitor.settle(kT0 + 10 * kSecond);
        QCOMPARE(notices.size(), std::size_t(2));
        QCOMPARE(notices[0].status, AlertNotice::Status::Firing);
        QCOMPARE(notices[1].status, AlertNotice::Status::Resolved);
        QVERIFY(notices[0].alertId > 0);
        QCOMPARE(notices[1].alertId, notices[0].alertId);
        QVERIFY(monitor.active().isEmpty());
        QVERIFY(STORE_OK(store.alerts().alerts(false)).isEmpty());
        const auto all = STORE_OK(store.alerts().alerts(true));
        QCOMPARE(all.size(), 1);
        QCOMPARE(all[0].resolvedMs, kT0 + 6 * kSecond);
        // And it can fire again later as a new alert.
        monitor.observeBatch(kClient, {busy(kT0 + 20 * kSecond, 99)}, 0);
        QCOMPARE(monitor.settle(kT0 + 20 * kSecond).size(), std::size_t(1));
        QCOMPARE(STORE_OK(store.alerts().alerts(true)).size(), 2);
    }

    void aFiringAlertRepeatsUntilAcknowledged()
    {
        Store store(m_path);
        QVERIFY_STORE(store.open());
        AlertMonitor monitor(store, QStringLiteral("srv"));
        setUp(monitor);
        QVERIFY_STORE(monitor.setRepeatIntervalMs(60 * kSecond));
        monitor.observeBatch(kClient, {busy(kT0, 97)}, 0);
        QCOMPARE(monitor.settle(kT0).size(), std::size_t(1));
        QVERIFY(monitor.tick(kT0 + 59 * kSecond).empty());
        auto repeat = monitor.tick(kT0 + 60 * kSecond);
        QCOMPARE(repeat.size(), std::size_t(1));
        QVERIFY(repeat[0].repeat);
        QVERIFY(repeat[0].summary.contains(QStringLiteral("still firing")));
        QVERIFY(monitor.tick(kT0 + 61 * kSecond).empty());
        const qint64 id = monitor.active().first().id;
        QVERIFY_STORE(monitor.acknowledge(id, true, kT0 + 70 * kSecond));
        QVERIFY(monitor.active().first().ackedMs > 0);
        QVERIFY(monitor.tick(kT0 + 600 * kSecond).empty());
        QVERIFY(STORE_OK(store.alerts().alerts(false)).first().ackedMs > 0);
        // The interval is stored: a new monitor reads it back.
        AlertMonitor again(store, QStringLiteral("srv"));
        QVERIFY_STORE(again.load(kT0));
        QCOMPARE(again.repeatIntervalMs(), 60 * kSecond);
    }

    void aSilencedAlertSendsNothingButIsStillRecorded()
    {
        Store store(m_path);
        QVERIFY_STORE(store.open());
        AlertMonitor monitor(store, QStringLiteral("srv"));
        setUp(monitor);
        QVERIFY_STORE(monitor.setRepeatIntervalMs(10 * kSecond));
        monitor.observeBatch(kClient, {busy(kT0, 97)}, 0);
        QCOMPARE(monitor.settle(kT0).size(), std::size_t(1));
        const qint64 id = monitor.active().first().id;
        QVERIFY_STORE(monitor.silence(id, kT0 + 3600 * kSecond, QStringLiteral("kernel upgrade")));
        QVERIFY(monitor.tick(kT0 + 100 * kSecond).empty()); // no repeat
        monitor.observeBatch(kClient, {busy(kT0 + 101 * kSecond, 1), busy(kT0 + 106 * kSecond, 1)}, 0);
        QVERIFY(monitor.settle(kT0 + 106 * kSecond).empty()); // no resolved notice
        const auto all = STORE_OK(store.alerts().alerts(true));
        QCOMPARE(all.size(), 1);
        QVERIFY(all[0].resolvedMs > 0);
        QCOMPARE(all[0].silenceReason, QStringLiteral("kernel upgrade"));
        QCOMPARE(all[0].silencedUntilMs, kT0 + 3600 * kSecond);
        QVERIFY(!monitor.acknowledge(999, true, kT0).ok()); // unknown ID: an error, not a no-op
    }

    void forgettingAClientResolvesItsAlerts()
    {
        Store store(m_path);
        QVERIFY_STORE(store.open());
        AlertMonitor monitor(store, QStringLiteral("srv"));
        setUp(monitor);
        monitor.observeBatch(kClient, {busy(kT0, 97)}, 0);
        QCOMPARE(monitor.settle(kT0).size(), std::size_t(1));
        monitor.removeClient(kClient, QStringLiteral("client forgotten"), kT0 + kSecond);
        const auto notices = monitor.settle(kT0 + kSecond);
        QCOMPARE(notices.size(), std::size_t(1));
        QVERIFY(notices[0].summary.contains(QStringLiteral("client forgotten")));
        QCOMPARE(STORE_OK(store.alerts().alerts(true)).first().resolution, QStringLiteral("client forgotten"));
    }

    void aClientMovingToAnotherNodeCarriesItsAlert()
    {
        TwoNodes nodes(m_path);
        QVERIFY(nodes.ready);
        nodes.nodeA.observeBatch(kClient, {busy(kT0, 97)}, 0);
        const auto fired = nodes.nodeA.settle(kT0);
        QCOMPARE(fired.size(), std::size_t(1));
        const qint64 id = fired[0].alertId;
        // The agent reconnects to node B, which started before the alert fired.
        nodes.nodeB.addClient(kClient, QStringLiteral("web01"));
        QVERIFY_STORE(nodes.nodeB.adoptClient(kClient, true));
        QCOMPARE(nodes.nodeB.active().size(), 1);
        QCOMPARE(nodes.nodeB.active().first().id, id);
        QCOMPARE(nodes.nodeB.engine().firingCount(), 1);
        // Its spool replays more busy samples: the same alert goes on, nothing fires again.
        nodes.nodeB.observeBatch(kClient, {busy(kT0 + 10 * kSecond, 99)}, 0);
        QVERIFY(nodes.nodeB.settle(kT0 + 10 * kSecond).empty());
        // Calm on B resolves the alert A fired, once.
        nodes.nodeB.observeBatch(kClient, {busy(kT0 + 11 * kSecond, 5), busy(kT0 + 17 * kSecond, 5)}, 0);
        const auto resolved = nodes.nodeB.settle(kT0 + 17 * kSecond);
        QCOMPARE(resolved.size(), std::size_t(1));
        QCOMPARE(resolved[0].status, AlertNotice::Status::Resolved);
        QCOMPARE(resolved[0].alertId, id);
        const auto all = STORE_OK(nodes.storeA.alerts().alerts(true));
        QCOMPARE(all.size(), 1);
        QCOMPARE(all[0].resolvedMs, kT0 + 17 * kSecond);
        // Node A no longer holds the client: it takes the store's word, without a notice.
        QVERIFY(nodes.nodeA.takeChanged());
        QVERIFY_STORE(nodes.nodeA.syncActive({}));
        QVERIFY(nodes.nodeA.active().isEmpty());
        QVERIFY(nodes.nodeA.takeChanged());
        QCOMPARE(nodes.nodeA.engine().firingCount(), 0);
        QVERIFY(nodes.nodeA.settle(kT0 + 20 * kSecond).empty());
    }

    void aNodeThatMissedTheMoveNeitherFiresNorResolvesTwice()
    {
        TwoNodes nodes(m_path);
        QVERIFY(nodes.ready);
        nodes.nodeB.addClient(kClient, QStringLiteral("web01"));
        nodes.nodeA.observeBatch(kClient, {busy(kT0, 97)}, 0);
        QCOMPARE(nodes.nodeA.settle(kT0).size(), std::size_t(1));
        // B judges the client's samples without having adopted it (a race with the move):
        // it finds the alert already firing and carries it on, announcing nothing.
        nodes.nodeB.observeBatch(kClient, {busy(kT0 + kSecond, 98)}, 0);
        QVERIFY(nodes.nodeB.settle(kT0 + kSecond).empty());
        QCOMPARE(STORE_OK(nodes.storeB.alerts().alerts(true)).size(), 1);
        QCOMPARE(nodes.nodeB.active().size(), 1);
        const qint64 id = nodes.nodeB.active().first().id;
        QCOMPARE(id, nodes.nodeA.active().first().id);
        nodes.nodeB.observeBatch(kClient, {busy(kT0 + 2 * kSecond, 5), busy(kT0 + 8 * kSecond, 5)}, 0);
        const auto resolved = nodes.nodeB.settle(kT0 + 8 * kSecond);
        QCOMPARE(resolved.size(), std::size_t(1));
        QCOMPARE(resolved[0].alertId, id);
        // A resolving the same alert later changes nothing and announces nothing.
        nodes.nodeA.observeBatch(kClient, {busy(kT0 + 3 * kSecond, 5), busy(kT0 + 9 * kSecond, 5)}, 0);
        QVERIFY(nodes.nodeA.settle(kT0 + 9 * kSecond).empty());
        const auto all = STORE_OK(nodes.storeA.alerts().alerts(true));
        QCOMPARE(all.size(), 1);
        QCOMPARE(all[0].resolvedMs, kT0 + 8 * kSecond);
    }

    void aLateBatchOnTheOldNodeReachesTheNewOne()
    {
        // The agent moved from A to B while A still had a batch of it queued: A commits it,
        // and its calm samples resolve the alert there. B, which now holds the session, takes
        // that from the store at its next sync rather than keeping the alert firing.
        TwoNodes nodes(m_path);
        QVERIFY(nodes.ready);
        nodes.nodeA.observeBatch(kClient, {busy(kT0, 97)}, 0);
        QCOMPARE(nodes.nodeA.settle(kT0).size(), std::size_t(1));
        nodes.nodeB.addClient(kClient, QStringLiteral("web01"));
        QVERIFY_STORE(nodes.nodeB.adoptClient(kClient, true));
        QCOMPARE(nodes.nodeB.engine().firingCount(), 1);
        nodes.nodeA.observeBatch(kClient, {busy(kT0 + kSecond, 5), busy(kT0 + 7 * kSecond, 5)}, 0);
        QCOMPARE(nodes.nodeA.settle(kT0 + 7 * kSecond).size(), std::size_t(1)); // resolved, on A
        QVERIFY_STORE(nodes.nodeB.syncActive({kClient}));
        QCOMPARE(nodes.nodeB.engine().firingCount(), 0);
        QVERIFY(nodes.nodeB.active().isEmpty());
        // Busy again on B: a new alert, fired once.
        nodes.nodeB.observeBatch(kClient, {busy(kT0 + 20 * kSecond, 99)}, 0);
        const auto again = nodes.nodeB.settle(kT0 + 20 * kSecond);
        QCOMPARE(again.size(), std::size_t(1));
        QCOMPARE(again[0].status, AlertNotice::Status::Firing);
        QCOMPARE(STORE_OK(nodes.storeB.alerts().alerts(true)).size(), 2);
    }

    void acknowledgementsElsewhereStopTheRepeats()
    {
        Store storeA(m_path);
        QVERIFY_STORE(storeA.open());
        AlertMonitor nodeA(storeA, QStringLiteral("srv"));
        setUp(nodeA);
        QVERIFY_STORE(nodeA.setRepeatIntervalMs(60 * kSecond));
        nodeA.observeBatch(kClient, {busy(kT0, 97)}, 0);
        QCOMPARE(nodeA.settle(kT0).size(), std::size_t(1));
        QVERIFY(nodeA.takeChanged());
        // A dashboard on the same store, started later, sees the alert and acknowledges it.
        Store storeD(m_path);
        QVERIFY_STORE(storeD.open());
        AlertMonitor dashboard(storeD, QStringLiteral("srv"));
        QVERIFY_STORE(dashboard.load(kT0 + kSecond));
        QCOMPARE(dashboard.active().size(), 1);
        const qint64 id = dashboard.active().first().id;
        QVERIFY_STORE(dashboard.acknowledge(id, true, kT0 + 2 * kSecond));
        // A sees the acknowledgement within one sync; a second sync changes nothing.
        QVERIFY_STORE(nodeA.syncActive({kClient}));
        QVERIFY(nodeA.takeChanged());
        QCOMPARE(nodeA.active().first().ackedMs, kT0 + 2 * kSecond);
        QVERIFY(nodeA.tick(kT0 + 600 * kSecond).empty()); // no repeat
        QVERIFY_STORE(nodeA.syncActive({kClient}));
        QVERIFY(!nodeA.takeChanged());
        // A's own alert is the store's: the sync leaves it firing.
        QCOMPARE(nodeA.engine().firingCount(), 1);
    }

    void rulesAreValidatedAndStored()
    {
        Store store(m_path);
        QVERIFY_STORE(store.open());
        AlertMonitor monitor(store, QStringLiteral("srv"));
        QVERIFY_STORE(monitor.load(kT0));
        QVERIFY(!monitor.setRule(QStringLiteral("nope"), QString(), AlertRuleSettings{}, kT0).ok());
        QVERIFY(!monitor.setRule(QStringLiteral("cpu_busy"), QString(), AlertRuleSettings{true, 150, 0, 0}, kT0).ok());
        QVERIFY_STORE(monitor.setRule(QStringLiteral("cpu_busy"), kClient, AlertRuleSettings{true, 70, 1000, 2000}, kT0));
        auto rows = STORE_OK(store.alerts().rules());
        QCOMPARE(rows.size(), 1);
        QCOMPARE(rows[0].clientId, kClient);
        QCOMPARE(rows[0].settings, (AlertRuleSettings{true, 70, 1000, 2000}));
        QVERIFY_STORE(monitor.setRule(QStringLiteral("cpu_busy"), kClient, std::nullopt, kT0));
        QVERIFY(STORE_OK(store.alerts().rules()).isEmpty());
    }

    void notifierCountersAreKept()
    {
        Store store(m_path);
        QVERIFY_STORE(store.open());
        const qint64 id = STORE_OK(store.alerts().addNotifier(NotifierInfo::Kind::Webhook,
                                                              QStringLiteral("http://127.0.0.1:1/x"), kT0));
        QVERIFY_STORE(store.alerts().addDeliveries(id, DeliveryCounts{0, 2, 1, 0, QStringLiteral("HTTP 500"), kT0 + 2}));
        QVERIFY_STORE(store.alerts().addDeliveries(id, DeliveryCounts{1, 0, 0, kT0 + 3, QString(), 0}));
        const auto list = STORE_OK(store.alerts().notifiers());
        QCOMPARE(list.size(), 1);
        QCOMPARE(list[0].sent, quint64(1));
        QCOMPARE(list[0].failed, quint64(2));
        QCOMPARE(list[0].deadLetters, quint64(1));
        QCOMPARE(list[0].lastError, QStringLiteral("HTTP 500"));
        QCOMPARE(list[0].lastOkMs, kT0 + 3);
        QVERIFY_STORE(store.alerts().removeNotifier(id));
        QVERIFY(!store.alerts().removeNotifier(id).ok());
    }
};

QTEST_GUILESS_MAIN(TestAlertMonitor)
#include "tst_alertmonitor.moc"
