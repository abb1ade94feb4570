// SPDX-License-Identifier: MIT
// autofactory's command line is a contract: flags, messages, exit codes, the "listening on" line.
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

namespace {
const QString binary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-server/autofactory");

struct Run {
    int code = -1;
    QString out;
    QString err;
};

Run run(const QStringList &args)
{
    QProcess p;
    p.start(binary, args);
    Run r;
    if (!p.waitForFinished(20000)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}
} // namespace

class TestServerCli : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

private slots:
    void initTestCase()
    {
        if (!QFile::exists(binary))
            QSKIP("autofactory not built");
    }

    void helpNamesEveryFlag()
    {
        const Run r = run({QStringLiteral("--help")});
        QCOMPARE(r.code, 0);
        for (const char *flag : {"--listen", "--db", "--headless", "--tls-cert", "--tls-key",
                                 "--sample-interval", "--send-interval", "--heartbeat-interval",
                                 "clients", "export"})
            QVERIFY2(r.out.contains(QLatin1StringView(flag)), flag);
        const Run e = run({QStringLiteral("export"), QStringLiteral("--help")});
        QCOMPARE(e.code, 0);
        for (const char *flag : {"--db", "--client", "--from", "--to", "--out"})
            QVERIFY2(e.out.contains(QLatin1StringView(flag)), flag);
        const Run c = run({QStringLiteral("clients"), QStringLiteral("--help")});
        QVERIFY(c.out.contains(QStringLiteral("--json")));
    }

    void needsNoDisplayForHelpAndSaysSoOtherwise()
    {
        // Regression: --help created the QApplication first and aborted without a display.
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("QT_QPA_PLATFORM"));
        env.remove(QStringLiteral("DISPLAY"));
        env.remove(QStringLiteral("WAYLAND_DISPLAY"));
        p.setProcessEnvironment(env);
        p.start(binary, {QStringLiteral("--help")});
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(p.readAllStandardOutput().contains("--headless"));
        p.start(binary, {QStringLiteral("--db"), m_dir.filePath(QStringLiteral("nodisplay.db"))});
        QVERIFY(p.waitForFinished(20000));
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError()).trimmed();
        QVERIFY2(err.contains(QStringLiteral("--headless")) && !err.contains(u'\n'), qPrintable(err));
    }

    void badArguments_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("mentions");
        const QString db = m_dir.filePath(QStringLiteral("never-created.db"));
        QTest::addRow("listen") << QStringList{QStringLiteral("--headless"), QStringLiteral("--listen"), QStringLiteral("nonsense"), QStringLiteral("--db"), db}
                                << QStringLiteral("--listen");
        QTest::addRow("port") << QStringList{QStringLiteral("--headless"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:70000"), QStringLiteral("--db"), db}
                              << QStringLiteral("--listen");
        QTest::addRow("interval") << QStringList{QStringLiteral("--headless"), QStringLiteral("--sample-interval"), QStringLiteral("5x"), QStringLiteral("--db"), db}
                                  << QStringLiteral("--sample-interval");
        QTest::addRow("tls-half") << QStringList{QStringLiteral("--headless"), QStringLiteral("--tls-cert"), QStringLiteral("x.pem"), QStringLiteral("--db"), db}
                                  << QStringLiteral("--tls-key");
        QTest::addRow("unknown-flag") << QStringList{QStringLiteral("--headless"), QStringLiteral("--frobnicate")}
                                      << QStringLiteral("frobnicate");
        QTest::addRow("clients-missing-db") << QStringList{QStringLiteral("clients"), QStringLiteral("--db"), db}
                                            << QStringLiteral("never-created.db");
        QTest::addRow("export-missing-db") << QStringList{QStringLiteral("export"), QStringLiteral("--db"), db}
                                           << QStringLiteral("never-created.db");
    }
    void badArguments()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, mentions);
        const Run r = run(args);
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains(mentions), qPrintable(r.err));
        QCOMPARE(r.err.trimmed().count(u'\n'), 0);
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("never-created.db"))));
    }

    void busyPortFailsWithExitOne()
    {
        QTcpServer squatter;
        QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
        const Run r = run({QStringLiteral("--headless"), QStringLiteral("--listen"),
                           QStringLiteral("127.0.0.1:%1").arg(squatter.serverPort()), QStringLiteral("--db"),
                           m_dir.filePath(QStringLiteral("busy.db"))});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(QStringLiteral("cannot listen")), qPrintable(r.err));
    }

    void tlsFlagsServeWss()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
            QSKIP("openssl is not installed");
        const QString cert = m_dir.filePath(QStringLiteral("cert.pem"));
        const QString key = m_dir.filePath(QStringLiteral("key.pem"));
        QProcess openssl;
        openssl.start(QStringLiteral("openssl"),
                      {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
                       QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
                       QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
                       QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1"),
                       QStringLiteral("-keyout"), key, QStringLiteral("-out"), cert});
        QVERIFY(openssl.waitForFinished(60000));
        QCOMPARE(openssl.exitCode(), 0);

        // A key that is not a key: one line, exit 2.
        const QString bogus = m_dir.filePath(QStringLiteral("bogus.pem"));
        QFile b(bogus);
        QVERIFY(b.open(QIODevice::WriteOnly));
        b.write("not a key\n");
        b.close();
        const Run bad = run({QStringLiteral("--headless"), QStringLiteral("--tls-cert"), cert, QStringLiteral("--tls-key"),
                             bogus, QStringLiteral("--db"), m_dir.filePath(QStringLiteral("tls-bad.db"))});
        QCOMPARE(bad.code, 2);
        QVERIFY2(bad.err.contains(QStringLiteral("--tls-key")), qPrintable(bad.err));

        QProcess p;
        p.start(binary, {QStringLiteral("--headless"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                         QStringLiteral("--db"), m_dir.filePath(QStringLiteral("tls.db")), QStringLiteral("--tls-cert"),
                         cert, QStringLiteral("--tls-key"), key});
        QVERIFY(p.waitForStarted());
        QByteArray out;
        QTRY_VERIFY_WITH_TIMEOUT((out += p.readAllStandardOutput(), out.contains('\n')), 15000);
        static const QRegularExpression line(QStringLiteral("^listening on wss://127\\.0\\.0\\.1:(\\d+)\\n$"));
        const auto m = line.match(QString::fromUtf8(out));
        QVERIFY2(m.hasMatch(), out.constData());
        // A TLS client that trusts only this certificate completes the handshake.
        QSslSocket client;
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.setCaCertificates(QSslCertificate::fromPath(cert));
        client.setSslConfiguration(tls);
        client.connectToHostEncrypted(QStringLiteral("127.0.0.1"), quint16(m.captured(1).toUInt()));
        QVERIFY2(client.waitForEncrypted(15000), qPrintable(client.errorString()));
        client.disconnectFromHost();
        p.terminate();
        QVERIFY(p.waitForFinished(15000));
        QCOMPARE(p.exitCode(), 0);
    }

    void headlessServesAndStopsCleanly()
    {
        const QString db = m_dir.filePath(QStringLiteral("served.db"));
        QProcess p;
        p.start(binary, {QStringLiteral("--headless"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                         QStringLiteral("--db"), db, QStringLiteral("--sample-interval"), QStringLiteral("2s")});
        QVERIFY(p.waitForStarted());
        QByteArray out;
        QTRY_VERIFY_WITH_TIMEOUT((out += p.readAllStandardOutput(), out.contains('\n')), 15000);
        static const QRegularExpression line(QStringLiteral("^listening on ws://127\\.0\\.0\\.1:(\\d+)\\n$"));
        const auto m = line.match(QString::fromUtf8(out));
        QVERIFY2(m.hasMatch(), out.constData());
        QVERIFY(m.captured(1).toUInt() > 0);
        QVERIFY(QFile::exists(db));
        p.terminate();
        QVERIFY(p.waitForFinished(15000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);

        const Run clients = run({QStringLiteral("clients"), QStringLiteral("--db"), db, QStringLiteral("--json")});
        QCOMPARE(clients.code, 0);
        QJsonParseError e;
        const QJsonDocument doc = QJsonDocument::fromJson(clients.out.toUtf8(), &e);
        QCOMPARE(e.error, QJsonParseError::NoError);
        QVERIFY(doc.isArray());
        QCOMPARE(doc.array().size(), 0);
        const Run csv = run({QStringLiteral("export"), QStringLiteral("--db"), db});
        QCOMPARE(csv.code, 0);
        QVERIFY(csv.out.startsWith(QStringLiteral("client_id,hostname,timestamp,")));
    }
};

QTEST_GUILESS_MAIN(TestServerCli)
#include "tst_servercli.moc"
