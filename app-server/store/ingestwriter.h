// SPDX-License-Identifier: MIT
#pragma once

#include "gapdetector.h"
#include "messages.h"
#include "minuterollup.h"
#include "storeresult.h"

#include <optional>

namespace autofact::server {

/**
 * The write half of a storage backend: the statements ingest runs for every batch, inside the
 * transaction Ingest opened. This is the seam where a second backend (PostgreSQL through
 * QPSQL) plugs in beside SqliteIngestWriter; everything above it is backend-neutral.
 */
class IngestWriter
{
public:
    /** A client as ingest sees it. */
    struct ClientRow {
        qint64 num = 0; ///< the client's row key
        bool forgotten = false;
        quint64 purgedSequence = 0; ///< batches up to this one expired after they were stored
        qint64 purgedMs = 0;        ///< raw samples before this time have expired
        GapDetector::ClientState state;
    };

    virtual ~IngestWriter() = default;

    /**
     * Before the write transaction begins, outside it: whatever must exist before the batches
     * are written and is better not made inside (PostgreSQL: the day partitions their device
     * readings go to, whose creation would lock the parent table until the commit).
     */
    virtual StoreResult<void> prepareWrite(const std::vector<const SampleBatch *> &batches)
    {
        Q_UNUSED(batches);
        return {};
    }
    /**
     * A write transaction has begun for batches of @p clientIds: a backend that defers
     * statements starts with none, takes the locks that must come before any client row's, and
     * may read (and lock) those clients' rows at once rather than one by one.
     */
    virtual StoreResult<void> beginWrite(const QStringList &clientIds)
    {
        Q_UNUSED(clientIds);
        return {};
    }
    /** Before COMMIT: a backend that deferred statements runs them now; an error rolls back. */
    virtual StoreResult<void> finishWrite() { return {}; }

    /** The client with @p id, or std::nullopt when there is none. */
    virtual StoreResult<std::optional<ClientRow>> client(const QString &id) = 0;
    /** Whether (client, sequence) is already stored. */
    virtual StoreResult<bool> batchExists(qint64 client, quint64 sequence) = 0;
    virtual StoreResult<void> insertGap(qint64 client, const GapDetector::Found &gap, qint64 nowMs) = 0;
    /** Every sample of @p batch, with its per-core values. */
    virtual StoreResult<void> insertSamples(qint64 client, const SampleBatch &batch) = 0;
    /** @p batch's device readings (none: nothing written), one head row per window they touch. */
    virtual StoreResult<void> insertDevices(qint64 client, const SampleBatch &batch) = 0;
    /** Merges @p rollup into the stored minute (min of mins, max of maxes, counts added). */
    virtual StoreResult<void> mergeMinute(qint64 client, const MinuteRollup &rollup) = 0;
    /** Merges @p rollup (an hour's) into the stored hour (and adds its sums). */
    virtual StoreResult<void> mergeHour(qint64 client, const MinuteRollup &rollup) = 0;
    virtual StoreResult<void> insertBatch(qint64 client, quint64 sequence, quint32 samples,
                                          qint64 nowMs) = 0;
    /** Stores the client's state after a batch of @p samples samples. */
    virtual StoreResult<void> updateClient(qint64 client, const GapDetector::ClientState &state,
                                           quint32 samples, qint64 nowMs) = 0;
};

} // namespace autofact::server
