// SPDX-License-Identifier: MIT
#include "chunksealer.h"

#include "database.h"
#include "samplereader.h"
#include "storelogging.h"
#include "transaction.h"

#include <QtEndian>

#include "postgresingestwriter.h"

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>

namespace autofact::server {

namespace {

/** Appends a stored sample (per-core values read from their little-endian view) to @p out. */
void appendStored(ChunkSamples &out, const StoredSample &row)
{
    out.samples.push_back(row.sample);
    out.sequences.push_back(row.sequence);
    const std::size_t at = out.cores.size();
    out.cores.resize(at + std::size_t(row.sample.coreCount));
    for (int k = 0; k < row.sample.coreCount; ++k)
        out.cores[at + std::size_t(k)] = row.core(k);
}

} // namespace

StoreResult<qint64> ChunkSealer::backlog(qint64 nowMs)
{
    // A range count per client on its (client, time) key; forgotten clients are never sealed.
    auto v = m_db.scalar(QStringLiteral("SELECT coalesce(sum((SELECT count(*) FROM samples WHERE client = c.num"
                                        " AND ts_ms < ?)), 0) FROM clients c WHERE c.forgotten_ms IS NULL"),
                         {SampleChunk::windowOf(nowMs - graceMs)});
    if (!v)
        return v.error();
    return v->toLongLong();
}

StoreResult<SealResult> ChunkSealer::sealSlice(qint64 nowMs, int maxSamples)
{
    if (!m_reader)
        return Database::notOpen();
    const qint64 cutoff = SampleChunk::windowOf(nowMs - graceMs);
    SealResult result;
    qint64 budget = std::max(1, maxSamples);
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    if (auto l = m_db.requireLeader(); !l) // the check before BEGIN may be stale on a shared store
        return l.error();
    // One index seek per client for its oldest head row, never a scan of the table. In num
    // order: every writer that locks several clients' rows on a shared store takes them so.
    auto clients = m_db.exec(QStringLiteral("SELECT num, m FROM (SELECT num, (SELECT min(ts_ms) FROM samples"
                                            " WHERE client = c.num) AS m FROM clients c WHERE forgotten_ms IS NULL) AS t"
                                            " WHERE m < ? ORDER BY num"),
                             {cutoff});
    if (!clients)
        return clients.error();
    QList<std::pair<qint64, qint64>> todo;
    while (clients->next())
        todo.append({clients->value(0).toLongLong(), clients->value(1).toLongLong()});
    clients->finish();
    for (auto [num, oldest] : std::as_const(todo)) {
        if (auto l = m_db.lockClient(num); !l)
            return l.error();
        while (budget > 0 && oldest < cutoff) {
            const qint64 window = SampleChunk::windowOf(oldest);
            auto sealed = sealWindow(num, window, result);
            if (!sealed)
                return sealed.error();
            if (*sealed < 0) {
                // A chunk that does not decode is left as it is (reads report it); this
                // client's later windows wait, every other client's go on.
                if (!m_corruptReported.contains({num, window})) {
                    m_corruptReported.insert({num, window});
                    qCWarning(lcStore).noquote() << "not sealing client" << num << "from window at" << window
                                                 << "ms: its chunk there does not decode";
                }
                --budget;
                break;
            }
            budget -= std::max<qint64>(1, *sealed);
            auto next = m_db.scalar(QStringLiteral("SELECT min(ts_ms) FROM samples WHERE client = ?"), {num});
            if (!next)
                return next.error();
            if (next->isNull())
                break;
            oldest = next->toLongLong();
        }
        // Batch rows whose samples are all in chunks: every sequence below the oldest one still
        // in the head (a batch is stored whole, so none of its samples is left), and covered by
        // the chunks. Empty batches keep their rows: no chunk remembers them.
        auto batches = m_db.exec(QStringLiteral("DELETE FROM batches WHERE client = ? AND sample_count > 0"
                                                " AND sequence <= (SELECT max(seq_max) FROM sample_chunks WHERE client = ?)"
                                                " AND sequence < coalesce((SELECT min(sequence) FROM samples WHERE client = ?),"
                                                " 9223372036854775807)"),
                                 {num, num, num});
        if (!batches)
            return batches.error();
        result.batchRows += batches->numRowsAffected();
        if (budget <= 0)
            break;
    }
    if (auto c = txn.commit(); !c)
        return c.error();
    result.more = budget <= 0;
    return result;
}

StoreResult<qint64> ChunkSealer::sealWindow(qint64 client, qint64 windowMs, SealResult &result)
{
    // The window's chunk (a late batch merges into it) and its head rows, in time order.
    m_window.clear();
    QList<qint64> oldChunks;
    QString corrupt;
    auto chunks = m_reader->chunks(client, windowMs, windowMs + 1, [&](const SampleReader::Chunk &c) {
        if (!SampleChunk::decode(c.data(), m_decoded, &corrupt))
            return false;
        oldChunks.append(c.rowId);
        m_window.samples.insert(m_window.samples.end(), m_decoded.samples.begin(), m_decoded.samples.end());
        m_window.sequences.insert(m_window.sequences.end(), m_decoded.sequences.begin(), m_decoded.sequences.end());
        m_window.cores.insert(m_window.cores.end(), m_decoded.cores.begin(), m_decoded.cores.end());
        return true;
    });
    if (!chunks)
        return chunks.error();
    if (!corrupt.isEmpty())
        return qint64(-1);
    const std::size_t fromChunks = m_window.size();
    auto head = m_reader->headSamples(client, QString(), windowMs, windowMs + SampleChunk::windowMs,
                                      [this](const StoredSample &row) {
                                          appendStored(m_window, row);
                                          return true;
                                      });
    if (!head)
        return head.error();
    const qint64 headRows = qint64(m_window.size() - fromChunks);

    // Time order, then sequence: stable, so two samples with one timestamp keep their order.
    std::vector<std::size_t> order(m_window.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::vector<std::size_t> coreAt(m_window.size());
    std::size_t widest = 1;
    for (std::size_t i = 0, at = 0; i < m_window.size(); ++i) {
        coreAt[i] = at;
        at += m_window.samples[i].coreCount;
        widest = std::max<std::size_t>(widest, m_window.samples[i].coreCount);
    }
    std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
        const qint64 ta = m_window.samples[a].timestampMs;
        const qint64 tb = m_window.samples[b].timestampMs;
        return ta != tb ? ta < tb : m_window.sequences[a] < m_window.sequences[b];
    });
    // Parts stay within the decoder's limits: 4,096 samples, or fewer on machines with
    // thousands of cores.
    const std::size_t perPart = std::clamp<std::size_t>(SampleChunk::maxCoreValues / widest, 1, 4096);
    for (std::size_t from = 0; from < order.size(); from += perPart) {
        ChunkSamples part;
        const std::size_t to = std::min(order.size(), from + perPart);
        quint64 seqMin = std::numeric_limits<quint64>::max();
        quint64 seqMax = 0;
        for (std::size_t k = from; k < to; ++k) {
            const std::size_t i = order[k];
            part.append(m_window.samples[i], m_window.sequences[i], m_window.cores.data() + coreAt[i]);
            seqMin = std::min(seqMin, m_window.sequences[i]);
            seqMax = std::max(seqMax, m_window.sequences[i]);
        }
        const QByteArray blob = SampleChunk::encode(part);
        if (auto p = m_db.ensurePartition("sample_chunks", windowMs); !p)
            return p.error();
        auto q = m_db.exec(QStringLiteral("INSERT INTO sample_chunks(client, window_ms, first_ms, last_ms, samples,"
                                          " seq_min, seq_max, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                           {client, windowMs, qint64(part.samples.front().timestampMs), qint64(part.samples.back().timestampMs),
                            qint64(part.size()), qint64(seqMin), qint64(seqMax), blob});
        if (!q)
            return q.error();
        ++result.chunks;
    }
    for (const qint64 rowId : std::as_const(oldChunks))
        if (auto q = m_db.exec(QStringLiteral("DELETE FROM sample_chunks WHERE rowid = ?"), {rowId}); !q)
            return q.error();
    if (auto q = m_db.exec(QStringLiteral("DELETE FROM samples WHERE client = ? AND ts_ms >= ? AND ts_ms < ?"),
                           {client, windowMs, windowMs + SampleChunk::windowMs});
        !q)
        return q.error();
    result.samples += headRows;
    // The work done: the window's samples re-encoded, not only the new ones (a trickle of late
    // rows into long windows must not make one slice unbounded).
    return headRows + qint64(fromChunks);
}

StoreResult<qint64> ChunkSealer::unseal(qint64 client, qint64 fromMs, qint64 toMs)
{
    if (!m_reader)
        return Database::notOpen();
    QList<qint64> rowIds;
    qint64 samples = 0;
    QString corrupt;
    StoreResult<void> inserted;
    const qint64 fromWindow = fromMs > std::numeric_limits<qint64>::min() + SampleChunk::windowMs
                                      ? SampleChunk::windowOf(fromMs)
                                      : std::numeric_limits<qint64>::min();
    const qint64 toWindow = toMs < std::numeric_limits<qint64>::max() ? toMs + 1 : toMs;
    auto chunks = m_reader->chunks(client, fromWindow, toWindow, [&](const SampleReader::Chunk &c) {
        if (c.lastMs < fromMs || c.firstMs > toMs)
            return true;
        if (!SampleChunk::decode(c.data(), m_decoded, &corrupt))
            return false;
        inserted = insertHeadRows(client, m_decoded);
        if (!inserted)
            return false;
        rowIds.append(c.rowId);
        samples += qint64(m_decoded.size());
        return true;
    });
    if (!chunks)
        return chunks.error();
    if (!corrupt.isEmpty())
        return databaseError(corrupt);
    if (!inserted)
        return inserted.error();
    for (const qint64 rowId : std::as_const(rowIds))
        if (auto q = m_db.exec(QStringLiteral("DELETE FROM sample_chunks WHERE rowid = ?"), {rowId}); !q)
            return q.error();
    return samples;
}

StoreResult<void> ChunkSealer::insertHeadRows(qint64 client, const ChunkSamples &data)
{
    if (m_db.isPostgres())
        return PostgresIngestWriter::insertHeadRows(m_db, client, data.samples.data(), data.size(),
                                                    [&data](std::size_t i) { return data.sequences[i]; }, data.cores.data());
    sqlite3 *handle = m_db.sqliteHandle();
    if (!handle)
        return databaseError(QStringLiteral("unsealing chunks needs the SQLite backend"));
    sqlite3_stmt *s = nullptr;
    if (sqlite3_prepare_v2(handle,
                           "INSERT INTO samples(client, ts_ms, sequence, cpu_user, cpu_nice, cpu_system, cpu_idle,"
                           " cpu_iowait, cpu_irq, cpu_softirq, cpu_steal, cpu_guest, mem_total, mem_free, mem_available,"
                           " mem_buffers, mem_cached, mem_used, swap_total, swap_free, load1, load5, load15, flags, cores)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &s, nullptr)
        != SQLITE_OK) {
        sqlite3_finalize(s);
        return databaseError(QStringLiteral("unsealing chunks: %1").arg(QString::fromUtf8(sqlite3_errmsg(handle))));
    }
    std::vector<std::uint32_t> le;
    const float *cores = data.cores.data();
    for (std::size_t i = 0; i < data.size(); ++i) {
        const Sample &x = data.samples[i];
        int col = 1;
        sqlite3_bind_int64(s, col++, client);
        sqlite3_bind_int64(s, col++, x.timestampMs);
        sqlite3_bind_int64(s, col++, qint64(data.sequences[i]));
        for (float v : {x.cpu.user, x.cpu.nice, x.cpu.system, x.cpu.idle, x.cpu.iowait, x.cpu.irq, x.cpu.softirq,
                        x.cpu.steal, x.cpu.guest})
            sqlite3_bind_double(s, col++, v);
        for (std::uint64_t v : {x.memory.total, x.memory.free, x.memory.available, x.memory.buffers, x.memory.cached,
                                x.memory.used, x.memory.swapTotal, x.memory.swapFree})
            sqlite3_bind_int64(s, col++, qint64(v));
        for (float v : {x.load1, x.load5, x.load15})
            sqlite3_bind_double(s, col++, v);
        sqlite3_bind_int(s, col++, x.flags);
        le.resize(x.coreCount);
        for (int k = 0; k < x.coreCount; ++k)
            le[std::size_t(k)] = qToLittleEndian(std::bit_cast<std::uint32_t>(cores[k]));
        cores += x.coreCount;
        if (x.coreCount == 0)
            sqlite3_bind_null(s, col);
        else
            sqlite3_bind_blob(s, col, le.data(), int(x.coreCount) * 4, SQLITE_TRANSIENT);
        if (sqlite3_step(s) != SQLITE_DONE) {
            const QString why = QString::fromUtf8(sqlite3_errmsg(handle));
            sqlite3_finalize(s);
            return databaseError(QStringLiteral("unsealing chunks: %1").arg(why));
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return {};
}

} // namespace autofact::server
