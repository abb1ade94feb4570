// SPDX-License-Identifier: MIT
#pragma once

#include "samplereader.h"
#include "samplechunk.h"
#include "sqlitestatements.h"

namespace autofact::server {

/**
 * SampleReader on SQLite's own API: rows are read straight from SQLite's buffers (per-core
 * values as a view, no copy), which is what keeps CSV export and week-long charts fast.
 */
class SqliteSampleReader final : public SampleReader
{
public:
    explicit SqliteSampleReader(sqlite3 *db) : m_statements(db) {}
    StoreResult<void> prepare();

    StoreResult<End> samples(qint64 client, const QString &clientId, qint64 fromMs, qint64 toMs,
                             const SampleVisitor &visit) override;
    StoreResult<End> headSamples(qint64 client, const QString &clientId, qint64 fromMs, qint64 toMs,
                                 const SampleVisitor &visit) override;
    StoreResult<End> chunks(qint64 client, qint64 fromWindowMs, qint64 toWindowMs,
                            const ChunkVisitor &visit) override;
    StoreResult<qint64> count(qint64 client, qint64 fromMs, qint64 toMs) override;
    StoreResult<End> minutes(qint64 client, qint64 fromMs, qint64 toMs,
                             const MinuteVisitor &visit) override;

private:
    /** Marks the reader busy for one public call; false (and nothing marked) when it already is. */
    class Entry
    {
    public:
        explicit Entry(SqliteSampleReader &r) : m_reader(r), m_entered(!r.m_busy) { r.m_busy = true; }
        ~Entry()
        {
            if (m_entered)
                m_reader.m_busy = false;
        }
        explicit operator bool() const { return m_entered; }

    private:
        SqliteSampleReader &m_reader;
        bool m_entered;
    };
    StoreResult<End> readChunks(qint64 client, qint64 fromWindowMs, qint64 toWindowMs, const ChunkVisitor &visit);

    bool m_busy = false;
    SqliteStatements m_statements;
    sqlite3_stmt *m_selSamples = nullptr;
    sqlite3_stmt *m_selMinutes = nullptr;
    sqlite3_stmt *m_selChunks = nullptr;
    sqlite3_stmt *m_countHead = nullptr;
    ChunkSamples m_decoded;
    std::vector<std::uint32_t> m_coreScratch; // big-endian hosts: per-core values as little-endian
};

} // namespace autofact::server
