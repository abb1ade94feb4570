// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringList>

#include <optional>

namespace autofact::server {

/**
 * Where a store lives: an SQLite file path (the embedded default) or a PostgreSQL server named
 * by a libpq URI, `postgresql://USER@HOST:PORT/DBNAME[?key=value&...]`, where HOST:PORT may be
 * a comma-separated list (`h1:5432,h2:5432`, with `target_session_attrs=read-write` to connect
 * to whichever is the primary, as libpq does). A password in the URI
 * is refused: it would show in `ps` and shell history; libpq reads it from PGPASSWORD or
 * ~/.pgpass instead.
 */
struct StoreLocation {
    enum class Kind { SqliteFile, Postgres };
    Kind kind = Kind::SqliteFile;
    QString path;       ///< the SQLite file
    QString user;       ///< PostgreSQL: empty means libpq's default (PGUSER, then the login name)
    QString host;       ///< empty: libpq's default (PGHOST, then the local socket); a list: "h1,h2"
    int port = -1;      ///< -1: libpq's default, or one per host in options ("port=5432,5433")
    QStringList hostPorts; ///< several hosts: each "HOST[:PORT]" as given, for display()
    QString database;   ///< empty: libpq's default
    QStringList options; ///< "key=value" connection options (sslmode, connect_timeout, ...)

    bool isPostgres() const { return kind == Kind::Postgres; }
    /** The URI or path as given, for messages (never contains a password). */
    QString display() const;

    /** True for text that names a PostgreSQL server rather than a file. */
    static bool looksLikePostgres(const QString &text);
    /** Parses a path or URI; std::nullopt with @p error set for a bad URI. */
    static std::optional<StoreLocation> parse(const QString &text, QString *error);
};

} // namespace autofact::server
