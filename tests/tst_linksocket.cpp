// SPDX-License-Identifier: MIT
// The agent's WebSocket (LinkSocket: QWebSocket set up the agent's way) against Qt's own
// server on 127.0.0.1:0, over TCP, TLS and an HTTP CONNECT proxy, including the ways a server
// can misbehave.
#include "link/linksocket.h"

#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QWebSocket>
#include <QWebSocketServer>

#include <memory>
#include <optional>

using namespace autofact::agent;

namespace {
QByteArray pattern(qsizetype n)
{
    QByteArray b(n, Qt::Uninitialized);
    for (qsizetype i = 0; i < n; ++i)
        b[i] = char(i * 13 + 5);
    return b;
}

/** Echoes binary messages back; keeps its sockets so tests can act on the server side. */
class EchoServer : public QObject
{
public:
    explicit EchoServer(QWebSocketServer::SslMode mode = QWebSocketServer::NonSecureMode)
        : m_server(QStringLiteral("test"), mode)
    {
        connect(&m_server, &QWebSocketServer::newConnection, this, [this] {
            while (QWebSocket *s = m_server.nextPendingConnection()) {
                s->setParent(this);
                m_sockets.append(s);
                connect(s, &QWebSocket::binaryMessageReceived, s, [s](const QByteArray &m) { s->sendBinaryMessage(m); });
            }
        });
    }
    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    QUrl url(const QString &host = QStringLiteral("127.0.0.1")) const
    {
        QUrl u;
        u.setScheme(m_server.secureMode() == QWebSocketServer::SecureMode ? QStringLiteral("wss") : QStringLiteral("ws"));
        u.setHost(host);
        u.setPort(m_server.serverPort());
        return u;
    }

    QWebSocketServer m_server;
    QList<QWebSocket *> m_sockets;
};

/**
 * A small HTTP CONNECT proxy: reads the request head, dials the target, answers 200 and then
 * copies bytes both ways. Records every target it was asked for.
 */
class ConnectProxy : public QObject
{
public:
    ConnectProxy()
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *client = m_server.nextPendingConnection())
                serve(client);
        });
    }
    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    QString url() const { return QStringLiteral("http://127.0.0.1:%1").arg(m_server.serverPort()); }

    QStringList m_targets;

private:
    void serve(QTcpSocket *client)
    {
        client->setParent(this);
        // Owned by the connection below: freed with it when the client socket goes.
        auto head = std::make_shared<QByteArray>();
        connect(client, &QTcpSocket::readyRead, this, [this, client, head] {
            if (head->isNull() && client->property("piped").toBool())
                return;
            head->append(client->readAll());
            const qsizetype end = head->indexOf("\r\n\r\n");
            if (end < 0)
                return;
            const QList<QByteArray> request = head->left(head->indexOf("\r\n")).split(' ');
            if (request.size() != 3 || request.at(0) != "CONNECT") {
                client->write("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
                client->disconnectFromHost();
                return;
            }
            const QByteArray target = request.at(1);
            m_targets.append(QString::fromLatin1(target));
            const QByteArray rest = head->mid(end + 4);
            *head = QByteArray();
            client->setProperty("piped", true);
            auto *upstream = new QTcpSocket(client);
            const qsizetype colon = target.lastIndexOf(':');
            connect(upstream, &QTcpSocket::connected, client, [client, upstream, rest] {
                client->write("HTTP/1.1 200 Connection established\r\n\r\n");
                if (!rest.isEmpty())
                    upstream->write(rest);
                connect(client, &QTcpSocket::readyRead, upstream, [client, upstream] { upstream->write(client->readAll()); });
                connect(upstream, &QTcpSocket::readyRead, client, [client, upstream] { client->write(upstream->readAll()); });
                connect(upstream, &QTcpSocket::disconnected, client, &QTcpSocket::disconnectFromHost);
                connect(client, &QTcpSocket::disconnected, upstream, &QTcpSocket::disconnectFromHost);
            });
            upstream->connectToHost(QString::fromLatin1(target.left(colon)), target.mid(colon + 1).toUShort());
        });
    }

    QTcpServer m_server;
};

/** Opens @p client to @p url and waits for the outcome; true when connected. */
bool connectTo(LinkSocket &client, const QUrl &url)
{
    QSignalSpy connected(&client, &LinkSocket::connected);
    QSignalSpy disconnected(&client, &LinkSocket::disconnected);
    client.open(url);
    [[maybe_unused]] const bool settled =
        QTest::qWaitFor([&] { return !connected.isEmpty() || !disconnected.isEmpty(); }, 20000);
    return !connected.isEmpty();
}

/** Starts @p server, connects @p client to it; the server's side of the connection, or nullptr. */
QWebSocket *connectPeer(EchoServer &server, LinkSocket &client)
{
    if (!server.listen() || !connectTo(client, server.url()))
        return nullptr;
    [[maybe_unused]] const bool accepted = QTest::qWaitFor([&] { return !server.m_sockets.isEmpty(); }, 10000);
    return server.m_sockets.value(0);
}

/** Restores an environment variable when it goes out of scope. */
class EnvGuard
{
public:
    EnvGuard(const char *name, const QByteArray &value)
        : m_name(name)
    {
        if (qEnvironmentVariableIsSet(name))
            m_old = qgetenv(name);
        qputenv(name, value);
    }
    ~EnvGuard()
    {
        if (m_old)
            qputenv(m_name, *m_old);
        else
            qunsetenv(m_name);
    }

private:
    const char *m_name;
    std::optional<QByteArray> m_old;
};

/** A self-signed EC certificate for 127.0.0.1 (IP SAN) and its key, made by openssl(1). */
struct TestCertificate {
    QString certPath;
    QString keyPath;
    QSslConfiguration serverConfig;
};
std::optional<TestCertificate> makeCertificate(const QTemporaryDir &dir, const QString &name)
{
    TestCertificate t;
    t.certPath = dir.filePath(name + QStringLiteral(".pem"));
    t.keyPath = dir.filePath(name + QStringLiteral(".key"));
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
                  {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
                   QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
                   QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
                   QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1"), QStringLiteral("-keyout"),
                   t.keyPath, QStringLiteral("-out"), t.certPath});
    if (!openssl.waitForFinished(60000) || openssl.exitCode() != 0)
        return std::nullopt;
    QFile certFile(t.certPath), keyFile(t.keyPath);
    if (!certFile.open(QIODevice::ReadOnly) || !keyFile.open(QIODevice::ReadOnly))
        return std::nullopt;
    t.serverConfig = QSslConfiguration::defaultConfiguration();
    t.serverConfig.setLocalCertificateChain(QSslCertificate::fromData(certFile.readAll()));
    t.serverConfig.setPrivateKey(QSslKey(keyFile.readAll(), QSsl::Ec));
    t.serverConfig.setPeerVerifyMode(QSslSocket::VerifyNone);
    return t;
}
} // namespace

class TestLinkSocket : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void exchangesMessagesUpToTheCap()
    {
        EchoServer server;
        QVERIFY(server.listen());
        LinkSocket client;
        QVERIFY2(connectTo(client, server.url()), qPrintable(client.errorString()));
        QCOMPARE(client.state(), LinkSocket::State::Open);
        QSignalSpy received(&client, &LinkSocket::binaryMessageReceived);
        const QList<QByteArray> messages{QByteArray("x"), pattern(125), pattern(65536), pattern(1024 * 1024)};
        for (const QByteArray &m : messages)
            QVERIFY(client.sendBinary(m));
        QTRY_COMPARE_WITH_TIMEOUT(received.size(), messages.size(), 10000);
        for (int i = 0; i < messages.size(); ++i)
            QCOMPARE(received.at(i).at(0).toByteArray(), messages.at(i));
        QTRY_COMPARE(client.bytesToWrite(), 0);
    }

    void resolvesNames()
    {
        // "localhost" may resolve to ::1 first while the server listens on 127.0.0.1 only.
        EchoServer server;
        QVERIFY(server.listen());
        LinkSocket client;
        QVERIFY2(connectTo(client, server.url(QStringLiteral("localhost"))), qPrintable(client.errorString()));
        QVERIFY(!client.mayHoldNameLookup()); // the lookup is over once connected
        QSignalSpy received(&client, &LinkSocket::binaryMessageReceived);
        QVERIFY(client.sendBinary("ping"));
        QTRY_COMPARE(received.size(), 1);
    }

    void textMessagesAreReportedApart()
    {
        EchoServer server;
        LinkSocket client;
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy text(&client, &LinkSocket::textMessageReceived);
        QSignalSpy binary(&client, &LinkSocket::binaryMessageReceived);
        peer->sendTextMessage(QStringLiteral("héllo"));
        QTRY_COMPARE(text.size(), 1);
        QCOMPARE(text.at(0).at(0).toString(), QStringLiteral("héllo"));
        QCOMPARE(binary.size(), 0);
    }

    void serverCloseCarriesCodeAndReason()
    {
        EchoServer server;
        LinkSocket client;
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        peer->close(QWebSocketProtocol::CloseCodePolicyViolated, QStringLiteral("go away"));
        QVERIFY(disconnected.wait(5000));
        QCOMPARE(client.closeCode(), 1008);
        QCOMPARE(client.closeReason(), QStringLiteral("go away"));
        QVERIFY2(client.errorString().contains(QStringLiteral("1008")), qPrintable(client.errorString()));
        QCOMPARE(client.state(), LinkSocket::State::Unconnected);
        QVERIFY(!disconnected.wait(100)); // once
    }

    void clientCloseIsClean()
    {
        EchoServer server;
        LinkSocket client;
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy peerGone(peer, &QWebSocket::disconnected);
        QSignalSpy peerGot(peer, &QWebSocket::binaryMessageReceived);
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        QVERIFY(client.sendBinary("last words"));
        client.close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("agent stopping"));
        QVERIFY(client.state() != LinkSocket::State::Open);
        QVERIFY(!client.sendBinary("too late"));
        QVERIFY(disconnected.wait(5000));
        QTRY_COMPARE(peerGone.size(), 1);
        // What was queued before close() went out first.
        QCOMPARE(peerGot.size(), 1);
        QCOMPARE(peer->closeCode(), QWebSocketProtocol::CloseCodeNormal);
        QCOMPARE(peer->closeReason(), QStringLiteral("agent stopping"));
        QVERIFY2(client.errorString().isEmpty(), qPrintable(client.errorString()));
    }

    void slotsMayAbortReopenAndClose()
    {
        EchoServer server;
        QVERIFY(server.listen());
        LinkSocket client;
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        QSignalSpy connected(&client, &LinkSocket::connected);
        // From inside a message: abort and open again, before the rest of the read is parsed.
        int delivered = 0;
        connect(&client, &LinkSocket::binaryMessageReceived, &client, [&](const QByteArray &) {
            ++delivered;
            client.abort();
            client.open(server.url());
        });
        QVERIFY(connectTo(client, server.url()));
        QVERIFY(client.sendBinary("reopen"));
        QVERIFY(client.sendBinary("reopen")); // its echo arrives on the aborted connection
        QTRY_COMPARE(connected.size(), 2);
        QTRY_COMPARE(client.state(), LinkSocket::State::Open);
        // The second echo belonged to the aborted connection: never delivered.
        QCOMPARE(delivered, 1);

        // From inside connected(): close at once; the close still completes cleanly.
        LinkSocket closer;
        QSignalSpy closerGone(&closer, &LinkSocket::disconnected);
        connect(&closer, &LinkSocket::connected, &closer, [&closer] {
            closer.close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("changed my mind"));
        });
        closer.open(server.url());
        QVERIFY(closerGone.wait(5000));
        QVERIFY2(closer.errorString().isEmpty(), qPrintable(closer.errorString()));
        QCOMPARE(disconnected.size(), 0);
    }

    void abortDuringHandshakeIsSilent()
    {
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        LinkSocket client;
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        QSignalSpy accepted(&silent, &QTcpServer::newConnection);
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(silent.serverPort())));
        QVERIFY(accepted.wait(5000));
        QCOMPARE(client.state(), LinkSocket::State::Connecting);
        client.abort();
        QCOMPARE(client.state(), LinkSocket::State::Unconnected);
        // Proof that nothing was left queued: a full connection later, still no disconnected().
        EchoServer server;
        QVERIFY(server.listen());
        QVERIFY(connectTo(client, server.url()));
        QCOMPARE(disconnected.size(), 0);
    }

    void oversizedMessageFailsWith1009()
    {
        EchoServer server;
        LinkSocket client;
        client.setMaxMessageBytes(1000);
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy peerGone(peer, &QWebSocket::disconnected);
        QSignalSpy received(&client, &LinkSocket::binaryMessageReceived);
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        peer->sendBinaryMessage(pattern(1000)); // at the cap: fine
        QTRY_COMPARE(received.size(), 1);
        peer->sendBinaryMessage(pattern(1001));
        QVERIFY(disconnected.wait(5000));
        QCOMPARE(received.size(), 1);
        QVERIFY2(client.errorString().contains(QStringLiteral("1009")), qPrintable(client.errorString()));
        QTRY_COMPARE(peerGone.size(), 1);
        QCOMPARE(peer->closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
    }

    void peerVanishingIsAnError()
    {
        EchoServer server;
        LinkSocket client;
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        peer->abort();
        QVERIFY(disconnected.wait(5000));
        QVERIFY2(client.errorString().contains(QStringLiteral("without a close frame")), qPrintable(client.errorString()));
        QVERIFY(!client.sendBinary("nobody listens"));
    }

    void refusedConnectionIsReported()
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        const quint16 port = probe.serverPort();
        probe.close(); // nothing listens there now
        LinkSocket client;
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        QSignalSpy connected(&client, &LinkSocket::connected);
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(port)));
        QCOMPARE(disconnected.size(), 0); // never from inside open()
        QVERIFY(disconnected.wait(5000));
        QCOMPARE(connected.size(), 0);
        QVERIFY2(client.errorString().contains(QStringLiteral("refused")), qPrintable(client.errorString()));
    }

    void badUrlsAreReportedNotCrashed_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<QString>("error");
        QTest::addRow("http") << QStringLiteral("http://127.0.0.1:1") << QStringLiteral("Unsupported WebSocket scheme");
        QTest::addRow("unknown-name") << QStringLiteral("ws://no-such-host.invalid:8675") << QStringLiteral("not found");
    }
    void badUrlsAreReportedNotCrashed()
    {
        QFETCH(QString, url);
        QFETCH(QString, error);
        LinkSocket client;
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        client.open(QUrl(url));
        QCOMPARE(disconnected.size(), 0);
        // Generous: a failing name lookup on a machine without a reachable DNS server can take
        // the resolver's full retry time.
        QVERIFY(disconnected.wait(60000));
        QVERIFY2(client.errorString().contains(error, Qt::CaseInsensitive), qPrintable(client.errorString()));
    }

    void nonWebSocketServerIsRefused()
    {
        QTcpServer http;
        QVERIFY(http.listen(QHostAddress::LocalHost, 0));
        connect(&http, &QTcpServer::newConnection, &http, [&http] {
            QTcpSocket *s = http.nextPendingConnection();
            connect(s, &QTcpSocket::readyRead, s, [s] {
                s->readAll();
                s->write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            });
        });
        LinkSocket client;
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(http.serverPort())));
        QVERIFY(disconnected.wait(5000));
        // Qt names the handshake, not the status line it refused.
        QVERIFY2(client.errorString().contains(QStringLiteral("Handshake"), Qt::CaseInsensitive), qPrintable(client.errorString()));
    }

    void silentServerTimesOut()
    {
        QTcpServer silent; // accepts, never answers the upgrade request
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        LinkSocket client;
        client.setConnectTimeoutMs(300);
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(silent.serverPort())));
        QVERIFY(disconnected.wait(5000));
        QVERIFY2(client.errorString().contains(QStringLiteral("timed out")), qPrintable(client.errorString()));
    }

    void abortIsSilentAndReopenWorks()
    {
        EchoServer server;
        QVERIFY(server.listen());
        LinkSocket client;
        QSignalSpy disconnected(&client, &LinkSocket::disconnected);
        QVERIFY(connectTo(client, server.url()));
        client.abort();
        QCOMPARE(client.state(), LinkSocket::State::Unconnected);
        // Abort in the middle of connecting, then connect for real: the event loop has run
        // through both aborted connections by the time the third is open.
        client.open(server.url());
        client.abort();
        QVERIFY(connectTo(client, server.url()));
        QSignalSpy received(&client, &LinkSocket::binaryMessageReceived);
        QVERIFY(client.sendBinary("again"));
        QTRY_COMPARE(received.size(), 1);
        QCOMPARE(disconnected.size(), 0);
    }

    void caFileMustHoldCertificates()
    {
        QTemporaryDir dir;
        LinkSocket client;
        QString error;
        QVERIFY(!client.setCaFile(dir.filePath(QStringLiteral("missing.pem")), &error));
        QVERIFY2(error.contains(QStringLiteral("missing.pem")), qPrintable(error));
        QFile junk(dir.filePath(QStringLiteral("junk.pem")));
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write("not a certificate\n");
        junk.close();
        QVERIFY(!client.setCaFile(junk.fileName(), &error));
        QVERIFY2(error.contains(QStringLiteral("no PEM certificate")), qPrintable(error));
        QVERIFY(client.setCaFile(QString(), &error)); // the platform's store
    }

    void tlsVerifiesTheServer()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("openssl is not installed");
        QTemporaryDir dir;
        const std::optional<TestCertificate> cert = makeCertificate(dir, QStringLiteral("server"));
        QVERIFY(cert);
        const std::optional<TestCertificate> other = makeCertificate(dir, QStringLiteral("other"));
        QVERIFY(other);
        EchoServer server(QWebSocketServer::SecureMode);
        server.m_server.setSslConfiguration(cert->serverConfig);
        QVERIFY(server.listen());
        QString error;

        // Trusted through the "ca" file: messages flow, large ones too.
        {
            LinkSocket client;
            QVERIFY2(client.setCaFile(cert->certPath, &error), qPrintable(error));
            QVERIFY2(connectTo(client, server.url()), qPrintable(client.errorString()));
            QSignalSpy received(&client, &LinkSocket::binaryMessageReceived);
            const QByteArray big = pattern(700 * 1024);
            QVERIFY(client.sendBinary(big));
            QVERIFY(client.sendBinary("small"));
            QTRY_COMPARE_WITH_TIMEOUT(received.size(), 2, 10000);
            QCOMPARE(received.at(0).at(0).toByteArray(), big);
            QSignalSpy disconnected(&client, &LinkSocket::disconnected);
            client.close(QWebSocketProtocol::CloseCodeNormal, QString());
            QVERIFY(disconnected.wait(5000));
            QVERIFY2(client.errorString().isEmpty(), qPrintable(client.errorString()));
        }
        // Self-signed and trusted by nothing: the platform's store refuses it.
        {
            LinkSocket client;
            QVERIFY(!connectTo(client, server.url()));
            QVERIFY2(client.errorString().contains(QStringLiteral("certificate")), qPrintable(client.errorString()));
        }
        // Now let the platform's store trust the server (Qt's default configuration is where
        // LinkSocket takes it from). Without "ca", accepted; with a "ca" file naming another
        // certificate, refused: the file replaces the store rather than adding to it.
        {
            const QSslConfiguration platform = QSslConfiguration::defaultConfiguration();
            QSslConfiguration trusting = platform;
            trusting.addCaCertificates(cert->certPath);
            QSslConfiguration::setDefaultConfiguration(trusting);
            LinkSocket plain;
            const bool acceptedByStore = connectTo(plain, server.url());
            LinkSocket pinned;
            QVERIFY(pinned.setCaFile(other->certPath, &error));
            const bool acceptedWithOtherCa = connectTo(pinned, server.url());
            const QString pinnedError = pinned.errorString();
            QSslConfiguration::setDefaultConfiguration(platform);
            QVERIFY2(acceptedByStore, qPrintable(plain.errorString()));
            QVERIFY(!acceptedWithOtherCa);
            QVERIFY2(pinnedError.contains(QStringLiteral("certificate")), qPrintable(pinnedError));
        }
        // Trusted, but issued for another name than the one dialled: refused.
        {
            LinkSocket client;
            QVERIFY(client.setCaFile(cert->certPath, &error));
            QVERIFY(!connectTo(client, server.url(QStringLiteral("localhost"))));
            QVERIFY2(client.errorString().contains(QStringLiteral("name")), qPrintable(client.errorString()));
        }
    }

    void pinnedFingerprintDecidesAndNothingIsSentToAnotherServer()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("openssl is not installed");
        QTemporaryDir dir;
        const std::optional<TestCertificate> cert = makeCertificate(dir, QStringLiteral("server"));
        const std::optional<TestCertificate> other = makeCertificate(dir, QStringLiteral("other"));
        QVERIFY(cert && other);
        EchoServer server(QWebSocketServer::SecureMode);
        server.m_server.setSslConfiguration(cert->serverConfig);
        QVERIFY(server.listen());
        int messagesAtServer = 0;
        connect(&server.m_server, &QWebSocketServer::newConnection, this, [&] {
            for (QWebSocket *s : std::as_const(server.m_sockets))
                connect(s, &QWebSocket::binaryMessageReceived, this, [&] { ++messagesAtServer; }, Qt::UniqueConnection);
        });
        const QString serverPin = LinkSocket::fingerprintOf(cert->serverConfig.localCertificate());
        const QString otherPin = LinkSocket::fingerprintOf(QSslCertificate::fromPath(other->certPath).value(0));
        QVERIFY(serverPin.startsWith(QStringLiteral("sha256:")) && serverPin.size() == 7 + 64);

        // Pinned to this very certificate: self-signed, trusted by nothing, dialled by another
        // name than it carries — accepted, because the pin is what decides.
        {
            LinkSocket client;
            client.setPinnedFingerprint(serverPin);
            QVERIFY2(connectTo(client, server.url(QStringLiteral("localhost"))), qPrintable(client.errorString()));
            QSignalSpy received(&client, &LinkSocket::binaryMessageReceived);
            QVERIFY(client.sendBinary("hello"));
            QVERIFY(received.wait(5000));
        }
        // Pinned to another certificate: refused with a warning naming both fingerprints, and
        // connected() never comes, so the caller has no moment to send its secret.
        {
            LinkSocket client;
            client.setPinnedFingerprint(otherPin);
            bool connectedSeen = false;
            connect(&client, &LinkSocket::connected, this, [&] {
                connectedSeen = true;
                client.sendBinary("secret");
            });
            QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("does not match the pinned")));
            const int before = messagesAtServer;
            QVERIFY(!connectTo(client, server.url()));
            QVERIFY(!connectedSeen);
            QVERIFY2(client.errorString().contains(serverPin) && client.errorString().contains(otherPin),
                     qPrintable(client.errorString()));
            QCOMPARE(messagesAtServer, before);
        }
        // A certificate the trust store accepts is still refused when it is not the pinned one.
        {
            LinkSocket client;
            QString error;
            QVERIFY(client.setCaFile(cert->certPath, &error));
            client.setPinnedFingerprint(otherPin);
            QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("does not match the pinned")));
            QVERIFY(!connectTo(client, server.url()));
            QVERIFY(client.errorString().contains(QStringLiteral("does not match the pinned")));
        }
    }

    void tlsRefusalIsLoggedOncePerReason()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("openssl is not installed");
        QTemporaryDir dir;
        const std::optional<TestCertificate> cert = makeCertificate(dir, QStringLiteral("server"));
        QVERIFY(cert);
        EchoServer server(QWebSocketServer::SecureMode);
        server.m_server.setSslConfiguration(cert->serverConfig);
        QVERIFY(server.listen());
        LinkSocket client;
        // The first refusal is a warning that says why...
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("certificate is not trusted.*self-signed")));
        QVERIFY(!connectTo(client, server.url()));
        // ...a retry for the same reason is not another warning...
        QTest::failOnWarning(QRegularExpression(QStringLiteral("certificate is not trusted")));
        QVERIFY(!connectTo(client, server.url()));
        QVERIFY2(client.errorString().contains(QStringLiteral("self-signed")), qPrintable(client.errorString()));
        // ...but a new reason is.
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("certificate is not trusted.*host name")));
        QString error;
        QVERIFY(client.setCaFile(cert->certPath, &error));
        QVERIFY(!connectTo(client, server.url(QStringLiteral("localhost"))));
    }

    void proxies_data()
    {
        QTest::addColumn<QString>("setting");
        QTest::addColumn<QByteArray>("environment"); ///< http_proxy and https_proxy
        QTest::addColumn<bool>("tls");
        QTest::addColumn<bool>("throughProxy");
        QTest::addRow("config names the proxy") << QStringLiteral("PROXY") << QByteArray() << false << true;
        QTest::addRow("config names the proxy, wss") << QStringLiteral("PROXY") << QByteArray() << true << true;
        QTest::addRow("system: the environment's proxy") << QStringLiteral("system") << QByteArray("PROXY") << false << true;
        QTest::addRow("system: https_proxy for wss") << QStringLiteral("system") << QByteArray("PROXY") << true << true;
        QTest::addRow("system without a proxy") << QStringLiteral("system") << QByteArray() << false << false;
        QTest::addRow("none beats the environment") << QStringLiteral("none") << QByteArray("PROXY") << false << false;
    }
    void proxies()
    {
        QFETCH(QString, setting);
        QFETCH(QByteArray, environment);
        QFETCH(bool, tls);
        QFETCH(bool, throughProxy);
        if (tls && QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("openssl is not installed");
        ConnectProxy proxy;
        QVERIFY(proxy.listen());
        const QByteArray proxyUrl = proxy.url().toLatin1();
        EnvGuard noProxy("no_proxy", QByteArray());
        EnvGuard noProxyUpper("NO_PROXY", QByteArray());
        EnvGuard http("http_proxy", environment == "PROXY" ? proxyUrl : QByteArray());
        EnvGuard https("https_proxy", environment == "PROXY" ? proxyUrl : QByteArray());
        EnvGuard all("all_proxy", QByteArray());

        QTemporaryDir dir;
        std::optional<TestCertificate> cert;
        EchoServer server(tls ? QWebSocketServer::SecureMode : QWebSocketServer::NonSecureMode);
        LinkSocket client;
        QString error;
        if (tls) {
            cert = makeCertificate(dir, QStringLiteral("server"));
            QVERIFY(cert);
            server.m_server.setSslConfiguration(cert->serverConfig);
            QVERIFY(client.setCaFile(cert->certPath, &error));
        }
        const std::optional<ProxySetting> parsed =
            ProxySetting::parse(setting == u"PROXY" ? proxy.url() : setting, &error);
        QVERIFY2(parsed, qPrintable(error));
        client.setProxy(*parsed);
        QVERIFY(server.listen());
        QVERIFY2(connectTo(client, server.url()), qPrintable(client.errorString()));
        QSignalSpy received(&client, &LinkSocket::binaryMessageReceived);
        QVERIFY(client.sendBinary("through?"));
        QTRY_COMPARE(received.size(), 1);
        const QString target = QStringLiteral("127.0.0.1:%1").arg(server.m_server.serverPort());
        if (throughProxy) {
            QCOMPARE(proxy.m_targets, QStringList{target});
            QCOMPARE(ProxySetting::describe(client.proxyInUse()), proxy.url());
        } else {
            QVERIFY(proxy.m_targets.isEmpty());
            QCOMPARE(ProxySetting::describe(client.proxyInUse()), QStringLiteral("direct"));
        }
    }

    void proxySettingsAreChecked_data()
    {
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("error"); ///< empty: valid
        QTest::addColumn<QString>("written");
        QTest::addRow("absent") << QString() << QString() << QStringLiteral("system");
        QTest::addRow("system") << QStringLiteral("system") << QString() << QStringLiteral("system");
        QTest::addRow("none") << QStringLiteral("none") << QString() << QStringLiteral("none");
        QTest::addRow("http") << QStringLiteral("http://proxy.example:3128") << QString() << QStringLiteral("http://proxy.example:3128");
        QTest::addRow("socks5") << QStringLiteral("socks5://10.0.0.1:1080") << QString() << QStringLiteral("socks5://10.0.0.1:1080");
        QTest::addRow("no port") << QStringLiteral("http://proxy.example") << QStringLiteral("needs a host and a port") << QString();
        QTest::addRow("https proxy") << QStringLiteral("https://proxy.example:443") << QStringLiteral("must be") << QString();
        QTest::addRow("word") << QStringLiteral("auto") << QStringLiteral("must be") << QString();
        QTest::addRow("path") << QStringLiteral("http://proxy.example:3128/x") << QStringLiteral("path") << QString();
        QTest::addRow("password kept out of errors") << QStringLiteral("ftp://me:hunter2@proxy.example:21") << QStringLiteral("must be") << QString();
        QTest::addRow("password without a scheme") << QStringLiteral("me:hunter2@proxy.example:3128") << QStringLiteral("must be") << QString();
    }
    void proxySettingsAreChecked()
    {
        QFETCH(QString, value);
        QFETCH(QString, error);
        QFETCH(QString, written);
        QString why;
        const std::optional<ProxySetting> parsed = ProxySetting::parse(value, &why);
        if (error.isEmpty()) {
            QVERIFY2(parsed, qPrintable(why));
            QCOMPARE(parsed->toString(), written);
        } else {
            QVERIFY(!parsed);
            QVERIFY2(why.contains(error), qPrintable(why));
            QVERIFY2(!why.contains(QStringLiteral("hunter2")), qPrintable(why));
        }
    }
};

QTEST_GUILESS_MAIN(TestLinkSocket)
#include "tst_linksocket.moc"
