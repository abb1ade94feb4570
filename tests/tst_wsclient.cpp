// SPDX-License-Identifier: MIT
// The agent's WebSocket client against Qt's own server (QWebSocketServer) on 127.0.0.1:0,
// over plain TCP and TLS, including the ways a server can misbehave.
#include "link/tlssession.h"
#include "link/wsclient.h"

#include <QElapsedTimer>
#include <QProcess>
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
                if (m_frameSize > 0)
                    s->setOutgoingFrameSize(quint64(m_frameSize));
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
    int m_frameSize = 0;
};

/** Opens @p client to @p url and waits for the outcome; true when connected. */
bool connectTo(WsClient &client, const QUrl &url)
{
    QSignalSpy connected(&client, &WsClient::connected);
    QSignalSpy disconnected(&client, &WsClient::disconnected);
    client.open(url);
    QElapsedTimer waited;
    waited.start();
    while (connected.isEmpty() && disconnected.isEmpty() && waited.elapsed() < 10000)
        QTest::qWait(5);
    return !connected.isEmpty();
}

/** Starts @p server, connects @p client to it; the server's side of the connection, or nullptr. */
QWebSocket *connectPeer(EchoServer &server, WsClient &client)
{
    if (!server.listen() || !connectTo(client, server.url()))
        return nullptr;
    QElapsedTimer waited;
    waited.start();
    while (server.m_sockets.isEmpty() && waited.elapsed() < 10000)
        QTest::qWait(5);
    return server.m_sockets.value(0);
}
} // namespace

class TestWsClient : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void exchangesMessagesOfEverySize()
    {
        EchoServer server;
        QVERIFY(server.listen());
        WsClient client;
        QVERIFY2(connectTo(client, server.url()), qPrintable(client.errorString()));
        QCOMPARE(client.state(), WsClient::State::Open);
        QSignalSpy received(&client, &WsClient::binaryMessageReceived);
        const QList<QByteArray> messages{QByteArray("x"), pattern(125), pattern(126), pattern(65535),
                                         pattern(65536), pattern(900 * 1024)};
        for (const QByteArray &m : messages)
            QVERIFY(client.sendBinary(m));
        QTRY_COMPARE_WITH_TIMEOUT(received.size(), messages.size(), 10000);
        for (int i = 0; i < messages.size(); ++i)
            QCOMPARE(received.at(i).at(0).toByteArray(), messages.at(i));
        QCOMPARE(client.bytesToWrite(), 0);
    }

    void joinsMessagesTheServerFragments()
    {
        EchoServer server;
        server.m_frameSize = 1000;
        QVERIFY(server.listen());
        WsClient client;
        QVERIFY(connectTo(client, server.url()));
        QSignalSpy received(&client, &WsClient::binaryMessageReceived);
        const QByteArray big = pattern(10 * 1000 + 7);
        QVERIFY(client.sendBinary(big));
        QTRY_COMPARE(received.size(), 1);
        QCOMPARE(received.at(0).at(0).toByteArray(), big);
    }

    void resolvesNamesAndTriesEveryAddress()
    {
        // "localhost" may resolve to ::1 first while the server listens on 127.0.0.1 only.
        EchoServer server;
        QVERIFY(server.listen());
        WsClient client;
        QVERIFY2(connectTo(client, server.url(QStringLiteral("localhost"))), qPrintable(client.errorString()));
        QSignalSpy received(&client, &WsClient::binaryMessageReceived);
        QVERIFY(client.sendBinary("ping"));
        QTRY_COMPARE(received.size(), 1);
    }

    void textMessagesAreReportedApart()
    {
        EchoServer server;
        WsClient client;
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy text(&client, &WsClient::textMessageReceived);
        QSignalSpy binary(&client, &WsClient::binaryMessageReceived);
        peer->sendTextMessage(QStringLiteral("héllo"));
        QTRY_COMPARE(text.size(), 1);
        QCOMPARE(QString::fromUtf8(text.at(0).at(0).toByteArray()), QStringLiteral("héllo"));
        QCOMPARE(binary.size(), 0);
    }

    void answersPingWithPong()
    {
        EchoServer server;
        WsClient client;
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy pong(peer, &QWebSocket::pong);
        peer->ping("are you there");
        QVERIFY(pong.wait(5000));
        QCOMPARE(pong.at(0).at(1).toByteArray(), QByteArray("are you there"));
    }

    void serverCloseCarriesCodeAndReason()
    {
        EchoServer server;
        WsClient client;
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        peer->close(QWebSocketProtocol::CloseCodePolicyViolated, QStringLiteral("go away"));
        QVERIFY(disconnected.wait(5000));
        QCOMPARE(client.closeCode(), std::uint16_t(1008));
        QCOMPARE(client.closeReason(), QStringLiteral("go away"));
        QCOMPARE(client.state(), WsClient::State::Unconnected);
        QCOMPARE(disconnected.size(), 1);
    }

    void clientCloseIsACleanHandshake()
    {
        EchoServer server;
        WsClient client;
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy peerGone(peer, &QWebSocket::disconnected);
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        QVERIFY(client.sendBinary("last words"));
        QElapsedTimer closing;
        closing.start();
        client.close(1000, QStringLiteral("agent stopping"));
        QCOMPARE(client.state(), WsClient::State::Closing);
        QVERIFY(disconnected.wait(5000));
        // Ended by the server's echo, not by the 2 s close timeout.
        QCOMPARE(client.closeCode(), std::uint16_t(1000));
        QVERIFY2(closing.elapsed() < 1500, qPrintable(QString::number(closing.elapsed())));
        QTRY_COMPARE(peerGone.size(), 1);
        QCOMPARE(peer->closeCode(), QWebSocketProtocol::CloseCodeNormal);
        QCOMPARE(peer->closeReason(), QStringLiteral("agent stopping"));
        QVERIFY2(client.errorString().isEmpty(), qPrintable(client.errorString()));
    }

    void slotsMayAbortReopenAndClose()
    {
        EchoServer server;
        QVERIFY(server.listen());
        WsClient client;
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        QSignalSpy connected(&client, &WsClient::connected);
        // From inside a message: abort and open again, before the rest of the read is parsed.
        int delivered = 0;
        connect(&client, &WsClient::binaryMessageReceived, &client, [&](const QByteArray &) {
            ++delivered;
            client.abort();
            client.open(server.url());
        });
        QVERIFY(connectTo(client, server.url()));
        QVERIFY(client.sendBinary("reopen"));
        QVERIFY(client.sendBinary("reopen")); // its echo arrives on the aborted connection
        QTRY_COMPARE(connected.size(), 2);
        // The second echo belonged to the aborted connection: never delivered.
        QCOMPARE(delivered, 1);
        QCOMPARE(client.state(), WsClient::State::Open);

        // From inside connected(): close at once; the close handshake still completes.
        WsClient closer;
        QSignalSpy closerGone(&closer, &WsClient::disconnected);
        connect(&closer, &WsClient::connected, &closer, [&closer] { closer.close(1000, QStringLiteral("changed my mind")); });
        closer.open(server.url());
        QVERIFY(closerGone.wait(5000));
        QVERIFY2(closer.errorString().isEmpty(), qPrintable(closer.errorString()));
        QCOMPARE(closer.closeCode(), std::uint16_t(1000));
        QCOMPARE(disconnected.size(), 0);
    }

    void abortDuringHandshakeIsSilent()
    {
        QTcpServer silent;
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        WsClient client;
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        QSignalSpy accepted(&silent, &QTcpServer::newConnection);
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(silent.serverPort())));
        QVERIFY(accepted.wait(5000));
        QTRY_COMPARE(client.state(), WsClient::State::Connecting);
        client.abort();
        QCOMPARE(client.state(), WsClient::State::Unconnected);
        // Proof that nothing was left queued: a full connection later, still no disconnected().
        EchoServer server;
        QVERIFY(server.listen());
        QVERIFY(connectTo(client, server.url()));
        QCOMPARE(disconnected.size(), 0);
    }

    void oversizedMessageFailsWith1009()
    {
        EchoServer server;
        WsClient client;
        client.setMaxMessageBytes(1000);
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy peerGone(peer, &QWebSocket::disconnected);
        QSignalSpy received(&client, &WsClient::binaryMessageReceived);
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        peer->sendBinaryMessage(pattern(1001));
        QVERIFY(disconnected.wait(5000));
        QCOMPARE(received.size(), 0);
        QVERIFY2(client.errorString().contains(QStringLiteral("over 1000 bytes")), qPrintable(client.errorString()));
        QTRY_COMPARE(peerGone.size(), 1);
        QCOMPARE(peer->closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
    }

    void peerVanishingIsAnError()
    {
        EchoServer server;
        WsClient client;
        QWebSocket *peer = connectPeer(server, client);
        QVERIFY(peer);
        QSignalSpy disconnected(&client, &WsClient::disconnected);
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
        WsClient client;
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        QSignalSpy connected(&client, &WsClient::connected);
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
        QTest::addRow("http") << QStringLiteral("http://127.0.0.1:1") << QStringLiteral("not a ws://");
        QTest::addRow("no-host") << QStringLiteral("ws://:8675") << QStringLiteral("no host");
        QTest::addRow("unknown-name") << QStringLiteral("ws://no-such-host.invalid:8675") << QStringLiteral("cannot resolve");
    }
    void badUrlsAreReportedNotCrashed()
    {
        QFETCH(QString, url);
        QFETCH(QString, error);
        WsClient client;
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        client.open(QUrl(url));
        // Generous: a failing name lookup on a machine without a reachable DNS server can take
        // the resolver's full retry time.
        QVERIFY(disconnected.wait(60000));
        QVERIFY2(client.errorString().contains(error), qPrintable(client.errorString()));
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
        WsClient client;
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(http.serverPort())));
        QVERIFY(disconnected.wait(5000));
        QVERIFY2(client.errorString().contains(QStringLiteral("400 Bad Request")), qPrintable(client.errorString()));
    }

    void silentServerTimesOut()
    {
        QTcpServer silent; // accepts, never answers the upgrade request
        QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
        WsClient client;
        client.setConnectTimeoutMs(300);
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(silent.serverPort())));
        QVERIFY(disconnected.wait(5000));
        QVERIFY2(client.errorString().contains(QStringLiteral("timed out")), qPrintable(client.errorString()));
    }

    void abortIsSilentAndReopenWorks()
    {
        EchoServer server;
        QVERIFY(server.listen());
        WsClient client;
        QSignalSpy disconnected(&client, &WsClient::disconnected);
        QVERIFY(connectTo(client, server.url()));
        client.abort();
        QCOMPARE(client.state(), WsClient::State::Unconnected);
        // Abort in the middle of connecting, then connect for real: the event loop has run
        // through both aborted connections by the time the third is open.
        client.open(server.url());
        client.abort();
        QVERIFY(connectTo(client, server.url()));
        QSignalSpy received(&client, &WsClient::binaryMessageReceived);
        QVERIFY(client.sendBinary("again"));
        QTRY_COMPARE(received.size(), 1);
        QCOMPARE(disconnected.size(), 0);
    }

    void tlsVerifiesTheServer()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("openssl is not installed");
        QString why;
        if (!TlsSession::available(&why))
            QSKIP(qPrintable(why));
        QTemporaryDir dir;
        const QString cert = dir.filePath(QStringLiteral("cert.pem"));
        const QString key = dir.filePath(QStringLiteral("key.pem"));
        QProcess openssl;
        openssl.start(QStringLiteral("openssl"),
                      {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
                       QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
                       QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
                       QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1"), QStringLiteral("-keyout"), key,
                       QStringLiteral("-out"), cert});
        QVERIFY(openssl.waitForFinished(60000));
        QCOMPARE(openssl.exitCode(), 0);
        QFile certFile(cert), keyFile(key);
        QVERIFY(certFile.open(QIODevice::ReadOnly) && keyFile.open(QIODevice::ReadOnly));
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setLocalCertificateChain(QSslCertificate::fromData(certFile.readAll()));
        tls.setPrivateKey(QSslKey(keyFile.readAll(), QSsl::Ec));
        tls.setPeerVerifyMode(QSslSocket::VerifyNone);
        EchoServer server(QWebSocketServer::SecureMode);
        server.m_server.setSslConfiguration(tls);
        QVERIFY(server.listen());

        // Trusted through the "ca" file: messages flow, large ones too.
        {
            WsClient client;
            client.setCaFile(cert);
            QVERIFY2(connectTo(client, server.url()), qPrintable(client.errorString()));
            QSignalSpy received(&client, &WsClient::binaryMessageReceived);
            const QByteArray big = pattern(700 * 1024);
            QVERIFY(client.sendBinary(big));
            QVERIFY(client.sendBinary("small"));
            QTRY_COMPARE_WITH_TIMEOUT(received.size(), 2, 10000);
            QCOMPARE(received.at(0).at(0).toByteArray(), big);
            QSignalSpy disconnected(&client, &WsClient::disconnected);
            client.close();
            QVERIFY(disconnected.wait(5000));
            QVERIFY2(client.errorString().isEmpty(), qPrintable(client.errorString()));
        }
        // Self-signed and not trusted: refused.
        {
            WsClient client;
            QVERIFY(!connectTo(client, server.url()));
            QVERIFY2(client.errorString().contains(QStringLiteral("certificate")), qPrintable(client.errorString()));
        }
        // Trusted, but issued for another name than the one dialled: refused.
        {
            WsClient client;
            client.setCaFile(cert);
            QVERIFY(!connectTo(client, server.url(QStringLiteral("localhost"))));
            QVERIFY2(client.errorString().contains(QStringLiteral("certificate")), qPrintable(client.errorString()));
        }
    }
};

QTEST_GUILESS_MAIN(TestWsClient)
#include "tst_wsclient.moc"
