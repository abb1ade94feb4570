// SPDX-License-Identifier: MIT
#pragma once

#include "ingestwriter.h"
#include "samplechunk.h"

#include <QHash>
#include <QSet>
#include <QString>

#include <array>
#include <functional>
#include <optional>
#include <vector>

namespace autofact::server {

class Database;

/**
 * IngestWriter for PostgreSQL through QPSQL. Round trips are what costs (a dozen statements a
 * batch), so beginWrite() reads and locks every client of the group commit in one statement,
 * the statements that return nothing are queued and sent before the next read that needs them
 * or at finishWrite(), and every batch's samples go in one COPY at finishWrite(). Client rows
 * stay locked for the rest of the transaction: two nodes handed the same batch at once take
 * turns, and the second finds it stored (dedupe across nodes).
 */
class PostgresIngestWriter final : public IngestWriter
{
public:
    explicit PostgresIngestWriter(Database &db) : m_db(db) {}

    StoreResult<void> prepareWrite(const std::vector<const SampleBatch *> &batches) override;
    StoreResult<void> beginWrite(const QStringList &clientIds) override;
    StoreResult<void> finishWrite() override;
    StoreResult<std::optional<ClientRow>> client(const QString &id) override;
    StoreResult<bool> batchExists(qint64 client, quint64 sequence) override;
    StoreResult<void> insertGap(qint64 client, const GapDetector::Found &gap, qint64 nowMs) override;
    StoreResult<void> insertSamples(qint64 client, const SampleBatch &batch) override;
    StoreResult<void> insertDevices(qint64 client, const SampleBatch &batch) override;
    StoreResult<void> mergeMinute(qint64 client, const MinuteRollup &rollup) override;
    StoreResult<void> mergeHour(qint64 client, const MinuteRollup &rollup) override;
    StoreResult<void> insertBatch(qint64 client, quint64 sequence, quint32 samples, qint64 nowMs) override;
    StoreResult<void> updateClient(qint64 client, const GapDetector::ClientState &state, quint32 samples,
                                   qint64 nowMs) override;

    /**
     * Head-table rows for @p count samples of @p client in multi-row INSERTs; @p sequenceOf
     * gives each sample's batch. Shared with ChunkSealer, which puts sealed samples back.
     */
    static StoreResult<void> insertHeadRows(Database &db, qint64 client, const Sample *samples, std::size_t count,
                                            const std::function<quint64(std::size_t)> &sequenceOf, const float *cores);

private:
    /** Reads and locks the rows of @p clientIds in one statement (the order of num). */
    StoreResult<void> prefetchClients(const QStringList &clientIds);
    /** Queues a statement (values as literals) to run before the next read or at the end. */
    void queue(const QString &sql, const QVariantList &binds = {});
    /** Runs what is queued: the statements, then the COPY of the samples. */
    StoreResult<void> flush();
    /** The queued rows and statements as one multi-statement text (and forgets them). */
    QString takeStatements();

    struct ClientUpdate {
        qint64 samples = 0;
        qint64 lastSequence = 0;
        std::optional<qint64> lastSampleMs;
        qint64 dropped = 0;
        qint64 seenMs = 0;
    };

    Database &m_db;
    QString m_pending;       ///< statements, each ending in ';'
    std::string m_copyRows;  ///< head-table rows in COPY text format
    QSet<QString> m_queuedClients; ///< clients whose row has an update queued
    QHash<qint64, QString> m_idOfNum;
    /// Rows read and locked by beginWrite(), each handed out once: a client's next batch in
    /// the same write is read again, after its queued update ran.
    QHash<QString, ClientRow> m_prefetched;
    QHash<QPair<qint64, qint64>, MinuteRollup> m_minutes; ///< (client, minute) merged
    QHash<QPair<qint64, qint64>, MinuteRollup> m_hours;   ///< (client, hour) merged
    std::vector<std::array<qint64, 4>> m_batchRows;      ///< client, sequence, received, samples
    QHash<qint64, ClientUpdate> m_clientUpdates;
    ChunkSamples m_decoded; ///< a sealed chunk looked through for a resent batch
};

} // namespace autofact::server
