// SPDX-License-Identifier: MIT
#include "retention.h"

#include "database.h"
#include "samplechunk.h"
#include "storelogging.h"
#include "transaction.h"

#include <QFileInfo>

#include <sqlite3.h>
#include <QHash>

#include <array>
#include <limits>

namespace autofact::server {

namespace {

constexpr qint64 kNever = std::numeric_limits<qint64>::min();
constexpr qint64 kHourMs = 3600LL * 1000;

struct Key {
    const char *key;
    qint64 RetentionSettings::*field;
};
constexpr Key kKeys[] = {
        {"keep_raw_ms", &RetentionSettings::keepRawMs},
        {"keep_minutes_ms", &RetentionSettings::keepMinutesMs},
        {"keep_hours_ms", &RetentionSettings::keepHoursMs},
        {"max_db_bytes", &RetentionSettings::maxDbBytes},
};

} // namespace

StoreResult<RetentionSettings> Retention::settings()
{
    RetentionSettings s;
    auto q = m_db.exec(QStringLiteral("SELECT key, value FROM settings WHERE key IN"
                                      " ('keep_raw_ms', 'keep_minutes_ms', 'keep_hours_ms', 'max_db_bytes')"));
    if (!q)
        return q.error();
    while (q->next()) {
        bool ok = false;
        const qint64 v = q->value(1).toString().toLongLong(&ok);
        for (const Key &k : kKeys)
            if (q->value(0).toString() == QLatin1StringView(k.key)) {
                if (ok && v >= 0)
                    s.*k.field = v;
                else
                    qCWarning(lcStore).noquote() << "stored setting" << k.key << "is not a valid number; using the default";
            }
    }
    return s;
}

StoreResult<void> Retention::setSettings(const RetentionSettings &s)
{
    for (const Key &k : kKeys)
        if (s.*k.field < 0)
            return storeError(StoreError::Kind::Invalid, QStringLiteral("%1 cannot be negative").arg(QLatin1StringView(k.key)));
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    for (const Key &k : kKeys)
        if (auto q = m_db.exec(QStringLiteral("INSERT INTO settings(key, value) VALUES (?, ?)"
                                              " ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
                               {QString::fromLatin1(k.key), QString::number(s.*k.field)});
            !q)
            return q.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    qCInfo(lcStore).noquote() << "retention: raw" << s.keepRawMs / 1000 << "s, minutes" << s.keepMinutesMs / 1000
                              << "s, hours" << s.keepHoursMs / 1000 << "s, size cap" << s.maxDbBytes << "bytes (0: none)";
    return {};
}

StoreResult<qint64> Retention::usedBytes()
{
    if (m_db.isPostgres()) {
        // What the database takes on the server's disk (tables, indexes, TOAST; not WAL).
        auto v = m_db.scalar(QStringLiteral("SELECT pg_database_size(current_database())"));
        if (!v)
            return v.error();
        return v->toLongLong();
    }
    auto q = m_db.exec(QStringLiteral("SELECT (SELECT page_count FROM pragma_page_count())"
                                      " - (SELECT freelist_count FROM pragma_freelist_count()),"
                                      " (SELECT page_size FROM pragma_page_size())"));
    if (!q)
        return q.error();
    if (!q->next())
        return databaseError(QStringLiteral("cannot read the page counts"));
    return q->value(0).toLongLong() * q->value(1).toLongLong();
}

StoreResult<qint64> Retention::oldest(const char *table, const char *timeColumn)
{
    // One index seek per client: min() over a whole (client, time) key would scan it.
    auto v = m_db.scalar(QStringLiteral("SELECT coalesce(min(m), 0) FROM (SELECT (SELECT min(%2) FROM %1"
                                        " WHERE client = c.num) AS m FROM clients c) AS t")
                                 .arg(QLatin1StringView(table), QLatin1StringView(timeColumn)));
    if (!v)
        return v.error();
    return v->toLongLong();
}

StoreResult<qint64> Retention::oldestRaw()
{
    auto head = oldest("samples", "ts_ms");
    if (!head)
        return head;
    auto chunks = oldest("sample_chunks", "window_ms"); // a window starts at or before its first sample
    if (!chunks)
        return chunks;
    if (*head == 0 || *chunks == 0)
        return std::max(*head, *chunks);
    return std::min(*head, *chunks);
}

StoreResult<QList<qint64>> Retention::clientsOlderThan(const char *table, const char *timeColumn, qint64 horizonMs)
{
    // One index seek per client on its (client, time) key, never a scan of the tier.
    auto clients = m_db.exec(QStringLiteral("SELECT num FROM (SELECT num, (SELECT min(%2) FROM %1 WHERE client = c.num)"
                                            " AS m FROM clients c) AS t WHERE m < ?")
                                     .arg(QLatin1StringView(table), QLatin1StringView(timeColumn)),
                             {horizonMs});
    if (!clients)
        return clients.error();
    QList<qint64> nums;
    while (clients->next())
        nums.append(clients->value(0).toLongLong());
    return nums;
}

StoreResult<void> Retention::markExpired(qint64 num, qint64 samples, qint64 maxSequence, qint64 firstMs, qint64 lastMs)
{
    if (auto q = m_db.exec(QStringLiteral("UPDATE clients SET sample_count = max(0, sample_count - ?),"
                                          " purged_sequence = max(purged_sequence, ?), purged_ms = max(purged_ms, ?)"
                                          " WHERE num = ?"),
                           {samples, maxSequence, lastMs + 1, num});
        !q)
        return q.error();
    // One "expired" gap per client, growing with the horizon: charts and exports say why
    // the raw samples are gone and show the range from the rollups.
    auto gap = m_db.exec(QStringLiteral("UPDATE gaps SET start_ms = min(start_ms, ?), end_ms = max(end_ms, ?)"
                                        " WHERE client = ? AND reason = 'expired'"),
                         {firstMs, lastMs, num});
    if (!gap)
        return gap.error();
    if (gap->numRowsAffected() == 0)
        if (auto q = m_db.exec(QStringLiteral("INSERT INTO gaps(client, start_ms, end_ms, reason, samples_lost, recorded_ms)"
                                              " VALUES (?, ?, ?, 'expired', 0, ?)"),
                               {num, firstMs, lastMs, lastMs});
            !q)
            return q.error();
    return {};
}

StoreResult<void> Retention::dropPartitions(qint64 lastWindow, PurgeResult &result)
{
    // A day partition whose every window starts at or before lastWindow goes whole (one DROP,
    // no row deletes, no dead tuples), after its clients' counts and horizons are moved on as
    // chunk by chunk purging would.
    QList<std::pair<bool, QString>> expired; // (sample chunks?, partition)
    for (const char *table : {"sample_chunks", "device_chunks"}) {
        const bool samples = qstrcmp(table, "sample_chunks") == 0;
        auto parts = m_db.exec(QStringLiteral("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                                              " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ?"
                                              " AND p.relnamespace = current_schema()::regnamespace"),
                               {QString::fromLatin1(table)});
        if (!parts)
            return parts.error();
        const QString prefix = QString::fromLatin1(table) + QStringLiteral("_d");
        while (parts->next()) {
            const QString name = parts->value(0).toString();
            if (!name.startsWith(prefix))
                continue;
            const QStringView suffix = QStringView(name).mid(prefix.size());
            bool ok = false;
            const qint64 day = suffix.startsWith(u'm') ? -suffix.mid(1).toLongLong(&ok) : suffix.toLongLong(&ok);
            if (ok && (day + 1) * Database::partitionMs - 1 <= lastWindow)
                expired.append({samples, name});
        }
    }
    if (expired.isEmpty())
        return {};
    // Both parents first, before any client row: a DROP locks its parent exclusively, and an
    // ingest transaction holding a client row while waiting for the parent would deadlock
    // with us holding the parent while waiting for that row. Ingest takes them in this order
    // too (PostgresIngestWriter::beginWrite); it waits a moment here, at its start.
    if (auto l = m_db.exec(QStringLiteral("LOCK TABLE ONLY sample_chunks, ONLY device_chunks IN ACCESS EXCLUSIVE MODE")); !l)
        return l.error();
    for (const auto &[samples, name] : std::as_const(expired)) {
        if (samples) {
            auto per = m_db.exec(QStringLiteral("SELECT client, sum(samples), max(seq_max), min(first_ms), max(last_ms)"
                                                " FROM %1 GROUP BY client ORDER BY client").arg(name));
            if (!per)
                return per.error();
            QList<std::array<qint64, 5>> rows;
            while (per->next())
                rows.append({per->value(0).toLongLong(), per->value(1).toLongLong(), per->value(2).toLongLong(),
                             per->value(3).toLongLong(), per->value(4).toLongLong()});
            for (const auto &r : std::as_const(rows)) {
                if (auto m = markExpired(r[0], r[1], r[2], r[3], r[4]); !m)
                    return m;
                result.rawRows += r[1];
                result.droppedRows += r[1];
            }
        } else {
            auto n = m_db.scalar(QStringLiteral("SELECT count(*) FROM %1").arg(name));
            if (!n)
                return n.error();
            result.deviceRows += n->toLongLong();
            result.droppedRows += n->toLongLong();
        }
        if (auto d = m_db.exec(QStringLiteral("DROP TABLE %1").arg(name)); !d)
            return d.error();
        m_db.forgetPartitions();
    }
    return {};
}

StoreResult<void> Retention::purgeRaw(qint64 horizonMs, qint64 &budget, PurgeResult &result)
{
    if (budget <= 0)
        return {};
    // Chunks first: whole ten-minute windows that ended before the horizon, a few rows each.
    // A window the horizon cuts stays until it has passed entirely.
    // Windows starting at or before lastWindow end before the horizon (none when kept forever).
    const qint64 lastWindow = horizonMs == kNever ? kNever : horizonMs - SampleChunk::windowMs;
    if (m_db.isPostgres() && horizonMs != kNever)
        if (auto r = dropPartitions(lastWindow, result); !r)
            return r;
    // Device readings go with the raw tier, window by window (a few rows per client and window).
    if (horizonMs != kNever) {
        auto devices = m_db.exec(QStringLiteral("DELETE FROM device_chunks WHERE rowid IN (SELECT rowid FROM device_chunks"
                                                " WHERE window_ms <= ? LIMIT ?)"),
                                 {lastWindow, budget});
        if (!devices)
            return devices.error();
        result.deviceRows += devices->numRowsAffected();
        budget -= devices->numRowsAffected();
    }
    auto chunkClients = m_db.exec(QStringLiteral("SELECT num FROM (SELECT num, (SELECT min(window_ms) FROM sample_chunks"
                                                 " WHERE client = c.num) AS m FROM clients c) AS t WHERE m <= ? ORDER BY num"),
                                  {lastWindow});
    if (!chunkClients)
        return chunkClients.error();
    QList<qint64> withChunks;
    while (chunkClients->next())
        withChunks.append(chunkClients->value(0).toLongLong());
    chunkClients->finish();
    for (const qint64 num : std::as_const(withChunks)) {
        if (budget <= 0)
            break;
        auto span = m_db.exec(QStringLiteral("SELECT rowid, samples, seq_max, first_ms, last_ms FROM sample_chunks"
                                             " WHERE client = ? AND window_ms <= ? ORDER BY window_ms, first_ms"),
                              {num, lastWindow});
        if (!span)
            return span.error();
        QList<qint64> rowIds;
        qint64 samples = 0, maxSequence = 0;
        qint64 firstMs = std::numeric_limits<qint64>::max(), lastMs = std::numeric_limits<qint64>::min();
        while (span->next()) {
            const qint64 n = span->value(1).toLongLong();
            if (!rowIds.isEmpty() && samples + n > budget)
                break; // whole chunks only, and the slice stays within its bound
            rowIds.append(span->value(0).toLongLong());
            samples += n;
            maxSequence = std::max(maxSequence, span->value(2).toLongLong());
            firstMs = std::min(firstMs, span->value(3).toLongLong());
            lastMs = std::max(lastMs, span->value(4).toLongLong());
        }
        span->finish();
        for (const qint64 rowId : std::as_const(rowIds))
            if (auto q = m_db.exec(QStringLiteral("DELETE FROM sample_chunks WHERE rowid = ?"), {rowId}); !q)
                return q.error();
        if (rowIds.isEmpty())
            continue;
        budget -= samples;
        result.rawRows += samples;
        if (auto r = markExpired(num, samples, maxSequence, firstMs, lastMs); !r)
            return r;
    }
    // Head rows by whole windows too: a window the horizon cuts keeps its head rows with its
    // chunk, so the raw horizon (purged_ms) never passes a sample that is still stored.
    const qint64 headHorizon = horizonMs == kNever ? kNever : SampleChunk::windowOf(horizonMs);
    auto nums = clientsOlderThan("samples", "ts_ms", headHorizon);
    if (!nums)
        return nums.error();
    for (const qint64 num : std::as_const(*nums)) {
        if (budget <= 0)
            break;
        const QVariantList slice{num, headHorizon, budget};
        auto span = m_db.exec(QStringLiteral("SELECT max(sequence), min(ts_ms), max(ts_ms) FROM (SELECT sequence, ts_ms"
                                             " FROM samples WHERE client = ? AND ts_ms < ? ORDER BY ts_ms LIMIT ?) AS t"),
                              slice);
        if (!span)
            return span.error();
        if (!span->next() || span->value(1).isNull())
            continue;
        const qint64 maxSequence = span->value(0).toLongLong();
        const qint64 firstMs = span->value(1).toLongLong();
        const qint64 lastMs = span->value(2).toLongLong();
        span->finish();
        auto deleted = m_db.exec(QStringLiteral("DELETE FROM samples WHERE rowid IN (SELECT rowid FROM samples"
                                                " WHERE client = ? AND ts_ms < ? ORDER BY ts_ms LIMIT ?)"),
                                 slice);
        if (!deleted)
            return deleted.error();
        const qint64 k = deleted->numRowsAffected();
        budget -= k;
        result.rawRows += k;
        if (auto r = markExpired(num, k, maxSequence, firstMs, lastMs); !r)
            return r;
    }
    // Their batches go too, in this slice or a later one; the purged sequence keeps a resend
    // from being stored again.
    auto owing = m_db.exec(QStringLiteral("SELECT num, purged_sequence FROM clients c WHERE purged_sequence > 0"
                                          " AND EXISTS (SELECT 1 FROM batches b WHERE b.client = c.num"
                                          " AND b.sequence <= c.purged_sequence)"));
    if (!owing)
        return owing.error();
    QList<std::pair<qint64, qint64>> batchesOf;
    while (owing->next())
        batchesOf.append({owing->value(0).toLongLong(), owing->value(1).toLongLong()});
    owing->finish();
    for (const auto &[num, upTo] : std::as_const(batchesOf)) {
        if (budget <= 0)
            break;
        auto batches = m_db.exec(QStringLiteral("DELETE FROM batches WHERE client = ? AND sequence IN (SELECT sequence"
                                                " FROM batches WHERE client = ? AND sequence <= ? LIMIT ?)"),
                                 {num, num, upTo, budget});
        if (!batches)
            return batches.error();
        budget -= batches->numRowsAffected();
        result.batchRows += batches->numRowsAffected();
    }
    return {};
}

StoreResult<void> Retention::purgeRollups(const char *table, const char *timeColumn, qint64 horizonMs, qint64 &budget,
                                          qint64 &deleted)
{
    if (horizonMs == kNever || budget <= 0)
        return {};
    const QLatin1StringView t(table);
    const QLatin1StringView c(timeColumn);
    auto nums = clientsOlderThan(table, timeColumn, horizonMs);
    if (!nums)
        return nums.error();
    for (const qint64 num : std::as_const(*nums)) {
        if (budget <= 0)
            break;
        auto q = m_db.exec(QStringLiteral("DELETE FROM %1 WHERE client = ? AND %2 IN (SELECT %2 FROM %1"
                                          " WHERE client = ? AND %2 < ? ORDER BY %2 LIMIT ?)")
                                   .arg(t, c),
                           {num, num, horizonMs, budget});
        if (!q)
            return q.error();
        budget -= q->numRowsAffected();
        deleted += q->numRowsAffected();
    }
    return {};
}

StoreResult<PurgeResult> Retention::purgeSlice(qint64 nowMs, int maxRows)
{
    auto s = settings();
    if (!s)
        return s.error();
    PurgeResult result;
    qint64 budget = std::max(1, maxRows);
    qint64 rawHorizon = s->keepRawMs > 0 ? nowMs - s->keepRawMs : kNever;
    qint64 minuteHorizon = s->keepMinutesMs > 0 ? nowMs - s->keepMinutesMs : kNever;
    qint64 hourHorizon = s->keepHoursMs > 0 ? nowMs - s->keepHoursMs : kNever;
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    if (auto l = m_db.requireLeader(); !l) // the check before BEGIN may be stale on a shared store
        return l.error();
    if (s->maxDbBytes > 0) {
        auto used = usedBytes();
        if (!used)
            return used.error();
        if (*used > s->maxDbBytes) {
            // Over the budget: the oldest hour of raw samples, then the oldest day of minutes,
            // then the oldest week of hours, a step per slice until the pages in use fit.
            result.overBudget = true;
            // Each tier keeps a floor the budget never takes (the last hour of raw samples,
            // the last day of minutes, the last week of hours): a cap too small for what a
            // live server holds must not delete what was just acknowledged.
            auto raw = oldestRaw();
            auto minutes = raw ? oldest("sample_minutes", "minute_ms") : StoreResult<qint64>(raw.error());
            auto hours = minutes ? oldest("sample_hours", "hour_ms") : StoreResult<qint64>(minutes.error());
            if (!hours)
                return hours.error();
            if (*raw != 0 && *raw + kHourMs <= nowMs - kHourMs)
                rawHorizon = std::max(rawHorizon, *raw + kHourMs);
            else if (*minutes != 0 && *minutes + 24 * kHourMs <= nowMs - 24 * kHourMs)
                minuteHorizon = std::max(minuteHorizon, *minutes + 24 * kHourMs);
            else if (*hours != 0 && *hours + 7 * 24 * kHourMs <= nowMs - 7 * 24 * kHourMs)
                hourHorizon = std::max(hourHorizon, *hours + 7 * 24 * kHourMs);
            else
                result.overBudget = false; // nothing the budget may take: say so once, below
        }
    }
    if (auto r = purgeRaw(rawHorizon, budget, result); !r)
        return r.error();
    if (auto r = purgeRollups("sample_minutes", "minute_ms", minuteHorizon, budget, result.minuteRows); !r)
        return r.error();
    if (auto r = purgeRollups("sample_hours", "hour_ms", hourHorizon, budget, result.hourRows); !r)
        return r.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    result.more = budget <= 0 || (result.overBudget && result.total() > 0);
    if (s->maxDbBytes > 0 && !result.overBudget && result.total() == 0) {
        auto used = usedBytes();
        if (used && *used > s->maxDbBytes)
            result.stuckOverBudget = true;
    }
    if (result.total() > 0 && !m_db.isPostgres()) {
        // Freed pages go back to the file system where the file allows it (new databases).
        if (auto mode = m_db.scalar(QStringLiteral("PRAGMA auto_vacuum")); mode && mode->toInt() == 2)
            if (sqlite3 *handle = m_db.sqliteHandle()) {
                // The pragma frees one page per step and has no columns, so Qt Sql (like most
                // wrappers) steps it once: stepped here until it is done.
                sqlite3_stmt *v = nullptr;
                if (sqlite3_prepare_v2(handle, "PRAGMA incremental_vacuum(4096)", -1, &v, nullptr) == SQLITE_OK) {
                    while (sqlite3_step(v) == SQLITE_ROW) {
                    }
                }
                sqlite3_finalize(v);
            }
    }
    return result;
}

StoreResult<StorageStats> Retention::stats()
{
    StorageStats out;
    auto used = usedBytes();
    if (!used)
        return used.error();
    out.usedBytes = *used;
    QHash<QString, qint64> pages;
    if (m_db.isPostgres()) {
        out.fileBytes = *used;
        // Bytes per table with its indexes and TOAST, partitions counted in their parent.
        auto q = m_db.exec(QStringLiteral(
                "SELECT coalesce(p.relname, c.relname), sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                " LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent"
                " WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace"
                " GROUP BY coalesce(p.relname, c.relname)"));
        if (!q)
            return q.error();
        while (q->next())
            pages.insert(q->value(0).toString(), q->value(1).toLongLong());
    } else {
        const QFileInfo main(m_db.path());
        const QFileInfo wal(m_db.path() + QStringLiteral("-wal"));
        out.fileBytes = (main.exists() ? main.size() : 0) + (wal.exists() ? wal.size() : 0);
        // Bytes per table from SQLite's dbstat, when the library has it (Debian's does).
        if (auto q = m_db.exec(QStringLiteral("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")))
            while (q->next())
                pages.insert(q->value(0).toString(), q->value(1).toLongLong());
    }
    struct Tier {
        const char *name;
        const char *table;
        const char *column;
        QStringList objects;
    };
    const Tier tiers[] = {
            {"raw", "samples", "ts_ms",
             {QStringLiteral("samples"), QStringLiteral("samples_client_ts"), QStringLiteral("sample_chunks"),
              QStringLiteral("sample_chunks_client_window"),
              // Device readings share the raw tier's retention, so they count in its bytes.
              QStringLiteral("device_chunks"), QStringLiteral("device_chunks_client_window"),
              QStringLiteral("device_chunks_open"), QStringLiteral("device_chunks_window")}},
            {"minutes", "sample_minutes", "minute_ms", {QStringLiteral("sample_minutes")}},
            {"hours", "sample_hours", "hour_ms", {QStringLiteral("sample_hours")}},
    };
    for (const Tier &t : tiers) {
        TierStats s;
        s.name = QString::fromLatin1(t.name);
        const bool raw = s.name == u"raw";
        auto rows = m_db.scalar(raw ? QStringLiteral("SELECT coalesce(sum(sample_count), 0) FROM clients")
                                    : QStringLiteral("SELECT count(*) FROM %1").arg(QLatin1StringView(t.table)));
        if (!rows)
            return rows.error();
        s.rows = rows->toLongLong();
        auto first = oldest(t.table, t.column);
        if (!first)
            return first.error();
        s.oldestMs = *first;
        if (raw) {
            // The exact first sample: the oldest chunk's, when it is older than the head's.
            auto chunkFirst = m_db.scalar(QStringLiteral("SELECT coalesce(min(m), 0) FROM (SELECT (SELECT first_ms FROM sample_chunks"
                                                         " WHERE client = c.num ORDER BY window_ms, first_ms LIMIT 1) AS m FROM clients c) AS t"));
            if (!chunkFirst)
                return chunkFirst.error();
            if (const qint64 c = chunkFirst->toLongLong(); c != 0 && (s.oldestMs == 0 || c < s.oldestMs))
                s.oldestMs = c;
        }
        auto last = m_db.scalar(raw ? QStringLiteral("SELECT coalesce(max(m), 0) FROM (SELECT max(coalesce((SELECT max(ts_ms) FROM samples"
                                                     " WHERE client = c.num), 0), coalesce((SELECT last_ms FROM sample_chunks"
                                                     " WHERE client = c.num ORDER BY window_ms DESC, first_ms DESC LIMIT 1), 0)) AS m FROM clients c) AS t")
                                    : QStringLiteral("SELECT coalesce(max(m), 0) FROM (SELECT (SELECT max(%2) FROM %1"
                                                     " WHERE client = c.num) AS m FROM clients c) AS t")
                                              .arg(QLatin1StringView(t.table), QLatin1StringView(t.column)));
        if (!last)
            return last.error();
        s.newestMs = last->toLongLong();
        for (const QString &o : t.objects)
            s.bytes += pages.value(o);
        out.tiers.append(s);
    }
    return out;
}

} // namespace autofact::server
