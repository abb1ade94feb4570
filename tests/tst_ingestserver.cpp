// SPDX-License-Identifier: MIT
// The real server core (hub + store worker threads, SQLite) against the real agent code and
// against raw, misbehaving WebSocket and TCP clients, all on 127.0.0.1 with OS-chosen ports.
#include "agent.h"
#include "codec.h"
#include "fakesampler.h"
#include "servercore.h"
#include "serverwait.h"
#include "sqlreader.h"
#include "storetesting.h"
#include "testdata.h"

#include <QProcess>
#include <QSslKey>
#include <QStandardPaths>
#include <QSignalSpy>
#include <QDateTime>
#include <QElapsedTimer>
#include <QScopeGuard>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>

#include <memory>

using namespace autofact;
using namespace autofact::agent;
using namespace autofact::server;

using DbReader = testdata::SqlReader;

/** A hand-driven peer: a raw QWebSocket that records what the server answers. */
struct RawPeer {
    QWebSocket socket;
    QList<Message> received;
    bool closed = false;

    RawPeer()
    {
        QObject::connect(&socket, &QWebSocket::binaryMessageReceived, &socket, [this](const QByteArray &b) {
            DecodeResult r = codec::decode(b);
            if (r.ok())
                received.append(*r.message);
        });
        QObject::connect(&socket, &QWebSocket::disconnected, &socket, [this] { closed = true; });
    }
    void sendHello(const QString &token, const QString &host = QStringLiteral("raw"),
                   const QString &id = {}, const QString &secret = {})
    {
        Hello h;
        h.hostname = host;
        h.token = token;
        h.agentId = id;
        h.secret = secret;
        socket.sendBinaryMessage(codec::encode(Message(h)));
    }
    ErrorCode error() const
    {
        for (const Message &m : received)
            if (const auto *e = std::get_if<ErrorMessage>(&m))
                return e->code;
        return ErrorCode::None;
    }
    QString errorReason() const
    {
        for (const Message &m : received)
            if (const auto *e = std::get_if<ErrorMessage>(&m))
                return e->reason;
        return {};
    }
    const Welcome *welcome() const
    {
        for (const Message &m : received)
            if (const auto *w = std::get_if<Welcome>(&m))
                return w;
        return nullptr;
    }
    bool answered() const { return welcome() || error() != ErrorCode::None; }
};

class TestIngestServer : public QObject
{
    Q_OBJECT
private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<ServerCore> m_core;
    bool m_requireToken = false; ///< set by the enrolment tests before startCore()
    QString m_agentToken;        ///< token agentSettings() hands out

    QString dbPath() const { return m_dir->filePath(QStringLiteral("server.db")); }

    void startCore(IngestServer::Options net = {}, StoreWorker::DefaultChanges defaults = {})
    {
        net.address = QHostAddress::LocalHost;
        net.port = 0;
        ServerCore::Options o;
        o.databasePath = dbPath();
        o.network = net;
        o.requireEnrolmentToken = m_requireToken;
        // Fast agents for tests: 100 ms sampling, 300 ms sending, 1 s heartbeat.
        o.defaults.sampleIntervalMs = defaults.sampleIntervalMs.value_or(100);
        o.defaults.sendIntervalMs = defaults.sendIntervalMs.value_or(300);
        o.defaults.heartbeatIntervalMs = defaults.heartbeatIntervalMs.value_or(1000);
        m_core = std::make_unique<ServerCore>(o);
        QString error;
        QVERIFY2(m_core->start(&error), qPrintable(error));
    }

    AgentSettings agentSettings(const QString &name)
    {
        AgentSettings s;
        s.path = m_dir->filePath(name + QStringLiteral(".json"));
        s.server = m_core->url();
        s.insecure = s.server.scheme() == u"ws";
        s.token = m_agentToken;
        return s;
    }

    static QByteArray helloBytes(const QString &host = QStringLiteral("raw"))
    {
        Hello h;
        h.hostname = host;
        return codec::encode(Message(h));
    }

private slots:
    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
    }
    void cleanup()
    {
        m_core.reset();
        m_dir.reset();
        m_requireToken = false;
        m_agentToken.clear();
    }

    void enrollThenWelcomeBack()
    {
        startCore();
        QSignalSpy connected(m_core->hub(), &IngestServer::clientConnected);
        QString id;
        AgentSettings saved;
        {
            Agent agent(agentSettings(QStringLiteral("a")), std::make_unique<testdata::FakeSampler>());
            QString error;
            QVERIFY(agent.start(&error));
            QVERIFY(connected.wait(10000));
            QCOMPARE(connected.first().at(2).toBool(), false); // new
            id = connected.first().at(0).toString();
            QTRY_COMPARE(agent.settings().id, id);
            saved = agent.settings();
            QVERIFY(!saved.secret.isEmpty());
            // Samples reach the database, and the agent's spool empties as acks arrive.
            DbReader db(dbPath());
            QTRY_VERIFY_WITH_TIMEOUT(db.scalar(QStringLiteral("SELECT count(*) FROM samples")) >= 5, 10000);
            QTRY_VERIFY_WITH_TIMEOUT(agent.spool().backlogBatches() == 0, 10000);
        }
        connected.clear();
        Agent again(saved, std::make_unique<testdata::FakeSampler>());
        QString error;
        QVERIFY(again.start(&error));
        QVERIFY(connected.wait(10000));
        QCOMPARE(connected.first().at(0).toString(), id);
        QCOMPARE(connected.first().at(2).toBool(), true); // welcome back
        DbReader db(dbPath());
        QCOMPARE(db.scalar(QStringLiteral("SELECT count(*) FROM clients")), 1);
        QTRY_COMPARE(db.scalar(QStringLiteral("SELECT connection_count FROM clients")), 2);
    }

    void wrongSecretIsRefusedWithoutDatabaseChange()
    {
        startCore();
        // Hub signals come from the network thread: record them on this one.
        QObject context;
        int leftHub = 0;
        connect(m_core->hub(), &IngestServer::clientDisconnected, &context, [&] { ++leftHub; });
        AgentSettings saved;
        {
            Agent agent(agentSettings(QStringLiteral("a")), std::make_unique<testdata::FakeSampler>());
            QSignalSpy finished(&agent, &Agent::finished);
            QString error;
            QVERIFY(agent.start(&error));
            QTRY_VERIFY(!agent.settings().secret.isEmpty());
            saved = agent.settings();
            QTRY_VERIFY_WITH_TIMEOUT(agent.spool().backlogBatches() == 0 && agent.spool().nextSequence() > 2, 10000);
            agent.stop();
            QVERIFY(finished.wait(10000));
        }
        // Regression: stop() seals and sends a last batch, and the "before" snapshot was read
        // while its commit was still queued. The hub has handed over every frame once it saw
        // the agent leave; the worker then writes that batch and the disconnect.
        QTRY_COMPARE_WITH_TIMEOUT(leftHub, 1, 10000);
        testdata::settleStore(*m_core);
        const QString before = DbReader(dbPath()).dump();
        QVERIFY(before.contains(saved.id));

        saved.secret = QStringLiteral("wrong");
        saved.path = m_dir->filePath(QStringLiteral("wrong.json"));
        Agent impostor(saved, std::make_unique<testdata::FakeSampler>());
        QSignalSpy finished(&impostor, &Agent::finished);
        QString error;
        QVERIFY(impostor.start(&error));
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().first().toInt(), AgentLink::exitRefused);
        testdata::settleStore(*m_core); // anything the refusal queued is written: compare that
        QCOMPARE(DbReader(dbPath()).dump(), before);
    }

    void configChangeAppliesLive()
    {
        startCore();
        Agent agent(agentSettings(QStringLiteral("a")), std::make_unique<testdata::FakeSampler>());
        // The hub's configApplied comes from the network thread: a QSignalSpy read here while
        // that thread appends would race, so the revisions are collected on this thread.
        QObject context;
        QList<quint32> applied;
        connect(m_core->hub(), &IngestServer::configApplied, &context,
                [&](const QString &, quint32 revision) { applied.append(revision); });
        QString error;
        QVERIFY(agent.start(&error));
        QTRY_VERIFY_WITH_TIMEOUT(!applied.isEmpty(), 10000);
        const quint32 first = applied.last();
        QCOMPARE(agent.config().sampleIntervalMs, 100u);

        AgentConfig next = agent.config();
        next.sampleIntervalMs = 250;
        m_core->setDefaultConfig(next);
        QTRY_VERIFY_WITH_TIMEOUT(agent.config().sampleIntervalMs == 250u, 10000);
        QTRY_VERIFY(applied.last() > first);
        DbReader db(dbPath());
        QTRY_COMPARE(quint32(db.scalar(QStringLiteral("SELECT applied_revision FROM clients"))), applied.last());

        // A per-client override wins over the default.
        next.sampleIntervalMs = 400;
        m_core->setClientOverride(agent.settings().id, next);
        QTRY_VERIFY_WITH_TIMEOUT(agent.config().sampleIntervalMs == 400u, 10000);
    }

    void acksOnlyAfterCommit()
    {
        startCore();
        Agent agent(agentSettings(QStringLiteral("a")), std::make_unique<testdata::FakeSampler>());
        QString error;
        QVERIFY(agent.start(&error));
        QTRY_VERIFY_WITH_TIMEOUT(agent.link().state() == AgentLink::State::Ready, 10000);
        QSignalSpy acks(&agent.link(), &AgentLink::acknowledged);
        quint64 ackedUpTo = 0;
        QObject context; // goes before ackedUpTo does
        connect(&agent.link(), &AgentLink::acknowledged, &context, [&](const Ack &ack) {
            for (const SequenceRange &r : ack.ranges)
                ackedUpTo = std::max<quint64>(ackedUpTo, r.last);
        });
        QVERIFY(acks.wait(10000));

        // Hold the write lock from another connection: commits wait, so no ack may arrive.
        {
            QSqlDatabase locker = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("locker"));
            locker.setDatabaseName(dbPath());
            QVERIFY(locker.open());
            QSqlQuery q(locker);
            QVERIFY(q.exec(QStringLiteral("BEGIN IMMEDIATE")));
            // A commit made just before the lock may still have its ack on the way: wait for
            // the acks of everything stored so far, then expect no more.
            const qint64 lastStored = DbReader(dbPath()).scalar(QStringLiteral("SELECT max(sequence) FROM batches"));
            QVERIFY(lastStored > 0);
            QTRY_VERIFY_WITH_TIMEOUT(ackedUpTo >= quint64(lastStored), 10000);
            acks.clear();
            const qint64 storedBefore = DbReader(dbPath()).scalar(QStringLiteral("SELECT count(*) FROM samples"));
            QVERIFY(!acks.wait(1500)); // batches keep coming in (300 ms), none is acked
            QVERIFY(agent.spool().backlogBatches() >= 2);
            QCOMPARE(DbReader(dbPath()).scalar(QStringLiteral("SELECT count(*) FROM samples")), storedBefore);
            QVERIFY(q.exec(QStringLiteral("ROLLBACK")));
            q = QSqlQuery();
            locker.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("locker"));
        QVERIFY(acks.wait(10000));
        QTRY_VERIFY_WITH_TIMEOUT(agent.spool().backlogBatches() <= 1, 10000);
    }

    void purgingDoesNotHoldBackAcks()
    {
        // 500,000 samples two months old: past the default 30 days, a hundred slices to delete.
        constexpr qint64 day = 86'400'000;
        const qint64 old = QDateTime::currentMSecsSinceEpoch() - 60 * day;
        {
            Store store(dbPath());
            QVERIFY(store.open().ok());
            store.enrolment().setTokenRequired(false);
            Hello hello;
            hello.hostname = QStringLiteral("archive");
            const auto auth = store.enrolment().authenticate(hello, QStringLiteral("t"), old);
            QVERIFY(auth.ok());
            std::vector<SampleBatch> batches;
            for (quint64 seq = 1; seq <= 500; ++seq) {
                batches.push_back(testdata::makeBatch(seq, 1000, 0, old + qint64(seq) * 1'000'000));
                batches.back().droppedTotal = 0;
            }
            std::vector<Store::IngestItem> items;
            for (const SampleBatch &b : batches)
                items.push_back({auth->clientId, &b});
            QVERIFY(store.ingest().write(items, old).ok());
            QVERIFY(store.enrolment().markAllOffline(old, QStringLiteral("test")).ok());
        }
        startCore();
        Agent agent(agentSettings(QStringLiteral("live")), std::make_unique<testdata::FakeSampler>());
        QString error;
        QVERIFY(agent.start(&error));
        QElapsedTimer clock;
        clock.start();
        QList<qint64> ackTimes;
        QObject context;
        connect(&agent.link(), &AgentLink::acknowledged, &context, [&] { ackTimes.append(clock.elapsed()); });
        QTRY_VERIFY_WITH_TIMEOUT(ackTimes.size() >= 2, 10000);
        // The worker's thread: a receiver here, not a QSignalSpy.
        std::optional<PurgeResult> done;
        qint64 startedAt = 0;
        qint64 endedAt = 0;
        connect(m_core->worker(), &StoreWorker::purged, &context, [&](const PurgeResult &r) {
            done = r;
            endedAt = clock.elapsed();
        });
        startedAt = clock.elapsed();
        QMetaObject::invokeMethod(m_core->worker(), [w = m_core->worker()] { w->purge(); });
        QTRY_VERIFY_WITH_TIMEOUT(done.has_value(), 60000);
        QCOMPARE(done->rawRows, 500'000);
        QCOMPARE(done->batchRows, 500);
        // Acks kept coming while the slices ran: the agent sends every 300 ms; batches sent
        // after the purge began were stored and acknowledged before it ended, and no pause
        // between two acks grew past a second.
        qint64 longest = 0;
        int during = 0;
        for (qsizetype i = 1; i < ackTimes.size(); ++i) {
            if (ackTimes[i] < startedAt || ackTimes[i - 1] > endedAt)
                continue;
            longest = std::max(longest, ackTimes[i] - ackTimes[i - 1]);
            if (ackTimes[i] > startedAt + 400 && ackTimes[i] < endedAt)
                ++during;
        }
        qInfo() << "purge of 500000 samples took" << endedAt - startedAt << "ms;" << during
                << "acks of later batches meanwhile, longest pause" << longest << "ms";
        QVERIFY2(longest < 1000, qPrintable(QString::number(longest)));
        // A purge shorter than about three send intervals leaves no room to see batches pass it.
        if (endedAt - startedAt > 1000)
            QVERIFY(during >= 2);
        QCOMPARE(DbReader(dbPath()).scalar(QStringLiteral("SELECT count(*) FROM samples WHERE ts_ms < %1").arg(old + day)), 0);
    }

    void busyServerShedsLoadWithoutLosingSamples()
    {
        IngestServer::Options net;
        net.maxQueuedSamples = 12; // four batches of this test's agent: its window of 8 overflows it
        startCore(net);
        auto *sampler = new testdata::FakeSampler();
        Agent agent(agentSettings(QStringLiteral("a")), std::unique_ptr<agent::Sampler>(sampler));
        QSignalSpy busy(&agent.link(), &AgentLink::serverBusy);
        QString error;
        QVERIFY(agent.start(&error));
        QSignalSpy acks(&agent.link(), &AgentLink::acknowledged);
        QVERIFY(acks.wait(10000));
        {
            // The database stalls: queued samples pass the cap and the hub refuses batches.
            QSqlDatabase locker = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("busy"));
            locker.setDatabaseName(dbPath());
            QVERIFY(locker.open());
            QSqlQuery q(locker);
            QVERIFY(q.exec(QStringLiteral("BEGIN IMMEDIATE")));
            QVERIFY(busy.wait(10000)); // told, not disconnected
            // Stay busy across more than one resend cycle (regression: after the first resend
            // was refused again, the agent waited forever).
            QVERIFY(busy.wait(15000));
            QVERIFY(q.exec(QStringLiteral("ROLLBACK")));
            q = QSqlQuery();
            locker.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("busy"));
        // Everything sealed is eventually acked; stored samples are 0..N, each once.
        QTRY_VERIFY_WITH_TIMEOUT(agent.link().state() == AgentLink::State::Ready
                                     && agent.spool().backlogBatches() == 0 && sampler->count() > 30,
                                 30000);
        // stop() sends a last batch: read the database once it is written, not while it commits.
        QObject context;
        int leftHub = 0;
        connect(m_core->hub(), &IngestServer::clientDisconnected, &context, [&] { ++leftHub; });
        QSignalSpy finished(&agent, &Agent::finished);
        agent.takeSample(); // so that stop() has something to seal and send
        const std::uint64_t nextBefore = agent.spool().nextSequence();
        agent.stop();
        QVERIFY(finished.wait(10000));
        // stop() sealed a last batch and waited for its ack before closing (QWebSocket reads
        // nothing once its close frame is out): nothing is left to send again.
        QVERIFY(agent.spool().nextSequence() > nextBefore);
        QCOMPARE(agent.spool().backlogBatches(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(leftHub, 1, 10000);
        testdata::settleStore(*m_core);
        DbReader db(dbPath());
        const qint64 rows = db.scalar(QStringLiteral("SELECT count(*) FROM samples"));
        QCOMPARE(db.scalar(QStringLiteral("SELECT count(DISTINCT load1) FROM samples")), rows);
        QCOMPARE(db.scalar(QStringLiteral("SELECT min(load1) FROM samples")), 0);
        QCOMPARE(db.scalar(QStringLiteral("SELECT max(load1) FROM samples")), rows - 1);
        // Refusals are not holes: no sequence gap was recorded.
        QCOMPARE(db.scalar(QStringLiteral("SELECT count(*) FROM gaps WHERE reason = 'sequence gap'")), 0);
    }

    void badInputIsRefusedAndOthersKeepStreaming()
    {
        IngestServer::Options net;
        net.helloTimeoutMs = 500;
        net.handshakeTimeoutMs = 500;
        net.messagesPerSecond = 20;
        net.messageBurst = 40;
        startCore(net);
        Agent agent(agentSettings(QStringLiteral("good")), std::make_unique<testdata::FakeSampler>());
        QString error;
        QVERIFY(agent.start(&error));
        DbReader db(dbPath());
        QTRY_VERIFY_WITH_TIMEOUT(db.scalar(QStringLiteral("SELECT count(*) FROM samples")) > 0, 10000);

        struct Case {
            const char *name;
            std::function<void(QWebSocket &)> act;
            ErrorCode expected;
        };
        const QByteArray garbage("\x01\x02\x03 definitely not a flatbuffer", 32);
        const Case cases[] = {
            {"garbage", [&](QWebSocket &s) { s.sendBinaryMessage(garbage); }, ErrorCode::Malformed},
            {"wrong-type", [](QWebSocket &s) { s.sendBinaryMessage(codec::encode(Message(Ack{1, {}}))); },
             ErrorCode::UnexpectedMessage},
            {"batch-before-hello",
             [](QWebSocket &s) { s.sendBinaryMessage(codec::encode(Message(testdata::makeBatch(1, 2, 2)))); },
             ErrorCode::UnexpectedMessage},
            {"text", [](QWebSocket &s) { s.sendTextMessage(QStringLiteral("hello?")); }, ErrorCode::Malformed},
            {"bad-version",
             [](QWebSocket &s) {
                 Hello h;
                 h.protocolVersion = 99;
                 s.sendBinaryMessage(codec::encode(Message(h)));
             },
             ErrorCode::UnsupportedVersion},
            {"hello-flood",
             [](QWebSocket &s) {
                 for (int i = 0; i < 60; ++i)
                     s.sendBinaryMessage(helloBytes());
             },
             ErrorCode::UnexpectedMessage},
            {"silent", [](QWebSocket &) {}, ErrorCode::HelloTimeout},
        };
        for (const Case &c : cases) {
            QWebSocket raw;
            QSignalSpy closed(&raw, &QWebSocket::disconnected);
            ErrorCode got = ErrorCode::None;
            QString reason;
            connect(&raw, &QWebSocket::binaryMessageReceived, this, [&](const QByteArray &b) {
                DecodeResult r = codec::decode(b);
                if (r.ok())
                    if (const auto *e = std::get_if<ErrorMessage>(&*r.message)) {
                        got = e->code;
                        reason = e->reason;
                    }
            });
            raw.open(m_core->url());
            QTRY_COMPARE(raw.state(), QAbstractSocket::ConnectedState);
            c.act(raw);
            QVERIFY2(closed.wait(5000) || raw.state() == QAbstractSocket::UnconnectedState, c.name);
            QVERIFY2(got == c.expected, qPrintable(QStringLiteral("%1: got %2 (%3)")
                                                       .arg(QLatin1StringView(c.name), errorCodeName(got), reason)));
            QVERIFY(!reason.isEmpty());
        }

        // A client that never finishes the WebSocket handshake is dropped.
        {
            QTcpSocket tcp;
            QSignalSpy closed(&tcp, &QTcpSocket::disconnected);
            tcp.connectToHost(QHostAddress::LocalHost, m_core->url().port());
            QVERIFY(tcp.waitForConnected(5000));
            tcp.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"); // and never more
            QVERIFY(closed.wait(10000));
        }

        // The well-behaved agent was never affected.
        const qint64 stored = db.scalar(QStringLiteral("SELECT count(*) FROM samples"));
        QTRY_VERIFY_WITH_TIMEOUT(db.scalar(QStringLiteral("SELECT count(*) FROM samples")) > stored + 3, 10000);
        QCOMPARE(agent.link().state(), AgentLink::State::Ready);
        QCOMPARE(agent.link().reconnectAttempts(), 0);
    }

    void oversizedMessagesAreClosedEarly()
    {
        // The default Hello deadline (10 s): with the 500 ms one above, pushing 10 MiB on a
        // loaded machine sometimes outlasted it and the close said "no Hello" (1008) instead.
        startCore();
        // A 10 MiB message: closed with 1009 before the server buffers it whole.
        {
            QWebSocket raw;
            QSignalSpy closed(&raw, &QWebSocket::disconnected);
            raw.open(m_core->url());
            QTRY_COMPARE(raw.state(), QAbstractSocket::ConnectedState);
            raw.sendBinaryMessage(QByteArray(10 * 1024 * 1024, 'x'));
            QVERIFY(closed.wait(10000));
            QCOMPARE(raw.closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
        }
        // A frame header announcing 2 GiB, by hand over TCP after a real upgrade.
        {
            QTcpSocket tcp;
            tcp.connectToHost(QHostAddress::LocalHost, m_core->url().port());
            QVERIFY(tcp.waitForConnected(5000));
            tcp.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            QTRY_VERIFY((tcp.waitForReadyRead(100), tcp.peek(4096).contains("\r\n\r\n")));
            QVERIFY(tcp.readAll().startsWith("HTTP/1.1 101"));
            // FIN + binary, masked, 64-bit length 2^31, mask key, then a few bytes.
            QByteArray frame("\x82\xff", 2);
            const quint64 len = 1ull << 31;
            for (int i = 7; i >= 0; --i)
                frame.append(char((len >> (8 * i)) & 0xff));
            frame.append("\x01\x02\x03\x04", 4);
            frame.append(QByteArray(1024, 'y'));
            tcp.write(frame);
            QTRY_VERIFY_WITH_TIMEOUT(tcp.state() == QAbstractSocket::UnconnectedState
                                         || (tcp.waitForReadyRead(50), tcp.readAll().size() > 0
                                             && tcp.state() != QAbstractSocket::ConnectedState),
                                     10000);
        }
    }

    void idleClientIsClosed()
    {
        StoreWorker::DefaultChanges heartbeat;
        heartbeat.heartbeatIntervalMs = 200;
        startCore({}, heartbeat); // heartbeat 200 ms: idle after 600 ms
        QWebSocket raw;
        ErrorCode got = ErrorCode::None;
        connect(&raw, &QWebSocket::binaryMessageReceived, this, [&](const QByteArray &b) {
            DecodeResult r = codec::decode(b);
            if (r.ok())
                if (const auto *e = std::get_if<ErrorMessage>(&*r.message))
                    got = e->code;
        });
        QSignalSpy closed(&raw, &QWebSocket::disconnected);
        raw.open(m_core->url());
        QTRY_COMPARE(raw.state(), QAbstractSocket::ConnectedState);
        QObject context;
        int welcomed = 0;
        connect(m_core->hub(), &IngestServer::clientConnected, &context, [&] { ++welcomed; });
        raw.sendBinaryMessage(helloBytes(QStringLiteral("idler")));
        QTRY_COMPARE(welcomed, 1);
        QVERIFY(closed.wait(10000));
        QCOMPARE(got, ErrorCode::IdleTimeout);
        DbReader db(dbPath());
        QTRY_COMPARE(db.scalar(QStringLiteral("SELECT count(*) FROM connections WHERE disconnected_ms IS NULL")), 0);
    }

    void duplicateBatchesAreAckedButStoredOnce()
    {
        startCore();
        QWebSocket raw;
        QList<Message> received;
        connect(&raw, &QWebSocket::binaryMessageReceived, this, [&](const QByteArray &b) {
            DecodeResult r = codec::decode(b);
            if (r.ok())
                received.append(*r.message);
        });
        raw.open(m_core->url());
        QTRY_COMPARE(raw.state(), QAbstractSocket::ConnectedState);
        raw.sendBinaryMessage(helloBytes(QStringLiteral("dup")));
        QTRY_COMPARE(received.size(), 2); // Welcome + AgentConfig
        const QByteArray batch = codec::encode(Message(testdata::makeBatch(1, 10, 4)));
        raw.sendBinaryMessage(batch);
        raw.sendBinaryMessage(batch);
        QTRY_VERIFY_WITH_TIMEOUT(std::count_if(received.begin(), received.end(), [](const Message &m) {
                                     return std::holds_alternative<Ack>(m);
                                 }) >= 1,
                                 10000);
        // Both copies acknowledged (in one or two acks), ten samples stored.
        QList<std::uint64_t> acked;
        QTRY_VERIFY_WITH_TIMEOUT((acked.clear(), [&] {
                                     for (const Message &m : received)
                                         if (const auto *a = std::get_if<Ack>(&m))
                                             for (const SequenceRange &r : a->ranges)
                                                 for (auto s = r.first; s <= r.last; ++s)
                                                     acked.append(s);
                                 }(), acked.size() == 2),
                                 10000);
        QCOMPARE(acked, (QList<std::uint64_t>{1, 1}));
        DbReader db(dbPath());
        QCOMPARE(db.scalar(QStringLiteral("SELECT count(*) FROM samples")), 10);
        QCOMPARE(db.scalar(QStringLiteral("SELECT count(*) FROM batches")), 1);
    }

    void disconnectReasonsAreRecordedAsTheyHappened()
    {
        startCore();
        const auto connectAndEnrol = [this](QWebSocket &raw, const QString &name) {
            int received = 0;
            connect(&raw, &QWebSocket::binaryMessageReceived, &raw, [&received] { ++received; });
            raw.open(m_core->url());
            if (!QTest::qWaitFor([&] { return raw.state() == QAbstractSocket::ConnectedState; }, 10000))
                return false;
            raw.sendBinaryMessage(helloBytes(name));
            return QTest::qWaitFor([&] { return received >= 2; }, 10000); // Welcome + AgentConfig
        };
        DbReader db(dbPath());
        const auto reasons = [&db] {
            QStringList out;
            for (const QVariantList &row : db.rows(QStringLiteral(
                     "SELECT reason FROM connections WHERE disconnected_ms IS NOT NULL ORDER BY id")))
                out.append(row.value(0).toString());
            return out;
        };
        // Regression: a clean close without a reason was recorded as "connection lost".
        {
            QWebSocket raw;
            QVERIFY(connectAndEnrol(raw, QStringLiteral("quiet")));
            raw.close(QWebSocketProtocol::CloseCodeNormal);
        }
        QTRY_COMPARE_WITH_TIMEOUT(reasons().size(), 1, 10000);
        QCOMPARE(reasons().at(0), QStringLiteral("closed by the agent (code 1000)"));
        // A reason is the agent's words, kept without what could forge a log line.
        {
            QWebSocket raw;
            QVERIFY(connectAndEnrol(raw, QStringLiteral("chatty")));
            raw.close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("bye\n2026-12-01 forged line"));
        }
        QTRY_COMPARE_WITH_TIMEOUT(reasons().size(), 2, 10000);
        QCOMPARE(reasons().at(1), QStringLiteral("bye2026-12-01 forged line"));
        // A vanished peer is a lost connection.
        {
            QWebSocket raw;
            QVERIFY(connectAndEnrol(raw, QStringLiteral("gone")));
            raw.abort();
        }
        QTRY_COMPARE_WITH_TIMEOUT(reasons().size(), 3, 10000);
        QVERIFY2(reasons().at(2).startsWith(QStringLiteral("connection lost")), qPrintable(reasons().at(2)));
    }

    /** A token made as `autofactory token create` makes it: another connection, same file. */
    QString makeToken(int uses, std::optional<qint64> expiresMs = std::nullopt, bool revoke = false)
    {
        Store store(dbPath());
        if (!store.open())
            return {};
        const auto created = STORE_OK(store.tokens().create(uses, expiresMs, QStringLiteral("test"),
                                                            QDateTime::currentMSecsSinceEpoch()));
        if (revoke)
            STORE_OK(store.tokens().revoke(created.id, QDateTime::currentMSecsSinceEpoch()));
        return created.token;
    }

    void enrolmentNeedsAValidToken_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("reason");
        QTest::addRow("none") << QStringLiteral("none") << QStringLiteral("token is required");
        QTest::addRow("not a token") << QStringLiteral("junk") << QStringLiteral("not a valid enrolment token");
        QTest::addRow("unknown") << QStringLiteral("unknown") << QStringLiteral("not a valid enrolment token");
        QTest::addRow("wrong secret") << QStringLiteral("wrong-secret") << QStringLiteral("not a valid enrolment token");
        QTest::addRow("expired") << QStringLiteral("expired") << QStringLiteral("has expired");
        QTest::addRow("revoked") << QStringLiteral("revoked") << QStringLiteral("was revoked");
        QTest::addRow("used up") << QStringLiteral("used-up") << QStringLiteral("is used up");
    }
    void enrolmentNeedsAValidToken()
    {
        QFETCH(QString, kind);
        QFETCH(QString, reason);
        m_requireToken = true;
        startCore();
        QString token;
        RawPeer first; // stays connected: its leaving would change the database under the test
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (kind == u"junk")
            token = QStringLiteral("please let me in");
        else if (kind == u"unknown")
            token = QStringLiteral("0123456789ab.") + QString(43, u'x');
        else if (kind == u"wrong-secret")
            token = makeToken(1).left(13) + QString(43, u'x');
        else if (kind == u"expired")
            token = makeToken(1, now - 1);
        else if (kind == u"revoked")
            token = makeToken(5, std::nullopt, true);
        else if (kind == u"used-up") {
            token = makeToken(1);
            first.socket.open(m_core->url());
            QTRY_COMPARE(first.socket.state(), QAbstractSocket::ConnectedState);
            first.sendHello(token, QStringLiteral("first"));
            QTRY_VERIFY(first.welcome());
        }
        testdata::settleStore(*m_core);
        const QString before = DbReader(dbPath()).dump();

        RawPeer peer;
        peer.socket.open(m_core->url());
        QTRY_COMPARE(peer.socket.state(), QAbstractSocket::ConnectedState);
        peer.sendHello(token, QStringLiteral("stranger"));
        QTRY_VERIFY_WITH_TIMEOUT(peer.closed, 10000);
        QCOMPARE(peer.error(), ErrorCode::EnrolmentRefused);
        QVERIFY2(peer.errorReason().contains(reason), qPrintable(peer.errorReason()));
        QVERIFY(!peer.welcome());
        // Nothing is written for a peer without a valid token: no client, no connection row,
        // no token use.
        testdata::settleStore(*m_core);
        QCOMPARE(DbReader(dbPath()).dump(), before);
    }

    void theLastUseOfATokenGoesOnce()
    {
        m_requireToken = true;
        IngestServer::Options net;
        net.strangers.exemptLoopback = false; // the test's peers are all on loopback
        startCore(net);
        const QString token = makeToken(3);
        std::vector<std::unique_ptr<RawPeer>> peers;
        for (int i = 0; i < 12; ++i) {
            peers.push_back(std::make_unique<RawPeer>());
            peers.back()->socket.open(m_core->url());
        }
        for (auto &p : peers)
            QTRY_COMPARE(p->socket.state(), QAbstractSocket::ConnectedState);
        // All at once: the store sees them back to back, one transaction each.
        for (int i = 0; i < 12; ++i)
            peers[std::size_t(i)]->sendHello(token, QStringLiteral("racer-%1").arg(i));
        for (auto &p : peers)
            QTRY_VERIFY_WITH_TIMEOUT(p->answered(), 10000);
        int welcomed = 0;
        int refused = 0;
        for (auto &p : peers) {
            if (p->welcome())
                ++welcomed;
            else if (p->error() == ErrorCode::EnrolmentRefused || p->error() == ErrorCode::RateLimited)
                ++refused; // past five failures from one address, the rest wait (RateLimited)
        }
        QCOMPARE(welcomed, 3);
        QCOMPARE(refused, 9);
        testdata::settleStore(*m_core);
        DbReader db(dbPath());
        QCOMPARE(db.scalar(QStringLiteral("SELECT count(*) FROM clients")), 3);
        QCOMPARE(db.scalar(QStringLiteral("SELECT uses FROM enrolment_tokens")), 3);
    }

    void repeatedFailuresWaitAndAreSummarised()
    {
        IngestServer::Options net;
        net.strangers.exemptLoopback = false; // the test's peers are all on loopback
        startCore(net);
        // An enrolled client whose secret a stranger guesses at.
        RawPeer owner;
        owner.socket.open(m_core->url());
        QTRY_COMPARE(owner.socket.state(), QAbstractSocket::ConnectedState);
        owner.sendHello({}, QStringLiteral("owner"));
        QTRY_VERIFY(owner.welcome());
        const QString id = owner.welcome()->agentId;

        static QStringList hubWarnings;
        hubWarnings.clear();
        static QtMessageHandler previous = nullptr;
        previous = qInstallMessageHandler([](QtMsgType type, const QMessageLogContext &ctx, const QString &msg) {
            if (type == QtWarningMsg && ctx.category && QByteArrayView(ctx.category) == "autofact.server.hub")
                hubWarnings.append(msg);
            previous(type, ctx, msg);
        });
        const auto restore = qScopeGuard([] { qInstallMessageHandler(previous); });
        QList<ErrorCode> answers;
        for (int i = 0; i < 12; ++i) {
            RawPeer guess;
            guess.socket.open(m_core->url());
            QTRY_COMPARE(guess.socket.state(), QAbstractSocket::ConnectedState);
            guess.sendHello({}, QStringLiteral("guess"), id, QStringLiteral("guess-%1").arg(i));
            QTRY_VERIFY_WITH_TIMEOUT(guess.closed, 10000);
            answers.append(guess.error());
        }
        // Five free failures, then growing waits: the rest are refused before any lookup.
        QCOMPARE(answers.mid(0, 5), QList<ErrorCode>(5, ErrorCode::BadSecret));
        QCOMPARE(answers.mid(5), QList<ErrorCode>(7, ErrorCode::RateLimited));
        // One line per kind, not one per attempt (the summaries follow when the interval ends).
        QCOMPARE(hubWarnings.filter(QStringLiteral("refusing")).size(), 2);
        // The owner streams on, untouched.
        QVERIFY(!owner.closed);
    }

    void strangersAreCappedPerAddress()
    {
        IngestServer::Options net;
        net.strangers.maxPerAddress = 3;
        net.strangers.exemptLoopback = false; // the test's peers are all on loopback
        startCore(net);
        std::vector<std::unique_ptr<RawPeer>> waiting;
        for (int i = 0; i < 3; ++i) {
            waiting.push_back(std::make_unique<RawPeer>());
            waiting.back()->socket.open(m_core->url());
            QTRY_COMPARE(waiting.back()->socket.state(), QAbstractSocket::ConnectedState);
        }
        RawPeer fourth;
        fourth.socket.open(m_core->url());
        QTRY_VERIFY_WITH_TIMEOUT(fourth.closed, 10000);
        QCOMPARE(fourth.error(), ErrorCode::RateLimited);
        QVERIFY2(fourth.errorReason().contains(QStringLiteral("waiting to authenticate")), qPrintable(fourth.errorReason()));
        // Authenticated peers no longer count: one of the three enrols, and a new one fits.
        waiting[0]->sendHello({});
        QTRY_VERIFY(waiting[0]->welcome());
        RawPeer fifth;
        fifth.socket.open(m_core->url());
        QTRY_COMPARE(fifth.socket.state(), QAbstractSocket::ConnectedState);
        fifth.sendHello({});
        QTRY_VERIFY_WITH_TIMEOUT(fifth.answered(), 10000);
        QVERIFY(fifth.welcome());
    }

    void messagesBeforeAuthenticationAreSmall()
    {
        startCore();
        // 17 KiB before Hello: closed with 1009, not buffered up to the 1 MiB limit.
        RawPeer stranger;
        stranger.socket.open(m_core->url());
        QTRY_COMPARE(stranger.socket.state(), QAbstractSocket::ConnectedState);
        stranger.socket.sendBinaryMessage(QByteArray(17 * 1024, 'x'));
        QTRY_VERIFY_WITH_TIMEOUT(stranger.closed, 10000);
        QCOMPARE(stranger.socket.closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
        // After Welcome the full limit applies: a 200 KiB batch is stored and acked.
        RawPeer agent;
        agent.socket.open(m_core->url());
        QTRY_COMPARE(agent.socket.state(), QAbstractSocket::ConnectedState);
        agent.sendHello({});
        QTRY_VERIFY(agent.welcome());
        const QByteArray big = codec::encode(Message(testdata::makeBatch(1, 1200, 8)));
        QVERIFY(big.size() > 100 * 1024);
        agent.socket.sendBinaryMessage(big);
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(agent.received.cbegin(), agent.received.cend(),
                                             [](const Message &m) { return std::holds_alternative<Ack>(m); }),
                                 10000);
        QVERIFY(!agent.closed);
    }

    void serverBusyIsSaidOncePerResendCycle()
    {
        // Regression: a resend cycle that began with batches still queued for the database got
        // one ServerBusy per such batch (up to hundreds per cycle) instead of one.
        IngestServer::Options net;
        net.maxQueuedSamples = 45; // four 10-sample batches fit, the fifth does not
        startCore(net);
        // The database thread holds what it was given for 3 s: the queue stays full meanwhile.
        QMetaObject::invokeMethod(m_core->worker(), [w = m_core->worker()] { w->setCommitDelayMs(3000); },
                                  Qt::BlockingQueuedConnection);
        RawPeer peer;
        peer.socket.open(m_core->url());
        QTRY_COMPARE(peer.socket.state(), QAbstractSocket::ConnectedState);
        peer.sendHello({});
        QTRY_VERIFY(peer.welcome());
        const auto busyNotices = [&peer] {
            return std::count_if(peer.received.cbegin(), peer.received.cend(), [](const Message &m) {
                const auto *e = std::get_if<ErrorMessage>(&m);
                return e && e->code == ErrorCode::ServerBusy;
            });
        };
        const auto pongs = [&peer] {
            return std::count_if(peer.received.cbegin(), peer.received.cend(),
                                 [](const Message &m) { return std::holds_alternative<Pong>(m); });
        };
        // Messages are handled in order: once the Pong for a heartbeat sent after a cycle is
        // here, every notice that cycle earned is here too.
        const auto cycle = [&](int expectedPongs) {
            for (quint64 seq = 1; seq <= 30; ++seq)
                peer.socket.sendBinaryMessage(codec::encode(Message(testdata::makeBatch(seq, 10, 2))));
            peer.socket.sendBinaryMessage(codec::encode(Message(Heartbeat{1, 0, 0, 0})));
            QTRY_COMPARE_WITH_TIMEOUT(pongs(), expectedPongs, 5000);
        };
        cycle(1);
        QCOMPARE(busyNotices(), 1);
        cycle(2); // the agent starts over from 1 while 1..4 still wait for the database
        QCOMPARE(busyNotices(), 2);
        QVERIFY(!peer.closed);
    }

    void revocationCutsALiveAgentWithinOneSecond()
    {
        startCore();
        Agent agent(agentSettings(QStringLiteral("revoked")), std::make_unique<testdata::FakeSampler>());
        QSignalSpy finished(&agent, &Agent::finished);
        QString error;
        QVERIFY(agent.start(&error));
        QTRY_VERIFY_WITH_TIMEOUT(agent.link().state() == AgentLink::State::Ready, 10000);
        const QString id = agent.settings().id;
        QElapsedTimer cut;
        cut.start();
        m_core->revokeClient(id); // what the dashboard's Block does
        QVERIFY(finished.wait(5000));
        QVERIFY2(cut.elapsed() < 1000, qPrintable(QString::number(cut.elapsed())));
        QCOMPARE(finished.first().first().toInt(), AgentLink::exitRefused);
        // Its secret no longer works.
        RawPeer again;
        again.socket.open(m_core->url());
        QTRY_COMPARE(again.socket.state(), QAbstractSocket::ConnectedState);
        again.sendHello({}, QStringLiteral("again"), id, agent.settings().secret);
        QTRY_VERIFY_WITH_TIMEOUT(again.closed, 10000);
        QCOMPARE(again.error(), ErrorCode::Revoked);
    }

    void tlsWithSelfSignedCertificate()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("openssl is not installed");
        const QString cert = m_dir->filePath(QStringLiteral("cert.pem"));
        const QString key = m_dir->filePath(QStringLiteral("key.pem"));
        QProcess openssl;
        openssl.start(QStringLiteral("openssl"),
                      {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                       QStringLiteral("-nodes"), QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-subj"),
                       QStringLiteral("/CN=127.0.0.1"), QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1"),
                       QStringLiteral("-keyout"), key, QStringLiteral("-out"), cert});
        QVERIFY(openssl.waitForFinished(60000));
        QCOMPARE(openssl.exitCode(), 0);

        QFile certFile(cert), keyFile(key);
        QVERIFY(certFile.open(QIODevice::ReadOnly) && keyFile.open(QIODevice::ReadOnly));
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setLocalCertificateChain(QSslCertificate::fromData(certFile.readAll()));
        tls.setPrivateKey(QSslKey(keyFile.readAll(), QSsl::Rsa));
        IngestServer::Options net;
        net.tls = tls;
        startCore(net);
        QCOMPARE(m_core->url().scheme(), QStringLiteral("wss"));

        AgentSettings s = agentSettings(QStringLiteral("tls"));
        s.ca = cert;
        Agent agent(s, std::make_unique<testdata::FakeSampler>());
        QString error;
        QVERIFY2(agent.start(&error), qPrintable(error));
        DbReader db(dbPath());
        QTRY_VERIFY_WITH_TIMEOUT(db.scalar(QStringLiteral("SELECT count(*) FROM samples")) > 0, 15000);
    }
};

QTEST_GUILESS_MAIN(TestIngestServer)
#include "tst_ingestserver.moc"
