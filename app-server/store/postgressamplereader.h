// SPDX-License-Identifier: MIT
#pragma once

#include "samplechunk.h"
#include "samplereader.h"

#include <QByteArray>

namespace autofact::server {

class Database;

/**
 * SampleReader for PostgreSQL through QPSQL: the same merge of sealed chunks and head rows as
 * SqliteSampleReader. A result arrives whole (libpq), so a read holds its range's rows in
 * memory once; callers already read long ranges in slices (exports by day, charts by window).
 */
class PostgresSampleReader final : public SampleReader
{
public:
    explicit PostgresSampleReader(Database &db) : m_db(db) {}

    StoreResult<End> samples(qint64 client, const QString &clientId, qint64 fromMs, qint64 toMs,
                             const SampleVisitor &visit) override;
    StoreResult<End> headSamples(qint64 client, const QString &clientId, qint64 fromMs, qint64 toMs,
                                 const SampleVisitor &visit) override;
    StoreResult<End> chunks(qint64 client, qint64 fromWindowMs, qint64 toWindowMs, const ChunkVisitor &visit) override;
    StoreResult<qint64> count(qint64 client, qint64 fromMs, qint64 toMs) override;
    StoreResult<End> minutes(qint64 client, qint64 fromMs, qint64 toMs, const MinuteVisitor &visit) override;

private:
    Database &m_db;
    bool m_busy = false;
    ChunkSamples m_decoded;
    QByteArray m_blob;
};

} // namespace autofact::server
