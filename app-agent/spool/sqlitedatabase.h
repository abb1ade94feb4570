// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

struct sqlite3;

namespace autofact::agent {

/**
 * One SQLite connection through the C API, opened the way Qt's QSQLITE driver opened it:
 * read-write, created if missing, private cache, no connection mutex, a 5 s busy timeout and
 * extended result codes. Files, waits and error codes therefore stay what they were while the
 * spool used Qt Sql, without loading Qt Sql and its plugin into the agent.
 *
 * A connection is used by one thread at a time. Statements prepared on it (SqliteStatement)
 * must be finalized before close().
 */
class SqliteDatabase
{
public:
    SqliteDatabase() = default;
    ~SqliteDatabase();
    SqliteDatabase(const SqliteDatabase &) = delete;
    SqliteDatabase &operator=(const SqliteDatabase &) = delete;

    /** Opens or creates the file at @p path; an open connection is closed first. */
    bool open(const QString &path);
    void close();
    bool isOpen() const { return m_db != nullptr; }

    /** Runs @p sql to completion; result rows are discarded. */
    bool exec(const char *sql);

    /** SQLite's message for the most recent call on this connection (or why it is not open). */
    QString errorString() const;
    /** Extended result code of the most recent call (SQLITE_MISUSE when not open). */
    int errorCode() const;

    /** The connection, for SqliteStatement; nullptr when not open. */
    sqlite3 *handle() const { return m_db; }

private:
    sqlite3 *m_db = nullptr;
    QString m_openError; ///< sqlite3_open_v2's message; its handle is gone once open() fails
    int m_openErrorCode = 0;
};

} // namespace autofact::agent
