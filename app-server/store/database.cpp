// SPDX-License-Identifier: MIT
#include "database.h"

#include "storelogging.h"

#include <QFileInfo>
#include <QSqlDriver>
#include <QSqlError>

#include <atomic>

namespace autofact::server {

namespace {
std::atomic<quint64> s_connectionCounter{0};
} // namespace

Database::Database(QString path, StoreOptions options)
    : m_path(std::move(path))
    , m_options(options)
    , m_connectionName(QStringLiteral("autofact.store.%1").arg(++s_connectionCounter))
{
}

Database::~Database()
{
    close();
    m_db = QSqlDatabase();
    if (QSqlDatabase::contains(m_connectionName))
        QSqlDatabase::removeDatabase(m_connectionName);
}

StoreError Database::notOpen()
{
    return storeError(StoreError::Kind::NotOpen, QStringLiteral("database not open"));
}

StoreResult<void> Database::open()
{
    if (m_open)
        return {};
    if (readOnly() && !QFileInfo::exists(m_path))
        return storeError(StoreError::Kind::NotOpen, QStringLiteral("no database at %1").arg(m_path));
    if (!m_db.isValid())
        m_db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connectionName);
    if (!m_db.isValid())
        return storeError(StoreError::Kind::NotOpen,
                          QStringLiteral("the Qt SQLite driver (QSQLITE) is not available"));
    QString connectOptions = QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(m_options.busyTimeoutMs);
    if (readOnly())
        connectOptions += QStringLiteral(";QSQLITE_OPEN_READONLY");
    m_db.setConnectOptions(connectOptions);
    m_db.setDatabaseName(m_path);
    if (!m_db.open())
        return storeError(StoreError::Kind::NotOpen,
                          QStringLiteral("cannot open: %1").arg(m_db.lastError().text()));
    const QVariant handle = m_db.driver()->handle();
    if (handle.isValid() && qstrcmp(handle.typeName(), "sqlite3*") == 0)
        m_sqlite = *static_cast<sqlite3 *const *>(handle.constData());
    m_open = true;
    if (auto configured = configure(); !configured) {
        close();
        return configured;
    }
    return {};
}

void Database::close()
{
    m_sqlite = nullptr;
    m_open = false;
    if (m_db.isOpen())
        m_db.close();
}

StoreResult<QSqlQuery> Database::exec(const QString &sql, const QVariantList &binds)
{
    if (!m_open)
        return notOpen();
    QSqlQuery q(m_db);
    q.setForwardOnly(true);
    if (!q.prepare(sql)) {
        const QString e = q.lastError().text();
        qCWarning(lcStore).noquote() << "prepare failed:" << e << sql;
        return databaseError(e);
    }
    for (const QVariant &b : binds)
        q.addBindValue(b);
    if (!q.exec()) {
        const QString e = q.lastError().text();
        qCWarning(lcStore).noquote() << "query failed:" << e << sql;
        return databaseError(e);
    }
    return q;
}

StoreResult<QVariant> Database::scalar(const QString &sql, const QVariantList &binds)
{
    auto q = exec(sql, binds);
    if (!q)
        return q.error();
    if (!q->next())
        return databaseError(QStringLiteral("no row from: %1").arg(sql));
    return q->value(0);
}

StoreResult<void> Database::configure()
{
    if (auto fk = exec(QStringLiteral("PRAGMA foreign_keys = ON")); !fk)
        return fk.error();
    if (readOnly())
        return {};
    // A new file reclaims the pages retention frees (PRAGMA incremental_vacuum after each
    // purge slice); this can only be chosen before the first table exists. An older file
    // reuses freed pages instead, so it stops growing but does not shrink (docs/STORAGE.md).
    if (auto pages = scalar(QStringLiteral("PRAGMA page_count")); pages && pages->toLongLong() == 0)
        if (auto v = exec(QStringLiteral("PRAGMA auto_vacuum = INCREMENTAL")); !v)
            return v.error();
    auto mode = scalar(QStringLiteral("PRAGMA journal_mode = WAL"));
    if (!mode)
        return mode.error();
    if (mode->toString().compare(u"wal", Qt::CaseInsensitive) != 0)
        return databaseError(QStringLiteral("cannot switch to WAL journal mode"));
    const QString sync = m_options.durability == StoreOptions::Durability::Full
                                 ? QStringLiteral("PRAGMA synchronous = FULL")
                                 : QStringLiteral("PRAGMA synchronous = NORMAL");
    if (auto s = exec(sync); !s)
        return s.error();
    return {};
}

} // namespace autofact::server
