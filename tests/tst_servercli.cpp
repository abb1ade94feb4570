// SPDX-License-Identifier: MIT
// autofactory's command line is a contract: flags, messages, exit codes, the "listening on" line.
#include "store/store.h"
#include "storetesting.h"

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
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
        // Runs without --headless (--no-listen) create the QApplication before parsing; Qt warns
        // on stderr when XDG_RUNTIME_DIR is unset (root in a container), a second line.
        if (qEnvironmentVariableIsEmpty("XDG_RUNTIME_DIR"))
            qputenv("XDG_RUNTIME_DIR", QFile::encodeName(m_dir.path()));
    }

    void helpNamesEveryFlag()
    {
        const Run r = run({QStringLiteral("--help")});
        QCOMPARE(r.code, 0);
        for (const char *flag : {"--listen", "--db", "--headless", "--tls-cert", "--tls-key",
                                 "--sample-interval", "--send-interval", "--heartbeat-interval",
                                 "--filesystems-interval", "--disks-interval", "--network-interval",
                                 "--temperatures-interval", "--metrics", "--no-listen",
                                 "--insecure-ws", "clients", "export", "token create", "token list",
                                 "token revoke", "revoke CLIENT"})
            QVERIFY2(r.out.contains(QLatin1StringView(flag)), flag);
        const Run e = run({QStringLiteral("export"), QStringLiteral("--help")});
        QCOMPARE(e.code, 0);
        for (const char *flag : {"--db", "--client", "--from", "--to", "--out", "--table", "temperatures"})
            QVERIFY2(e.out.contains(QLatin1StringView(flag)), flag);
        const Run c = run({QStringLiteral("clients"), QStringLiteral("--help")});
        QVERIFY(c.out.contains(QStringLiteral("--json")));
        const Run t = run({QStringLiteral("token"), QStringLiteral("create"), QStringLiteral("--help")});
        QCOMPARE(t.code, 0);
        for (const char *flag : {"--db", "--uses", "--expires", "--label"})
            QVERIFY2(t.out.contains(QLatin1StringView(flag)), flag);
        const Run l = run({QStringLiteral("token"), QStringLiteral("list"), QStringLiteral("--help")});
        QVERIFY(l.out.contains(QStringLiteral("--json")));
        const Run rv = run({QStringLiteral("revoke"), QStringLiteral("--help")});
        QCOMPARE(rv.code, 0);
        QVERIFY(rv.out.contains(QStringLiteral("CLIENT")));
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
        QTest::addRow("collector-interval-under-1s") << QStringList{QStringLiteral("--headless"), QStringLiteral("--filesystems-interval"), QStringLiteral("500ms"), QStringLiteral("--db"), db}
                                                     << QStringLiteral("--filesystems-interval \"500ms\": expected a duration from 1s to 1h");
        QTest::addRow("collector-interval-word") << QStringList{QStringLiteral("--headless"), QStringLiteral("--network-interval"), QStringLiteral("off"), QStringLiteral("--db"), db}
                                                 << QStringLiteral("--network-interval");
        QTest::addRow("export-table") << QStringList{QStringLiteral("export"), QStringLiteral("--table"), QStringLiteral("cpus"), QStringLiteral("--db"), db}
                                      << QStringLiteral("--table: expected samples, filesystems, disks, network or temperatures, not cpus");
        QTest::addRow("tls-half") << QStringList{QStringLiteral("--headless"), QStringLiteral("--tls-cert"), QStringLiteral("x.pem"), QStringLiteral("--db"), db}
                                  << QStringLiteral("--tls-key");
        QTest::addRow("unknown-flag") << QStringList{QStringLiteral("--headless"), QStringLiteral("--frobnicate")}
                                      << QStringLiteral("frobnicate");
        QTest::addRow("clients-missing-db") << QStringList{QStringLiteral("clients"), QStringLiteral("--db"), db}
                                            << QStringLiteral("never-created.db");
        QTest::addRow("export-missing-db") << QStringList{QStringLiteral("export"), QStringLiteral("--db"), db}
                                           << QStringLiteral("never-created.db");
        QTest::addRow("token-list-missing-db") << QStringList{QStringLiteral("token"), QStringLiteral("list"), QStringLiteral("--db"), db}
                                               << QStringLiteral("never-created.db");
        QTest::addRow("token-no-action") << QStringList{QStringLiteral("token"), QStringLiteral("--db"), db}
                                         << QStringLiteral("create, list or revoke");
        QTest::addRow("token-uses") << QStringList{QStringLiteral("token"), QStringLiteral("create"), QStringLiteral("--uses"), QStringLiteral("0"), QStringLiteral("--db"), db}
                                    << QStringLiteral("--uses");
        QTest::addRow("token-expires") << QStringList{QStringLiteral("token"), QStringLiteral("create"), QStringLiteral("--expires"), QStringLiteral("soon"), QStringLiteral("--db"), db}
                                       << QStringLiteral("--expires");
        QTest::addRow("token-revoke-no-id") << QStringList{QStringLiteral("token"), QStringLiteral("revoke"), QStringLiteral("--db"), db}
                                            << QStringLiteral("missing argument");
        QTest::addRow("revoke-no-client") << QStringList{QStringLiteral("revoke"), QStringLiteral("--db"), db}
                                          << QStringLiteral("missing argument");
        QTest::addRow("keep-raw") << QStringList{QStringLiteral("--headless"), QStringLiteral("--keep-raw"), QStringLiteral("10s"), QStringLiteral("--db"), db}
                                  << QStringLiteral("--keep-raw");
        QTest::addRow("keep-minutes") << QStringList{QStringLiteral("--headless"), QStringLiteral("--keep-minutes"), QStringLiteral("a year"), QStringLiteral("--db"), db}
                                      << QStringLiteral("--keep-minutes");
        QTest::addRow("max-db-size") << QStringList{QStringLiteral("--headless"), QStringLiteral("--max-db-size"), QStringLiteral("20 gigs"), QStringLiteral("--db"), db}
                                     << QStringLiteral("--max-db-size");
        QTest::addRow("max-db-size-tiny") << QStringList{QStringLiteral("--headless"), QStringLiteral("--max-db-size"), QStringLiteral("100KiB"), QStringLiteral("--db"), db}
                                          << QStringLiteral("at least 1MiB");
        QTest::addRow("storage-missing-db") << QStringList{QStringLiteral("storage"), QStringLiteral("--db"), db}
                                            << QStringLiteral("never-created.db");
        QTest::addRow("metrics-no-port") << QStringList{QStringLiteral("--headless"), QStringLiteral("--metrics"), QStringLiteral("127.0.0.1"), QStringLiteral("--db"), db}
                                         << QStringLiteral("--metrics \"127.0.0.1\": expected ADDR:PORT");
        QTest::addRow("metrics-port-range") << QStringList{QStringLiteral("--headless"), QStringLiteral("--metrics"), QStringLiteral("127.0.0.1:65536"), QStringLiteral("--db"), db}
                                            << QStringLiteral("--metrics \"127.0.0.1:65536\"");
        QTest::addRow("metrics-host-name") << QStringList{QStringLiteral("--headless"), QStringLiteral("--metrics"), QStringLiteral("localhost:9120"), QStringLiteral("--db"), db}
                                           << QStringLiteral("like 127.0.0.1:9120 or [::1]:9120");
        QTest::addRow("metrics-bad-v6") << QStringList{QStringLiteral("--headless"), QStringLiteral("--metrics"), QStringLiteral("[::g]:9120"), QStringLiteral("--db"), db}
                                        << QStringLiteral("--metrics");
        QTest::addRow("metrics-no-value") << QStringList{QStringLiteral("--headless"), QStringLiteral("--db"), db, QStringLiteral("--metrics")}
                                          << QStringLiteral("metrics");
        // --no-listen: only a dashboard over a shared store, where other nodes serve the agents.
        const QString pg = QStringLiteral("postgresql://autofact@127.0.0.1:1/autofact");
        QTest::addRow("no-listen-sqlite") << QStringList{QStringLiteral("--no-listen"), QStringLiteral("--db"), db}
                                          << QStringLiteral("--no-listen needs a shared PostgreSQL store");
        QTest::addRow("no-listen-default-db") << QStringList{QStringLiteral("--no-listen")}
                                              << QStringLiteral("--no-listen needs a shared PostgreSQL store");
        QTest::addRow("no-listen-headless") << QStringList{QStringLiteral("--headless"), QStringLiteral("--no-listen"), QStringLiteral("--db"), pg}
                                            << QStringLiteral("--no-listen with --headless");
        QTest::addRow("no-listen-listen") << QStringList{QStringLiteral("--no-listen"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), QStringLiteral("--db"), pg}
                                          << QStringLiteral("--listen does not go with it");
        QTest::addRow("no-listen-insecure") << QStringList{QStringLiteral("--no-listen"), QStringLiteral("--insecure-ws"), QStringLiteral("--db"), pg}
                                            << QStringLiteral("--insecure-ws does not go with it");
        QTest::addRow("no-listen-tls") << QStringList{QStringLiteral("--no-listen"), QStringLiteral("--tls-cert"), QStringLiteral("c"), QStringLiteral("--tls-key"), QStringLiteral("k"), QStringLiteral("--db"), pg}
                                       << QStringLiteral("--tls-cert does not go with it");
        QTest::addRow("insecure-with-cert") << QStringList{QStringLiteral("--headless"), QStringLiteral("--insecure-ws"), QStringLiteral("--tls-cert"), QStringLiteral("c"), QStringLiteral("--tls-key"), QStringLiteral("k"), QStringLiteral("--db"), db}
                                            << QStringLiteral("--insecure-ws");
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
        QTRY_VERIFY_WITH_TIMEOUT((out += p.readAllStandardOutput(), out.count('\n') == 2), 15000);
        static const QRegularExpression line(QStringLiteral("^listening on wss://127\\.0\\.0\\.1:(\\d+)\\ncertificate (sha256:[0-9a-f]{64})\\n$"));
        const auto m = line.match(QString::fromUtf8(out));
        QVERIFY2(m.hasMatch(), out.constData());
        const QList<QSslCertificate> given = QSslCertificate::fromPath(cert);
        QCOMPARE(given.size(), 1);
        QCOMPARE(m.captured(2), QStringLiteral("sha256:") + QString::fromLatin1(given.first().digest(QCryptographicHash::Sha256).toHex()));
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

    /** Starts a headless server; returns its stdout lines once @p lines are there. */
    static QStringList startServer(QProcess &p, const QStringList &args, int lines)
    {
        p.start(binary, QStringList{QStringLiteral("--headless"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")} + args);
        if (!p.waitForStarted())
            return {};
        QByteArray out;
        QElapsedTimer t;
        t.start();
        while (out.count('\n') < lines && t.elapsed() < 15000 && p.state() == QProcess::Running) {
            p.waitForReadyRead(500);
            out += p.readAllStandardOutput();
        }
        return QString::fromUtf8(out).split(u'\n', Qt::SkipEmptyParts);
    }

    void servesWssWithItsOwnCertificateByDefault()
    {
        const QString db = m_dir.filePath(QStringLiteral("own/served.db"));
        QVERIFY(QDir().mkpath(m_dir.filePath(QStringLiteral("own"))));
        QString fingerprint;
        quint16 port = 0;
        for (int start = 0; start < 2; ++start) {
            QProcess p;
            const QStringList lines = startServer(p, {QStringLiteral("--db"), db}, 2);
            QCOMPARE(lines.size(), 2);
            static const QRegularExpression listening(QStringLiteral("^listening on wss://127\\.0\\.0\\.1:(\\d+)$"));
            static const QRegularExpression certificate(QStringLiteral("^certificate (sha256:[0-9a-f]{64})$"));
            const auto l = listening.match(lines[0]);
            const auto c = certificate.match(lines[1]);
            QVERIFY2(l.hasMatch(), qPrintable(lines[0]));
            QVERIFY2(c.hasMatch(), qPrintable(lines[1]));
            port = quint16(l.captured(1).toUInt());
            // Created once beside the database, the key private to its owner; the same
            // certificate on every later start, or every pinned agent would refuse the server.
            if (start == 0)
                fingerprint = c.captured(1);
            else
                QCOMPARE(c.captured(1), fingerprint);
            const QString keyPath = m_dir.filePath(QStringLiteral("own/autofactory-tls.key"));
            QVERIFY(QFile::exists(keyPath));
            QCOMPARE(QFile::permissions(keyPath) & ~(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadUser | QFile::WriteUser),
                     QFile::Permissions());
            // What a client sees is what was printed.
            QSslSocket client;
            client.setPeerVerifyMode(QSslSocket::VerifyNone);
            client.connectToHostEncrypted(QStringLiteral("127.0.0.1"), port);
            QVERIFY2(client.waitForEncrypted(15000), qPrintable(client.errorString()));
            QCOMPARE(QStringLiteral("sha256:") + QString::fromLatin1(client.peerCertificate().digest(QCryptographicHash::Sha256).toHex()),
                     fingerprint);
            client.disconnectFromHost();
            p.terminate();
            QVERIFY(p.waitForFinished(15000));
            QCOMPARE(p.exitStatus(), QProcess::NormalExit);
            QCOMPARE(p.exitCode(), 0);
        }

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

    void retentionFlagsAreStoredAndStorageReportsTiers()
    {
        const QString db = m_dir.filePath(QStringLiteral("keep/served.db"));
        QVERIFY(QDir().mkpath(m_dir.filePath(QStringLiteral("keep"))));
        QProcess p;
        const QStringList lines = startServer(p, {QStringLiteral("--db"), db, QStringLiteral("--insecure-ws"),
                                                  QStringLiteral("--keep-raw"), QStringLiteral("10m"),
                                                  QStringLiteral("--keep-hours"), QStringLiteral("730d"),
                                                  QStringLiteral("--max-db-size"), QStringLiteral("1.5GiB")},
                                              1);
        QCOMPARE(lines.size(), 1);
        p.terminate();
        QVERIFY(p.waitForFinished(15000));
        QCOMPARE(p.exitCode(), 0);
        const Run json = run({QStringLiteral("storage"), QStringLiteral("--db"), db, QStringLiteral("--json")});
        QCOMPARE(json.code, 0);
        const QJsonObject doc = QJsonDocument::fromJson(json.out.toUtf8()).object();
        QVERIFY(doc[QStringLiteral("file_bytes")].toInteger() > 0);
        const QJsonArray tiers = doc[QStringLiteral("tiers")].toArray();
        QCOMPARE(tiers.size(), 3);
        QStringList names;
        for (const QJsonValue t : tiers) {
            names << t[QStringLiteral("name")].toString();
            QCOMPARE(t[QStringLiteral("rows")].toInteger(), 0);
            QVERIFY(t[QStringLiteral("bytes")].isDouble());
            QVERIFY(t[QStringLiteral("oldest")].isNull()); // empty tiers have no times
            QVERIFY(t.toObject().contains(QStringLiteral("newest")));
        }
        QCOMPARE(names, (QStringList{QStringLiteral("raw"), QStringLiteral("minutes"), QStringLiteral("hours")}));
        const QJsonObject keep = doc[QStringLiteral("retention")].toObject();
        QCOMPARE(keep[QStringLiteral("keep_raw_ms")].toInteger(), 600'000);
        QCOMPARE(keep[QStringLiteral("keep_minutes_ms")].toInteger(), 365LL * 86'400'000); // untouched default
        QCOMPARE(keep[QStringLiteral("keep_hours_ms")].toInteger(), 730LL * 86'400'000);
        QCOMPARE(keep[QStringLiteral("max_db_bytes")].toInteger(), qint64(1.5 * 1024 * 1024 * 1024));
        const Run table = run({QStringLiteral("storage"), QStringLiteral("--db"), db});
        QCOMPARE(table.code, 0);
        QVERIFY2(table.out.contains(QStringLiteral("keeps raw 10m, minutes 365d, hours 730d; size cap 1.5 GiB")),
                 qPrintable(table.out));
        QVERIFY(table.out.contains(QStringLiteral("TIER")) && table.out.contains(QStringLiteral("hours")));
    }

    void metricsFlagServesPrometheusText_data()
    {
        QTest::addColumn<QString>("address");
        QTest::addColumn<QString>("host");
        QTest::addRow("v4") << QStringLiteral("127.0.0.1:0") << QStringLiteral("127.0.0.1");
        QTest::addRow("v6") << QStringLiteral("[::1]:0") << QStringLiteral("[::1]");
    }
    void metricsFlagServesPrometheusText()
    {
        QFETCH(QString, address);
        QFETCH(QString, host);
        if (host.startsWith(u'[')) {
            QTcpServer probe;
            if (!probe.listen(QHostAddress::LocalHostIPv6, 0))
                QSKIP("no IPv6 loopback here");
        }
        const QString db = m_dir.filePath(QStringLiteral("metrics-%1.db").arg(QLatin1StringView(QTest::currentDataTag())));
        QProcess p;
        const QStringList lines = startServer(p, {QStringLiteral("--db"), db, QStringLiteral("--insecure-ws"),
                                                  QStringLiteral("--metrics"), address}, 2);
        QCOMPARE(lines.size(), 2);
        const QRegularExpression metricsLine(u"^metrics on http://"_qs + QRegularExpression::escape(host)
                                             + u":(\\d+)/metrics$"_qs);
        const auto m = metricsLine.match(lines[1]);
        QVERIFY2(m.hasMatch(), qPrintable(lines[1]));
        QTcpSocket http;
        http.connectToHost(host.startsWith(u'[') ? QHostAddress(QHostAddress::LocalHostIPv6) : QHostAddress(QHostAddress::LocalHost),
                           quint16(m.captured(1).toUInt()));
        QVERIFY(http.waitForConnected(5000));
        http.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        QByteArray response;
        while (http.waitForReadyRead(5000))
            response += http.readAll();
        response += http.readAll();
        QVERIFY2(response.startsWith("HTTP/1.1 200"), response.left(200).constData());
        QVERIFY(response.contains("\r\n\r\n# HELP autofact_up "));
        QVERIFY(response.contains("\nautofact_connected_clients 0\n"));
        p.terminate();
        QVERIFY(p.waitForFinished(15000));
        QCOMPARE(p.exitCode(), 0);
    }

    void busyMetricsPortFailsWithExitOne()
    {
        QTcpServer squatter;
        QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
        const Run r = run({QStringLiteral("--headless"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                           QStringLiteral("--insecure-ws"), QStringLiteral("--metrics"),
                           QStringLiteral("127.0.0.1:%1").arg(squatter.serverPort()), QStringLiteral("--db"),
                           m_dir.filePath(QStringLiteral("metrics-busy.db"))});
        QCOMPARE(r.code, 1);
        // One line for it, after the --insecure-ws warning.
        QVERIFY2(r.err.trimmed().section(u'\n', -1).startsWith(QStringLiteral("autofactory: --metrics: cannot listen on 127.0.0.1 port")),
                 qPrintable(r.err));
    }

    void insecureWsIsExplicitAndWarned()
    {
        const QString db = m_dir.filePath(QStringLiteral("plain/served.db"));
        QVERIFY(QDir().mkpath(m_dir.filePath(QStringLiteral("plain"))));
        QProcess p;
        const QStringList lines = startServer(p, {QStringLiteral("--db"), db, QStringLiteral("--insecure-ws")}, 1);
        QCOMPARE(lines.size(), 1);
        static const QRegularExpression listening(QStringLiteral("^listening on ws://127\\.0\\.0\\.1:(\\d+)$"));
        QVERIFY2(listening.match(lines[0]).hasMatch(), qPrintable(lines[0]));
        p.terminate();
        QVERIFY(p.waitForFinished(15000));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains(QStringLiteral("warning: serving plain ws://")));
        QVERIFY(!p.readAllStandardOutput().contains("certificate"));
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("plain/autofactory-tls.key"))));
    }

    void tokensAreCreatedListedAndRevoked()
    {
        const QString db = m_dir.filePath(QStringLiteral("tokens.db"));
        const Run created = run({QStringLiteral("token"), QStringLiteral("create"), QStringLiteral("--db"), db,
                                 QStringLiteral("--uses"), QStringLiteral("3"), QStringLiteral("--label"), QStringLiteral("rack 4")});
        QCOMPARE(created.code, 0);
        // The token alone on one line of stdout: scripts take it as it is.
        static const QRegularExpression shape(QStringLiteral("^([0-9a-f]{12})\\.[A-Za-z0-9_-]{43}\\n$"));
        const auto m = shape.match(created.out);
        QVERIFY2(m.hasMatch(), qPrintable(created.out));
        const QString id = m.captured(1);
        const Run second = run({QStringLiteral("token"), QStringLiteral("create"), QStringLiteral("--db"), db});
        QCOMPARE(second.code, 0);
        QVERIFY(second.out != created.out);

        const Run list = run({QStringLiteral("token"), QStringLiteral("list"), QStringLiteral("--db"), db, QStringLiteral("--json")});
        QCOMPARE(list.code, 0);
        const QJsonArray tokens = QJsonDocument::fromJson(list.out.toUtf8()).array();
        QCOMPARE(tokens.size(), 2);
        QJsonObject mine;
        for (const QJsonValue v : tokens)
            if (v[QStringLiteral("id")].toString() == id)
                mine = v.toObject();
        QCOMPARE(mine[QStringLiteral("max_uses")].toInt(), 3);
        QCOMPARE(mine[QStringLiteral("uses")].toInt(), 0);
        QCOMPARE(mine[QStringLiteral("label")].toString(), QStringLiteral("rack 4"));
        QCOMPARE(mine[QStringLiteral("state")].toString(), QStringLiteral("active"));
        QVERIFY(mine[QStringLiteral("expires")].isString()); // 24 h by default
        // The secret half is never listed or stored in clear.
        QVERIFY(!list.out.contains(created.out.trimmed().mid(13)));
        const Run table = run({QStringLiteral("token"), QStringLiteral("list"), QStringLiteral("--db"), db});
        QVERIFY(table.out.contains(id) && table.out.contains(QStringLiteral("0/3")));

        const Run revoked = run({QStringLiteral("token"), QStringLiteral("revoke"), id, QStringLiteral("--db"), db});
        QCOMPARE(revoked.code, 0);
        const Run after = run({QStringLiteral("token"), QStringLiteral("list"), QStringLiteral("--db"), db, QStringLiteral("--json")});
        QVERIFY(after.out.contains(QStringLiteral("\"revoked\"")));
        const Run unknown = run({QStringLiteral("token"), QStringLiteral("revoke"), QStringLiteral("000000000000"), QStringLiteral("--db"), db});
        QCOMPARE(unknown.code, 2);
        QVERIFY(unknown.err.contains(QStringLiteral("unknown token")));
        const Run noClient = run({QStringLiteral("revoke"), QStringLiteral("nobody"), QStringLiteral("--db"), db});
        QCOMPARE(noClient.code, 2);
        QVERIFY(noClient.err.contains(QStringLiteral("unknown client: nobody")));
    }

    void groupAndMergeCommands()
    {
        const QString db = m_dir.filePath(QStringLiteral("groups.db"));
        QString a, b, old, successor;
        {
            // Clients as the server would have enrolled them; the second machine's agent was
            // forgotten and came back under a new identity.
            using namespace autofact::server;
            Store store(db);
            QVERIFY_STORE(store.open());
            auto hello = [](const QString &host, const QString &id = {}, const QString &secret = {}) {
                autofact::Hello h;
                h.hostname = host;
                h.agentId = id;
                h.secret = secret;
                return h;
            };
            Enrolment &enrolment = autofact::testing::trustedEnrolment(store);
            a = STORE_OK(enrolment.authenticate(hello(QStringLiteral("web-1")), QStringLiteral("p"), 1000)).clientId;
            b = STORE_OK(enrolment.authenticate(hello(QStringLiteral("web-2")), QStringLiteral("p"), 1000)).clientId;
            const AuthResult first = STORE_OK(enrolment.authenticate(hello(QStringLiteral("db-1")), QStringLiteral("p"), 1000));
            old = first.clientId;
            STORE_OK(store.inventory().forgetClient(old, false, 2000));
            successor = STORE_OK(enrolment.authenticate(hello(QStringLiteral("db-1"), old, first.issuedSecret),
                                                        QStringLiteral("p"), 3000)).clientId;
            STORE_OK(store.enrolment().markAllOffline(4000, QStringLiteral("test")));
        }
        const QString dbFlag = QStringLiteral("--db");
        const Run set = run({QStringLiteral("group"), QStringLiteral("set"), QStringLiteral("web"), a,
                             QStringLiteral("web-2"), dbFlag, db});
        QCOMPARE(set.code, 0);
        QVERIFY2(set.out.contains(QStringLiteral("2 clients now in group web")), qPrintable(set.out));
        const Run badName = run({QStringLiteral("group"), QStringLiteral("set"), QStringLiteral(" web"), a, dbFlag, db});
        QCOMPARE(badName.code, 2);
        QVERIFY(badName.err.contains(QStringLiteral("cannot start or end with a space")));
        const Run unknown = run({QStringLiteral("group"), QStringLiteral("set"), QStringLiteral("web"), QStringLiteral("nobody"), dbFlag, db});
        QCOMPARE(unknown.code, 2);
        QVERIFY(unknown.err.contains(QStringLiteral("unknown client: nobody")));
        QCOMPARE(run({QStringLiteral("group"), QStringLiteral("set"), QStringLiteral("web"), dbFlag, db}).code, 2);
        QCOMPARE(run({QStringLiteral("group"), QStringLiteral("rename"), dbFlag, db}).code, 2);

        const Run list = run({QStringLiteral("group"), QStringLiteral("list"), dbFlag, db, QStringLiteral("--json")});
        QCOMPARE(list.code, 0);
        const QJsonArray groups = QJsonDocument::fromJson(list.out.toUtf8()).array();
        QCOMPARE(groups.size(), 1);
        QCOMPARE(groups[0][QStringLiteral("name")].toString(), QStringLiteral("web"));
        QCOMPARE(groups[0][QStringLiteral("members")].toInt(), 2);
        QCOMPARE(groups[0][QStringLiteral("behaviour_override")].toBool(), false);
        const Run clients = run({QStringLiteral("clients"), dbFlag, db, QStringLiteral("--json")});
        const QJsonArray rows = QJsonDocument::fromJson(clients.out.toUtf8()).array();
        QHash<QString, QJsonObject> byId;
        for (const QJsonValue v : rows)
            byId.insert(v[QStringLiteral("id")].toString(), v.toObject());
        QCOMPARE(byId.value(a)[QStringLiteral("group")].toString(), QStringLiteral("web"));
        QCOMPARE(byId.value(successor)[QStringLiteral("previous_id")].toString(), old);

        QCOMPARE(run({QStringLiteral("group"), QStringLiteral("clear"), b, dbFlag, db}).code, 0);
        const Run table = run({QStringLiteral("group"), QStringLiteral("list"), dbFlag, db});
        QVERIFY2(table.out.contains(QStringLiteral("GROUP")) && table.out.contains(QStringLiteral("web")), qPrintable(table.out));
        QVERIFY(QJsonDocument::fromJson(run({QStringLiteral("group"), QStringLiteral("list"), dbFlag, db,
                                             QStringLiteral("--json")}).out.toUtf8())
                        .array()[0][QStringLiteral("members")].toInt() == 1);

        // Merge: by ID only, the retired identity into its successor, once.
        const Run byHost = run({QStringLiteral("merge"), QStringLiteral("db-1"), successor, dbFlag, db});
        QCOMPARE(byHost.code, 2);
        QVERIFY(byHost.err.contains(QStringLiteral("name clients by ID")));
        const Run live = run({QStringLiteral("merge"), a, successor, dbFlag, db});
        QCOMPARE(live.code, 2);
        QVERIFY(live.err.contains(QStringLiteral("can still connect")));
        const Run merged = run({QStringLiteral("merge"), old, successor, dbFlag, db});
        QCOMPARE(merged.code, 0);
        QVERIFY2(merged.out.startsWith(QStringLiteral("merged %1 (db-1) into %2").arg(old, successor)), qPrintable(merged.out));
        QCOMPARE(run({QStringLiteral("merge"), old, successor, dbFlag, db}).code, 2);
        QCOMPARE(run({QStringLiteral("merge"), old, dbFlag, db}).code, 2);
    }

    void alertsAndNotifyCommands()
    {
        const QString db = m_dir.filePath(QStringLiteral("notify.db"));
        const auto notify = [&](QStringList args) {
            args.prepend(QStringLiteral("notify"));
            args << QStringLiteral("--db") << db;
            return run(args);
        };
        // Bad channels are refused with a reason and exit 2; nothing is stored.
        Run bad = notify({QStringLiteral("add"), QStringLiteral("webhook"), QStringLiteral("ftp://example.org/x")});
        QCOMPARE(bad.code, 2);
        QVERIFY(bad.err.contains(QStringLiteral("expected an http:// or https:// URL")));
        bad = notify({QStringLiteral("add"), QStringLiteral("command"), QStringLiteral("  ")});
        QCOMPARE(bad.code, 2);
        bad = notify({QStringLiteral("add"), QStringLiteral("command"), QStringLiteral("echo"), QStringLiteral("hi")});
        QCOMPARE(bad.code, 2);
        QVERIFY(bad.err.contains(QStringLiteral("quote the command")));
        bad = notify({QStringLiteral("add"), QStringLiteral("pager"), QStringLiteral("x")});
        QCOMPARE(bad.code, 2);
        QCOMPARE(run({QStringLiteral("notify"), QStringLiteral("frobnicate")}).code, 2);
        // A missing database is an error for the readers, never created by them.
        const Run missing = run({QStringLiteral("alerts"), QStringLiteral("--db"), m_dir.filePath(QStringLiteral("none.db"))});
        QCOMPARE(missing.code, 2);
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("none.db"))));

        const QString marker = m_dir.filePath(QStringLiteral("ran.txt"));
        const Run added = notify({QStringLiteral("add"), QStringLiteral("command"),
                                  QStringLiteral("printf '%s %s' \"$AUTOFACT_STATUS\" \"$AUTOFACT_TEST\" > '%1'").arg(marker)});
        QCOMPARE(added.code, 0);
        QVERIFY(added.out.startsWith(QStringLiteral("added command notifier 1")));
        QCOMPARE(notify({QStringLiteral("add"), QStringLiteral("command"), QStringLiteral("exit 7")}).code, 0);
        const Run list = notify({QStringLiteral("list"), QStringLiteral("--json")});
        QCOMPARE(list.code, 0);
        const QJsonArray channels = QJsonDocument::fromJson(list.out.toUtf8()).array();
        QCOMPARE(channels.size(), 2);
        QCOMPARE(channels[1][QStringLiteral("target")].toString(), QStringLiteral("exit 7"));
        // A test reaches each channel once and says how it went; one failure is exit 2.
        const Run tested = notify({QStringLiteral("test")});
        QCOMPARE(tested.code, 2);
        QVERIFY2(tested.out.contains(QStringLiteral("notifier 1: delivered")), qPrintable(tested.out));
        QVERIFY2(tested.out.contains(QStringLiteral("notifier 2: failed: exit status 7")), qPrintable(tested.out));
        QFile ran(marker);
        QVERIFY(ran.open(QIODevice::ReadOnly));
        QCOMPARE(ran.readAll(), QByteArray("firing 1"));
        QCOMPARE(notify({QStringLiteral("test"), QStringLiteral("1")}).code, 0);
        QCOMPARE(notify({QStringLiteral("test"), QStringLiteral("99")}).code, 2);
        QCOMPARE(notify({QStringLiteral("remove"), QStringLiteral("2")}).code, 0);
        const Run again = notify({QStringLiteral("remove"), QStringLiteral("2")});
        QCOMPARE(again.code, 2);
        QVERIFY(again.err.contains(QStringLiteral("no notifier with ID 2")));
        QCOMPARE(notify({QStringLiteral("remove"), QStringLiteral("x")}).code, 2);

        const Run none = run({QStringLiteral("alerts"), QStringLiteral("--db"), db, QStringLiteral("--all"), QStringLiteral("--json")});
        QCOMPARE(none.code, 0);
        QVERIFY(QJsonDocument::fromJson(none.out.toUtf8()).isArray());
        QCOMPARE(QJsonDocument::fromJson(none.out.toUtf8()).array().size(), 0);
    }
};

QTEST_GUILESS_MAIN(TestServerCli)
#include "tst_servercli.moc"
