// SPDX-License-Identifier: MIT
// autofact-agent and autofact-loadgen run one AgentEngine: given the same samples, Agent (SQLite
// spool) and SimAgent (in-memory store) number nothing before the server's Welcome and then
// seal exactly the same batches, sized by the engine's rule. A rule changed in the engine
// changes both; a copy of the rule in either would make the two differ here.
#include "agent.h"
#include "fakesampler.h"
#include "simagent.h"
#include "systemclock.h"

#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

using namespace autofact;
using namespace autofact::agent;

namespace {

/** A loopback URL nobody listens on: both links stay in their reconnect backoff. */
QUrl deadServer()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return {};
    const quint16 port = probe.serverPort();
    probe.close();
    return QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port));
}

QList<std::uint32_t> sampleCounts(const BatchStore &store)
{
    QList<std::uint32_t> counts;
    for (const SpooledBatch &b : store.pending(0, 1000))
        counts.append(b.sampleCount);
    return counts;
}

/** What the engine's batch-size rule says @p samples samples of @p cores cores become. */
QList<std::uint32_t> expectedCounts(int samples, int cores)
{
    const auto perBatch = int(AgentEngine::maxSamplesPerBatchFor(cores));
    QList<std::uint32_t> counts;
    for (int left = samples; left > 0; left -= perBatch)
        counts.append(std::uint32_t(std::min(left, perBatch)));
    return counts;
}

Welcome welcomeAbove(std::uint64_t lastAcked)
{
    Welcome w;
    w.agentId = QStringLiteral("agent-1");
    w.returning = true;
    w.lastAckedSequence = lastAcked;
    return w;
}

} // namespace

class TestSharedEngine : public QObject
{
    Q_OBJECT
private slots:
    void agentAndLoadgenSealTheSameBatches_data()
    {
        QTest::addColumn<int>("cores");
        QTest::addColumn<int>("samples");
        QTest::addRow("8 cores, 700 samples") << 8 << 700;
        QTest::addRow("1024 cores, 300 samples") << 1024 << 300;
        QTest::addRow("3000 cores, 100 samples") << 3000 << 100;
    }

    void agentAndLoadgenSealTheSameBatches()
    {
        QFETCH(int, cores);
        QFETCH(int, samples);
        const QUrl server = deadServer();
        QVERIFY(server.isValid());

        // The agent: SQLite spool, the machine's clock; the first sample is taken by start().
        QTemporaryDir dir;
        AgentSettings settings;
        settings.path = dir.filePath(QStringLiteral("agent.json"));
        settings.server = server;
        settings.insecure = true;
        Agent agent(settings, std::make_unique<testdata::FakeSampler>(cores));
        QString error;
        QVERIFY2(agent.start(&error), qPrintable(error));
        for (int i = 1; i < samples; ++i)
            agent.takeSample();

        // The load generator's agent: in-memory store, the same number of samples as a backlog.
        loadgen::LoadStats stats;
        SystemClock clock;
        loadgen::SimAgent::Settings simSettings;
        simSettings.server = server;
        simSettings.cores = cores;
        simSettings.backlogSamples = std::uint64_t(samples);
        loadgen::SimAgent sim(simSettings, stats, clock);
        sim.start();

        // Neither numbers a batch before the server's high-water mark is known.
        QCOMPARE(agent.spool().backlogBatches(), 0u);
        QCOMPARE(sim.store().backlogBatches(), 0u);
        QCOMPARE(agent.spool().openSampleCount(), std::size_t(samples));
        QCOMPARE(sim.store().openSampleCount(), std::size_t(samples));

        // The same Welcome, as each one's link would deliver it.
        agent.engine().onWelcomed(welcomeAbove(41));
        sim.engine().onWelcomed(welcomeAbove(41));

        const QList<std::uint32_t> fromAgent = sampleCounts(agent.spool());
        const QList<std::uint32_t> fromLoadgen = sampleCounts(sim.store());
        QCOMPARE(fromAgent, fromLoadgen);
        QCOMPARE(fromAgent, expectedCounts(samples, cores));
        QCOMPARE(agent.spool().pending(0, 1).front().sequence, 42u);
        QCOMPARE(sim.store().pending(0, 1).front().sequence, 42u);
        sim.finish();
    }
};

QTEST_GUILESS_MAIN(TestSharedEngine)
#include "tst_sharedengine.moc"
