// SPDX-License-Identifier: MIT
#include "inventory.h"

#include "chunksealer.h"
#include "samplechunk.h"
#include "samplereader.h"

#include "configstore.h"
#include "database.h"
#include "storelogging.h"
#include "transaction.h"

#include <QRegularExpression>
#include <QSqlQuery>

#include <algorithm>

namespace autofact::server {

namespace {
StoreError unknownClient(const QString &id)
{
    return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown client: %1").arg(id));
}
} // namespace

StoreResult<QList<ClientInfo>> Inventory::query(const QString &whereClause, const QVariantList &binds)
{
    auto defaults = m_configs.defaultConfig();
    if (!defaults)
        return defaults.error();
    const quint32 defaultRevision = defaults->revision;
    auto q = m_db.exec(
            QStringLiteral(
                    "SELECT c.id, c.hostname, c.os_name, c.os_version, c.kernel, c.arch, c.cpu_model,"
                    " c.cpu_count, c.mem_total, c.boot_time_ms, c.agent_version, c.first_seen_ms,"
                    " c.last_seen_ms, c.last_sample_ms, c.connection_count, c.sample_count,"
                    " EXISTS(SELECT 1 FROM connections k WHERE k.client = c.num"
                    "        AND k.disconnected_ms IS NULL),"
                    " c.forgotten_ms IS NOT NULL, c.config_override IS NOT NULL, c.config_revision,"
                    " c.applied_revision, c.applied_ms, c.dropped_total, c.last_sequence,"
                    " COALESCE(c.blocked_ms, 0), c.group_name, COALESCE(c.previous_id, ''),"
                    " COALESCE(g.config_revision, 0)"
                    " FROM clients c LEFT JOIN group_configs g"
                    " ON g.name = c.group_name AND c.group_name <> '' %1 ORDER BY c.id")
                    .arg(whereClause),
            binds);
    if (!q)
        return q.error();
    QList<ClientInfo> list;
    while (q->next()) {
        ClientInfo c;
        c.id = q->value(0).toString();
        c.hostname = q->value(1).toString();
        c.osName = q->value(2).toString();
        c.osVersion = q->value(3).toString();
        c.kernel = q->value(4).toString();
        c.arch = q->value(5).toString();
        c.cpuModel = q->value(6).toString();
        c.cpuCount = std::uint16_t(q->value(7).toUInt());
        c.memTotal = q->value(8).toULongLong();
        c.bootTimeMs = q->value(9).toLongLong();
        c.agentVersion = q->value(10).toString();
        c.firstSeenMs = q->value(11).toLongLong();
        c.lastSeenMs = q->value(12).toLongLong();
        c.lastSampleMs = q->value(13).toLongLong();
        c.connectionCount = q->value(14).toLongLong();
        c.sampleCount = q->value(15).toLongLong();
        c.online = q->value(16).toBool();
        c.forgotten = q->value(17).toBool();
        c.hasOverride = q->value(18).toBool();
        c.configRevision = std::max({defaultRevision, q->value(19).toUInt(), q->value(27).toUInt()});
        c.appliedRevision = q->value(20).toUInt();
        c.appliedMs = q->value(21).toLongLong();
        c.droppedTotal = q->value(22).toULongLong();
        c.lastSequence = q->value(23).toULongLong();
        c.blockedMs = q->value(24).toLongLong();
        c.groupName = q->value(25).toString();
        c.previousId = q->value(26).toString();
        list.append(c);
    }
    return list;
}

StoreResult<QList<ClientInfo>> Inventory::clients()
{
    return query(QString(), {});
}

StoreResult<ClientInfo> Inventory::client(const QString &id)
{
    auto list = query(QStringLiteral("WHERE c.id = ?"), {id});
    if (!list)
        return list.error();
    if (list->isEmpty())
        return unknownClient(id);
    return list->first();
}

StoreResult<QStringList> Inventory::resolveClients(const QStringList &idsOrHostnames)
{
    QStringList ids;
    for (const QString &token : idsOrHostnames) {
        // Host names match without case (the index is on lower(hostname) in PostgreSQL).
        auto q = m_db.exec(m_db.isPostgres() ? QStringLiteral("SELECT id, hostname = ? FROM clients"
                                                              " WHERE id = ? OR lower(hostname) = lower(?)"
                                                              " ORDER BY id = ? DESC, id")
                                             : QStringLiteral("SELECT id, hostname = ? FROM clients"
                                                              " WHERE id = ? OR hostname = ? COLLATE NOCASE"
                                                              " ORDER BY id = ? DESC, id"),
                           {token, token, token, token});
        if (!q)
            return q.error();
        QStringList exact;
        QStringList caseless;
        QString byId;
        while (q->next()) {
            const QString id = q->value(0).toString();
            if (id == token)
                byId = id;
            else if (q->value(1).toBool())
                exact.append(id);
            else
                caseless.append(id);
        }
        // An ID names one client. A hostname must too: hostnames are the agents' words, and
        // two machines (or an impostor) may share one, in any case; their histories are never
        // merged behind the user's back. An exact-case match is preferred to caseless ones.
        QString chosen = byId;
        if (chosen.isEmpty()) {
            const QStringList &candidates = !exact.isEmpty() ? exact : caseless;
            if (candidates.size() > 1)
                return storeError(StoreError::Kind::Invalid,
                                  QStringLiteral("hostname %1 names %2 clients (%3): name one by ID")
                                      .arg(token)
                                      .arg(candidates.size())
                                      .arg(candidates.join(QStringLiteral(", "))));
            if (candidates.isEmpty())
                return unknownClient(token);
            chosen = candidates.front();
        }
        if (!ids.contains(chosen))
            ids.append(chosen);
    }
    return ids;
}

StoreResult<void> Inventory::forgetClient(const QString &id, bool deleteHistory, qint64 nowMs)
{
    auto q = deleteHistory
            ? m_db.exec(QStringLiteral("DELETE FROM clients WHERE id = ?"), {id})
            : m_db.exec(QStringLiteral("UPDATE clients SET secret_salt = NULL, secret_hash = NULL,"
                                       " forgotten_ms = ? WHERE id = ?"),
                        {nowMs, id});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return unknownClient(id);
    qCInfo(lcStore).noquote() << (deleteHistory ? "deleted client and history" : "forgot client") << id;
    return {};
}

StoreResult<QHash<QString, QString>> Inventory::groupMembership()
{
    auto q = m_db.exec(QStringLiteral("SELECT id, group_name FROM clients WHERE group_name <> ''"));
    if (!q)
        return q.error();
    QHash<QString, QString> out;
    while (q->next())
        out.insert(q->value(0).toString(), q->value(1).toString());
    return out;
}

StoreResult<QList<GroupInfo>> Inventory::groups()
{
    auto q = m_db.exec(QStringLiteral(
            "SELECT name, sum(members), max(overridden) FROM ("
            " SELECT group_name AS name, count(*) AS members, 0 AS overridden FROM clients"
            "  WHERE group_name <> '' GROUP BY group_name"
            " UNION ALL SELECT name, 0, CASE WHEN config_override IS NULL THEN 0 ELSE 1 END FROM group_configs) AS g"
            " GROUP BY name HAVING sum(members) > 0 OR max(overridden) > 0 ORDER BY name"));
    if (!q)
        return q.error();
    QList<GroupInfo> out;
    while (q->next())
        out.append({q->value(0).toString(), q->value(1).toInt(), q->value(2).toBool()});
    return out;
}


namespace {

// SQLite's numbered parameters (?1) let one value appear twice; Qt's driver counts each
// occurrence, so they become plain '?' with the values repeated in order.
StoreResult<QSqlQuery> runNumbered(Database &db, const QString &sql, const QVariantList &binds)
{
    static const QRegularExpression numbered(QStringLiteral("\\?(\\d+)"));
    QString plain;
    QVariantList values;
    qsizetype at = 0;
    for (auto it = numbered.globalMatch(sql); it.hasNext();) {
        const QRegularExpressionMatch m = it.next();
        plain += QStringView(sql).mid(at, m.capturedStart() - at);
        plain += u'?';
        values.append(binds.value(m.captured(1).toInt() - 1));
        at = m.capturedEnd();
    }
    if (at == 0)
        return db.exec(sql, binds);
    plain += QStringView(sql).mid(at);
    return db.exec(plain, values);
}

// The hour tier's series, with their definitions in SQL (metrics::seriesValue, schema v9).
constexpr std::pair<const char *, const char *> kHourSeries[] = {
        {"user", "cpu_user + cpu_nice"},
        {"system", "cpu_system + cpu_irq + cpu_softirq"},
        {"iowait", "cpu_iowait"},
        {"steal", "cpu_steal"},
        {"used", "mem_used"},
        {"cache", "mem_cached + mem_buffers"},
        {"available", "mem_available"},
        {"swap", "swap_total - min(swap_free, swap_total)"},
        {"busy", "cpu_user + cpu_nice + cpu_system + cpu_irq + cpu_softirq + cpu_steal"},
        {"load", "load1"},
};

// A sample of the old identity that the new one also stored: same batch sequence and same
// time. A sequence alone is not enough: a reinstalled agent counts from 1 again.
constexpr const char *kSameSample =
        "EXISTS (SELECT 1 FROM samples n WHERE n.client = ?2 AND n.ts_ms = samples.ts_ms"
        " AND n.sequence = samples.sequence)";

} // namespace

StoreResult<MergeJob> Inventory::beginMerge(const QString &oldId, const QString &newId)
{
    if (oldId == newId)
        return storeError(StoreError::Kind::Invalid, QStringLiteral("a client cannot be merged with itself"));
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    auto o = m_db.exec(QStringLiteral("SELECT num, forgotten_ms IS NOT NULL,"
                                      " EXISTS(SELECT 1 FROM connections k WHERE k.client = c.num"
                                      " AND k.disconnected_ms IS NULL)"
                                      " FROM clients c WHERE id = ?"),
                       {oldId});
    if (!o)
        return o.error();
    if (!o->next())
        return unknownClient(oldId);
    MergeJob job;
    job.oldId = oldId;
    job.newId = newId;
    job.oldNum = o->value(0).toLongLong();
    const bool forgotten = o->value(1).toBool();
    const bool online = o->value(2).toBool();
    o->finish();
    // An identity that can still connect would go on adding history of its own; a revoked one
    // is forgotten first, so its block is not lifted behind the user's back.
    if (!forgotten)
        return storeError(StoreError::Kind::Invalid,
                          QStringLiteral("%1 can still connect: forget it before merging its history").arg(oldId));
    if (online)
        return storeError(StoreError::Kind::Invalid, QStringLiteral("%1 is still connected").arg(oldId));
    auto newNumber = clientNum(newId);
    if (!newNumber)
        return newNumber.error();
    job.newNum = *newNumber;
    // Samples are compared as rows where both identities have samples in the same ten-minute
    // windows: those windows' chunks of either become head rows again (the sealer seals them
    // afresh under the new identity). Every other chunk of the old identity moves whole.
    if (m_sealer) {
        const auto span = [this](qint64 num) -> StoreResult<std::pair<QVariant, QVariant>> {
            auto q = m_db.exec(QStringLiteral("SELECT min(m), max(x) FROM (SELECT min(ts_ms) AS m, max(ts_ms) AS x FROM samples"
                                              " WHERE client = ? UNION ALL SELECT min(first_ms), max(last_ms) FROM sample_chunks"
                                              " WHERE client = ?) AS t"),
                               {num, num});
            if (!q)
                return q.error();
            if (!q->next())
                return std::pair<QVariant, QVariant>();
            return std::pair{q->value(0), q->value(1)};
        };
        auto oldSpan = span(job.oldNum);
        if (!oldSpan)
            return oldSpan.error();
        auto newSpan = span(job.newNum);
        if (!newSpan)
            return newSpan.error();
        const auto windowsOf = [](const std::pair<QVariant, QVariant> &r) {
            return std::pair{SampleChunk::windowOf(r.first.toLongLong()),
                             SampleChunk::windowOf(r.second.toLongLong()) + SampleChunk::windowMs - 1};
        };
        if (!oldSpan->first.isNull() && !newSpan->first.isNull()) {
            const auto [newFrom, newTo] = windowsOf(*newSpan);
            const auto [oldFrom, oldTo] = windowsOf(*oldSpan);
            if (auto u = m_sealer->unseal(job.oldNum, newFrom, newTo); !u)
                return u.error();
            if (auto u = m_sealer->unseal(job.newNum, oldFrom, oldTo); !u)
                return u.error();
        }
    }
    // Samples both identities stored (an unacknowledged batch resent after the forget) leave
    // the old identity, with its counts and minute counts, so nothing is counted twice.
    auto dups = runNumbered(m_db,
                            QStringLiteral("SELECT (ts_ms / 60000) * 60000, count(*) FROM samples WHERE client = ?1 AND %1"
                                           " GROUP BY 1")
                                    .arg(QLatin1StringView(kSameSample)),
                            {job.oldNum, job.newNum});
    if (!dups)
        return dups.error();
    QList<std::pair<qint64, qint64>> perMinute;
    while (dups->next())
        perMinute.append({dups->value(0).toLongLong(), dups->value(1).toLongLong()});
    dups->finish();
    for (const auto &[minute, count] : perMinute)
        if (auto q = m_db.exec(QStringLiteral("UPDATE sample_minutes SET n = n - ? WHERE client = ? AND minute_ms = ?"),
                               {count, job.oldNum, minute});
            !q)
            return q.error();
    // The hour rows keep sums: the duplicates' values leave them too.
    QStringList totals;
    QStringList minus;
    for (const auto &[name, expr] : kHourSeries) {
        totals << QStringLiteral("total(%1)").arg(QLatin1StringView(expr));
        minus << QStringLiteral("%1_sum = %1_sum - ?").arg(QLatin1StringView(name));
    }
    auto hourDups = runNumbered(m_db,
                                QStringLiteral("SELECT (ts_ms / 3600000) * 3600000, count(*), %1 FROM samples"
                                               " WHERE client = ?1 AND %2 GROUP BY 1")
                                        .arg(totals.join(QStringLiteral(", ")), QLatin1StringView(kSameSample)),
                                {job.oldNum, job.newNum});
    if (!hourDups)
        return hourDups.error();
    QList<QVariantList> hourFixes;
    while (hourDups->next()) {
        QVariantList binds{hourDups->value(1)};
        for (int i = 0; i < int(std::size(kHourSeries)); ++i)
            binds << hourDups->value(2 + i);
        binds << job.oldNum << hourDups->value(0);
        hourFixes.append(binds);
    }
    hourDups->finish();
    for (const QVariantList &binds : std::as_const(hourFixes))
        if (auto q = m_db.exec(QStringLiteral("UPDATE sample_hours SET n = n - ?, %1 WHERE client = ? AND hour_ms = ?")
                                       .arg(minus.join(QStringLiteral(", "))),
                               binds);
            !q)
            return q.error();
    auto removed = runNumbered(m_db,
                               QStringLiteral("DELETE FROM samples WHERE client = ?1 AND %1").arg(QLatin1StringView(kSameSample)),
                               {job.oldNum, job.newNum});
    if (!removed)
        return removed.error();
    job.result.duplicateSamples = quint64(removed->numRowsAffected());
    if (auto q = m_db.exec(QStringLiteral("UPDATE clients SET sample_count = max(0, sample_count - ?) WHERE num = ?"),
                           {qint64(job.result.duplicateSamples), job.oldNum});
        !q)
        return q.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    return job;
}

StoreResult<quint64> Inventory::moveMergeSlice(MergeJob &job, int rows)
{
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    auto moved = m_db.exec(QStringLiteral("UPDATE samples SET client = ? WHERE rowid IN"
                                          " (SELECT rowid FROM samples WHERE client = ? LIMIT ?)"),
                           {job.newNum, job.oldNum, rows});
    if (!moved)
        return moved.error();
    qint64 k = moved->numRowsAffected();
    // Then whole chunks (none shares a window with the new identity's samples: see beginMerge).
    if (k < rows) {
        auto chunks = m_db.exec(QStringLiteral("SELECT rowid, samples FROM sample_chunks WHERE client = ?"
                                               " ORDER BY window_ms LIMIT ?"),
                                {job.oldNum, std::max(1, int((rows - k) / 600))});
        if (!chunks)
            return chunks.error();
        QList<qint64> rowIds;
        while (chunks->next()) {
            rowIds.append(chunks->value(0).toLongLong());
            k += chunks->value(1).toLongLong();
        }
        chunks->finish();
        for (const qint64 rowId : std::as_const(rowIds))
            if (auto q = m_db.exec(QStringLiteral("UPDATE sample_chunks SET client = ? WHERE rowid = ?"), {job.newNum, rowId});
                !q)
                return q.error();
    }
    if (k > 0) {
        for (const auto &[num, delta] : {std::pair{job.oldNum, -k}, std::pair{job.newNum, k}})
            if (auto q = m_db.exec(QStringLiteral("UPDATE clients SET sample_count = max(0, sample_count + ?) WHERE num = ?"),
                                   {delta, num});
                !q)
                return q.error();
    }
    if (auto c = txn.commit(); !c)
        return c.error();
    job.result.samplesMoved += quint64(k);
    return quint64(k);
}

namespace {

// The minute rollup's columns folded when two identities have a row for the same minute.
constexpr const char *kMinColumns[] = {"user_min", "system_min", "iowait_min", "steal_min", "used_min",
                                       "cache_min", "available_min", "swap_min", "busy_min", "load_min"};
constexpr const char *kMaxColumns[] = {"user_max", "system_max", "iowait_max", "steal_max", "used_max",
                                       "cache_max", "available_max", "swap_max", "busy_max", "load_max",
                                       "mem_total"};

} // namespace

StoreResult<MergeResult> Inventory::finishMerge(MergeJob &job, qint64 nowMs)
{
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    const qint64 oldNum = job.oldNum;
    const qint64 newNum = job.newNum;
    MergeResult &r = job.result;
    auto run = [this](const QString &sql, const QVariantList &binds) { return runNumbered(m_db, sql, binds); };

    // Where the identities meet: the old one's newest sample and sequence (its samples have
    // moved by now; its row still says), the new one's first after them.
    auto edge = run(QStringLiteral("SELECT last_sample_ms, nullif(last_sequence, 0) FROM clients WHERE num = ?1"), {oldNum});
    if (!edge)
        return edge.error();
    if (!edge->next())
        return unknownClient(job.oldId);
    const QVariant oldLastMs = edge->value(0);
    const QVariant oldLastSeq = edge->value(1);
    edge->finish();

    // Minutes both identities have: folded into the new row.
    QStringList sets{QStringLiteral("n = sample_minutes.n + o.n"),
                     QStringLiteral("first_ms = min(sample_minutes.first_ms, o.first_ms)"),
                     QStringLiteral("last_ms = max(sample_minutes.last_ms, o.last_ms)")};
    for (const char *c : kMinColumns)
        sets.append(QStringLiteral("%1 = min(sample_minutes.%1, o.%1)").arg(QLatin1StringView(c)));
    for (const char *c : kMaxColumns)
        sets.append(QStringLiteral("%1 = max(sample_minutes.%1, o.%1)").arg(QLatin1StringView(c)));
    // Hours both identities have: the same fold, with the sums added.
    QStringList hourSets{QStringLiteral("n = sample_hours.n + o.n"),
                         QStringLiteral("first_ms = min(sample_hours.first_ms, o.first_ms)"),
                         QStringLiteral("last_ms = max(sample_hours.last_ms, o.last_ms)"),
                         QStringLiteral("mem_total = max(sample_hours.mem_total, o.mem_total)")};
    for (const auto &[name, expr] : kHourSeries) {
        const QLatin1StringView n(name);
        hourSets << QStringLiteral("%1_min = min(sample_hours.%1_min, o.%1_min)").arg(n)
                 << QStringLiteral("%1_max = max(sample_hours.%1_max, o.%1_max)").arg(n)
                 << QStringLiteral("%1_sum = sample_hours.%1_sum + o.%1_sum").arg(n);
    }
    const QString hourFold = QStringLiteral("UPDATE sample_hours SET %1 FROM (SELECT * FROM sample_hours WHERE client = ?1)"
                                            " AS o WHERE sample_hours.client = ?2 AND sample_hours.hour_ms = o.hour_ms")
                                     .arg(hourSets.join(QStringLiteral(", ")));
    const QList<std::pair<QString, QVariantList>> minutes = {
            {QStringLiteral("UPDATE sample_minutes SET %1 FROM (SELECT * FROM sample_minutes WHERE client = ?1) AS o"
                            " WHERE sample_minutes.client = ?2 AND sample_minutes.minute_ms = o.minute_ms")
                     .arg(sets.join(QStringLiteral(", "))),
             {oldNum, newNum}},
            {QStringLiteral("DELETE FROM sample_minutes WHERE client = ?1 AND minute_ms IN"
                            " (SELECT minute_ms FROM sample_minutes WHERE client = ?2)"),
             {oldNum, newNum}},
            {QStringLiteral("UPDATE sample_minutes SET client = ?2 WHERE client = ?1"), {oldNum, newNum}},
            {hourFold, {oldNum, newNum}},
            {QStringLiteral("DELETE FROM sample_hours WHERE client = ?1 AND hour_ms IN"
                            " (SELECT hour_ms FROM sample_hours WHERE client = ?2)"),
             {oldNum, newNum}},
            {QStringLiteral("UPDATE sample_hours SET client = ?2 WHERE client = ?1"), {oldNum, newNum}},
            // A sequence both stored keeps the new identity's row: it guards the new stream
            // against resends (its samples, if different, have moved all the same).
            {QStringLiteral("DELETE FROM batches WHERE client = ?1 AND sequence IN"
                            " (SELECT sequence FROM batches WHERE client = ?2)"),
             {oldNum, newNum}},
    };
    for (const auto &[sql, binds] : minutes)
        if (auto q = run(sql, binds); !q)
            return q.error();
    auto batches = run(QStringLiteral("UPDATE batches SET client = ?2 WHERE client = ?1"), {oldNum, newNum});
    if (!batches)
        return batches.error();
    r.batchesMoved = quint64(batches->numRowsAffected());
    auto gaps = run(QStringLiteral("UPDATE gaps SET client = ?2 WHERE client = ?1"), {oldNum, newNum});
    if (!gaps)
        return gaps.error();
    r.gapsMoved = quint64(gaps->numRowsAffected());
    if (auto q = run(QStringLiteral("UPDATE connections SET client = ?2 WHERE client = ?1"), {oldNum, newNum}); !q)
        return q.error();

    if (!oldLastMs.isNull()) {
        // The new identity's first sample after the old one's last, head or sealed alike.
        QVariant firstAfter;
        QVariant firstSeq;
        if (m_reader) {
            auto first = m_reader->samples(newNum, QString(), oldLastMs.toLongLong() + 1, std::numeric_limits<qint64>::max(),
                                           [&](const StoredSample &x) {
                                               firstAfter = qint64(x.sample.timestampMs);
                                               firstSeq = qint64(x.sequence);
                                               return false;
                                           });
            if (!first)
                return first.error();
        }
        if (!firstAfter.isNull()) {
            const qint64 fromMs = oldLastMs.toLongLong();
            const qint64 toMs = firstAfter.toLongLong();
            const quint64 lastSeq = oldLastSeq.toULongLong();
            const quint64 nextSeq = firstSeq.isNull() ? 0 : firstSeq.toULongLong();
            const bool missing = !oldLastSeq.isNull() && nextSeq > lastSeq + 1;
            if (missing || toMs - fromMs > 30000) {
                auto g = run(QStringLiteral("INSERT INTO gaps(client, start_ms, end_ms, reason, seq_first,"
                                            " seq_last, samples_lost, recorded_ms) VALUES (?,?,?,?,?,?,0,?)"),
                             {newNum, fromMs, toMs, QStringLiteral("re-enrolled"),
                              missing ? QVariant(lastSeq + 1) : QVariant(QMetaType(QMetaType::LongLong)),
                              missing ? QVariant(nextSeq - 1) : QVariant(QMetaType(QMetaType::LongLong)), nowMs});
                if (!g)
                    return g.error();
                r.gapRecorded = true;
            }
        }
    }

    // The old identity's behaviour override and group carry over unless the new one has its
    // own: that is what the user set up for this machine. Either change moves the revision.
    const QList<std::pair<QString, QVariantList>> tail = {
            {QStringLiteral("UPDATE clients SET"
                            " first_seen_ms = min(first_seen_ms, (SELECT first_seen_ms FROM clients WHERE num = ?1)),"
                            " connection_count = connection_count + (SELECT connection_count FROM clients WHERE num = ?1),"
                            " last_sequence = max(last_sequence, (SELECT last_sequence FROM clients WHERE num = ?1)),"
                            " config_revision = CASE WHEN (config_override IS NULL AND (SELECT config_override"
                            "   FROM clients WHERE num = ?1) IS NOT NULL) OR (group_name = '' AND (SELECT group_name"
                            "   FROM clients WHERE num = ?1) <> '') THEN (SELECT CAST(value AS INTEGER) + 1 FROM"
                            "   settings WHERE key = 'config_counter') ELSE config_revision END,"
                            " config_override = COALESCE(config_override, (SELECT config_override FROM clients WHERE num = ?1)),"
                            " group_name = CASE WHEN group_name = '' THEN (SELECT group_name FROM clients WHERE num = ?1)"
                            "   ELSE group_name END,"
                            " previous_id = (SELECT previous_id FROM clients WHERE num = ?1),"
                            " purged_ms = max(purged_ms, (SELECT purged_ms FROM clients WHERE num = ?1)),"
                            " purged_sequence = max(purged_sequence, (SELECT purged_sequence FROM clients WHERE num = ?1))"
                            " WHERE num = ?2"),
             {oldNum, newNum}},
            {QStringLiteral("UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'config_counter'"), {}},
            {QStringLiteral("UPDATE alerts SET resolved_ms = ?1, resolution = 'client merged'"
                            " WHERE client_id = ?2 AND resolved_ms IS NULL"),
             {nowMs, job.oldId}},
            {QStringLiteral("INSERT INTO alert_rules(rule, client_id, enabled, threshold, for_ms, resolve_ms)"
                            " SELECT rule, ?2, enabled, threshold, for_ms, resolve_ms FROM alert_rules WHERE client_id = ?1"
                            " ON CONFLICT DO NOTHING"),
             {job.oldId, job.newId}},
            {QStringLiteral("DELETE FROM alert_rules WHERE client_id = ?"), {job.oldId}},
            // Device readings move whole (a row per window; reads merge windows both hold).
            {QStringLiteral("UPDATE device_chunks SET client = ?1 WHERE client = ?2"), {newNum, oldNum}},
            {QStringLiteral("DELETE FROM clients WHERE num = ?"), {oldNum}},
    };
    for (const auto &[sql, binds] : tail)
        if (auto q = run(sql, binds); !q)
            return q.error();
    auto alerts = run(QStringLiteral("UPDATE alerts SET client_id = ?2 WHERE client_id = ?1"), {job.oldId, job.newId});
    if (!alerts)
        return alerts.error();
    r.alertsMoved = quint64(alerts->numRowsAffected());
    if (auto c = txn.commit(); !c)
        return c.error();
    qCInfo(lcStore).noquote() << "merged the history of" << job.oldId << "into" << job.newId << ":" << r.samplesMoved
                              << "samples," << r.batchesMoved << "batches," << r.duplicateSamples
                              << "duplicate samples dropped";
    return r;
}

StoreResult<MergeResult> Inventory::mergeClients(const QString &oldId, const QString &newId, qint64 nowMs,
                                                 int sliceRows)
{
    auto job = beginMerge(oldId, newId);
    if (!job)
        return job.error();
    for (;;) {
        auto moved = moveMergeSlice(*job, sliceRows);
        if (!moved)
            return moved.error();
        if (*moved == 0)
            break;
    }
    return finishMerge(*job, nowMs);
}

StoreResult<qint64> Inventory::clientNum(const QString &id)
{
    auto q = m_db.exec(QStringLiteral("SELECT num FROM clients WHERE id = ?"), {id});
    if (!q)
        return q.error();
    if (!q->next())
        return unknownClient(id);
    return q->value(0).toLongLong();
}

StoreResult<QList<std::pair<QString, qint64>>> Inventory::allClientNums()
{
    auto q = m_db.exec(QStringLiteral("SELECT id, num FROM clients ORDER BY id"));
    if (!q)
        return q.error();
    QList<std::pair<QString, qint64>> list;
    while (q->next())
        list.append({q->value(0).toString(), q->value(1).toLongLong()});
    return list;
}

} // namespace autofact::server
