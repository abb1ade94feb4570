// SPDX-License-Identifier: MIT
// The real agent binary while its server's name cannot be resolved: getaddrinfo() hangs (an
// LD_PRELOAD shim, slowlookup.cpp, stands in for an unreachable DNS server). Sampling must go
// on into the spool, and SIGTERM must end the process at once with everything kept, not after
// the lookup gives up.
#include "sqlreader.h"

#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>
#include <QTest>

namespace {
const QString agentBinary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-agent/autofact-agent");

qint64 openSamples(const QString &spool)
{
    autofact::testdata::SqlReader reader(spool);
    return reader.scalar(QStringLiteral("SELECT COUNT(*) FROM open_samples"));
}
} // namespace

class TestNameLookup : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void hungLookupBlocksNeitherSamplingNorExit_data()
    {
        QTest::addColumn<QString>("proxy");
        QTest::addRow("direct") << QStringLiteral("none");
        QTest::addRow("system proxy settings") << QStringLiteral("system");
    }
    void hungLookupBlocksNeitherSamplingNorExit()
    {
        QFETCH(QString, proxy);
        QTemporaryDir dir;
        const QString config = dir.filePath(QStringLiteral("autofact-agent.json"));
        const QString spool = dir.filePath(QStringLiteral("autofact-spool.db"));
        const QString marker = dir.filePath(QStringLiteral("lookups"));
        {
            QFile f(config);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("{\"server\": \"ws://hub.slow-lookup.test:8675\", \"insecure\": true, \"proxy\": \"" + proxy.toUtf8() + "\"}");
        }
        QProcess agent;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LD_PRELOAD"), QStringLiteral(SLOWLOOKUP_PATH));
        env.insert(QStringLiteral("SLOW_LOOKUP_MARKER"), marker);
        env.insert(QStringLiteral("AUTOFACT_PATH"), dir.path());
        // Sanitizer builds: the shim comes before the ASan runtime in the preload list.
        env.insert(QStringLiteral("ASAN_OPTIONS"),
                   env.value(QStringLiteral("ASAN_OPTIONS")) + QStringLiteral(":verify_asan_link_order=0"));
        const QString log = dir.filePath(QStringLiteral("agent.log"));
        agent.setStandardErrorFile(log);
        // No proxy from this machine's environment: the lookup must be the server's own.
        for (const char *name : {"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"})
            env.remove(QString::fromLatin1(name));
        agent.setProcessEnvironment(env);
        agent.start(agentBinary, {QStringLiteral("--config"), config});
        QVERIFY(agent.waitForStarted(10000));

        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(marker), 15000); // the lookup hangs now
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(spool), 15000);
        const qint64 before = openSamples(spool);
        // Default behaviour before any server speaks: a sample a second.
        QTRY_VERIFY_WITH_TIMEOUT(openSamples(spool) >= before + 2, 15000);
        QCOMPARE(agent.state(), QProcess::Running);

        const qint64 kept = openSamples(spool);
        agent.terminate();
        // The shim holds the lookup for 120 s; an exit that waited for it would miss this.
        QVERIFY2(agent.waitForFinished(15000), "the agent waited for the hung name lookup");
        QCOMPARE(agent.exitStatus(), QProcess::NormalExit);
        QCOMPARE(agent.exitCode(), 0);
        QVERIFY(openSamples(spool) >= kept);
        // The orderly part of the shutdown ran before the process ended.
        QFile logFile(log);
        QVERIFY(logFile.open(QIODevice::ReadOnly));
        const QByteArray written = logFile.readAll();
        QVERIFY2(written.contains("stopping;"), written.constData());
    }
};

QTEST_GUILESS_MAIN(TestNameLookup)
#include "tst_namelookup.moc"
