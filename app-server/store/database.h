// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"
#include "storetypes.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QString>
#include <QVariantList>

struct sqlite3;

namespace autofact::server {

/**
 * One connection to the server's database through Qt Sql, the connection layer every part of
 * the store uses: the parts run their SQL through exec() and their transactions through
 * Transaction. Which backend sits behind it is the driver's business; today it is SQLite
 * (QSQLITE), and sqliteHandle() exposes SQLite's own handle only to the SQLite backend's
 * measured hot path (SqliteIngestWriter, SqliteSampleReader) and to retention's incremental
 * vacuum (a pragma Qt Sql steps only once).
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
    /** The Qt Sql driver name ("QSQLITE"), which picks the backend's hot-path classes. */
    QString driverName() const { return m_db.driverName(); }

    /**
     * prepare + bind + exec on a forward-only query, every step checked. Failures are logged
     * and returned with the statement's error text.
     */
    StoreResult<QSqlQuery> exec(const QString &sql, const QVariantList &binds = {});
    /** Like exec() and reads the first column of the first row (an error if there is none). */
    StoreResult<QVariant> scalar(const QString &sql, const QVariantList &binds = {});

    /** SQLite's connection handle for the SQLite backend's hot path; null for other drivers. */
    sqlite3 *sqliteHandle() const { return m_sqlite; }

    /** A NotOpen error, for calls made before open() succeeded. */
    static StoreError notOpen();

private:
    StoreResult<void> configure();

    QString m_path;
    StoreOptions m_options;
    QString m_connectionName;
    QSqlDatabase m_db;
    sqlite3 *m_sqlite = nullptr;
    bool m_open = false;
};

} // namespace autofact::server
