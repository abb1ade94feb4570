// SPDX-License-Identifier: MIT
#include "sqlitesamplereader.h"

#include <QtEndian>

#include <sqlite3.h>

#include <bit>

namespace autofact::server {

namespace {

/// Steps a bound statement: read() fills a row from the current result, visit() sees it and
/// may stop early. The statement is reset however it ends, so it can be bound again.
template<typename Read, typename Visit>
StoreResult<SampleReader::End> stepRows(sqlite3_stmt *s, const SqliteStatements &statements,
                                        const char *what, Read &&read, Visit &&visit)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!visit(read(s))) {
            sqlite3_reset(s);
            return SampleReader::End::Stopped;
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return statements.error(what);
    return SampleReader::End::Done;
}

/// Both queries select one client's rows in a time range: ?1 client, ?2 from, ?3 to.
sqlite3_stmt *bindRange(sqlite3_stmt *s, qint64 client, qint64 fromMs, qint64 toMs)
{
    sqlite3_bind_int64(s, 1, client);
    sqlite3_bind_int64(s, 2, fromMs);
    sqlite3_bind_int64(s, 3, toMs);
    return s;
}

} // namespace

StoreResult<void> SqliteSampleReader::prepare()
{
    return m_statements.prepare({
        {&m_selSamples,
         "SELECT ts_ms, sequence, cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_iowait, cpu_irq,"
         " cpu_softirq, cpu_steal, cpu_guest, mem_total, mem_free, mem_available, mem_buffers,"
         " mem_cached, mem_used, swap_total, swap_free, load1, load5, load15, flags, cores"
         " FROM samples WHERE client = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms"},
        {&m_selChunks,
         "SELECT rowid, window_ms, first_ms, last_ms, samples, seq_max, data FROM sample_chunks"
         " WHERE client = ?1 AND window_ms >= ?2 AND window_ms < ?3 ORDER BY window_ms, first_ms"},
        {&m_countHead, "SELECT count(*) FROM samples WHERE client = ?1 AND ts_ms >= ?2 AND ts_ms < ?3"},
        {&m_selMinutes,
         "SELECT minute_ms, n, first_ms, last_ms, mem_total, user_min, user_max, system_min,"
         " system_max, iowait_min, iowait_max, steal_min, steal_max, used_min, used_max,"
         " cache_min, cache_max, available_min, available_max, swap_min, swap_max,"
         " busy_min, busy_max, load_min, load_max"
         " FROM sample_minutes WHERE client = ?1 AND minute_ms >= ?2 AND minute_ms < ?3"
         " ORDER BY minute_ms"},
    });
}

namespace {

/** The head table's current row, as a StoredSample viewing SQLite's buffers. */
const StoredSample &readHeadRow(sqlite3_stmt *st, StoredSample &row)
{
        Sample &x = row.sample;
        x.timestampMs = sqlite3_column_int64(st, 0);
        row.sequence = quint64(sqlite3_column_int64(st, 1));
        x.cpu.user = float(sqlite3_column_double(st, 2));
        x.cpu.nice = float(sqlite3_column_double(st, 3));
        x.cpu.system = float(sqlite3_column_double(st, 4));
        x.cpu.idle = float(sqlite3_column_double(st, 5));
        x.cpu.iowait = float(sqlite3_column_double(st, 6));
        x.cpu.irq = float(sqlite3_column_double(st, 7));
        x.cpu.softirq = float(sqlite3_column_double(st, 8));
        x.cpu.steal = float(sqlite3_column_double(st, 9));
        x.cpu.guest = float(sqlite3_column_double(st, 10));
        x.memory.total = quint64(sqlite3_column_int64(st, 11));
        x.memory.free = quint64(sqlite3_column_int64(st, 12));
        x.memory.available = quint64(sqlite3_column_int64(st, 13));
        x.memory.buffers = quint64(sqlite3_column_int64(st, 14));
        x.memory.cached = quint64(sqlite3_column_int64(st, 15));
        x.memory.used = quint64(sqlite3_column_int64(st, 16));
        x.memory.swapTotal = quint64(sqlite3_column_int64(st, 17));
        x.memory.swapFree = quint64(sqlite3_column_int64(st, 18));
        x.load1 = float(sqlite3_column_double(st, 19));
        x.load5 = float(sqlite3_column_double(st, 20));
        x.load15 = float(sqlite3_column_double(st, 21));
        x.flags = quint16(sqlite3_column_int(st, 22));
        const void *blob = sqlite3_column_blob(st, 23);
        const int bytes = sqlite3_column_bytes(st, 23);
        row.coresLE = QByteArrayView(static_cast<const char *>(blob), blob ? bytes : 0);
        x.coreCount = quint16(row.coresLE.size() / 4);
        return row;
}

StoreError reentered()
{
    // Each statement is stepped by one read at a time: a visitor that read again through the
    // same reader would reset it mid-step (and reuse the decoded chunk under the outer read).
    return storeError(StoreError::Kind::Invalid, QStringLiteral("a sample read was started inside another one"));
}

qint64 saturatedSub(qint64 a, qint64 b)
{
    return a < std::numeric_limits<qint64>::min() + b ? std::numeric_limits<qint64>::min() : a - b;
}

} // namespace

StoreResult<SampleReader::End> SqliteSampleReader::headSamples(qint64 client, const QString &clientId,
                                                               qint64 fromMs, qint64 toMs,
                                                               const SampleVisitor &visit)
{
    const Entry entry(*this);
    if (!entry)
        return reentered();
    sqlite3_stmt *s = bindRange(m_selSamples, client, fromMs, toMs);
    StoredSample row;
    row.clientId = clientId;
    return stepRows(
            s, m_statements, "reading samples", [&row](sqlite3_stmt *st) -> const StoredSample & { return readHeadRow(st, row); },
            visit);
}

StoreResult<SampleReader::End> SqliteSampleReader::chunks(qint64 client, qint64 fromWindowMs, qint64 toWindowMs,
                                                          const ChunkVisitor &visit)
{
    const Entry entry(*this);
    if (!entry)
        return reentered();
    return readChunks(client, fromWindowMs, toWindowMs, visit);
}

StoreResult<SampleReader::End> SqliteSampleReader::readChunks(qint64 client, qint64 fromWindowMs, qint64 toWindowMs,
                                                              const ChunkVisitor &visit)
{
    sqlite3_stmt *s = bindRange(m_selChunks, client, fromWindowMs, toWindowMs);
    Chunk c;
    const auto read = [&c](sqlite3_stmt *st) -> const Chunk & {
        c.rowId = sqlite3_column_int64(st, 0);
        c.windowMs = sqlite3_column_int64(st, 1);
        c.firstMs = sqlite3_column_int64(st, 2);
        c.lastMs = sqlite3_column_int64(st, 3);
        c.samples = sqlite3_column_int64(st, 4);
        c.sequenceMax = quint64(sqlite3_column_int64(st, 5));
        c.data = [st] {
            const void *blob = sqlite3_column_blob(st, 6);
            return QByteArrayView(static_cast<const char *>(blob), blob ? sqlite3_column_bytes(st, 6) : 0);
        };
        return c;
    };
    return stepRows(s, m_statements, "reading sample chunks", read, visit);
}

StoreResult<SampleReader::End> SqliteSampleReader::samples(qint64 client, const QString &clientId,
                                                           qint64 fromMs, qint64 toMs,
                                                           const SampleVisitor &visit)
{
    const Entry entry(*this);
    if (!entry)
        return reentered();
    // Two sorted streams merged: the sealed chunks (their windows never overlap) and the head
    // table, which holds the open window and any late batch not sealed yet.
    sqlite3_stmt *head = bindRange(m_selSamples, client, fromMs, toMs);
    StoredSample headRow;
    headRow.clientId = clientId;
    int rc = sqlite3_step(head);
    bool stopped = false;
    const auto drainHeadBefore = [&](qint64 ts, bool all) {
        while (rc == SQLITE_ROW && (all || sqlite3_column_int64(head, 0) < ts)) {
            if (!visit(readHeadRow(head, headRow))) {
                stopped = true;
                return;
            }
            rc = sqlite3_step(head);
        }
    };
    StoredSample row;
    row.clientId = clientId;
    QString corrupt;
    auto end = readChunks(client, saturatedSub(fromMs, SampleChunk::windowMs - 1), toMs, [&](const Chunk &c) {
        if (c.lastMs < fromMs || c.firstMs >= toMs)
            return true;
        if (!SampleChunk::decode(c.data(), m_decoded, &corrupt)) {
            corrupt = QStringLiteral("%1 (client %2, window at %3 ms)").arg(corrupt).arg(client).arg(c.windowMs);
            return false;
        }
        return m_decoded.visitRange(fromMs, toMs, row, m_coreScratch, [&](const StoredSample &r) {
            drainHeadBefore(r.sample.timestampMs, false);
            if (stopped)
                return false;
            if (!visit(r)) {
                stopped = true;
                return false;
            }
            return true;
        });
    });
    if (end && !stopped && corrupt.isEmpty())
        drainHeadBefore(0, true);
    sqlite3_reset(head);
    if (!end)
        return end.error();
    if (!corrupt.isEmpty())
        return storeError(StoreError::Kind::Database, corrupt);
    if (stopped)
        return End::Stopped;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return m_statements.error("reading samples");
    return End::Done;
}

StoreResult<qint64> SqliteSampleReader::count(qint64 client, qint64 fromMs, qint64 toMs)
{
    const Entry entry(*this);
    if (!entry)
        return reentered();
    sqlite3_stmt *s = bindRange(m_countHead, client, fromMs, toMs);
    const int rc = sqlite3_step(s);
    qint64 total = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return m_statements.error("counting samples");
    QString corrupt;
    auto end = readChunks(client, saturatedSub(fromMs, SampleChunk::windowMs - 1), toMs, [&](const Chunk &c) {
        if (c.firstMs >= fromMs && c.lastMs < toMs) {
            total += c.samples;
            return true;
        }
        if (c.lastMs < fromMs || c.firstMs >= toMs)
            return true;
        // Only a chunk the range cuts is decoded.
        if (!SampleChunk::decode(c.data(), m_decoded, &corrupt)) {
            corrupt = QStringLiteral("%1 (client %2, window at %3 ms)").arg(corrupt).arg(client).arg(c.windowMs);
            return false;
        }
        for (const Sample &x : m_decoded.samples)
            total += x.timestampMs >= fromMs && x.timestampMs < toMs;
        return true;
    });
    if (!end)
        return end.error();
    if (!corrupt.isEmpty())
        return storeError(StoreError::Kind::Database, corrupt);
    return total;
}

StoreResult<SampleReader::End> SqliteSampleReader::minutes(qint64 client, qint64 fromMs, qint64 toMs,
                                                           const MinuteVisitor &visit)
{
    const Entry entry(*this);
    if (!entry)
        return reentered();
    sqlite3_stmt *s = bindRange(m_selMinutes, client, fromMs, toMs);
    MinuteRollup r;
    const auto read = [&r](sqlite3_stmt *st) -> const MinuteRollup & {
        r.minuteMs = sqlite3_column_int64(st, 0);
        r.count = quint32(sqlite3_column_int64(st, 1));
        r.firstMs = sqlite3_column_int64(st, 2);
        r.lastMs = sqlite3_column_int64(st, 3);
        r.memTotal = sqlite3_column_double(st, 4);
        for (int i = 0; i < metrics::seriesCount; ++i) {
            r.mins[std::size_t(i)] = sqlite3_column_double(st, 5 + 2 * i);
            r.maxs[std::size_t(i)] = sqlite3_column_double(st, 6 + 2 * i);
        }
        return r;
    };
    return stepRows(s, m_statements, "reading minute rollups", read, visit);
}

} // namespace autofact::server
