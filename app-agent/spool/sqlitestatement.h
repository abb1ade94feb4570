// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>

#include <cstdint>

struct sqlite3;
struct sqlite3_stmt;

namespace autofact::agent {

class SqliteDatabase;

/**
 * One prepared SQLite statement, finalized with its owner. Prepare once, then for every use:
 * bind, step until Done, reset(); reset() also releases the bindings, so a blob bound without
 * a copy is never read after it.
 */
class SqliteStatement
{
public:
    enum class Step {
        Row, ///< a result row is ready for the column accessors
        Done, ///< finished; reset() before running it again
        Error, ///< see resultCode() and errorString()
    };

    SqliteStatement() = default;
    ~SqliteStatement();
    SqliteStatement(SqliteStatement &&other) noexcept;
    SqliteStatement &operator=(SqliteStatement &&other) noexcept;
    SqliteStatement(const SqliteStatement &) = delete;
    SqliteStatement &operator=(const SqliteStatement &) = delete;

    /** Compiles the single statement @p sql on @p db, replacing what was prepared before. */
    bool prepare(const SqliteDatabase &db, const char *sql);
    bool isPrepared() const { return m_stmt != nullptr; }
    void finalize();

    /**
     * Parameters count from 1. A failed bind makes the next step() fail with its code, so a
     * statement never runs with a parameter silently left NULL.
     */
    bool bindInt64(int index, std::int64_t value);
    bool bindDouble(int index, double value);
    /** Not copied: @p value must stay alive and unchanged until reset() or finalize(). */
    bool bindBlob(int index, const QByteArray &value);
    /** Copied (as UTF-8). */
    bool bindText(int index, const QString &value);

    Step step();

    /** Columns count from 0 and are valid after step() returned Row. */
    std::int64_t columnInt64(int column) const;
    QByteArray columnBlob(int column) const;
    QString columnText(int column) const;

    /** Rewinds the statement and clears its bindings. */
    void reset();

    /** Extended result code of the last prepare(), bind or step(). */
    int resultCode() const { return m_result; }
    /** SQLite's message for this statement's last failure (kept, later calls do not clear it). */
    QString errorString() const { return m_error; }
    /** The SQL text as prepared (empty if not). */
    const char *sql() const;

private:
    bool bound(int rc);
    void fail(int rc);

    sqlite3_stmt *m_stmt = nullptr;
    sqlite3 *m_db = nullptr;
    int m_result = 0;
    int m_bindError = 0; ///< first failed bind since the last reset()
    QString m_error;
};

} // namespace autofact::agent
