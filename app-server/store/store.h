// SPDX-License-Identifier: MIT
#pragma once

#include "alertstore.h"
#include "chunksealer.h"
#include "devicehistory.h"
#include "configstore.h"
#include "enrolment.h"
#include "enrolmenttokens.h"
#include "history.h"
#include "ingest.h"
#include "inventory.h"
#include "minuterollup.h"
#include "retention.h"
#include "schema.h"
#include "storeresult.h"
#include "storetypes.h"

#include <QString>

#include <memory>

namespace autofact::server {

class Database;

/**
 * The server's storage: one connection and its parts (app-server/store/), each with one job:
 *
 * | part          | job                                                       |
 * |---------------|-----------------------------------------------------------|
 * | enrolment()   | credentials, "welcome back", connection rows              |
 * | tokens()      | enrolment tokens: create, list, revoke, spend             |
 * | ingest()      | batches in group commits, with GapDetector's rules        |
 * | configs()     | agent behaviour: default, overrides, revisions            |
 * | inventory()   | the clients: list, lookup by ID or hostname, forget       |
 * | history()     | samples, minute rollups, gaps, counts                     |
 * | alerts()      | alert rules, firings, notifiers, repeat interval          |
 * | retention()   | how long each tier is kept, the size budget, purging      |
 * | sealer()      | raw samples from the head table into compact chunks       |
 *
 * Every call of every part returns a StoreResult: a failed read is an error, never an empty
 * answer. Before open() succeeded, every call fails with StoreError::Kind::NotOpen.
 *
 * Plain, synchronous and single-threaded: an instance owns one connection and must be used
 * on the thread that opened it. Several instances on different threads or processes may open
 * the same file (WAL); only one should write (the server's StoreWorker).
 */
class Store
{
public:
    using ClientInfo = server::ClientInfo;
    using Gap = server::Gap;
    using IngestItem = server::IngestItem;
    using IngestResult = server::IngestResult;

    /** Current schema version (PRAGMA user_version). */
    static constexpr int currentSchemaVersion = Schema::currentVersion;

    explicit Store(QString path, StoreOptions options = {});
    ~Store();
    Store(const Store &) = delete;
    Store &operator=(const Store &) = delete;

    /** Opens the database, creates or migrates the schema, prepares the backend's hot path. */
    StoreResult<void> open();
    bool isOpen() const;
    int schemaVersion() const { return m_schemaVersion; }
    QString path() const { return m_path; }

    Enrolment &enrolment();
    EnrolmentTokens &tokens();
    Ingest &ingest();
    ConfigStore &configs();
    Inventory &inventory();
    History &history();
    AlertStore &alerts();
    Retention &retention();
    ChunkSealer &sealer();
    /** Device readings (filesystems, disks, network, temperatures). */
    DeviceHistory &devices();

    /** Whether the location is a PostgreSQL server (shared by several nodes). */
    bool isShared() const;
    /** Whether this instance does housekeeping (Database::maintenanceLeader). */
    StoreResult<bool> maintenanceLeader();
    /** The connection, for LISTEN/NOTIFY on a shared store. */
    Database &database();

private:
    struct Parts;

    QString m_path;
    std::unique_ptr<Parts> m_parts;
    int m_schemaVersion = 0;
};

} // namespace autofact::server
