// SPDX-License-Identifier: MIT
#pragma once

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QString>
#include <QVariantList>

namespace autofact::testdata {

/**
 * Reads a SQLite file (the server's database, an agent's spool) through its own connection,
 * so tests can check what was stored row by row. WAL lets it read while a server writes.
 */
class SqlReader
{
public:
    explicit SqlReader(const QString &path, bool readOnly = true)
        : m_name(QStringLiteral("test-reader-%1").arg(++s_counter))
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        db.setDatabaseName(path);
        if (readOnly)
            db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY"));
        db.open();
    }
    ~SqlReader()
    {
        QSqlDatabase::database(m_name, false).close();
        QSqlDatabase::removeDatabase(m_name);
    }
    SqlReader(const SqlReader &) = delete;
    SqlReader &operator=(const SqlReader &) = delete;

    /** Every row of @p sql, every column as a QVariant; empty on error. */
    QList<QVariantList> rows(const QString &sql) const
    {
        QList<QVariantList> out;
        QSqlQuery q(QSqlDatabase::database(m_name, false));
        if (!q.exec(sql))
            return out;
        while (q.next()) {
            QVariantList row;
            for (int i = 0; i < q.record().count(); ++i)
                row.append(q.value(i));
            out.append(row);
        }
        return out;
    }

    /** First column of the first row, or -1 (on error or no row). */
    qint64 scalar(const QString &sql) const
    {
        const QList<QVariantList> r = rows(sql);
        return r.isEmpty() ? -1 : r.first().value(0).toLongLong();
    }

    /** Every row of every table as text: equal dumps mean an unchanged database. */
    QString dump() const
    {
        QStringList tables = QSqlDatabase::database(m_name, false).tables();
        tables.sort();
        QString out;
        for (const QString &t : tables) {
            for (const QVariantList &row : rows(QStringLiteral("SELECT * FROM %1").arg(t))) {
                out += t + u':';
                for (const QVariant &v : row)
                    out += v.toString() + u'|';
                out += u'\n';
            }
        }
        return out;
    }

private:
    static inline int s_counter = 0;
    QString m_name;
};

} // namespace autofact::testdata
