// SPDX-License-Identifier: MIT
#pragma once

#include "storelocation.h"
#include "storeresult.h"
#include "storetypes.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QElapsedTimer>
#include <QSet>
#include <QStringList>
#include <QString>
#include <QVariantList>

struct sqlite3;
struct pg_conn;

namespace autofact::server {

/**
 * One connection to the server's database through Qt Sql, the connection layer every part of
 * the store uses: the parts run their SQL through exec() and their transactions through
 * Transaction. Two backends sit behind it: an SQLite file (QSQLITE), where sqliteHandle()
 * exposes SQLite's own handle only to the SQLite backend's measured hot path
 * (SqliteIngestWriter, SqliteSampleReader) and to retention's incremental vacuum; and a
 * PostgreSQL server (QPSQL, a `postgresql://` location), where the parts' SQL runs unchanged
 * over a few SQLite-compatible functions the schema defines (docs/STORAGE.md, "PostgreSQL").
 *
 * Single-threaded: one instance per thread, with a unique Qt connection name.
 */
class Database
{
public:
    Database(QString path, StoreOptions options);
    ~Database();
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    /** Opens the connection and sets foreign keys, busy timeout, WAL and durability. */
    StoreResult<void> open();
    void close();
    bool isOpen() const { return m_open; }
    bool readOnly() const { return m_options.mode == StoreOptions::Mode::ReadOnly; }
    const QString &path() const { return m_path; }
    const StoreOptions &options() const { return m_options; }
    /** The Qt Sql driver name ("QSQLITE", "QPSQL"), which picks the backend's hot-path classes. */
    QString driverName() const { return m_db.driverName(); }
    bool isPostgres() const { return m_location.isPostgres(); }
    const StoreLocation &location() const { return m_location; }
    /** The driver, for PostgreSQL's notifications (QSqlDriver::notification). */
    QSqlDriver *driver() const { return m_db.driver(); }
    /** LISTEN on @p channel, again after every reconnection. False if the driver refused. */
    bool subscribe(const QString &channel);
    /** Transaction marks its span: a lost connection is not replaced in the middle of one. */
    void setInTransaction(bool in) { m_inTransaction = in; }

    /**
     * PostgreSQL only: runs @p sql as one simple-protocol statement (several rows in one
     * INSERT, no parameters). The caller formats every value with the literal helpers below.
     */
    StoreResult<QSqlQuery> execText(const QString &sql);
    /** PostgreSQL literals, exact: shortest round-trip doubles, `'\x..'::bytea`, quoted text. */
    static void appendLiteral(QString &sql, const QVariant &value);
    static void appendBytea(QString &sql, QByteArrayView bytes);
    /** @p sql with each `?` (or `?N`) replaced by its value as a literal (appendLiteral). */
    static QString substituteLiterals(const QString &sql, const QVariantList &binds);
    /**
     * PostgreSQL only (a no-op for SQLite): makes sure the partition of @p table (sample_chunks
     * or device_chunks) that holds @p windowMs exists. Partitions are one UTC day each.
     */
    StoreResult<void> ensurePartition(const char *table, qint64 windowMs);
    static constexpr qint64 partitionMs = 86'400'000;
    /** PostgreSQL: the partitions of today and the next two days, in a transaction of their own. */
    StoreResult<void> precreatePartitions(qint64 nowMs);
    /**
     * PostgreSQL: locks client row @p num until the transaction ends, so that another node's
     * ingest and this node's sealing or merging of that client take turns. SQLite: nothing to
     * do (its write transactions are already one at a time).
     */
    StoreResult<void> lockClient(qint64 num);
    /**
     * Whether this connection does the store's housekeeping (sealing, retention, alert rules):
     * always with SQLite; with PostgreSQL the one node holding a session advisory lock, which
     * passes to another node when its connection goes.
     */
    StoreResult<bool> maintenanceLeader();
    /**
     * Inside a housekeeping transaction, right after BEGIN: an error unless this connection
     * holds the housekeeping lock (a reconnection may have lost it after the caller's check).
     */
    StoreResult<void> requireLeader();
    /** After a rollback or a dropped partition: what ensurePartition() knew may be gone. */
    void forgetPartitions();

    /**
     * prepare + bind + exec on a forward-only query, every step checked. Failures are logged
     * and returned with the statement's error text.
     */
    StoreResult<QSqlQuery> exec(const QString &sql, const QVariantList &binds = {});
    /** An INSERT that returns the new row's @p idColumn (SQLite's rowid, PostgreSQL's RETURNING). */
    StoreResult<qint64> insertReturningId(const QString &sql, const QVariantList &binds, const char *idColumn);
    /** Like exec() and reads the first column of the first row (an error if there is none). */
    StoreResult<QVariant> scalar(const QString &sql, const QVariantList &binds = {});

    /** libpq's connection under QPSQL, for COPY on the PostgreSQL hot path; null otherwise. */
    pg_conn *postgresHandle() const;
    /** SQLite's connection handle for the SQLite backend's hot path; null for other drivers. */
    sqlite3 *sqliteHandle() const { return m_sqlite; }

    /** A NotOpen error, for calls made before open() succeeded. */
    static StoreError notOpen();

private:
    StoreResult<void> configure();

    StoreResult<void> openPostgres();
    StoreResult<void> reconnect();
    StoreResult<void> configurePostgres();


    QString m_path;
    StoreLocation m_location;
    StoreOptions m_options;
    QString m_connectionName;
    QSqlDatabase m_db;
    sqlite3 *m_sqlite = nullptr;
    bool m_open = false;
    bool m_leader = false;
    bool m_lost = false;          ///< PostgreSQL: the connection broke; reconnect() before the next statement
    bool m_inTransaction = false;
    QElapsedTimer m_retry;
    QStringList m_channels;
    QSet<qint64> m_partitions[2]; ///< sample_chunks, device_chunks: days known to exist
};

} // namespace autofact::server
