// SPDX-License-Identifier: MIT
#include "spool/sqlitestatement.h"

#include "spool/sqlitedatabase.h"

#include <sqlite3.h>

#include <cctype>
#include <utility>

namespace autofact::agent {

SqliteStatement::~SqliteStatement()
{
    finalize();
}

SqliteStatement::SqliteStatement(SqliteStatement &&other) noexcept
    : m_stmt(std::exchange(other.m_stmt, nullptr))
    , m_db(std::exchange(other.m_db, nullptr))
    , m_result(std::exchange(other.m_result, 0))
    , m_bindError(std::exchange(other.m_bindError, 0))
    , m_error(std::move(other.m_error))
{
}

SqliteStatement &SqliteStatement::operator=(SqliteStatement &&other) noexcept
{
    if (this != &other) {
        finalize();
        m_stmt = std::exchange(other.m_stmt, nullptr);
        m_db = std::exchange(other.m_db, nullptr);
        m_result = std::exchange(other.m_result, 0);
        m_bindError = std::exchange(other.m_bindError, 0);
        m_error = std::move(other.m_error);
    }
    return *this;
}

bool SqliteStatement::prepare(const SqliteDatabase &db, const char *sql)
{
    finalize();
    m_db = db.handle();
    m_error.clear();
    if (!m_db) {
        m_result = SQLITE_MISUSE;
        m_error = QStringLiteral("database not open");
        return false;
    }
    const char *tail = nullptr;
    const int rc = sqlite3_prepare_v2(m_db, sql, -1, &m_stmt, &tail);
    if (rc != SQLITE_OK) {
        fail(rc);
        finalize();
        return false;
    }
    // sqlite3_prepare_v2 compiles only the first statement; running a prefix of what the
    // caller wrote would be a silent bug (Qt Sql refused this too).
    while (tail && *tail && std::isspace(static_cast<unsigned char>(*tail)))
        ++tail;
    if (!m_stmt || (tail && *tail)) {
        finalize();
        m_result = SQLITE_MISUSE;
        m_error = QStringLiteral("not exactly one SQL statement");
        return false;
    }
    m_result = SQLITE_OK;
    return true;
}

void SqliteStatement::finalize()
{
    sqlite3_finalize(m_stmt); // a no-op for nullptr
    m_stmt = nullptr;
    m_bindError = 0;
}

void SqliteStatement::fail(int rc)
{
    m_result = rc;
    m_error = QString::fromUtf8(m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc));
}

bool SqliteStatement::bound(int rc)
{
    if (rc == SQLITE_OK)
        return true;
    if (m_bindError != SQLITE_OK)
        return false; // the first failure is the one worth reporting
    m_bindError = rc;
    if (m_stmt) {
        fail(rc);
    } else {
        m_result = rc;
        m_error = QStringLiteral("statement not prepared");
    }
    return false;
}

bool SqliteStatement::bindInt64(int index, std::int64_t value)
{
    return bound(m_stmt ? sqlite3_bind_int64(m_stmt, index, value) : SQLITE_MISUSE);
}

bool SqliteStatement::bindDouble(int index, double value)
{
    return bound(m_stmt ? sqlite3_bind_double(m_stmt, index, value) : SQLITE_MISUSE);
}

bool SqliteStatement::bindBlob(int index, const QByteArray &value)
{
    if (!m_stmt)
        return bound(SQLITE_MISUSE);
    // A null pointer would bind SQL NULL; an empty array is a zero-length blob.
    const char *data = value.isNull() ? "" : value.constData();
    return bound(sqlite3_bind_blob64(m_stmt, index, data, sqlite3_uint64(value.size()),
                                     SQLITE_STATIC));
}

bool SqliteStatement::bindText(int index, const QString &value)
{
    if (!m_stmt)
        return bound(SQLITE_MISUSE);
    const QByteArray utf8 = value.toUtf8();
    const char *data = utf8.isNull() ? "" : utf8.constData();
    return bound(sqlite3_bind_text64(m_stmt, index, data, sqlite3_uint64(utf8.size()),
                                     SQLITE_TRANSIENT, SQLITE_UTF8));
}

SqliteStatement::Step SqliteStatement::step()
{
    if (!m_stmt) {
        m_result = SQLITE_MISUSE;
        m_error = QStringLiteral("statement not prepared");
        return Step::Error;
    }
    if (m_bindError != SQLITE_OK) {
        m_result = m_bindError; // m_error still holds the bind's message
        return Step::Error;
    }
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) {
        m_result = rc;
        return Step::Row;
    }
    if (rc == SQLITE_DONE) {
        m_result = rc;
        return Step::Done;
    }
    fail(rc);
    return Step::Error;
}

std::int64_t SqliteStatement::columnInt64(int column) const
{
    return sqlite3_column_int64(m_stmt, column);
}

QByteArray SqliteStatement::columnBlob(int column) const
{
    // Pointer first, then size: that order is what SQLite documents as safe.
    const void *data = sqlite3_column_blob(m_stmt, column);
    const int size = sqlite3_column_bytes(m_stmt, column);
    return QByteArray(static_cast<const char *>(data), size);
}

QString SqliteStatement::columnText(int column) const
{
    const unsigned char *text = sqlite3_column_text(m_stmt, column);
    const int size = sqlite3_column_bytes(m_stmt, column);
    return QString::fromUtf8(reinterpret_cast<const char *>(text), size);
}

void SqliteStatement::reset()
{
    if (m_stmt) {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }
    m_bindError = SQLITE_OK;
}

const char *SqliteStatement::sql() const
{
    return m_stmt ? sqlite3_sql(m_stmt) : "";
}

} // namespace autofact::agent
