// SPDX-License-Identifier: MIT
#include "database.h"

#include "storelogging.h"
#include "transaction.h"

#include <QFileInfo>

#include <libpq-fe.h>
#include <QSqlDriver>
#include <QSqlError>

#include <atomic>
#include <charconv>
#include <optional>

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
    QString why;
    const auto location = StoreLocation::parse(m_path, &why);
    if (!location)
        return storeError(StoreError::Kind::NotOpen, why);
    m_location = *location;
    if (m_location.isPostgres())
        return openPostgres();
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

void Database::forgetPartitions()
{
    m_partitions[0].clear();
    m_partitions[1].clear();
}

void Database::close()
{
    forgetPartitions();
    m_leader = false;
    m_sqlite = nullptr;
    m_open = false;
    if (m_db.isOpen())
        m_db.close();
}

StoreResult<QSqlQuery> Database::exec(const QString &sql, const QVariantList &binds)
{
    if (!m_open)
        return notOpen();
    // QPSQL would PREPARE, EXECUTE and DEALLOCATE each statement (three round trips) and
    // leave parameter types to inference; literals we format ourselves take one round trip
    // and are typed by the values.
    if (m_location.isPostgres())
        return execText(binds.isEmpty() ? sql : substituteLiterals(sql, binds));
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

StoreResult<qint64> Database::insertReturningId(const QString &sql, const QVariantList &binds, const char *idColumn)
{
    if (!isPostgres()) {
        auto q = exec(sql, binds);
        if (!q)
            return q.error();
        return q->lastInsertId().toLongLong();
    }
    auto v = scalar(sql + QStringLiteral(" RETURNING ") + QLatin1StringView(idColumn), binds);
    if (!v)
        return v.error();
    return v->toLongLong();
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

namespace autofact::server {

StoreResult<void> Database::openPostgres()
{
    if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL")))
        return storeError(StoreError::Kind::NotOpen,
                          QStringLiteral("the Qt PostgreSQL driver (QPSQL, Debian libqt6sql6-psql) is not available"));
    if (!m_db.isValid())
        m_db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), m_connectionName);
    if (!m_location.host.isEmpty())
        m_db.setHostName(m_location.host);
    if (m_location.port >= 0)
        m_db.setPort(m_location.port);
    if (!m_location.user.isEmpty())
        m_db.setUserName(m_location.user);
    m_db.setDatabaseName(m_location.database);
    QStringList options = m_location.options;
    const QString app = m_options.applicationName.isEmpty() ? QStringLiteral("autofact") : m_options.applicationName;
    options << QStringLiteral("application_name=%1").arg(app);
    const QString given = m_location.options.join(u';');
    if (!given.contains(u"connect_timeout="))
        options << QStringLiteral("connect_timeout=10");
    // A primary gone silent (a moved virtual IP, a cut) is noticed in about 25 s, not in the
    // kernel's two hours: its transactions fail, nothing is acked, and the node reconnects.
    if (!given.contains(u"keepalives"))
        options << QStringLiteral("keepalives_idle=10") << QStringLiteral("keepalives_interval=5")
                << QStringLiteral("keepalives_count=3");
    m_db.setConnectOptions(options.join(u';'));
    if (!m_db.open())
        return storeError(StoreError::Kind::NotOpen, QStringLiteral("cannot connect to %1: %2")
                                                             .arg(m_location.display(), m_db.lastError().text().trimmed()));
    m_open = true;
    if (auto configured = configurePostgres(); !configured) {
        close();
        return configured;
    }
    return {};
}

StoreResult<void> Database::configurePostgres()
{
    // Literals are formatted with standard quoting (a backslash is an ordinary character), an
    // acked batch is on the server's disk (and its synchronous standbys'), and notices about
    // "already exists" stay out of the log.
    QString setup = QStringLiteral("SET standard_conforming_strings = on; SET synchronous_commit = on;"
                                   " SET client_min_messages = warning; SET lock_timeout = '%1ms';")
                            .arg(m_options.busyTimeoutMs);
    if (readOnly())
        setup += QStringLiteral(" SET default_transaction_read_only = on;");
    if (auto q = execText(setup); !q)
        return q.error();
    return {};
}

StoreResult<QSqlQuery> Database::execText(const QString &sql)
{
    if (!m_open)
        return notOpen();
    if (m_lost)
        if (auto r = reconnect(); !r)
            return r.error();
    QSqlQuery q(m_db);
    // Not forward-only: QPSQL reads a forward-only result row by row (single-row mode), and a
    // second query on the connection would cut the first one's rows off; parts do nest queries.
    q.setForwardOnly(false);
    if (!q.exec(sql)) {
        const QString e = q.lastError().text();
        qCWarning(lcStore).noquote() << "query failed:" << e << QStringView(sql).left(400);
        if (pg_conn *conn = postgresHandle(); !conn || PQstatus(conn) == CONNECTION_BAD) {
            // A failover, a restarted server, a cut network: the next call outside a
            // transaction connects again (nothing was acked from this one).
            m_lost = true;
            m_retry.start();
            qCWarning(lcStore).noquote() << "lost the connection to" << m_location.display();
        }
        return databaseError(e);
    }
    // QPSQL reports only the first result of a text with several statements: a later one that
    // failed shows as a transaction in error, which must fail here, never reach COMMIT (which
    // PostgreSQL would answer with ROLLBACK and no error).
    if (pg_conn *conn = postgresHandle(); conn && PQtransactionStatus(conn) == PQTRANS_INERROR) {
        QString e = QStringLiteral("a statement failed in the transaction");
        while (q.nextResult())
            if (q.lastError().isValid())
                e = q.lastError().text();
        qCWarning(lcStore).noquote() << "query failed:" << e << QStringView(sql).left(400);
        return databaseError(e);
    }
    return q;
}

StoreResult<void> Database::reconnect()
{
    if (m_inTransaction)
        return databaseError(QStringLiteral("the connection to %1 was lost in a transaction").arg(m_location.display()));
    if (m_retry.isValid() && m_retry.elapsed() < 1000)
        return databaseError(QStringLiteral("no connection to %1 (retrying every second)").arg(m_location.display()));
    m_retry.start();
    forgetPartitions();
    m_leader = false;
    m_db.close();
    if (!m_db.open())
        return storeError(StoreError::Kind::NotOpen, QStringLiteral("cannot connect to %1: %2")
                                                             .arg(m_location.display(), m_db.lastError().text().trimmed()));
    m_lost = false;
    if (auto c = configurePostgres(); !c) {
        m_lost = true;
        return c;
    }
    for (const QString &channel : std::as_const(m_channels))
        m_db.driver()->subscribeToNotification(channel);
    qCInfo(lcStore).noquote() << "connected again to" << m_location.display();
    return {};
}

bool Database::subscribe(const QString &channel)
{
    if (!isPostgres() || !m_db.driver()->subscribeToNotification(channel))
        return false;
    if (!m_channels.contains(channel))
        m_channels.append(channel);
    return true;
}

void Database::appendBytea(QString &sql, QByteArrayView bytes)
{
    static constexpr char hex[] = "0123456789abcdef";
    sql.reserve(sql.size() + bytes.size() * 2 + 16);
    sql += QLatin1StringView("'\\x");
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        sql += QLatin1Char(hex[b >> 4]);
        sql += QLatin1Char(hex[b & 15]);
    }
    sql += QLatin1StringView("'::bytea");
}

void Database::appendLiteral(QString &sql, const QVariant &value)
{
    if (value.isNull()) {
        sql += QLatin1StringView("NULL");
        return;
    }
    switch (value.typeId()) {
    case QMetaType::Bool:
        sql += value.toBool() ? QLatin1Char('1') : QLatin1Char('0');
        return;
    case QMetaType::Int:
    case QMetaType::Long:
    case QMetaType::LongLong:
    case QMetaType::Short:
        // In parentheses when negative: "x-?" must not become a "--" comment.
        sql += value.toLongLong() < 0 ? u'(' + QString::number(value.toLongLong()) + u')' : QString::number(value.toLongLong());
        return;
    case QMetaType::UInt:
    case QMetaType::ULong:
    case QMetaType::ULongLong:
    case QMetaType::UShort:
        sql += QString::number(value.toULongLong());
        return;
    case QMetaType::Float:
    case QMetaType::Double: {
        const double d = value.toDouble();
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, d);
        // A double literal, so that min()/max() pick the double overloads.
        sql += QLatin1StringView("float8 '");
        sql += QLatin1StringView(buf, r.ptr - buf);
        sql += QLatin1Char('\'');
        return;
    }
    case QMetaType::QByteArray:
        appendBytea(sql, value.toByteArray());
        return;
    default:
        break;
    }
    QString text = value.toString();
    // PostgreSQL text cannot hold U+0000; an agent's string keeps its length and loses the NUL.
    text.replace(QChar(0), QChar(0xFFFD));
    text.replace(QLatin1Char('\''), QLatin1StringView("''"));
    sql += QLatin1Char('\'');
    sql += text;
    sql += QLatin1Char('\'');
}

QString Database::substituteLiterals(const QString &sql, const QVariantList &binds)
{
    QString out;
    out.reserve(sql.size() + binds.size() * 12);
    qsizetype next = 0;
    bool quoted = false;
    for (qsizetype i = 0; i < sql.size(); ++i) {
        const QChar c = sql[i];
        if (c == u'\'')
            quoted = !quoted;
        if (c != u'?' || quoted) {
            out += c;
            continue;
        }
        // "?" takes the next value, "?N" the N-th (SQLite's numbered form, used by a few parts).
        qsizetype end = i + 1;
        while (end < sql.size() && sql[end].isDigit())
            ++end;
        const qsizetype index = end > i + 1 ? sql.mid(i + 1, end - i - 1).toLongLong() - 1 : next++;
        if (index >= 0 && index < binds.size())
            appendLiteral(out, binds[index]);
        else
            out += QStringView(sql).mid(i, end - i); // a missing value: a syntax error, not a NULL
        i = end - 1;
    }
    return out;
}

pg_conn *Database::postgresHandle() const
{
    if (!m_open || !isPostgres())
        return nullptr;
    const QVariant handle = m_db.driver()->handle();
    // Qt 6 names the type after the struct the PGconn typedef stands for.
    if (!handle.isValid() || (qstrcmp(handle.typeName(), "PGconn*") != 0 && qstrcmp(handle.typeName(), "pg_conn*") != 0)) {
        qCWarning(lcStore) << "the Qt PostgreSQL driver's handle is a" << handle.typeName() << ", not a libpq connection";
        return nullptr;
    }
    return *static_cast<pg_conn *const *>(handle.constData());
}

StoreResult<void> Database::lockClient(qint64 num)
{
    if (!isPostgres())
        return {};
    if (auto q = exec(QStringLiteral("SELECT 1 FROM clients WHERE num = ? FOR UPDATE"), {num}); !q)
        return q.error();
    return {};
}

StoreResult<bool> Database::maintenanceLeader()
{
    if (!isPostgres() || m_leader)
        return true;
    auto got = scalar(QStringLiteral("SELECT pg_try_advisory_lock(8675309, 1)"));
    if (!got)
        return got.error();
    m_leader = got->toBool();
    if (m_leader)
        qCInfo(lcStore) << "this node now seals, purges and evaluates alert rules for the shared store";
    return m_leader;
}

StoreResult<void> Database::precreatePartitions(qint64 nowMs)
{
    if (!isPostgres())
        return {};
    if (auto b = exec(QStringLiteral("BEGIN")); !b)
        return b.error();
    m_inTransaction = true;
    StoreResult<void> made;
    for (int day = 0; day < 3 && made; ++day)
        for (const char *table : {"sample_chunks", "device_chunks"})
            if (made)
                made = ensurePartition(table, nowMs + day * partitionMs);
    auto end = exec(made ? QStringLiteral("COMMIT") : QStringLiteral("ROLLBACK"));
    m_inTransaction = false;
    if (!made) {
        forgetPartitions();
        return made;
    }
    if (!end) {
        forgetPartitions();
        return end.error();
    }
    return {};
}

StoreResult<void> Database::requireLeader()
{
    auto leader = maintenanceLeader();
    if (!leader)
        return leader.error();
    if (!*leader)
        return storeError(StoreError::Kind::Invalid, QStringLiteral("another node does the housekeeping now"));
    return {};
}

StoreResult<void> Database::ensurePartition(const char *table, qint64 windowMs)
{
    if (!m_location.isPostgres())
        return {};
    const bool samples = qstrcmp(table, "sample_chunks") == 0;
    const qint64 day = windowMs >= 0 ? windowMs / partitionMs : -((-windowMs + partitionMs - 1) / partitionMs);
    QSet<qint64> &known = m_partitions[samples ? 0 : 1];
    if (known.contains(day))
        return {};
    const QString name = QStringLiteral("%1_d%2").arg(QLatin1StringView(table)).arg(day < 0 ? QStringLiteral("m%1").arg(-day) : QString::number(day));
    // Nodes may create the same day at once: the advisory lock (released at commit) orders
    // them, and IF NOT EXISTS lets the second one through. Outside a transaction, one of its
    // own holds the lock until the table exists (each statement on its own, so a failure of
    // either is seen).
    std::optional<Transaction> own;
    if (!m_inTransaction) {
        own.emplace(*this);
        if (auto b = own->begin(); !b)
            return b;
    }
    if (auto q = execText(QStringLiteral("SELECT pg_advisory_xact_lock(8675310, %1)").arg(samples ? 1 : 2)); !q)
        return q.error();
    const QString sql = QStringLiteral("CREATE TABLE IF NOT EXISTS %1 PARTITION OF %2 FOR VALUES FROM (%3) TO (%4)")
                                .arg(name, QLatin1StringView(table))
                                .arg(day * partitionMs)
                                .arg((day + 1) * partitionMs);
    if (auto q = execText(sql); !q)
        return q.error();
    if (own)
        if (auto c = own->commit(); !c)
            return c;
    known.insert(day);
    return {};
}

} // namespace autofact::server
