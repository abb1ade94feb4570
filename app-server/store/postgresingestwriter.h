// SPDX-License-Identifier: MIT
#pragma once

#include "ingestwriter.h"
#include "samplechunk.h"

#include <QString>

#include <functional>

namespace autofact::server {

class Database;

/**
 * IngestWriter for PostgreSQL through QPSQL. Each batch's samples go in one multi-row INSERT
 * (one round trip, values as exact literals). client() locks the client's row for the rest of
 * the transaction: two nodes handed the same batch at once take turns, and the second finds
 * it stored (dedupe across nodes).
 */
class PostgresIngestWriter final : public IngestWriter
{
public:
    explicit PostgresIngestWriter(Database &db) : m_db(db) {}

    StoreResult<std::optional<ClientRow>> client(const QString &id) override;
    StoreResult<bool> batchExists(qint64 client, quint64 sequence) override;
    StoreResult<void> insertGap(qint64 client, const GapDetector::Found &gap, qint64 nowMs) override;
    StoreResult<void> insertSamples(qint64 client, const SampleBatch &batch) override;
    StoreResult<void> insertDevices(qint64 client, const SampleBatch &batch) override;
    StoreResult<void> mergeMinute(qint64 client, const MinuteRollup &rollup) override;
    StoreResult<void> mergeHour(qint64 client, const MinuteRollup &rollup) override;
    StoreResult<void> insertBatch(qint64 client, quint64 sequence, quint32 samples, qint64 nowMs) override;
    StoreResult<void> updateClient(qint64 client, const GapDetector::ClientState &state, quint32 samples,
                                   qint64 nowMs) override;

    /**
     * Head-table rows for @p count samples of @p client in multi-row INSERTs; @p sequenceOf
     * gives each sample's batch. Shared with ChunkSealer, which puts sealed samples back.
     */
    static StoreResult<void> insertHeadRows(Database &db, qint64 client, const Sample *samples, std::size_t count,
                                            const std::function<quint64(std::size_t)> &sequenceOf, const float *cores);

private:
    Database &m_db;
    ChunkSamples m_decoded; ///< a sealed chunk looked through for a resent batch
};

} // namespace autofact::server
