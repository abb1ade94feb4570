// SPDX-License-Identifier: MIT
#include "sqlitestatements.h"

#include <sqlite3.h>

namespace autofact::server {

SqliteStatements::~SqliteStatements()
{
    finalizeAll();
}

void SqliteStatements::finalizeAll()
{
    for (sqlite3_stmt **s : m_prepared) {
        sqlite3_finalize(*s); // harmless on nullptr
        *s = nullptr;
    }
    m_prepared.clear();
}

StoreResult<void> SqliteStatements::prepare(
        std::initializer_list<std::pair<sqlite3_stmt **, const char *>> specs)
{
    if (!m_db)
        return storeError(StoreError::Kind::NotOpen, QStringLiteral("no SQLite connection"));
    for (const auto &[target, sql] : specs) {
        if (sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, target, nullptr) != SQLITE_OK) {
            const StoreError e = databaseError(QStringLiteral("prepare failed: %1 (%2)")
                                                       .arg(QString::fromUtf8(sqlite3_errmsg(m_db)),
                                                            QLatin1StringView(sql)));
            sqlite3_finalize(*target);
            *target = nullptr;
            finalizeAll();
            return e;
        }
        m_prepared.push_back(target);
    }
    return {};
}

StoreResult<void> SqliteStatements::run(sqlite3_stmt *statement, const char *what)
{
    const int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    if (rc != SQLITE_DONE)
        return error(what);
    return {};
}

StoreError SqliteStatements::error(const char *what) const
{
    return databaseError(QStringLiteral("%1: %2").arg(QLatin1StringView(what),
                                                      QString::fromUtf8(sqlite3_errmsg(m_db))));
}

int bindText(sqlite3_stmt *statement, int index, const QString &text)
{
    return sqlite3_bind_text16(statement, index, text.utf16(), int(text.size() * 2), SQLITE_STATIC);
}

} // namespace autofact::server
