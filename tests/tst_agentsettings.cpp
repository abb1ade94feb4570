// SPDX-License-Identifier: MIT
#include "agentsettings.h"

#include "testfiles.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace autofact::agent;

class TestAgentSettings : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    QString write(const QString &name, const QByteArray &bytes)
    {
        return autofact::testdata::writeFile(m_dir.filePath(name), bytes);
    }

private slots:
    void missingFileIsAFirstRun()
    {
        QString error;
        const auto s = AgentSettings::load(m_dir.filePath(QStringLiteral("none.json")), &error);
        QVERIFY(s.has_value());
        QVERIFY(s->id.isEmpty());
        QVERIFY(s->server.isEmpty());
        QCOMPARE(s->spoolPath(), m_dir.filePath(QStringLiteral("autofact-spool.db")));
    }

    void roundTripIsPrivate()
    {
        AgentSettings s;
        s.path = m_dir.filePath(QStringLiteral("rt/agent.json"));
        s.server = QUrl(QStringLiteral("wss://monitor.example:8675"));
        s.id = QStringLiteral("abc123");
        s.secret = QStringLiteral("s3cret");
        s.ca = QStringLiteral("/etc/ca.pem");
        s.fingerprint = QStringLiteral("sha256:") + QString(64, u'b');
        s.token = QStringLiteral("tok");
        s.insecure = true;
        QCOMPARE(s.save(), QString());
        QCOMPARE(QFile::permissions(s.path) & (QFileDevice::ReadGroup | QFileDevice::ReadOther), QFileDevice::Permissions());
        QString error;
        const auto back = AgentSettings::load(s.path, &error);
        QVERIFY2(back.has_value(), qPrintable(error));
        QCOMPARE(back->server, s.server);
        QCOMPARE(back->id, s.id);
        QCOMPARE(back->secret, s.secret);
        QCOMPARE(back->ca, s.ca);
        QCOMPARE(back->fingerprint, s.fingerprint);
        QCOMPARE(back->token, s.token);
        QVERIFY(back->insecure);
    }

    void existingFileKeepsItsModeWithoutOthers()
    {
        // A packaged config is root:autofact-agent 0640; an edit must leave the service able
        // to read it, and never make it readable by everyone.
        const QString path = write(QStringLiteral("mode.json"), "{}");
        QVERIFY(QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                                | QFileDevice::ReadGroup | QFileDevice::ReadOther));
        AgentSettings s;
        s.path = path;
        s.server = QUrl(QStringLiteral("wss://monitor.example:8675"));
        QCOMPARE(s.save(), QString());
        const QFileDevice::Permissions wanted =
            QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup;
        const QFileDevice::Permissions all = wanted | QFileDevice::WriteGroup | QFileDevice::ExeGroup
                                             | QFileDevice::ExeOwner | QFileDevice::ReadOther
                                             | QFileDevice::WriteOther | QFileDevice::ExeOther;
        QCOMPARE(QFile::permissions(path) & all, wanted);
    }

    void stateDirHoldsTheIdentityAndSpool()
    {
        const QString config = write(QStringLiteral("etc/agent.json"),
                                     "{\"server\": \"wss://monitor.example:8675\", \"token\": \"T.S\"}");
        const QByteArray configBefore = autofact::testdata::readFile(config);
        const QString state = m_dir.filePath(QStringLiteral("var/lib/agent"));
        QString error;
        auto s = AgentSettings::load(config, &error);
        QVERIFY2(s.has_value(), qPrintable(error));
        QVERIFY2(s->useStateDir(state, &error), qPrintable(error));
        QVERIFY(QFileInfo(state).isDir());
        QCOMPARE(s->spoolPath(), QDir(state).filePath(QStringLiteral("autofact-spool.db")));
        QVERIFY(s->id.isEmpty());

        s->id = QStringLiteral("agent-1");
        s->secret = QStringLiteral("s3cret");
        QCOMPARE(s->saveIdentity(), QString());
        // The config is only read: the token stays where the administrator put it.
        QCOMPARE(autofact::testdata::readFile(config), configBefore);
        const QString identity = QDir(state).filePath(QStringLiteral("identity.json"));
        QCOMPARE(QFile::permissions(identity) & (QFileDevice::ReadGroup | QFileDevice::ReadOther),
                 QFileDevice::Permissions());

        auto again = AgentSettings::load(config, &error);
        QVERIFY(again.has_value());
        QVERIFY2(again->useStateDir(state, &error), qPrintable(error));
        QCOMPARE(again->id, QStringLiteral("agent-1"));
        QCOMPARE(again->secret, QStringLiteral("s3cret"));
    }

    void withoutStateDirTheIdentityReplacesTheToken()
    {
        const QString config = write(QStringLiteral("single.json"),
                                     "{\"server\": \"wss://monitor.example:8675\", \"token\": \"T.S\"}");
        QString error;
        auto s = AgentSettings::load(config, &error);
        QVERIFY(s.has_value());
        s->id = QStringLiteral("agent-2");
        s->secret = QStringLiteral("s3cret");
        QCOMPARE(s->saveIdentity(), QString());
        const auto back = AgentSettings::load(config, &error);
        QVERIFY(back.has_value());
        QCOMPARE(back->id, QStringLiteral("agent-2"));
        QVERIFY(back->token.isEmpty());
    }

    void unwritableStateDirIsRefused()
    {
        // /proc exists and takes no new files, even from root (the CI user): the agent must say
        // so at start, not lose its identity and spool later.
        AgentSettings s;
        s.path = m_dir.filePath(QStringLiteral("x.json"));
        QString error;
        QVERIFY(!s.useStateDir(QStringLiteral("/proc"), &error));
        QVERIFY2(error.contains(QStringLiteral("not writable")), qPrintable(error));
        QVERIFY(s.identityPath.isEmpty());
    }

    void enrolledIdInCreatesNothing()
    {
        const QString state = m_dir.filePath(QStringLiteral("probe-state"));
        QCOMPARE(AgentSettings::enrolledIdIn(state), QString());
        QVERIFY(!QFileInfo::exists(state));
        write(QStringLiteral("probe-state/identity.json"), "{\"id\": \"agent-9\", \"secret\": \"s\"}");
        QCOMPARE(AgentSettings::enrolledIdIn(state), QStringLiteral("agent-9"));
    }

    void emptyTokenRemovesALeftoverToken()
    {
        const QString binary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-agent/autofact-agent");
        if (!QFile::exists(binary))
            QSKIP("agent binary not built");
        const QString config = write(QStringLiteral("leftover/agent.json"),
                                     "{\"server\": \"wss://127.0.0.1:1\", \"token\": \"T.S\"}");
        const QString state = m_dir.filePath(QStringLiteral("leftover/state"));
        write(QStringLiteral("leftover/state/identity.json"), "{\"id\": \"agent-7\", \"secret\": \"s\"}");
        QProcess p;
        p.start(binary, {QStringLiteral("--config"), config, QStringLiteral("--state-dir"), state,
                         QStringLiteral("--write-config"), QStringLiteral("--token"), QString()});
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 0);
        QString error;
        const auto s = AgentSettings::load(config, &error);
        QVERIFY2(s.has_value(), qPrintable(error));
        QVERIFY(s->token.isEmpty());
        QCOMPARE(s->server, QUrl(QStringLiteral("wss://127.0.0.1:1")));

        // A new token for an enrolled agent is refused, naming what to remove to enrol anew.
        p.start(binary, {QStringLiteral("--config"), config, QStringLiteral("--state-dir"), state,
                         QStringLiteral("--write-config"), QStringLiteral("--token"), QStringLiteral("N.T")});
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 0);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(QStringLiteral("already enrolled as agent-7")) && err.contains(QStringLiteral("identity.json")),
                 qPrintable(err));
        QVERIFY(AgentSettings::load(config, &error)->token.isEmpty());
    }

    void corruptIdentityIsRefused_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("not json") << QByteArray("{\"id\": ");
        QTest::newRow("no secret") << QByteArray("{\"id\": \"a\"}");
        QTest::newRow("number id") << QByteArray("{\"id\": 5, \"secret\": \"s\"}");
    }

    void corruptIdentityIsRefused()
    {
        QFETCH(QByteArray, bytes);
        const QString state = m_dir.filePath(QStringLiteral("bad-%1").arg(QString::fromLatin1(QTest::currentDataTag())).replace(u' ', u'-'));
        write(QDir(state).filePath(QStringLiteral("identity.json")).mid(m_dir.path().size() + 1), bytes);
        AgentSettings s;
        s.path = m_dir.filePath(QStringLiteral("x.json"));
        QString error;
        QVERIFY(!s.useStateDir(state, &error));
        QVERIFY2(error.contains(QStringLiteral("identity.json")), qPrintable(error));
        QVERIFY(s.id.isEmpty());
    }

    void binaryExitsTwoWithoutServer()
    {
        // The packaged config (resources/config/autofact-agent.json) before --write-config.
        const QString binary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-agent/autofact-agent");
        if (!QFile::exists(binary))
            QSKIP("agent binary not built");
        const QString config = write(QStringLiteral("packaged.json"),
                                     "{\"server\": \"\", \"fingerprint\": \"\", \"token\": \"\"}");
        QProcess p;
        p.start(binary, {QStringLiteral("--config"), config, QStringLiteral("--state-dir"),
                         m_dir.filePath(QStringLiteral("packaged-state"))});
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError()).trimmed();
        QVERIFY2(err.contains(QStringLiteral("no server configured")) && err.contains(QStringLiteral("--write-config")),
                 qPrintable(err));
        QCOMPARE(err.count(u'\n'), 0);
    }

    void writeConfigWritesAndExits()
    {
        const QString binary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-agent/autofact-agent");
        if (!QFile::exists(binary))
            QSKIP("agent binary not built");
        const QString config = m_dir.filePath(QStringLiteral("wc/agent.json"));
        const QString pin = QStringLiteral("sha256:") + QString(64, u'c');
        QProcess p;
        // Port 1 is never listened on: exiting 0 proves no connection was waited for.
        p.start(binary, {QStringLiteral("--config"), config, QStringLiteral("--write-config"),
                         QStringLiteral("--server"), QStringLiteral("wss://127.0.0.1:1"),
                         QStringLiteral("--token"), QStringLiteral("T.S"),
                         QStringLiteral("--fingerprint"), pin});
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 0);
        QCOMPARE(QString::fromUtf8(p.readAllStandardOutput()).trimmed(), QStringLiteral("wrote ") + config);
        QString error;
        const auto s = AgentSettings::load(config, &error);
        QVERIFY2(s.has_value(), qPrintable(error));
        QCOMPARE(s->server, QUrl(QStringLiteral("wss://127.0.0.1:1")));
        QCOMPARE(s->token, QStringLiteral("T.S"));
        QCOMPARE(s->fingerprint, pin);
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("wc/autofact-spool.db"))));
    }

    void fingerprintsAreNormalised_data()
    {
        QTest::addColumn<QString>("given");
        QTest::addColumn<QString>("expected");
        const QString hex = QStringLiteral("0123456789abcdef").repeated(4);
        QString colons;
        for (int i = 0; i < 64; i += 2)
            colons += (i ? QStringLiteral(":") : QString()) + hex.mid(i, 2).toUpper();
        QTest::addRow("as printed") << QStringLiteral("sha256:") + hex << QStringLiteral("sha256:") + hex;
        QTest::addRow("openssl style") << QStringLiteral("SHA256:") + colons << QStringLiteral("sha256:") + hex;
        QTest::addRow("short") << QStringLiteral("sha256:abcd") << QString();
        QTest::addRow("other hash") << QStringLiteral("sha1:") + hex << QString();
        QTest::addRow("not hex") << QStringLiteral("sha256:") + QString(64, u'z') << QString();
    }
    void fingerprintsAreNormalised()
    {
        QFETCH(QString, given);
        QFETCH(QString, expected);
        QCOMPARE(AgentSettings::normaliseFingerprint(given), expected);
    }

    void plainWsNeedsInsecure()
    {
        AgentSettings s;
        s.server = QUrl(QStringLiteral("ws://lab:8675"));
        QVERIFY(s.checkTransport().contains(QStringLiteral("insecure")));
        s.insecure = true;
        QCOMPARE(s.checkTransport(), QString());
        s.insecure = false;
        s.server = QUrl(QStringLiteral("wss://lab:8675"));
        QCOMPARE(s.checkTransport(), QString());
    }

    void badFiles_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("problem");
        QTest::addRow("corrupt") << QByteArray("{\"server\": ") << QStringLiteral("invalid JSON");
        QTest::addRow("not-object") << QByteArray("[\"ws://x\"]") << QStringLiteral("JSON object");
        QTest::addRow("server-not-string") << QByteArray("{\"server\": 5}") << QStringLiteral("\"server\" must be a string");
        QTest::addRow("bad-fingerprint") << QByteArray("{\"fingerprint\": \"sha256:12\"}") << QStringLiteral("\"fingerprint\" must be");
        QTest::addRow("insecure-not-bool") << QByteArray("{\"insecure\": \"yes\"}") << QStringLiteral("\"insecure\" must be true or false");
        QTest::addRow("http-url") << QByteArray("{\"server\": \"http://host:1\"}") << QStringLiteral("ws:// or wss://");
        QTest::addRow("no-host") << QByteArray("{\"server\": \"ws://\"}") << QStringLiteral("with a host");
        QTest::addRow("id-without-secret") << QByteArray("{\"server\": \"ws://h:1\", \"id\": \"x\"}")
                                           << QStringLiteral("set together");
    }
    void badFiles()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, problem);
        const QString path = write(QStringLiteral("bad-%1.json").arg(QLatin1StringView(QTest::currentDataTag())), bytes);
        QString error;
        QVERIFY(!AgentSettings::load(path, &error).has_value());
        QVERIFY2(error.startsWith(path), qPrintable(error));
        QVERIFY2(error.contains(problem), qPrintable(error));
        // parse() (the fuzz target's seam) is load() without the file: the same error.
        QString parseError;
        QVERIFY(!AgentSettings::parse(bytes, &parseError, path).has_value());
        QCOMPARE(parseError, error);
    }

    void parseIsLoadWithoutTheFile()
    {
        const QByteArray json = "{\"server\": \"wss://h:1\", \"id\": \"a\", \"secret\": \"b\", \"proxy\": \"none\"}";
        const QString path = write(QStringLiteral("good.json"), json);
        QString error;
        const auto loaded = AgentSettings::load(path, &error);
        QVERIFY2(loaded.has_value(), qPrintable(error));
        const auto parsed = AgentSettings::parse(json, &error, path);
        QVERIFY2(parsed.has_value(), qPrintable(error));
        QCOMPARE(parsed->path, loaded->path);
        QCOMPARE(parsed->server, loaded->server);
        QCOMPARE(parsed->id, loaded->id);
        QCOMPARE(parsed->secret, loaded->secret);
        QCOMPARE(parsed->proxy.toString(), loaded->proxy.toString());
    }

    void binaryExitsTwoOnCorruptConfig()
    {
        const QString binary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-agent/autofact-agent");
        if (!QFile::exists(binary))
            QSKIP("agent binary not built");
        const QString path = write(QStringLiteral("corrupt.json"), "{ not json");
        QProcess p;
        p.start(binary, {QStringLiteral("--config"), path});
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError()).trimmed();
        QVERIFY2(err.contains(path) && err.contains(QStringLiteral("invalid JSON")), qPrintable(err));
        QCOMPARE(err.count(u'\n'), 0); // one line

        QProcess noServer;
        noServer.start(binary, {QStringLiteral("--config"), m_dir.filePath(QStringLiteral("fresh.json"))});
        QVERIFY(noServer.waitForFinished(10000));
        QCOMPARE(noServer.exitCode(), 2);
        QVERIFY(QString::fromUtf8(noServer.readAllStandardError()).contains(QStringLiteral("--server")));

        QProcess badFlag;
        badFlag.start(binary, {QStringLiteral("--frobnicate")});
        QVERIFY(badFlag.waitForFinished(10000));
        QCOMPARE(badFlag.exitCode(), 2);
        QVERIFY(QString::fromUtf8(badFlag.readAllStandardError()).contains(QStringLiteral("frobnicate")));

        QProcess badUrl;
        badUrl.start(binary, {QStringLiteral("--config"), m_dir.filePath(QStringLiteral("fresh2.json")),
                              QStringLiteral("--server"), QStringLiteral("ftp://x")});
        QVERIFY(badUrl.waitForFinished(10000));
        QCOMPARE(badUrl.exitCode(), 2);
    }

    void binaryExitsTwoOnUnusableCaFile_data()
    {
        QTest::addColumn<QString>("caName");
        QTest::addColumn<QByteArray>("caBytes"); // empty: the file does not exist
        QTest::addColumn<QString>("expected");
        QTest::addRow("missing") << QStringLiteral("missing.pem") << QByteArray() << QStringLiteral("No such file");
        QTest::addRow("not-pem") << QStringLiteral("junk.pem") << QByteArray("just some text\n")
                                 << QStringLiteral("holds no PEM certificate");
    }
    void binaryExitsTwoOnUnusableCaFile()
    {
        QFETCH(QString, caName);
        QFETCH(QByteArray, caBytes);
        QFETCH(QString, expected);
        const QString binary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-agent/autofact-agent");
        if (!QFile::exists(binary))
            QSKIP("agent binary not built");
        const QString ca = caBytes.isEmpty() ? m_dir.filePath(caName) : write(caName, caBytes);
        // Checked at start, before any connection is tried: the port need not be listening.
        const QString config = write(QStringLiteral("ca-%1.json").arg(caName),
                                     QStringLiteral("{\"server\": \"wss://127.0.0.1:1\", \"ca\": \"%1\"}").arg(ca).toUtf8());
        QProcess p;
        p.start(binary, {QStringLiteral("--config"), config});
        QVERIFY(p.waitForFinished(10000));
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError()).trimmed();
        QVERIFY2(err.contains(ca) && err.contains(expected), qPrintable(err));
        QCOMPARE(err.count(u'\n'), 0);
    }
};

QTEST_GUILESS_MAIN(TestAgentSettings)
#include "tst_agentsettings.moc"
