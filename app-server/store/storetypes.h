// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <QByteArrayView>
#include <QString>

namespace autofact::server {

/** How a Store opens its database. */
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
    /// PostgreSQL: the connection's application_name, how nodes see each other alive
    /// (pg_stat_activity). Empty: "autofact".
    QString applicationName = {};
};

/** What Store::authenticate() decided about a Hello. Database failures are StoreErrors. */
struct AuthResult {
    enum class Outcome {
        NewClient, ///< a new ID and secret were issued
        Returning, ///< known ID, secret verified
        BadSecret, ///< known ID, wrong secret: nothing was written
        EnrolmentRefused, ///< unknown agent without a valid token: nothing was written
        Revoked,   ///< known ID, right secret, but the client is revoked: nothing was written
    };
    Outcome outcome = Outcome::BadSecret;
    QString clientId;
    QString issuedSecret;      ///< new clients only; the plaintext is never stored
    quint64 lastSequence = 0;  ///< highest batch sequence stored (or recorded as a gap)
    qint64 connectionId = 0;   ///< row to close with Store::recordDisconnect()
    AgentConfig config;        ///< the client's effective configuration
    QString reason;            ///< human-readable, for logs
};

/**
 * One client of the inventory, as the table, `autofactory clients` and the export see it: the
 * facts its agent last sent, and what the server knows of it.
 */
struct ClientInfo : SystemFacts {
    QString id;
    qint64 firstSeenMs = 0;
    qint64 lastSeenMs = 0;
    qint64 lastSampleMs = 0; ///< 0: no sample yet
    qint64 connectionCount = 0;
    qint64 sampleCount = 0;
    bool online = false;     ///< an open connection row (at last shutdown, for an offline server)
    bool forgotten = false;  ///< credentials wiped by forgetClient(id, false)
    qint64 blockedMs = 0;    ///< revoked at (0: not revoked); its secret no longer works
    bool hasOverride = false;
    quint32 configRevision = 0;  ///< effective config revision
    quint32 appliedRevision = 0; ///< last revision the agent reported applied
    qint64 appliedMs = 0;
    quint64 droppedTotal = 0;
    quint64 lastSequence = 0;
    QString groupName;  ///< empty: in no group
    /**
     * The ID its agent presented when this identity was issued (the old one was forgotten or
     * unknown): the history `autofactory merge` can join to this one. Empty for a new agent.
     */
    QString previousId;
};

/** One group as `autofactory group list` and the dashboard show it. */
struct GroupInfo {
    QString name;
    int members = 0;
    bool hasConfigOverride = false;
};

/** What Inventory::mergeClients() did. */
struct MergeResult {
    quint64 samplesMoved = 0;
    quint64 duplicateSamples = 0; ///< the old identity's copies of batches the new one also stored: removed
    quint64 batchesMoved = 0;
    quint64 gapsMoved = 0;
    quint64 alertsMoved = 0;
    bool gapRecorded = false; ///< the time between the identities was recorded as a gap
};

/** A merge in progress (Inventory::beginMerge). */
struct MergeJob {
    QString oldId;
    QString newId;
    qint64 oldNum = 0;
    qint64 newNum = 0;
    MergeResult result;
};

/** A recorded hole in a client's history, with its reason. */
struct Gap {
    QString clientId;
    qint64 startMs = 0; ///< previous stored sample (or endMs when there was none)
    qint64 endMs = 0;   ///< first sample after the gap
    QString reason;     ///< "agent offline", "agent dropped N samples", "sequence gap", "agent stalled (54 s)", "sampling late (3 s)"
    quint64 samplesLost = 0;   ///< exact for drops, estimated from the interval otherwise
    quint64 sequenceFirst = 0; ///< sequence gaps only: missing batches, inclusive
    quint64 sequenceLast = 0;
};

/** One batch handed to Store::ingest(). */
struct IngestItem {
    QString clientId;
    const SampleBatch *batch = nullptr;
    /**
     * The client's previous batch came over this same connection: the agent process lived
     * through any silence since, so a silence is a stall ("agent stalled"), not an agent that
     * was not running ("agent offline").
     */
    bool sameSession = false;
};

/** What Store::ingest() did with one IngestItem. */
struct IngestResult {
    enum class Status {
        Stored,    ///< committed (ack it)
        Duplicate, ///< this (client, sequence) was already stored: ack it again, nothing written
        Failed,    ///< not stored: do not ack
    };
    Status status = Status::Failed;
    quint64 sequence = 0;
};

/**
 * One stored sample as handed to Store::forEachSample() visitors. Views (clientId excepted)
 * point into the database's row buffer and are valid only during the visit.
 */
struct StoredSample {
    QString clientId;
    quint64 sequence = 0;
    Sample sample;          ///< coreCount is the number of per-core values
    QByteArrayView coresLE; ///< coreCount little-endian IEEE-754 float32 values
    /** Per-core busy percentage @p index (0 <= index < sample.coreCount). */
    float core(int index) const;
};

} // namespace autofact::server
