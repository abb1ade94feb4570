// SPDX-License-Identifier: MIT
#pragma once

#include "samplechunk.h"
#include "storeresult.h"

#include <QSet>

namespace autofact::server {

class Database;
class SampleReader;

/** What one seal slice did. */
struct SealResult {
    qint64 samples = 0; ///< head rows now in chunks
    qint64 chunks = 0;  ///< chunks written
    qint64 batchRows = 0; ///< batch rows whose samples are all sealed: their chunks remember them
    bool more = false;  ///< the slice hit its bound: run another
};

/**
 * Moves raw samples from the head table into chunks (samplechunk.h): every client's closed
 * ten-minute windows, oldest first, a bounded slice per transaction. A window is closed once
 * it ended graceMs ago; a late batch for a sealed window lands in the head table and is merged
 * into that window's chunk by the next slice, so chunks never overlap. Forgotten clients are
 * left as rows (a merge moves them; see Inventory::beginMerge). A batch row goes once all
 * of its client's older batches are sealed too: from then on the chunk whose sequences cover it
 * answers "already stored?" (SqliteIngestWriter::batchExists). On a database from before
 * chunks, the first runs after start-up seal all of its history: that is the migration.
 */
class ChunkSealer
{
public:
    static constexpr qint64 graceMs = 2 * 60 * 1000;

    explicit ChunkSealer(Database &db) : m_db(db) {}
    void setReader(SampleReader *reader) { m_reader = reader; }

    /** Seals closed windows at @p nowMs, about @p maxSamples head rows at most, in one transaction. */
    StoreResult<SealResult> sealSlice(qint64 nowMs, int maxSamples);
    /** Head rows in windows closed at @p nowMs: what sealing has left to do. */
    StoreResult<qint64> backlog(qint64 nowMs);
    /**
     * Turns the chunks of client row @p client that hold samples in [fromMs, toMs] back into
     * head rows, inside the caller's transaction; returns the samples unsealed.
     */
    StoreResult<qint64> unseal(qint64 client, qint64 fromMs, qint64 toMs);

private:
    /**
     * Seals client @p client's window at @p windowMs (its chunk, if any, and its head rows);
     * returns the samples encoded, or -1 when the window's chunk does not decode.
     */
    StoreResult<qint64> sealWindow(qint64 client, qint64 windowMs, SealResult &result);
    StoreResult<void> insertHeadRows(qint64 client, const ChunkSamples &samples);

    Database &m_db;
    SampleReader *m_reader = nullptr;
    ChunkSamples m_window;
    ChunkSamples m_decoded;
    QSet<std::pair<qint64, qint64>> m_corruptReported; ///< (client, window) warned about once
};

} // namespace autofact::server
