// SPDX-License-Identifier: MIT
#include "postgresingestwriter.h"

#include "database.h"
#include "devicechunk.h"
#include "storelogging.h"

#include <QtEndian>

#include <libpq-fe.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <string>

namespace autofact::server {

namespace {

void appendNumber(std::string &out, auto v)
{
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

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
        QString s = QStringLiteral("INSERT INTO sample_minutes VALUES %1 ON CONFLICT(client, minute_ms) DO UPDATE SET"
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
        QString s = QStringLiteral("INSERT INTO sample_hours VALUES %1 ON CONFLICT(client, hour_ms) DO UPDATE SET"
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

void appendCopyRows(std::string &text, qint64 client, const Sample *samples, std::size_t count,
                    const std::function<quint64(std::size_t)> &sequenceOf, const float *cores)
{
    text.reserve(text.size() + count * 260);
    std::uint32_t le[256];
    for (std::size_t i = 0; i < count; ++i) {
        const Sample &x = samples[i];
        appendNumber(text, client);
        text += '\t';
        appendNumber(text, x.timestampMs);
        text += '\t';
        appendNumber(text, qint64(sequenceOf(i)));
        for (const float v : {x.cpu.user, x.cpu.nice, x.cpu.system, x.cpu.idle, x.cpu.iowait, x.cpu.irq,
                              x.cpu.softirq, x.cpu.steal, x.cpu.guest}) {
            text += '\t';
            appendNumber(text, double(v));
        }
        for (const std::uint64_t v : {x.memory.total, x.memory.free, x.memory.available, x.memory.buffers,
                                      x.memory.cached, x.memory.used, x.memory.swapTotal, x.memory.swapFree}) {
            text += '\t';
            appendNumber(text, qint64(v));
        }
        for (const float v : {x.load1, x.load5, x.load15}) {
            text += '\t';
            appendNumber(text, double(v));
        }
        text += '\t';
        appendNumber(text, int(x.flags));
        text += '\t';
        if (x.coreCount == 0) {
            text += "\\N";
        } else {
            // bytea's hex input, its backslash escaped for COPY's text format.
            static constexpr char hex[] = "0123456789abcdef";
            text += "\\\\x";
            for (int k = 0; k < x.coreCount; k += 256) {
                const int n = std::min(256, x.coreCount - k);
                for (int j = 0; j < n; ++j)
                    le[j] = qToLittleEndian(std::bit_cast<std::uint32_t>(cores[k + j]));
                const auto *b = reinterpret_cast<const unsigned char *>(le);
                for (int j = 0; j < n * 4; ++j) {
                    text += hex[b[j] >> 4];
                    text += hex[b[j] & 15];
                }
            }
        }
        cores += x.coreCount;
        text += '\n';
    }
}

/** One COPY of @p text (rows in COPY text format) into the head table, in the open transaction. */
StoreResult<void> copyHeadRows(Database &db, const std::string &text)
{
    if (text.empty())
        return {};
    // COPY through libpq's handle under QPSQL: a multi-row INSERT of the same rows costs the
    // server several times more to parse (docs/BENCHMARKS.md, "PostgreSQL"). Same transaction,
    // same connection: the rows commit, and are acked, with their batches.
    pg_conn *conn = db.postgresHandle();
    if (!conn)
        return databaseError(QStringLiteral("no libpq connection under the Qt PostgreSQL driver"));
    PGresult *started = PQexec(conn, "COPY samples(client, ts_ms, sequence, cpu_user, cpu_nice, cpu_system, cpu_idle,"
                                     " cpu_iowait, cpu_irq, cpu_softirq, cpu_steal, cpu_guest, mem_total, mem_free,"
                                     " mem_available, mem_buffers, mem_cached, mem_used, swap_total, swap_free, load1,"
                                     " load5, load15, flags, cores) FROM STDIN");
    const bool copying = PQresultStatus(started) == PGRES_COPY_IN;
    PQclear(started);
    if (!copying) {
        qCWarning(lcStore).noquote() << "COPY into samples did not start:" << PQerrorMessage(conn);
        return databaseError(QStringLiteral("COPY into samples: %1").arg(QString::fromUtf8(PQerrorMessage(conn)).trimmed()));
    }
    const bool sent = PQputCopyData(conn, text.data(), int(text.size())) == 1;
    PQputCopyEnd(conn, sent ? nullptr : "client could not send the rows");
    QString error;
    while (PGresult *r = PQgetResult(conn)) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && error.isEmpty())
            error = QString::fromUtf8(PQresultErrorMessage(r)).trimmed();
        PQclear(r);
    }
    if (!error.isEmpty() || !sent) {
        qCWarning(lcStore).noquote() << "COPY into samples failed:" << error;
        return databaseError(QStringLiteral("COPY into samples: %1").arg(error.isEmpty() ? QStringLiteral("send failed") : error));
    }
    return {};
}

} // namespace

StoreResult<void> PostgresIngestWriter::prepareWrite(const std::vector<const SampleBatch *> &batches)
{
    // Usually today's partition, made ahead by the housekeeping node; a replayed spool of
    // older days, or a clock far off, needs others. Made here, outside the transaction, they
    // take the parent's lock only for their own short transaction, not while this write holds
    // client rows (which could deadlock with other nodes' writes).
    for (const SampleBatch *batch : batches) {
        if (batch->devices.empty())
            continue;
        for (const Sample &s : batch->samples)
            if (auto p = m_db.ensurePartition("device_chunks", SampleChunk::windowOf(s.timestampMs)); !p)
                return p;
    }
    return {};
}

StoreResult<void> PostgresIngestWriter::beginWrite(const QStringList &clientIds)
{
    m_prefetched.clear();
    m_pending.clear();
    m_copyRows.clear();
    m_queuedClients.clear();
    m_minutes.clear();
    m_hours.clear();
    m_batchRows.clear();
    m_clientUpdates.clear();
    if (m_db.readOnly())
        return {};
    // The chunk tables' parents before any client row, the order retention takes them in
    // (Retention::dropPartitions): a day's DROP then waits for ingest, or ingest for it, and
    // the two never deadlock. Taken on the parents only, these are one lock each.
    auto q = m_db.execText(QStringLiteral("LOCK TABLE ONLY sample_chunks IN ACCESS SHARE MODE;"
                                          "LOCK TABLE ONLY device_chunks IN ROW EXCLUSIVE MODE"));
    if (!q)
        return q.error();
    return prefetchClients(clientIds);
}

namespace {

/** Two rollups of the same period as one: what the upserts would have made of them in turn. */
void mergeInto(MinuteRollup &into, const MinuteRollup &r)
{
    into.count += r.count;
    into.firstMs = std::min(into.firstMs, r.firstMs);
    into.lastMs = std::max(into.lastMs, r.lastMs);
    into.memTotal = std::max(into.memTotal, r.memTotal);
    for (std::size_t i = 0; i < into.mins.size(); ++i) {
        into.mins[i] = std::min(into.mins[i], r.mins[i]);
        into.maxs[i] = std::max(into.maxs[i], r.maxs[i]);
        into.sums[i] += r.sums[i];
    }
}

QString rollupRows(const QHash<QPair<qint64, qint64>, MinuteRollup> &rollups, bool sums)
{
    QString rows;
    for (auto it = rollups.cbegin(); it != rollups.cend(); ++it) {
        if (!rows.isEmpty())
            rows += u',';
        rows += u'(' + rollupValues(it.key().first, it.value(), sums) + u')';
    }
    return rows;
}

} // namespace

QString PostgresIngestWriter::takeStatements()
{
    // A write's rows in a few multi-row statements, one round trip in all: the rollups (one row
    // per client and period, merged here, as ON CONFLICT may touch a row once per statement),
    // the batch rows, the clients' new states, then what was queued as text (gaps, devices).
    QString sql;
    if (!m_minutes.isEmpty())
        sql += minuteUpsert().arg(rollupRows(m_minutes, false)) + u';';
    if (!m_hours.isEmpty())
        sql += hourUpsert().arg(rollupRows(m_hours, true)) + u';';
    if (!m_batchRows.empty()) {
        sql += QLatin1StringView("INSERT INTO batches(client, sequence, received_ms, sample_count) VALUES ");
        for (std::size_t i = 0; i < m_batchRows.size(); ++i) {
            const auto &b = m_batchRows[i];
            sql += (i ? QLatin1StringView(",(") : QLatin1StringView("(")) + QString::number(b[0]) + u',' + QString::number(b[1])
                   + u',' + QString::number(b[2]) + u',' + QString::number(b[3]) + u')';
        }
        sql += u';';
    }
    if (!m_clientUpdates.isEmpty()) {
        sql += QLatin1StringView("UPDATE clients AS c SET sample_count = c.sample_count + v.n, last_sequence = v.seq,"
                                 " last_sample_ms = v.last, dropped_total = v.dropped,"
                                 " last_seen_ms = GREATEST(c.last_seen_ms, v.seen), baseline_pending = 0 FROM (VALUES ");
        bool first = true;
        for (auto it = m_clientUpdates.cbegin(); it != m_clientUpdates.cend(); ++it) {
            const ClientUpdate &u = it.value();
            sql += (first ? QLatin1StringView("(") : QLatin1StringView(",(")) + QString::number(it.key()) + u','
                   + QString::number(u.samples) + u',' + QString::number(u.lastSequence) + u','
                   + (u.lastSampleMs ? QString::number(*u.lastSampleMs) : QStringLiteral("NULL::bigint")) + u','
                   + QString::number(u.dropped) + u',' + QString::number(u.seenMs) + u')';
            first = false;
        }
        sql += QLatin1StringView(") AS v(num, n, seq, last, dropped, seen) WHERE c.num = v.num;");
    }
    sql += m_pending;
    m_minutes.clear();
    m_hours.clear();
    m_batchRows.clear();
    m_clientUpdates.clear();
    m_pending.clear();
    return sql;
}

void PostgresIngestWriter::queue(const QString &sql, const QVariantList &binds)
{
    // Formatted now: the values are the caller's, which may not outlive the call.
    m_pending += binds.isEmpty() ? sql : Database::substituteLiterals(sql, binds);
    m_pending += u';';
}

StoreResult<void> PostgresIngestWriter::flush()
{
    if (const QString sql = takeStatements(); !sql.isEmpty())
        if (auto q = m_db.execText(sql); !q)
            return q.error();
    auto copied = copyHeadRows(m_db, m_copyRows);
    m_copyRows.clear();
    m_queuedClients.clear();
    return copied;
}

StoreResult<void> PostgresIngestWriter::finishWrite()
{
    return flush();
}

namespace {

/** What ingest reads of a client (the effective sample interval resolved), its ID last. */
const QString kClientSelect = QStringLiteral(
        "SELECT c.num, c.last_sequence, c.last_sample_ms, c.dropped_total,"
        " (c.forgotten_ms IS NOT NULL)::int,"
        " COALESCE((c.config_override::jsonb ->> 'sampleIntervalMs')::bigint,"
        "  (SELECT (g.config_override::jsonb ->> 'sampleIntervalMs')::bigint FROM group_configs g"
        "   WHERE g.name = c.group_name AND c.group_name <> ''),"
        "  (SELECT (value::jsonb ->> 'sampleIntervalMs')::bigint FROM settings"
        "   WHERE key = 'default_config'), 1000),"
        " c.baseline_pending, c.purged_sequence, c.purged_ms, c.id FROM clients c");

IngestWriter::ClientRow readClientRow(const QSqlQuery &q)
{
    IngestWriter::ClientRow row;
    row.num = q.value(0).toLongLong();
    row.state.lastSequence = quint64(q.value(1).toLongLong());
    if (!q.value(2).isNull())
        row.state.lastSampleMs = q.value(2).toLongLong();
    row.state.droppedTotal = quint64(q.value(3).toLongLong());
    row.forgotten = q.value(4).toInt() != 0;
    row.state.intervalMs = std::max<qint64>(1, q.value(5).toLongLong());
    row.state.baselinePending = q.value(6).toLongLong() != 0;
    row.purgedSequence = quint64(q.value(7).toLongLong());
    row.purgedMs = q.value(8).toLongLong();
    return row;
}

} // namespace

StoreResult<void> PostgresIngestWriter::prefetchClients(const QStringList &clientIds)
{
    QVariantList ids;
    QSet<QString> seen;
    for (const QString &id : clientIds)
        if (!seen.contains(id)) {
            seen.insert(id);
            ids.append(id);
        }
    // One lookup is one round trip either way.
    if (ids.size() < 2)
        return {};
    QString marks = QStringLiteral("?");
    marks.reserve(ids.size() * 2);
    for (qsizetype i = 1; i < ids.size(); ++i)
        marks += QStringLiteral(",?");
    // Locked in one order (num) by every node: two nodes' writes sharing clients wait for each
    // other instead of deadlocking.
    auto q = m_db.execText(Database::substituteLiterals(
            kClientSelect + QStringLiteral(" WHERE c.id IN (%1) ORDER BY c.num FOR UPDATE OF c").arg(marks), ids));
    if (!q)
        return q.error();
    while (q->next()) {
        const ClientRow row = readClientRow(*q);
        const QString id = q->value(9).toString();
        m_idOfNum.insert(row.num, id);
        m_prefetched.insert(id, row);
    }
    return {};
}

StoreResult<std::optional<IngestWriter::ClientRow>> PostgresIngestWriter::client(const QString &id)
{
    if (const auto it = m_prefetched.constFind(id); it != m_prefetched.cend()) {
        const ClientRow row = *it;
        m_prefetched.erase(it);
        return std::optional<ClientRow>(row);
    }
    // A read-only store (the dashboard, commands) cannot lock; a writer locks the row.
    const QString lock = m_db.readOnly() ? QString() : QStringLiteral(" FOR UPDATE OF c");
    // A client with statements queued (an earlier batch in this write) is looked up after they
    // ran; any other client's row is as the transaction left it.
    if (m_queuedClients.contains(id))
        if (auto f = flush(); !f)
            return f.error();
    auto q = m_db.execText(Database::substituteLiterals(kClientSelect + QStringLiteral(" WHERE c.id = ?") + lock, {id}));
    if (!q)
        return q.error();
    if (!q->next())
        return std::optional<ClientRow>();
    const ClientRow row = readClientRow(*q);
    m_idOfNum.insert(row.num, id);
    return std::optional<ClientRow>(row);
}

StoreResult<bool> PostgresIngestWriter::batchExists(qint64 client, quint64 sequence)
{
    // Rare (a resend): what this write queued must be in the tables it looks at.
    if (auto f = flush(); !f)
        return f.error();
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
    const QVariant none{QMetaType(QMetaType::LongLong)};
    queue(QStringLiteral("INSERT INTO gaps(client, start_ms, end_ms, reason, seq_first, seq_last, samples_lost,"
                         " recorded_ms) VALUES (?,?,?,?,?,?,?,?)"),
          {client, gap.startMs, gap.endMs, gap.reason, gap.sequenceFirst ? QVariant(qint64(gap.sequenceFirst)) : none,
           gap.sequenceFirst ? QVariant(qint64(gap.sequenceLast)) : none, qint64(gap.samplesLost), nowMs});
    return {};
}

StoreResult<void> PostgresIngestWriter::insertHeadRows(Database &db, qint64 client, const Sample *samples,
                                                       std::size_t count,
                                                       const std::function<quint64(std::size_t)> &sequenceOf,
                                                       const float *cores)
{
    std::string text;
    appendCopyRows(text, client, samples, count, sequenceOf, cores);
    return copyHeadRows(db, text);
}

StoreResult<void> PostgresIngestWriter::insertSamples(qint64 client, const SampleBatch &batch)
{
    const quint64 sequence = batch.sequence;
    appendCopyRows(m_copyRows, client, batch.samples.data(), batch.samples.size(),
                   [sequence](std::size_t) { return sequence; }, batch.coreBusy.data());
    return {};
}

StoreResult<void> PostgresIngestWriter::insertDevices(qint64 client, const SampleBatch &batch)
{
    for (const DeviceSeries::WindowPart &part : DeviceSeries::byWindow(batch)) {
        if (auto p = m_db.ensurePartition("device_chunks", part.windowMs); !p)
            return p;
        queue(QStringLiteral("INSERT INTO device_chunks(client, window_ms, first_ms, last_ms, sealed, data)"
                             " VALUES (?,?,?,?,0,?)"),
              {client, part.windowMs, part.firstMs, part.lastMs,
               DeviceChunk::encode(part.series, DeviceChunk::noCompression)});
    }
    return {};
}

StoreResult<void> PostgresIngestWriter::mergeMinute(qint64 client, const MinuteRollup &rollup)
{
    const auto key = qMakePair(client, rollup.minuteMs);
    if (auto it = m_minutes.find(key); it != m_minutes.end())
        mergeInto(*it, rollup);
    else
        m_minutes.insert(key, rollup);
    return {};
}

StoreResult<void> PostgresIngestWriter::mergeHour(qint64 client, const MinuteRollup &rollup)
{
    const auto key = qMakePair(client, rollup.minuteMs);
    if (auto it = m_hours.find(key); it != m_hours.end())
        mergeInto(*it, rollup);
    else
        m_hours.insert(key, rollup);
    return {};
}

StoreResult<void> PostgresIngestWriter::insertBatch(qint64 client, quint64 sequence, quint32 samples, qint64 nowMs)
{
    m_batchRows.push_back({client, qint64(sequence), nowMs, qint64(samples)});
    return {};
}

StoreResult<void> PostgresIngestWriter::updateClient(qint64 client, const GapDetector::ClientState &state,
                                                     quint32 samples, qint64 nowMs)
{
    m_queuedClients.insert(m_idOfNum.value(client));
    // A client's next batch in the same write is read after a flush, so there is one update
    // per client at a time; summing keeps it right regardless.
    ClientUpdate &u = m_clientUpdates[client];
    u.samples += samples;
    u.lastSequence = qint64(state.lastSequence);
    u.lastSampleMs = state.lastSampleMs;
    u.dropped = qint64(state.droppedTotal);
    u.seenMs = std::max(u.seenMs, nowMs);
    return {};
}

} // namespace autofact::server
