// SPDX-License-Identifier: MIT
// A version-4 database of realistic size (20 machines, 4 hours at 1 s, 8 cores: 288,000 samples
// as rows) is opened by the real server, which migrates it and seals its history into chunks in
// slices; the server is killed (SIGKILL) mid-sealing and started again, finishes, and every
// sample is there exactly once with the values that were stored, to the chunks' precision.
#include "schemav1.h"
#include "store/configstore.h"
#include "store/samplechunk.h"
#include "store/store.h"

#include <QDateTime>
#include <QFile>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <set>

using namespace autofact;
using namespace autofact::server;

namespace {

const QString serverBinary = QStringLiteral(AUTOFACT_BINARY_DIR "/app-server/autofactory");

constexpr int kClients = 20;
constexpr int kSamples = 4 * 3600; // per client, 1 s apart
constexpr int kCores = 8;
constexpr int kPerBatch = 5;

// Version 4 as it shipped: v1's tables (schemav1.h), then v2's columns and settings, v3's minute
// rollups, v4's flag.
constexpr const char *kV2toV4[] = {
        "ALTER TABLE clients ADD COLUMN forgotten_ms INTEGER",
        "ALTER TABLE clients ADD COLUMN config_override TEXT",
        "ALTER TABLE clients ADD COLUMN config_revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE clients ADD COLUMN applied_revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE clients ADD COLUMN applied_ms INTEGER",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        "CREATE TABLE sample_minutes (client INTEGER NOT NULL REFERENCES clients(num) ON DELETE CASCADE,"
        " minute_ms INTEGER NOT NULL, n INTEGER NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
        " mem_total REAL NOT NULL, user_min REAL NOT NULL, user_max REAL NOT NULL,"
        " system_min REAL NOT NULL, system_max REAL NOT NULL, iowait_min REAL NOT NULL, iowait_max REAL NOT NULL,"
        " steal_min REAL NOT NULL, steal_max REAL NOT NULL, used_min REAL NOT NULL, used_max REAL NOT NULL,"
        " cache_min REAL NOT NULL, cache_max REAL NOT NULL, available_min REAL NOT NULL,"
        " available_max REAL NOT NULL, swap_min REAL NOT NULL, swap_max REAL NOT NULL,"
        " PRIMARY KEY (client, minute_ms)) WITHOUT ROWID",
        "ALTER TABLE clients ADD COLUMN baseline_pending INTEGER NOT NULL DEFAULT 0",
};

/** The value every generated sample has: what the test expects back. */
struct Generated {
    static float user(int c, int i) { return float((c * 131 + i * 7) % 6000) / 100.0f + 0.123f; }
    static float core(int c, int i, int k) { return float((c * 17 + i * 3 + k * 29) % 10000) / 100.0f * 0.999f; }
    static qint64 free(int c, int i) { return (2ll << 30) + qint64((c * 4099 + i * 13) % 100000) * 4096; }
};

qint64 sampleTime(qint64 startMs, int i)
{
    return startMs + qint64(i) * 1000 + (i * 7) % 5; // a few ms of jitter, as real agents have
}

/** Writes the version-4 fixture: kClients machines with kSamples samples each, ending now-ish. */
bool writeFixture(const QString &path, qint64 startMs)
{
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("fixture"));
    db.setDatabaseName(path);
    bool ok = db.open();
    {
        QSqlQuery q(db);
        const auto run = [&](const QString &sql) {
            if (ok && !q.exec(sql)) {
                qWarning() << sql << q.lastError().text();
                ok = false;
            }
        };
        run(QStringLiteral("PRAGMA journal_mode=WAL"));
        for (const char *sql : testdata::schemaV1Tables)
            run(QString::fromLatin1(sql));
        for (const char *sql : kV2toV4)
            run(QString::fromLatin1(sql));
        AgentConfig defaults;
        defaults.revision = 1;
        QSqlQuery seed(db);
        seed.prepare(QStringLiteral("INSERT INTO settings VALUES ('config_counter', '1'), ('default_config', ?)"));
        seed.addBindValue(ConfigStore::toJson(defaults));
        ok = ok && seed.exec();
        run(QStringLiteral("BEGIN"));
        QSqlQuery sample(db);
        sample.prepare(QStringLiteral("INSERT INTO samples VALUES (?,?,?, ?,0.5,4.25,?,1.5,0.25,0.75,0,0,"
                                      " 17179869184,?,?,536870912,6442450944,?,2147483648,2046820352, ?,0.4,0.3, 0, ?)"));
        QSqlQuery batch(db);
        batch.prepare(QStringLiteral("INSERT INTO batches VALUES (?,?,?,?)"));
        QByteArray cores(kCores * 4, '\0');
        for (int c = 1; ok && c <= kClients; ++c) {
            run(QStringLiteral("INSERT INTO clients(num, id, hostname, first_seen_ms, last_seen_ms, sample_count,"
                               " last_sequence, last_sample_ms, cpu_count) VALUES (%1, 'client%2', 'host-%2', %3, %4, %5, %6, %7, 8)")
                        .arg(c)
                        .arg(c, 6, 10, QLatin1Char('0'))
                        .arg(startMs)
                        .arg(sampleTime(startMs, kSamples - 1))
                        .arg(kSamples)
                        .arg(kSamples / kPerBatch)
                        .arg(sampleTime(startMs, kSamples - 1)));
            for (int i = 0; ok && i < kSamples; ++i) {
                const float user = Generated::user(c, i);
                for (int k = 0; k < kCores; ++k) {
                    const float v = Generated::core(c, i, k);
                    std::memcpy(cores.data() + k * 4, &v, 4); // little-endian hosts (the test's platforms)
                }
                const qint64 free = Generated::free(c, i);
                const QVariantList values{c, sampleTime(startMs, i), i / kPerBatch + 1, double(user),
                                          double(100.0f - user - 0.5f - 4.25f - 1.5f - 0.25f - 0.75f), free,
                                          free + (3ll << 30), (17179869184ll - free - (3ll << 30)),
                                          double(float(i % 400) / 100.0f), cores};
                for (int v = 0; v < values.size(); ++v)
                    sample.bindValue(v, values[v]);
                ok = sample.exec();
                if (i % kPerBatch == kPerBatch - 1) {
                    for (const QVariant &v : {QVariant(c), QVariant(i / kPerBatch + 1), QVariant(sampleTime(startMs, i)),
                                              QVariant(kPerBatch)})
                        batch.addBindValue(v);
                    ok = ok && batch.exec();
                }
            }
        }
        // v3's backfill of the minute rollups, as that migration ran it.
        run(QStringLiteral("INSERT INTO sample_minutes SELECT client, (ts_ms / 60000) * 60000, count(*), min(ts_ms),"
                           " max(ts_ms), max(mem_total), min(cpu_user + cpu_nice), max(cpu_user + cpu_nice),"
                           " min(cpu_system + cpu_irq + cpu_softirq), max(cpu_system + cpu_irq + cpu_softirq),"
                           " min(cpu_iowait), max(cpu_iowait), min(cpu_steal), max(cpu_steal), min(mem_used), max(mem_used),"
                           " min(mem_cached + mem_buffers), max(mem_cached + mem_buffers), min(mem_available),"
                           " max(mem_available), min(swap_total - min(swap_free, swap_total)),"
                           " max(swap_total - min(swap_free, swap_total)) FROM samples GROUP BY client, ts_ms / 60000"));
        run(QStringLiteral("PRAGMA user_version = 4"));
        run(QStringLiteral("COMMIT"));
    }
    db.close();
    db = {};
    QSqlDatabase::removeDatabase(QStringLiteral("fixture"));
    return ok;
}

/** Counts rows with a throwaway connection (the server may be writing: WAL readers do not block it). */
qint64 countRows(const QString &path, const QString &sql)
{
    qint64 n = -1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("count"));
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=5000"));
        if (db.open()) {
            QSqlQuery q(db);
            if (q.exec(sql) && q.next())
                n = q.value(0).toLongLong();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("count"));
    return n;
}

} // namespace

class TestMigration : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString logText() const
    {
        QFile f(m_dir.filePath(QStringLiteral("server.log")));
        return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
    }

    std::unique_ptr<QProcess> startServer(const QString &db)
    {
        auto p = std::make_unique<QProcess>();
        p->setStandardErrorFile(m_dir.filePath(QStringLiteral("server.log")), QIODevice::Append);
        p->setStandardOutputFile(QProcess::nullDevice());
        p->start(serverBinary, {QStringLiteral("--headless"), QStringLiteral("--insecure-ws"), QStringLiteral("--listen"),
                                QStringLiteral("127.0.0.1:0"), QStringLiteral("--db"), db});
        return p;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        if (!QFile::exists(serverBinary))
            QSKIP("autofactory not built");
    }

    void killedMidMigrationFinishesOnRestartAndLosesNothing()
    {
        const QString db = m_dir.filePath(QStringLiteral("v4.sqlite"));
        // Ends an hour ago: inside the default raw retention, every window closed.
        const qint64 startMs = QDateTime::currentMSecsSinceEpoch() - 3'600'000 - qint64(kSamples) * 1000;
        QVERIFY(writeFixture(db, startMs));
        const qint64 total = qint64(kClients) * kSamples;
        QCOMPARE(countRows(db, QStringLiteral("SELECT count(*) FROM samples")), total);

        // First start: schema v4 -> v10 at once, then sealing in slices with progress in the log.
        auto server = startServer(db);
        QVERIFY(server->waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(logText().contains(u"raw samples into chunks (history stored as rows"), 60000);
        QTRY_VERIFY_WITH_TIMEOUT(logText().contains(QRegularExpression(QStringLiteral("sealed \\d+ of 288000 raw samples"))), 60000);
        server->kill(); // SIGKILL, mid-sealing
        QVERIFY(server->waitForFinished());
        const qint64 headLeft = countRows(db, QStringLiteral("SELECT count(*) FROM samples"));
        const qint64 inChunks = countRows(db, QStringLiteral("SELECT coalesce(sum(samples), 0) FROM sample_chunks"));
        QVERIFY2(headLeft > 0 && inChunks > 0, qPrintable(QStringLiteral("head %1, chunks %2").arg(headLeft).arg(inChunks)));
        QCOMPARE(headLeft + inChunks, total); // a slice is all or nothing

        // Second start: the rest is sealed; then a clean stop.
        server = startServer(db);
        QVERIFY(server->waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(logText().contains(u"sealing done:"), 90000);
        server->terminate();
        QVERIFY(server->waitForFinished(30000));
        QCOMPARE(countRows(db, QStringLiteral("SELECT count(*) FROM samples")), 0);
        QCOMPARE(countRows(db, QStringLiteral("SELECT coalesce(sum(samples), 0) FROM sample_chunks")), total);

        // Every sample once, in order, with its values.
        Store store(db, {StoreOptions::Mode::ReadOnly});
        QVERIFY(store.open());
        QCOMPARE(store.schemaVersion(), Schema::currentVersion);
        for (int c = 1; c <= kClients; ++c) {
            const QString id = QStringLiteral("client%1").arg(c, 6, 10, QLatin1Char('0'));
            int i = 0;
            QString bad;
            auto read = store.history().forEachSample({id}, 0, std::numeric_limits<qint64>::max(), [&](const StoredSample &r) {
                const Sample &x = r.sample;
                const bool ok = x.timestampMs == sampleTime(startMs, i) && r.sequence == quint64(i / kPerBatch + 1)
                        && x.memory.free == quint64(Generated::free(c, i)) && x.coreCount == kCores
                        && x.cpu.user == SampleChunk::stored(Generated::user(c, i))
                        && std::fabs(r.core(5) - Generated::core(c, i, 5)) <= 0.00501f;
                if (!ok && bad.isEmpty())
                    bad = QStringLiteral("client %1 sample %2 at %3").arg(c).arg(i).arg(x.timestampMs);
                ++i;
                return true;
            });
            QVERIFY(read);
            QVERIFY2(bad.isEmpty(), qPrintable(bad));
            QCOMPARE(i, kSamples);
        }
        QCOMPARE(store.history().countSamples({}, 0, std::numeric_limits<qint64>::max()).valueOr(-1), total);
        QVERIFY(store.history().gaps({}).valueOr(QList<Gap>{{}}).isEmpty()); // no gap made up
    }
};

QTEST_GUILESS_MAIN(TestMigration)
#include "tst_migration.moc"
