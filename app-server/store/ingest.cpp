// SPDX-License-Identifier: MIT
#include "ingest.h"

#include "database.h"
#include "ingestwriter.h"
#include "storelogging.h"
#include "transaction.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace autofact::server {

StoreResult<std::vector<IngestResult>> Ingest::write(std::span<const IngestItem> items, qint64 nowMs)
{
    std::vector<IngestResult> results(items.size());
    if (items.empty())
        return results;
    if (!m_db.isOpen() || !m_writer)
        return Database::notOpen();
    std::vector<const SampleBatch *> batches;
    batches.reserve(items.size());
    for (const IngestItem &item : items)
        if (item.batch)
            batches.push_back(item.batch);
    if (auto p = m_writer->prepareWrite(batches); !p)
        return p.error();
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    QStringList clientIds;
    clientIds.reserve(qsizetype(items.size()));
    for (const IngestItem &item : items)
        clientIds.append(item.clientId);
    if (auto w = m_writer->beginWrite(clientIds); !w)
        return w.error();
    for (std::size_t i = 0; i < items.size(); ++i) {
        results[i].sequence = items[i].batch ? items[i].batch->sequence : 0;
        auto status = ingestOne(items[i], nowMs);
        if (!status)
            return status.error();
        results[i].status = *status;
    }
    if (auto f = m_writer->finishWrite(); !f)
        return f.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    return results;
}

StoreResult<IngestResult::Status> Ingest::ingestOne(const IngestItem &item, qint64 nowMs)
{
    using Status = IngestResult::Status;
    const SampleBatch *batch = item.batch;
    if (!batch) {
        qCWarning(lcStore) << "ingest item without a batch";
        return Status::Failed;
    }
    if (batch->sequence == 0 || batch->sequence > quint64(std::numeric_limits<qint64>::max())) {
        qCWarning(lcStore).noquote() << item.clientId << "batch with invalid sequence"
                                     << batch->sequence;
        return Status::Failed;
    }
    std::size_t coreTotal = 0;
    for (const Sample &s : batch->samples)
        coreTotal += s.coreCount;
    if (coreTotal != batch->coreBusy.size()) {
        qCWarning(lcStore).noquote() << item.clientId << "batch" << batch->sequence
                                     << "core count mismatch" << coreTotal << batch->coreBusy.size();
        return Status::Failed;
    }

    // Client state is read inside the transaction for every batch: it costs one indexed
    // lookup per batch (not per sample) and stays right when another connection changed it.
    auto row = m_writer->client(item.clientId);
    if (!row)
        return row.error();
    if (!*row) {
        qCWarning(lcStore).noquote() << "batch for unknown client" << item.clientId;
        return Status::Failed;
    }
    const IngestWriter::ClientRow &client = **row;
    if (client.forgotten) {
        qCWarning(lcStore).noquote() << "batch for forgotten client" << item.clientId;
        return Status::Failed;
    }

    bool late = false;
    // Stored once and expired since (retention): acknowledged, never stored a second time. A
    // sequence alone is not proof (a reinstalled agent counts from 1 again, a late resend fills
    // a gap): the batch's samples must also all lie before the client's raw horizon.
    if (batch->sequence <= client.purgedSequence && !batch->samples.empty()) {
        qint64 newest = std::numeric_limits<qint64>::min();
        for (const Sample &sample : batch->samples)
            newest = std::max<qint64>(newest, sample.timestampMs);
        if (newest < client.purgedMs)
            return Status::Duplicate;
    }
    if (batch->sequence <= client.state.lastSequence) {
        auto exists = m_writer->batchExists(client.num, batch->sequence);
        if (!exists)
            return exists.error();
        if (*exists)
            return Status::Duplicate;
        // Older than the newest but never stored: a resend of a batch skipped earlier.
        late = true;
    }
    if (!late && client.state.baselinePending)
        qCInfo(lcStore).noquote() << item.clientId << "re-enrolled: sequence" << batch->sequence
                                  << "and drop count" << batch->droppedTotal << "taken as its baseline";
    if (late)
        if (auto r = fillSequenceGap(client.num, *batch, client.state.intervalMs); !r)
            return r.error();
    for (const GapDetector::Found &gap : GapDetector::detect(client.state, *batch, late, nowMs, item.sameSession))
        if (auto r = m_writer->insertGap(client.num, gap, nowMs); !r)
            return r.error();
    if (auto r = m_writer->insertSamples(client.num, *batch); !r)
        return r.error();
    if (auto r = m_writer->insertDevices(client.num, *batch); !r)
        return r.error();

    // Samples of a batch are in time order: one merge per minute they touch, not per sample.
    MinuteRollup rollup;
    for (const Sample &sample : batch->samples) {
        if (rollup.count > 0 && metrics::minuteStart(sample.timestampMs) != rollup.minuteMs) {
            if (auto r = m_writer->mergeMinute(client.num, rollup); !r)
                return r.error();
            rollup.count = 0;
        }
        if (rollup.count == 0)
            rollup.reset(sample.timestampMs);
        rollup.add(sample);
    }
    if (rollup.count > 0)
        if (auto r = m_writer->mergeMinute(client.num, rollup); !r)
            return r.error();
    // The hour tier likewise: one merge per hour the batch touches (almost always one).
    constexpr qint64 hourMs = 3600 * 1000;
    MinuteRollup hour;
    for (const Sample &sample : batch->samples) {
        if (hour.count > 0 && sample.timestampMs - hour.minuteMs >= hourMs) {
            if (auto r = m_writer->mergeHour(client.num, hour); !r)
                return r.error();
            hour.count = 0;
        }
        if (hour.count == 0 || sample.timestampMs < hour.minuteMs) {
            if (hour.count > 0)
                if (auto r = m_writer->mergeHour(client.num, hour); !r)
                    return r.error();
            hour.reset(sample.timestampMs, hourMs);
        }
        hour.add(sample);
    }
    if (hour.count > 0)
        if (auto r = m_writer->mergeHour(client.num, hour); !r)
            return r.error();

    const auto samples = quint32(batch->samples.size());
    if (auto r = m_writer->insertBatch(client.num, batch->sequence, samples, nowMs); !r)
        return r.error();
    if (auto r = m_writer->updateClient(client.num, GapDetector::after(client.state, *batch, late, nowMs),
                                       samples, nowMs);
        !r)
        return r.error();
    return Status::Stored;
}

StoreResult<void> Ingest::fillSequenceGap(qint64 client, const SampleBatch &batch, qint64 intervalMs)
{
    // Rare (a resend of a batch the server once skipped), so plain SQL on the same connection
    // and transaction, not the backend's prepared hot path.
    const qint64 seq = qint64(batch.sequence);
    auto q = m_db.exec(QStringLiteral("SELECT id, start_ms, end_ms, seq_first, seq_last FROM gaps"
                                      " WHERE client = ? AND seq_first <= ? AND seq_last >= ?"),
                       {client, seq, seq});
    if (!q)
        return q.error();
    struct Row {
        qint64 id, startMs, endMs, first, last;
    };
    std::vector<Row> rows;
    while (q->next())
        rows.push_back({q->value(0).toLongLong(), q->value(1).toLongLong(), q->value(2).toLongLong(),
                        q->value(3).toLongLong(), q->value(4).toLongLong()});
    q->finish();
    qint64 minMs = 0;
    qint64 maxMs = 0;
    if (!batch.samples.empty()) {
        minMs = maxMs = batch.samples.front().timestampMs;
        for (const Sample &s : batch.samples) {
            minMs = std::min<qint64>(minMs, s.timestampMs);
            maxMs = std::max<qint64>(maxMs, s.timestampMs);
        }
    }
    const auto lost = [intervalMs](qint64 a, qint64 b) {
        return qint64(GapDetector::estimateLost(a, b, std::max<qint64>(1, intervalMs)));
    };
    for (const Row &r : rows) {
        const bool empty = batch.samples.empty();
        // The part before the batch keeps the gap's start; the part after keeps its end.
        const qint64 beforeEnd = empty ? r.endMs : std::clamp(minMs, r.startMs, r.endMs);
        const qint64 afterStart = empty ? r.startMs : std::clamp(maxMs, r.startMs, r.endMs);
        const bool keepBefore = r.first < seq;
        const bool keepAfter = seq < r.last;
        const auto run = [this](const QString &sql, const QVariantList &binds) -> StoreResult<void> {
            auto r = m_db.exec(sql, binds);
            if (!r)
                return r.error();
            return {};
        };
        const QString shrinkEnd = QStringLiteral("UPDATE gaps SET seq_last = ?, end_ms = ?, samples_lost = ? WHERE id = ?");
        StoreResult<void> done;
        if (!keepBefore && !keepAfter) {
            done = run(QStringLiteral("DELETE FROM gaps WHERE id = ?"), {r.id});
        } else if (!keepAfter) {
            done = run(shrinkEnd, {seq - 1, beforeEnd, lost(r.startMs, beforeEnd), r.id});
        } else if (!keepBefore) {
            done = run(QStringLiteral("UPDATE gaps SET seq_first = ?, start_ms = ?, samples_lost = ? WHERE id = ?"),
                       {seq + 1, afterStart, lost(afterStart, r.endMs), r.id});
        } else {
            // Split: the copy is made first, from the row as it was.
            done = run(QStringLiteral("INSERT INTO gaps(client, start_ms, end_ms, reason, seq_first,"
                                      " seq_last, samples_lost, recorded_ms)"
                                      " SELECT client, ?, ?, reason, ?, ?, ?, recorded_ms FROM gaps WHERE id = ?"),
                       {afterStart, r.endMs, seq + 1, r.last, lost(afterStart, r.endMs), r.id});
            if (done)
                done = run(shrinkEnd, {seq - 1, beforeEnd, lost(r.startMs, beforeEnd), r.id});
        }
        if (!done)
            return done;
    }
    return {};
}

} // namespace autofact::server
