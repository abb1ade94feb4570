// SPDX-License-Identifier: MIT
#pragma once

// Tests that run against a real PostgreSQL server as well as SQLite. tests/with-postgres.sh
// starts a throwaway PostgreSQL 15 cluster and sets AUTOFACT_TEST_POSTGRES to a libpq URI of
// its admin database; each test gets a database of its own. Needs Qt Sql and server_store.

#include "store/storelocation.h"

#include <QCoreApplication>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QString>

namespace autofact::testing {

/** The admin URI, or empty when the tests run on SQLite only. */
inline QString postgresAdminUri()
{
    return qEnvironmentVariable("AUTOFACT_TEST_POSTGRES");
}

/** An open QPSQL connection named @p name to @p uri (close and remove it when done). */
inline QSqlDatabase openPostgres(const QString &uri, const QString &name)
{
    QString error;
    const auto location = server::StoreLocation::parse(uri, &error);
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), name);
    if (!location)
        return db;
    if (!location->host.isEmpty())
        db.setHostName(location->host);
    if (location->port >= 0)
        db.setPort(location->port);
    if (!location->user.isEmpty())
        db.setUserName(location->user);
    db.setDatabaseName(location->database);
    db.open();
    return db;
}

/** Creates an empty database on the test server and returns its URI (empty on failure). */
inline QString newPostgresDatabase()
{
    static int counter = 0;
    const QString admin = postgresAdminUri();
    if (admin.isEmpty())
        return {};
    const QString dbName = QStringLiteral("t%1_%2").arg(QCoreApplication::applicationPid()).arg(++counter);
    const QString connection = QStringLiteral("autofact.test.admin");
    bool ok = false;
    {
        QSqlDatabase db = openPostgres(admin, connection);
        if (db.isOpen()) {
            QSqlQuery q(db);
            ok = q.exec(QStringLiteral("CREATE DATABASE %1").arg(dbName));
            if (!ok)
                qWarning() << "CREATE DATABASE failed:" << q.lastError().text();
        } else {
            qWarning() << "cannot connect to" << admin << db.lastError().text();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(connection);
    if (!ok)
        return {};
    QString uri = admin;
    const qsizetype slash = uri.indexOf(u'/', uri.indexOf(u"://") + 3);
    const qsizetype query = uri.indexOf(u'?');
    uri = uri.left(slash) + u'/' + dbName + (query >= 0 ? uri.mid(query) : QString());
    return uri;
}

} // namespace autofact::testing
