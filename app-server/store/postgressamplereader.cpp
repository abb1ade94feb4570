// SPDX-License-Identifier: MIT
#include "postgressamplereader.h"

#include "database.h"

#include <QSqlQuery>
#include <QtEndian>

#include <bit>
#include <limits>

namespace autofact::server {

namespace {

const QString kHead = QStringLiteral(
        "SELECT ts_ms, sequence, cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_iowait, cpu_irq,"
        " cpu_softirq, cpu_steal, cpu_guest, mem_total, mem_free, mem_available, mem_buffers,"
        " mem_cached, mem_used, swap_total, swap_free, load1, load5, load15, flags, cores"
        " FROM samples WHERE client = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, rowid");

/** Marks the reader busy for one public call, as SqliteSampleReader does. */
class Busy
{
public:
    explicit Busy(bool &flag) : m_flag(flag), m_entered(!flag) { flag = true; }
    ~Busy()
    {
        if (m_entered)
            m_flag = false;
    }
    explicit operator bool() const { return m_entered; }

private:
    bool &m_flag;
    bool m_entered;
};

StoreError reentered()
{
    return storeError(StoreError::Kind::Invalid, QStringLiteral("a sample read was started inside another one"));
}

qint64 saturatedSub(qint64 a, qint64 b)
{
    return a < std::numeric_limits<qint64>::min() + b ? std::numeric_limits<qint64>::min() : a - b;
}

/** The head row at @p q's position; @p cores keeps the per-core bytes alive for the visit. */
const StoredSample &readHeadRow(const QSqlQuery &q, StoredSample &row, QByteArray &cores)
{
    Sample &x = row.sample;
    x.timestampMs = q.value(0).toLongLong();
    row.sequence = quint64(q.value(1).toLongLong());
    float *cpu[] = {&x.cpu.user, &x.cpu.nice, &x.cpu.system, &x.cpu.idle, &x.cpu.iowait,
                    &x.cpu.irq, &x.cpu.softirq, &x.cpu.steal, &x.cpu.guest};
    for (int i = 0; i < 9; ++i)
        *cpu[i] = float(q.value(2 + i).toDouble());
    std::uint64_t *mem[] = {&x.memory.total, &x.memory.free, &x.memory.available, &x.memory.buffers,
                            &x.memory.cached, &x.memory.used, &x.memory.swapTotal, &x.memory.swapFree};
    for (int i = 0; i < 8; ++i)
        *mem[i] = quint64(q.value(11 + i).toLongLong());
    x.load1 = float(q.value(19).toDouble());
    x.load5 = float(q.value(20).toDouble());
    x.load15 = float(q.value(21).toDouble());
    x.flags = quint16(q.value(22).toInt());
    cores = q.value(23).toByteArray();
    row.coresLE = QByteArrayView(cores);
    x.coreCount = quint16(cores.size() / 4);
    return row;
}

} // namespace

StoreResult<SampleReader::End> PostgresSampleReader::headSamples(qint64 client, const QString &clientId, qint64 fromMs,
                                                                 qint64 toMs, const SampleVisitor &visit)
{
    const Busy entry(m_busy);
    if (!entry)
        return reentered();
    auto q = m_db.exec(kHead, {client, fromMs, toMs});
    if (!q)
        return q.error();
    StoredSample row;
    row.clientId = clientId;
    QByteArray cores;
    while (q->next())
        if (!visit(readHeadRow(*q, row, cores)))
            return End::Stopped;
    return End::Done;
}

StoreResult<SampleReader::End> PostgresSampleReader::chunks(qint64 client, qint64 fromWindowMs, qint64 toWindowMs,
                                                            const ChunkVisitor &visit)
{
    const Busy entry(m_busy);
    if (!entry)
        return reentered();
    auto q = m_db.exec(QStringLiteral("SELECT rowid, window_ms, first_ms, last_ms, samples, seq_max, data FROM sample_chunks"
                                      " WHERE client = ? AND window_ms >= ? AND window_ms < ? ORDER BY window_ms, first_ms"),
                       {client, fromWindowMs, toWindowMs});
    if (!q)
        return q.error();
    Chunk c;
    QSqlQuery &rows = *q;
    while (rows.next()) {
        c.rowId = rows.value(0).toLongLong();
        c.windowMs = rows.value(1).toLongLong();
        c.firstMs = rows.value(2).toLongLong();
        c.lastMs = rows.value(3).toLongLong();
        c.samples = rows.value(4).toLongLong();
        c.sequenceMax = quint64(rows.value(5).toLongLong());
        c.data = [this, &rows] {
            m_blob = rows.value(6).toByteArray();
            return QByteArrayView(m_blob);
        };
        if (!visit(c))
            return End::Stopped;
    }
    return End::Done;
}

StoreResult<SampleReader::End> PostgresSampleReader::samples(qint64 client, const QString &clientId, qint64 fromMs,
                                                             qint64 toMs, const SampleVisitor &visit)
{
    const Busy entry(m_busy);
    if (!entry)
        return reentered();
    auto head = m_db.exec(kHead, {client, fromMs, toMs});
    if (!head)
        return head.error();
    auto chunkRows = m_db.exec(QStringLiteral("SELECT window_ms, first_ms, last_ms, data FROM sample_chunks"
                                              " WHERE client = ? AND window_ms >= ? AND window_ms < ?"
                                              " ORDER BY window_ms, first_ms"),
                               {client, saturatedSub(fromMs, SampleChunk::windowMs - 1), toMs});
    if (!chunkRows)
        return chunkRows.error();
    // Two sorted streams merged, as in SqliteSampleReader::samples().
    StoredSample headRow;
    headRow.clientId = clientId;
    QByteArray headCores;
    bool more = head->next();
    const auto drainHeadBefore = [&](qint64 ts, bool all) {
        while (more && (all || head->value(0).toLongLong() < ts)) {
            if (!visit(readHeadRow(*head, headRow, headCores)))
                return false;
            more = head->next();
        }
        return true;
    };
    StoredSample row;
    row.clientId = clientId;
    std::vector<std::uint32_t> scratch;
    while (chunkRows->next()) {
        const qint64 firstMs = chunkRows->value(1).toLongLong();
        const qint64 lastMs = chunkRows->value(2).toLongLong();
        if (lastMs < fromMs || firstMs >= toMs)
            continue;
        const QByteArray blob = chunkRows->value(3).toByteArray();
        QString corrupt;
        if (!SampleChunk::decode(blob, m_decoded, &corrupt))
            return storeError(StoreError::Kind::Database, QStringLiteral("%1 (client %2, window at %3 ms)")
                                                                  .arg(corrupt)
                                                                  .arg(client)
                                                                  .arg(chunkRows->value(0).toLongLong()));
        const bool go = m_decoded.visitRange(fromMs, toMs, row, scratch, [&](const StoredSample &r) {
            return drainHeadBefore(r.sample.timestampMs, false) && visit(r);
        });
        if (!go)
            return End::Stopped;
    }
    if (!drainHeadBefore(0, true))
        return End::Stopped;
    return End::Done;
}

StoreResult<qint64> PostgresSampleReader::count(qint64 client, qint64 fromMs, qint64 toMs)
{
    const Busy entry(m_busy);
    if (!entry)
        return reentered();
    auto head = m_db.scalar(QStringLiteral("SELECT count(*) FROM samples WHERE client = ? AND ts_ms >= ? AND ts_ms < ?"),
                            {client, fromMs, toMs});
    if (!head)
        return head.error();
    qint64 total = head->toLongLong();
    // Chunks inside the range count by their header; only a chunk the range cuts is decoded.
    auto rows = m_db.exec(QStringLiteral("SELECT first_ms, last_ms, samples, CASE WHEN first_ms >= ? AND last_ms < ?"
                                         " THEN NULL ELSE data END, window_ms FROM sample_chunks"
                                         " WHERE client = ? AND window_ms >= ? AND window_ms < ?"),
                          {fromMs, toMs, client, saturatedSub(fromMs, SampleChunk::windowMs - 1), toMs});
    if (!rows)
        return rows.error();
    while (rows->next()) {
        const qint64 firstMs = rows->value(0).toLongLong();
        const qint64 lastMs = rows->value(1).toLongLong();
        if (firstMs >= fromMs && lastMs < toMs) {
            total += rows->value(2).toLongLong();
            continue;
        }
        if (lastMs < fromMs || firstMs >= toMs)
            continue;
        QString corrupt;
        if (!SampleChunk::decode(rows->value(3).toByteArray(), m_decoded, &corrupt))
            return storeError(StoreError::Kind::Database, QStringLiteral("%1 (client %2, window at %3 ms)")
                                                                  .arg(corrupt)
                                                                  .arg(client)
                                                                  .arg(rows->value(4).toLongLong()));
        for (const Sample &x : m_decoded.samples)
            total += x.timestampMs >= fromMs && x.timestampMs < toMs;
    }
    return total;
}

StoreResult<SampleReader::End> PostgresSampleReader::minutes(qint64 client, qint64 fromMs, qint64 toMs,
                                                             const MinuteVisitor &visit)
{
    const Busy entry(m_busy);
    if (!entry)
        return reentered();
    auto q = m_db.exec(QStringLiteral("SELECT minute_ms, n, first_ms, last_ms, mem_total, user_min, user_max, system_min,"
                                      " system_max, iowait_min, iowait_max, steal_min, steal_max, used_min, used_max,"
                                      " cache_min, cache_max, available_min, available_max, swap_min, swap_max,"
                                      " busy_min, busy_max, load_min, load_max"
                                      " FROM sample_minutes WHERE client = ? AND minute_ms >= ? AND minute_ms < ?"
                                      " ORDER BY minute_ms"),
                       {client, fromMs, toMs});
    if (!q)
        return q.error();
    MinuteRollup r;
    while (q->next()) {
        r.minuteMs = q->value(0).toLongLong();
        r.count = quint32(q->value(1).toLongLong());
        r.firstMs = q->value(2).toLongLong();
        r.lastMs = q->value(3).toLongLong();
        r.memTotal = q->value(4).toDouble();
        for (int i = 0; i < metrics::seriesCount; ++i) {
            r.mins[std::size_t(i)] = q->value(5 + 2 * i).toDouble();
            r.maxs[std::size_t(i)] = q->value(6 + 2 * i).toDouble();
        }
        if (!visit(r))
            return End::Stopped;
    }
    return End::Done;
}

} // namespace autofact::server
