// SPDX-License-Identifier: MIT
#pragma once

#include "ingestwriter.h"
#include "samplechunk.h"
#include "sqlitestatements.h"

#include <cstdint>
#include <vector>

namespace autofact::server {

/** IngestWriter on SQLite's own API: the measured hot path of the SQLite backend. */
class SqliteIngestWriter final : public IngestWriter
{
public:
    explicit SqliteIngestWriter(sqlite3 *db) : m_statements(db) {}
    StoreResult<void> prepare();

    StoreResult<std::optional<ClientRow>> client(const QString &id) override;
    StoreResult<bool> batchExists(qint64 client, quint64 sequence) override;
    StoreResult<void> insertGap(qint64 client, const GapDetector::Found &gap, qint64 nowMs) override;
    StoreResult<void> insertSamples(qint64 client, const SampleBatch &batch) override;
    StoreResult<void> insertDevices(qint64 client, const SampleBatch &batch) override;
    StoreResult<void> mergeMinute(qint64 client, const MinuteRollup &rollup) override;
    StoreResult<void> mergeHour(qint64 client, const MinuteRollup &rollup) override;
    StoreResult<void> insertBatch(qint64 client, quint64 sequence, quint32 samples,
                                  qint64 nowMs) override;
    StoreResult<void> updateClient(qint64 client, const GapDetector::ClientState &state,
                                   quint32 samples, qint64 nowMs) override;

private:
    SqliteStatements m_statements;
    sqlite3_stmt *m_selClient = nullptr;
    sqlite3_stmt *m_selBatch = nullptr;
    sqlite3_stmt *m_selHeadSeq = nullptr;
    sqlite3_stmt *m_selChunkSeq = nullptr;
    sqlite3_stmt *m_insBatch = nullptr;
    sqlite3_stmt *m_insSample = nullptr;
    sqlite3_stmt *m_insGap = nullptr;
    sqlite3_stmt *m_insDevices = nullptr;
    sqlite3_stmt *m_updClient = nullptr;
    sqlite3_stmt *m_upsMinute = nullptr;
    sqlite3_stmt *m_upsHour = nullptr;
    /// Reused on big-endian hosts to convert per-core values; empty elsewhere.
    std::vector<std::uint32_t> m_coreScratch;
    ChunkSamples m_decoded; ///< a sealed chunk looked through for a resent batch
};

} // namespace autofact::server
