// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <QByteArrayView>
#include <QList>
#include <QSqlDatabase>
#include <QString>
#include <QStringList>

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace autofact::server {

/** How a Store opens its database file. */
struct StoreOptions {
    enum class Mode {
        ReadWrite, ///< create the file if missing, create or migrate the schema (the server)
        ReadOnly,  ///< the file must exist at the current schema version (CLI commands, readers)
    };
    /** What a commit survives; see docs/STORAGE.md. */
    enum class Durability {
        Full,   ///< synchronous=FULL: a committed (and therefore acked) batch survives power loss
        Normal, ///< synchronous=NORMAL: survives kill -9, the last commits may vanish on power loss
    };
    Mode mode = Mode::ReadWrite;
    Durability durability = Durability::Full;
    int busyTimeoutMs = 5000; ///< how long a writer waits for another connection's lock
};

/** Outcome of Store::authenticate(). */
struct AuthResult {
    enum class Outcome {
        NewClient, ///< a new ID and secret were issued
        Returning, ///< known ID, secret verified
        BadSecret, ///< known ID, wrong secret: nothing was written
        Failed,    ///< database error; see reason
    };
    Outcome outcome = Outcome::Failed;
    QString clientId;
    QString issuedSecret;      ///< new clients only; the plaintext is never stored
    quint64 lastSequence = 0;  ///< highest batch sequence stored (or recorded as a gap)
    qint64 connectionId = 0;   ///< row to close with Store::recordDisconnect()
    AgentConfig config;        ///< the client's effective configuration
    QString reason;            ///< human-readable, for logs
};

/**
 * One stored sample as handed to Store::forEachSample() visitors. Views (clientId excepted)
 * point into SQLite's row buffer and are valid only during the visit.
 */
struct StoredSample {
    QString clientId;
    quint64 sequence = 0;
    Sample sample;          ///< coreCount is the number of per-core values
    QByteArrayView coresLE; ///< coreCount little-endian IEEE-754 float32 values
    /** Per-core busy percentage @p index (0 <= index < sample.coreCount). */
    float core(int index) const;
};

/**
 * Minimum and maximum of each charted series over one UTC minute of one client, kept up to
 * date at ingest. Charts over long ranges read these instead of raw samples: a week is 10,080
 * rows instead of 604,800, and min/max per minute keeps every peak a pixel column can show.
 */
struct MinuteRollup {
    enum Series {
        CpuUser,      ///< user + nice, %
        CpuSystem,    ///< system + irq + softirq, %
        CpuIowait,    ///< %
        CpuSteal,     ///< %
        MemUsed,      ///< bytes
        MemCache,     ///< cached + buffers, bytes
        MemAvailable, ///< bytes
        SwapUsed,     ///< swap total - swap free, bytes
        SeriesCount
    };
    qint64 minuteMs = 0; ///< start of the minute, UTC ms
    qint64 firstMs = 0;  ///< first sample in the minute
    qint64 lastMs = 0;   ///< last sample in the minute
    quint32 count = 0;
    double memTotal = 0; ///< largest memory total seen in the minute, bytes
    std::array<double, SeriesCount> min{};
    std::array<double, SeriesCount> max{};

    /** The charted value of @p series for one sample. */
    static double value(const Sample &sample, Series series);
};

/**
 * The server's SQLite storage: client inventory, credentials, connections, sample history,
 * gaps, configuration. Plain, synchronous and single-threaded: each instance owns one
 * connection (a unique QSqlDatabase connection name) and must be used on the thread that
 * opened it. Several instances on different threads or processes may open the same file
 * (WAL mode); only one should write batches.
 */
class Store
{
public:
    struct IngestItem {
        QString clientId;
        const SampleBatch *batch = nullptr;
    };
    struct IngestResult {
        enum class Status {
            Stored,    ///< committed (ack it)
            Duplicate, ///< this (client, sequence) was already stored: ack it again, nothing written
            Failed,    ///< not stored: do not ack
        };
        Status status = Status::Failed;
        quint64 sequence = 0;
    };
    struct ClientInfo {
        QString id;
        QString hostname;
        QString osName;
        QString osVersion;
        QString kernel;
        QString arch;
        QString cpuModel;
        int cpuCount = 0;
        quint64 memTotal = 0;
        qint64 bootTimeMs = 0;
        QString agentVersion;
        qint64 firstSeenMs = 0;
        qint64 lastSeenMs = 0;
        qint64 lastSampleMs = 0; ///< 0: no sample yet
        qint64 connectionCount = 0;
        qint64 sampleCount = 0;
        bool online = false; ///< an open connection row (at last shutdown, for an offline server)
        bool forgotten = false;  ///< credentials wiped by forgetClient(id, false)
        bool hasOverride = false;
        quint32 configRevision = 0;  ///< effective config revision
        quint32 appliedRevision = 0; ///< last revision the agent reported applied
        qint64 appliedMs = 0;
        quint64 droppedTotal = 0;
        quint64 lastSequence = 0;
    };
    struct Gap {
        QString clientId;
        qint64 startMs = 0; ///< previous stored sample (or endMs when there was none)
        qint64 endMs = 0;   ///< first sample after the gap
        QString reason;     ///< "agent offline", "agent dropped N samples", "sequence gap"
        quint64 samplesLost = 0; ///< exact for drops, estimated from the interval otherwise
        quint64 sequenceFirst = 0; ///< sequence gaps only: missing batches, inclusive
        quint64 sequenceLast = 0;
    };

    /** Current schema version (PRAGMA user_version). */
    static constexpr int currentSchemaVersion = 4;

    explicit Store(QString path, StoreOptions options = {});
    ~Store();
    Store(const Store &) = delete;
    Store &operator=(const Store &) = delete;

    /** Opens the file, sets WAL, durability, foreign keys, busy timeout, creates/migrates. */
    bool open(QString *error);
    bool isOpen() const { return m_raw != nullptr; }
    int schemaVersion() const { return m_schemaVersion; }
    QString path() const { return m_path; }

    /**
     * Checks a Hello. Empty or unknown ID: a new client (new ID, new secret). Known ID and
     * right secret: facts updated, a connection row opened. Known ID, wrong secret: BadSecret,
     * the database is not touched.
     */
    AuthResult authenticate(const Hello &hello, const QString &peer, qint64 nowMs);
    /** Closes a connection row opened by authenticate(). */
    void recordDisconnect(qint64 connectionId, qint64 nowMs, const QString &reason);
    /** Closes every open connection row (server start-up and shutdown). */
    void markAllOffline(qint64 nowMs, const QString &reason);

    /**
     * Stores many clients' batches in ONE write transaction. Duplicates (client, sequence)
     * are reported, not stored; gaps are recorded (docs/STORAGE.md). Invalid items (unknown
     * client, core count mismatch, sequence 0) are Failed on their own. If the transaction
     * fails, it is rolled back and every item is Failed.
     */
    std::vector<IngestResult> ingest(std::span<const IngestItem> items, qint64 nowMs,
                                     QString *error);

    /** The default configuration (with its revision). */
    AgentConfig defaultConfig();
    /** Replaces the default; the revision is assigned here (the argument's is ignored). */
    bool setDefaultConfig(const AgentConfig &config);
    /** Sets or (std::nullopt) clears a per-client override; bumps the revision. */
    bool setClientOverride(const QString &clientId, std::optional<AgentConfig> config);
    /** Override if any, else default; revision never decreases across changes. */
    AgentConfig effectiveConfig(const QString &clientId);
    void recordConfigApplied(const QString &clientId, quint32 revision, qint64 nowMs);

    QList<ClientInfo> clients();
    std::optional<ClientInfo> client(const QString &id);
    /**
     * Maps IDs or hostnames to IDs (a hostname matches every client with it, case-insensitive).
     * Unknown entries fail with "unknown client: X". Order kept, duplicates removed.
     */
    QStringList resolveClients(const QStringList &idsOrHostnames, QString *error);
    /**
     * deleteHistory: the client and all its rows go. Otherwise only its credentials are wiped
     * (it must enrol again, under a new ID) and its history stays exportable.
     */
    bool forgetClient(const QString &id, bool deleteHistory);

    /** Gaps of @p clientId (all clients if empty) whose end lies in [fromMs, toMs). */
    QList<Gap> gaps(const QString &clientId, qint64 fromMs = std::numeric_limits<qint64>::min(),
                    qint64 toMs = std::numeric_limits<qint64>::max());

    /**
     * Streams samples with fromMs <= timestamp < toMs, client by client in the given order
     * (all clients by ID if empty), ascending time within a client. The visitor returns
     * false to stop early (the call then still returns true). Nothing is collected.
     * Not re-entrant: the visitor must not call forEachSample() on the same Store.
     */
    bool forEachSample(const QStringList &clientIds, qint64 fromMs, qint64 toMs,
                       const std::function<bool(const StoredSample &)> &visit, QString *error);
    /**
     * Streams the minute rollups of @p clientId whose minute starts in [fromMs, toMs), in time
     * order. Same visitor rules as forEachSample().
     */
    bool forEachMinute(const QString &clientId, qint64 fromMs, qint64 toMs,
                       const std::function<bool(const MinuteRollup &)> &visit, QString *error);
    /**
     * About how many samples forEachSample() would visit, from the minute rollups (whole
     * minutes at both edges): cheap enough for progress bars on any history; -1 on error.
     */
    qint64 estimateSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs);
    /** Number of samples forEachSample() would visit; -1 on error. */
    qint64 countSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs);

    /** Main file plus WAL. */
    qint64 databaseSizeBytes();

private:
    bool configure(QString *error);
    bool migrate(QString *error);
    bool prepareStatements(QString *error);
    void finalizeStatements();
    bool execRaw(const char *sql, QString *error);
    QString rawError() const;
    /** Returns false when the whole transaction must be rolled back. */
    bool ingestOne(const IngestItem &item, qint64 nowMs, IngestResult &result, QString *error);
    bool upsertMinute(qint64 clientNum, const MinuteRollup &rollup, QString *error);
    bool insertGap(qint64 clientNum, qint64 startMs, qint64 endMs, const QString &reason,
                   quint64 samplesLost, quint64 seqFirst, quint64 seqLast, qint64 nowMs,
                   QString *error);
    std::optional<qint64> clientNum(const QString &id);
    AgentConfig storedDefault(bool *ok);
    AuthResult enrol(const Hello &hello, const QString &peer, qint64 nowMs, const QString &why);
    bool bumpConfigCounter(quint32 *revision);
    QList<ClientInfo> queryClients(const QString &whereId);

    QString m_path;
    StoreOptions m_options;
    QString m_connectionName;
    QSqlDatabase m_db;
    sqlite3 *m_raw = nullptr;
    int m_schemaVersion = 0;

    // Hot-path statements, prepared once (SQLITE_PREPARE_PERSISTENT).
    sqlite3_stmt *m_selClient = nullptr;
    sqlite3_stmt *m_selBatch = nullptr;
    sqlite3_stmt *m_insBatch = nullptr;
    sqlite3_stmt *m_insSample = nullptr;
    sqlite3_stmt *m_insGap = nullptr;
    sqlite3_stmt *m_updClient = nullptr;
    sqlite3_stmt *m_selSamples = nullptr;
    sqlite3_stmt *m_upsMinute = nullptr;
    sqlite3_stmt *m_selMinutes = nullptr;
    /// Reused on big-endian hosts to convert per-core values; empty elsewhere.
    std::vector<std::uint32_t> m_coreScratch;
};

} // namespace autofact::server
