// SPDX-License-Identifier: MIT
#include "devicehistory.h"

#include "chunksealer.h"
#include "samplechunk.h"
#include "storelogging.h"
#include "transaction.h"

#include <QSqlQuery>

#include <algorithm>
#include <limits>

namespace autofact::server {

StoreResult<DeviceSealResult> DeviceHistory::sealSlice(qint64 nowMs, int maxWindows)
{
    const qint64 cutoff = SampleChunk::windowOf(nowMs - ChunkSealer::graceMs);
    DeviceSealResult result;
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    if (auto l = m_db.requireLeader(); !l) // the check before BEGIN may be stale on a shared store
        return l.error();
    // Windows found corrupt before are left alone (reads report them): they must not fill
    // every slice and keep the others from being sealed.
    auto windows = m_db.exec(QStringLiteral("SELECT DISTINCT client, window_ms FROM device_chunks"
                                            " WHERE sealed = 0 AND window_ms < ? ORDER BY window_ms LIMIT ?"),
                             {cutoff, qint64(maxWindows) + 1 + qint64(m_corruptReported.size())});
    if (!windows)
        return windows.error();
    QList<std::pair<qint64, qint64>> todo;
    while (windows->next()) {
        const std::pair<qint64, qint64> w{windows->value(0).toLongLong(), windows->value(1).toLongLong()};
        if (!m_corruptReported.contains(w))
            todo.append(w);
    }
    windows->finish();
    if (todo.size() > maxWindows) {
        todo.resize(maxWindows);
        result.more = true;
    }
    // The oldest windows are chosen; they are sealed in client order, the order every writer
    // that locks several clients' rows on a shared store takes them in.
    std::sort(todo.begin(), todo.end());
    for (const auto &[client, window] : std::as_const(todo)) {
        if (auto l = m_db.lockClient(client); !l)
            return l.error();
        auto rows = m_db.exec(QStringLiteral("SELECT rowid, data FROM device_chunks WHERE client = ? AND window_ms = ?"
                                             " ORDER BY sealed DESC, rowid"),
                              {client, window});
        if (!rows)
            return rows.error();
        std::vector<DeviceSeries> parts;
        QList<qint64> rowIds;
        bool corrupt = false;
        while (rows->next()) {
            DeviceSeries part;
            QString error;
            if (!DeviceChunk::decode(rows->value(1).toByteArray(), part, &error)) {
                corrupt = true;
                if (!m_corruptReported.contains({client, window})) {
                    m_corruptReported.insert({client, window});
                    qCWarning(lcStore).noquote() << "device readings of client row" << client << "window"
                                                 << window << "not sealed:" << error;
                }
                break;
            }
            rowIds.append(rows->value(0).toLongLong());
            parts.push_back(std::move(part));
        }
        rows->finish();
        // A corrupt row stays as it is (reads report it); the window's other rows wait with it.
        if (corrupt)
            continue;
        std::vector<const DeviceSeries *> pointers;
        for (const DeviceSeries &p : parts)
            pointers.push_back(&p);
        const DeviceSeries whole = DeviceSeries::merged(pointers);
        for (const qint64 rowId : std::as_const(rowIds))
            if (auto q = m_db.exec(QStringLiteral("DELETE FROM device_chunks WHERE rowid = ?"), {rowId}); !q)
                return q.error();
        if (!whole.empty()) {
            const auto [first, last] = std::minmax_element(whole.timestamps.begin(), whole.timestamps.end());
            if (auto p = m_db.ensurePartition("device_chunks", window); !p)
                return p.error();
            if (auto q = m_db.exec(QStringLiteral("INSERT INTO device_chunks(client, window_ms, first_ms, last_ms,"
                                                  " sealed, data) VALUES (?, ?, ?, ?, 1, ?)"),
                                   {client, window, qint64(*first), qint64(*last), DeviceChunk::encode(whole)});
                !q)
                return q.error();
        }
        ++result.windows;
        result.headRows += rowIds.size();
    }
    if (auto c = txn.commit(); !c)
        return c.error();
    return result;
}

StoreResult<DeviceSeries> DeviceHistory::read(const QString &clientId, qint64 fromMs, qint64 toMs)
{
    auto num = m_db.scalar(QStringLiteral("SELECT num FROM clients WHERE id = ?"), {clientId});
    if (!num)
        return num.error();
    if (!num->isValid())
        return DeviceSeries{};
    return readNum(num->toLongLong(), fromMs, toMs);
}

StoreResult<std::optional<std::pair<qint64, qint64>>> DeviceHistory::span(const QString &clientId)
{
    auto q = m_db.exec(QStringLiteral("SELECT min(first_ms), max(last_ms) FROM device_chunks"
                                      " WHERE client = (SELECT num FROM clients WHERE id = ?)"),
                       {clientId});
    if (!q)
        return q.error();
    if (!q->next() || q->value(0).isNull())
        return std::optional<std::pair<qint64, qint64>>();
    return std::optional<std::pair<qint64, qint64>>(std::pair{q->value(0).toLongLong(), q->value(1).toLongLong()});
}

StoreResult<DeviceSeries> DeviceHistory::readNum(qint64 clientNum, qint64 fromMs, qint64 toMs)
{
    // Windows are ten minutes wide: any row holding a time in range starts within one window
    // before fromMs (the index on (client, window_ms) then bounds the scan).
    auto rows = m_db.exec(QStringLiteral("SELECT window_ms, data FROM device_chunks WHERE client = ?"
                                         " AND window_ms > ? AND window_ms <= ? AND last_ms >= ? AND first_ms <= ?"
                                         " ORDER BY window_ms, sealed DESC, rowid"),
                          {clientNum,
                           fromMs > std::numeric_limits<qint64>::min() + SampleChunk::windowMs
                                   ? fromMs - SampleChunk::windowMs
                                   : std::numeric_limits<qint64>::min(),
                           toMs, fromMs, toMs});
    if (!rows)
        return rows.error();
    std::vector<DeviceSeries> parts;
    while (rows->next()) {
        DeviceSeries part;
        QString error;
        if (!DeviceChunk::decode(rows->value(1).toByteArray(), part, &error))
            return storeError(StoreError::Kind::Database,
                              QStringLiteral("device readings of client row %1, window at %2: %3")
                                  .arg(clientNum)
                                  .arg(rows->value(0).toLongLong())
                                  .arg(error));
        parts.push_back(part.slice(fromMs, toMs));
    }
    std::vector<const DeviceSeries *> pointers;
    for (const DeviceSeries &p : parts)
        pointers.push_back(&p);
    if (pointers.empty())
        return DeviceSeries{};
    return DeviceSeries::merged(pointers);
}

StoreResult<metrics::DeviceSummary> DeviceHistory::latestSummary(const QString &clientId)
{
    // The last reading is in the client's newest window (a row holds one window's readings):
    // two index lookups, where span()'s min() would walk every window the client has.
    auto last = m_db.scalar(QStringLiteral("SELECT max(last_ms) FROM device_chunks"
                                           " WHERE client = (SELECT num FROM clients WHERE id = ?)"
                                           " AND window_ms = (SELECT max(window_ms) FROM device_chunks"
                                           "   WHERE client = (SELECT num FROM clients WHERE id = ?))"),
                            {clientId, clientId});
    if (!last)
        return last.error();
    metrics::DeviceSummary summary;
    if (!last->isValid() || last->isNull())
        return summary;
    const qint64 lastMs = last->toLongLong();
    // Two windows back: filesystems, read once a minute by default, are in it with the rest.
    constexpr qint64 lookBackMs = 2 * SampleChunk::windowMs;
    auto series = read(clientId, lastMs > std::numeric_limits<qint64>::min() + lookBackMs ? lastMs - lookBackMs : lastMs, lastMs);
    if (!series)
        return series.error();
    // The readings as one batch in time order, summarised by the hub's own rules (each kind's
    // newest sample); only the sample times matter to it.
    SampleBatch batch;
    batch.samples.resize(series->timestamps.size());
    for (std::size_t i = 0; i < series->timestamps.size(); ++i)
        batch.samples[i].timestampMs = series->timestamps[i];
    batch.devices = std::move(series->tables);
    summary.update(batch);
    return summary;
}

} // namespace autofact::server
