// SPDX-License-Identifier: MIT
// The agent (real Agent, AgentLink and Spool, fake sampler) against a scripted server on
// 127.0.0.1 that speaks the protocol through the shared codec.
#include "agent.h"
#include "codec.h"
#include "fakesampler.h"
#include "jsonfile.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>
#include <QWebSocketServer>

#include <map>
#include <memory>

using namespace autofact;
using namespace autofact::agent;

namespace {

/** A minimal protocol server for tests: records what it gets, answers as told. */
class ScriptedServer : public QObject
{
    Q_OBJECT
public:
    enum class AckMode { Immediate, ReverseAndDuplicate, Never };

    ScriptedServer()
        : m_server(QStringLiteral("test"), QWebSocketServer::NonSecureMode)
    {
        connect(&m_server, &QWebSocketServer::newConnection, this, &ScriptedServer::onConnection);
    }

    bool listen(quint16 port = 0) { return m_server.listen(QHostAddress::LocalHost, port); }
    quint16 port() const { return m_server.serverPort(); }
    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port())); }

    void closeAll()
    {
        m_server.close();
        for (QWebSocket *s : std::as_const(m_sockets))
            s->abort();
        qDeleteAll(m_sockets);
        m_sockets.clear();
    }

    AgentConfig config{1, 100, 200, 1000, 50, 400, 60000, 1 << 20, 3600 * 1000};
    AckMode ackMode = AckMode::Immediate;
    bool rejectSecret = false;
    bool silent = false; // accept connections, never answer
    QString issuedId = QStringLiteral("agent-1");
    QString issuedSecret = QStringLiteral("secret-1");
    std::uint64_t lastAcked = 0; // what Welcome reports as already stored

    QList<Hello> hellos;
    QList<quint32> applied;
    int heartbeats = 0;
    std::map<std::uint64_t, SampleBatch> batches; // by sequence: a resend overwrites
    int batchMessages = 0;

    /// Every sample tag (load1) received, in arrival order, duplicates kept.
    QList<int> tagsReceivedOnce() const
    {
        QList<int> tags;
        for (const auto &[seq, b] : batches)
            for (const Sample &s : b.samples)
                tags.append(int(s.load1));
        return tags;
    }

Q_SIGNALS:
    void batchReceived(std::uint64_t sequence);

private:
    void onConnection()
    {
        while (QWebSocket *s = m_server.nextPendingConnection()) {
            m_sockets.append(s);
            connect(s, &QWebSocket::binaryMessageReceived, this,
                    [this, s](const QByteArray &bytes) { onMessage(s, bytes); });
        }
    }

    void send(QWebSocket *s, const Message &m) { s->sendBinaryMessage(codec::encode(m)); }

    void onMessage(QWebSocket *s, const QByteArray &bytes)
    {
        DecodeResult r = codec::decode(bytes);
        QVERIFY2(r.ok(), qPrintable(r.reason));
        if (silent)
            return;
        if (auto *hello = std::get_if<Hello>(&*r.message)) {
            hellos.append(*hello);
            if (rejectSecret) {
                send(s, ErrorMessage{ErrorCode::BadSecret, QStringLiteral("wrong secret")});
                s->close(QWebSocketProtocol::CloseCodePolicyViolated);
                return;
            }
            const bool known = hello->agentId == issuedId && hello->secret == issuedSecret;
            send(s, Welcome{1, issuedId, known ? QString() : issuedSecret, known, 1, lastAcked});
            send(s, config);
        } else if (auto *applied_ = std::get_if<ConfigApplied>(&*r.message)) {
            applied.append(applied_->revision);
        } else if (auto *hb = std::get_if<Heartbeat>(&*r.message)) {
            ++heartbeats;
            send(s, Pong{hb->sentMs, 1});
        } else if (auto *batch = std::get_if<SampleBatch>(&*r.message)) {
            ++batchMessages;
            batches[batch->sequence] = *batch;
            m_unacked.append(batch->sequence);
            if (ackMode == AckMode::Immediate) {
                send(s, Ack{0, {{batch->sequence, batch->sequence}}});
                m_unacked.clear();
            } else if (ackMode == AckMode::ReverseAndDuplicate && m_unacked.size() >= 3) {
                for (auto it = m_unacked.crbegin(); it != m_unacked.crend(); ++it) {
                    send(s, Ack{0, {{*it, *it}}});
                    send(s, Ack{0, {{*it, *it}}});
                }
                m_unacked.clear();
            }
            Q_EMIT batchReceived(batch->sequence);
        }
    }

    QWebSocketServer m_server;
    QList<QWebSocket *> m_sockets;
    QList<std::uint64_t> m_unacked;
};

QList<int> range(int from, int to)
{
    QList<int> out;
    for (int i = from; i < to; ++i)
        out.append(i);
    return out;
}

} // namespace

class TestAgentLink : public QObject
{
    Q_OBJECT
private:
    std::unique_ptr<QTemporaryDir> m_dir;

    AgentSettings settingsFor(const QUrl &url)
    {
        AgentSettings s;
        s.path = m_dir->filePath(QStringLiteral("agent.json"));
        s.server = url;
        s.insecure = url.scheme() == u"ws"; // a lab on loopback
        return s;
    }

private slots:
    void init() { m_dir = std::make_unique<QTemporaryDir>(); }
    void cleanup() { m_dir.reset(); }

    void enrollsAppliesConfigAndPersistsIdentity()
    {
        ScriptedServer server;
        QVERIFY(server.listen());
        auto *sampler = new testdata::FakeSampler();
        Agent agent(settingsFor(server.url()), std::unique_ptr<Sampler>(sampler));
        QSignalSpy applied(&agent, &Agent::configApplied);
        QString error;
        QVERIFY2(agent.start(&error), qPrintable(error));
        QTRY_COMPARE(server.applied, QList<quint32>{1});
        QCOMPARE(server.hellos.size(), 1);
        QVERIFY(server.hellos[0].agentId.isEmpty());
        QCOMPARE(server.hellos[0].hostname, QStringLiteral("fake-host"));
        QCOMPARE(server.hellos[0].protocolVersion, protocol::version);
        QCOMPARE(agent.config().sampleIntervalMs, 100u);
        const auto saved = jsonfile::load(m_dir->filePath(QStringLiteral("agent.json")));
        QVERIFY(saved.ok());
        QCOMPARE(saved.object->value(QStringLiteral("id")).toString(), QStringLiteral("agent-1"));
        QCOMPARE(saved.object->value(QStringLiteral("secret")).toString(), QStringLiteral("secret-1"));

        // A config pushed later applies live.
        server.config.revision = 2;
        server.config.sampleIntervalMs = 300;
        // (Pushed on the next connection in this scripted server: reconnect to trigger it.)
        const quint16 port = server.port();
        server.closeAll();
        QVERIFY(server.listen(port));
        QTRY_VERIFY_WITH_TIMEOUT(server.applied.contains(2u), 10000);
        QCOMPARE(agent.config().sampleIntervalMs, 300u);
        QCOMPARE(server.hellos.last().agentId, QStringLiteral("agent-1"));
        QCOMPARE(server.hellos.last().secret, QStringLiteral("secret-1"));
    }

    void batchesArriveInOrderWithOddAcks()
    {
        ScriptedServer server;
        server.ackMode = ScriptedServer::AckMode::ReverseAndDuplicate;
        QVERIFY(server.listen());
        auto *sampler = new testdata::FakeSampler();
        Agent agent(settingsFor(server.url()), std::unique_ptr<Sampler>(sampler));
        QString error;
        QVERIFY(agent.start(&error));
        QTRY_VERIFY_WITH_TIMEOUT(server.batches.size() >= 9, 15000);
        agent.stop();
        // Sequences are 1..N without holes, and each batch's samples continue the last one.
        std::uint64_t expected = 1;
        for (const auto &[seq, b] : server.batches)
            QCOMPARE(seq, expected++);
        const QList<int> tags = server.tagsReceivedOnce();
        QCOMPARE(tags, range(0, int(tags.size())));
        QVERIFY(agent.spool().backlogBatches() <= 3); // what the server had not acked yet
    }

    void serverRestartLosesAndDuplicatesNothing()
    {
        auto server = std::make_unique<ScriptedServer>();
        server->ackMode = ScriptedServer::AckMode::Never; // nothing acked before the outage
        QVERIFY(server->listen());
        const quint16 port = server->port();
        auto *sampler = new testdata::FakeSampler();
        Agent agent(settingsFor(server->url()), std::unique_ptr<Sampler>(sampler));
        QString error;
        QVERIFY(agent.start(&error));
        QTRY_VERIFY_WITH_TIMEOUT(server->batches.size() >= 3, 10000);
        server.reset(); // outage: everything sent so far was never acked

        // The agent keeps sampling into the spool while the server is away.
        const int before = sampler->count();
        QTRY_VERIFY_WITH_TIMEOUT(sampler->count() >= before + 5, 10000);

        server = std::make_unique<ScriptedServer>();
        QVERIFY(server->listen(port));
        QTRY_VERIFY_WITH_TIMEOUT(server->hellos.size() == 1 && agent.spool().backlogBatches() == 0
                                     && sampler->count() > before + 8,
                                 20000);
        agent.stop();
        // The new server got every sample from the first one on, exactly once per sequence.
        const QList<int> tags = server->tagsReceivedOnce();
        QCOMPARE(tags.first(), 0);
        QCOMPARE(tags, range(0, int(tags.size())));
    }

    void noSequenceIsUsedBeforeTheServerSpeaks()
    {
        // Regression: batches sealed before the first Welcome could reuse sequence numbers the
        // server already held (spool lost or replaced) and be dropped as duplicates.
        ScriptedServer server;
        QVERIFY(server.listen());
        const quint16 port = server.port();
        server.closeAll(); // the server is down when the agent starts
        AgentSettings s = settingsFor(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port)));
        auto *sampler = new testdata::FakeSampler();
        Agent agent(s, std::unique_ptr<Sampler>(sampler));
        agent.link().applyConfig(AgentConfig{0, 1000, 5000, 15000, 50, 100, 60000, 1 << 20, 3600000});
        QString error;
        QVERIFY(agent.start(&error));
        for (int i = 0; i < 5; ++i) {
            agent.takeSample();
            agent.sealAndSend();
        }
        QCOMPARE(agent.spool().backlogBatches(), 0u);    // nothing numbered yet
        QVERIFY(agent.spool().openSampleCount() >= 5);   // but everything kept
        // The server comes back and says it already stores up to sequence 41.
        ScriptedServer back;
        back.lastAcked = 41;
        QVERIFY(back.listen(port));
        QTRY_VERIFY_WITH_TIMEOUT(!back.batches.empty(), 15000);
        QCOMPARE(back.batches.begin()->first, std::uint64_t(42));
        QCOMPARE(back.batches.begin()->second.samples.front().load1, 0.0f); // sample 0 first
    }

    void heartbeatWhenIdle()
    {
        ScriptedServer server;
        server.config.sendIntervalMs = 60000; // nothing to send for a minute
        server.config.heartbeatIntervalMs = 200;
        QVERIFY(server.listen());
        Agent agent(settingsFor(server.url()), std::make_unique<testdata::FakeSampler>());
        QString error;
        QVERIFY(agent.start(&error));
        // The Welcome seals what waited for it (the start's first sample), then nothing is
        // due for a minute: only heartbeats keep the link alive.
        QTRY_COMPARE(server.batchMessages, 1);
        const int heartbeatsBefore = server.heartbeats;
        QTRY_VERIFY_WITH_TIMEOUT(server.heartbeats >= heartbeatsBefore + 3, 10000);
        QCOMPARE(server.batchMessages, 1);
        QCOMPARE(agent.link().state(), AgentLink::State::Ready);
    }

    void silentServerIsDeclaredDead()
    {
        ScriptedServer server;
        QVERIFY(server.listen());
        Agent agent(settingsFor(server.url()), std::make_unique<testdata::FakeSampler>());
        // Built-in defaults until a server speaks: make the liveness timeout short.
        agent.link().applyConfig(AgentConfig{0, 1000, 5000, 200, 50, 100, 60000, 1 << 20, 3600000});
        server.silent = true;
        QSignalSpy states(&agent.link(), &AgentLink::stateChanged);
        QString error;
        QVERIFY(agent.start(&error));
        // Connected, Hello sent, no answer: after 3 heartbeat intervals it reconnects.
        QTRY_VERIFY_WITH_TIMEOUT(agent.link().reconnectAttempts() >= 1, 10000);
        QVERIFY(server.hellos.isEmpty()); // silent mode records nothing
    }

    void givesUpAfterGiveUpPeriod()
    {
        ScriptedServer server;
        server.config.giveUpMs = 600;
        server.config.reconnectBaseMs = 50;
        server.config.reconnectMaxMs = 100;
        QVERIFY(server.listen());
        Agent agent(settingsFor(server.url()), std::make_unique<testdata::FakeSampler>());
        QSignalSpy finished(&agent, &Agent::finished);
        QString error;
        QVERIFY(agent.start(&error));
        QTRY_VERIFY(!server.applied.isEmpty());
        QElapsedTimer outage;
        outage.start();
        server.closeAll();
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().first().toInt(), AgentLink::exitGaveUp);
        QVERIFY(outage.elapsed() >= 600);
        QCOMPARE(agent.link().state(), AgentLink::State::Stopped);
    }

    void badSecretStopsWithExit4()
    {
        ScriptedServer server;
        server.rejectSecret = true;
        QVERIFY(server.listen());
        AgentSettings s = settingsFor(server.url());
        s.id = QStringLiteral("agent-1");
        s.secret = QStringLiteral("not-the-secret");
        Agent agent(s, std::make_unique<testdata::FakeSampler>());
        QSignalSpy finished(&agent, &Agent::finished);
        QString error;
        QVERIFY(agent.start(&error));
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.first().first().toInt(), AgentLink::exitRefused);
        // It did not hammer the server: one Hello, then stop.
        QVERIFY(!finished.wait(300));
        QCOMPARE(server.hellos.size(), 1);
    }

    void backoffGrowsAndIsCapped()
    {
        Spool spool(m_dir->filePath(QStringLiteral("s.db")));
        AgentLink link(spool);
        link.applyConfig(AgentConfig{0, 1000, 5000, 15000, 100, 1000, 60000, 1 << 20, 3600000});
        QCOMPARE(link.backoffDelayMs(0), 100);
        QCOMPARE(link.backoffDelayMs(1), 200);
        QCOMPARE(link.backoffDelayMs(3), 800);
        QCOMPARE(link.backoffDelayMs(4), 1000);
        QCOMPARE(link.backoffDelayMs(40), 1000);
    }

    void missingServerUrlIsAClearError()
    {
        AgentSettings s;
        s.path = m_dir->filePath(QStringLiteral("agent.json"));
        Agent agent(s, std::make_unique<testdata::FakeSampler>());
        QString error;
        QVERIFY(!agent.start(&error));
        QVERIFY2(error.contains(QStringLiteral("agent.json")) && error.contains(QStringLiteral("--server")),
                 qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestAgentLink)
#include "tst_agentlink.moc"
