// SPDX-License-Identifier: MIT
#include "codec.h"
#include "spool/spool.h"
#include "testdata.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <cstdio>

using namespace autofact;
using namespace autofact::agent;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;

Sample sampleAt(int i)
{
    Sample s = testdata::makeBatch(1, 1, 0, t0 + i * 1000LL).samples.front();
    s.load1 = float(i); // identifies the sample after a round trip
    return s;
}

std::vector<float> coresFor(int i)
{
    return {float(i % 100), float((i * 3) % 100)};
}

SampleBatch decodeBatch(const SpooledBatch &b)
{
    DecodeResult r = codec::decode(b.payload);
    if (!r.ok() || !std::holds_alternative<SampleBatch>(*r.message))
        qFatal("spooled payload does not decode: %s", qPrintable(r.reason));
    return std::get<SampleBatch>(*r.message);
}

/// All samples (by load1 tag) across every pending batch, in sequence order.
QList<int> pendingTags(const Spool &spool)
{
    QList<int> tags;
    for (const SpooledBatch &b : spool.pending(0, 100000)) {
        for (const Sample &s : decodeBatch(b).samples)
            tags.append(int(s.load1));
    }
    return tags;
}

QList<int> range(int from, int to)
{
    QList<int> out;
    for (int i = from; i < to; ++i)
        out.append(i);
    return out;
}

// Child mode: append samples forever, printing each index once append() has returned.
int runWriterChild(const QString &path)
{
    Spool spool(path);
    spool.open();
    for (int i = 0;; ++i) {
        spool.append(sampleAt(i), coresFor(i));
        if (i % 7 == 6)
            spool.seal(t0 + i * 1000LL, 5);
        std::printf("%d\n", i);
        std::fflush(stdout);
    }
}

} // namespace

class TestSpool : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    int m_case = 0;
    QString freshPath() { return m_dir.filePath(QStringLiteral("spool-%1.db").arg(++m_case)); }

private slots:
    void appendSealSendAck()
    {
        Spool spool(freshPath());
        QVERIFY(spool.open());
        for (int i = 0; i < 5; ++i)
            spool.append(sampleAt(i), coresFor(i));
        QCOMPARE(spool.openSampleCount(), std::size_t(5));
        QCOMPARE(spool.seal(t0 + 5000, 600), 1);
        QCOMPARE(spool.openSampleCount(), std::size_t(0));
        const auto pending = spool.pending(0, 10);
        QCOMPARE(pending.size(), std::size_t(1));
        QCOMPARE(pending[0].sequence, std::uint64_t(1));
        const SampleBatch batch = decodeBatch(pending[0]);
        QCOMPARE(batch.sequence, std::uint64_t(1));
        QCOMPARE(batch.samples.size(), std::size_t(5));
        QCOMPARE(batch.samples[3], [] { Sample s = sampleAt(3); s.coreCount = 2; return s; }());
        QCOMPARE(batch.coreBusy.size(), std::size_t(10));
        QCOMPARE(batch.coreBusy[6], 3.0f);
        QCOMPARE(batch.coreBusy[7], 9.0f);
        QCOMPARE(spool.backlogBatches(), 1u);
        QVERIFY(spool.backlogBytes() > 0);
        spool.acknowledge(Ack{1, {}});
        QCOMPARE(spool.backlogBatches(), 0u);
        QCOMPARE(spool.backlogBytes(), std::uint64_t(0));
        QVERIFY(spool.pending(0, 10).empty());
    }

    void sealSplitsLargeBacklog()
    {
        Spool spool(freshPath());
        QVERIFY(spool.open());
        for (int i = 0; i < 23; ++i)
            spool.append(sampleAt(i), coresFor(i));
        QCOMPARE(spool.seal(t0, 10), 3);
        const auto pending = spool.pending(0, 10);
        QCOMPARE(pending.size(), std::size_t(3));
        QCOMPARE(decodeBatch(pending[2]).samples.size(), std::size_t(3));
        QCOMPARE(pendingTags(spool), range(0, 23));
        // pending() after a sequence skips what was already sent.
        QCOMPARE(spool.pending(2, 10).size(), std::size_t(1));
        QCOMPARE(spool.pending(0, 2).size(), std::size_t(2));
    }

    void acksOutOfOrderDuplicatedAndStale()
    {
        Spool spool(freshPath());
        QVERIFY(spool.open());
        for (int i = 0; i < 5; ++i) {
            spool.append(sampleAt(i), coresFor(i));
            spool.seal(t0 + i * 1000LL, 600);
        }
        QCOMPARE(spool.backlogBatches(), 5u);
        spool.acknowledge(Ack{0, {{4, 4}}});
        spool.acknowledge(Ack{0, {{4, 4}}});
        spool.acknowledge(Ack{0, {{2, 3}}});
        QCOMPARE(pendingTags(spool), (QList<int>{0, 4}));
        spool.acknowledge(Ack{1, {}});
        spool.acknowledge(Ack{0, {{99, 120}}});
        QCOMPARE(pendingTags(spool), (QList<int>{4}));
        QCOMPARE(spool.pending(0, 10).front().sequence, std::uint64_t(5));
    }

    void reopenKeepsEverythingAndNeverReusesSequences()
    {
        const QString path = freshPath();
        {
            Spool spool(path);
            QVERIFY(spool.open());
            for (int i = 0; i < 4; ++i)
                spool.append(sampleAt(i), coresFor(i));
            spool.seal(t0, 600);
            spool.append(sampleAt(4), coresFor(4));
            spool.acknowledge(Ack{1, {}}); // everything sealed is acked: no batch left on disk
        }
        Spool spool(path);
        QVERIFY(spool.open());
        QCOMPARE(spool.openSampleCount(), std::size_t(1));
        QCOMPARE(spool.nextSequence(), std::uint64_t(2));
        spool.seal(t0, 600);
        QCOMPARE(spool.pending(0, 10).front().sequence, std::uint64_t(2));
        QCOMPARE(pendingTags(spool), (QList<int>{4}));
        spool.ensureSequenceAbove(41);
        QCOMPARE(spool.nextSequence(), std::uint64_t(42));
        spool.ensureSequenceAbove(3); // never goes backwards
        QCOMPARE(spool.nextSequence(), std::uint64_t(42));
    }

    void opensSpoolWrittenByEarlierVersion()
    {
        // Written by the Qt Sql implementation (fixtures/spool/README.md): agents upgraded in
        // place must keep their backlog, sequence, drop count and the server's limits.
        const QString path = freshPath();
        QVERIFY(QFile::copy(QStringLiteral(AUTOFACT_FIXTURES "/spool/spool-qtsql-v1.db"), path));
        QVERIFY(QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner));
        Spool spool(path);
        QVERIFY(spool.open());
        QVERIFY(!spool.degraded());
        QCOMPARE(spool.backlogBatches(), 2u);
        QCOMPARE(spool.openSampleCount(), std::size_t(2));
        QCOMPARE(spool.nextSequence(), std::uint64_t(11));
        QCOMPARE(spool.droppedTotal(), std::uint64_t(5));
        const auto pending = spool.pending(0, 10);
        QCOMPARE(pending.size(), std::size_t(2));
        QCOMPARE(pending[0].sequence, std::uint64_t(3));
        QCOMPARE(pending[0].firstTimestampMs, t0 + 10000);
        QCOMPARE(pending[1].sequence, std::uint64_t(10));
        QCOMPARE(pendingTags(spool), range(10, 15));
        QCOMPARE(spool.seal(t0 + 17000, 600), 1);
        QCOMPARE(pendingTags(spool), range(10, 17));
        QCOMPARE(decodeBatch(spool.pending(10, 1).front()).droppedTotal, std::uint64_t(5));
        // The stored age limit (1 h, not the built-in 7 d) applies before any server speaks.
        spool.seal(t0 + 3600 * 1000 + 11000, 600);
        QCOMPARE(spool.droppedTotal(), std::uint64_t(7));
        QCOMPARE(pendingTags(spool), range(12, 17));
    }

    void corruptFileIsMovedAside()
    {
        const QString path = freshPath();
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray("SQLite format 3\0", 16) + QByteArray(8192, '\xab'));
        }
        Spool spool(path);
        QVERIFY(spool.open());
        QVERIFY(!spool.degraded());
        const QStringList aside = QDir(m_dir.path()).entryList({QFileInfo(path).fileName() + QStringLiteral(".corrupt-*")});
        QCOMPARE(aside.size(), 1);
        spool.append(sampleAt(1), coresFor(1));
        spool.seal(t0, 600);
        QCOMPARE(pendingTags(spool), (QList<int>{1}));
    }

    void truncatedFileIsRecoveredOrMovedAside()
    {
        const QString path = freshPath();
        {
            Spool spool(path);
            QVERIFY(spool.open());
            for (int i = 0; i < 50; ++i)
                spool.append(sampleAt(i), coresFor(i));
            spool.seal(t0, 600);
        }
        QFile::remove(path + QStringLiteral("-wal"));
        QFile::remove(path + QStringLiteral("-shm"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.resize(f.size() / 2));
        f.close();
        Spool spool(path);
        QVERIFY(spool.open()); // opens: either what survived or a fresh spool
        spool.append(sampleAt(100), coresFor(100));
        spool.seal(t0, 600);
        QVERIFY(pendingTags(spool).contains(100));
    }

    void sizeLimitDropsOldestAndCounts()
    {
        Spool spool(freshPath());
        QVERIFY(spool.open());
        for (int i = 0; i < 10; ++i) {
            spool.append(sampleAt(i), coresFor(i));
            spool.seal(t0 + i * 1000LL, 600);
        }
        const std::uint64_t perBatch = spool.backlogBytes() / 10;
        spool.setLimits(perBatch * 4 + perBatch / 2, 3600 * 1000, t0 + 10000);
        QCOMPARE(spool.backlogBatches(), 4u);
        QCOMPARE(spool.droppedTotal(), std::uint64_t(6));
        QCOMPARE(pendingTags(spool), range(6, 10));
        // Unsealed samples count too: the new sample pushes one more batch out at once, and
        // the batch it is sealed into tells the server how many were dropped so far.
        spool.append(sampleAt(10), coresFor(10));
        QCOMPARE(spool.droppedTotal(), std::uint64_t(7));
        spool.seal(t0 + 11000, 600);
        QCOMPARE(decodeBatch(spool.pending(10, 10).front()).droppedTotal, std::uint64_t(7));
        QCOMPARE(spool.backlogBatches(), 4u);
        QCOMPARE(pendingTags(spool), range(7, 11));
    }

    void ageLimitDropsOldest()
    {
        const QString path = freshPath();
        {
            Spool spool(path);
            QVERIFY(spool.open());
            for (int i = 0; i < 10; ++i) {
                spool.append(sampleAt(i * 60), coresFor(i));
                spool.seal(t0 + i * 60000LL, 600);
            }
            spool.setLimits(1 << 30, 5 * 60 * 1000, t0 + 9 * 60000LL);
            QCOMPARE(spool.droppedTotal(), std::uint64_t(4));
        }
        Spool reopened(path);
        QVERIFY(reopened.open());
        QCOMPARE(reopened.droppedTotal(), std::uint64_t(4)); // the count is durable
        QCOMPARE(reopened.backlogBatches(), 6u);
    }

    void limitsSurviveRestart()
    {
        // The server's limits are stricter than the built-in ones here (1 h instead of 7 d):
        // after a restart, before any server speaks, a 2-hour-old batch must still go.
        const QString path = freshPath();
        {
            Spool spool(path);
            QVERIFY(spool.open());
            spool.setLimits(1ull << 30, 3600 * 1000, t0);
        }
        Spool spool(path);
        QVERIFY(spool.open());
        spool.append(sampleAt(1), coresFor(1));
        spool.seal(t0 + 1000, 600);
        QCOMPARE(spool.backlogBatches(), 1u);
        Sample recent = sampleAt(2);
        recent.timestampMs = t0 + 2 * 3600 * 1000 - 1000;
        spool.append(recent, coresFor(2));
        spool.seal(t0 + 2 * 3600 * 1000, 600); // the first batch is now 2 hours old
        QCOMPARE(spool.droppedTotal(), std::uint64_t(1));
        QCOMPARE(pendingTags(spool), (QList<int>{2}));
    }

    void unsealedSamplesAreBoundedToo()
    {
        // Before its first Welcome the agent does not seal: open samples alone must respect
        // the size limit, oldest dropped first and counted.
        Spool spool(freshPath());
        QVERIFY(spool.open());
        spool.append(sampleAt(0), coresFor(0));
        spool.setLimits(64 * 1024, 3600 * 1000, t0);
        for (int i = 1; i < 2000; ++i)
            spool.append(sampleAt(i), coresFor(i));
        QVERIFY(spool.droppedTotal() > 0);
        QVERIFY(spool.openSampleCount() < 2000);
        QCOMPARE(spool.openSampleCount() + spool.droppedTotal(), std::uint64_t(2000));
        spool.seal(t0 + 2'000'000, 600);
        const QList<int> tags = pendingTags(spool);
        QCOMPARE(tags.last(), 1999); // the newest survive
        QCOMPARE(tags, range(int(2000 - tags.size()), 2000));
        QVERIFY(spool.backlogBytes() <= 64 * 1024);
    }

    void unopenableSpoolIsNotMovedAside()
    {
        // Only SQLite's verdict of corruption moves a file aside; a path that cannot be
        // opened (here: a folder) leaves everything in place and the spool runs in memory.
        const QString path = freshPath();
        QVERIFY(QDir().mkpath(path));
        Spool spool(path);
        QString error;
        QVERIFY(!spool.open(&error));
        QVERIFY(error.contains(path));
        QVERIFY(spool.degraded());
        QVERIFY(QFileInfo(path).isDir());
        QVERIFY(QDir(m_dir.path()).entryList({QFileInfo(path).fileName() + QStringLiteral(".corrupt-*")}).isEmpty());
        spool.append(sampleAt(5), coresFor(5));
        spool.seal(t0, 600);
        QCOMPARE(pendingTags(spool), (QList<int>{5}));
    }

    void fullDiskKeepsSamplesInMemoryThenRecovers()
    {
        Spool spool(freshPath());
        QVERIFY(spool.open());
        spool.append(sampleAt(0), coresFor(0));
        spool.seal(t0, 600);
        // Cap the file at its current size: the next writes fail with SQLITE_FULL.
        spool.setMaxPageCountForTesting(1);
        for (int i = 1; i < 400; ++i) {
            spool.append(sampleAt(i), coresFor(i));
            if (i % 50 == 0)
                spool.seal(t0 + i * 1000LL, 600);
        }
        QVERIFY(spool.degraded());
        spool.seal(t0 + 400000, 600);
        // Samples that reached the file before it filled up stay there, unsealed, until it
        // can be written again; everything else is in memory batches. Nothing is missing.
        const std::size_t stuckOnDisk = spool.openSampleCount();
        QCOMPARE(std::size_t(pendingTags(spool).size()) + stuckOnDisk, std::size_t(400));
        spool.setMaxPageCountForTesting(1 << 30);
        spool.append(sampleAt(400), coresFor(400));
        QVERIFY(!spool.degraded());
        spool.seal(t0 + 401000, 600);
        QCOMPARE(spool.openSampleCount(), std::size_t(0));
        QList<int> tags = pendingTags(spool);
        std::sort(tags.begin(), tags.end());
        QCOMPARE(tags, range(0, 401)); // every sample exactly once
        // And it is really on disk now: sequences are unique and ordered.
        const auto pending = spool.pending(0, 1000);
        for (std::size_t i = 1; i < pending.size(); ++i)
            QVERIFY(pending[i].sequence > pending[i - 1].sequence);
    }

    void killedMidWriteLosesNothingAcknowledged()
    {
        // A child process appends as fast as it can and reports each sample once append()
        // returned; we kill -9 it at an arbitrary moment and check that every reported
        // sample is in the spool, once, in order.
        const QString path = freshPath();
        QProcess child;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("AUTOFACT_SPOOL_CHILD"), path);
        child.setProcessEnvironment(env);
        child.start(QCoreApplication::applicationFilePath(), {});
        QVERIFY(child.waitForStarted());
        QByteArray out;
        QTRY_VERIFY_WITH_TIMEOUT((out += child.readAllStandardOutput(), out.count('\n') >= 300), 30000);
        ::kill(pid_t(child.processId()), SIGKILL);
        QVERIFY(child.waitForFinished());
        out += child.readAllStandardOutput();
        const QList<QByteArray> lines = out.trimmed().split('\n');
        const int reported = lines.last().toInt() + 1;
        QVERIFY(reported >= 300);

        Spool spool(path);
        QVERIFY(spool.open());
        spool.seal(t0 + 1'000'000, 600);
        const QList<int> tags = pendingTags(spool);
        QVERIFY2(tags.size() >= reported, qPrintable(QStringLiteral("%1 < %2").arg(tags.size()).arg(reported)));
        QCOMPARE(tags.mid(0, reported), range(0, reported));
        // Anything beyond what was reported was written but not yet reported; still no dupes.
        QCOMPARE(tags, range(0, int(tags.size())));
    }
};

int main(int argc, char *argv[])
{
    const QByteArray childPath = qgetenv("AUTOFACT_SPOOL_CHILD");
    if (!childPath.isEmpty()) {
        QCoreApplication app(argc, argv);
        return runWriterChild(QString::fromLocal8Bit(childPath));
    }
    QCoreApplication app(argc, argv);
    TestSpool test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_spool.moc"
