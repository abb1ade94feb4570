// SPDX-License-Identifier: MIT
#include "postgresingestwriter.h"

#include "database.h"
#include "devicechunk.h"

#include <QtEndian>

#include <algorithm>
#include <bit>
#include <charconv>

namespace autofact::server {

namespace {

constexpr std::size_t rowsPerStatement = 500;

void appendInt(QString &sql, qint64 v)
{
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    sql += QLatin1StringView(buf, r.ptr - buf);
}

void appendReal(QString &sql, double v)
{
    // Shortest round-trip form; the column is double precision, so a float reads back exactly.
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    sql += QLatin1StringView(buf, r.ptr - buf);
}

const QString &minuteUpsert()
{
    static const QString sql = [] {
        QString s = QStringLiteral("INSERT INTO sample_minutes VALUES (%1) ON CONFLICT(client, minute_ms) DO UPDATE SET"
                                   " n = sample_minutes.n + excluded.n,"
                                   " first_ms = LEAST(sample_minutes.first_ms, excluded.first_ms),"
                                   " last_ms = GREATEST(sample_minutes.last_ms, excluded.last_ms),"
                                   " mem_total = GREATEST(sample_minutes.mem_total, excluded.mem_total)");
        for (const char *x : {"user", "system", "iowait", "steal", "used", "cache", "available", "swap", "busy", "load"}) {
            const QString c = QLatin1StringView(x);
            s += QStringLiteral(", %1_min = LEAST(sample_minutes.%1_min, excluded.%1_min),"
                                " %1_max = GREATEST(sample_minutes.%1_max, excluded.%1_max)")
                         .arg(c);
        }
        return s;
    }();
    return sql;
}

const QString &hourUpsert()
{
    static const QString sql = [] {
        QString s = QStringLiteral("INSERT INTO sample_hours VALUES (%1) ON CONFLICT(client, hour_ms) DO UPDATE SET"
                                   " n = sample_hours.n + excluded.n,"
                                   " first_ms = LEAST(sample_hours.first_ms, excluded.first_ms),"
                                   " last_ms = GREATEST(sample_hours.last_ms, excluded.last_ms),"
                                   " mem_total = GREATEST(sample_hours.mem_total, excluded.mem_total)");
        for (const char *x : {"user", "system", "iowait", "steal", "used", "cache", "available", "swap", "busy", "load"}) {
            const QString c = QLatin1StringView(x);
            s += QStringLiteral(", %1_min = LEAST(sample_hours.%1_min, excluded.%1_min),"
                                " %1_max = GREATEST(sample_hours.%1_max, excluded.%1_max),"
                                " %1_sum = sample_hours.%1_sum + excluded.%1_sum")
                         .arg(c);
        }
        return s;
    }();
    return sql;
}

QString rollupValues(qint64 client, const MinuteRollup &r, bool sums)
{
    QString v;
    appendInt(v, client);
    for (const qint64 x : {r.minuteMs, qint64(r.count), r.firstMs, r.lastMs}) {
        v += u',';
        appendInt(v, x);
    }
    v += u',';
    appendReal(v, r.memTotal);
    for (int i = 0; i < metrics::seriesCount; ++i) {
        v += u',';
        appendReal(v, r.mins[std::size_t(i)]);
        v += u',';
        appendReal(v, r.maxs[std::size_t(i)]);
        if (sums) {
            v += u',';
            appendReal(v, r.sums[std::size_t(i)]);
        }
    }
    return v;
}

} // namespace

StoreResult<std::optional<IngestWriter::ClientRow>> PostgresIngestWriter::client(const QString &id)
{
    // A read-only store (the dashboard, commands) cannot lock; a writer locks the row.
    const QString lock = m_db.readOnly() ? QString() : QStringLiteral(" FOR UPDATE OF c");
    auto q = m_db.exec(QStringLiteral(
                               "SELECT c.num, c.last_sequence, c.last_sample_ms, c.dropped_total,"
                               " (c.forgotten_ms IS NOT NULL)::int,"
                               " COALESCE((c.config_override::jsonb ->> 'sampleIntervalMs')::bigint,"
                               "  (SELECT (g.config_override::jsonb ->> 'sampleIntervalMs')::bigint FROM group_configs g"
                               "   WHERE g.name = c.group_name AND c.group_name <> ''),"
                               "  (SELECT (value::jsonb ->> 'sampleIntervalMs')::bigint FROM settings"
                               "   WHERE key = 'default_config'), 1000),"
                               " c.baseline_pending, c.purged_sequence, c.purged_ms"
                               " FROM clients c WHERE c.id = ?") + lock,
                       {id});
    if (!q)
        return q.error();
    if (!q->next())
        return std::optional<ClientRow>();
    ClientRow row;
    row.num = q->value(0).toLongLong();
    row.state.lastSequence = quint64(q->value(1).toLongLong());
    if (!q->value(2).isNull())
        row.state.lastSampleMs = q->value(2).toLongLong();
    row.state.droppedTotal = quint64(q->value(3).toLongLong());
    row.forgotten = q->value(4).toInt() != 0;
    row.state.intervalMs = std::max<qint64>(1, q->value(5).toLongLong());
    row.state.baselinePending = q->value(6).toLongLong() != 0;
    row.purgedSequence = quint64(q->value(7).toLongLong());
    row.purgedMs = q->value(8).toLongLong();
    return std::optional<ClientRow>(row);
}

StoreResult<bool> PostgresIngestWriter::batchExists(qint64 client, quint64 sequence)
{
    // The same three places as the SQLite writer: the batch row, head rows, or a sealed chunk.
    auto q = m_db.exec(QStringLiteral("SELECT EXISTS (SELECT 1 FROM batches WHERE client = ? AND sequence = ?)"
                                      " OR EXISTS (SELECT 1 FROM samples WHERE client = ? AND sequence = ?)"),
                       {client, qint64(sequence), client, qint64(sequence)});
    if (!q)
        return q.error();
    if (q->next() && q->value(0).toBool())
        return true;
    auto chunks = m_db.exec(QStringLiteral("SELECT data FROM sample_chunks WHERE client = ? AND seq_max >= ? AND seq_min <= ?"),
                            {client, qint64(sequence), qint64(sequence)});
    if (!chunks)
        return chunks.error();
    while (chunks->next()) {
        const QByteArray blob = chunks->value(0).toByteArray();
        QString corrupt;
        if (!SampleChunk::decode(blob, m_decoded, &corrupt))
            return storeError(StoreError::Kind::Database,
                              QStringLiteral("looking up batch %1 of client %2: %3").arg(sequence).arg(client).arg(corrupt));
        if (std::find(m_decoded.sequences.begin(), m_decoded.sequences.end(), sequence) != m_decoded.sequences.end())
            return true;
    }
    return false;
}

StoreResult<void> PostgresIngestWriter::insertGap(qint64 client, const GapDetector::Found &gap, qint64 nowMs)
{
    const QVariant none(QMetaType(QMetaType::LongLong));
    auto q = m_db.exec(QStringLiteral("INSERT INTO gaps(client, start_ms, end_ms, reason, seq_first, seq_last, samples_lost,"
                                      " recorded_ms) VALUES (?,?,?,?,?,?,?,?)"),
                       {client, gap.startMs, gap.endMs, gap.reason,
                        gap.sequenceFirst ? QVariant(qint64(gap.sequenceFirst)) : none,
                        gap.sequenceFirst ? QVariant(qint64(gap.sequenceLast)) : none, qint64(gap.samplesLost), nowMs});
    if (!q)
        return q.error();
    return {};
}

StoreResult<void> PostgresIngestWriter::insertHeadRows(Database &db, qint64 client, const Sample *samples,
                                                       std::size_t count,
                                                       const std::function<quint64(std::size_t)> &sequenceOf,
                                                       const float *cores)
{
    static const QString head = QStringLiteral(
            "INSERT INTO samples(client, ts_ms, sequence, cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_iowait, cpu_irq,"
            " cpu_softirq, cpu_steal, cpu_guest, mem_total, mem_free, mem_available, mem_buffers, mem_cached, mem_used,"
            " swap_total, swap_free, load1, load5, load15, flags, cores) VALUES ");
    std::vector<std::uint32_t> le;
    QString sql;
    for (std::size_t from = 0; from < count; from += rowsPerStatement) {
        const std::size_t to = std::min(count, from + rowsPerStatement);
        sql.clear();
        sql.reserve(qsizetype(head.size() + (to - from) * 400));
        sql += head;
        for (std::size_t i = from; i < to; ++i) {
            const Sample &x = samples[i];
            if (i != from)
                sql += u',';
            sql += u'(';
            appendInt(sql, client);
            sql += u',';
            appendInt(sql, x.timestampMs);
            sql += u',';
            appendInt(sql, qint64(sequenceOf(i)));
            for (const float v : {x.cpu.user, x.cpu.nice, x.cpu.system, x.cpu.idle, x.cpu.iowait, x.cpu.irq,
                                  x.cpu.softirq, x.cpu.steal, x.cpu.guest}) {
                sql += u',';
                appendReal(sql, v);
            }
            for (const std::uint64_t v : {x.memory.total, x.memory.free, x.memory.available, x.memory.buffers,
                                          x.memory.cached, x.memory.used, x.memory.swapTotal, x.memory.swapFree}) {
                sql += u',';
                appendInt(sql, qint64(v));
            }
            for (const float v : {x.load1, x.load5, x.load15}) {
                sql += u',';
                appendReal(sql, v);
            }
            sql += u',';
            appendInt(sql, x.flags);
            sql += u',';
            if (x.coreCount == 0) {
                sql += QLatin1StringView("NULL");
            } else {
                le.resize(std::size_t(x.coreCount));
                for (int k = 0; k < x.coreCount; ++k)
                    le[std::size_t(k)] = qToLittleEndian(std::bit_cast<std::uint32_t>(cores[k]));
                Database::appendBytea(sql, QByteArrayView(reinterpret_cast<const char *>(le.data()),
                                                          qsizetype(x.coreCount) * 4));
            }
            cores += x.coreCount;
            sql += u')';
        }
        if (auto q = db.execText(sql); !q)
            return q.error();
    }
    return {};
}

StoreResult<void> PostgresIngestWriter::insertSamples(qint64 client, const SampleBatch &batch)
{
    const quint64 sequence = batch.sequence;
    return insertHeadRows(m_db, client, batch.samples.data(), batch.samples.size(),
                          [sequence](std::size_t) { return sequence; }, batch.coreBusy.data());
}

StoreResult<void> PostgresIngestWriter::insertDevices(qint64 client, const SampleBatch &batch)
{
    if (batch.devices.empty())
        return {};
    DeviceSeries all;
    all.appendBatch(batch);
    // As in the SQLite writer: one head row per window the readings touch.
    std::vector<qint64> windows;
    for (const qint64 t : all.timestamps)
        windows.push_back(SampleChunk::windowOf(t));
    std::vector<qint64> distinct = windows;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (const qint64 window : distinct) {
        const DeviceSeries part = distinct.size() == 1 ? all : all.select([&](std::size_t i) { return windows[i] == window; });
        const auto [first, last] = std::minmax_element(part.timestamps.begin(), part.timestamps.end());
        if (auto p = m_db.ensurePartition("device_chunks", window); !p)
            return p;
        auto q = m_db.exec(QStringLiteral("INSERT INTO device_chunks(client, window_ms, first_ms, last_ms, sealed, data)"
                                          " VALUES (?,?,?,?,0,?)"),
                           {client, window, *first, *last, DeviceChunk::encode(part, DeviceChunk::noCompression)});
        if (!q)
            return q.error();
    }
    return {};
}

StoreResult<void> PostgresIngestWriter::mergeMinute(qint64 client, const MinuteRollup &rollup)
{
    if (auto q = m_db.execText(minuteUpsert().arg(rollupValues(client, rollup, false))); !q)
        return q.error();
    return {};
}

StoreResult<void> PostgresIngestWriter::mergeHour(qint64 client, const MinuteRollup &rollup)
{
    if (auto q = m_db.execText(hourUpsert().arg(rollupValues(client, rollup, true))); !q)
        return q.error();
    return {};
}

StoreResult<void> PostgresIngestWriter::insertBatch(qint64 client, quint64 sequence, quint32 samples, qint64 nowMs)
{
    auto q = m_db.exec(QStringLiteral("INSERT INTO batches(client, sequence, received_ms, sample_count) VALUES (?,?,?,?)"),
                       {client, qint64(sequence), nowMs, qint64(samples)});
    if (!q)
        return q.error();
    return {};
}

StoreResult<void> PostgresIngestWriter::updateClient(qint64 client, const GapDetector::ClientState &state,
                                                     quint32 samples, qint64 nowMs)
{
    auto q = m_db.exec(QStringLiteral("UPDATE clients SET sample_count = sample_count + ?, last_sequence = ?,"
                                      " last_sample_ms = ?, dropped_total = ?, last_seen_ms = GREATEST(last_seen_ms, ?),"
                                      " baseline_pending = 0 WHERE num = ?"),
                       {qint64(samples), qint64(state.lastSequence),
                        state.lastSampleMs ? QVariant(*state.lastSampleMs) : QVariant(QMetaType(QMetaType::LongLong)),
                        qint64(state.droppedTotal), nowMs, client});
    if (!q)
        return q.error();
    return {};
}

} // namespace autofact::server
