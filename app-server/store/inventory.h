// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"
#include "storetypes.h"

#include <QHash>
#include <QList>
#include <QStringList>

namespace autofact::server {

class ConfigStore;
class Database;

/** The clients the server knows: listing, lookup by ID or hostname, forgetting. */
class ChunkSealer;
class SampleReader;

class Inventory
{
public:
    Inventory(Database &db, ConfigStore &configs) : m_db(db), m_configs(configs) {}
    /** The chunk sealer, set once the database is open: merges turn chunks back into rows. */
    void setSealer(ChunkSealer *sealer) { m_sealer = sealer; }
    /** The backend's sample reader, set once the database is open (merges find where identities meet). */
    void setReader(SampleReader *reader) { m_reader = reader; }

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
    /** The group of every client in one. */
    StoreResult<QHash<QString, QString>> groupMembership();
    /** Groups with at least one member or a behaviour override, ordered by name. */
    StoreResult<QList<GroupInfo>> groups();
    /**
     * Joins the history of @p oldId (forgotten, not connected) to @p newId: samples, batches,
     * gaps, connections, minute rollups, alerts and alert overrides move; samples both
     * identities stored (same sequence and time) are kept once (the new one's); the time
     * between the two is recorded as a "re-enrolled" gap when batches are missing or it lasted
     * more than 30 s; the old behaviour override and group are kept when the new one has none;
     * then @p oldId is gone. Invalid when the old client could still connect.
     *
     * Three steps, each its own transaction, so a server can ingest between them: beginMerge()
     * (checks, duplicates out), moveMergeSlice() until it moves nothing, finishMerge(). Every
     * step leaves the database consistent; interrupted, the merge is simply run again.
     */
    StoreResult<MergeResult> mergeClients(const QString &oldId, const QString &newId, qint64 nowMs,
                                          int sliceRows = 20000);
    StoreResult<MergeJob> beginMerge(const QString &oldId, const QString &newId);
    /** Moves up to @p rows samples; returns how many (0: none left). */
    StoreResult<quint64> moveMergeSlice(MergeJob &job, int rows);
    StoreResult<MergeResult> finishMerge(MergeJob &job, qint64 nowMs);
    /** The row key of client @p id; NotFound when there is none. */
    StoreResult<qint64> clientNum(const QString &id);
    /** Row keys of every client, ordered by ID. */
    StoreResult<QList<std::pair<QString, qint64>>> allClientNums();

private:
    StoreResult<QList<ClientInfo>> query(const QString &whereClause, const QVariantList &binds);

    Database &m_db;
    ChunkSealer *m_sealer = nullptr;
    SampleReader *m_reader = nullptr;
    ConfigStore &m_configs;
};

} // namespace autofact::server
