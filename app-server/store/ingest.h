// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"
#include "storetypes.h"

#include <span>
#include <vector>

namespace autofact::server {

class Database;
class IngestWriter;

/**
 * Stores batches from many clients in one write transaction (one fsync however many agents
 * contributed): checks each batch, drops duplicates, records gaps (GapDetector), writes samples
 * and minute rollups through the backend's IngestWriter, and advances the client's state.
 */
class Ingest
{
public:
    explicit Ingest(Database &db) : m_db(db) {}
    /** The backend's hot path, set once the database is open. */
    void setWriter(IngestWriter *writer) { m_writer = writer; }

    /**
     * One result per item, in order. Duplicates (client, sequence) are reported, not stored.
     * Invalid items (unknown or forgotten client, core count mismatch, sequence 0) are Failed
     * on their own. A database failure rolls the whole transaction back and is returned as
     * the error: then nothing was stored and nothing may be acked.
     */
    StoreResult<std::vector<IngestResult>> write(std::span<const IngestItem> items, qint64 nowMs);

private:
    /**
     * A late batch filled (part of) a recorded sequence gap: the gap shrinks to the sequences
     * still missing, splits in two around a batch in its middle, or goes when it is filled.
     */
    StoreResult<void> fillSequenceGap(qint64 client, const SampleBatch &batch, qint64 intervalMs);

    /** Stores one item; an error means the transaction must be rolled back. */
    StoreResult<IngestResult::Status> ingestOne(const IngestItem &item, qint64 nowMs);

    Database &m_db;
    IngestWriter *m_writer = nullptr;
};

} // namespace autofact::server
