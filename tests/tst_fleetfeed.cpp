// SPDX-License-Identifier: MIT
// autofactory --no-listen: a dashboard's FleetFeed on a shared PostgreSQL store, fed by a real
// ingest node (ServerCore on 127.0.0.1, OS-chosen port) and a real agent. Needs
// tests/with-postgres.sh (ctest: fleetfeed_postgres); without it only the refusals run.
#include "agent.h"
#include "fakesampler.h"
#include "servercore.h"
#include "testpostgres.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <mutex>

using namespace autofact;
using namespace autofact::agent;
using namespace autofact::server;

namespace {

ServerCore::Options ingestNode(const QString &uri)
{
    ServerCore::Options o;
    o.databasePath = uri;
    o.network.address = QHostAddress::LocalHost;
    o.network.port = 0;
    o.requireEnrolmentToken = false;
    // Fast agents: 100 ms sampling, 300 ms sending, 1 s heartbeat.
    o.defaults.sampleIntervalMs = 100;
    o.defaults.sendIntervalMs = 300;
    o.defaults.heartbeatIntervalMs = 1000;
    return o;
}

ServerCore::Options watcher(const QString &uri)
{
    ServerCore::Options o;
    o.databasePath = uri;
    o.noListen = true;
    return o;
}

/** Every report of a feed, received on the test thread, stamped with the test's clock. */
struct Reports {
    QList<HubActivity> list;
    QList<qint64> atMs;

    /** The newest report's online verdict about @p id, if any report gave one. */
    std::optional<bool> onlineNow(const QString &id) const
    {
        for (qsizetype i = list.size() - 1; i >= 0; --i)
            if (list[i].onlineNow.contains(id))
                return list[i].onlineNow.value(id);
        return std::nullopt;
    }
};

} // namespace

class TestFleetFeed : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    static bool onPostgres() { return !autofact::testing::postgresAdminUri().isEmpty(); }

private slots:
    void refusesAnSqliteStore()
    {
        ServerCore core(watcher(m_dir.filePath(QStringLiteral("local.db"))));
        QString error;
        QVERIFY(!core.start(&error));
        QVERIFY2(error.contains(QStringLiteral("--no-listen needs a shared PostgreSQL store")), qPrintable(error));
        QCOMPARE(core.hub(), nullptr);
        QCOMPARE(core.feed(), nullptr);
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("local.db"))));

        FleetFeed feed(m_dir.filePath(QStringLiteral("local.db")));
        const auto opened = feed.open();
        QVERIFY(!opened);
        QVERIFY(opened.error().message.contains(QStringLiteral("PostgreSQL")));
    }

    void showsAnotherNodesAgentLiveAndOffline()
    {
        if (!onPostgres())
            QSKIP("no PostgreSQL: run under tests/with-postgres.sh (ctest -R fleetfeed_postgres)");
        const QString uri = autofact::testing::newPostgresDatabase();
        QVERIFY(!uri.isEmpty());

        ServerCore node(ingestNode(uri));
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        ServerCore dashboard(watcher(uri));
        QVERIFY2(dashboard.start(&error), qPrintable(error));
        QCOMPARE(dashboard.hub(), nullptr);
        QVERIFY(dashboard.url().isEmpty());
        QVERIFY(dashboard.feed() != nullptr);
        QVERIFY(dashboard.worker() != nullptr);

        QElapsedTimer clock;
        clock.start();
        // When the node committed each sample that was the newest of its commit: stamped on
        // the worker's thread as the commit returns, so the measured delay is the feed's own.
        std::mutex commitsMutex;
        QHash<qint64, qint64> committedAt; // sample time -> clock
        connect(node.worker(), &StoreWorker::committed, node.worker(),
                [&](const std::vector<SessionCommit> &commits, const CommitStats &) {
                    const qint64 now = clock.elapsed();
                    std::lock_guard lock(commitsMutex);
                    for (const SessionCommit &c : commits)
                        if (c.latest)
                            committedAt.insert(c.latest->timestampMs, now);
                },
                Qt::DirectConnection);
        QObject context;
        Reports reports;
        connect(dashboard.feed(), &FleetFeed::activity, &context, [&](const HubActivity &a) {
            reports.list.append(a);
            reports.atMs.append(clock.elapsed());
        });

        // An empty fleet is no news.
        QMetaObject::invokeMethod(dashboard.feed(), &FleetFeed::restate);
        QTest::qWait(700);
        QVERIFY(reports.list.isEmpty());

        AgentSettings settings;
        settings.path = m_dir.filePath(QStringLiteral("agent.json"));
        settings.spool = m_dir.filePath(QStringLiteral("agent-spool.db"));
        settings.server = node.url();
        settings.insecure = true;
        auto agent = std::make_unique<Agent>(settings, std::make_unique<testdata::FakeSampler>());
        QVERIFY(agent->start(&error));
        QTRY_VERIFY_WITH_TIMEOUT(!agent->settings().id.isEmpty(), 10000);
        const QString id = agent->settings().id;

        // Online, with samples: the first report that has both, then a few seconds of them.
        QTRY_VERIFY_WITH_TIMEOUT(reports.onlineNow(id) == std::optional<bool>(true), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(reports.list.cbegin(), reports.list.cend(),
                                             [&](const HubActivity &a) { return a.latest.contains(id); }),
                                 10000);
        const qsizetype steadyFrom = reports.list.size();
        const qint64 steadyStart = clock.elapsed();
        QTest::qWait(3000);
        const qint64 steadyMs = clock.elapsed() - steadyStart;

        int withSample = 0;
        qint64 worstDelayMs = 0;
        qint64 previousSampleMs = 0;
        for (qsizetype i = steadyFrom; i < reports.list.size(); ++i) {
            const HubActivity &a = reports.list[i];
            if (!a.latest.contains(id))
                continue;
            ++withSample;
            const Sample &s = a.latest.value(id);
            QVERIFY2(s.timestampMs > previousSampleMs, "each report brings a newer sample");
            previousSampleMs = s.timestampMs;
            QCOMPARE(s.coreCount, 2);
            QCOMPARE(a.onlineClients, 1);
            std::lock_guard lock(commitsMutex);
            // The newest stored sample is the newest of some commit of the node's.
            QVERIFY2(committedAt.contains(s.timestampMs), qPrintable(QString::number(s.timestampMs)));
            worstDelayMs = std::max(worstDelayMs, reports.atMs[i] - committedAt.value(s.timestampMs));
        }
        qInfo() << withSample << "reports with a new sample in" << steadyMs << "ms; worst delay after the commit"
                << worstDelayMs << "ms";
        QVERIFY2(withSample >= 2, "the samples keep coming");
        QVERIFY2(worstDelayMs < 2000, qPrintable(QString::number(worstDelayMs)));
        // Coalesced: the node announces at most every 500 ms and the feed reads at most twice a
        // second, however often the agent's batches commit (about three times a second here).
        const qsizetype steadyReports = reports.list.size() - steadyFrom;
        QVERIFY2(steadyReports <= steadyMs / 500 + 1, qPrintable(QString::number(steadyReports)));
        QVERIFY(std::all_of(reports.list.cbegin() + steadyFrom, reports.list.cend(),
                            [](const HubActivity &a) { return a.samplesStored > 0 || !a.onlineNow.isEmpty(); }));

        // Gone: nodes do not announce a disconnect, so the feed's poll finds it (every 5 s).
        QSignalSpy finished(agent.get(), &Agent::finished);
        agent->stop();
        QVERIFY(finished.wait(10000));
        const qint64 stoppedAt = clock.elapsed();
        QTRY_VERIFY_WITH_TIMEOUT(reports.onlineNow(id) == std::optional<bool>(false), 10000);
        qsizetype gone = reports.list.size() - 1;
        while (!reports.list[gone].onlineNow.contains(id))
            --gone;
        QVERIFY(reports.list[gone].disconnected.contains(id));
        QCOMPARE(reports.list[gone].onlineClients, 0);
        QVERIFY2(reports.atMs[gone] - stoppedAt < 7000, qPrintable(QString::number(reports.atMs[gone] - stoppedAt)));

        // A view connected late gets every client afresh.
        reports.list.clear();
        QMetaObject::invokeMethod(dashboard.feed(), &FleetFeed::restate);
        QTRY_VERIFY_WITH_TIMEOUT(!reports.list.isEmpty(), 5000);
        QCOMPARE(reports.list.first().onlineNow.value(id, true), false);
        QVERIFY(!reports.list.first().latest.contains(id)); // offline: no live figures

        agent.reset();
        dashboard.stop();
        node.stop();
    }

    void watcherWritesReachTheSharedStore()
    {
        if (!onPostgres())
            QSKIP("no PostgreSQL: run under tests/with-postgres.sh (ctest -R fleetfeed_postgres)");
        const QString uri = autofact::testing::newPostgresDatabase();
        QVERIFY(!uri.isEmpty());
        ServerCore node(ingestNode(uri));
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        ServerCore dashboard(watcher(uri));
        QVERIFY2(dashboard.start(&error), qPrintable(error));
        // A token made on the watching dashboard enrols an agent at the ingest node.
        QSignalSpy created(dashboard.worker(), &StoreWorker::tokenCreated);
        dashboard.createToken(1, 60 * 60 * 1000, QStringLiteral("from the watcher"));
        QVERIFY(created.wait(5000));
        dashboard.stop();
        node.stop();

        ServerCore::Options strict = ingestNode(uri);
        strict.requireEnrolmentToken = true;
        ServerCore secured(strict);
        QVERIFY2(secured.start(&error), qPrintable(error));
        AgentSettings settings;
        settings.path = m_dir.filePath(QStringLiteral("token-agent.json"));
        settings.spool = m_dir.filePath(QStringLiteral("token-agent-spool.db")); // not the other test's
        settings.server = secured.url();
        settings.insecure = true;
        settings.token = created.first().at(0).toString();
        Agent agent(settings, std::make_unique<testdata::FakeSampler>());
        QVERIFY(agent.start(&error));
        QTRY_VERIFY_WITH_TIMEOUT(!agent.settings().id.isEmpty(), 10000);
    }
};

QTEST_GUILESS_MAIN(TestFleetFeed)
#include "tst_fleetfeed.moc"
