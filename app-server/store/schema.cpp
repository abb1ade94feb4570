// SPDX-License-Identifier: MIT
#include "schema.h"

#include "configstore.h"
#include "database.h"
#include "postgresschema.h"
#include "storelogging.h"
#include "transaction.h"

#include <span>

namespace autofact::server {

namespace {

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
    // The same series definitions as metrics::seriesValue() (shared/metrics.h), in SQL.
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

// Version 5: enrolment tokens (only their hashes) and revoked clients.
constexpr const char *kSchemaV5[] = {
    R"(CREATE TABLE enrolment_tokens (
         id TEXT PRIMARY KEY,
         hash BLOB NOT NULL,
         label TEXT NOT NULL DEFAULT '',
         created_ms INTEGER NOT NULL,
         expires_ms INTEGER,
         max_uses INTEGER NOT NULL,
         uses INTEGER NOT NULL DEFAULT 0,
         revoked_ms INTEGER,
         last_used_ms INTEGER))",
    "ALTER TABLE clients ADD COLUMN blocked_ms INTEGER",
    // The server polls for revocations made by other processes every second: partial, so the
    // poll reads only revoked rows.
    "CREATE INDEX clients_blocked ON clients(blocked_ms) WHERE blocked_ms IS NOT NULL",
    "ALTER TABLE clients ADD COLUMN enrolment_token TEXT",
};

// Version 6: alerts (issue 14): rule settings over the shipped defaults, every firing with its
// resolution, acknowledgement and silence, and the notification channels with their counters.
constexpr const char *kSchemaV6[] = {
    R"(CREATE TABLE alert_rules (
         rule TEXT NOT NULL,
         client_id TEXT NOT NULL DEFAULT '',
         enabled INTEGER NOT NULL,
         threshold REAL NOT NULL,
         for_ms INTEGER NOT NULL,
         resolve_ms INTEGER NOT NULL,
         PRIMARY KEY (rule, client_id)) WITHOUT ROWID)",
    R"(CREATE TABLE alerts (
         id INTEGER PRIMARY KEY,
         rule TEXT NOT NULL,
         client_id TEXT NOT NULL,
         hostname TEXT NOT NULL DEFAULT '',
         value REAL NOT NULL,
         threshold REAL NOT NULL,
         started_ms INTEGER NOT NULL,
         fired_ms INTEGER NOT NULL,
         resolved_ms INTEGER,
         acked_ms INTEGER,
         silenced_until_ms INTEGER,
         silence_reason TEXT NOT NULL DEFAULT '',
         notified_ms INTEGER,
         resolution TEXT NOT NULL DEFAULT ''))",
    // Active alerts are read on every start and by `autofactory alerts`: partial, so they
    // stay cheap however long the history grows; unique, since a rule fires once per client
    // until it resolves.
    "CREATE UNIQUE INDEX alerts_active ON alerts(client_id, rule) WHERE resolved_ms IS NULL",
    "CREATE INDEX alerts_started ON alerts(started_ms)",
    R"(CREATE TABLE notifiers (
         id INTEGER PRIMARY KEY,
         kind TEXT NOT NULL CHECK (kind IN ('webhook', 'command')),
         target TEXT NOT NULL,
         enabled INTEGER NOT NULL DEFAULT 1,
         created_ms INTEGER NOT NULL,
         sent INTEGER NOT NULL DEFAULT 0,
         failed INTEGER NOT NULL DEFAULT 0,
         dead_letters INTEGER NOT NULL DEFAULT 0,
         last_ok_ms INTEGER,
         last_error TEXT NOT NULL DEFAULT '',
         last_error_ms INTEGER))",
};

// Version 7: groups (issue 15). A client is in at most one group, so behaviour and alert rules
// resolve in one order (client, group, fleet) with no tie to break; a group's behaviour
// override keeps its revision when cleared, so members' revisions never go backwards. A client
// enrolled anew by an agent that presented an ID (forgotten, or a replaced database) remembers
// that ID, so its history can be merged with the old identity.
constexpr const char *kSchemaV7[] = {
    "ALTER TABLE clients ADD COLUMN group_name TEXT NOT NULL DEFAULT ''",
    "CREATE INDEX clients_group ON clients(group_name) WHERE group_name <> ''",
    "ALTER TABLE clients ADD COLUMN previous_id TEXT",
    R"(CREATE TABLE group_configs (
         name TEXT PRIMARY KEY,
         config_override TEXT,
         config_revision INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID)",
};

// Version 8: CPU busy and the 1-minute load in the minute rollups, so charts that compare hosts
// over weeks read rollups (min/max of a sum is not a sum of min/max), backfilled from samples.
constexpr const char *kSchemaV8[] = {
    "ALTER TABLE sample_minutes ADD COLUMN busy_min REAL NOT NULL DEFAULT 0",
    "ALTER TABLE sample_minutes ADD COLUMN busy_max REAL NOT NULL DEFAULT 0",
    "ALTER TABLE sample_minutes ADD COLUMN load_min REAL NOT NULL DEFAULT 0",
    "ALTER TABLE sample_minutes ADD COLUMN load_max REAL NOT NULL DEFAULT 0",
    // The same definition as metrics::seriesValue(CpuBusy), in SQL.
    R"(UPDATE sample_minutes SET busy_min = s.bmin, busy_max = s.bmax, load_min = s.lmin, load_max = s.lmax
       FROM (SELECT client, (ts_ms / 60000) * 60000 AS minute,
                    min(cpu_user + cpu_nice + cpu_system + cpu_irq + cpu_softirq + cpu_steal) AS bmin,
                    max(cpu_user + cpu_nice + cpu_system + cpu_irq + cpu_softirq + cpu_steal) AS bmax,
                    min(load1) AS lmin, max(load1) AS lmax
             FROM samples GROUP BY client, ts_ms / 60000) AS s
       WHERE sample_minutes.client = s.client AND sample_minutes.minute_ms = s.minute)",
};

// Version 9: retention (issue 13). An hour tier (min, max and sum for the average of each
// series), backfilled from samples; the sequence up to which a client's raw samples have
// expired (a resend of such a batch is acknowledged, never stored again); the retention
// settings with the defaults a small shop can leave alone (docs/STORAGE.md, "Retention").
constexpr const char *kSchemaV9[] = {
    R"(CREATE TABLE sample_hours (
         client INTEGER NOT NULL REFERENCES clients(num) ON DELETE CASCADE,
         hour_ms INTEGER NOT NULL,
         n INTEGER NOT NULL,
         first_ms INTEGER NOT NULL,
         last_ms INTEGER NOT NULL,
         mem_total REAL NOT NULL,
         user_min REAL NOT NULL, user_max REAL NOT NULL, user_sum REAL NOT NULL,
         system_min REAL NOT NULL, system_max REAL NOT NULL, system_sum REAL NOT NULL,
         iowait_min REAL NOT NULL, iowait_max REAL NOT NULL, iowait_sum REAL NOT NULL,
         steal_min REAL NOT NULL, steal_max REAL NOT NULL, steal_sum REAL NOT NULL,
         used_min REAL NOT NULL, used_max REAL NOT NULL, used_sum REAL NOT NULL,
         cache_min REAL NOT NULL, cache_max REAL NOT NULL, cache_sum REAL NOT NULL,
         available_min REAL NOT NULL, available_max REAL NOT NULL, available_sum REAL NOT NULL,
         swap_min REAL NOT NULL, swap_max REAL NOT NULL, swap_sum REAL NOT NULL,
         busy_min REAL NOT NULL, busy_max REAL NOT NULL, busy_sum REAL NOT NULL,
         load_min REAL NOT NULL, load_max REAL NOT NULL, load_sum REAL NOT NULL,
         PRIMARY KEY (client, hour_ms)) WITHOUT ROWID)",
    // The same series definitions as metrics::seriesValue() (shared/metrics.h), in SQL.
    R"(INSERT INTO sample_hours
         SELECT client, (ts_ms / 3600000) * 3600000, count(*), min(ts_ms), max(ts_ms), max(mem_total),
                min(cpu_user + cpu_nice), max(cpu_user + cpu_nice), total(cpu_user + cpu_nice),
                min(cpu_system + cpu_irq + cpu_softirq), max(cpu_system + cpu_irq + cpu_softirq), total(cpu_system + cpu_irq + cpu_softirq),
                min(cpu_iowait), max(cpu_iowait), total(cpu_iowait),
                min(cpu_steal), max(cpu_steal), total(cpu_steal),
                min(mem_used), max(mem_used), total(mem_used),
                min(mem_cached + mem_buffers), max(mem_cached + mem_buffers), total(mem_cached + mem_buffers),
                min(mem_available), max(mem_available), total(mem_available),
                min(swap_total - min(swap_free, swap_total)), max(swap_total - min(swap_free, swap_total)), total(swap_total - min(swap_free, swap_total)),
                min(cpu_user + cpu_nice + cpu_system + cpu_irq + cpu_softirq + cpu_steal), max(cpu_user + cpu_nice + cpu_system + cpu_irq + cpu_softirq + cpu_steal), total(cpu_user + cpu_nice + cpu_system + cpu_irq + cpu_softirq + cpu_steal),
                min(load1), max(load1), total(load1)
         FROM samples GROUP BY client, ts_ms / 3600000)",
    "ALTER TABLE clients ADD COLUMN purged_sequence INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE clients ADD COLUMN purged_ms INTEGER NOT NULL DEFAULT 0",
    R"(INSERT INTO settings(key, value) VALUES ('keep_raw_ms', '2592000000'),
         ('keep_minutes_ms', '31536000000'), ('keep_hours_ms', '0'), ('max_db_bytes', '0'))",
};

// Version 10: raw samples in compact chunks (issue 13, samplechunk.h): one row per client and
// ten-minute window once it closed; sealed batches are remembered by their chunks. The samples table stays as the head: the open window and late
// batches, sealed by ChunkSealer. Existing history is sealed by the server after start-up, in
// slices with ingest between them (the log reports progress), not in this transaction.
constexpr const char *kSchemaV10[] = {
    R"(CREATE TABLE sample_chunks (
         client INTEGER NOT NULL REFERENCES clients(num) ON DELETE CASCADE,
         window_ms INTEGER NOT NULL,
         first_ms INTEGER NOT NULL,
         last_ms INTEGER NOT NULL,
         samples INTEGER NOT NULL,
         seq_min INTEGER NOT NULL,
         seq_max INTEGER NOT NULL,
         data BLOB NOT NULL))",
    "CREATE INDEX sample_chunks_client_window ON sample_chunks(client, window_ms, first_ms)",
    // A resend of a sealed batch is found through the chunk whose sequences cover it (the
    // batch's own row is deleted once all its samples are sealed).
    "CREATE INDEX sample_chunks_client_sequence ON sample_chunks(client, seq_max, seq_min)",
};

// Version 11: device readings (issue 17: filesystems, disks, network, temperatures) as
// DeviceChunk blobs per client and ten-minute window; sealed = 0 rows are one batch's readings
// (DeviceHistory seals them per window).
constexpr const char *kSchemaV11[] = {
    R"(CREATE TABLE device_chunks (
         client INTEGER NOT NULL REFERENCES clients(num) ON DELETE CASCADE,
         window_ms INTEGER NOT NULL,
         first_ms INTEGER NOT NULL,
         last_ms INTEGER NOT NULL,
         sealed INTEGER NOT NULL DEFAULT 0,
         data BLOB NOT NULL))",
    "CREATE INDEX device_chunks_client_window ON device_chunks(client, window_ms)",
    // Sealing finds open rows, retention old windows, without a scan.
    "CREATE INDEX device_chunks_open ON device_chunks(sealed, window_ms)",
    "CREATE INDEX device_chunks_window ON device_chunks(window_ms)",
};

StoreResult<int> readVersion(Database &db)
{
    if (db.isPostgres()) {
        auto exists = db.scalar(QStringLiteral("SELECT to_regclass('autofact_schema') IS NOT NULL"));
        if (!exists)
            return exists.error();
        if (!exists->toBool())
            return 0;
        auto v = db.scalar(QStringLiteral("SELECT coalesce(max(version), 0) FROM autofact_schema"));
        if (!v)
            return v.error();
        return v->toInt();
    }
    auto v = db.scalar(QStringLiteral("PRAGMA user_version"));
    if (!v)
        return v.error();
    return v->toInt();
}

StoreResult<void> runSteps(Database &db, std::span<const char *const> statements)
{
    for (const char *sql : statements)
        if (auto q = db.exec(QString::fromUtf8(sql)); !q)
            return q.error();
    return {};
}

} // namespace

StoreResult<int> Schema::migratePostgres(Database &db, Transaction &txn, int from)
{
    // PostgreSQL support began at v11: a new database gets that schema whole, and versions
    // after it are steps shared with SQLite. v11 below is the oldest PostgreSQL schema.
    if (from != 0 && from < postgresschema::baselineVersion)
        return databaseError(QStringLiteral("PostgreSQL schema v%1 predates PostgreSQL support").arg(from));
    int at = from;
    if (at == 0) {
        if (auto r = runSteps(db, postgresschema::baseline()); !r)
            return r.error();
        AgentConfig defaults;
        defaults.revision = 1;
        auto seeded = db.exec(QStringLiteral("INSERT INTO settings(key, value) VALUES "
                                             "('config_counter', '1'), ('default_config', ?)"),
                              {ConfigStore::toJson(defaults)});
        if (!seeded)
            return seeded.error();
        if (auto q = db.exec(QStringLiteral("CREATE TABLE autofact_schema (version integer NOT NULL)")); !q)
            return q.error();
        if (auto q = db.exec(QStringLiteral("INSERT INTO autofact_schema VALUES (0)")); !q)
            return q.error();
        at = postgresschema::baselineVersion;
    }
    if (auto q = db.exec(QStringLiteral("UPDATE autofact_schema SET version = ?"), {at}); !q)
        return q.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    if (from != at)
        qCInfo(lcStore).noquote() << "schema of" << db.location().display() << "migrated from v" << from << "to v" << at;
    return at;
}

StoreResult<int> Schema::migrate(Database &db)
{
    auto version = readVersion(db);
    if (!version)
        return version;
    if (*version > currentVersion)
        return databaseError(QStringLiteral("database schema v%1 is newer than this build (v%2)")
                                     .arg(*version)
                                     .arg(currentVersion));
    if (db.readOnly()) {
        if (*version != currentVersion)
            return databaseError(*version == 0
                                         ? QStringLiteral("not an autofact database")
                                         : QStringLiteral("database schema v%1 is older than v%2: "
                                                          "start autofactory once to upgrade it")
                                                   .arg(*version)
                                                   .arg(currentVersion));
        return version;
    }
    if (*version == currentVersion)
        return version;

    Transaction txn(db);
    if (auto b = txn.begin(); !b)
        return b.error();
    if (db.isPostgres()) {
        // Nodes starting together: one migrates, the others wait here and find it done.
        if (auto lock = db.exec(QStringLiteral("SELECT pg_advisory_xact_lock(8675309, 0)")); !lock)
            return lock.error();
    }
    // Another process may have migrated between the first read and the write lock.
    version = readVersion(db);
    if (!version)
        return version;
    if (*version == currentVersion)
        return version;
    if (*version == 0) {
        auto tables = db.scalar(db.isPostgres()
                                        ? QStringLiteral("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
                                        : QStringLiteral("SELECT count(*) FROM sqlite_schema"));
        if (!tables)
            return tables.error();
        if (tables->toInt() > 0)
            return databaseError(QStringLiteral("not an autofact database (tables present, user_version 0)"));
    }
    const int from = *version;
    struct Step {
        int version;
        std::span<const char *const> statements;
    };
    if (db.isPostgres())
        return migratePostgres(db, txn, *version);
    const Step steps[] = {{1, kSchemaV1}, {2, kSchemaV2}, {3, kSchemaV3}, {4, kSchemaV4}, {5, kSchemaV5}, {6, kSchemaV6}, {7, kSchemaV7}, {8, kSchemaV8}, {9, kSchemaV9}, {10, kSchemaV10}, {11, kSchemaV11}};
    int at = from;
    for (const Step &step : steps) {
        if (at >= step.version)
            continue;
        if (auto r = runSteps(db, step.statements); !r)
            return r.error();
        if (step.version == 2) {
            // v2 introduced configuration: seed the default (revision 1).
            AgentConfig defaults;
            defaults.revision = 1;
            auto seeded = db.exec(QStringLiteral("INSERT INTO settings(key, value) VALUES "
                                                 "('config_counter', '1'), ('default_config', ?)"),
                                  {ConfigStore::toJson(defaults)});
            if (!seeded)
                return seeded.error();
        }
        at = step.version;
    }
    if (auto q = db.exec(QStringLiteral("PRAGMA user_version = %1").arg(at)); !q)
        return q.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    if (from != at)
        qCInfo(lcStore).noquote() << "schema of" << db.location().display() << "migrated from v" << from << "to v" << at;
    return at;
}

} // namespace autofact::server
