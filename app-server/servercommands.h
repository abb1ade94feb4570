// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QStringList>

#include <optional>

class QTextStream;

/**
 * @file servercommands.h
 * The logic behind `autofactory clients`, `export`, `token` and `revoke`, called by
 * runSubcommand() (serveroptions.cpp) once it has parsed the sub-command's command line.
 * clients and export open the database read-only and never create it; token and revoke write
 * (a running server sees their changes: revocations within 5 s).
 * Exit codes: 0 success, 2 any error (one line on @p err).
 */
namespace autofact::server {

/**
 * Lists every known client: ID, hostname, OS, first and last seen (UTC), connection and
 * sample counts, online/offline as last recorded. An aligned table, or a JSON array when
 * @p json is set.
 */
int runClientsCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err);

/** `autofactory token create`: prints the token alone on one line of @p out. */
int runTokenCreateCommand(const QString &dbPath, int uses, qint64 validForMs, const QString &label,
                          QTextStream &out, QTextStream &err);
/** `autofactory token list`. */
int runTokenListCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err);
/** `autofactory token revoke TOKEN-ID`. */
int runTokenRevokeCommand(const QString &dbPath, const QString &tokenId, QTextStream &out, QTextStream &err);
/** `autofactory revoke CLIENT`. */
int runRevokeCommand(const QString &dbPath, const QString &client, QTextStream &out, QTextStream &err);

/**
 * `autofactory storage`: the file size and, per tier (raw, minutes, hours), rows, bytes,
 * oldest and newest, with the retention settings; a table or JSON.
 */
int runStorageCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err);

/** `autofactory group set NAME CLIENT...` (@p group non-empty) and `group clear CLIENT...` (empty). */
int runGroupSetCommand(const QString &dbPath, const QString &group, const QStringList &clients, QTextStream &out,
                       QTextStream &err);
/** `autofactory group list`: groups with their member counts and whether they set behaviour. */
int runGroupListCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err);
/** `autofactory merge OLD-CLIENT NEW-CLIENT`: Inventory::mergeClients, with what it did. */
int runMergeCommand(const QString &dbPath, const QString &oldClient, const QString &newClient, QTextStream &out,
                    QTextStream &err);

/**
 * Writes CSV (docs/STORAGE.md) for @p clients (IDs or hostnames; empty: all) with
 * from <= timestamp < to. @p from / @p to: ISO 8601 or relative (-1h), empty: unbounded.
 * @p outPath "-" or empty: stdout; a file is written atomically (complete or not at all).
 * @p table: samples (empty: the same), filesystems, disks, network or temperatures.
 */
int runExportCommand(const QString &dbPath, const QStringList &clients, const QString &from,
                     const QString &to, const QString &outPath, const QString &table, QTextStream &err);

/** `autofactory alerts`: active alerts, or with @p all the history (newest first). */
int runAlertsCommand(const QString &dbPath, bool json, bool all, QTextStream &out, QTextStream &err);

/** `autofactory notify add webhook URL` / `notify add command CMD` (@p kind "webhook" or "command"). */
int runNotifyAddCommand(const QString &dbPath, const QString &kind, const QString &target, QTextStream &out,
                        QTextStream &err);
/** `autofactory notify list`. */
int runNotifyListCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err);
/** `autofactory notify remove ID`. */
int runNotifyRemoveCommand(const QString &dbPath, qint64 id, QTextStream &out, QTextStream &err);
/**
 * `autofactory notify test [ID]`: a test notification to one channel or all, one attempt
 * each, sent from this process; one line per channel; exit 2 if any failed.
 */
int runNotifyTestCommand(const QString &dbPath, std::optional<qint64> id, QTextStream &out, QTextStream &err);

} // namespace autofact::server
