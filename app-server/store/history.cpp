// SPDX-License-Identifier: MIT
#include "history.h"

#include "database.h"
#include "inventory.h"
#include "metrics.h"

#include <QFileInfo>

#include <limits>

namespace autofact::server {

StoreResult<QList<Gap>> History::gaps(const QString &clientId, qint64 fromMs, qint64 toMs)
{
    const QString select = QStringLiteral(
            "SELECT c.id, g.start_ms, g.end_ms, g.reason, g.samples_lost, g.seq_first, g.seq_last"
            " FROM gaps g JOIN clients c ON c.num = g.client");
    auto q = clientId.isEmpty()
            ? m_db.exec(select
                                + QStringLiteral(" WHERE g.end_ms >= ? AND g.end_ms < ?"
                                                 " ORDER BY c.id, g.end_ms, g.id"),
                        {fromMs, toMs})
            : m_db.exec(select
                                + QStringLiteral(" WHERE c.id = ? AND g.end_ms >= ? AND g.end_ms < ?"
                                                 " ORDER BY g.end_ms, g.id"),
                        {clientId, fromMs, toMs});
    if (!q)
        return q.error();
    QList<Gap> list;
    while (q->next()) {
        Gap g;
        g.clientId = q->value(0).toString();
        g.startMs = q->value(1).toLongLong();
        g.endMs = q->value(2).toLongLong();
        g.reason = q->value(3).toString();
        g.samplesLost = q->value(4).toULongLong();
        g.sequenceFirst = q->value(5).toULongLong();
        g.sequenceLast = q->value(6).toULongLong();
        list.append(g);
    }
    return list;
}

StoreResult<void> History::forEachSample(const QStringList &clientIds, qint64 fromMs, qint64 toMs,
                                         const SampleReader::SampleVisitor &visit)
{
    if (!m_reader)
        return Database::notOpen();
    QList<std::pair<QString, qint64>> targets;
    if (clientIds.isEmpty()) {
        auto all = m_inventory.allClientNums();
        if (!all)
            return all.error();
        targets = *all;
    } else {
        for (const QString &id : clientIds) {
            auto num = m_inventory.clientNum(id);
            if (!num)
                return num.error();
            targets.append({id, *num});
        }
    }
    for (const auto &[id, num] : targets) {
        auto end = m_reader->samples(num, id, fromMs, toMs, visit);
        if (!end)
            return end.error();
        if (*end == SampleReader::End::Stopped)
            break;
    }
    return {};
}

StoreResult<void> History::forEachMinute(const QString &clientId, qint64 fromMs, qint64 toMs,
                                         const SampleReader::MinuteVisitor &visit)
{
    if (!m_reader)
        return Database::notOpen();
    auto num = m_inventory.clientNum(clientId);
    if (!num)
        return num.error();
    auto end = m_reader->minutes(*num, fromMs, toMs, visit);
    if (!end)
        return end.error();
    return {};
}

StoreResult<std::pair<qint64, qint64>> History::tierStarts(const QString &clientId)
{
    // Where hours stop and minutes take over: the hour of the oldest minute row is drawn from
    // minutes when they hold all of it (a client's first hour), from hours when retention took
    // part of it (no hole, and no sample counted twice either way).
    auto q = m_db.exec(QStringLiteral("SELECT purged_ms, CASE WHEN h.first_ms < m.oldest THEN h.hour_ms + 3600000"
                                      " ELSE (m.oldest / 3600000) * 3600000 END"
                                      " FROM clients c"
                                      " JOIN (SELECT (SELECT min(minute_ms) FROM sample_minutes WHERE client = num) AS oldest,"
                                      "       num AS n FROM clients WHERE id = ?) m ON m.n = c.num"
                                      " LEFT JOIN sample_hours h ON h.client = c.num"
                                      "  AND h.hour_ms = (m.oldest / 3600000) * 3600000"
                                      " WHERE c.id = ?"),
                       {clientId, clientId});
    if (!q)
        return q.error();
    if (!q->next())
        return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown client: %1").arg(clientId));
    constexpr qint64 none = std::numeric_limits<qint64>::min();
    const qint64 purged = q->value(0).toLongLong();
    return std::pair{purged > 0 ? purged : none, q->value(1).isNull() ? none : q->value(1).toLongLong()};
}

StoreResult<void> History::forEachHour(const QString &clientId, qint64 fromMs, qint64 toMs,
                                       const SampleReader::MinuteVisitor &visit)
{
    auto num = m_inventory.clientNum(clientId);
    if (!num)
        return num.error();
    // A coarse tier (24 rows a day): plain SQL, not the backend's prepared hot path.
    auto q = m_db.exec(QStringLiteral("SELECT * FROM sample_hours WHERE client = ? AND hour_ms >= ? AND hour_ms < ?"
                                      " ORDER BY hour_ms"),
                       {*num, fromMs, toMs});
    if (!q)
        return q.error();
    MinuteRollup r;
    while (q->next()) {
        r.minuteMs = q->value(1).toLongLong();
        r.count = quint32(q->value(2).toLongLong());
        r.firstMs = q->value(3).toLongLong();
        r.lastMs = q->value(4).toLongLong();
        r.memTotal = q->value(5).toDouble();
        for (int i = 0; i < metrics::seriesCount; ++i) {
            r.mins[std::size_t(i)] = q->value(6 + 3 * i).toDouble();
            r.maxs[std::size_t(i)] = q->value(7 + 3 * i).toDouble();
            r.sums[std::size_t(i)] = q->value(8 + 3 * i).toDouble();
        }
        if (!visit(r))
            break;
    }
    return {};
}

StoreResult<qint64> History::sumPerClient(const QStringList &clientIds, const QString &allSql,
                                          const QString &oneSql, qint64 fromMs, qint64 toMs)
{
    if (clientIds.isEmpty()) {
        auto v = m_db.scalar(allSql, {fromMs, toMs});
        if (!v)
            return v.error();
        return v->toLongLong();
    }
    qint64 total = 0;
    for (const QString &id : clientIds) {
        auto num = m_inventory.clientNum(id);
        if (!num)
            return num.error();
        auto v = m_db.scalar(oneSql, {*num, fromMs, toMs});
        if (!v)
            return v.error();
        total += v->toLongLong();
    }
    return total;
}

StoreResult<qint64> History::countSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs)
{
    if (!m_reader)
        return Database::notOpen();
    QList<qint64> nums;
    if (clientIds.isEmpty()) {
        auto all = m_inventory.allClientNums();
        if (!all)
            return all.error();
        for (const auto &entry : std::as_const(*all))
            nums.append(entry.second);
    } else {
        for (const QString &id : clientIds) {
            auto num = m_inventory.clientNum(id);
            if (!num)
                return num.error();
            nums.append(*num);
        }
    }
    qint64 total = 0;
    for (const qint64 num : std::as_const(nums)) {
        auto n = m_reader->count(num, fromMs, toMs);
        if (!n)
            return n.error();
        total += *n;
    }
    return total;
}

StoreResult<qint64> History::estimateSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs)
{
    // The minute that holds fromMs counts whole: floor it (guarding the smallest value).
    const qint64 fromMinute = fromMs > std::numeric_limits<qint64>::min() + metrics::minuteMs
                                      ? metrics::minuteStart(fromMs)
                                      : fromMs;
    return sumPerClient(clientIds,
                        QStringLiteral("SELECT coalesce(sum(n), 0) FROM sample_minutes"
                                       " WHERE minute_ms >= ? AND minute_ms < ?"),
                        QStringLiteral("SELECT coalesce(sum(n), 0) FROM sample_minutes"
                                       " WHERE client = ? AND minute_ms >= ? AND minute_ms < ?"),
                        fromMinute, toMs);
}

StoreResult<qint64> History::databaseSizeBytes()
{
    if (m_db.isPostgres()) {
        auto size = m_db.scalar(QStringLiteral("SELECT pg_database_size(current_database())"));
        if (!size)
            return size.error();
        return size->toLongLong();
    }
    auto v = m_db.scalar(QStringLiteral("SELECT page_count * page_size FROM pragma_page_count(),"
                                        " pragma_page_size()"));
    if (!v)
        return v.error();
    return v->toLongLong() + QFileInfo(m_db.path() + QStringLiteral("-wal")).size();
}

} // namespace autofact::server
