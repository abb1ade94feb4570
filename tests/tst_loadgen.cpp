// SPDX-License-Identifier: MIT
// The load generator against a real ServerCore on 127.0.0.1: it enrolls, streams, reconnects,
// comes back with its state file, and what it says was acknowledged is exactly what the
// server's database holds, sample for sample.
#include "latencyhistogram.h"
#include "loadgenerator.h"
#include "loadgenoptions.h"
#include "servercore.h"
#include "sqlreader.h"

#include <QHash>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace autofact;
using namespace autofact::loadgen;
using namespace autofact::server;

namespace {

/** Read-only view of the server's database, opened after the server stopped. */
class DbReader : public testdata::SqlReader
{
public:
    using SqlReader::SqlReader;
    /** Stored samples per client ID. */
    QHash<QString, qint64> samplesPerClient() const
    {
        QHash<QString, qint64> out;
        for (const QVariantList &row : rows(QStringLiteral(
                 "SELECT c.id, COUNT(s.rowid) FROM clients c "
                 "LEFT JOIN samples s ON s.client = c.num GROUP BY c.id")))
            out.insert(row.value(0).toString(), row.value(1).toLongLong());
        return out;
    }
};

} // namespace

class TestLoadgen : public QObject
{
    Q_OBJECT
private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ServerCore> m_core;
    QString m_token; ///< one multi-use enrolment token for every simulated agent

    QString dbPath() const { return m_dir->filePath(QStringLiteral("server.db")); }
    QString statePath() const { return m_dir->filePath(QStringLiteral("loadgen-state.json")); }

    void startCore()
    {
        ServerCore::Options o;
        o.databasePath = dbPath();
        o.network.address = QHostAddress::LocalHost;
        o.network.port = 0;
        // The server's defaults are what the agents follow when the loadgen does not override.
        o.defaults.sampleIntervalMs = 100;
        o.defaults.sendIntervalMs = 300;
        o.defaults.heartbeatIntervalMs = 1000;
        m_core = std::make_unique<ServerCore>(o);
        QString error;
        QVERIFY2(m_core->start(&error), qPrintable(error));
        // The load generator enrols like real agents: with a token.
        // Queued to this thread (a QSignalSpy on the worker's thread would race with wait()).
        QObject receiver;
        m_token.clear();
        connect(m_core->worker(), &StoreWorker::tokenCreated, &receiver,
                [this](const QString &token) { m_token = token; });
        m_core->createToken(100000, 0, QStringLiteral("loadgen test"));
        QTRY_VERIFY_WITH_TIMEOUT(!m_token.isEmpty(), 5000);
    }

    LoadgenOptions options(int agents, std::int64_t durationMs) const
    {
        LoadgenOptions o;
        o.server = m_core->url();
        o.insecure = true; // loopback lab: plain ws://
        o.token = m_token;
        o.agents = agents;
        o.durationMs = durationMs;
        o.reportIntervalMs = 1000;
        o.drainTimeoutMs = 10000;
        o.statePath = statePath();
        o.threads = 2;
        o.quiet = true;
        return o;
    }

    /** Runs to the end; the generator's results stay readable afterwards. */
    static void run(LoadGenerator &gen, int timeoutMs)
    {
        QSignalSpy finished(&gen, &LoadGenerator::finished);
        QString error;
        QVERIFY2(gen.start(&error), qPrintable(error));
        QVERIFY(finished.wait(timeoutMs));
        QCOMPARE(finished.constFirst().constFirst().toInt(), 0);
    }

    /** Every sample acknowledged is stored once, and nothing unacknowledged is missing. */
    void checkAddsUp(const LoadGenerator &gen, const QHash<QString, qint64> &before = {})
    {
        m_core->stop(); // writes what is queued; the database is final afterwards
        DbReader db(dbPath());
        const QHash<QString, qint64> stored = db.samplesPerClient();
        const LoadStats t = gen.totals();
        QCOMPARE(t.unackedSamples, std::uint64_t(0));
        QCOMPARE(t.samplesAcked, t.samplesTaken);
        for (const AgentSummary &s : gen.summaries()) {
            QVERIFY2(!s.identity.id.isEmpty(), qPrintable(QString::number(s.index)));
            QVERIFY(s.samplesTaken > 0);
            QCOMPARE(s.samplesAcked, s.samplesTaken);
            QCOMPARE(stored.value(s.identity.id) - before.value(s.identity.id),
                     qint64(s.samplesAcked));
        }
        // Exactly once: no sample twice (same client and timestamp), batches add up to samples.
        QCOMPARE(db.scalar(QStringLiteral("SELECT COUNT(*) FROM (SELECT client, ts_ms FROM samples "
                                          "GROUP BY client, ts_ms HAVING COUNT(*) > 1)")),
                 qint64(0));
        QCOMPARE(db.scalar(QStringLiteral("SELECT SUM(sample_count) FROM batches")),
                 db.scalar(QStringLiteral("SELECT COUNT(*) FROM samples")));
    }

private Q_SLOTS:
    void initTestCase()
    {
        // One line per agent event from agent, hub and store code would bury the test output.
        QLoggingCategory::setFilterRules(QStringLiteral("autofact.*.debug=false\n"
                                                        "autofact.*.info=false\n"
                                                        "autofact.agent*.warning=false"));
    }
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
    }
    void cleanup()
    {
        m_core.reset();
        m_dir.reset();
    }

    void histogramQuantiles()
    {
        LatencyHistogram h;
        QCOMPARE(h.quantileMicros(0.99), 0);
        for (int v = 1; v <= 1000; ++v)
            h.add(v * 100); // 0.1 ms .. 100 ms
        QCOMPARE(h.count(), std::uint64_t(1000));
        QCOMPARE(h.maxMicros(), 100000);
        // Buckets are 1/16 of a power of two wide: within 7 % above the exact value.
        QVERIFY(h.quantileMicros(0.5) >= 50000 && h.quantileMicros(0.5) <= 53500);
        QVERIFY(h.quantileMicros(0.99) >= 99000 && h.quantileMicros(0.99) <= 100000);
        LatencyHistogram other;
        other.add(5000000);
        h.merge(other);
        QCOMPARE(h.maxMicros(), 5000000);
        QCOMPARE(h.quantileMicros(1.0), 5000000);
    }

    void histogramWindowSinceSnapshot()
    {
        // Progress lines report the interval, not the run so far.
        LatencyHistogram h;
        for (int i = 0; i < 1000; ++i)
            h.add(200000); // a slow start: 200 ms
        const LatencyHistogram snapshot = h;
        for (int i = 0; i < 100; ++i)
            h.add(1000); // then 1 ms
        const LatencyHistogram window = h.since(snapshot);
        QCOMPARE(window.count(), std::uint64_t(100));
        QVERIFY(window.quantileMicros(0.99) <= 1100);
        QVERIFY(window.maxMicros() <= 1100);
        QVERIFY(h.quantileMicros(0.5) >= 190000); // the cumulative view still sees the start
        QCOMPARE(h.since(h).count(), std::uint64_t(0));
    }

    void parsesCommandLine_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<bool>("ok");
        const QString p = QStringLiteral("autofact-loadgen");
        const QString url = QStringLiteral("wss://127.0.0.1:8675");
        const QString pin = QStringLiteral("sha256:") + QString(64, u'a');
        QTest::addRow("minimal") << QStringList{p, QStringLiteral("--server"), url, QStringLiteral("--agents"), QStringLiteral("10")} << true;
        QTest::addRow("token and pin") << QStringList{p, QStringLiteral("--server"), url, QStringLiteral("--agents"), QStringLiteral("10"),
                                                      QStringLiteral("--token"), QStringLiteral("t"), QStringLiteral("--fingerprint"), pin} << true;
        QTest::addRow("bad pin") << QStringList{p, QStringLiteral("--server"), url, QStringLiteral("--agents"), QStringLiteral("10"),
                                                QStringLiteral("--fingerprint"), QStringLiteral("sha256:abc")} << false;
        QTest::addRow("ws without insecure") << QStringList{p, QStringLiteral("--server"), QStringLiteral("ws://127.0.0.1:1"), QStringLiteral("--agents"), QStringLiteral("1")} << false;
        QTest::addRow("ws with insecure") << QStringList{p, QStringLiteral("--server"), QStringLiteral("ws://127.0.0.1:1"), QStringLiteral("--agents"), QStringLiteral("1"), QStringLiteral("--insecure")} << true;
        QTest::addRow("all") << QStringList{p, QStringLiteral("--server"), url, QStringLiteral("--agents"), QStringLiteral("1000"),
                                            QStringLiteral("--sample-interval"), QStringLiteral("1s"), QStringLiteral("--send-interval"), QStringLiteral("5s"),
                                            QStringLiteral("--duration"), QStringLiteral("2m"), QStringLiteral("--ramp"), QStringLiteral("10s"),
                                            QStringLiteral("--report"), QStringLiteral("r.json"), QStringLiteral("--state"), QStringLiteral("s.json"),
                                            QStringLiteral("--threads"), QStringLiteral("2"), QStringLiteral("--drop-rate"), QStringLiteral("0.5"),
                                            QStringLiteral("--resend-rate"), QStringLiteral("0.1"), QStringLiteral("--malformed-rate"), QStringLiteral("0.1")} << true;
        QTest::addRow("idle agents") << QStringList{p, QStringLiteral("--server"), url, QStringLiteral("--agents"), QStringLiteral("5"), QStringLiteral("--sample-interval"), QStringLiteral("0")} << true;
        QTest::addRow("no server") << QStringList{p, QStringLiteral("--agents"), QStringLiteral("10")} << false;
        QTest::addRow("http url") << QStringList{p, QStringLiteral("--server"), QStringLiteral("http://x:1"), QStringLiteral("--agents"), QStringLiteral("1")} << false;
        QTest::addRow("zero agents") << QStringList{p, QStringLiteral("--server"), url, QStringLiteral("--agents"), QStringLiteral("0")} << false;
        QTest::addRow("bad duration") << QStringList{p, QStringLiteral("--server"), url, QStringLiteral("--agents"), QStringLiteral("1"), QStringLiteral("--duration"), QStringLiteral("soon")} << false;
        QTest::addRow("negative rate") << QStringList{p, QStringLiteral("--server"), url, QStringLiteral("--agents"), QStringLiteral("1"), QStringLiteral("--drop-rate"), QStringLiteral("-1")} << false;
        QTest::addRow("stray argument") << QStringList{p, QStringLiteral("--server"), url, QStringLiteral("--agents"), QStringLiteral("1"), QStringLiteral("extra")} << false;
    }
    void parsesCommandLine()
    {
        QFETCH(QStringList, args);
        QFETCH(bool, ok);
        QString error;
        bool exitNow = false;
        const auto o = parseLoadgenOptions(args, &error, &exitNow);
        QCOMPARE(o.has_value(), ok);
        QCOMPARE(error.isEmpty(), ok);
        if (o && args.contains(QStringLiteral("--sample-interval")))
            QCOMPARE(o->sampling, args.last() != u"0");
    }

    void enrollsStreamsAndComesBack()
    {
        startCore();
        QHash<QString, qint64> afterFirst;
        QStringList ids;
        {
            LoadGenerator gen(options(5, 2500));
            run(gen, 20000);
            const LoadStats t = gen.totals();
            QCOMPARE(t.welcomes, std::uint64_t(5));
            QCOMPARE(t.reconnects, std::uint64_t(0));
            QVERIFY(t.latency.count() > 0);
            // 100 ms sampling from the server's pushed config: about 25 samples each.
            for (const AgentSummary &s : gen.summaries()) {
                QVERIFY2(s.samplesTaken >= 15, qPrintable(QString::number(s.samplesTaken)));
                ids << s.identity.id;
            }
            checkAddsUp(gen);
            afterFirst = DbReader(dbPath()).samplesPerClient();
        }
        QCOMPARE(DbReader(dbPath()).scalar(QStringLiteral("SELECT COUNT(*) FROM clients")), qint64(5));

        // Second run, same state file, on a fresh server over the same database.
        startCore();
        LoadGenerator again(options(5, 1500));
        run(again, 20000);
        QStringList idsAgain;
        for (const AgentSummary &s : again.summaries())
            idsAgain << s.identity.id;
        QCOMPARE(idsAgain, ids);
        checkAddsUp(again, afterFirst);
        QCOMPARE(DbReader(dbPath()).scalar(QStringLiteral("SELECT COUNT(*) FROM clients")), qint64(5));
        QCOMPARE(DbReader(dbPath()).scalar(QStringLiteral("SELECT COUNT(*) FROM gaps WHERE reason = 'sequence gap'")), qint64(0));
    }

    void reconnectsThroughFaults()
    {
        startCore();
        // Faults are Poisson draws timed by the pools' ticks, so a loaded machine changes which
        // ones come up. 10 s x 10 agents at 6 per agent-minute: 10 resends and 10 malformed
        // expected, none with a chance of 5e-5 each (over 4 s it was 2 % each, and it happened).
        LoadgenOptions o = options(10, 10000);
        o.dropRate = 30;      // each agent drops about every 2 s
        o.resendRate = 6;     // and resends an acked batch every 10 s
        o.malformedRate = 6;
        LoadGenerator gen(o);
        run(gen, 40000);
        const LoadStats t = gen.totals();
        QVERIFY(t.dropsInjected > 0);
        QVERIFY(t.reconnects > 0);
        QVERIFY(t.malformedInjected > 0);
        QCOMPARE(t.malformedRefused, t.malformedInjected);
        QVERIFY(t.resendsInjected > 0);
        QCOMPARE(t.errors, std::uint64_t(0));
        checkAddsUp(gen);
    }

    void smokeFiftyAgents()
    {
        startCore();
        LoadgenOptions o = options(50, 6000);
        o.sampleIntervalMs = 200; // local overrides win over the server's 100 ms
        o.sendIntervalMs = 1000;
        o.rampMs = 1000;
        LoadGenerator gen(o);
        run(gen, 25000);
        const LoadStats t = gen.totals();
        QCOMPARE(t.welcomes, std::uint64_t(50));
        QVERIFY(t.samplesTaken >= 50 * 20);
        QVERIFY(t.samplesTaken <= 50 * 32);
        const QJsonObject report = gen.report();
        QCOMPARE(report.value(QStringLiteral("samples_acked")).toDouble(), double(t.samplesAcked));
        // The latency before the drain and during it are the whole run's, split.
        const auto count = [&report](const char *key) {
            return report.value(QLatin1String(key)).toObject().value(QStringLiteral("count")).toDouble();
        };
        QVERIFY(count("ack_latency") > 0);
        QVERIFY(count("ack_latency_before_drain") > 0);
        QVERIFY(count("ack_latency_drain") > 0); // every agent's last partial batch at least
        QCOMPARE(count("ack_latency_before_drain") + count("ack_latency_drain"), count("ack_latency"));
        checkAddsUp(gen);
    }
};

QTEST_GUILESS_MAIN(TestLoadgen)
#include "tst_loadgen.moc"
