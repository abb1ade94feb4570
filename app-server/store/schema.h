// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"

namespace autofact::server {

class Database;
class Transaction;

/**
 * The database schema as a table of versioned steps (PRAGMA user_version). A fresh database
 * is built by the same steps an old one is migrated by, so the upgrade path runs on every
 * install. Migrations only go forward; a newer database than this build is refused.
 */
class Schema
{
public:
    static constexpr int currentVersion = 11;

    /**
     * Read-write: creates or migrates to currentVersion in one write transaction (another
     * process may have migrated meanwhile: the version is read again under the lock).
     * Read-only: checks the version and migrates nothing. Returns the version in force.
     */
    static StoreResult<int> migrate(Database &db);

private:
    static StoreResult<int> migratePostgres(Database &db, Transaction &txn, int from);
};

} // namespace autofact::server
