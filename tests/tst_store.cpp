// SPDX-License-Identifier: MIT
#include "store/store.h"
#include "storetesting.h"
#include "schemav1.h"
#include "testdata.h"

#include "csvexporter.h"
#include "store/samplechunk.h"

#include <QBuffer>
#include <QDateTime>
#include <QTimeZone>

#include <QFile>
#include <QRegularExpression>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>

#include "testpostgres.h"
#include <QTest>

using namespace autofact;
using namespace autofact::server;
using Status = Store::IngestResult::Status;

namespace {

constexpr qint64 kNow = 1'700'000'000'000;

Hello makeHello(const QString &hostname, const QString &id = {}, const QString &secret = {})
{
    Hello h;
    h.agentId = id;
    h.secret = secret;
    h.hostname = hostname;
    h.osName = QStringLiteral("Debian GNU/Linux");
    h.osVersion = QStringLiteral("12");
    h.kernel = QStringLiteral("6.1.0-13-amd64");
    h.arch = QStringLiteral("x86_64");
    h.cpuModel = QStringLiteral("Test CPU");
    h.cpuCount = 8;
    h.memTotal = 16ull << 30;
    h.bootTimeMs = kNow - 3600'000;
    h.agentVersion = QStringLiteral("0.1.0");
    return h;
}

/** A second, independent connection for inspecting or sabotaging the file. */
class RawConnection
{
public:
    explicit RawConnection(const QString &path)
        : m_name(QStringLiteral("tst_store.raw.%1").arg(++s_counter))
    {
        if (server::StoreLocation::looksLikePostgres(path)) {
            m_ok = autofact::testing::openPostgres(path, m_name).isOpen();
            return;
        }
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=2000"));
        m_ok = db.open();
    }
    ~RawConnection()
    {
        QSqlDatabase::database(m_name, false).close();
        QSqlDatabase::removeDatabase(m_name);
    }
    bool ok() const { return m_ok; }
    QSqlDatabase db() const { return QSqlDatabase::database(m_name, false); }
    bool exec(const QString &sql)
    {
        QSqlQuery q(db());
        if (!q.exec(sql)) {
            qWarning() << sql << q.lastError().text();
            return false;
        }
        return true;
    }
    QVariant scalar(const QString &sql)
    {
        QSqlQuery q(db());
        if (!q.exec(sql) || !q.next()) {
            qWarning() << sql << q.lastError().text();
            return {};
        }
        return q.value(0);
    }
    /** Every row of every table, sorted: equal dumps mean equal content. */
    QStringList dump()
    {
        QStringList out;
        if (db().driverName() == u"QPSQL") {
            QSqlQuery tables(db());
            if (!tables.exec(QStringLiteral("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                                            " ORDER BY tablename")))
                return {QStringLiteral("error")};
            QStringList names;
            while (tables.next())
                names << tables.value(0).toString();
            return out << names << rowsOf(names);
        }
        out << QStringLiteral("user_version=%1").arg(scalar(QStringLiteral("PRAGMA user_version")).toInt());
        QSqlQuery tables(db());
        if (!tables.exec(QStringLiteral(
                    "SELECT name, sql FROM sqlite_schema ORDER BY name")))
            return {QStringLiteral("error")};
        QStringList names;
        while (tables.next()) {
            out << tables.value(1).toString();
            if (tables.value(1).toString().startsWith(u"CREATE TABLE"))
                names << tables.value(0).toString();
        }
        return out << rowsOf(names);
    }
    QStringList rowsOf(const QStringList &names)
    {
        QStringList out;
        for (const QString &name : names) {
            QSqlQuery q(db());
            if (!q.exec(QStringLiteral("SELECT * FROM %1").arg(name)))
                return {QStringLiteral("error")};
            QStringList rows;
            while (q.next()) {
                QStringList fields;
                for (int i = 0; i < q.record().count(); ++i) {
                    const QVariant v = q.value(i);
                    fields << (v.isNull() ? QStringLiteral("NULL")
                                          : (v.typeId() == QMetaType::QByteArray
                                                     ? QString::fromLatin1(v.toByteArray().toHex())
                                                     : v.toString()));
                }
                rows << name + u':' + fields.join(u'|');
            }
            rows.sort();
            out << rows;
        }
        return out;
    }

private:
    static inline int s_counter = 0;
    QString m_name;
    bool m_ok = false;
};

} // namespace

// Tests of the SQLite file itself (its bytes, pragmas, a second raw connection) do not apply to
// a PostgreSQL server; everything else runs against both backends.
#define SQLITE_ONLY()                                                                                                  \
    do {                                                                                                               \
        if (onPostgres())                                                                                              \
            QSKIP("about the SQLite file");                                                                            \
    } while (false)

class TestStore : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_fileCounter = 0;
    /** A fresh store location: an SQLite file, or a new database when AUTOFACT_TEST_POSTGRES is set. */
    QString newPath()
    {
        if (!autofact::testing::postgresAdminUri().isEmpty())
            return autofact::testing::newPostgresDatabase();
        return m_dir.filePath(QStringLiteral("db%1.sqlite").arg(++m_fileCounter));
    }
    static bool onPostgres() { return !autofact::testing::postgresAdminUri().isEmpty(); }
    /** A blob literal in the backend's syntax. */
    static QString blob(const char *hex)
    {
        return onPostgres() ? QStringLiteral("'\\x%1'::bytea").arg(QLatin1StringView(hex))
                            : QStringLiteral("x'%1'").arg(QLatin1StringView(hex));
    }

    /** Opens a fresh store and enrols one client; returns its ID. */
    QString enrol(Store &store, const QString &hostname = QStringLiteral("host-a"))
    {
        const AuthResult r = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(hostname), QStringLiteral("127.0.0.1:1"),
                                                kNow));
        if (r.outcome != AuthResult::Outcome::NewClient)
            return {};
        return r.clientId;
    }

    /** Ingests one batch; a failed transaction reads as one Failed result. */
    static std::vector<Store::IngestResult> ingestAt(Store &store, const QString &id,
                                                     const SampleBatch &batch, qint64 nowMs)
    {
        const Store::IngestItem item{id, &batch};
        auto results = store.ingest().write(std::span(&item, 1), nowMs);
        if (!results)
            return {{Status::Failed, batch.sequence}};
        return *results;
    }

    static std::vector<Store::IngestResult> ingestOne(Store &store, const QString &id,
                                                      const SampleBatch &batch)
    {
        return ingestAt(store, id, batch, kNow);
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // --- schema ---------------------------------------------------------------------------------

    void createsSchema()
    {
        SQLITE_ONLY();
        const QString path = newPath();
        Store store(path);
        QVERIFY_STORE(store.open());
        QCOMPARE(store.schemaVersion(), Store::currentSchemaVersion);
        QVERIFY(QFile::exists(path));
        RawConnection raw(path);
        QVERIFY(raw.ok());
        QCOMPARE(raw.scalar(QStringLiteral("PRAGMA journal_mode")).toString(), QStringLiteral("wal"));
        QCOMPARE(raw.scalar(QStringLiteral("PRAGMA user_version")).toInt(),
                 Store::currentSchemaVersion);
        QCOMPARE(STORE_OK(store.configs().defaultConfig()).revision, 1u);
        QVERIFY(STORE_OK(store.history().databaseSizeBytes()) > 0);
    }

    void reopens()
    {
        const QString path = newPath();
        QString id;
        {
            Store store(path);
            QVERIFY_STORE(store.open());
            id = enrol(store);
            QVERIFY(!id.isEmpty());
            const SampleBatch b = testdata::makeBatch(1, 10, 2);
            QCOMPARE(ingestOne(store, id, b).front().status, Status::Stored);
        }
        Store again(path);
        QVERIFY_STORE(again.open());
        QCOMPARE(again.schemaVersion(), Store::currentSchemaVersion);
        const auto info = again.inventory().client(id);
        QVERIFY(info);
        QCOMPARE(info->sampleCount, 10);
        QCOMPARE(info->lastSequence, 1u);
    }

    void migratesFromV1()
    {
        SQLITE_ONLY();
        const QString path = newPath();
        {
            // Version 1 exactly as it shipped: no config columns, no settings table.
            RawConnection raw(path);
            QVERIFY(raw.ok());
            const char *v1[] = {
                "INSERT INTO clients(num, id, hostname, first_seen_ms, last_seen_ms, sample_count,"
                " last_sequence, last_sample_ms) VALUES (1, 'aaaaaaaaaaaa', 'old-host', 1, 2, 1, 7,"
                " 1700000000000)",
                "INSERT INTO samples VALUES (1, 1700000000000, 7, 1,2,3,4,5,6,7,8,9,"
                " 10,11,12,13,14,15,16,17, 0.5,0.4,0.3, 0, NULL)",
                "INSERT INTO batches VALUES (1, 7, 1700000000000, 1)",
                "PRAGMA user_version = 1",
            };
            for (const char *sql : testdata::schemaV1Tables)
                QVERIFY2(raw.exec(QString::fromLatin1(sql)), sql);
            for (const char *sql : v1)
                QVERIFY2(raw.exec(QString::fromLatin1(sql)), sql);
        }
        Store store(path);
        QVERIFY_STORE(store.open());
        QCOMPARE(store.schemaVersion(), Store::currentSchemaVersion);
        const auto info = store.inventory().client(QStringLiteral("aaaaaaaaaaaa"));
        QVERIFY(info);
        QCOMPARE(info->hostname, QStringLiteral("old-host"));
        QCOMPARE(info->lastSequence, 7u);
        QCOMPARE(STORE_OK(store.configs().defaultConfig()).revision, 1u);
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(QStringLiteral("aaaaaaaaaaaa"))).sampleIntervalMs, 1000u);
        QCOMPARE(STORE_OK(store.history().countSamples({}, std::numeric_limits<qint64>::min(),
                                    std::numeric_limits<qint64>::max())),
                 1);
        // v3 backfilled the minute rollups from the old samples.
        QList<MinuteRollup> minutes;
        QVERIFY(store.history().forEachMinute(QStringLiteral("aaaaaaaaaaaa"), 0, std::numeric_limits<qint64>::max(),
                                    [&](const MinuteRollup &r) { minutes.append(r); return true; }));
        QCOMPARE(minutes.size(), 1);
        QCOMPARE(minutes[0].count, 1u);
        QCOMPARE(minutes[0].min(MinuteRollup::Series::CpuUser), 3.0);         // user 1 + nice 2
        QCOMPARE(minutes[0].max(MinuteRollup::Series::CpuSystem), 3.0 + 6 + 7); // system + irq + softirq
        QCOMPARE(minutes[0].min(MinuteRollup::Series::SwapUsed), 0.0);          // free 17 > total 16: clamped
        // v8 backfilled CPU busy (all but idle 4 and iowait 5) and the load.
        QCOMPARE(minutes[0].min(MinuteRollup::Series::CpuBusy), 1.0 + 2 + 3 + 6 + 7 + 8);
        QCOMPARE(minutes[0].max(MinuteRollup::Series::Load1), double(0.5f));
        // The migrated database is fully usable: next batch goes on, a duplicate is caught.
        const SampleBatch next = testdata::makeBatch(8, 3, 0, 1'700'000'001'000);
        QCOMPARE(ingestOne(store, QStringLiteral("aaaaaaaaaaaa"), next).front().status,
                 Status::Stored);
        SampleBatch old = testdata::makeBatch(7, 1, 0);
        QCOMPARE(ingestOne(store, QStringLiteral("aaaaaaaaaaaa"), old).front().status,
                 Status::Duplicate);
    }

    void createsFromEmptyV0File()
    {
        SQLITE_ONLY();
        const QString path = newPath();
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly)); // an empty file is a valid, empty database
        }
        Store store(path);
        QVERIFY_STORE(store.open());
        QCOMPARE(store.schemaVersion(), Store::currentSchemaVersion);
    }

    void refusesNewerOrForeign_data()
    {
        QTest::addColumn<QString>("sql");
        QTest::addColumn<QString>("message");
        QTest::addRow("newer") << QStringLiteral("PRAGMA user_version = 99")
                               << QStringLiteral("newer");
        QTest::addRow("foreign") << QStringLiteral("CREATE TABLE something (x)")
                                 << QStringLiteral("not an autofact database");
    }
    void refusesNewerOrForeign()
    {
        SQLITE_ONLY();
        QFETCH(QString, sql);
        QFETCH(QString, message);
        const QString path = newPath();
        {
            RawConnection raw(path);
            QVERIFY(raw.exec(sql));
        }
        Store store(path);
        const auto opened = store.open();
        QVERIFY(!opened);
        QVERIFY2(opened.errorMessage().contains(message), qPrintable(opened.errorMessage()));
    }

    void readOnlyNeverCreates()
    {
        SQLITE_ONLY();
        const QString path = newPath();
        Store store(path, {StoreOptions::Mode::ReadOnly});
        const auto opened = store.open();
        QVERIFY(!opened);
        QCOMPARE(opened.error().kind, StoreError::Kind::NotOpen);
        QVERIFY(!opened.errorMessage().isEmpty());
        QVERIFY(!QFile::exists(path));
    }

    void readOnlySeesWriter()
    {
        const QString path = newPath();
        Store writer(path);
        QVERIFY_STORE(writer.open());
        const QString id = enrol(writer);
        Store reader(path, {StoreOptions::Mode::ReadOnly});
        QVERIFY_STORE(reader.open());
        QCOMPARE(STORE_OK(reader.inventory().clients()).size(), 1);
        const SampleBatch b = testdata::makeBatch(1, 5, 1);
        QCOMPARE(ingestOne(writer, id, b).front().status, Status::Stored);
        QCOMPARE(reader.inventory().client(id)->sampleCount, 5);
        // and the reader cannot write
        QCOMPARE(ingestOne(reader, id, testdata::makeBatch(2, 5, 1)).front().status,
                 Status::Failed);
    }

    // --- authentication -------------------------------------------------------------------------

    void authenticateNewClient()
    {
        const QString path = newPath();
        Store store(path);
        QVERIFY_STORE(store.open());
        const AuthResult r = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("alpha")),
                                                QStringLiteral("10.0.0.1:5000"), kNow));
        QCOMPARE(r.outcome, AuthResult::Outcome::NewClient);
        QCOMPARE(r.clientId.size(), 12);
        QVERIFY(QRegularExpression(QStringLiteral("^[0-9a-f]{12}$")).match(r.clientId).hasMatch());
        QCOMPARE(r.issuedSecret.size(), 43); // 32 bytes, base64url without padding
        QVERIFY(QRegularExpression(QStringLiteral("^[A-Za-z0-9_-]{43}$"))
                        .match(r.issuedSecret)
                        .hasMatch());
        QCOMPARE(r.lastSequence, 0u);
        QVERIFY(r.connectionId > 0);
        QCOMPARE(r.config, STORE_OK(store.configs().defaultConfig()));

        // The plaintext secret is nowhere in the file's tables.
        RawConnection raw(path);
        const QString dump = raw.dump().join(u'\n');
        QVERIFY(!dump.contains(r.issuedSecret));
        QVERIFY(!dump.contains(QString::fromLatin1(r.issuedSecret.toLatin1().toHex())));

        const AuthResult second = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("beta")),
                                                     QStringLiteral("10.0.0.2:5000"), kNow));
        QCOMPARE(second.outcome, AuthResult::Outcome::NewClient);
        QVERIFY(second.clientId != r.clientId);
        QVERIFY(second.issuedSecret != r.issuedSecret);
    }

    void authenticateReturning()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const AuthResult first = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("alpha")),
                                                    QStringLiteral("p1"), kNow));
        const SampleBatch b = testdata::makeBatch(1, 3, 0);
        QCOMPARE(ingestOne(store, first.clientId, b).front().status, Status::Stored);
        STORE_OK(store.enrolment().recordDisconnect(first.connectionId, kNow + 10, QStringLiteral("bye")));
        QVERIFY(!store.inventory().client(first.clientId)->online);

        Hello h = makeHello(QStringLiteral("alpha-renamed"), first.clientId, first.issuedSecret);
        h.agentVersion = QStringLiteral("0.2.0");
        const AuthResult again = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(h, QStringLiteral("p2"), kNow + 1000));
        QCOMPARE(again.outcome, AuthResult::Outcome::Returning);
        QCOMPARE(again.clientId, first.clientId);
        QVERIFY(again.issuedSecret.isEmpty());
        QCOMPARE(again.lastSequence, 1u);
        QVERIFY(again.connectionId > first.connectionId);
        const auto info = store.inventory().client(first.clientId);
        QCOMPARE(info->hostname, QStringLiteral("alpha-renamed"));
        QCOMPARE(info->agentVersion, QStringLiteral("0.2.0"));
        QCOMPARE(info->connectionCount, 2);
        QCOMPARE(info->lastSeenMs, kNow + 1000);
        QCOMPARE(info->firstSeenMs, kNow);
        QVERIFY(info->online);
        STORE_OK(store.enrolment().markAllOffline(kNow + 2000, QStringLiteral("shutdown")));
        QVERIFY(!store.inventory().client(first.clientId)->online);
    }

    void sessionsOpenSayWhatTheJudgeNeeds()
    {
        // What the node judging host rules reads of clients held by other nodes: whether a
        // session is open, when data last came, and the send interval each agent was told.
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const AuthResult a = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("own")),
                                                                                            QStringLiteral("p1"), kNow));
        const AuthResult b = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("grouped")),
                                                                                            QStringLiteral("p2"), kNow));
        const AuthResult c = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("default")),
                                                                                            QStringLiteral("p3"), kNow));
        AgentConfig config = STORE_OK(store.configs().defaultConfig());
        config.sendIntervalMs = 7000;
        STORE_OK(store.configs().setDefaultConfig(config));
        config.sendIntervalMs = 2000;
        STORE_OK(store.configs().setClientOverride(a.clientId, config));
        config.sendIntervalMs = 3000;
        STORE_OK(store.configs().setGroupOverride(QStringLiteral("racks"), config));
        STORE_OK(store.configs().setClientGroup({b.clientId}, QStringLiteral("racks")));
        QCOMPARE(ingestAt(store, a.clientId, testdata::makeBatch(1, 3, 0), kNow + 500).front().status, Status::Stored);
        STORE_OK(store.enrolment().recordDisconnect(c.connectionId, kNow + 900, QStringLiteral("bye")));
        QHash<QString, Enrolment::SessionState> byId;
        for (const Enrolment::SessionState &s : STORE_OK(store.enrolment().sessionsOpen()))
            byId.insert(s.id, s);
        QCOMPARE(byId.size(), 3);
        QCOMPARE(byId[a.clientId].sendIntervalMs, 2000);
        QCOMPARE(byId[b.clientId].sendIntervalMs, 3000);
        QCOMPARE(byId[c.clientId].sendIntervalMs, 7000);
        QVERIFY(byId[a.clientId].open && byId[b.clientId].open && !byId[c.clientId].open);
        QVERIFY(byId[a.clientId].hasData && !byId[b.clientId].hasData);
        QCOMPARE(byId[a.clientId].lastSeenMs, kNow + 500);
        QCOMPARE(byId[b.clientId].lastSeenMs, kNow);
        QCOMPARE(byId[c.clientId].lastSeenMs, kNow + 900);
    }

    void authenticateWrongSecretChangesNothing()
    {
        const QString path = newPath();
        Store store(path);
        QVERIFY_STORE(store.open());
        const AuthResult first = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("alpha")),
                                                    QStringLiteral("p1"), kNow));
        RawConnection raw(path);
        const QStringList before = raw.dump();
        QVERIFY(before.size() > 5);

        QString wrong = first.issuedSecret;
        wrong[0] = wrong[0] == u'A' ? u'B' : u'A';
        for (const QString &secret : {wrong, QString(), first.issuedSecret.left(42)}) {
            const AuthResult r = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(
                    makeHello(QStringLiteral("evil"), first.clientId, secret),
                    QStringLiteral("p666"), kNow + 5000));
            QCOMPARE(r.outcome, AuthResult::Outcome::BadSecret);
            QVERIFY(r.issuedSecret.isEmpty());
        }
        QCOMPARE(raw.dump(), before);
    }

    void authenticateUnknownIdGetsNewId()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const AuthResult r = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(
                makeHello(QStringLiteral("ghost"), QStringLiteral("0123456789ab"),
                          QStringLiteral("whatever")),
                QStringLiteral("p"), kNow));
        QCOMPARE(r.outcome, AuthResult::Outcome::NewClient);
        QVERIFY(r.clientId != QStringLiteral("0123456789ab"));
        QVERIFY(!r.issuedSecret.isEmpty());
        QVERIFY(r.reason.contains(QStringLiteral("unknown")));
        QVERIFY(!store.inventory().client(QStringLiteral("0123456789ab")));
    }

    // --- ingest ---------------------------------------------------------------------------------

    void ingestStoresThenDuplicate()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        const SampleBatch b = testdata::makeBatch(1, 60, 8);
        auto r = ingestOne(store, id, b);
        QCOMPARE(r.size(), 1u);
        QCOMPARE(r[0].status, Status::Stored);
        QCOMPARE(r[0].sequence, 1u);
        QCOMPARE(store.inventory().client(id)->sampleCount, 60);
        r = ingestOne(store, id, b);
        QCOMPARE(r[0].status, Status::Duplicate);
        QCOMPARE(store.inventory().client(id)->sampleCount, 60);
        QCOMPARE(STORE_OK(store.history().countSamples({id}, std::numeric_limits<qint64>::min(),
                                    std::numeric_limits<qint64>::max())),
                 60);
        QVERIFY(STORE_OK(store.history().gaps(id)).size() == 1); // droppedTotal 3 on the very first batch
        QCOMPARE(STORE_OK(store.history().gaps(id)).front().reason, QStringLiteral("agent dropped 3 samples"));

        // Values round-trip, per-core values included.
        int n = 0;
        QVERIFY(store.history().forEachSample(
                {id}, std::numeric_limits<qint64>::min(), std::numeric_limits<qint64>::max(),
                [&](const StoredSample &s) {
                    const Sample &want = b.samples[std::size_t(n)];
                    if (s.sample.timestampMs != want.timestampMs || s.sample.cpu != want.cpu
                        || s.sample.memory != want.memory || s.sample.load1 != want.load1
                        || s.sample.flags != want.flags || s.sample.coreCount != 8
                        || s.sequence != 1)
                        return false;
                    for (int c = 0; c < 8; ++c)
                        if (s.core(c) != b.coreBusy[std::size_t(n * 8 + c)])
                            return false;
                    ++n;
                    return true;
                }));
        QCOMPARE(n, 60);
    }

    void minuteRollupsMatchTheSamples()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        // 150 samples one second apart from a minute boundary: 60 + 60 + 30, in three batches
        // whose edges do not line up with the minutes; plus a duplicate resend.
        const qint64 start = 1'700'000'040'000; // a multiple of 60,000
        QVERIFY(start % 60000 == 0);
        std::vector<SampleBatch> batches;
        for (int b = 0; b < 3; ++b) {
            SampleBatch batch = testdata::makeBatch(quint64(b + 1), 50, 2, start + b * 50'000);
            for (std::size_t i = 0; i < batch.samples.size(); ++i) {
                Sample &x = batch.samples[i];
                const int n = b * 50 + int(i);
                x.cpu.user = float(n % 37);
                x.cpu.nice = 1;
                x.memory.used = quint64(n) << 20;
            }
            batches.push_back(batch);
        }
        for (const SampleBatch &b : batches)
            QCOMPARE(ingestOne(store, id, b).front().status, Status::Stored);
        QCOMPARE(ingestOne(store, id, batches[1]).front().status, Status::Duplicate);

        QList<MinuteRollup> rows;
        QVERIFY(store.history().forEachMinute(id, 0, std::numeric_limits<qint64>::max(),
                                    [&](const MinuteRollup &r) { rows.append(r); return true; }));
        QCOMPARE(rows.size(), 3);
        for (int m = 0; m < 3; ++m) {
            const MinuteRollup &r = rows[m];
            QCOMPARE(r.minuteMs, start + m * 60'000);
            double userMin = 1e9, userMax = -1, usedMin = 1e30, usedMax = -1;
            quint32 count = 0;
            for (const SampleBatch &b : batches)
                for (const Sample &x : b.samples)
                    if (x.timestampMs >= r.minuteMs && x.timestampMs < r.minuteMs + 60'000) {
                        ++count;
                        userMin = std::min(userMin, double(x.cpu.user) + 1);
                        userMax = std::max(userMax, double(x.cpu.user) + 1);
                        usedMin = std::min(usedMin, double(x.memory.used));
                        usedMax = std::max(usedMax, double(x.memory.used));
                    }
            QCOMPARE(r.count, count); // the duplicate was not counted twice
            QCOMPARE(r.count, m < 2 ? 60u : 30u);
            QCOMPARE(r.min(MinuteRollup::Series::CpuUser), userMin);
            QCOMPARE(r.max(MinuteRollup::Series::CpuUser), userMax);
            QCOMPARE(r.min(MinuteRollup::Series::MemUsed), usedMin);
            QCOMPARE(r.max(MinuteRollup::Series::MemUsed), usedMax);
            // Busy has its own extremes: user + nice + system 4 + irq 0.25 + softirq 0.75 + steal 0.5.
            QCOMPARE(r.max(MinuteRollup::Series::CpuBusy), userMax + 4 + 0.25 + 0.75 + 0.5);
            QCOMPARE(r.min(MinuteRollup::Series::CpuBusy), userMin + 4 + 0.25 + 0.75 + 0.5);
            QVERIFY(r.max(MinuteRollup::Series::Load1) > r.min(MinuteRollup::Series::Load1));
            QCOMPARE(r.firstMs, r.minuteMs);
        }
        // Progress estimates count whole minutes at the edges; exact counts do not.
        QCOMPARE(STORE_OK(store.history().countSamples({id}, start + 30'000, start + 90'000)), 60);
        QCOMPARE(STORE_OK(store.history().estimateSamples({id}, start + 30'000, start + 90'000)), 120);
        QCOMPARE(STORE_OK(store.history().estimateSamples({}, std::numeric_limits<qint64>::min(), std::numeric_limits<qint64>::max())), 150);
        // Range filter on the minute start, and an early stop.
        int seen = 0;
        QVERIFY(store.history().forEachMinute(id, start + 60'000, start + 120'000,
                                    [&](const MinuteRollup &) { ++seen; return true; }));
        QCOMPARE(seen, 1);
        QVERIFY(!store.history().forEachMinute(QStringLiteral("nobody"), 0, 1, [](const MinuteRollup &) { return true; }));
    }

    void reenrolledAgentStartsWithoutSpuriousGaps()
    {
        // An agent whose ID this server does not know (its database was replaced) is enrolled
        // anew but keeps its sequence numbers and drop counter: no gap for its past.
        Store store(newPath());
        QVERIFY_STORE(store.open());
        Hello hello = makeHello(QStringLiteral("veteran"));
        hello.agentId = QStringLiteral("0123456789ab");
        hello.secret = QStringLiteral("from-another-server");
        const AuthResult r = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("127.0.0.1:2"), kNow));
        QCOMPARE(r.outcome, AuthResult::Outcome::NewClient);
        SampleBatch first = testdata::makeBatch(5001, 10, 2, kNow);
        first.droppedTotal = 7;
        QCOMPARE(ingestOne(store, r.clientId, first).front().status, Status::Stored);
        QVERIFY(STORE_OK(store.history().gaps(r.clientId)).isEmpty());
        // From then on the usual rules: a skipped sequence is a gap.
        SampleBatch third = testdata::makeBatch(5003, 10, 2, kNow + 20'000);
        third.droppedTotal = 7;
        QCOMPARE(ingestOne(store, r.clientId, third).front().status, Status::Stored);
        const QList<Store::Gap> gaps = STORE_OK(store.history().gaps(r.clientId));
        QCOMPARE(gaps.size(), 1);
        QCOMPARE(gaps.front().reason, QStringLiteral("sequence gap"));
        QCOMPARE(gaps.front().sequenceFirst, 5002u);
        // A brand-new agent still gets the usual first-batch rules.
        const QString fresh = enrol(store, QStringLiteral("newbie"));
        SampleBatch late = testdata::makeBatch(3, 5, 0, kNow);
        QCOMPARE(ingestOne(store, fresh, late).front().status, Status::Stored);
        bool sequenceGap = false;
        for (const Store::Gap &g : STORE_OK(store.history().gaps(fresh)))
            sequenceGap = sequenceGap || g.reason == QStringLiteral("sequence gap");
        QVERIFY(sequenceGap);
    }

    void futureTimestampDoesNotStopOfflineDetection()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        // One sample from a clock that jumped ten years ahead, then normal ones again.
        const qint64 decade = 10ll * 365 * 24 * 3600 * 1000;
        QCOMPARE(ingestAt(store, id, testdata::makeBatch(1, 1, 0, kNow + decade), kNow).front().status, Status::Stored);
        QVERIFY(store.inventory().client(id)->lastSampleMs <= kNow + 5 * 60 * 1000);
        QCOMPARE(ingestOne(store, id, testdata::makeBatch(2, 5, 0, kNow)).front().status, Status::Stored);
        // Two hours of silence later: recorded as "agent offline".
        QCOMPARE(ingestOne(store, id, testdata::makeBatch(3, 5, 0, kNow + 2 * 3600 * 1000))
                     .front().status, Status::Stored);
        bool offline = false;
        for (const Store::Gap &g : STORE_OK(store.history().gaps(id)))
            offline = offline || g.reason == QStringLiteral("agent offline");
        QVERIFY(offline);
    }

    void ingestRecordsGaps()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        // The server receives each batch right after it was sampled: "now" is never before it.
        const auto put = [&](const SampleBatch &b) {
            qint64 now = kNow;
            for (const Sample &x : b.samples)
                now = std::max<qint64>(now, x.timestampMs);
            return ingestAt(store, id, b, now);
        };
        const qint64 t0 = 1'700'000'000'000;
        SampleBatch b1 = testdata::makeBatch(1, 10, 1, t0);
        b1.droppedTotal = 0;
        QCOMPARE(put(b1).front().status, Status::Stored);
        // Contiguous in time and sequence: no gap.
        SampleBatch b2 = testdata::makeBatch(2, 10, 1, t0 + 10'000);
        b2.droppedTotal = 0;
        QCOMPARE(put(b2).front().status, Status::Stored);
        QCOMPARE(STORE_OK(store.history().gaps(id)).size(), 0);

        // Agent offline: 1 hour of silence, sequence contiguous.
        SampleBatch b3 = testdata::makeBatch(3, 10, 1, t0 + 20'000 + 3600'000);
        b3.droppedTotal = 0;
        QCOMPARE(put(b3).front().status, Status::Stored);
        auto gaps = STORE_OK(store.history().gaps(id));
        QCOMPARE(gaps.size(), 1);
        QCOMPARE(gaps[0].reason, QStringLiteral("agent offline"));
        QCOMPARE(gaps[0].startMs, t0 + 19'000);
        QCOMPARE(gaps[0].endMs, t0 + 20'000 + 3600'000);
        QCOMPARE(gaps[0].samplesLost, 3600u);

        // Exactly 3 intervals is not a gap; more is.
        const qint64 t3end = t0 + 20'000 + 3600'000 + 9'000;
        SampleBatch b4 = testdata::makeBatch(4, 1, 1, t3end + 3000);
        b4.droppedTotal = 0;
        QCOMPARE(put(b4).front().status, Status::Stored);
        QCOMPARE(STORE_OK(store.history().gaps(id)).size(), 1);

        // Dropped samples.
        SampleBatch b5 = testdata::makeBatch(5, 1, 1, t3end + 4000);
        b5.droppedTotal = 7;
        QCOMPARE(put(b5).front().status, Status::Stored);
        gaps = STORE_OK(store.history().gaps(id));
        QCOMPARE(gaps.size(), 2);
        QCOMPARE(gaps[1].reason, QStringLiteral("agent dropped 7 samples"));
        QCOMPARE(gaps[1].samplesLost, 7u);

        // Sequence gap: 6 and 7 never arrive. Not also reported as "agent offline".
        SampleBatch b8 = testdata::makeBatch(8, 1, 1, t3end + 60'000);
        b8.droppedTotal = 7;
        QCOMPARE(put(b8).front().status, Status::Stored);
        gaps = STORE_OK(store.history().gaps(id));
        QCOMPARE(gaps.size(), 3);
        QCOMPARE(gaps[2].reason, QStringLiteral("sequence gap"));
        QCOMPARE(gaps[2].sequenceFirst, 6u);
        QCOMPARE(gaps[2].sequenceLast, 7u);
        QCOMPARE(store.inventory().client(id)->lastSequence, 8u);

        // A late batch 6 is stored (not a duplicate), and 6 again is a duplicate. The gap now
        // says what is still missing: 7 only, from 6's sample on.
        SampleBatch b6 = testdata::makeBatch(6, 1, 1, t3end + 20'000);
        b6.droppedTotal = 7;
        QCOMPARE(put(b6).front().status, Status::Stored);
        QCOMPARE(put(b6).front().status, Status::Duplicate);
        QCOMPARE(store.inventory().client(id)->lastSequence, 8u);
        gaps = STORE_OK(store.history().gaps(id));
        QCOMPARE(gaps.size(), 3);
        QCOMPARE(gaps[2].sequenceFirst, 7u);
        QCOMPARE(gaps[2].sequenceLast, 7u);
        QCOMPARE(gaps[2].startMs, t3end + 20'000);
        QCOMPARE(gaps[2].endMs, t3end + 60'000);
        // Regression: when 7 arrives too, the hole is filled and no gap is left flagged.
        SampleBatch b7 = testdata::makeBatch(7, 1, 1, t3end + 40'000);
        b7.droppedTotal = 7;
        QCOMPARE(put(b7).front().status, Status::Stored);
        gaps = STORE_OK(store.history().gaps(id));
        QCOMPARE(gaps.size(), 2);
        for (const Gap &g : gaps)
            QVERIFY(g.reason != QStringLiteral("sequence gap"));

        // The offline rule follows the client's interval: with 60 s, 2 minutes is no gap.
        AgentConfig slow = STORE_OK(store.configs().effectiveConfig(id));
        slow.sampleIntervalMs = 60'000;
        QVERIFY(STORE_OK(store.configs().setClientOverride(id, slow)));
        SampleBatch b9 = testdata::makeBatch(9, 1, 1, t3end + 60'000 + 120'000);
        b9.droppedTotal = 7;
        QCOMPARE(put(b9).front().status, Status::Stored);
        QCOMPARE(STORE_OK(store.history().gaps(id)).size(), 2);
        // Time range filter on gaps (end in [from, to)).
        QCOMPARE(STORE_OK(store.history().gaps(id, t0 + 20'000 + 3600'000, t0 + 20'000 + 3600'001)).size(), 1);
        QCOMPARE(STORE_OK(store.history().gaps(id, t0, t0 + 20'000 + 3600'000)).size(), 0);
    }

    void ingestManyClientsInOneCall()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        QStringList ids;
        for (int i = 0; i < 50; ++i)
            ids << enrol(store, QStringLiteral("host-%1").arg(i));
        std::vector<SampleBatch> batches;
        for (int i = 0; i < 50; ++i) {
            batches.push_back(testdata::makeBatch(1, 20, 4));
            batches.push_back(testdata::makeBatch(2, 20, 4, 1'700'000'020'000));
        }
        std::vector<Store::IngestItem> items;
        for (int i = 0; i < 100; ++i)
            items.push_back({ids[i / 2], &batches[std::size_t(i)]});
        // One item in the middle is invalid on its own: it fails alone.
        SampleBatch bad = testdata::makeBatch(3, 2, 4);
        bad.coreBusy.pop_back();
        items.push_back({ids[0], &bad});
        const auto results = STORE_OK(store.ingest().write(items, kNow));
        QCOMPARE(results.size(), items.size());
        for (std::size_t i = 0; i < 100; ++i)
            QCOMPARE(results[i].status, Status::Stored);
        QCOMPARE(results[100].status, Status::Failed);
        for (const QString &id : ids) {
            QCOMPARE(store.inventory().client(id)->sampleCount, 40);
            QCOMPARE(store.inventory().client(id)->lastSequence, 2u);
        }
        // Batch for a client that does not exist: fails alone too.
        const SampleBatch b = testdata::makeBatch(1, 1, 0);
        QCOMPARE(ingestOne(store, QStringLiteral("ffffffffffff"), b).front().status,
                 Status::Failed);
    }

    void aResendBetweenTwoBatchesOfAClientInOneWrite()
    {
        // A resend's dedupe check runs what the write queued so far; the client's second batch
        // after it must still see its first (PostgreSQL reads a write's clients up front).
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString a = enrol(store, QStringLiteral("a"));
        const QString b = enrol(store, QStringLiteral("b"));
        const SampleBatch b1 = testdata::makeBatch(1, 5, 2);
        QCOMPARE(ingestOne(store, b, b1).front().status, Status::Stored);
        SampleBatch a1 = testdata::makeBatch(1, 5, 2);
        SampleBatch a2 = testdata::makeBatch(2, 5, 2, 1'700'000'005'000);
        a1.droppedTotal = a2.droppedTotal = 0; // no gap of its own: any gap would be a wrong read
        const std::vector<Store::IngestItem> items{{a, &a1}, {b, &b1}, {a, &a2}};
        const auto results = STORE_OK(store.ingest().write(items, kNow));
        QCOMPARE(results[0].status, Status::Stored);
        QCOMPARE(results[1].status, Status::Duplicate);
        QCOMPARE(results[2].status, Status::Stored);
        const auto info = store.inventory().client(a);
        QCOMPARE(info->sampleCount, 10);
        QCOMPARE(info->lastSequence, 2u);
        QCOMPARE(store.inventory().client(b)->sampleCount, 5);
        QVERIFY(STORE_OK(store.history().gaps(a)).isEmpty());
    }

    void ingestFailureRollsBackEverything_data()
    {
        // The table whose insert fails: samples (PostgreSQL: the COPY), batches (PostgreSQL:
        // the third statement of a text of several, whose failure QPSQL does not report itself).
        QTest::addColumn<QString>("table");
        QTest::addColumn<int>("samples");
        QTest::newRow("samples") << QStringLiteral("samples") << 10;
        QTest::newRow("batches") << QStringLiteral("batches") << 10;
        // Nothing to COPY after the failed statement (PostgreSQL: the second of the text, after
        // the batch rows): only the transaction's state tells.
        QTest::newRow("clients, empty batches") << QStringLiteral("clients") << 0;
    }
    void ingestFailureRollsBackEverything()
    {
        QFETCH(QString, table);
        QFETCH(int, samples);
        const bool update = table == u"clients";
        const QString event = update ? QStringLiteral("UPDATE") : QStringLiteral("INSERT");
        const QString column = update ? QStringLiteral("last_sequence") : QStringLiteral("sequence");
        const QString path = newPath();
        Store store(path);
        QVERIFY_STORE(store.open());
        const QString a = enrol(store, QStringLiteral("a"));
        const QString b = enrol(store, QStringLiteral("b"));
        RawConnection raw(path);
        // A sample with sequence 999 makes the second item's insert fail mid-transaction,
        // after the first item's rows were written.
        if (onPostgres()) {
            QVERIFY(raw.exec(QStringLiteral(
                    "CREATE FUNCTION sabotage() RETURNS trigger LANGUAGE plpgsql AS"
                    " 'BEGIN IF NEW.%1 = 999 THEN RAISE EXCEPTION ''sabotage''; END IF; RETURN NEW; END'").arg(column)));
            QVERIFY(raw.exec(QStringLiteral(
                    "CREATE TRIGGER sabotage BEFORE %1 ON %2 FOR EACH ROW EXECUTE FUNCTION sabotage()").arg(event, table)));
        } else {
            QVERIFY(raw.exec(QStringLiteral(
                    "CREATE TRIGGER sabotage BEFORE %1 ON %2 WHEN NEW.%3 = 999"
                    " BEGIN SELECT RAISE(ABORT, 'sabotage'); END").arg(event, table, column)));
        }
        const SampleBatch ba = testdata::makeBatch(1, samples, 2);
        const SampleBatch bb = testdata::makeBatch(999, samples, 2);
        const std::vector<Store::IngestItem> items{{a, &ba}, {b, &bb}};
        // The whole call fails: nothing may be acked.
        const auto results = store.ingest().write(items, kNow);
        QVERIFY(!results);
        QVERIFY2(results.errorMessage().contains(QStringLiteral("sabotage")) || table != u"samples",
                 qPrintable(results.errorMessage()));
        QCOMPARE(store.inventory().client(a)->sampleCount, 0);
        QCOMPARE(store.inventory().client(a)->lastSequence, 0u);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM samples")).toInt(), 0);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM batches")).toInt(), 0);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM gaps")).toInt(), 0);

        QVERIFY(raw.exec(onPostgres() ? QStringLiteral("DROP TRIGGER sabotage ON %1").arg(table) : QStringLiteral("DROP TRIGGER sabotage")));
        // Not a duplicate: nothing of the failed call survived.
        QCOMPARE(ingestOne(store, a, ba).front().status, Status::Stored);
        QCOMPARE(store.inventory().client(a)->sampleCount, samples);
    }

    void ingestFailsWhenLocked()
    {
        SQLITE_ONLY();
        const QString path = newPath();
        StoreOptions options;
        options.busyTimeoutMs = 50;
        Store store(path, options);
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        RawConnection raw(path);
        QVERIFY(raw.exec(QStringLiteral("BEGIN IMMEDIATE")));
        const SampleBatch b = testdata::makeBatch(1, 10, 2);
        const Store::IngestItem item{id, &b};
        const auto locked = store.ingest().write(std::span(&item, 1), kNow);
        QVERIFY(!locked);
        QCOMPARE(locked.error().kind, StoreError::Kind::Database);
        QVERIFY(raw.exec(QStringLiteral("ROLLBACK")));
        QCOMPARE(ingestOne(store, id, b).front().status, Status::Stored);
    }

    // --- configuration --------------------------------------------------------------------------

    void configRevisions()
    {
        const QString path = newPath();
        QString id, other;
        {
            Store store(path);
            QVERIFY_STORE(store.open());
            id = enrol(store, QStringLiteral("a"));
            other = enrol(store, QStringLiteral("b"));
            AgentConfig c = STORE_OK(store.configs().defaultConfig());
            QCOMPARE(c.revision, 1u);
            QCOMPARE(c.sampleIntervalMs, AgentConfig{}.sampleIntervalMs);

            c.sampleIntervalMs = 2000;
            QVERIFY(STORE_OK(store.configs().setDefaultConfig(c)));
            QCOMPARE(STORE_OK(store.configs().defaultConfig()).revision, 2u);
            QCOMPARE(STORE_OK(store.configs().defaultConfig()).sampleIntervalMs, 2000u);
            QVERIFY(STORE_OK(store.configs().setDefaultConfig(c))); // unchanged: same revision
            QCOMPARE(STORE_OK(store.configs().defaultConfig()).revision, 2u);
            AgentConfig invalid = c;
            invalid.sampleIntervalMs = 0;
            QVERIFY(!store.configs().setDefaultConfig(invalid));
            QCOMPARE(STORE_OK(store.configs().defaultConfig()).revision, 2u);

            AgentConfig o = c;
            o.sampleIntervalMs = 500;
            QVERIFY(STORE_OK(store.configs().setClientOverride(id, o)));
            QCOMPARE(STORE_OK(store.configs().effectiveConfig(id)).sampleIntervalMs, 500u);
            QCOMPARE(STORE_OK(store.configs().effectiveConfig(id)).revision, 3u);
            QCOMPARE(STORE_OK(store.configs().effectiveConfig(other)).sampleIntervalMs, 2000u);
            QCOMPARE(STORE_OK(store.configs().effectiveConfig(other)).revision, 2u);
            QVERIFY(store.inventory().client(id)->hasOverride);
            QVERIFY(!store.configs().setClientOverride(QStringLiteral("nope"), o));

            // Clearing the override goes back to the default, and the revision still rises.
            QVERIFY(STORE_OK(store.configs().setClientOverride(id, std::nullopt)));
            QCOMPARE(STORE_OK(store.configs().effectiveConfig(id)).sampleIntervalMs, 2000u);
            QCOMPARE(STORE_OK(store.configs().effectiveConfig(id)).revision, 4u);
            QVERIFY(!store.inventory().client(id)->hasOverride);

            c.sendIntervalMs = 10'000;
            QVERIFY(STORE_OK(store.configs().setDefaultConfig(c)));
            QCOMPARE(STORE_OK(store.configs().effectiveConfig(id)).revision, 5u);
            QCOMPARE(STORE_OK(store.configs().effectiveConfig(other)).revision, 5u);
            STORE_OK(store.configs().recordConfigApplied(id, 5, kNow + 1));
        }
        Store store(path);
        QVERIFY_STORE(store.open());
        QCOMPARE(STORE_OK(store.configs().defaultConfig()).revision, 5u);
        QCOMPARE(STORE_OK(store.configs().defaultConfig()).sendIntervalMs, 10'000u);
        QCOMPARE(store.inventory().client(id)->appliedRevision, 5u);
        QCOMPARE(store.inventory().client(id)->appliedMs, kNow + 1);
        QCOMPARE(store.inventory().client(id)->configRevision, 5u);
        // A returning client gets its effective config with the Welcome.
        const AuthResult r = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("x")), QStringLiteral("p"),
                                                kNow));
        QCOMPARE(r.config.revision, 5u);
    }

    void groupsShareBehaviour()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString a = enrol(store, QStringLiteral("web-1"));
        const QString b = enrol(store, QStringLiteral("web-2"));
        const QString c = enrol(store, QStringLiteral("db-1"));
        const AgentConfig defaults = STORE_OK(store.configs().defaultConfig());

        // Bad names are refused before anything is written.
        for (const QString &bad : {QString(), QStringLiteral(" web"), QStringLiteral("a\nb"), QString(65, u'x')})
            QVERIFY(!ConfigStore::groupNameProblem(bad).isEmpty());
        QVERIFY(!store.configs().setClientGroup({a}, QStringLiteral("bad\tname")));
        QCOMPARE(store.configs().setClientGroup({a, QStringLiteral("nobody")}, QStringLiteral("web")).error().kind,
                 StoreError::Kind::NotFound);
        QCOMPARE(STORE_OK(store.inventory().client(a)).groupName, QString()); // all or nothing

        const quint32 joined = STORE_OK(store.configs().setClientGroup({a, b}, QStringLiteral("web")));
        QVERIFY(joined > defaults.revision);
        QCOMPARE(STORE_OK(store.inventory().client(a)).groupName, QStringLiteral("web"));
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(a)).revision, joined);
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(c)).revision, defaults.revision);

        // The group's behaviour reaches every member, not others; a member's own override wins.
        AgentConfig web = defaults;
        web.sampleIntervalMs = 250;
        const quint32 set = STORE_OK(store.configs().setGroupOverride(QStringLiteral("web"), web));
        QVERIFY(set > joined);
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(a)).sampleIntervalMs, 250u);
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(b)).revision, set);
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(c)).sampleIntervalMs, defaults.sampleIntervalMs);
        QCOMPARE(STORE_OK(store.inventory().client(b)).configRevision, set);
        AgentConfig own = defaults;
        own.sampleIntervalMs = 5000;
        STORE_OK(store.configs().setClientOverride(b, own));
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(b)).sampleIntervalMs, 5000u);
        QCOMPARE(STORE_OK(store.configs().groupOverrides()).value(QStringLiteral("web")).sampleIntervalMs, 250u);

        // The gap rules judge a member's samples by its group's sampling interval: ten seconds
        // apart is on time for "web", not a run of late samples.
        web.sampleIntervalMs = 10'000;
        web.sendIntervalMs = 60'000;
        STORE_OK(store.configs().setGroupOverride(QStringLiteral("web"), web));
        SampleBatch slow = testdata::makeBatch(1, 6, 0, kNow);
        for (std::size_t i = 0; i < slow.samples.size(); ++i)
            slow.samples[i].timestampMs = kNow + qint64(i) * 10'000;
        slow.droppedTotal = 0;
        QCOMPARE(ingestOne(store, a, slow).front().status, Status::Stored);
        QVERIFY(STORE_OK(store.history().gaps(a)).isEmpty());
        web.sampleIntervalMs = 250;
        web.sendIntervalMs = defaults.sendIntervalMs;
        STORE_OK(store.configs().setGroupOverride(QStringLiteral("web"), web));

        // Leaving the group, or clearing its behaviour, moves revisions forward, never back.
        const quint32 left = STORE_OK(store.configs().setClientGroup({a}, QString()));
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(a)).sampleIntervalMs, defaults.sampleIntervalMs);
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(a)).revision, left);
        STORE_OK(store.configs().setClientGroup({a}, QStringLiteral("web")));
        const quint32 cleared = STORE_OK(store.configs().setGroupOverride(QStringLiteral("web"), std::nullopt));
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(a)).sampleIntervalMs, defaults.sampleIntervalMs);
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(a)).revision, cleared);
        QVERIFY(STORE_OK(store.configs().groupOverrides()).isEmpty());
        QCOMPARE(STORE_OK(store.configs().revisionCounter()), cleared);

        // An empty group with behaviour is listed (so it can be found and cleared); one with neither is not.
        STORE_OK(store.configs().setGroupOverride(QStringLiteral("spare"), web));
        STORE_OK(store.configs().setClientGroup({c}, QStringLiteral("db")));
        const QList<GroupInfo> groups = STORE_OK(store.inventory().groups());
        QCOMPARE(groups.size(), 3);
        QCOMPARE(groups[0].name, QStringLiteral("db"));
        QCOMPARE(groups[0].members, 1);
        QCOMPARE(groups[1].name, QStringLiteral("spare"));
        QCOMPARE(groups[1].members, 0);
        QVERIFY(groups[1].hasConfigOverride);
        QCOMPARE(groups[2].name, QStringLiteral("web"));
        QCOMPARE(groups[2].members, 2);
        QVERIFY(!groups[2].hasConfigOverride);
        const QHash<QString, QString> membership = STORE_OK(store.inventory().groupMembership());
        QCOMPARE(membership.size(), 3);
        QCOMPARE(membership.value(c), QStringLiteral("db"));
    }

    void mergeJoinsHistoryOnce_data()
    {
        QTest::addColumn<bool>("sealed");
        QTest::newRow("head rows") << false;
        QTest::newRow("sealed chunks") << true;
    }

    void mergeJoinsHistoryOnce()
    {
        QFETCH(bool, sealed);
        const qint64 sealAt = kNow + RetentionSettings::day; // every window closed
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const qint64 start = 1'700'000'040'000 + 30'000; // half a minute in: batches straddle minutes
        auto batchAt = [](quint64 seq, qint64 startMs) {
            SampleBatch b = testdata::makeBatch(seq, 20, 2, startMs);
            for (std::size_t i = 0; i < b.samples.size(); ++i)
                b.samples[i].cpu.user = float(seq * 10 + i);
            return b;
        };
        const AuthResult first = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(
                makeHello(QStringLiteral("box")), QStringLiteral("127.0.0.1:1"), kNow));
        const QString oldId = first.clientId;
        for (quint64 seq = 1; seq <= 3; ++seq)
            QCOMPARE(ingestOne(store, oldId, batchAt(seq, start + qint64(seq - 1) * 20'000)).front().status, Status::Stored);
        AgentConfig own = STORE_OK(store.configs().defaultConfig());
        own.sampleIntervalMs = 2000;
        STORE_OK(store.configs().setClientOverride(oldId, own));
        STORE_OK(store.configs().setClientGroup({oldId}, QStringLiteral("lab")));
        STORE_OK(store.alerts().setRule(QStringLiteral("cpu_busy"), oldId, AlertRuleSettings{true, 50, 1000, 1000}));
        AlertRecord firing;
        firing.rule = QStringLiteral("cpu_busy");
        firing.clientId = oldId;
        firing.hostname = QStringLiteral("box");
        firing.value = 97;
        firing.threshold = 50;
        firing.startedMs = firing.firedMs = kNow;
        const qint64 alertId = STORE_OK(store.alerts().insertFiring(firing));
        if (sealed)
            QVERIFY(sealAll(store, sealAt) > 0);

        // Forgotten while batch 3's ack was in flight: the agent enrols anew and resends it.
        QCOMPARE(store.inventory().mergeClients(oldId, oldId + QStringLiteral("0"), kNow).error().kind, StoreError::Kind::Invalid);
        STORE_OK(store.inventory().forgetClient(oldId, false, kNow + 1));
        QCOMPARE(store.inventory().mergeClients(oldId, first.clientId + QStringLiteral("0"), kNow).error().kind,
                 StoreError::Kind::Invalid); // still connected
        STORE_OK(store.enrolment().recordDisconnect(first.connectionId, kNow + 1, QStringLiteral("forgotten")));
        const AuthResult again = STORE_OK(store.enrolment().authenticate(
                makeHello(QStringLiteral("box"), oldId, first.issuedSecret), QStringLiteral("127.0.0.1:2"), kNow + 2));
        QCOMPARE(again.outcome, AuthResult::Outcome::NewClient);
        const QString newId = again.clientId;
        QCOMPARE(STORE_OK(store.inventory().client(newId)).previousId, oldId);
        STORE_OK(store.enrolment().recordDisconnect(again.connectionId, kNow + 3, QStringLiteral("test")));
        for (quint64 seq = 3; seq <= 5; ++seq)
            QCOMPARE(ingestOne(store, newId, batchAt(seq, start + qint64(seq - 1) * 20'000)).front().status, Status::Stored);
        QVERIFY(STORE_OK(store.history().gaps(newId)).isEmpty());
        if (sealed) {
            QVERIFY(sealAll(store, sealAt) > 0);
            RawConnection raw(store.path());
            QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM samples")).toInt(), 0);
        }

        // Only a retired identity can be merged, and not into itself.
        QCOMPARE(store.inventory().mergeClients(newId, oldId, kNow).error().kind, StoreError::Kind::Invalid);
        QCOMPARE(store.inventory().mergeClients(oldId, oldId, kNow).error().kind, StoreError::Kind::Invalid);
        QCOMPARE(store.inventory().mergeClients(QStringLiteral("nobody"), newId, kNow).error().kind,
                 StoreError::Kind::NotFound);

        const MergeResult r = STORE_OK(store.inventory().mergeClients(oldId, newId, kNow + 10));
        QCOMPARE(r.samplesMoved, 40u);
        QCOMPARE(r.duplicateSamples, 20u);
        QCOMPARE(r.batchesMoved, sealed ? 0u : 2u); // sealed batches are remembered by their chunks
        QCOMPARE(r.alertsMoved, 1u);
        QVERIFY(!r.gapRecorded); // contiguous sequences, no pause
        QCOMPARE(store.inventory().client(oldId).error().kind, StoreError::Kind::NotFound);

        const ClientInfo merged = STORE_OK(store.inventory().client(newId));
        QCOMPARE(merged.sampleCount, 100);
        QCOMPARE(merged.groupName, QStringLiteral("lab"));
        QVERIFY(merged.hasOverride);
        QCOMPARE(STORE_OK(store.configs().effectiveConfig(newId)).sampleIntervalMs, 2000u);
        QCOMPARE(merged.firstSeenMs, kNow);
        QVERIFY(merged.previousId.isEmpty());
        QCOMPARE(STORE_OK(store.history().countSamples({newId}, 0, std::numeric_limits<qint64>::max())), 100);
        if (sealed) {
            // The moved rows are sealed afresh under the new identity, merged with its windows.
            QVERIFY(sealAll(store, sealAt) > 0);
            RawConnection raw(store.path());
            QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM samples")).toInt(), 0);
            QCOMPARE(raw.scalar(QStringLiteral("SELECT sum(samples) FROM sample_chunks")).toInt(), 100);
            QCOMPARE(STORE_OK(store.history().countSamples({newId}, 0, std::numeric_limits<qint64>::max())), 100);
            QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM batches")).toInt(), 0);
            // The old identity's batches, resent to the new one, are found in its chunks.
            for (quint64 seq = 1; seq <= 5; ++seq)
                QCOMPARE(ingestOne(store, newId, batchAt(seq, start + qint64(seq - 1) * 20'000)).front().status,
                         Status::Duplicate);
        }

        // Every sample once, in order, and the minute rollups agree with them.
        QHash<qint64, std::pair<quint32, double>> perMinute; // count, max user
        qint64 previous = 0;
        QVERIFY(store.history().forEachSample({newId}, 0, std::numeric_limits<qint64>::max(), [&](const StoredSample &x) {
            const qint64 t = x.sample.timestampMs;
            if (t <= previous)
                return false;
            previous = t;
            auto &m = perMinute[(t / 60000) * 60000];
            ++m.first;
            m.second = std::max(m.second, double(x.sample.cpu.user) + double(x.sample.cpu.nice));
            return true;
        }));
        QCOMPARE(previous, start + 99'000);
        int minutes = 0;
        QVERIFY(store.history().forEachMinute(newId, 0, std::numeric_limits<qint64>::max(), [&](const MinuteRollup &m) {
            ++minutes;
            [&] {
                QCOMPARE(m.count, perMinute.value(m.minuteMs).first);
                QCOMPARE(m.max(MinuteRollup::Series::CpuUser), perMinute.value(m.minuteMs).second);
            }();
            return true;
        }));
        QCOMPARE(minutes, perMinute.size());
        // The hour tier too: every sample once, its sum once.
        qint64 hourCount = 0;
        double hourSum = 0, sampleSum = 0;
        QVERIFY(store.history().forEachHour(newId, 0, std::numeric_limits<qint64>::max(), [&](const MinuteRollup &h) {
            hourCount += h.count;
            hourSum += h.sums[std::size_t(MinuteRollup::Series::CpuUser)];
            return true;
        }));
        QVERIFY(store.history().forEachSample({newId}, 0, std::numeric_limits<qint64>::max(), [&](const StoredSample &x) {
            sampleSum += metrics::seriesValue(x.sample, MinuteRollup::Series::CpuUser);
            return true;
        }));
        QCOMPARE(hourCount, 100);
        QCOMPARE(hourSum, sampleSum);

        // Alerts: the old firing is resolved as merged and belongs to the new ID; so does the override.
        const QList<AlertRecord> alerts = STORE_OK(store.alerts().alerts(true));
        QCOMPARE(alerts.size(), 1);
        QCOMPARE(alerts.front().id, alertId);
        QCOMPARE(alerts.front().clientId, newId);
        QCOMPARE(alerts.front().resolution, QStringLiteral("client merged"));
        bool ruleMoved = false;
        for (const AlertRuleRow &row : STORE_OK(store.alerts().rules()))
            ruleMoved = ruleMoved || (row.clientId == newId && row.settings.threshold == 50);
        QVERIFY(ruleMoved);
    }

    void mergeRecordsTheTimeBetween_data()
    {
        QTest::addColumn<bool>("sealed");
        QTest::newRow("head rows") << false;
        QTest::newRow("sealed chunks, moved whole") << true;
    }

    void mergeRecordsTheTimeBetween()
    {
        QFETCH(bool, sealed);
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const AuthResult first = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(
                makeHello(QStringLiteral("box")), QStringLiteral("127.0.0.1:1"), kNow));
        QCOMPARE(ingestOne(store, first.clientId, testdata::makeBatch(1, 10, 0, kNow)).front().status, Status::Stored);
        QCOMPARE(ingestOne(store, first.clientId, testdata::makeBatch(2, 10, 0, kNow + 10'000)).front().status, Status::Stored);
        if (sealed)
            QCOMPARE(sealAll(store, kNow + RetentionSettings::day), 1);
        // Blocked first: a blocked identity is not merged until it is forgotten (merging would
        // otherwise lift its block: its agent could enrol again under the same ID).
        STORE_OK(store.enrolment().revoke(first.clientId, kNow + 30'000));
        STORE_OK(store.enrolment().markAllOffline(kNow + 30'000, QStringLiteral("test")));
        const QString placeholder = enrol(store, QStringLiteral("other"));
        QCOMPARE(store.inventory().mergeClients(first.clientId, placeholder, kNow).error().kind, StoreError::Kind::Invalid);
        STORE_OK(store.inventory().forgetClient(first.clientId, false, kNow + 31'000));
        // The machine comes back under a new identity (its agent presents an ID this server
        // does not know, so its first batch is its baseline); batches 3-5 were lost on the way
        // and the new identity starts ten minutes later.
        const QString next = STORE_OK(store.enrolment().authenticate(
                makeHello(QStringLiteral("box"), QStringLiteral("0123456789ab"), QStringLiteral("lost")),
                QStringLiteral("127.0.0.1:3"), kNow + 600'000)).clientId;
        QCOMPARE(ingestOne(store, next, testdata::makeBatch(6, 10, 0, kNow + 600'000)).front().status, Status::Stored);
        if (sealed)
            QCOMPARE(sealAll(store, kNow + RetentionSettings::day), 1);
        const MergeResult r = STORE_OK(store.inventory().mergeClients(first.clientId, next, kNow + 700'000));
        if (sealed) {
            // Different windows: the old chunk changed hands without being unsealed, and still
            // answers for its batches.
            RawConnection raw(store.path());
            QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM samples")).toInt(), 0);
            QCOMPARE(raw.scalar(QStringLiteral("SELECT count(DISTINCT client) FROM sample_chunks")).toInt(), 1);
            QCOMPARE(ingestOne(store, next, testdata::makeBatch(1, 10, 0, kNow)).front().status, Status::Duplicate);
            QCOMPARE(STORE_OK(store.history().countSamples({next}, 0, std::numeric_limits<qint64>::max())), 30);
        }
        QVERIFY(r.gapRecorded);
        QCOMPARE(r.samplesMoved, 20u);
        QCOMPARE(r.gapsMoved, 1u); // the old identity's own (its agent's first drop count)
        QList<Store::Gap> gaps = STORE_OK(store.history().gaps(next));
        QCOMPARE(gaps.size(), 2);
        std::sort(gaps.begin(), gaps.end(), [](const auto &x, const auto &y) { return x.endMs < y.endMs; });
        QCOMPARE(gaps.back().reason, QStringLiteral("re-enrolled"));
        QCOMPARE(gaps.back().startMs, kNow + 19'000);
        QCOMPARE(gaps.back().endMs, kNow + 600'000);
        QCOMPARE(gaps.back().sequenceFirst, 3u);
        QCOMPARE(gaps.back().sequenceLast, 5u);
    }

    void mergeKeepsSamplesThatOnlyShareASequence()
    {
        // A reinstalled agent counts its batches from 1 again: the same sequence at other
        // times is different data, and every sample of both identities stays.
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString oldId = enrol(store, QStringLiteral("box"));
        QCOMPARE(ingestOne(store, oldId, testdata::makeBatch(1, 10, 0, kNow)).front().status, Status::Stored);
        QCOMPARE(ingestOne(store, oldId, testdata::makeBatch(2, 10, 0, kNow + 10'000)).front().status, Status::Stored);
        STORE_OK(store.inventory().forgetClient(oldId, false, kNow + 30'000));
        STORE_OK(store.enrolment().markAllOffline(kNow + 30'000, QStringLiteral("test")));
        const QString newId = enrol(store, QStringLiteral("box"));
        QCOMPARE(ingestOne(store, newId, testdata::makeBatch(1, 10, 0, kNow + 600'000)).front().status, Status::Stored);
        const qint64 minutesBefore = STORE_OK(store.history().estimateSamples({oldId, newId}, 0, std::numeric_limits<qint64>::max()));
        // Three samples at a time: the slices leave the database consistent after each.
        const MergeResult r = STORE_OK(store.inventory().mergeClients(oldId, newId, kNow + 700'000, 3));
        QCOMPARE(r.duplicateSamples, 0u);
        QCOMPARE(r.samplesMoved, 20u);
        QCOMPARE(STORE_OK(store.history().countSamples({newId}, 0, std::numeric_limits<qint64>::max())), 30);
        QCOMPARE(STORE_OK(store.inventory().client(newId)).sampleCount, 30);
        QCOMPARE(STORE_OK(store.history().estimateSamples({newId}, 0, std::numeric_limits<qint64>::max())), minutesBefore);
        // The new identity's batch 1 keeps guarding its stream: a resend is a duplicate.
        QCOMPARE(ingestOne(store, newId, testdata::makeBatch(1, 10, 0, kNow + 600'000)).front().status, Status::Duplicate);
    }

    void interruptedMergeRunsAgain()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString oldId = enrol(store, QStringLiteral("box"));
        for (quint64 seq = 1; seq <= 4; ++seq)
            QCOMPARE(ingestOne(store, oldId, testdata::makeBatch(seq, 10, 0, kNow + qint64(seq) * 10'000)).front().status,
                     Status::Stored);
        STORE_OK(store.inventory().forgetClient(oldId, false, kNow + 60'000));
        STORE_OK(store.enrolment().markAllOffline(kNow + 60'000, QStringLiteral("test")));
        const QString newId = enrol(store, QStringLiteral("box"));
        QCOMPARE(ingestOne(store, newId, testdata::makeBatch(5, 10, 0, kNow + 70'000)).front().status, Status::Stored);
        // Stopped after one slice (the server was killed): half the samples moved.
        MergeJob job = STORE_OK(store.inventory().beginMerge(oldId, newId));
        QCOMPARE(STORE_OK(store.inventory().moveMergeSlice(job, 15)), 15u);
        QCOMPARE(STORE_OK(store.inventory().client(oldId)).sampleCount, 25);
        QCOMPARE(STORE_OK(store.inventory().client(newId)).sampleCount, 25);
        // Run again: it finishes, and nothing is lost or counted twice.
        const MergeResult r = STORE_OK(store.inventory().mergeClients(oldId, newId, kNow + 100'000));
        QCOMPARE(r.duplicateSamples, 0u);
        QCOMPARE(r.samplesMoved, 25u);
        QCOMPARE(STORE_OK(store.history().countSamples({newId}, 0, std::numeric_limits<qint64>::max())), 50);
        QCOMPARE(STORE_OK(store.inventory().client(newId)).sampleCount, 50);
        QCOMPARE(STORE_OK(store.history().estimateSamples({newId}, 0, std::numeric_limits<qint64>::max())), 50);
    }

    // --- retention ------------------------------------------------------------------------------

    /** Three days of one client at 10 s (batches of 60), ending at @p end. */
    static QString threeDays(Store &store, qint64 end, QList<SampleBatch> *kept = nullptr)
    {
        AgentConfig tenSeconds = STORE_OK(store.configs().defaultConfig());
        tenSeconds.sampleIntervalMs = 10'000;
        tenSeconds.sendIntervalMs = 600'000;
        STORE_OK(store.configs().setDefaultConfig(tenSeconds));
        const QString id = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(
                makeHello(QStringLiteral("old-timer")), QStringLiteral("t"), end - 4 * RetentionSettings::day)).clientId;
        const qint64 start = end - 3 * RetentionSettings::day;
        quint64 seq = 0;
        for (qint64 t = start; t < end; t += 600'000) {
            SampleBatch b = testdata::makeBatch(++seq, 60, 0, t);
            b.droppedTotal = 0;
            for (std::size_t i = 0; i < b.samples.size(); ++i) {
                b.samples[i].timestampMs = t + qint64(i) * 10'000;
                b.samples[i].flags = 0;
                b.samples[i].cpu.user = float((seq * 60 + i) % 50);
            }
            const Store::IngestItem item{id, &b};
            if (STORE_OK(store.ingest().write(std::span(&item, 1), t + 600'000)).front().status != Status::Stored)
                return {};
            if (kept && seq <= 2)
                kept->append(b);
        }
        return id;
    }

    /** Seals every closed window (as the server does after each purge run); returns the slices. */
    static int sealAll(Store &store, qint64 nowMs, int rows = 5000)
    {
        int slices = 0;
        for (;;) {
            auto r = store.sealer().sealSlice(nowMs, rows);
            if (!r) {
                qWarning() << r.error().message;
                return -1;
            }
            ++slices;
            if (!r->more || slices > 10000)
                return slices;
        }
    }

    /** What a store should return for @p batches' device readings, in time order. */
    static DeviceSeries expectedDevices(const QList<SampleBatch> &batches, qint64 fromMs, qint64 toMs)
    {
        std::vector<DeviceSeries> parts;
        for (const SampleBatch &b : batches) {
            DeviceSeries one;
            one.appendBatch(b);
            parts.push_back(one.slice(fromMs, toMs));
        }
        std::vector<const DeviceSeries *> pointers;
        for (const DeviceSeries &p : parts)
            pointers.push_back(&p);
        return DeviceSeries::merged(pointers);
    }

    void deviceReadingsStoredOnceSealedExpiredAndExported()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        const qint64 t0 = SampleChunk::windowOf(kNow) + SampleChunk::windowMs;
        // 25 minutes at 1 s in batches of 5, every sample with two filesystems, a disk, two
        // interfaces and two sensors; every sixth batch carries none (an agent whose
        // collectors are off for a while), and one mount name is a spreadsheet formula.
        QList<SampleBatch> sent;
        quint64 seq = 0;
        for (qint64 t = t0; t < t0 + 25 * 60'000; t += 5000) {
            SampleBatch b = testdata::makeBatch(++seq, 5, 2, t);
            b.droppedTotal = 0;
            for (Sample &x : b.samples)
                x.flags = 0;
            if (seq % 6 != 0)
                testdata::addDevices(b);
            if (seq == 3)
                b.devices.names[1] = QStringLiteral("=HYPERLINK(\"x\")");
            for (DiskIo &d : b.devices.disks)
                d.writeBytes += seq * 512;
            sent.append(b);
            const Store::IngestItem item{id, &sent.back()};
            QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), t + 5000)).front().status, Status::Stored);
        }
        const qint64 now = t0 + 25 * 60'000;
        RawConnection raw(store.path());
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM device_chunks WHERE sealed = 0")).toInt(), 250);
        // A resend is a duplicate for its devices too: nothing more is written.
        const Store::IngestItem again{id, &sent[10]};
        QCOMPARE(STORE_OK(store.ingest().write(std::span(&again, 1), now)).front().status, Status::Duplicate);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM device_chunks")).toInt(), 250);

        const qint64 end = std::numeric_limits<qint64>::max();
        DeviceSeries all = STORE_OK(store.devices().read(id, 0, end));
        QCOMPARE(all.timestamps.size(), std::size_t(1250));
        QCOMPARE(all.tables.filesystems.size(), std::size_t(2500));
        QVERIFY(all == expectedDevices(sent, 0, end));
        // A range cut in the middle of batches.
        const qint64 cutFrom = t0 + 61'500, cutTo = t0 + 12 * 60'000 + 2'000;
        QVERIFY(STORE_OK(store.devices().read(id, cutFrom, cutTo)) == expectedDevices(sent, cutFrom, cutTo));

        // Sealing: the two closed windows become one row each; the open one stays as head rows.
        const DeviceSealResult sealed = STORE_OK(store.devices().sealSlice(now, 100));
        QCOMPARE(sealed.windows, 2);
        QCOMPARE(sealed.headRows, 200);
        QVERIFY(!sealed.more);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM device_chunks WHERE sealed = 1")).toInt(), 2);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM device_chunks WHERE sealed = 0")).toInt(), 50);
        QVERIFY(STORE_OK(store.devices().read(id, 0, end)) == all);
        // Sealed, a window's readings take a fraction of their rows' bytes.
        const qint64 sealedBytes = raw.scalar(QStringLiteral("SELECT sum(length(data)) FROM device_chunks WHERE sealed = 1")).toLongLong();
        QVERIFY2(sealedBytes * 4 < 200 * raw.scalar(QStringLiteral("SELECT avg(length(data)) FROM device_chunks WHERE sealed = 0")).toLongLong(),
                 qPrintable(QString::number(sealedBytes)));

        // A late batch for the first window is merged into its chunk by the next slice.
        SampleBatch late = testdata::makeBatch(++seq, 5, 2, t0 + 100'500);
        late.droppedTotal = 0;
        for (Sample &x : late.samples)
            x.flags = 0;
        testdata::addDevices(late);
        sent.append(late);
        const Store::IngestItem lateItem{id, &sent.back()};
        QCOMPARE(STORE_OK(store.ingest().write(std::span(&lateItem, 1), now)).front().status, Status::Stored);
        QCOMPARE(STORE_OK(store.devices().sealSlice(now, 100)).windows, 1);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM device_chunks WHERE window_ms = %1").arg(t0)).toInt(), 1);
        all = STORE_OK(store.devices().read(id, 0, end));
        QCOMPARE(all.timestamps.size(), std::size_t(1255));
        QVERIFY(std::is_sorted(all.timestamps.begin(), all.timestamps.end()));
        QVERIFY(all == expectedDevices(sent, 0, end));

        // Export: one row per sample and device, names as untrusted text.
        const auto exported = [&store, &id](CsvExporter::Table table) {
            QBuffer buffer;
            buffer.open(QIODevice::WriteOnly);
            CsvExporter exporter(store);
            CsvExporter::Options options;
            options.table = table;
            options.clientIds = {id};
            const CsvExporter::Result r = exporter.exportTo(&buffer, options);
            return std::pair(r, QString::fromUtf8(buffer.data()).split(QStringLiteral("\r\n"), Qt::SkipEmptyParts));
        };
        const auto [fsResult, fsLines] = exported(CsvExporter::Table::Filesystems);
        QVERIFY2(fsResult.ok, qPrintable(fsResult.error));
        QCOMPARE(fsResult.rows, 2510);
        QCOMPARE(fsLines.size(), 2511);
        QCOMPARE(fsLines.first(), QStringLiteral("client_id,hostname,timestamp,mount,size_bytes,used_bytes,available_bytes,use_percent,inodes_used,inodes_total"));
        const auto iso = [t0](int seconds) {
            return QDateTime::fromMSecsSinceEpoch(t0 + seconds * 1000, QTimeZone::utc()).toString(u"yyyy-MM-ddTHH:mm:ss.zzz'Z'");
        };
        QCOMPARE(fsLines[1], id + u",host-a," + iso(0) + u",/,107374182400,42949672960,59055800320,42.11,1000000,6553600");
        QVERIFY(fsLines.contains(id + u",host-a," + iso(10)
                                 + u",\"'=HYPERLINK(\"\"x\"\")\",2199023255552,1099511627776,966367641600,53.22,52000,134217728"));
        const auto [diskResult, diskLines] = exported(CsvExporter::Table::Disks);
        QCOMPARE(diskResult.rows, 1255);
        // Sample 2 of batch 1: 4096 × 12 read, 65536 × 2 + 512 written in 1 s, 32 ms busy.
        QCOMPARE(diskLines[3], id + u",host-a," + iso(2)
                                   + u",nvme0n1,1,49152,131584,12,32,49152,131584,12,32,3.2");
        const auto [netResult, netLines] = exported(CsvExporter::Table::Network);
        QCOMPARE(netResult.rows, 2510);
        QCOMPARE(netLines[1], id + u",host-a," + iso(0) + u",eth0,1,125000,9000,100,60,0,0,0,0,125000,9000,100,60");
        const auto [tempResult, tempLines] = exported(CsvExporter::Table::Temperatures);
        QCOMPARE(tempResult.rows, 2510);
        QCOMPARE(tempLines[2], id + u",host-a," + iso(0) + u",nvme/Composite,38.85,");
        QCOMPARE(tempLines[1], id + u",host-a," + iso(0) + u",coretemp/Package id 0,45,100");

        // Retention: device readings go with the raw tier, whole windows at a time.
        RetentionSettings keep;
        keep.keepRawMs = RetentionSettings::day;
        STORE_OK(store.retention().setSettings(keep));
        const PurgeResult purged = STORE_OK(store.retention().purgeSlice(t0 + RetentionSettings::day + 15 * 60'000, 100000));
        QCOMPARE(purged.deviceRows, 1);
        QCOMPARE(STORE_OK(store.devices().read(id, 0, end)).timestamps.front(), t0 + 10 * 60'000);

        // A corrupt row: reads say which client and window; sealing leaves that window alone.
        QVERIFY(raw.exec(QStringLiteral("UPDATE device_chunks SET data = %1 WHERE rowid = (SELECT max(rowid) FROM device_chunks)").arg(blob("01015555"))));
        const auto broken = store.devices().read(id, 0, end);
        QVERIFY(!broken);
        QVERIFY2(broken.error().message.contains(u"corrupt device chunk"), qPrintable(broken.error().message));
        QVERIFY(store.devices().sealSlice(now + 3'600'000, 100));
    }

    void sealingKeepsEverySampleOnceInTimeOrder()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        const qint64 t0 = SampleChunk::windowOf(kNow) + SampleChunk::windowMs; // on a window
        // 25 minutes at 1 s in batches of 5, with irregular values: two closed windows, one open.
        QList<SampleBatch> sent;
        quint64 seq = 0;
        for (qint64 t = t0; t < t0 + 25 * 60'000; t += 5000) {
            SampleBatch b = testdata::makeBatch(++seq, 5, 8, t);
            b.droppedTotal = 0;
            for (std::size_t i = 0; i < b.samples.size(); ++i) {
                b.samples[i].timestampMs += qint64((seq * 37 + i * 11) % 9); // ms of jitter
                b.samples[i].cpu.user = float((seq * 13 + i * 7) % 1000) / 10.0f * 0.9f;
                b.samples[i].memory.free += (seq * 4096 * 3) % (1 << 24);
                b.samples[i].flags = 0;
            }
            for (float &c : b.coreBusy)
                c = float((qint64(c * 31) + qint64(seq)) % 10000) / 100.0f + 0.001f;
            sent.append(b);
            const Store::IngestItem item{id, &sent.back()};
            QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), t + 5000)).front().status, Status::Stored);
        }
        const qint64 now = t0 + 25 * 60'000;
        RawConnection raw(store.path());
        // Slices are bounded: 700 rows a slice takes two slices for two windows of 600.
        QCOMPARE(sealAll(store, now, 700), 2);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM sample_chunks")).toInt(), 2);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM samples")).toInt(), 300); // the open window
        // Batch rows stay only for the head's batches; sealed ones are found in their chunks.
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM batches")).toInt(), 60);
        for (const int resend : {0, 99, 239}) {
            const Store::IngestItem again{id, &sent[resend]};
            QCOMPARE(STORE_OK(store.ingest().write(std::span(&again, 1), now)).front().status, Status::Duplicate);
        }
        QCOMPARE(STORE_OK(store.history().countSamples({id}, 0, std::numeric_limits<qint64>::max())), 1500);
        QVERIFY(raw.scalar(QStringLiteral("SELECT min(ts_ms) FROM samples")).toLongLong() - (t0 + 20 * 60'000) < 9);

        // A late batch for the first, sealed window: stored, then merged into that window's chunk.
        SampleBatch late = testdata::makeBatch(++seq, 5, 8, t0 + 100'500);
        late.droppedTotal = 0;
        for (Sample &x : late.samples)
            x.flags = 0;
        sent.append(late);
        const Store::IngestItem lateItem{id, &sent.back()};
        QCOMPARE(STORE_OK(store.ingest().write(std::span(&lateItem, 1), now)).front().status, Status::Stored);
        QCOMPARE(STORE_OK(store.ingest().write(std::span(&lateItem, 1), now)).front().status, Status::Duplicate);
        QCOMPARE(sealAll(store, now), 1);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM sample_chunks WHERE window_ms = %1").arg(t0)).toInt(), 1);
        QCOMPARE(raw.scalar(QStringLiteral("SELECT samples FROM sample_chunks WHERE window_ms = %1").arg(t0)).toInt(), 605);

        // Everything reads back once, in time order, equal to what was sent to the stated precision.
        struct Row {
            qint64 ts;
            quint64 seq;
            Sample s;
            std::vector<float> cores;
        };
        std::vector<Row> expected;
        for (const SampleBatch &b : std::as_const(sent))
            for (std::size_t i = 0; i < b.samples.size(); ++i)
                expected.push_back({b.samples[i].timestampMs, b.sequence, b.samples[i],
                                    std::vector<float>(b.coreBusy.begin() + qsizetype(i) * 8,
                                                       b.coreBusy.begin() + qsizetype(i + 1) * 8)});
        std::stable_sort(expected.begin(), expected.end(), [](const Row &a, const Row &b) { return a.ts < b.ts; });
        std::size_t at = 0;
        bool same = true;
        QString firstDifference;
        QVERIFY(store.history().forEachSample({id}, 0, std::numeric_limits<qint64>::max(), [&](const StoredSample &r) {
            if (at >= expected.size())
                return same = false;
            const Row &e = expected[at++];
            // Sealed samples read back in hundredths; the open window's head rows as sent.
            const bool sealedRow = r.sample.timestampMs < t0 + 20 * 60'000;
            const auto kept = [sealedRow](float got, float original) {
                return sealedRow ? got == SampleChunk::stored(original) && std::fabs(got - original) <= 0.00501f
                                 : got == original;
            };
            bool ok = r.sample.timestampMs == e.ts && r.sequence == e.seq && r.sample.memory == e.s.memory
                    && kept(r.sample.cpu.user, e.s.cpu.user) && kept(r.sample.cpu.idle, e.s.cpu.idle)
                    && kept(r.sample.load1, e.s.load1) && r.sample.coreCount == 8;
            for (int c = 0; ok && c < 8; ++c)
                ok = kept(r.core(c), e.cores[std::size_t(c)]);
            if (!ok && same)
                firstDifference = QStringLiteral("sample %1 at %2").arg(at - 1).arg(r.sample.timestampMs);
            same = same && ok;
            return true;
        }));
        QVERIFY2(same, qPrintable(firstDifference));
        QCOMPARE(at, expected.size());
        // Exact counts of ranges that cut chunks, and of the whole.
        const qint64 from = t0 + 90'000, to = t0 + 700'000;
        const auto inRange = std::count_if(expected.begin(), expected.end(),
                                           [&](const Row &r) { return r.ts >= from && r.ts < to; });
        QCOMPARE(STORE_OK(store.history().countSamples({id}, from, to)), qint64(inRange));
        QCOMPARE(STORE_OK(store.history().countSamples({}, 0, std::numeric_limits<qint64>::max())), qint64(expected.size()));
        // A range read inside one chunk starts and stops where asked.
        QList<qint64> times;
        QVERIFY(store.history().forEachSample({id}, t0 + 100'000, t0 + 103'000, [&](const StoredSample &r) {
            times.append(r.sample.timestampMs);
            return true;
        }));
        QCOMPARE(times.size(), 6); // three regular samples and three of the late batch
        QVERIFY(std::is_sorted(times.begin(), times.end()));
        const StorageStats stats = STORE_OK(store.retention().stats());
        QCOMPARE(stats.tiers[0].rows, qint64(expected.size()));
        QCOMPARE(stats.tiers[0].oldestMs, expected.front().ts);
        QCOMPARE(stats.tiers[0].newestMs, expected.back().ts);
    }

    void locationsParse_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<QString>("options");
        QTest::addColumn<QString>("display"); // empty: refused
        QTest::addRow("file") << QStringLiteral("/var/lib/autofact/a.db") << QString() << -1 << QString()
                              << QStringLiteral("/var/lib/autofact/a.db");
        QTest::addRow("one host") << QStringLiteral("postgresql://af@db1:5433/fleet?sslmode=require")
                                  << QStringLiteral("db1") << 5433 << QStringLiteral("sslmode=require")
                                  << QStringLiteral("postgresql://af@db1:5433/fleet");
        QTest::addRow("v6") << QStringLiteral("postgresql://af@[::1]:5432/fleet") << QStringLiteral("::1") << 5432
                            << QString() << QStringLiteral("postgresql://af@[::1]:5432/fleet");
        QTest::addRow("host list") << QStringLiteral("postgresql://af@db1:5432,db2:5433/fleet?target_session_attrs=read-write")
                                   << QStringLiteral("db1,db2") << -1
                                   << QStringLiteral("port=5432,5433 target_session_attrs=read-write")
                                   << QStringLiteral("postgresql://af@db1:5432,db2:5433/fleet");
        QTest::addRow("list, a default port") << QStringLiteral("postgres://db1,[::1]:6000/fleet")
                                              << QStringLiteral("db1,::1") << -1 << QStringLiteral("port=,6000")
                                              << QStringLiteral("postgresql://db1,[::1]:6000/fleet");
        QTest::addRow("list, no ports") << QStringLiteral("postgresql://af@db1,db2/fleet") << QStringLiteral("db1,db2")
                                        << -1 << QString() << QStringLiteral("postgresql://af@db1,db2/fleet");
        QTest::addRow("password") << QStringLiteral("postgresql://af:secret@db1/fleet") << QString() << -1 << QString()
                                  << QString();
        QTest::addRow("password, list") << QStringLiteral("postgresql://af:secret@db1,db2/fleet") << QString() << -1
                                        << QString() << QString();
        QTest::addRow("empty host in list") << QStringLiteral("postgresql://af@db1,,db2/fleet") << QString() << -1
                                            << QString() << QString();
        QTest::addRow("bad port in list") << QStringLiteral("postgresql://af@db1:x,db2/fleet") << QString() << -1
                                          << QString() << QString();
        QTest::addRow("port past range") << QStringLiteral("postgresql://af@db1:70000,db2/fleet") << QString() << -1
                                         << QString() << QString();
        QTest::addRow("conninfo in a host") << QStringLiteral("postgresql://af@db1,db2'host=evil/fleet") << QString()
                                            << -1 << QString() << QString();
    }
    void locationsParse()
    {
        QFETCH(QString, text);
        QFETCH(QString, host);
        QFETCH(int, port);
        QFETCH(QString, options);
        QFETCH(QString, display);
        QString error;
        const auto location = StoreLocation::parse(text, &error);
        if (display.isEmpty()) {
            QVERIFY2(!location, qPrintable(text));
            QVERIFY(!error.isEmpty());
            QVERIFY2(!error.contains(QStringLiteral("secret")), qPrintable(error));
            return;
        }
        QVERIFY2(location, qPrintable(error));
        QCOMPARE(location->host, host);
        QCOMPARE(location->port, port);
        QCOMPARE(location->options.join(u' '), options);
        QCOMPARE(location->display(), display);
    }

    void aHostListConnectsPastADeadHost()
    {
        if (!onPostgres())
            QSKIP("PostgreSQL only");
        // The first host refuses (nothing listens on port 1); libpq goes on to the next, as it
        // does when a failed primary is first in the list.
        const QString uri = newPath();
        QString error;
        const auto live = StoreLocation::parse(uri, &error);
        QVERIFY2(live, qPrintable(error));
        const QString host = live->host.contains(u':') ? u'[' + live->host + u']' : live->host;
        const QString list = QStringLiteral("postgresql://%1@127.0.0.1:1,%2:%3/%4")
                                     .arg(live->user, host)
                                     .arg(live->port)
                                     .arg(live->database);
        Store store(list);
        QVERIFY_STORE(store.open());
        QVERIFY(store.isShared());
        QVERIFY(!STORE_OK(store.inventory().clients()).size());
        Hello hello;
        hello.hostname = QStringLiteral("listed");
        QVERIFY(!STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(hello, QStringLiteral("127.0.0.1"), kNow))
                         .clientId.isEmpty());
        // Nothing answers on any host: a clear error naming the list.
        Store none(QStringLiteral("postgresql://%1@127.0.0.1:1,127.0.0.1:2/%2?connect_timeout=2").arg(live->user, live->database));
        const auto failed = none.open();
        QVERIFY(!failed);
        QVERIFY2(failed.error().message.contains(QStringLiteral("127.0.0.1:1,127.0.0.1:2")), qPrintable(failed.error().message));
    }

    void reconnectsAfterLosingTheServer()
    {
        if (!onPostgres())
            QSKIP("PostgreSQL only: an SQLite file has no connection to lose");
        const QString path = newPath();
        Store store(path);
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        QCOMPARE(ingestOne(store, id, testdata::makeBatch(1, 10, 2))[0].status, Status::Stored);
        {
            // What a failover or a restarted server does to a live connection.
            RawConnection raw(path);
            QVERIFY(raw.ok());
            QCOMPARE(raw.scalar(QStringLiteral("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                               " WHERE application_name = 'autofact' AND pid <> pg_backend_pid()"))
                             .toInt(),
                     1);
        }
        // The batch sent while the connection was gone is not stored (so not acked)...
        const SampleBatch second = testdata::makeBatch(2, 10, 2, 1'700'000'100'000);
        QCOMPARE(ingestOne(store, id, second)[0].status, Status::Failed);
        // ...and once connected again, its resend is stored, once.
        // (Reconnection is tried at most once a second; the status is kept once it is not
        // Failed, as QTRY evaluates its condition once more at the end.)
        Status resent = Status::Failed;
        QTRY_VERIFY_WITH_TIMEOUT(resent != Status::Failed || (resent = ingestOne(store, id, second)[0].status) != Status::Failed,
                                 5000);
        QCOMPARE(resent, Status::Stored);
        QCOMPARE(ingestOne(store, id, second)[0].status, Status::Duplicate);
        QCOMPARE(STORE_OK(store.inventory().client(id)).sampleCount, 20);
    }

    void nestedReadIsRefused()
    {
        // One statement per query, stepped by one read at a time: a visitor that reads again
        // through the same store gets an error, not a reset statement under the outer read.
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        const SampleBatch b = testdata::makeBatch(1, 5, 2, kNow);
        QCOMPARE(ingestOne(store, id, b).front().status, Status::Stored);
        int visited = 0;
        QString inner;
        QVERIFY(store.history().forEachSample({id}, 0, std::numeric_limits<qint64>::max(), [&](const StoredSample &) {
            ++visited;
            auto n = store.history().countSamples({id}, 0, std::numeric_limits<qint64>::max());
            if (!n)
                inner = n.error().message;
            return true;
        }));
        QCOMPARE(visited, 5);
        QVERIFY2(inner.contains(u"inside another"), qPrintable(inner));
        QCOMPARE(STORE_OK(store.history().countSamples({id}, 0, std::numeric_limits<qint64>::max())), 5); // free again
    }

    void corruptChunkIsAnErrorNotAnEmptyAnswer()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString id = enrol(store);
        const qint64 t0 = SampleChunk::windowOf(kNow);
        const SampleBatch b = testdata::makeBatch(1, 5, 2, t0);
        const Store::IngestItem item{id, &b};
        QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), t0)).front().status, Status::Stored);
        QCOMPARE(sealAll(store, t0 + SampleChunk::windowMs + ChunkSealer::graceMs), 1);
        {
            RawConnection raw(store.path());
            QVERIFY(raw.exec(QStringLiteral("UPDATE sample_chunks SET data = %1").arg(blob("0101ffff"))));
        }
        auto read = store.history().forEachSample({id}, 0, std::numeric_limits<qint64>::max(),
                                                  [](const StoredSample &) { return true; });
        QVERIFY(!read);
        QVERIFY2(read.error().message.contains(u"corrupt sample chunk"), qPrintable(read.error().message));
        QVERIFY(!store.history().countSamples({id}, t0 + 1, t0 + 3000));
        // A late batch for that window cannot be sealed into it; other clients are sealed all
        // the same, and the late rows stay readable as head rows once the chunk is gone.
        SampleBatch late = testdata::makeBatch(2, 5, 2, t0 + 60'000);
        const Store::IngestItem lateItem{id, &late};
        QCOMPARE(STORE_OK(store.ingest().write(std::span(&lateItem, 1), t0)).front().status, Status::Stored);
        const QString other = enrol(store, QStringLiteral("host-b"));
        const SampleBatch b2 = testdata::makeBatch(1, 5, 2, t0);
        const Store::IngestItem otherItem{other, &b2};
        QCOMPARE(STORE_OK(store.ingest().write(std::span(&otherItem, 1), t0)).front().status, Status::Stored);
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("not sealing client .* does not decode")));
        QVERIFY(sealAll(store, t0 + SampleChunk::windowMs + ChunkSealer::graceMs) > 0);
        QCOMPARE(STORE_OK(store.history().countSamples({other}, 0, std::numeric_limits<qint64>::max())), 5);
        RawConnection raw(store.path());
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM samples")).toInt(), 5); // the late batch, as rows
        QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM sample_chunks")).toInt(), 2);
    }

    void retentionPurgesEachTierInSlices_data()
    {
        QTest::addColumn<bool>("sealed");
        QTest::newRow("head rows") << false;
        QTest::newRow("sealed chunks") << true;
    }

    void retentionPurgesEachTierInSlices()
    {
        QFETCH(bool, sealed);
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const qint64 end = 1'700'006'400'000 - 1'700'006'400'000 % 3'600'000; // on an hour
        QList<SampleBatch> first;
        const QString id = threeDays(store, end, &first);
        QVERIFY(!id.isEmpty());
        const qint64 total = 3 * 8640;
        QCOMPARE(STORE_OK(store.inventory().client(id)).sampleCount, total);
        if (sealed) {
            QVERIFY(sealAll(store, end + ChunkSealer::graceMs) > 0);
            QCOMPARE(STORE_OK(store.history().countSamples({id}, 0, std::numeric_limits<qint64>::max())), total);
            RawConnection raw(store.path());
            QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM samples")).toInt(), 0);
            QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM sample_chunks")).toInt(), 3 * 144);
            QCOMPARE(raw.scalar(QStringLiteral("SELECT count(*) FROM batches")).toInt(), 0);
        }
        // The hour tier: 72 hours, each with the average of its samples.
        QCOMPARE(STORE_OK(store.retention().stats()).tiers[2].rows, 72);
        QCOMPARE(STORE_OK(store.retention().settings()), RetentionSettings{}); // the defaults
        // Nothing is old enough for the defaults.
        PurgeResult none = STORE_OK(store.retention().purgeSlice(end, 1000));
        QCOMPARE(none.total(), 0);
        QVERIFY(!none.more);

        RetentionSettings s;
        s.keepRawMs = RetentionSettings::day;
        s.keepMinutesMs = 2 * RetentionSettings::day;
        STORE_OK(store.retention().setSettings(s));
        int slices = 0;
        PurgeResult all;
        for (;;) {
            const PurgeResult r = STORE_OK(store.retention().purgeSlice(end, 1000));
            // Bounded work per slice (whole partitions PostgreSQL drops cost no per-row work).
            QVERIFY2(r.total() - r.droppedRows <= 1000, qPrintable(QString::number(r.total())));
            all.rawRows += r.rawRows;
            all.minuteRows += r.minuteRows;
            all.batchRows += r.batchRows;
            ++slices;
            if (!r.more)
                break;
            QVERIFY(slices < 200);
        }
        QVERIFY(slices > (onPostgres() && sealed ? 1 : 10));
        QCOMPARE(all.rawRows, 2 * 8640);
        QCOMPARE(all.minuteRows, 1440);
        QCOMPARE(all.batchRows, sealed ? 0 : 2 * 144); // sealing took the sealed batches' rows already
        // What is left: a day of raw samples, two days of minutes, every hour.
        QCOMPARE(STORE_OK(store.history().countSamples({id}, 0, std::numeric_limits<qint64>::max())), 8640);
        QCOMPARE(STORE_OK(store.inventory().client(id)).sampleCount, 8640);
        const StorageStats stats = STORE_OK(store.retention().stats());
        QCOMPARE(stats.tiers[0].name, QStringLiteral("raw"));
        QCOMPARE(stats.tiers[0].rows, 8640);
        QCOMPARE(stats.tiers[0].oldestMs, end - RetentionSettings::day);
        QCOMPARE(stats.tiers[1].rows, 2 * 1440);
        QCOMPARE(stats.tiers[1].oldestMs, end - 2 * RetentionSettings::day);
        QCOMPARE(stats.tiers[2].rows, 72);
        QVERIFY(stats.tiers[0].bytes > 0 && stats.fileBytes > 0);
        // The gaps table says why: one "expired" row for the whole range.
        int expired = 0;
        for (const Store::Gap &g : STORE_OK(store.history().gaps(id))) {
            if (g.reason != QStringLiteral("expired"))
                continue;
            ++expired;
            QCOMPARE(g.startMs, end - 3 * RetentionSettings::day);
            QCOMPARE(g.endMs, end - RetentionSettings::day - 10'000);
        }
        QCOMPARE(expired, 1);
        // A batch stored before it expired is acknowledged again, never stored twice.
        const Store::IngestItem resend{id, &first.front()};
        QCOMPARE(STORE_OK(store.ingest().write(std::span(&resend, 1), end)).front().status, Status::Duplicate);
        QCOMPARE(STORE_OK(store.history().countSamples({id}, 0, std::numeric_limits<qint64>::max())), 8640);
        // A day later the horizon moves on by a day.
        STORE_OK(store.retention().purgeSlice(end + RetentionSettings::day, 100000));
        QCOMPARE(STORE_OK(store.history().countSamples({id}, 0, std::numeric_limits<qint64>::max())), 0);
    }

    void sizeBudgetDropsTheOldestRawFirst()
    {
        SQLITE_ONLY();
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const qint64 end = 1'700'006'400'000 - 1'700'006'400'000 % 3'600'000;
        const QString id = threeDays(store, end);
        QVERIFY(!id.isEmpty());
        const qint64 before = STORE_OK(store.retention().usedBytes());
        RetentionSettings s;
        s.keepRawMs = 0; // forever: only the budget deletes
        s.maxDbBytes = before / 2;
        STORE_OK(store.retention().setSettings(s));
        PurgeResult r;
        int slices = 0;
        do {
            r = STORE_OK(store.retention().purgeSlice(end, 2000));
            QVERIFY(++slices < 500);
        } while (r.more);
        QVERIFY2(STORE_OK(store.retention().usedBytes()) <= s.maxDbBytes,
                 qPrintable(QStringLiteral("%1 > %2").arg(STORE_OK(store.retention().usedBytes())).arg(s.maxDbBytes)));
        const StorageStats stats = STORE_OK(store.retention().stats());
        // The oldest raw samples went; the newest day is there, and every minute and hour.
        QVERIFY(stats.tiers[0].rows > 0 && stats.tiers[0].rows < 3 * 8640);
        QVERIFY(stats.tiers[0].oldestMs > end - 3 * RetentionSettings::day);
        QCOMPARE(stats.tiers[0].newestMs, end - 10'000);
        QCOMPARE(stats.tiers[1].rows, 3 * 1440);
        QCOMPARE(stats.tiers[2].rows, 72);
        // A new file gives the pages back to the file system: few free pages are left in it.
        RawConnection raw(store.path());
        QVERIFY(raw.ok());
        const qint64 freePages = raw.scalar(QStringLiteral("PRAGMA freelist_count")).toLongLong();
        const qint64 pages = raw.scalar(QStringLiteral("PRAGMA page_count")).toLongLong();
        QVERIFY2(freePages * 20 < pages, qPrintable(QStringLiteral("%1 free of %2").arg(freePages).arg(pages)));
        QVERIFY(pages * raw.scalar(QStringLiteral("PRAGMA page_size")).toLongLong() < before);
    }

    void hourTierKeepsMinMaxAndAverage()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const qint64 end = 1'700'006'400'000 - 1'700'006'400'000 % 3'600'000;
        const QString id = threeDays(store, end);
        QList<MinuteRollup> hours;
        QVERIFY_STORE(store.history().forEachHour(id, 0, std::numeric_limits<qint64>::max(), [&](const MinuteRollup &h) {
            hours.append(h);
            return true;
        }));
        QCOMPARE(hours.size(), 72);
        double min = 1e9, max = -1, sum = 0;
        int n = 0;
        QVERIFY_STORE(store.history().forEachSample({id}, hours[5].minuteMs, hours[5].minuteMs + 3'600'000,
                                                    [&](const StoredSample &x) {
                                                        const double v = metrics::seriesValue(x.sample, metrics::Series::CpuUser);
                                                        min = std::min(min, v);
                                                        max = std::max(max, v);
                                                        sum += v;
                                                        ++n;
                                                        return true;
                                                    }));
        QCOMPARE(int(hours[5].count), n);
        QCOMPARE(hours[5].min(metrics::Series::CpuUser), min);
        QCOMPARE(hours[5].max(metrics::Series::CpuUser), max);
        QCOMPARE(hours[5].avg(metrics::Series::CpuUser), sum / n);
    }

    // --- inventory ------------------------------------------------------------------------------

    void untrustedTextIsStoredAsGiven_data()
    {
        QTest::addColumn<QString>("hostname");
        QTest::newRow("quote and comment") << QStringLiteral("x'); DROP TABLE clients; --");
        QTest::newRow("backslashes") << QStringLiteral("a\\'b\\\\x00\\");
        QTest::newRow("placeholder") << QStringLiteral("?1 ? '?'");
        QTest::newRow("dollar quote") << QStringLiteral("$$ $tag$ E'\\n'");
        QTest::newRow("unicode") << QStringLiteral("h\u00f4te-\u6d4b\u8bd5-\U0001F600");
    }
    void untrustedTextIsStoredAsGiven()
    {
        // An agent's strings reach SQL as literals on PostgreSQL (Database::appendLiteral) and
        // as bound values on SQLite: either way they come back exactly, and nothing runs.
        QFETCH(QString, hostname);
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const AuthResult r = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(hostname), hostname, kNow));
        QCOMPARE(r.outcome, AuthResult::Outcome::NewClient);
        const QList<Store::ClientInfo> list = STORE_OK(store.inventory().clients());
        QCOMPARE(list.size(), 1);
        QCOMPARE(list.front().hostname, hostname);
        QCOMPARE(STORE_OK(store.inventory().resolveClients({hostname})), QStringList{r.clientId});
    }

    void clientsRoundTrip()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const Hello h = makeHello(QStringLiteral("zeta, \"the\" host"));
        const AuthResult r = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(h, QStringLiteral("p"), kNow));
        SampleBatch b = testdata::makeBatch(1, 4, 2);
        b.droppedTotal = 11;
        QCOMPARE(ingestOne(store, r.clientId, b).front().status, Status::Stored);
        const QList<Store::ClientInfo> list = STORE_OK(store.inventory().clients());
        QCOMPARE(list.size(), 1);
        const Store::ClientInfo &c = list.front();
        QCOMPARE(c.id, r.clientId);
        QCOMPARE(c.hostname, h.hostname);
        QCOMPARE(c.osName, h.osName);
        QCOMPARE(c.osVersion, h.osVersion);
        QCOMPARE(c.kernel, h.kernel);
        QCOMPARE(c.arch, h.arch);
        QCOMPARE(c.cpuModel, h.cpuModel);
        QCOMPARE(c.cpuCount, 8);
        QCOMPARE(c.memTotal, h.memTotal);
        QCOMPARE(c.bootTimeMs, h.bootTimeMs);
        QCOMPARE(c.agentVersion, h.agentVersion);
        QCOMPARE(c.firstSeenMs, kNow);
        QCOMPARE(c.connectionCount, 1);
        QCOMPARE(c.sampleCount, 4);
        QCOMPARE(c.droppedTotal, 11u);
        QCOMPARE(c.lastSequence, 1u);
        QCOMPARE(c.lastSampleMs, b.samples.back().timestampMs);
        QVERIFY(c.online);
        QVERIFY(!c.forgotten);
    }

    void resolveClients()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const QString a = enrol(store, QStringLiteral("Web-1"));
        const QString b = enrol(store, QStringLiteral("db-1"));
        // IDs and unique hostnames (in any case) name one client each, in the order given.
        QCOMPARE(STORE_OK(store.inventory().resolveClients({b, QStringLiteral("WEB-1")})), (QStringList{b, a}));
        QCOMPARE(STORE_OK(store.inventory().resolveClients({a, a, QStringLiteral("web-1")})), QStringList{a});
        const auto unknown = store.inventory().resolveClients({a, QStringLiteral("nobody")});
        QVERIFY(!unknown);
        QCOMPARE(unknown.error().kind, StoreError::Kind::NotFound);
        QCOMPARE(unknown.errorMessage(), QStringLiteral("unknown client: nobody"));
        QVERIFY(STORE_OK(store.inventory().resolveClients({})).isEmpty());

        // Regression: a second client enrolling as "WEB-1" merged into "web-1"'s export.
        const QString c = enrol(store, QStringLiteral("WEB-1"));
        QCOMPARE(STORE_OK(store.inventory().resolveClients({QStringLiteral("Web-1")})), QStringList{a});
        QCOMPARE(STORE_OK(store.inventory().resolveClients({QStringLiteral("WEB-1")})), QStringList{c});
        const auto ambiguous = store.inventory().resolveClients({QStringLiteral("web-1")});
        QVERIFY(!ambiguous);
        QCOMPARE(ambiguous.error().kind, StoreError::Kind::Invalid);
        QVERIFY2(ambiguous.errorMessage().contains(a) && ambiguous.errorMessage().contains(c)
                     && ambiguous.errorMessage().contains(QStringLiteral("name one by ID")),
                 qPrintable(ambiguous.errorMessage()));
        // A reinstalled machine under the very same name: two clients, refused by name too.
        const QString d = enrol(store, QStringLiteral("db-1"));
        const auto twice = store.inventory().resolveClients({QStringLiteral("db-1")});
        QVERIFY(!twice);
        QVERIFY2(twice.errorMessage().contains(b) && twice.errorMessage().contains(d), qPrintable(twice.errorMessage()));
        QCOMPARE(STORE_OK(store.inventory().resolveClients({d})), QStringList{d});
    }

    void forgetClient()
    {
        Store store(newPath());
        QVERIFY_STORE(store.open());
        const AuthResult keep = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("keep")),
                                                   QStringLiteral("p"), kNow));
        const AuthResult drop = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("drop")),
                                                   QStringLiteral("p"), kNow));
        const SampleBatch b = testdata::makeBatch(1, 10, 2);
        QCOMPARE(ingestOne(store, keep.clientId, b).front().status, Status::Stored);
        QCOMPARE(ingestOne(store, drop.clientId, b).front().status, Status::Stored);
        const qint64 all = std::numeric_limits<qint64>::max();
        const qint64 none = std::numeric_limits<qint64>::min();

        QVERIFY_STORE(store.inventory().forgetClient(keep.clientId, false, kNow));
        QVERIFY(store.inventory().client(keep.clientId)->forgotten);
        QCOMPARE(STORE_OK(store.history().countSamples({keep.clientId}, none, all)), 10);
        // Its credentials no longer work: the agent enrols again under a new ID.
        const AuthResult again = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(
                makeHello(QStringLiteral("keep"), keep.clientId, keep.issuedSecret),
                QStringLiteral("p"), kNow));
        QCOMPARE(again.outcome, AuthResult::Outcome::NewClient);
        QVERIFY(again.clientId != keep.clientId);
        QCOMPARE(ingestOne(store, keep.clientId, testdata::makeBatch(2, 1, 2)).front().status,
                 Status::Failed);

        QVERIFY_STORE(store.inventory().forgetClient(drop.clientId, true, kNow));
        QVERIFY(!store.inventory().client(drop.clientId));
        QCOMPARE(STORE_OK(store.history().countSamples({}, none, all)), 10);
        QCOMPARE(STORE_OK(store.history().gaps(drop.clientId)).size(), 0);
        QCOMPARE(store.inventory().forgetClient(drop.clientId, true, kNow).error().kind, StoreError::Kind::NotFound);
        QCOMPARE(store.inventory().forgetClient(QStringLiteral("nope"), false, kNow).error().kind,
                 StoreError::Kind::NotFound);
    }
};

QTEST_GUILESS_MAIN(TestStore)
#include "tst_store.moc"
