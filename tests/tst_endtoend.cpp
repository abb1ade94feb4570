// SPDX-License-Identifier: MIT
// The real binaries on loopback: autofactory --headless and two autofact-agent processes.
// The server is killed with SIGKILL while agents stream and restarted on the same port and
// database; then one agent is killed with SIGKILL and restarted. Afterwards every sequence
// number each agent produced must be stored exactly once (or still wait in its spool).
#include "sqlreader.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <csignal>
#include <sys/statvfs.h>
#include <map>
#include <memory>
#include <set>

namespace {

const QString serverBinary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-server/autofactory");
const QString agentBinary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-agent/autofact-agent");

using Sql = autofact::testdata::SqlReader;

} // namespace

class TestEndToEnd : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    std::unique_ptr<QProcess> m_server;
    QList<QProcess *> m_agents;
    quint16 m_port = 0;
    QString m_fingerprint; ///< as the server printed it
    QString m_token;       ///< a multi-use enrolment token for this test's agents

    QString dbPath() const { return m_dir.filePath(QStringLiteral("server.db")); }

    bool startServer(quint16 port, const QString &heartbeat = QStringLiteral("1s"), const QStringList &extra = {})
    {
        m_server = std::make_unique<QProcess>();
        m_server->setProcessChannelMode(QProcess::SeparateChannels);
        m_server->setStandardErrorFile(m_dir.filePath(QStringLiteral("server.log")), QIODevice::Append);
        const QStringList args{QStringLiteral("--headless"), QStringLiteral("--listen"),
                               QStringLiteral("127.0.0.1:%1").arg(port), QStringLiteral("--db"), dbPath(),
                               QStringLiteral("--sample-interval"), QStringLiteral("100ms"),
                               QStringLiteral("--send-interval"), QStringLiteral("300ms"),
                               QStringLiteral("--heartbeat-interval"), heartbeat};
        m_server->start(serverBinary, args + extra);
        if (!m_server->waitForStarted(10000))
            return false;
        QByteArray out;
        QDeadlineTimer deadline(15000);
        // The default: wss:// with the server's own certificate, whose fingerprint follows.
        static const QRegularExpression listening(QStringLiteral("listening on wss://127\\.0\\.0\\.1:(\\d+)\\ncertificate (sha256:[0-9a-f]{64})\\n"));
        while (!deadline.hasExpired()) {
            m_server->waitForReadyRead(200);
            out += m_server->readAllStandardOutput();
            const auto m = listening.match(QString::fromUtf8(out));
            if (m.hasMatch()) {
                m_port = quint16(m.captured(1).toUInt());
                m_fingerprint = m.captured(2);
                return true;
            }
            if (m_server->state() == QProcess::NotRunning)
                return false;
        }
        return false;
    }

    /** `autofactory token create --uses N`: the token, or empty. */
    QString createToken(int uses)
    {
        QProcess p;
        p.start(serverBinary, {QStringLiteral("token"), QStringLiteral("create"), QStringLiteral("--db"), dbPath(),
                               QStringLiteral("--uses"), QString::number(uses)});
        if (!p.waitForFinished(20000) || p.exitCode() != 0)
            return {};
        return QString::fromUtf8(p.readAllStandardOutput()).trimmed();
    }

    /** An agent as a user starts it the first time (later starts: @p extra empty). */
    QProcess *startAgent(const QString &name, const QStringList &extra)
    {
        auto *p = new QProcess(this);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("AUTOFACT_PATH"), m_dir.filePath(name));
        p->setProcessEnvironment(env);
        p->setStandardErrorFile(m_dir.filePath(name + QStringLiteral(".log")), QIODevice::Append);
        p->start(agentBinary, extra);
        m_agents.append(p);
        return p;
    }
    QStringList firstRun() const
    {
        return {QStringLiteral("--server"), QStringLiteral("wss://127.0.0.1:%1").arg(m_port),
                QStringLiteral("--token"), m_token, QStringLiteral("--fingerprint"), m_fingerprint};
    }
    QString agentLog(const QString &name) const
    {
        QFile f(m_dir.filePath(name + QStringLiteral(".log")));
        return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
    }
    QString agentConfig(const QString &name) const
    {
        QFile f(m_dir.filePath(name + QStringLiteral("/autofact-agent.json")));
        return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
    }

    QString serverLog() const
    {
        QFile f(m_dir.filePath(QStringLiteral("server.log")));
        return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
    }

    /** The "state" `autofactory clients --json` reports for @p id. */
    QString clientState(const QString &id) const
    {
        QProcess p;
        p.start(serverBinary, {QStringLiteral("clients"), QStringLiteral("--db"), dbPath(), QStringLiteral("--json")});
        if (!p.waitForFinished(20000) || p.exitCode() != 0)
            return QStringLiteral("(clients failed)");
        for (const QJsonValue &v : QJsonDocument::fromJson(p.readAllStandardOutput()).array())
            if (v[QStringLiteral("id")].toString() == id)
                return v[QStringLiteral("state")].toString();
        return QStringLiteral("(no such client)");
    }

    /** `autofactory alerts --json [--all]`. */
    QString alertsJson(bool all) const
    {
        QProcess p;
        QStringList args{QStringLiteral("alerts"), QStringLiteral("--db"), dbPath(), QStringLiteral("--json")};
        if (all)
            args << QStringLiteral("--all");
        p.start(serverBinary, args);
        if (!p.waitForFinished(20000) || p.exitCode() != 0)
            return QStringLiteral("(alerts failed)");
        return QString::fromUtf8(p.readAllStandardOutput());
    }

    /** @p field of the newest alert of @p rule for @p clientId in `alerts --all --json`. */
    QString alertField(const QString &clientId, const QString &rule, const QString &field) const
    {
        for (const QJsonValue &v : QJsonDocument::fromJson(alertsJson(true).toUtf8()).array())
            if (v[QStringLiteral("client_id")].toString() == clientId && v[QStringLiteral("rule")].toString() == rule)
                return v[field].toString();
        return QStringLiteral("(no such alert)");
    }

    static QString fileText(const QString &path)
    {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
    }

    qint64 storedSamples() const
    {
        return Sql(dbPath()).scalar(QStringLiteral("SELECT count(*) FROM samples"));
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        if (!QFile::exists(serverBinary) || !QFile::exists(agentBinary))
            QSKIP("binaries not built");
    }

    void cleanupTestCase()
    {
        for (QProcess *p : std::as_const(m_agents)) {
            p->kill();
            p->waitForFinished();
        }
        if (m_server) {
            m_server->kill();
            m_server->waitForFinished();
        }
    }

    void killedServerAndAgentLoseAndDuplicateNothing()
    {
        m_token = createToken(2);
        QVERIFY(!m_token.isEmpty());
        QVERIFY(startServer(0));
        const quint16 port = m_port;
        QProcess *a = startAgent(QStringLiteral("agent-a"), firstRun());
        QProcess *b = startAgent(QStringLiteral("agent-b"), firstRun());
        QVERIFY(a->waitForStarted() && b->waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(Sql(dbPath()).scalar(QStringLiteral(
                                     "SELECT count(DISTINCT client) FROM samples")) == 2,
                                 20000);
        QTRY_VERIFY_WITH_TIMEOUT(storedSamples() >= 40, 20000);

        // kill -9 while batches are in flight and commits are being made.
        ::kill(pid_t(m_server->processId()), SIGKILL);
        QVERIFY(m_server->waitForFinished(10000));
        const qint64 beforeRestart = storedSamples();
        // The agents keep sampling into their spools during the outage.
        for (const QString &name : {QStringLiteral("agent-a"), QStringLiteral("agent-b")}) {
            const QString spool = m_dir.filePath(name + QStringLiteral("/autofact-spool.db"));
            QTRY_VERIFY_WITH_TIMEOUT(Sql(spool).scalar(QStringLiteral("SELECT count(*) FROM batches")) >= 3, 15000);
        }

        const QString fingerprint = m_fingerprint;
        QVERIFY(startServer(port));
        QCOMPARE(m_port, port);
        QCOMPARE(m_fingerprint, fingerprint); // the pinned agents accept the restarted server
        QTRY_VERIFY_WITH_TIMEOUT(storedSamples() >= beforeRestart + 40, 30000);

        // kill -9 one agent too, and start it again from its config and spool.
        ::kill(pid_t(a->processId()), SIGKILL);
        QVERIFY(a->waitForFinished(10000));
        const qint64 beforeAgentRestart = storedSamples();
        a = startAgent(QStringLiteral("agent-a"), {});
        QVERIFY(a->waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(storedSamples() >= beforeAgentRestart + 40, 30000);
        QCOMPARE(Sql(dbPath()).scalar(QStringLiteral("SELECT count(*) FROM clients")), 2); // welcomed back

        // Stop the agents cleanly (exit 0), then the server (exit 0).
        for (QProcess *p : {a, b}) {
            p->terminate();
            QVERIFY(p->waitForFinished(10000));
            QCOMPARE(p->exitStatus(), QProcess::NormalExit);
            QCOMPARE(p->exitCode(), 0);
        }
        m_server->terminate();
        QVERIFY(m_server->waitForFinished(15000));
        QCOMPARE(m_server->exitCode(), 0);

        // Row by row: for each agent, sequences stored on the server plus those still in its
        // spool (sent but not acked, or not sent) cover 1..max with nothing missing; the server
        // holds each stored sequence once and each sample once.
        Sql server(dbPath());
        QCOMPARE(server.scalar(QStringLiteral("SELECT count(*) FROM clients")), 2);
        QCOMPARE(server.scalar(QStringLiteral(
                     "SELECT count(*) FROM (SELECT client, ts_ms FROM samples GROUP BY client, ts_ms HAVING count(*) > 1)")),
                 0);
        QCOMPARE(server.scalar(QStringLiteral("SELECT count(*) FROM samples")),
                 server.scalar(QStringLiteral("SELECT sum(sample_count) FROM batches")));
        QCOMPARE(server.scalar(QStringLiteral("SELECT count(*) FROM connections WHERE disconnected_ms IS NULL")), 0);
        for (const QString &name : {QStringLiteral("agent-a"), QStringLiteral("agent-b")}) {
            QFile config(m_dir.filePath(name + QStringLiteral("/autofact-agent.json")));
            QVERIFY(config.open(QIODevice::ReadOnly));
            const QString id = QString::fromUtf8(config.readAll()).section(QStringLiteral("\"id\": \""), 1).section(u'"', 0, 0);
            QVERIFY(!id.isEmpty());
            // Pinned, and the token not kept after enrolment.
            QVERIFY(agentConfig(name).contains(m_fingerprint));
            QVERIFY(!agentConfig(name).contains(QStringLiteral("\"token\"")));
            std::set<qint64> stored;
            qint64 lastTs = 0;
            for (const QVariantList &row : server.rows(QStringLiteral(
                     "SELECT s.sequence, s.ts_ms FROM samples s JOIN clients c ON c.num = s.client "
                     "WHERE c.id = '%1' ORDER BY s.sequence, s.ts_ms").arg(id))) {
                stored.insert(row[0].toLongLong());
                // In order: sequence order is time order.
                QVERIFY2(row[1].toLongLong() > lastTs, "samples out of order");
                lastTs = row[1].toLongLong();
            }
            Sql spool(m_dir.filePath(name + QStringLiteral("/autofact-spool.db")));
            std::set<qint64> pending;
            for (const QVariantList &row : spool.rows(QStringLiteral("SELECT seq FROM batches")))
                pending.insert(row[0].toLongLong());
            const qint64 next = spool.scalar(QStringLiteral("SELECT value FROM meta WHERE key = 'next_sequence'"));
            QVERIFY(next > 10);
            QStringList missing;
            for (qint64 seq = 1; seq < next; ++seq) {
                if (!stored.count(seq) && !pending.count(seq))
                    missing.append(QString::number(seq));
            }
            // The server recorded no gap: the outage was bridged by the spool.
            QCOMPARE(server.scalar(QStringLiteral(
                         "SELECT count(*) FROM gaps g JOIN clients c ON c.num = g.client WHERE c.id = '%1' "
                         "AND g.reason LIKE '%sequence%'").arg(id)),
                     0);
            QVERIFY2(missing.isEmpty(), qPrintable(name + QStringLiteral(" lost sequences ") + missing.join(u',')));
        }
    }

    void refusalsEndTheAgentWithOneLine()
    {
        QVERIFY(startServer(0));
        const qint64 clientsBefore = Sql(dbPath()).scalar(QStringLiteral("SELECT count(*) FROM clients"));
        const QString url = QStringLiteral("wss://127.0.0.1:%1").arg(m_port);
        const auto finish = [](QProcess *p) {
            return p->waitForStarted() && p->waitForFinished(20000) && p->exitStatus() == QProcess::NormalExit;
        };
        // No token: refused by the server, exit 4, and nothing of it is stored.
        QProcess *noToken = startAgent(QStringLiteral("no-token"), {QStringLiteral("--server"), url,
                                                                    QStringLiteral("--fingerprint"), m_fingerprint});
        QVERIFY(finish(noToken));
        QCOMPARE(noToken->exitCode(), 4);
        QVERIFY2(agentLog(QStringLiteral("no-token")).contains(QStringLiteral("enrolment token is required")),
                 qPrintable(agentLog(QStringLiteral("no-token"))));
        // A token that does not exist: the same.
        QProcess *badToken = startAgent(QStringLiteral("bad-token"), {QStringLiteral("--server"), url,
                                                                      QStringLiteral("--token"), QStringLiteral("000000000000.") + QString(43, u'A'),
                                                                      QStringLiteral("--fingerprint"), m_fingerprint});
        QVERIFY(finish(badToken));
        QCOMPARE(badToken->exitCode(), 4);
        QVERIFY(agentLog(QStringLiteral("bad-token")).contains(QStringLiteral("not a valid enrolment token")));
        // ws:// without insecure: refused before any connection, exit 2, one line.
        QProcess *plain = startAgent(QStringLiteral("plain"), {QStringLiteral("--server"), QStringLiteral("ws://127.0.0.1:%1").arg(m_port)});
        QVERIFY(finish(plain));
        QCOMPARE(plain->exitCode(), 2);
        QCOMPARE(agentLog(QStringLiteral("plain")).trimmed().count(u'\n'), 0);
        QVERIFY(agentLog(QStringLiteral("plain")).contains(QStringLiteral("insecure")));
        QCOMPARE(Sql(dbPath()).scalar(QStringLiteral("SELECT count(*) FROM clients")), clientsBefore);
    }

    void revokedAgentIsCutWithinFiveSecondsAndExitsFour()
    {
        if (!m_server || m_server->state() != QProcess::Running)
            QVERIFY(startServer(0));
        m_token = createToken(1);
        QProcess *agent = startAgent(QStringLiteral("to-revoke"), firstRun());
        QVERIFY(agent->waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(agentConfig(QStringLiteral("to-revoke")).contains(QStringLiteral("\"id\"")), 20000);
        const QString id = agentConfig(QStringLiteral("to-revoke")).section(QStringLiteral("\"id\": \""), 1).section(u'"', 0, 0);
        QTRY_VERIFY_WITH_TIMEOUT(Sql(dbPath()).scalar(QStringLiteral(
                                     "SELECT count(*) FROM samples s JOIN clients c ON c.num = s.client WHERE c.id = '%1'").arg(id)) > 0,
                                 20000);
        QProcess revoke;
        revoke.start(serverBinary, {QStringLiteral("revoke"), id, QStringLiteral("--db"), dbPath()});
        QVERIFY(revoke.waitForFinished(20000));
        QCOMPARE(revoke.exitCode(), 0);
        QElapsedTimer cut;
        cut.start();
        QVERIFY(agent->waitForFinished(10000));
        QVERIFY2(cut.elapsed() < 5000 + 1000, qPrintable(QString::number(cut.elapsed()))); // 5 s, plus the agent's exit
        QCOMPARE(agent->exitCode(), 4);
        QVERIFY(agentLog(QStringLiteral("to-revoke")).contains(QStringLiteral("revoked")));
        // It cannot come back with its secret either.
        QProcess *again = startAgent(QStringLiteral("to-revoke"), {});
        QVERIFY(again->waitForFinished(20000));
        QCOMPARE(again->exitCode(), 4);
        QProcess clients;
        clients.start(serverBinary, {QStringLiteral("clients"), QStringLiteral("--db"), dbPath()});
        QVERIFY(clients.waitForFinished(20000));
        const QString table = QString::fromUtf8(clients.readAllStandardOutput());
        QVERIFY2(table.contains(id) && table.contains(QStringLiteral("revoked")), qPrintable(table));
    }

    void deviceReadingsTravelFromTheAgentToTheExport()
    {
        // The server turns the collectors on (every second here); the real agent reads this
        // machine's filesystems and sends them with its samples; export shows them as df does.
        if (m_server) {
            m_server->terminate();
            m_server->waitForFinished(15000);
        }
        m_token = createToken(1);
        QVERIFY(!m_token.isEmpty());
        QVERIFY(startServer(0, QStringLiteral("1s"),
                            {QStringLiteral("--filesystems-interval"), QStringLiteral("1s"),
                             QStringLiteral("--network-interval"), QStringLiteral("1s"),
                             QStringLiteral("--disks-interval"), QStringLiteral("1s")}));
        QProcess *agent = startAgent(QStringLiteral("agent-devices"), firstRun());
        QVERIFY(agent->waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(agentConfig(QStringLiteral("agent-devices")).contains(QStringLiteral("\"id\"")), 20000);
        const QString id = agentConfig(QStringLiteral("agent-devices")).section(QStringLiteral("\"id\": \""), 1).section(u'"', 0, 0);
        QTRY_VERIFY_WITH_TIMEOUT(Sql(dbPath()).scalar(QStringLiteral(
                                     "SELECT count(*) FROM device_chunks d JOIN clients c ON c.num = d.client"
                                     " WHERE c.id = '%1'").arg(id)) >= 3,
                                 30000);
        agent->terminate();
        QVERIFY(agent->waitForFinished(10000));
        QCOMPARE(agent->exitCode(), 0);

        QProcess exporter;
        exporter.start(serverBinary, {QStringLiteral("export"), QStringLiteral("--db"), dbPath(), QStringLiteral("--client"), id,
                                      QStringLiteral("--table"), QStringLiteral("filesystems")});
        QVERIFY(exporter.waitForFinished(20000));
        QCOMPARE(exporter.exitCode(), 0);
        const QStringList lines = QString::fromUtf8(exporter.readAllStandardOutput()).split(QStringLiteral("\r\n"), Qt::SkipEmptyParts);
        QVERIFY2(lines.size() >= 2, "no filesystem rows");
        QVERIFY(lines.first().startsWith(u"client_id,hostname,timestamp,mount,size_bytes,used_bytes"));
        // The root filesystem, when the machine reports one (not a tmpfs or squashfs root):
        // its size is what statvfs says, its use within it.
        struct statvfs root {};
        QVERIFY(::statvfs("/", &root) == 0);
        int rootRows = 0;
        std::set<QString> seen;
        for (const QString &line : lines.mid(1)) {
            const QStringList f = line.split(u',');
            QCOMPARE(f.size(), 10);
            QVERIFY2(seen.insert(f[2] + u' ' + f[3]).second, "a filesystem twice at one time");
            if (f[3] != u"/")
                continue;
            ++rootRows;
            QCOMPARE(f[4].toULongLong(), quint64(root.f_blocks) * root.f_frsize);
            QVERIFY(f[5].toULongLong() <= f[4].toULongLong());
        }
        qInfo("%d filesystem rows, %d of them for /", int(lines.size() - 1), rootRows);
    }

    void frozenAgentIsAStallInTheStoreAndTheCsv()
    {
        // kill -STOP, as a hung agent or a paused VM: the hole is recorded as a stall, and the
        // sample after it says it is averaged over the whole freeze. A 5 s heartbeat keeps the
        // server from ending the silent session (it would after three heartbeats).
        if (m_server) {
            m_server->terminate();
            m_server->waitForFinished(15000);
        }
        m_token = createToken(1); // also creates the database when this test runs alone
        QVERIFY(!m_token.isEmpty());
        // The host-stale rule on a short hold (a user's override): fire after 1 s stale,
        // resolve after 1 s of data.
        Sql(dbPath(), false).rows(QStringLiteral(
                "INSERT OR REPLACE INTO alert_rules(rule, client_id, enabled, threshold, for_ms, resolve_ms)"
                " VALUES ('host_stale', '', 1, 0, 1000, 1000)"));
        QVERIFY(startServer(0, QStringLiteral("5s")));
        // A channel added while the server runs is in use within 5 s.
        const QString notified = m_dir.filePath(QStringLiteral("notified.txt"));
        QProcess notify;
        notify.start(serverBinary, {QStringLiteral("notify"), QStringLiteral("add"), QStringLiteral("command"),
                                    QStringLiteral("printf '%s %s %s\\n' \"$AUTOFACT_STATUS\" \"$AUTOFACT_RULE\" "
                                                   "\"$AUTOFACT_CLIENT_ID\" >> '%1'").arg(notified),
                                    QStringLiteral("--db"), dbPath()});
        QVERIFY(notify.waitForFinished(20000));
        QCOMPARE(notify.exitCode(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(serverLog().contains(QStringLiteral("notification channels: 1 in use")), 5000);
        QProcess *agent = startAgent(QStringLiteral("frozen"), firstRun());
        QVERIFY(agent->waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(agentConfig(QStringLiteral("frozen")).contains(QStringLiteral("\"id\"")), 20000);
        const QString id = agentConfig(QStringLiteral("frozen")).section(QStringLiteral("\"id\": \""), 1).section(u'"', 0, 0);
        const QString samplesOf = QStringLiteral(
            "SELECT count(*) FROM samples s JOIN clients c ON c.num = s.client WHERE c.id = '%1'").arg(id);
        QTRY_VERIFY_WITH_TIMEOUT(Sql(dbPath()).scalar(samplesOf) >= 10, 20000);

        QCOMPARE(clientState(id), QStringLiteral("up"));
        ::kill(pid_t(agent->processId()), SIGSTOP);
        QElapsedTimer frozen;
        frozen.start();
        // Stale within two send intervals of the cause (300 ms here, with the rule's 1 s of
        // slack): for the hub (its log) and for `autofactory clients` (from the store).
        QTRY_VERIFY_WITH_TIMEOUT(serverLog().contains(QStringLiteral("client %1 is stale").arg(id)), 3000);
        QTRY_COMPARE_WITH_TIMEOUT(clientState(id), QStringLiteral("stale"), 3000);
        // The host rule fires a second later, is listed, and the channel runs.
        QTRY_VERIFY_WITH_TIMEOUT(alertsJson(true).contains(QStringLiteral("\"host_stale\"")), 3000);
        QCOMPARE(alertField(id, QStringLiteral("host_stale"), QStringLiteral("state")), QStringLiteral("firing"));
        QTRY_VERIFY_WITH_TIMEOUT(fileText(notified).contains(QStringLiteral("firing host_stale %1\n").arg(id)), 5000);
        // The stimulus, not a wait for a result: the agent stays frozen 4 s in all (sampling
        // is every 100 ms here, so that is 40 intervals).
        QTest::qWait(int(std::max<qint64>(0, 4000 - frozen.elapsed())));
        const qint64 frozenAt = Sql(dbPath()).scalar(samplesOf);
        ::kill(pid_t(agent->processId()), SIGCONT);
        QTRY_VERIFY_WITH_TIMEOUT(Sql(dbPath()).scalar(samplesOf) >= frozenAt + 10, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(serverLog().contains(QStringLiteral("client %1 is up again").arg(id)), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(clientState(id), QStringLiteral("up"), 5000);
        // Resolved once data has flowed for the resolve time; no longer active; history kept.
        QTRY_VERIFY_WITH_TIMEOUT(fileText(notified).contains(QStringLiteral("resolved host_stale %1\n").arg(id)), 5000);
        QVERIFY(!alertsJson(false).contains(QStringLiteral("\"host_stale\"")));
        QCOMPARE(alertField(id, QStringLiteral("host_stale"), QStringLiteral("state")), QStringLiteral("resolved"));
        QCOMPARE(alertField(id, QStringLiteral("host_stale"), QStringLiteral("resolution")), QStringLiteral("condition cleared"));
        QCOMPARE(fileText(notified).count(QStringLiteral("host_stale")), 2); // once each way

        const QString stalls = QStringLiteral(
            "SELECT count(*) FROM gaps g JOIN clients c ON c.num = g.client WHERE c.id = '%1' "
            "AND g.reason LIKE 'agent stalled (%' AND g.end_ms - g.start_ms >= 3900").arg(id);
        QTRY_COMPARE_WITH_TIMEOUT(Sql(dbPath()).scalar(stalls), 1, 10000);
        // The session stayed up through it: not "agent offline".
        QCOMPARE(Sql(dbPath()).scalar(QStringLiteral(
                     "SELECT count(*) FROM gaps g JOIN clients c ON c.num = g.client WHERE c.id = '%1' "
                     "AND g.reason = 'agent offline'").arg(id)),
                 0);

        agent->terminate();
        QVERIFY(agent->waitForFinished(10000));
        QCOMPARE(agent->exitCode(), 0);
        QProcess exporter;
        exporter.start(serverBinary, {QStringLiteral("export"), QStringLiteral("--db"), dbPath(),
                                      QStringLiteral("--client"), id});
        QVERIFY(exporter.waitForFinished(20000));
        QCOMPARE(exporter.exitCode(), 0);
        const QStringList lines = QString::fromUtf8(exporter.readAllStandardOutput()).split(QStringLiteral("\r\n"));
        const QStringList header = lines.first().split(u',');
        const qsizetype cReason = header.indexOf(QStringLiteral("gap_reason"));
        const qsizetype cAveraged = header.indexOf(QStringLiteral("averaged_over_s"));
        QVERIFY(cReason > 0 && cAveraged > 0);
        int stalledRows = 0;
        for (const QString &line : lines.mid(1)) {
            const QStringList cells = line.split(u',');
            if (cells.size() <= cAveraged || !cells[cReason].startsWith(QStringLiteral("agent stalled")))
                continue;
            ++stalledRows;
            QVERIFY2(cells[cAveraged].toDouble() >= 3.9, qPrintable(line));
        }
        QCOMPARE(stalledRows, 1);
    }
};

QTEST_GUILESS_MAIN(TestEndToEnd)
#include "tst_endtoend.moc"
