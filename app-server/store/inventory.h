// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"
#include "storetypes.h"

#include <QList>
#include <QStringList>

namespace autofact::server {

class ConfigStore;
class Database;

/** The clients the server knows: listing, lookup by ID or hostname, forgetting. */
class Inventory
{
public:
    Inventory(Database &db, ConfigStore &configs) : m_db(db), m_configs(configs) {}

    /** Every client, ordered by ID. */
    StoreResult<QList<ClientInfo>> clients();
    /** One client; NotFound when there is none. */
    StoreResult<ClientInfo> client(const QString &id);
    /**
     * Maps IDs or hostnames to IDs (a hostname matches every client with it, case-insensitive).
     * Unknown entries fail with NotFound "unknown client: X". Order kept, duplicates removed.
     */
    StoreResult<QStringList> resolveClients(const QStringList &idsOrHostnames);
    /**
     * deleteHistory: the client and all its rows go. Otherwise only its credentials are wiped
     * (it must enrol again, under a new ID) and its history stays exportable.
     */
    StoreResult<void> forgetClient(const QString &id, bool deleteHistory, qint64 nowMs);
    /** The row key of client @p id; NotFound when there is none. */
    StoreResult<qint64> clientNum(const QString &id);
    /** Row keys of every client, ordered by ID. */
    StoreResult<QList<std::pair<QString, qint64>>> allClientNums();

private:
    StoreResult<QList<ClientInfo>> query(const QString &whereClause, const QVariantList &binds);

    Database &m_db;
    ConfigStore &m_configs;
};

} // namespace autofact::server
