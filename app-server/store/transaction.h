// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"

namespace autofact::server {

class Database;

/**
 * A write transaction on a Database: BEGIN IMMEDIATE ... COMMIT, rolled back when destroyed
 * uncommitted. IMMEDIATE takes the write lock at once: a deferred transaction that later
 * writes can fail with SQLITE_BUSY without waiting for the busy timeout.
 */
class Transaction
{
public:
    explicit Transaction(Database &db) : m_db(db) {}
    ~Transaction();
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;

    StoreResult<void> begin();
    StoreResult<void> commit();

private:
    Database &m_db;
    bool m_active = false;
};

} // namespace autofact::server
