// SPDX-License-Identifier: MIT
#include "storelocation.h"

#include <QUrl>
#include <QUrlQuery>

namespace autofact::server {

bool StoreLocation::looksLikePostgres(const QString &text)
{
    return text.startsWith(u"postgresql://") || text.startsWith(u"postgres://");
}

QString StoreLocation::display() const
{
    if (!isPostgres())
        return path;
    QString s = QStringLiteral("postgresql://");
    if (!user.isEmpty())
        s += user + u'@';
    s += host;
    if (port >= 0)
        s += u':' + QString::number(port);
    s += u'/' + database;
    return s;
}

std::optional<StoreLocation> StoreLocation::parse(const QString &text, QString *error)
{
    StoreLocation location;
    if (!looksLikePostgres(text)) {
        location.path = text;
        return location;
    }
    const QUrl url(text, QUrl::StrictMode);
    if (!url.isValid()) {
        *error = QStringLiteral("not a PostgreSQL URI (postgresql://USER@HOST:PORT/DBNAME): %1").arg(url.errorString());
        return std::nullopt;
    }
    if (!url.password().isEmpty()) {
        *error = QStringLiteral("a password in the database URI would show in process lists; "
                                "give it through PGPASSWORD or ~/.pgpass");
        return std::nullopt;
    }
    if (url.hasFragment()) {
        *error = QStringLiteral("the database URI has a fragment (#...), which libpq does not accept");
        return std::nullopt;
    }
    location.kind = Kind::Postgres;
    location.user = url.userName();
    location.host = url.host();
    location.port = url.port(-1);
    QString db = url.path();
    if (db.startsWith(u'/'))
        db.remove(0, 1);
    if (db.contains(u'/')) {
        *error = QStringLiteral("the database URI's path must be one database name: %1").arg(db);
        return std::nullopt;
    }
    location.database = db;
    const QUrlQuery query(url);
    for (const auto &[key, value] : query.queryItems(QUrl::FullyDecoded)) {
        if (key == u"password") {
            *error = QStringLiteral("a password in the database URI would show in process lists; "
                                    "give it through PGPASSWORD or ~/.pgpass");
            return std::nullopt;
        }
        // Qt's QPSQL passes these to libpq as "key=value" pairs separated by ';'.
        if (key.isEmpty() || value.contains(u';') || value.contains(u' ') || key.contains(u'=')) {
            *error = QStringLiteral("unsupported option in the database URI: %1").arg(key);
            return std::nullopt;
        }
        location.options << key + u'=' + value;
    }
    return location;
}

} // namespace autofact::server
