// SPDX-License-Identifier: MIT
#include "spool/sqlitedatabase.h"

#include <sqlite3.h>

namespace autofact::agent {

namespace {

// QSQLITE's default when no QSQLITE_BUSY_TIMEOUT is given: a writer in another connection
// (a second agent, an inspecting sqlite3 shell) delays us instead of failing us.
constexpr int busyTimeoutMs = 5000;

} // namespace

SqliteDatabase::~SqliteDatabase()
{
    close();
}

bool SqliteDatabase::open(const QString &path)
{
    close();
    // The flags QSQLITE used: NOMUTEX because each connection stays on one thread.
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_PRIVATECACHE
                      | SQLITE_OPEN_NOMUTEX;
    sqlite3 *db = nullptr;
    const int rc = sqlite3_open_v2(path.toUtf8().constData(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        // On most failures SQLite still hands out a handle, and only it knows the message.
        m_openError = QString::fromUtf8(db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        m_openErrorCode = db ? sqlite3_extended_errcode(db) : rc;
        sqlite3_close(db);
        return false;
    }
    sqlite3_busy_timeout(db, busyTimeoutMs);
    // Callers tell corruption (SQLITE_CORRUPT, SQLITE_NOTADB) from other failures by the code
    // they get back; with extended codes that code is the same one Qt Sql reported.
    sqlite3_extended_result_codes(db, 1);
    m_db = db;
    m_openError.clear();
    m_openErrorCode = 0;
    return true;
}

void SqliteDatabase::close()
{
    if (!m_db)
        return;
    // _v2: a statement someone forgot to finalize cannot keep the handle (and file) alive.
    sqlite3_close_v2(m_db);
    m_db = nullptr;
}

bool SqliteDatabase::exec(const char *sql)
{
    if (!m_db)
        return false;
    return sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

QString SqliteDatabase::errorString() const
{
    if (m_db)
        return QString::fromUtf8(sqlite3_errmsg(m_db));
    if (!m_openError.isEmpty())
        return m_openError;
    return QStringLiteral("database not open");
}

int SqliteDatabase::errorCode() const
{
    if (m_db)
        return sqlite3_extended_errcode(m_db);
    return m_openErrorCode ? m_openErrorCode : SQLITE_MISUSE;
}

} // namespace autofact::agent
