// SPDX-License-Identifier: MIT
#include "sqliteingestwriter.h"

#include "devicechunk.h"
#include "samplechunk.h"

#include <QtEndian>

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <string>

namespace autofact::server {

namespace {

/** The hour tier's UPSERT: min of mins, max of maxes, sums and counts added. */
const char *hourUpsert()
{
    static const std::string sql = [] {
        const char *series[] = {"user", "system", "iowait", "steal", "used", "cache", "available", "swap", "busy", "load"};
        std::string values = "?1,?2,?3,?4,?5,?6";
        for (int i = 7; i <= 36; ++i)
            values += ",?" + std::to_string(i);
        std::string sets = "n = n + excluded.n, first_ms = min(first_ms, excluded.first_ms),"
                           " last_ms = max(last_ms, excluded.last_ms), mem_total = max(mem_total, excluded.mem_total)";
        for (const char *x : series) {
            const std::string c(x);
            sets += ", " + c + "_min = min(" + c + "_min, excluded." + c + "_min), " + c + "_max = max(" + c
                    + "_max, excluded." + c + "_max), " + c + "_sum = " + c + "_sum + excluded." + c + "_sum";
        }
        return "INSERT INTO sample_hours VALUES (" + values + ") ON CONFLICT(client, hour_ms) DO UPDATE SET " + sets;
    }();
    return sql.c_str();
}

} // namespace

StoreResult<void> SqliteIngestWriter::prepare()
{
    return m_statements.prepare({
        {&m_upsHour, hourUpsert()},
        {&m_selClient,
         "SELECT c.num, c.last_sequence, c.last_sample_ms, c.dropped_total,"
         " c.forgotten_ms IS NOT NULL,"
         " COALESCE(json_extract(c.config_override, '$.sampleIntervalMs'),"
         "  (SELECT json_extract(g.config_override, '$.sampleIntervalMs') FROM group_configs g"
         "   WHERE g.name = c.group_name AND c.group_name <> ''),"
         "  (SELECT json_extract(value, '$.sampleIntervalMs') FROM settings"
         "   WHERE key = 'default_config'), 1000),"
         " c.baseline_pending, c.purged_sequence, c.purged_ms"
         " FROM clients c WHERE c.id = ?1"},
        {&m_selBatch, "SELECT 1 FROM batches WHERE client = ?1 AND sequence = ?2"},
        {&m_selHeadSeq, "SELECT 1 FROM samples WHERE client = ?1 AND sequence = ?2 LIMIT 1"},
        {&m_selChunkSeq,
         "SELECT data FROM sample_chunks WHERE client = ?1 AND seq_max >= ?2 AND seq_min <= ?2"},
        {&m_insBatch,
         "INSERT INTO batches(client, sequence, received_ms, sample_count) VALUES (?1,?2,?3,?4)"},
        {&m_insSample,
         "INSERT INTO samples(client, ts_ms, sequence,"
         " cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_iowait, cpu_irq, cpu_softirq,"
         " cpu_steal, cpu_guest, mem_total, mem_free, mem_available, mem_buffers, mem_cached,"
         " mem_used, swap_total, swap_free, load1, load5, load15, flags, cores)"
         " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,"
         "?21,?22,?23,?24,?25)"},
        {&m_insDevices,
         "INSERT INTO device_chunks(client, window_ms, first_ms, last_ms, sealed, data)"
         " VALUES (?1,?2,?3,?4,0,?5)"},
        {&m_insGap,
         "INSERT INTO gaps(client, start_ms, end_ms, reason, seq_first, seq_last, samples_lost,"
         " recorded_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"},
        {&m_updClient,
         "UPDATE clients SET sample_count = sample_count + ?2, last_sequence = ?3,"
         " last_sample_ms = ?4, dropped_total = ?5, last_seen_ms = MAX(last_seen_ms, ?6),"
         " baseline_pending = 0"
         " WHERE num = ?1"},
        {&m_upsMinute,
         "INSERT INTO sample_minutes VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,"
         "?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26)"
         " ON CONFLICT(client, minute_ms) DO UPDATE SET n = n + excluded.n,"
         " first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms),"
         " mem_total = max(mem_total, excluded.mem_total),"
         " user_min = min(user_min, excluded.user_min), user_max = max(user_max, excluded.user_max),"
         " system_min = min(system_min, excluded.system_min),"
         " system_max = max(system_max, excluded.system_max),"
         " iowait_min = min(iowait_min, excluded.iowait_min),"
         " iowait_max = max(iowait_max, excluded.iowait_max),"
         " steal_min = min(steal_min, excluded.steal_min), steal_max = max(steal_max, excluded.steal_max),"
         " used_min = min(used_min, excluded.used_min), used_max = max(used_max, excluded.used_max),"
         " cache_min = min(cache_min, excluded.cache_min), cache_max = max(cache_max, excluded.cache_max),"
         " available_min = min(available_min, excluded.available_min),"
         " available_max = max(available_max, excluded.available_max),"
         " swap_min = min(swap_min, excluded.swap_min), swap_max = max(swap_max, excluded.swap_max),"
         " busy_min = min(busy_min, excluded.busy_min), busy_max = max(busy_max, excluded.busy_max),"
         " load_min = min(load_min, excluded.load_min), load_max = max(load_max, excluded.load_max)"},
    });
}

StoreResult<std::optional<IngestWriter::ClientRow>> SqliteIngestWriter::client(const QString &id)
{
    sqlite3_stmt *s = m_selClient;
    bindText(s, 1, id);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return std::optional<ClientRow>();
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return m_statements.error("reading a client");
    }
    ClientRow row;
    row.num = sqlite3_column_int64(s, 0);
    row.state.lastSequence = quint64(sqlite3_column_int64(s, 1));
    if (sqlite3_column_type(s, 2) != SQLITE_NULL)
        row.state.lastSampleMs = sqlite3_column_int64(s, 2);
    row.state.droppedTotal = quint64(sqlite3_column_int64(s, 3));
    row.forgotten = sqlite3_column_int(s, 4) != 0;
    row.state.intervalMs = std::max<qint64>(1, sqlite3_column_int64(s, 5));
    row.state.baselinePending = sqlite3_column_int(s, 6) != 0;
    row.purgedSequence = quint64(sqlite3_column_int64(s, 7));
    row.purgedMs = sqlite3_column_int64(s, 8);
    sqlite3_reset(s);
    return std::optional<ClientRow>(row);
}

StoreResult<bool> SqliteIngestWriter::batchExists(qint64 client, quint64 sequence)
{
    sqlite3_stmt *s = m_selBatch;
    sqlite3_bind_int64(s, 1, client);
    sqlite3_bind_int64(s, 2, qint64(sequence));
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return true;
    if (rc != SQLITE_DONE)
        return m_statements.error("looking up a batch");
    // A batch without a row may still be stored: as head rows whose batch row went with an
    // expired part of it, or moved by a merge; or sealed, when the chunks whose sequence range
    // covers it hold one of its samples (a range may have holes: gaps, late batches).
    sqlite3_stmt *h = m_selHeadSeq;
    sqlite3_bind_int64(h, 1, client);
    sqlite3_bind_int64(h, 2, qint64(sequence));
    rc = sqlite3_step(h);
    sqlite3_reset(h);
    if (rc == SQLITE_ROW)
        return true;
    if (rc != SQLITE_DONE)
        return m_statements.error("looking up a batch's samples");
    sqlite3_stmt *c = m_selChunkSeq;
    sqlite3_bind_int64(c, 1, client);
    sqlite3_bind_int64(c, 2, qint64(sequence));
    bool found = false;
    while (!found && (rc = sqlite3_step(c)) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(c, 0);
        QString corrupt;
        if (!SampleChunk::decode(QByteArrayView(static_cast<const char *>(blob), blob ? sqlite3_column_bytes(c, 0) : 0),
                                 m_decoded, &corrupt)) {
            sqlite3_reset(c);
            return storeError(StoreError::Kind::Database,
                              QStringLiteral("looking up batch %1 of client %2: %3").arg(sequence).arg(client).arg(corrupt));
        }
        found = std::find(m_decoded.sequences.begin(), m_decoded.sequences.end(), sequence) != m_decoded.sequences.end();
    }
    sqlite3_reset(c);
    if (found)
        return true;
    if (rc != SQLITE_DONE)
        return m_statements.error("looking up a sealed batch");
    return false;
}

StoreResult<void> SqliteIngestWriter::insertGap(qint64 client, const GapDetector::Found &gap,
                                                qint64 nowMs)
{
    sqlite3_stmt *s = m_insGap;
    sqlite3_bind_int64(s, 1, client);
    sqlite3_bind_int64(s, 2, gap.startMs);
    sqlite3_bind_int64(s, 3, gap.endMs);
    bindText(s, 4, gap.reason);
    if (gap.sequenceFirst) {
        sqlite3_bind_int64(s, 5, qint64(gap.sequenceFirst));
        sqlite3_bind_int64(s, 6, qint64(gap.sequenceLast));
    } else {
        sqlite3_bind_null(s, 5);
        sqlite3_bind_null(s, 6);
    }
    sqlite3_bind_int64(s, 7, qint64(gap.samplesLost));
    sqlite3_bind_int64(s, 8, nowMs);
    return m_statements.run(s, "recording a gap");
}

StoreResult<void> SqliteIngestWriter::insertSamples(qint64 client, const SampleBatch &batch)
{
    sqlite3_stmt *s = m_insSample;
    const float *cores = batch.coreBusy.data();
    for (const Sample &sample : batch.samples) {
        sqlite3_bind_int64(s, 1, client);
        sqlite3_bind_int64(s, 2, sample.timestampMs);
        sqlite3_bind_int64(s, 3, qint64(batch.sequence));
        const CpuTimes &c = sample.cpu;
        sqlite3_bind_double(s, 4, c.user);
        sqlite3_bind_double(s, 5, c.nice);
        sqlite3_bind_double(s, 6, c.system);
        sqlite3_bind_double(s, 7, c.idle);
        sqlite3_bind_double(s, 8, c.iowait);
        sqlite3_bind_double(s, 9, c.irq);
        sqlite3_bind_double(s, 10, c.softirq);
        sqlite3_bind_double(s, 11, c.steal);
        sqlite3_bind_double(s, 12, c.guest);
        const Memory &m = sample.memory;
        sqlite3_bind_int64(s, 13, qint64(m.total));
        sqlite3_bind_int64(s, 14, qint64(m.free));
        sqlite3_bind_int64(s, 15, qint64(m.available));
        sqlite3_bind_int64(s, 16, qint64(m.buffers));
        sqlite3_bind_int64(s, 17, qint64(m.cached));
        sqlite3_bind_int64(s, 18, qint64(m.used));
        sqlite3_bind_int64(s, 19, qint64(m.swapTotal));
        sqlite3_bind_int64(s, 20, qint64(m.swapFree));
        sqlite3_bind_double(s, 21, sample.load1);
        sqlite3_bind_double(s, 22, sample.load5);
        sqlite3_bind_double(s, 23, sample.load15);
        sqlite3_bind_int(s, 24, sample.flags);
        const int n = sample.coreCount;
        if (n == 0) {
            sqlite3_bind_null(s, 25);
        } else if constexpr (std::endian::native == std::endian::little) {
            // The in-memory floats already are the documented on-disk encoding.
            sqlite3_bind_blob(s, 25, cores, n * 4, SQLITE_STATIC);
        } else {
            m_coreScratch.resize(std::size_t(n));
            for (int i = 0; i < n; ++i)
                m_coreScratch[std::size_t(i)] = qToLittleEndian(std::bit_cast<std::uint32_t>(cores[i]));
            sqlite3_bind_blob(s, 25, m_coreScratch.data(), n * 4, SQLITE_STATIC);
        }
        cores += n;
        if (auto r = m_statements.run(s, "storing a sample"); !r)
            return r;
    }
    return {};
}

StoreResult<void> SqliteIngestWriter::insertDevices(qint64 client, const SampleBatch &batch)
{
    for (const DeviceSeries::WindowPart &part : DeviceSeries::byWindow(batch)) {
        // Stored uncompressed: sealing re-encodes the window with zstd a few minutes later.
        const QByteArray blob = DeviceChunk::encode(part.series, DeviceChunk::noCompression);
        sqlite3_stmt *s = m_insDevices;
        sqlite3_bind_int64(s, 1, client);
        sqlite3_bind_int64(s, 2, part.windowMs);
        sqlite3_bind_int64(s, 3, part.firstMs);
        sqlite3_bind_int64(s, 4, part.lastMs);
        sqlite3_bind_blob(s, 5, blob.constData(), int(blob.size()), SQLITE_STATIC);
        if (auto r = m_statements.run(s, "storing device readings"); !r)
            return r;
    }
    return {};
}

StoreResult<void> SqliteIngestWriter::mergeMinute(qint64 client, const MinuteRollup &r)
{
    sqlite3_stmt *s = m_upsMinute;
    sqlite3_bind_int64(s, 1, client);
    sqlite3_bind_int64(s, 2, r.minuteMs);
    sqlite3_bind_int64(s, 3, r.count);
    sqlite3_bind_int64(s, 4, r.firstMs);
    sqlite3_bind_int64(s, 5, r.lastMs);
    sqlite3_bind_double(s, 6, r.memTotal);
    for (int i = 0; i < metrics::seriesCount; ++i) {
        sqlite3_bind_double(s, 7 + 2 * i, r.mins[std::size_t(i)]);
        sqlite3_bind_double(s, 8 + 2 * i, r.maxs[std::size_t(i)]);
    }
    return m_statements.run(s, "updating a minute rollup");
}

StoreResult<void> SqliteIngestWriter::mergeHour(qint64 client, const MinuteRollup &r)
{
    sqlite3_stmt *s = m_upsHour;
    sqlite3_bind_int64(s, 1, client);
    sqlite3_bind_int64(s, 2, r.minuteMs);
    sqlite3_bind_int64(s, 3, r.count);
    sqlite3_bind_int64(s, 4, r.firstMs);
    sqlite3_bind_int64(s, 5, r.lastMs);
    sqlite3_bind_double(s, 6, r.memTotal);
    for (int i = 0; i < metrics::seriesCount; ++i) {
        sqlite3_bind_double(s, 7 + 3 * i, r.mins[std::size_t(i)]);
        sqlite3_bind_double(s, 8 + 3 * i, r.maxs[std::size_t(i)]);
        sqlite3_bind_double(s, 9 + 3 * i, r.sums[std::size_t(i)]);
    }
    return m_statements.run(s, "updating an hour rollup");
}

StoreResult<void> SqliteIngestWriter::insertBatch(qint64 client, quint64 sequence, quint32 samples,
                                                  qint64 nowMs)
{
    sqlite3_stmt *s = m_insBatch;
    sqlite3_bind_int64(s, 1, client);
    sqlite3_bind_int64(s, 2, qint64(sequence));
    sqlite3_bind_int64(s, 3, nowMs);
    sqlite3_bind_int64(s, 4, samples);
    return m_statements.run(s, "storing a batch");
}

StoreResult<void> SqliteIngestWriter::updateClient(qint64 client, const GapDetector::ClientState &state,
                                                   quint32 samples, qint64 nowMs)
{
    sqlite3_stmt *s = m_updClient;
    sqlite3_bind_int64(s, 1, client);
    sqlite3_bind_int64(s, 2, samples);
    sqlite3_bind_int64(s, 3, qint64(state.lastSequence));
    if (state.lastSampleMs)
        sqlite3_bind_int64(s, 4, *state.lastSampleMs);
    else
        sqlite3_bind_null(s, 4);
    sqlite3_bind_int64(s, 5, qint64(state.droppedTotal));
    sqlite3_bind_int64(s, 6, nowMs);
    return m_statements.run(s, "updating a client");
}

} // namespace autofact::server
