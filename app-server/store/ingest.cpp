// SPDX-License-Identifier: MIT
#include "ingest.h"

#include "database.h"
#include "ingestwriter.h"
#include "storelogging.h"
#include "transaction.h"

#include <limits>

namespace autofact::server {

StoreResult<std::vector<IngestResult>> Ingest::write(std::span<const IngestItem> items, qint64 nowMs)
{
    std::vector<IngestResult> results(items.size());
    if (items.empty())
        return results;
    if (!m_db.isOpen() || !m_writer)
        return Database::notOpen();
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    for (std::size_t i = 0; i < items.size(); ++i) {
        results[i].sequence = items[i].batch ? items[i].batch->sequence : 0;
        auto status = ingestOne(items[i], nowMs);
        if (!status)
            return status.error();
        results[i].status = *status;
    }
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
    for (const GapDetector::Found &gap : GapDetector::detect(client.state, *batch, late, nowMs))
        if (auto r = m_writer->insertGap(client.num, gap, nowMs); !r)
            return r.error();
    if (auto r = m_writer->insertSamples(client.num, *batch); !r)
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

    const auto samples = quint32(batch->samples.size());
    if (auto r = m_writer->insertBatch(client.num, batch->sequence, samples, nowMs); !r)
        return r.error();
    if (auto r = m_writer->updateClient(client.num, GapDetector::after(client.state, *batch, late, nowMs),
                                       samples, nowMs);
        !r)
        return r.error();
    return Status::Stored;
}

} // namespace autofact::server
