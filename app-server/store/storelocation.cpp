// SPDX-License-Identifier: MIT
#include "storelocation.h"

#include <QUrl>
#include <QUrlQuery>

#include <algorithm>

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
    if (!hostPorts.isEmpty()) {
        s += hostPorts.join(u',');
    } else {
        s += host.contains(u':') ? u'[' + host + u']' : host;
        if (port >= 0)
            s += u':' + QString::number(port);
    }
    s += u'/' + database;
    return s;
}

namespace {

/** One "HOST[:PORT]" of a host list ("[v6]:PORT" for IPv6); false if malformed. */
bool splitHostPort(const QString &entry, QString *host, QString *port)
{
    QString rest;
    if (entry.startsWith(u'[')) {
        const qsizetype close = entry.indexOf(u']');
        if (close < 0)
            return false;
        *host = entry.mid(1, close - 1);
        rest = entry.mid(close + 1);
    } else {
        const qsizetype colon = entry.indexOf(u':');
        *host = colon < 0 ? entry : entry.left(colon);
        rest = colon < 0 ? QString() : entry.mid(colon);
    }
    if (host->isEmpty())
        return false;
    *port = rest.isEmpty() ? QString() : rest.mid(1);
    if (!rest.isEmpty() && (!rest.startsWith(u':') || port->isEmpty()))
        return false;
    bool ok = true;
    const int n = port->isEmpty() ? 0 : port->toInt(&ok);
    if (!ok || n < 0 || n > 65535)
        return false;
    // The host goes to libpq as a conninfo value: no separators of its own.
    static const QString forbidden = QStringLiteral(",;'\\ =/?#@");
    return std::none_of(host->cbegin(), host->cend(), [](QChar c) { return forbidden.contains(c); });
}

} // namespace

std::optional<StoreLocation> StoreLocation::parse(const QString &text, QString *error)
{
    StoreLocation location;
    if (!looksLikePostgres(text)) {
        location.path = text;
        return location;
    }
    // QUrl takes one host; libpq takes a list ("h1:5432,h2:5432"). A list is taken apart here
    // and the rest of the URI parsed with the first host in its place.
    const qsizetype schemeEnd = text.indexOf(u"://") + 3;
    qsizetype authorityEnd = text.size();
    for (const QChar stop : {u'/', u'?', u'#'})
        if (const qsizetype at = text.indexOf(stop, schemeEnd); at >= 0)
            authorityEnd = std::min(authorityEnd, at);
    const QString authority = text.mid(schemeEnd, authorityEnd - schemeEnd);
    const qsizetype at = authority.lastIndexOf(u'@');
    const QString hostList = authority.mid(at + 1);
    QStringList hosts, ports;
    if (hostList.contains(u',')) {
        for (const QString &entry : hostList.split(u',')) {
            QString h, p;
            if (!splitHostPort(entry, &h, &p)) {
                *error = QStringLiteral("not a PostgreSQL URI: bad host in the list \"%1\" (HOST[:PORT],HOST[:PORT],...)")
                                 .arg(entry);
                return std::nullopt;
            }
            hosts << h;
            ports << p;
            location.hostPorts << entry;
        }
    }
    const QString single = hosts.isEmpty() ? text
                                            : text.left(schemeEnd) + authority.left(at + 1) + location.hostPorts.first()
                                                      + text.mid(authorityEnd);
    const QUrl url(single, QUrl::StrictMode);
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
    if (!hosts.isEmpty()) {
        location.host = hosts.join(u',');
        location.port = -1;
        // One port per host (an empty one: libpq's default), after QPSQL's own port option.
        if (std::any_of(ports.cbegin(), ports.cend(), [](const QString &p) { return !p.isEmpty(); }))
            location.options << QStringLiteral("port=") + ports.join(u',');
    }
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
