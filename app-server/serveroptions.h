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

/** Runs `autofactory clients` / `autofactory export`; @p arguments start at the sub-command. */
int runSubcommand(const QStringList &arguments);

} // namespace autofact::server
