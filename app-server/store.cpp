// SPDX-License-Identifier: MIT
#include "store.h"

#include "codec.h"

#include "serverlogging.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QtEndian>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

namespace autofact::server {

namespace {

std::atomic<quint64> s_connectionCounter{0};

constexpr int kSaltBytes = 16;
constexpr int kSecretBytes = 32;
constexpr int kIdBytes = 6; // 12 hex characters

// Schema version 1, kept verbatim: databases written by it are migrated step by step, and a
// fresh database is built by the same steps, so the migration path is exercised every time.
constexpr const char *kSchemaV1[] = {
    R"(CREATE TABLE clients (
         num INTEGER PRIMARY KEY,
         id TEXT NOT NULL UNIQUE,
         secret_salt BLOB,
         secret_hash BLOB,
         hostname TEXT NOT NULL DEFAULT '',
         os_name TEXT NOT NULL DEFAULT '',
         os_version TEXT NOT NULL DEFAULT '',
         kernel TEXT NOT NULL DEFAULT '',
         arch TEXT NOT NULL DEFAULT '',
         cpu_model TEXT NOT NULL DEFAULT '',
         cpu_count INTEGER NOT NULL DEFAULT 0,
         mem_total INTEGER NOT NULL DEFAULT 0,
         boot_time_ms INTEGER NOT NULL DEFAULT 0,
         agent_version TEXT NOT NULL DEFAULT '',
         first_seen_ms INTEGER NOT NULL,
         last_seen_ms INTEGER NOT NULL,
         connection_count INTEGER NOT NULL DEFAULT 0,
         sample_count INTEGER NOT NULL DEFAULT 0,
         last_sequence INTEGER NOT NULL DEFAULT 0,
         last_sample_ms INTEGER,
         dropped_total INTEGER NOT NULL DEFAULT 0))",
    "CREATE INDEX clients_hostname ON clients(hostname COLLATE NOCASE)",
    R"(CREATE TABLE connections (
         id INTEGER PRIMARY KEY,
         client INTEGER NOT NULL REFERENCES clients(num) ON DELETE CASCADE,
         peer TEXT NOT NULL DEFAULT '',
         connected_ms INTEGER NOT NULL,
         disconnected_ms INTEGER,
         reason TEXT))",
    "CREATE INDEX connections_client ON connections(client, disconnected_ms)",
    R"(CREATE TABLE batches (
         client INTEGER NOT NULL REFERENCES clients(num) ON DELETE CASCADE,
         sequence INTEGER NOT NULL,
         received_ms INTEGER NOT NULL,
         sample_count INTEGER NOT NULL,
         PRIMARY KEY (client, sequence)) WITHOUT ROWID)",
    R"(CREATE TABLE samples (
         client INTEGER NOT NULL REFERENCES clients(num) ON DELETE CASCADE,
         ts_ms INTEGER NOT NULL,
         sequence INTEGER NOT NULL,
         cpu_user REAL NOT NULL, cpu_nice REAL NOT NULL, cpu_system REAL NOT NULL,
         cpu_idle REAL NOT NULL, cpu_iowait REAL NOT NULL, cpu_irq REAL NOT NULL,
         cpu_softirq REAL NOT NULL, cpu_steal REAL NOT NULL, cpu_guest REAL NOT NULL,
         mem_total INTEGER NOT NULL, mem_free INTEGER NOT NULL, mem_available INTEGER NOT NULL,
         mem_buffers INTEGER NOT NULL, mem_cached INTEGER NOT NULL, mem_used INTEGER NOT NULL,
         swap_total INTEGER NOT NULL, swap_free INTEGER NOT NULL,
         load1 REAL NOT NULL, load5 REAL NOT NULL, load15 REAL NOT NULL,
         flags INTEGER NOT NULL,
         cores BLOB))",
    "CREATE INDEX samples_client_ts ON samples(client, ts_ms)",
    R"(CREATE TABLE gaps (
         id INTEGER PRIMARY KEY,
         client INTEGER NOT NULL REFERENCES clients(num) ON DELETE CASCADE,
         start_ms INTEGER NOT NULL,
         end_ms INTEGER NOT NULL,
         reason TEXT NOT NULL,
         seq_first INTEGER,
         seq_last INTEGER,
         samples_lost INTEGER NOT NULL DEFAULT 0,
         recorded_ms INTEGER NOT NULL))",
    "CREATE INDEX gaps_client_end ON gaps(client, end_ms)",
};

// Version 2: configuration (default + per-client overrides, revisions), applied revision,
// forgetting a client while keeping its history.
constexpr const char *kSchemaV2[] = {
    "ALTER TABLE clients ADD COLUMN forgotten_ms INTEGER",
    "ALTER TABLE clients ADD COLUMN config_override TEXT",
    "ALTER TABLE clients ADD COLUMN config_revision INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE clients ADD COLUMN applied_revision INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE clients ADD COLUMN applied_ms INTEGER",
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
};

// Version 3: per-minute rollups of the charted series (MinuteRollup), backfilled from samples.
constexpr const char *kSchemaV3[] = {
    R"(CREATE TABLE sample_minutes (
         client INTEGER NOT NULL REFERENCES clients(num) ON DELETE CASCADE,
         minute_ms INTEGER NOT NULL,
         n INTEGER NOT NULL,
         first_ms INTEGER NOT NULL,
         last_ms INTEGER NOT NULL,
         mem_total REAL NOT NULL,
         user_min REAL NOT NULL, user_max REAL NOT NULL,
         system_min REAL NOT NULL, system_max REAL NOT NULL,
         iowait_min REAL NOT NULL, iowait_max REAL NOT NULL,
         steal_min REAL NOT NULL, steal_max REAL NOT NULL,
         used_min REAL NOT NULL, used_max REAL NOT NULL,
         cache_min REAL NOT NULL, cache_max REAL NOT NULL,
         available_min REAL NOT NULL, available_max REAL NOT NULL,
         swap_min REAL NOT NULL, swap_max REAL NOT NULL,
         PRIMARY KEY (client, minute_ms)) WITHOUT ROWID)",
    // The same series definitions as MinuteRollup::value().
    R"(INSERT INTO sample_minutes
         SELECT client, (ts_ms / 60000) * 60000, count(*), min(ts_ms), max(ts_ms), max(mem_total),
                min(cpu_user + cpu_nice), max(cpu_user + cpu_nice),
                min(cpu_system + cpu_irq + cpu_softirq), max(cpu_system + cpu_irq + cpu_softirq),
                min(cpu_iowait), max(cpu_iowait), min(cpu_steal), max(cpu_steal),
                min(mem_used), max(mem_used),
                min(mem_cached + mem_buffers), max(mem_cached + mem_buffers),
                min(mem_available), max(mem_available),
                min(swap_total - min(swap_free, swap_total)), max(swap_total - min(swap_free, swap_total))
         FROM samples GROUP BY client, ts_ms / 60000)",
};

// Version 4: a client enrolled anew under an ID the server did not know (database replaced,
// client forgotten) keeps its old sequence numbers and drop counter: its first batch is the
// baseline, not evidence of a gap.
constexpr const char *kSchemaV4[] = {
    "ALTER TABLE clients ADD COLUMN baseline_pending INTEGER NOT NULL DEFAULT 0",
};

QByteArray randomBytes(int count)
{
    QByteArray bytes(count, Qt::Uninitialized);
    for (int i = 0; i < count; ++i)
        bytes[i] = char(QRandomGenerator::system()->bounded(256));
    return bytes;
}

QByteArray secretHash(const QByteArray &salt, const QString &secret)
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(salt);
    hash.addData(secret.toUtf8());
    return hash.result();
}

// Runs over the whole length whatever the content, so timing reveals nothing about where
// a guessed secret first differs.
bool constantTimeEquals(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

QString configToJson(const AgentConfig &c)
{
    const QJsonObject o{
        {QStringLiteral("revision"), qint64(c.revision)},
        {QStringLiteral("sampleIntervalMs"), qint64(c.sampleIntervalMs)},
        {QStringLiteral("sendIntervalMs"), qint64(c.sendIntervalMs)},
        {QStringLiteral("heartbeatIntervalMs"), qint64(c.heartbeatIntervalMs)},
        {QStringLiteral("reconnectBaseMs"), qint64(c.reconnectBaseMs)},
        {QStringLiteral("reconnectMaxMs"), qint64(c.reconnectMaxMs)},
        {QStringLiteral("giveUpMs"), qint64(c.giveUpMs)},
        {QStringLiteral("spoolMaxBytes"), qint64(c.spoolMaxBytes)},
        {QStringLiteral("spoolMaxAgeMs"), qint64(c.spoolMaxAgeMs)},
    };
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

std::optional<AgentConfig> configFromJson(const QString &json)
{
    const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8());
    if (!doc.isObject())
        return std::nullopt;
    const QJsonObject o = doc.object();
    AgentConfig c;
    auto get = [&o](const char *key, auto &field) {
        const QJsonValue v = o.value(QLatin1StringView(key));
        if (v.isDouble())
            field = static_cast<std::remove_reference_t<decltype(field)>>(v.toInteger());
    };
    get("revision", c.revision);
    get("sampleIntervalMs", c.sampleIntervalMs);
    get("sendIntervalMs", c.sendIntervalMs);
    get("heartbeatIntervalMs", c.heartbeatIntervalMs);
    get("reconnectBaseMs", c.reconnectBaseMs);
    get("reconnectMaxMs", c.reconnectMaxMs);
    get("giveUpMs", c.giveUpMs);
    get("spoolMaxBytes", c.spoolMaxBytes);
    get("spoolMaxAgeMs", c.spoolMaxAgeMs);
    return c;
}

bool sameIgnoringRevision(AgentConfig a, AgentConfig b)
{
    a.revision = b.revision = 0;
    return a == b;
}

// The codec's checks, so a stored config is always one agents accept (an agent refuses a
// Malformed config and would reconnect forever).
bool validConfig(const AgentConfig &c)
{
    const QString problem = codec::validate(Message(c));
    if (!problem.isEmpty())
        qCWarning(lcStore).noquote() << "refusing agent config:" << problem;
    return problem.isEmpty();
}

// A null QString binds as SQL NULL; agent-supplied text columns are NOT NULL, and an agent
// may well leave a Hello field empty.
QVariant text(const QString &s)
{
    return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s);
}

QString queryError(const QSqlQuery &q)
{
    return q.lastError().text();
}

/** prepare + bind + exec with every step checked; logs and fills @p error on failure. */
bool runQuery(QSqlQuery &q, const QString &sql, const QVariantList &binds = {},
              QString *error = nullptr)
{
    if (!q.prepare(sql)) {
        const QString e = queryError(q);
        qCWarning(lcStore) << "prepare failed:" << e << sql;
        if (error)
            *error = e;
        return false;
    }
    for (const QVariant &b : binds)
        q.addBindValue(b);
    if (!q.exec()) {
        const QString e = queryError(q);
        qCWarning(lcStore) << "query failed:" << e << sql;
        if (error)
            *error = e;
        return false;
    }
    return true;
}

/** BEGIN IMMEDIATE ... COMMIT, rolled back unless committed. */
class WriteTransaction
{
public:
    explicit WriteTransaction(sqlite3 *db) : m_db(db) {}
    ~WriteTransaction()
    {
        if (m_active && sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK)
            qCWarning(lcStore) << "rollback failed:" << sqlite3_errmsg(m_db);
    }
    bool begin(QString *error = nullptr)
    {
        // IMMEDIATE: a deferred transaction that later writes can fail at once with BUSY.
        m_active = run("BEGIN IMMEDIATE", error);
        return m_active;
    }
    bool commit(QString *error = nullptr)
    {
        if (!run("COMMIT", error))
            return false;
        m_active = false;
        return true;
    }

private:
    bool run(const char *sql, QString *error)
    {
        if (!m_db) {
            if (error)
                *error = QStringLiteral("database not open");
            return false;
        }
        if (sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr) == SQLITE_OK)
            return true;
        const QString e = QString::fromUtf8(sqlite3_errmsg(m_db));
        qCWarning(lcStore) << sql << "failed:" << e;
        if (error)
            *error = e;
        return false;
    }
    sqlite3 *m_db;
    bool m_active = false;
};

int bindText(sqlite3_stmt *s, int index, const QString &text)
{
    return sqlite3_bind_text16(s, index, text.utf16(), int(text.size() * 2), SQLITE_STATIC);
}

quint64 estimateLost(qint64 startMs, qint64 endMs, qint64 intervalMs)
{
    if (intervalMs <= 0 || endMs <= startMs)
        return 0;
    // Timestamps come from agents: keep the arithmetic away from overflow.
    const qint64 span = endMs - startMs;
    if (span < 0 || span > std::numeric_limits<qint64>::max() / 2)
        return 0;
    const qint64 periods = (span + intervalMs / 2) / intervalMs;
    return periods > 1 ? quint64(periods - 1) : 0;
}

enum class StepEnd { Done, Stopped, Failed };

/// Steps a bound statement: read() fills a row from the current result, visit() sees it and
/// may stop early. The statement is reset however it ends, so it can be bound again.
template<typename Read, typename Visit>
StepEnd stepRows(sqlite3_stmt *s, Read &&read, Visit &&visit)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!visit(read(s))) {
            sqlite3_reset(s);
            return StepEnd::Stopped;
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? StepEnd::Done : StepEnd::Failed;
}

} // namespace

float StoredSample::core(int index) const
{
    std::uint32_t bits;
    std::memcpy(&bits, coresLE.data() + qsizetype(index) * 4, 4);
    bits = qFromLittleEndian(bits);
    return std::bit_cast<float>(bits);
}

Store::Store(QString path, StoreOptions options)
    : m_path(std::move(path)),
      m_options(options),
      m_connectionName(QStringLiteral("autofact.store.%1").arg(++s_connectionCounter))
{
}

Store::~Store()
{
    // Statements must be finalized first or sqlite3_close() refuses to close the handle.
    finalizeStatements();
    m_raw = nullptr;
    if (m_db.isValid())
        m_db.close();
    m_db = QSqlDatabase();
    if (QSqlDatabase::contains(m_connectionName))
        QSqlDatabase::removeDatabase(m_connectionName);
}

bool Store::open(QString *error)
{
    auto fail = [&](const QString &message) {
        qCDebug(lcStore).noquote() << m_path << message;
        if (error)
            *error = message;
        finalizeStatements();
        m_raw = nullptr;
        if (m_db.isOpen())
            m_db.close();
        return false;
    };
    if (m_raw)
        return true;
    const bool readOnly = m_options.mode == StoreOptions::Mode::ReadOnly;
    if (readOnly && !QFileInfo::exists(m_path))
        return fail(QStringLiteral("no database at %1").arg(m_path));
    if (!m_db.isValid())
        m_db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connectionName);
    if (!m_db.isValid())
        return fail(QStringLiteral("the Qt SQLite driver (QSQLITE) is not available"));
    QString connectOptions = QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(m_options.busyTimeoutMs);
    if (readOnly)
        connectOptions += QStringLiteral(";QSQLITE_OPEN_READONLY");
    m_db.setConnectOptions(connectOptions);
    m_db.setDatabaseName(m_path);
    if (!m_db.open())
        return fail(QStringLiteral("cannot open: %1").arg(m_db.lastError().text()));
    const QVariant handle = m_db.driver()->handle();
    if (!handle.isValid() || qstrcmp(handle.typeName(), "sqlite3*") != 0)
        return fail(QStringLiteral("the QSQLITE driver exposes no sqlite3 handle"));
    m_raw = *static_cast<sqlite3 *const *>(handle.constData());
    if (!m_raw)
        return fail(QStringLiteral("null sqlite3 handle"));
    QString e;
    if (!configure(&e) || !migrate(&e) || !prepareStatements(&e))
        return fail(e);
    qCDebug(lcStore) << "opened" << m_path << "schema" << m_schemaVersion
                     << (readOnly ? "read-only" : "read-write");
    return true;
}

bool Store::execRaw(const char *sql, QString *error)
{
    if (sqlite3_exec(m_raw, sql, nullptr, nullptr, nullptr) == SQLITE_OK)
        return true;
    if (error)
        *error = QStringLiteral("%1: %2").arg(QLatin1StringView(sql), rawError());
    return false;
}

QString Store::rawError() const
{
    return m_raw ? QString::fromUtf8(sqlite3_errmsg(m_raw)) : QStringLiteral("database not open");
}

bool Store::configure(QString *error)
{
    sqlite3_busy_timeout(m_raw, m_options.busyTimeoutMs);
    if (!execRaw("PRAGMA foreign_keys = ON", error))
        return false;
    if (m_options.mode == StoreOptions::Mode::ReadOnly)
        return true;
    QSqlQuery q(m_db);
    if (!runQuery(q, QStringLiteral("PRAGMA journal_mode = WAL"), {}, error))
        return false;
    if (!q.next() || q.value(0).toString().compare(u"wal", Qt::CaseInsensitive) != 0) {
        if (error)
            *error = QStringLiteral("cannot switch to WAL journal mode");
        return false;
    }
    q.finish();
    return execRaw(m_options.durability == StoreOptions::Durability::Full
                           ? "PRAGMA synchronous = FULL"
                           : "PRAGMA synchronous = NORMAL",
                   error);
}

bool Store::migrate(QString *error)
{
    auto readVersion = [this](int *version, QString *e) {
        sqlite3_stmt *s = nullptr;
        if (sqlite3_prepare_v2(m_raw, "PRAGMA user_version", -1, &s, nullptr) != SQLITE_OK) {
            *e = rawError();
            return false;
        }
        const bool ok = sqlite3_step(s) == SQLITE_ROW;
        if (ok)
            *version = sqlite3_column_int(s, 0);
        else
            *e = rawError();
        sqlite3_finalize(s);
        return ok;
    };
    int version = 0;
    if (!readVersion(&version, error))
        return false;
    if (version > currentSchemaVersion) {
        *error = QStringLiteral("database schema v%1 is newer than this build (v%2)")
                         .arg(version)
                         .arg(currentSchemaVersion);
        return false;
    }
    if (m_options.mode == StoreOptions::Mode::ReadOnly) {
        if (version != currentSchemaVersion) {
            *error = version == 0 ? QStringLiteral("not an autofact database")
                                  : QStringLiteral("database schema v%1 is older than v%2: "
                                                   "start autofactory once to upgrade it")
                                            .arg(version)
                                            .arg(currentSchemaVersion);
            return false;
        }
        m_schemaVersion = version;
        return true;
    }
    if (version == currentSchemaVersion) {
        m_schemaVersion = version;
        return true;
    }

    WriteTransaction txn(m_raw);
    if (!txn.begin(error))
        return false;
    // Another process may have migrated between the first read and the write lock.
    if (!readVersion(&version, error))
        return false;
    if (version == 0) {
        QSqlQuery q(m_db);
        if (!runQuery(q, QStringLiteral("SELECT count(*) FROM sqlite_schema"), {}, error))
            return false;
        if (q.next() && q.value(0).toInt() > 0) {
            *error = QStringLiteral("not an autofact database (tables present, user_version 0)");
            return false;
        }
    }
    const int from = version;
    struct Step {
        int version;
        std::span<const char *const> statements;
    };
    const Step steps[] = {{1, kSchemaV1}, {2, kSchemaV2}, {3, kSchemaV3}, {4, kSchemaV4}};
    for (const Step &step : steps) {
        if (version >= step.version)
            continue;
        for (const char *sql : step.statements)
            if (!execRaw(sql, error))
                return false;
        if (step.version == 2) {
            // v2 introduced configuration: seed the default (revision 1).
            AgentConfig defaults;
            defaults.revision = 1;
            QSqlQuery q(m_db);
            if (!runQuery(q,
                          QStringLiteral("INSERT INTO settings(key, value) VALUES "
                                         "('config_counter', '1'), ('default_config', ?)"),
                          {configToJson(defaults)}, error))
                return false;
        }
        version = step.version;
    }
    if (!execRaw(QByteArray("PRAGMA user_version = " + QByteArray::number(version)).constData(),
                 error))
        return false;
    if (!txn.commit(error))
        return false;
    if (from != version)
        qCInfo(lcStore) << "schema of" << m_path << "migrated from v" << from << "to v" << version;
    m_schemaVersion = version;
    return true;
}

bool Store::prepareStatements(QString *error)
{
    struct Spec {
        sqlite3_stmt **stmt;
        const char *sql;
    };
    const Spec specs[] = {
        {&m_selClient,
         "SELECT c.num, c.last_sequence, c.last_sample_ms, c.dropped_total,"
         " c.forgotten_ms IS NOT NULL,"
         " COALESCE(json_extract(c.config_override, '$.sampleIntervalMs'),"
         "  (SELECT json_extract(value, '$.sampleIntervalMs') FROM settings"
         "   WHERE key = 'default_config'), 1000),"
         " c.baseline_pending"
         " FROM clients c WHERE c.id = ?1"},
        {&m_selBatch, "SELECT 1 FROM batches WHERE client = ?1 AND sequence = ?2"},
        {&m_insBatch,
         "INSERT INTO batches(client, sequence, received_ms, sample_count) VALUES (?1,?2,?3,?4)"},
        {&m_insSample,
         "INSERT INTO samples(client, ts_ms, sequence,"
         " cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_iowait, cpu_irq, cpu_softirq,"
         " cpu_steal, cpu_guest, mem_total, mem_free, mem_available, mem_buffers, mem_cached,"
         " mem_used, swap_total, swap_free, load1, load5, load15, flags, cores)"
         " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,"
         "?21,?22,?23,?24,?25)"},
        {&m_insGap,
         "INSERT INTO gaps(client, start_ms, end_ms, reason, seq_first, seq_last, samples_lost,"
         " recorded_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"},
        {&m_updClient,
         "UPDATE clients SET sample_count = sample_count + ?2, last_sequence = ?3,"
         " last_sample_ms = ?4, dropped_total = ?5, last_seen_ms = MAX(last_seen_ms, ?6),"
         " baseline_pending = 0"
         " WHERE num = ?1"},
        {&m_selSamples,
         "SELECT ts_ms, sequence, cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_iowait, cpu_irq,"
         " cpu_softirq, cpu_steal, cpu_guest, mem_total, mem_free, mem_available, mem_buffers,"
         " mem_cached, mem_used, swap_total, swap_free, load1, load5, load15, flags, cores"
         " FROM samples WHERE client = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms"},
        {&m_upsMinute,
         "INSERT INTO sample_minutes VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,"
         "?16,?17,?18,?19,?20,?21,?22)"
         " ON CONFLICT(client, minute_ms) DO UPDATE SET n = n + excluded.n,"
         " first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),"
         " mem_total = max(mem_total, excluded.mem_total),"
         " user_min = min(user_min, excluded.user_min), user_max = max(user_max, excluded.user_max),"
         " system_min = min(system_min, excluded.system_min),"
         " system_max = max(system_max, excluded.system_max),"
         " iowait_min = min(iowait_min, excluded.iowait_min),"
         " iowait_max = max(iowait_max, excluded.iowait_max),"
         " steal_min = min(steal_min, excluded.steal_min), steal_max = max(steal_max, excluded.steal_max),"
         " used_min = min(used_min, excluded.used_min), used_max = max(used_max, excluded.used_max),"
         " cache_min = min(cache_min, excluded.cache_min), cache_max = max(cache_max, excluded.cache_max),"
         " available_min = min(available_min, excluded.available_min),"
         " available_max = max(available_max, excluded.available_max),"
         " swap_min = min(swap_min, excluded.swap_min), swap_max = max(swap_max, excluded.swap_max)"},
        {&m_selMinutes,
         "SELECT minute_ms, n, first_ms, last_ms, mem_total, user_min, user_max, system_min,"
         " system_max, iowait_min, iowait_max, steal_min, steal_max, used_min, used_max,"
         " cache_min, cache_max, available_min, available_max, swap_min, swap_max"
         " FROM sample_minutes WHERE client = ?1 AND minute_ms >= ?2 AND minute_ms < ?3"
         " ORDER BY minute_ms"},
    };
    for (const Spec &spec : specs) {
        if (sqlite3_prepare_v3(m_raw, spec.sql, -1, SQLITE_PREPARE_PERSISTENT, spec.stmt, nullptr)
            != SQLITE_OK) {
            *error = QStringLiteral("prepare failed: %1 (%2)")
                             .arg(rawError(), QLatin1StringView(spec.sql));
            return false;
        }
    }
    return true;
}

void Store::finalizeStatements()
{
    for (sqlite3_stmt **s : {&m_selClient, &m_selBatch, &m_insBatch, &m_insSample, &m_insGap,
                             &m_updClient, &m_selSamples, &m_upsMinute, &m_selMinutes}) {
        sqlite3_finalize(*s); // harmless on nullptr
        *s = nullptr;
    }
}

// --- authentication -------------------------------------------------------------------------

AuthResult Store::enrol(const Hello &hello, const QString &peer, qint64 nowMs, const QString &why)
{
    AuthResult r;
    r.outcome = AuthResult::Outcome::Failed;
    WriteTransaction txn(m_raw);
    if (!txn.begin(&r.reason))
        return r;
    QString id;
    for (int attempt = 0; attempt < 8 && id.isEmpty(); ++attempt) {
        const QString candidate = QString::fromLatin1(randomBytes(kIdBytes).toHex());
        if (!clientNum(candidate))
            id = candidate;
    }
    if (id.isEmpty()) {
        r.reason = QStringLiteral("could not find a free client ID");
        return r;
    }
    const QString secret = QString::fromLatin1(randomBytes(kSecretBytes).toBase64(
            QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
    const QByteArray salt = randomBytes(kSaltBytes);
    QSqlQuery q(m_db);
    if (!runQuery(q,
                  QStringLiteral(
                          "INSERT INTO clients(id, secret_salt, secret_hash, hostname, os_name,"
                          " os_version, kernel, arch, cpu_model, cpu_count, mem_total,"
                          " boot_time_ms, agent_version, first_seen_ms, last_seen_ms,"
                          " connection_count, baseline_pending)"
                          " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?)"),
                  {id, salt, secretHash(salt, secret), text(hello.hostname),
                   text(hello.osName), text(hello.osVersion), text(hello.kernel),
                   text(hello.arch), text(hello.cpuModel), int(hello.cpuCount),
                   qint64(hello.memTotal), qint64(hello.bootTimeMs), text(hello.agentVersion),
                   nowMs, nowMs, hello.agentId.isEmpty() ? 0 : 1},
                  &r.reason))
        return r;
    const qint64 num = q.lastInsertId().toLongLong();
    if (!runQuery(q,
                  QStringLiteral(
                          "INSERT INTO connections(client, peer, connected_ms) VALUES (?,?,?)"),
                  {num, text(peer), nowMs}, &r.reason))
        return r;
    const qint64 connectionId = q.lastInsertId().toLongLong();
    if (!txn.commit(&r.reason))
        return r;
    r.outcome = AuthResult::Outcome::NewClient;
    r.clientId = id;
    r.issuedSecret = secret;
    r.connectionId = connectionId;
    r.lastSequence = 0;
    r.config = effectiveConfig(id);
    r.reason = why;
    qCInfo(lcStore).noquote() << "enrolled" << id << "host" << hello.hostname << "from" << peer
                              << "(" << why << ")";
    return r;
}

AuthResult Store::authenticate(const Hello &hello, const QString &peer, qint64 nowMs)
{
    AuthResult r;
    if (!m_raw) {
        r.reason = QStringLiteral("database not open");
        return r;
    }
    if (hello.agentId.isEmpty())
        return enrol(hello, peer, nowMs, QStringLiteral("new agent"));

    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    if (!runQuery(q,
                  QStringLiteral("SELECT num, secret_salt, secret_hash, last_sequence"
                                 " FROM clients WHERE id = ?"),
                  {hello.agentId}, &r.reason))
        return r;
    if (!q.next()) {
        qCInfo(lcStore).noquote() << "unknown client ID" << hello.agentId << "from" << peer
                                  << "- issuing a new ID";
        return enrol(hello, peer, nowMs,
                     QStringLiteral("unknown client ID %1, new ID issued").arg(hello.agentId));
    }
    const qint64 num = q.value(0).toLongLong();
    const QByteArray salt = q.value(1).toByteArray();
    const QByteArray hash = q.value(2).toByteArray();
    const quint64 lastSequence = q.value(3).toULongLong();
    q.finish();
    if (salt.isEmpty() || hash.isEmpty()) {
        qCInfo(lcStore).noquote() << "forgotten client ID" << hello.agentId << "from" << peer
                                  << "- issuing a new ID";
        return enrol(hello, peer, nowMs,
                     QStringLiteral("forgotten client ID %1, new ID issued").arg(hello.agentId));
    }
    if (!constantTimeEquals(secretHash(salt, hello.secret), hash)) {
        // Deliberately no write at all: a wrong guess must leave no trace an attacker can use
        // to fill the database, and the real agent's record stays untouched.
        qCWarning(lcStore).noquote() << "wrong secret for" << hello.agentId << "from" << peer;
        r.outcome = AuthResult::Outcome::BadSecret;
        r.clientId = hello.agentId;
        r.reason = QStringLiteral("wrong secret");
        return r;
    }

    WriteTransaction txn(m_raw);
    if (!txn.begin(&r.reason))
        return r;
    if (!runQuery(q,
                  QStringLiteral("UPDATE clients SET hostname = ?, os_name = ?, os_version = ?,"
                                 " kernel = ?, arch = ?, cpu_model = ?, cpu_count = ?,"
                                 " mem_total = ?, boot_time_ms = ?, agent_version = ?,"
                                 " last_seen_ms = MAX(last_seen_ms, ?),"
                                 " connection_count = connection_count + 1 WHERE num = ?"),
                  {text(hello.hostname), text(hello.osName), text(hello.osVersion),
                   text(hello.kernel), text(hello.arch), text(hello.cpuModel),
                   int(hello.cpuCount), qint64(hello.memTotal), qint64(hello.bootTimeMs),
                   text(hello.agentVersion), nowMs, num},
                  &r.reason))
        return r;
    if (!runQuery(q,
                  QStringLiteral(
                          "INSERT INTO connections(client, peer, connected_ms) VALUES (?,?,?)"),
                  {num, text(peer), nowMs}, &r.reason))
        return r;
    const qint64 connectionId = q.lastInsertId().toLongLong();
    if (!txn.commit(&r.reason))
        return r;
    r.outcome = AuthResult::Outcome::Returning;
    r.clientId = hello.agentId;
    r.connectionId = connectionId;
    r.lastSequence = lastSequence;
    r.config = effectiveConfig(hello.agentId);
    r.reason = QStringLiteral("returning client");
    return r;
}

void Store::recordDisconnect(qint64 connectionId, qint64 nowMs, const QString &reason)
{
    if (!m_raw)
        return;
    WriteTransaction txn(m_raw);
    if (!txn.begin())
        return;
    QSqlQuery q(m_db);
    if (!runQuery(q,
                  QStringLiteral("UPDATE connections SET disconnected_ms = ?, reason = ?"
                                 " WHERE id = ? AND disconnected_ms IS NULL"),
                  {nowMs, reason, connectionId}))
        return;
    if (!runQuery(q,
                  QStringLiteral("UPDATE clients SET last_seen_ms = MAX(last_seen_ms, ?)"
                                 " WHERE num = (SELECT client FROM connections WHERE id = ?)"),
                  {nowMs, connectionId}))
        return;
    txn.commit();
}

void Store::markAllOffline(qint64 nowMs, const QString &reason)
{
    if (!m_raw)
        return;
    QSqlQuery q(m_db);
    if (runQuery(q,
                 QStringLiteral("UPDATE connections SET disconnected_ms = ?, reason = ?"
                                " WHERE disconnected_ms IS NULL"),
                 {nowMs, reason})
        && q.numRowsAffected() > 0)
        qCInfo(lcStore) << "closed" << q.numRowsAffected() << "open connection rows:" << reason;
}

// --- ingest -----------------------------------------------------------------------------------

std::vector<Store::IngestResult> Store::ingest(std::span<const IngestItem> items, qint64 nowMs,
                                               QString *error)
{
    std::vector<IngestResult> results(items.size());
    auto failAll = [&](const QString &message) {
        for (std::size_t i = 0; i < items.size(); ++i)
            results[i] = {IngestResult::Status::Failed,
                          items[i].batch ? items[i].batch->sequence : 0};
        qCWarning(lcStore).noquote() << "ingest of" << items.size() << "batches failed:" << message;
        if (error)
            *error = message;
        return results;
    };
    if (!m_raw)
        return failAll(QStringLiteral("database not open"));
    if (items.empty())
        return results;
    QString e;
    // One transaction for everything: one fsync per call however many agents contributed.
    if (!execRaw("BEGIN IMMEDIATE", &e))
        return failAll(e);
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!ingestOne(items[i], nowMs, results[i], &e)) {
            QString ignored;
            if (!execRaw("ROLLBACK", &ignored))
                qCWarning(lcStore).noquote() << ignored;
            return failAll(e);
        }
    }
    if (!execRaw("COMMIT", &e)) {
        QString ignored;
        if (!execRaw("ROLLBACK", &ignored))
            qCWarning(lcStore).noquote() << ignored;
        return failAll(e);
    }
    return results;
}

bool Store::insertGap(qint64 clientNum, qint64 startMs, qint64 endMs, const QString &reason,
                      quint64 samplesLost, quint64 seqFirst, quint64 seqLast, qint64 nowMs,
                      QString *error)
{
    sqlite3_stmt *s = m_insGap;
    sqlite3_bind_int64(s, 1, clientNum);
    sqlite3_bind_int64(s, 2, startMs);
    sqlite3_bind_int64(s, 3, endMs);
    bindText(s, 4, reason);
    if (seqFirst) {
        sqlite3_bind_int64(s, 5, qint64(seqFirst));
        sqlite3_bind_int64(s, 6, qint64(seqLast));
    } else {
        sqlite3_bind_null(s, 5);
        sqlite3_bind_null(s, 6);
    }
    sqlite3_bind_int64(s, 7, qint64(samplesLost));
    sqlite3_bind_int64(s, 8, nowMs);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        *error = QStringLiteral("recording a gap: %1").arg(rawError());
        return false;
    }
    return true;
}

bool Store::ingestOne(const IngestItem &item, qint64 nowMs, IngestResult &result, QString *error)
{
    using Status = IngestResult::Status;
    result.status = Status::Failed;
    const SampleBatch *batch = item.batch;
    if (!batch) {
        qCWarning(lcStore) << "ingest item without a batch";
        return true;
    }
    result.sequence = batch->sequence;
    if (batch->sequence == 0 || batch->sequence > quint64(std::numeric_limits<qint64>::max())) {
        qCWarning(lcStore).noquote() << item.clientId << "batch with invalid sequence"
                                     << batch->sequence;
        return true;
    }
    std::size_t coreTotal = 0;
    for (const Sample &s : batch->samples)
        coreTotal += s.coreCount;
    if (coreTotal != batch->coreBusy.size()) {
        qCWarning(lcStore).noquote() << item.clientId << "batch" << batch->sequence
                                     << "core count mismatch" << coreTotal
                                     << batch->coreBusy.size();
        return true;
    }

    // Client state is read inside the transaction for every batch: it costs one indexed
    // lookup per batch (not per sample) and stays right when another connection changed it.
    sqlite3_stmt *s = m_selClient;
    bindText(s, 1, item.clientId);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        qCWarning(lcStore).noquote() << "batch for unknown client" << item.clientId;
        return true;
    }
    if (rc != SQLITE_ROW) {
        *error = rawError();
        sqlite3_reset(s);
        return false;
    }
    const qint64 num = sqlite3_column_int64(s, 0);
    const quint64 lastSequence = quint64(sqlite3_column_int64(s, 1));
    const bool hasLastSample = sqlite3_column_type(s, 2) != SQLITE_NULL;
    const qint64 lastSampleMs = sqlite3_column_int64(s, 2);
    const quint64 droppedTotal = quint64(sqlite3_column_int64(s, 3));
    const bool forgotten = sqlite3_column_int(s, 4) != 0;
    const qint64 intervalMs = std::max<qint64>(1, sqlite3_column_int64(s, 5));
    const bool baselinePending = sqlite3_column_int(s, 6) != 0;
    sqlite3_reset(s);
    if (forgotten) {
        qCWarning(lcStore).noquote() << "batch for forgotten client" << item.clientId;
        return true;
    }

    bool late = false;
    if (batch->sequence <= lastSequence) {
        s = m_selBatch;
        sqlite3_bind_int64(s, 1, num);
        sqlite3_bind_int64(s, 2, qint64(batch->sequence));
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc == SQLITE_ROW) {
            result.status = Status::Duplicate;
            return true;
        }
        if (rc != SQLITE_DONE) {
            *error = rawError();
            return false;
        }
        // Older than the newest but never stored: a resend of a batch skipped earlier. Store
        // it; the gap recorded back then stays (it documents what was missing at the time).
        late = true;
    }

    qint64 firstMs = 0, minMs = 0, maxMs = 0;
    if (!batch->samples.empty()) {
        firstMs = batch->samples.front().timestampMs;
        minMs = maxMs = firstMs;
        for (const Sample &sample : batch->samples) {
            minMs = std::min<qint64>(minMs, sample.timestampMs);
            maxMs = std::max<qint64>(maxMs, sample.timestampMs);
        }
    }

    if (!late && baselinePending) {
        qCInfo(lcStore).noquote() << item.clientId << "re-enrolled: sequence" << batch->sequence
                                  << "and drop count" << batch->droppedTotal << "taken as its baseline";
    } else if (!late) {
        const qint64 gapEnd = batch->samples.empty() ? (hasLastSample ? lastSampleMs : nowMs)
                                                     : minMs;
        const qint64 gapStart = hasLastSample ? std::min(lastSampleMs, gapEnd) : gapEnd;
        const bool sequenceGap = batch->sequence > lastSequence + 1;
        if (sequenceGap
            && !insertGap(num, gapStart, gapEnd, QStringLiteral("sequence gap"),
                          estimateLost(gapStart, gapEnd, intervalMs), lastSequence + 1,
                          batch->sequence - 1, nowMs, error))
            return false;
        if (batch->droppedTotal > droppedTotal) {
            const quint64 dropped = batch->droppedTotal - droppedTotal;
            if (!insertGap(num, gapStart, gapEnd,
                           QStringLiteral("agent dropped %1 samples").arg(dropped), dropped, 0,
                           0, nowMs, error))
                return false;
        }
        // A sequence gap already explains the silence; do not report it twice.
        if (!sequenceGap && hasLastSample && !batch->samples.empty()
            && minMs - lastSampleMs > 3 * intervalMs
            && !insertGap(num, lastSampleMs, minMs, QStringLiteral("agent offline"),
                          estimateLost(lastSampleMs, minMs, intervalMs), 0, 0, nowMs, error))
            return false;
    }

    s = m_insSample;
    const float *cores = batch->coreBusy.data();
    for (const Sample &sample : batch->samples) {
        sqlite3_bind_int64(s, 1, num);
        sqlite3_bind_int64(s, 2, sample.timestampMs);
        sqlite3_bind_int64(s, 3, qint64(batch->sequence));
        const CpuTimes &c = sample.cpu;
        sqlite3_bind_double(s, 4, c.user);
        sqlite3_bind_double(s, 5, c.nice);
        sqlite3_bind_double(s, 6, c.system);
        sqlite3_bind_double(s, 7, c.idle);
        sqlite3_bind_double(s, 8, c.iowait);
        sqlite3_bind_double(s, 9, c.irq);
        sqlite3_bind_double(s, 10, c.softirq);
        sqlite3_bind_double(s, 11, c.steal);
        sqlite3_bind_double(s, 12, c.guest);
        const Memory &m = sample.memory;
        sqlite3_bind_int64(s, 13, qint64(m.total));
        sqlite3_bind_int64(s, 14, qint64(m.free));
        sqlite3_bind_int64(s, 15, qint64(m.available));
        sqlite3_bind_int64(s, 16, qint64(m.buffers));
        sqlite3_bind_int64(s, 17, qint64(m.cached));
        sqlite3_bind_int64(s, 18, qint64(m.used));
        sqlite3_bind_int64(s, 19, qint64(m.swapTotal));
        sqlite3_bind_int64(s, 20, qint64(m.swapFree));
        sqlite3_bind_double(s, 21, sample.load1);
        sqlite3_bind_double(s, 22, sample.load5);
        sqlite3_bind_double(s, 23, sample.load15);
        sqlite3_bind_int(s, 24, sample.flags);
        const int n = sample.coreCount;
        if (n == 0) {
            sqlite3_bind_null(s, 25);
        } else if constexpr (std::endian::native == std::endian::little) {
            // The in-memory floats already are the documented on-disk encoding.
            sqlite3_bind_blob(s, 25, cores, n * 4, SQLITE_STATIC);
        } else {
            m_coreScratch.resize(std::size_t(n));
            for (int i = 0; i < n; ++i)
                m_coreScratch[std::size_t(i)] =
                        qToLittleEndian(std::bit_cast<std::uint32_t>(cores[i]));
            sqlite3_bind_blob(s, 25, m_coreScratch.data(), n * 4, SQLITE_STATIC);
        }
        cores += n;
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            *error = QStringLiteral("storing a sample: %1").arg(rawError());
            return false;
        }
    }

    // Samples of a batch are in time order: one upsert per minute they touch, not per sample.
    MinuteRollup rollup;
    for (const Sample &sample : batch->samples) {
        const qint64 minute = sample.timestampMs - ((sample.timestampMs % 60000) + 60000) % 60000;
        if (rollup.count > 0 && minute != rollup.minuteMs) {
            if (!upsertMinute(num, rollup, error))
                return false;
            rollup.count = 0;
        }
        if (rollup.count == 0) {
            rollup.minuteMs = minute;
            rollup.firstMs = rollup.lastMs = sample.timestampMs;
            rollup.memTotal = 0;
            rollup.min.fill(std::numeric_limits<double>::max());
            rollup.max.fill(std::numeric_limits<double>::lowest());
        }
        ++rollup.count;
        rollup.firstMs = std::min(rollup.firstMs, qint64(sample.timestampMs));
        rollup.lastMs = std::max(rollup.lastMs, qint64(sample.timestampMs));
        rollup.memTotal = std::max(rollup.memTotal, double(sample.memory.total));
        for (int i = 0; i < MinuteRollup::SeriesCount; ++i) {
            const double v = MinuteRollup::value(sample, MinuteRollup::Series(i));
            rollup.min[std::size_t(i)] = std::min(rollup.min[std::size_t(i)], v);
            rollup.max[std::size_t(i)] = std::max(rollup.max[std::size_t(i)], v);
        }
    }
    if (rollup.count > 0 && !upsertMinute(num, rollup, error))
        return false;

    s = m_insBatch;
    sqlite3_bind_int64(s, 1, num);
    sqlite3_bind_int64(s, 2, qint64(batch->sequence));
    sqlite3_bind_int64(s, 3, nowMs);
    sqlite3_bind_int64(s, 4, qint64(batch->samples.size()));
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        *error = QStringLiteral("storing a batch: %1").arg(rawError());
        return false;
    }

    s = m_updClient;
    sqlite3_bind_int64(s, 1, num);
    sqlite3_bind_int64(s, 2, qint64(batch->samples.size()));
    sqlite3_bind_int64(s, 3, qint64(std::max<quint64>(lastSequence, batch->sequence)));
    if (batch->samples.empty() && !hasLastSample)
        sqlite3_bind_null(s, 4);
    else if (batch->samples.empty())
        sqlite3_bind_int64(s, 4, lastSampleMs);
    else {
        // A sample stamped far in the future (a clock that jumped, then came back) must not
        // become the client's newest sample: "agent offline" detection would stop for good.
        const qint64 trusted = std::min(maxMs, nowMs + 5ll * 60 * 1000); // clock skew allowance
        sqlite3_bind_int64(s, 4, hasLastSample ? std::max(lastSampleMs, trusted) : trusted);
    }
    sqlite3_bind_int64(s, 5, qint64(late ? droppedTotal : batch->droppedTotal));
    sqlite3_bind_int64(s, 6, nowMs);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        *error = QStringLiteral("updating client: %1").arg(rawError());
        return false;
    }
    result.status = Status::Stored;
    return true;
}

// --- configuration ----------------------------------------------------------------------------

AgentConfig Store::storedDefault(bool *ok)
{
    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    *ok = false;
    if (!runQuery(q, QStringLiteral("SELECT value FROM settings WHERE key = 'default_config'")))
        return {};
    if (!q.next())
        return {};
    const std::optional<AgentConfig> c = configFromJson(q.value(0).toString());
    if (!c) {
        qCWarning(lcStore) << "stored default configuration is not valid JSON";
        return {};
    }
    *ok = true;
    // A config stored by an older version may break today's bounds; agents would refuse it
    // as malformed and reconnect forever. Fall back to the built-in behaviour instead.
    if (const QString problem = codec::validate(Message(*c)); !problem.isEmpty()) {
        qCWarning(lcStore).noquote() << "stored default configuration is out of bounds (" << problem
                                     << "); pushing the built-in defaults";
        AgentConfig fallback;
        fallback.revision = c->revision;
        return fallback;
    }
    return *c;
}

AgentConfig Store::defaultConfig()
{
    bool ok = false;
    return storedDefault(&ok);
}

bool Store::bumpConfigCounter(quint32 *revision)
{
    QSqlQuery q(m_db);
    if (!runQuery(q,
                  QStringLiteral("UPDATE settings SET value = CAST(value AS INTEGER) + 1"
                                 " WHERE key = 'config_counter'"))
        || q.numRowsAffected() != 1)
        return false;
    if (!runQuery(q, QStringLiteral("SELECT value FROM settings WHERE key = 'config_counter'"))
        || !q.next())
        return false;
    *revision = q.value(0).toUInt();
    q.finish();
    return true;
}

bool Store::setDefaultConfig(const AgentConfig &config)
{
    if (!m_raw || !validConfig(config)) {
        qCWarning(lcStore) << "refusing invalid default configuration";
        return false;
    }
    WriteTransaction txn(m_raw);
    if (!txn.begin())
        return false;
    bool ok = false;
    const AgentConfig current = storedDefault(&ok);
    if (!ok)
        return false;
    if (sameIgnoringRevision(current, config))
        return true; // no change, no new revision: agents would re-apply for nothing
    AgentConfig stored = config;
    if (!bumpConfigCounter(&stored.revision))
        return false;
    QSqlQuery q(m_db);
    if (!runQuery(q, QStringLiteral("UPDATE settings SET value = ? WHERE key = 'default_config'"),
                  {configToJson(stored)}))
        return false;
    if (!txn.commit())
        return false;
    qCInfo(lcStore) << "default configuration is now revision" << stored.revision;
    return true;
}

bool Store::setClientOverride(const QString &clientId, std::optional<AgentConfig> config)
{
    if (!m_raw || (config && !validConfig(*config))) {
        qCWarning(lcStore).noquote() << "refusing invalid configuration for" << clientId;
        return false;
    }
    WriteTransaction txn(m_raw);
    if (!txn.begin())
        return false;
    if (!clientNum(clientId)) {
        qCWarning(lcStore).noquote() << "no client" << clientId;
        return false;
    }
    quint32 revision = 0;
    if (!bumpConfigCounter(&revision))
        return false;
    QSqlQuery q(m_db);
    QVariant json; // NULL clears the override
    if (config) {
        AgentConfig stored = *config;
        stored.revision = revision;
        json = configToJson(stored);
    } else {
        json = QVariant(QMetaType(QMetaType::QString));
    }
    if (!runQuery(q,
                  QStringLiteral("UPDATE clients SET config_override = ?, config_revision = ?"
                                 " WHERE id = ?"),
                  {json, revision, clientId}))
        return false;
    return txn.commit();
}

AgentConfig Store::effectiveConfig(const QString &clientId)
{
    bool ok = false;
    AgentConfig result = storedDefault(&ok);
    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    if (!runQuery(q,
                  QStringLiteral("SELECT config_override, config_revision FROM clients"
                                 " WHERE id = ?"),
                  {clientId})
        || !q.next())
        return result;
    const quint32 defaultRevision = result.revision;
    if (!q.value(0).isNull()) {
        const auto o = configFromJson(q.value(0).toString());
        if (o && codec::validate(Message(*o)).isEmpty())
            result = *o;
        else
            qCWarning(lcStore).noquote() << "override of" << clientId << "is unusable; using the default";
    }
    // Clearing an override must not make the revision go backwards: the client's own counter
    // was bumped by that change, the default's was not.
    result.revision = std::max(defaultRevision, q.value(1).toUInt());
    return result;
}

void Store::recordConfigApplied(const QString &clientId, quint32 revision, qint64 nowMs)
{
    if (!m_raw)
        return;
    QSqlQuery q(m_db);
    runQuery(q,
             QStringLiteral("UPDATE clients SET applied_revision = ?, applied_ms = ? WHERE id = ?"),
             {revision, nowMs, clientId});
}

// --- inventory --------------------------------------------------------------------------------

std::optional<qint64> Store::clientNum(const QString &id)
{
    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    if (!runQuery(q, QStringLiteral("SELECT num FROM clients WHERE id = ?"), {id}) || !q.next())
        return std::nullopt;
    return q.value(0).toLongLong();
}

QList<Store::ClientInfo> Store::queryClients(const QString &whereId)
{
    QList<ClientInfo> list;
    if (!m_raw)
        return list;
    bool ok = false;
    const quint32 defaultRevision = storedDefault(&ok).revision;
    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    const QString sql = QStringLiteral(
            "SELECT c.id, c.hostname, c.os_name, c.os_version, c.kernel, c.arch, c.cpu_model,"
            " c.cpu_count, c.mem_total, c.boot_time_ms, c.agent_version, c.first_seen_ms,"
            " c.last_seen_ms, c.last_sample_ms, c.connection_count, c.sample_count,"
            " EXISTS(SELECT 1 FROM connections k WHERE k.client = c.num"
            "        AND k.disconnected_ms IS NULL),"
            " c.forgotten_ms IS NOT NULL, c.config_override IS NOT NULL, c.config_revision,"
            " c.applied_revision, c.applied_ms, c.dropped_total, c.last_sequence"
            " FROM clients c %1 ORDER BY c.id")
                                .arg(whereId.isNull() ? QString() : QStringLiteral("WHERE c.id = ?"));
    QVariantList binds;
    if (!whereId.isNull())
        binds << whereId;
    if (!runQuery(q, sql, binds))
        return list;
    while (q.next()) {
        ClientInfo c;
        c.id = q.value(0).toString();
        c.hostname = q.value(1).toString();
        c.osName = q.value(2).toString();
        c.osVersion = q.value(3).toString();
        c.kernel = q.value(4).toString();
        c.arch = q.value(5).toString();
        c.cpuModel = q.value(6).toString();
        c.cpuCount = q.value(7).toInt();
        c.memTotal = q.value(8).toULongLong();
        c.bootTimeMs = q.value(9).toLongLong();
        c.agentVersion = q.value(10).toString();
        c.firstSeenMs = q.value(11).toLongLong();
        c.lastSeenMs = q.value(12).toLongLong();
        c.lastSampleMs = q.value(13).toLongLong();
        c.connectionCount = q.value(14).toLongLong();
        c.sampleCount = q.value(15).toLongLong();
        c.online = q.value(16).toBool();
        c.forgotten = q.value(17).toBool();
        c.hasOverride = q.value(18).toBool();
        c.configRevision = std::max(defaultRevision, q.value(19).toUInt());
        c.appliedRevision = q.value(20).toUInt();
        c.appliedMs = q.value(21).toLongLong();
        c.droppedTotal = q.value(22).toULongLong();
        c.lastSequence = q.value(23).toULongLong();
        list.append(c);
    }
    return list;
}

QList<Store::ClientInfo> Store::clients()
{
    return queryClients(QString());
}

std::optional<Store::ClientInfo> Store::client(const QString &id)
{
    const QList<ClientInfo> list = queryClients(id.isNull() ? QStringLiteral("") : id);
    if (list.isEmpty())
        return std::nullopt;
    return list.first();
}

QStringList Store::resolveClients(const QStringList &idsOrHostnames, QString *error)
{
    QStringList ids;
    if (!m_raw) {
        if (error)
            *error = QStringLiteral("database not open");
        return {};
    }
    for (const QString &token : idsOrHostnames) {
        QSqlQuery q(m_db);
        q.setForwardOnly(true);
        if (!runQuery(q,
                      QStringLiteral("SELECT id FROM clients WHERE id = ?"
                                     " UNION ALL SELECT id FROM"
                                     " (SELECT id FROM clients WHERE hostname = ? COLLATE NOCASE"
                                     "  AND NOT EXISTS (SELECT 1 FROM clients WHERE id = ?)"
                                     "  ORDER BY id)"),
                      {token, token, token}, error))
            return {};
        bool found = false;
        while (q.next()) {
            found = true;
            const QString id = q.value(0).toString();
            if (!ids.contains(id))
                ids.append(id);
        }
        if (!found) {
            if (error)
                *error = QStringLiteral("unknown client: %1").arg(token);
            return {};
        }
    }
    return ids;
}

bool Store::forgetClient(const QString &id, bool deleteHistory)
{
    if (!m_raw)
        return false;
    QSqlQuery q(m_db);
    const bool ok = deleteHistory
            ? runQuery(q, QStringLiteral("DELETE FROM clients WHERE id = ?"), {id})
            : runQuery(q,
                       QStringLiteral("UPDATE clients SET secret_salt = NULL, secret_hash = NULL,"
                                      " forgotten_ms = ? WHERE id = ?"),
                       {QDateTime::currentMSecsSinceEpoch(), id});
    if (!ok || q.numRowsAffected() != 1)
        return false;
    qCInfo(lcStore).noquote() << (deleteHistory ? "deleted client and history" : "forgot client")
                              << id;
    return true;
}

double MinuteRollup::value(const Sample &s, Series series)
{
    switch (series) {
    case CpuUser: return double(s.cpu.user) + double(s.cpu.nice);
    case CpuSystem: return double(s.cpu.system) + double(s.cpu.irq) + double(s.cpu.softirq);
    case CpuIowait: return s.cpu.iowait;
    case CpuSteal: return s.cpu.steal;
    case MemUsed: return double(s.memory.used);
    case MemCache: return double(s.memory.cached) + double(s.memory.buffers);
    case MemAvailable: return double(s.memory.available);
    case SwapUsed: return double(s.memory.swapTotal - std::min(s.memory.swapFree, s.memory.swapTotal));
    case SeriesCount: break;
    }
    return 0;
}

bool Store::upsertMinute(qint64 clientNum, const MinuteRollup &r, QString *error)
{
    sqlite3_stmt *s = m_upsMinute;
    sqlite3_bind_int64(s, 1, clientNum);
    sqlite3_bind_int64(s, 2, r.minuteMs);
    sqlite3_bind_int64(s, 3, r.count);
    sqlite3_bind_int64(s, 4, r.firstMs);
    sqlite3_bind_int64(s, 5, r.lastMs);
    sqlite3_bind_double(s, 6, r.memTotal);
    for (int i = 0; i < MinuteRollup::SeriesCount; ++i) {
        sqlite3_bind_double(s, 7 + 2 * i, r.min[std::size_t(i)]);
        sqlite3_bind_double(s, 8 + 2 * i, r.max[std::size_t(i)]);
    }
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        *error = QStringLiteral("updating minute rollup: %1").arg(rawError());
        return false;
    }
    return true;
}

bool Store::forEachMinute(const QString &clientId, qint64 fromMs, qint64 toMs,
                          const std::function<bool(const MinuteRollup &)> &visit, QString *error)
{
    if (!m_raw) {
        if (error)
            *error = QStringLiteral("database is not open");
        return false;
    }
    const std::optional<qint64> num = clientNum(clientId);
    if (!num) {
        if (error)
            *error = QStringLiteral("unknown client: %1").arg(clientId);
        return false;
    }
    sqlite3_stmt *s = m_selMinutes;
    sqlite3_bind_int64(s, 1, *num);
    sqlite3_bind_int64(s, 2, fromMs);
    sqlite3_bind_int64(s, 3, toMs);
    MinuteRollup r;
    const auto read = [&r](sqlite3_stmt *st) -> const MinuteRollup & {
        r.minuteMs = sqlite3_column_int64(st, 0);
        r.count = quint32(sqlite3_column_int64(st, 1));
        r.firstMs = sqlite3_column_int64(st, 2);
        r.lastMs = sqlite3_column_int64(st, 3);
        r.memTotal = sqlite3_column_double(st, 4);
        for (int i = 0; i < MinuteRollup::SeriesCount; ++i) {
            r.min[std::size_t(i)] = sqlite3_column_double(st, 5 + 2 * i);
            r.max[std::size_t(i)] = sqlite3_column_double(st, 6 + 2 * i);
        }
        return r;
    };
    if (stepRows(s, read, visit) == StepEnd::Failed) {
        if (error)
            *error = QStringLiteral("reading minute rollups: %1").arg(rawError());
        return false;
    }
    return true;
}

QList<Store::Gap> Store::gaps(const QString &clientId, qint64 fromMs, qint64 toMs)
{
    QList<Gap> list;
    if (!m_raw)
        return list;
    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    const QString select = QStringLiteral(
            "SELECT c.id, g.start_ms, g.end_ms, g.reason, g.samples_lost, g.seq_first, g.seq_last"
            " FROM gaps g JOIN clients c ON c.num = g.client");
    const bool ok = clientId.isEmpty()
            ? runQuery(q,
                       select
                               + QStringLiteral(" WHERE g.end_ms >= ? AND g.end_ms < ?"
                                                " ORDER BY c.id, g.end_ms, g.id"),
                       {fromMs, toMs})
            : runQuery(q,
                       select
                               + QStringLiteral(" WHERE c.id = ? AND g.end_ms >= ? AND g.end_ms < ?"
                                                " ORDER BY g.end_ms, g.id"),
                       {clientId, fromMs, toMs});
    if (!ok)
        return list;
    while (q.next()) {
        Gap g;
        g.clientId = q.value(0).toString();
        g.startMs = q.value(1).toLongLong();
        g.endMs = q.value(2).toLongLong();
        g.reason = q.value(3).toString();
        g.samplesLost = q.value(4).toULongLong();
        g.sequenceFirst = q.value(5).toULongLong();
        g.sequenceLast = q.value(6).toULongLong();
        list.append(g);
    }
    return list;
}

// --- history ----------------------------------------------------------------------------------

bool Store::forEachSample(const QStringList &clientIds, qint64 fromMs, qint64 toMs,
                          const std::function<bool(const StoredSample &)> &visit, QString *error)
{
    if (!m_raw) {
        if (error)
            *error = QStringLiteral("database not open");
        return false;
    }
    QList<std::pair<QString, qint64>> targets;
    if (clientIds.isEmpty()) {
        QSqlQuery q(m_db);
        q.setForwardOnly(true);
        if (!runQuery(q, QStringLiteral("SELECT id, num FROM clients ORDER BY id"), {}, error))
            return false;
        while (q.next())
            targets.append({q.value(0).toString(), q.value(1).toLongLong()});
    } else {
        for (const QString &id : clientIds) {
            const std::optional<qint64> num = clientNum(id);
            if (!num) {
                if (error)
                    *error = QStringLiteral("unknown client: %1").arg(id);
                return false;
            }
            targets.append({id, *num});
        }
    }

    sqlite3_stmt *s = m_selSamples;
    StoredSample row;
    const auto read = [&row](sqlite3_stmt *st) -> const StoredSample & {
        Sample &x = row.sample;
        x.timestampMs = sqlite3_column_int64(st, 0);
        row.sequence = quint64(sqlite3_column_int64(st, 1));
        x.cpu.user = float(sqlite3_column_double(st, 2));
        x.cpu.nice = float(sqlite3_column_double(st, 3));
        x.cpu.system = float(sqlite3_column_double(st, 4));
        x.cpu.idle = float(sqlite3_column_double(st, 5));
        x.cpu.iowait = float(sqlite3_column_double(st, 6));
        x.cpu.irq = float(sqlite3_column_double(st, 7));
        x.cpu.softirq = float(sqlite3_column_double(st, 8));
        x.cpu.steal = float(sqlite3_column_double(st, 9));
        x.cpu.guest = float(sqlite3_column_double(st, 10));
        x.memory.total = quint64(sqlite3_column_int64(st, 11));
        x.memory.free = quint64(sqlite3_column_int64(st, 12));
        x.memory.available = quint64(sqlite3_column_int64(st, 13));
        x.memory.buffers = quint64(sqlite3_column_int64(st, 14));
        x.memory.cached = quint64(sqlite3_column_int64(st, 15));
        x.memory.used = quint64(sqlite3_column_int64(st, 16));
        x.memory.swapTotal = quint64(sqlite3_column_int64(st, 17));
        x.memory.swapFree = quint64(sqlite3_column_int64(st, 18));
        x.load1 = float(sqlite3_column_double(st, 19));
        x.load5 = float(sqlite3_column_double(st, 20));
        x.load15 = float(sqlite3_column_double(st, 21));
        x.flags = quint16(sqlite3_column_int(st, 22));
        const void *blob = sqlite3_column_blob(st, 23);
        const int bytes = sqlite3_column_bytes(st, 23);
        row.coresLE = QByteArrayView(static_cast<const char *>(blob), blob ? bytes : 0);
        x.coreCount = quint16(row.coresLE.size() / 4);
        return row;
    };
    for (const auto &[id, num] : targets) {
        row.clientId = id;
        sqlite3_bind_int64(s, 1, num);
        sqlite3_bind_int64(s, 2, fromMs);
        sqlite3_bind_int64(s, 3, toMs);
        switch (stepRows(s, read, visit)) {
        case StepEnd::Stopped:
            return true;
        case StepEnd::Failed:
            if (error)
                *error = QStringLiteral("reading samples: %1").arg(rawError());
            return false;
        case StepEnd::Done:
            break;
        }
    }
    return true;
}

qint64 Store::countSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs)
{
    if (!m_raw)
        return -1;
    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    bool ok = false;
    if (clientIds.isEmpty()) {
        ok = runQuery(q,
                      QStringLiteral("SELECT count(*) FROM samples WHERE ts_ms >= ? AND ts_ms < ?"),
                      {fromMs, toMs});
        return ok && q.next() ? q.value(0).toLongLong() : -1;
    }
    qint64 total = 0;
    for (const QString &id : clientIds) {
        ok = runQuery(q,
                      QStringLiteral("SELECT count(*) FROM samples WHERE client ="
                                     " (SELECT num FROM clients WHERE id = ?)"
                                     " AND ts_ms >= ? AND ts_ms < ?"),
                      {id, fromMs, toMs});
        if (!ok || !q.next())
            return -1;
        total += q.value(0).toLongLong();
    }
    return total;
}

qint64 Store::estimateSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs)
{
    if (!m_raw)
        return -1;
    // The minute that holds fromMs counts whole: floor it (guarding the smallest value).
    const qint64 fromMinute = fromMs > std::numeric_limits<qint64>::min() + 60000
                                  ? fromMs - ((fromMs % 60000) + 60000) % 60000
                                  : fromMs;
    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    if (clientIds.isEmpty()) {
        const bool ok = runQuery(q,
                                 QStringLiteral("SELECT coalesce(sum(n), 0) FROM sample_minutes"
                                                " WHERE minute_ms >= ? AND minute_ms < ?"),
                                 {fromMinute, toMs});
        return ok && q.next() ? q.value(0).toLongLong() : -1;
    }
    qint64 total = 0;
    for (const QString &id : clientIds) {
        const bool ok = runQuery(q,
                                 QStringLiteral("SELECT coalesce(sum(n), 0) FROM sample_minutes WHERE client ="
                                                " (SELECT num FROM clients WHERE id = ?)"
                                                " AND minute_ms >= ? AND minute_ms < ?"),
                                 {id, fromMinute, toMs});
        if (!ok || !q.next())
            return -1;
        total += q.value(0).toLongLong();
    }
    return total;
}

qint64 Store::databaseSizeBytes()
{
    if (!m_raw)
        return 0;
    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    if (!runQuery(q, QStringLiteral("SELECT page_count * page_size FROM pragma_page_count(),"
                                    " pragma_page_size()"))
        || !q.next())
        return 0;
    return q.value(0).toLongLong() + QFileInfo(m_path + QStringLiteral("-wal")).size();
}

} // namespace autofact::server
