// SPDX-License-Identifier: MIT
#pragma once

#include "minuterollup.h"
#include "samplereader.h"
#include "schema.h"
#include "storeresult.h"
#include "storetypes.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace autofact::server {

class ConfigStore;
class Database;
class Enrolment;
class History;
class Ingest;
class IngestWriter;
class Inventory;

/**
 * The server's storage, as one small facade over its parts (app-server/store/):
 * Database (the Qt Sql connection) and Schema (migrations); Enrolment (credentials and
 * connections); Ingest (batches, with GapDetector's rules); ConfigStore (agent behaviour);
 * Inventory (clients); History (samples, rollups, gaps). Every call returns a StoreResult:
 * a failed read is an error, never an empty answer.
 *
 * Plain, synchronous and single-threaded: an instance owns one connection and must be used
 * on the thread that opened it. Several instances on different threads or processes may open
 * the same file (WAL); only one should write batches (the server's StoreWorker).
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

    /** Opens the database, creates or migrates the schema, prepares the hot path. */
    StoreResult<void> open();
    bool isOpen() const { return m_parts != nullptr; }
    int schemaVersion() const { return m_schemaVersion; }
    QString path() const { return m_path; }

    // --- enrolment (Enrolment) ---
    StoreResult<AuthResult> authenticate(const Hello &hello, const QString &peer, qint64 nowMs);
    StoreResult<void> recordDisconnect(qint64 connectionId, qint64 nowMs, const QString &reason);
    StoreResult<int> markAllOffline(qint64 nowMs, const QString &reason);

    // --- ingest (Ingest) ---
    StoreResult<std::vector<IngestResult>> ingest(std::span<const IngestItem> items, qint64 nowMs);

    // --- agent behaviour (ConfigStore) ---
    StoreResult<AgentConfig> defaultConfig();
    StoreResult<quint32> setDefaultConfig(const AgentConfig &config);
    StoreResult<quint32> setClientOverride(const QString &clientId, std::optional<AgentConfig> config);
    StoreResult<AgentConfig> effectiveConfig(const QString &clientId);
    StoreResult<void> recordConfigApplied(const QString &clientId, quint32 revision, qint64 nowMs);

    // --- inventory (Inventory) ---
    StoreResult<QList<ClientInfo>> clients();
    StoreResult<ClientInfo> client(const QString &id);
    StoreResult<QStringList> resolveClients(const QStringList &idsOrHostnames);
    StoreResult<void> forgetClient(const QString &id, bool deleteHistory, qint64 nowMs);

    // --- history (History) ---
    StoreResult<QList<Gap>> gaps(const QString &clientId,
                                 qint64 fromMs = std::numeric_limits<qint64>::min(),
                                 qint64 toMs = std::numeric_limits<qint64>::max());
    StoreResult<void> forEachSample(const QStringList &clientIds, qint64 fromMs, qint64 toMs,
                                    const SampleReader::SampleVisitor &visit);
    StoreResult<void> forEachMinute(const QString &clientId, qint64 fromMs, qint64 toMs,
                                    const SampleReader::MinuteVisitor &visit);
    StoreResult<qint64> estimateSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs);
    StoreResult<qint64> countSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs);
    StoreResult<qint64> databaseSizeBytes();

private:
    struct Parts;

    QString m_path;
    StoreOptions m_options;
    std::unique_ptr<Parts> m_parts;
    int m_schemaVersion = 0;
};

} // namespace autofact::server
