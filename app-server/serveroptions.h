// SPDX-License-Identifier: MIT
#pragma once

#include "servercore.h"

#include <QStringList>

#include <optional>

namespace autofact::server {

/** What `autofactory [serve options]` asked for, parsed and checked. */
struct ServeCommand {
    ServerCore::Options core;
    bool headless = false;
    bool insecure = false;    ///< --insecure-ws: plain ws://
    QString createdIdentity;  ///< key file prepareTls() created on this start (empty: none)
};

/** Default database: autofactory.db in the platform's app-data location. */
QString defaultDatabasePath();

/**
 * Parses the serving command line (not the clients/export sub-commands). Returns std::nullopt
 * with a one-line @p error for bad flags; prints --help/--version itself and sets
 * @p exitNow when the process should end with exit code 0.
 */
std::optional<ServeCommand> parseServeCommand(const QStringList &arguments, QString *error,
                                              bool *exitNow);

/**
 * Sets up wss:// unless --insecure-ws or --tls-cert said otherwise: loads the server's own key
 * and certificate from beside the database, creating them on the first start. False with a
 * one-line @p error if they cannot be read or made.
 */
bool prepareTls(ServeCommand &command, QString *error);

/** True if @p name is a sub-command (clients, export, token, revoke). */
bool isSubcommand(const QString &name);

/**
 * Runs `autofactory clients|export|token|revoke`; @p arguments start at the program name.
 */
int runSubcommand(const QStringList &arguments);

} // namespace autofact::server
