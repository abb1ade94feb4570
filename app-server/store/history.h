// SPDX-License-Identifier: MIT
#pragma once

#include "samplereader.h"
#include "storeresult.h"
#include "storetypes.h"

#include <QList>
#include <QStringList>

#include <limits>

namespace autofact::server {

class Database;
class Inventory;

/** Reads history back: raw samples, minute rollups, gaps, counts and the database's size. */
class History
{
public:
    History(Database &db, Inventory &inventory) : m_db(db), m_inventory(inventory) {}
    /** The backend's row streaming, set once the database is open. */
    void setReader(SampleReader *reader) { m_reader = reader; }

    /** Gaps of @p clientId (every client if empty) whose end lies in [fromMs, toMs). */
    StoreResult<QList<Gap>> gaps(const QString &clientId,
                                 qint64 fromMs = std::numeric_limits<qint64>::min(),
                                 qint64 toMs = std::numeric_limits<qint64>::max());
    /**
     * Streams samples with fromMs <= timestamp < toMs, client by client in the given order
     * (every client by ID if empty), ascending time within a client. The visitor returns
     * false to stop early (that is not an error). Not re-entrant.
     */
    StoreResult<void> forEachSample(const QStringList &clientIds, qint64 fromMs, qint64 toMs,
                                    const SampleReader::SampleVisitor &visit);
    /** Streams the minute rollups of @p clientId whose minute starts in [fromMs, toMs). */
    StoreResult<void> forEachMinute(const QString &clientId, qint64 fromMs, qint64 toMs,
                                    const SampleReader::MinuteVisitor &visit);
    /**
     * Where @p clientId's raw samples start after retention (its purge horizon), and where the
     * hour tier hands over to minutes (the start of the oldest minute's hour, or the next hour
     * when retention took part of that one); std::numeric_limits<qint64>::min() for raw samples
     * retention never touched, or when there are no minute rows.
     */
    StoreResult<std::pair<qint64, qint64>> tierStarts(const QString &clientId);
    /** Streams the hour rollups (min, max, sum) of @p clientId whose hour starts in [fromMs, toMs). */
    StoreResult<void> forEachHour(const QString &clientId, qint64 fromMs, qint64 toMs,
                                  const SampleReader::MinuteVisitor &visit);
    /**
     * About how many samples forEachSample() would visit, from the minute rollups (whole
     * minutes at both edges): cheap enough for progress bars on any history.
     */
    StoreResult<qint64> estimateSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs);
    /** Exactly how many samples forEachSample() would visit. */
    StoreResult<qint64> countSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs);
    /** Main file plus WAL, bytes. */
    StoreResult<qint64> databaseSizeBytes();

private:
    /** Sum of one aggregate query run for every client (or once over all of them). */
    StoreResult<qint64> sumPerClient(const QStringList &clientIds, const QString &allSql,
                                     const QString &oneSql, qint64 fromMs, qint64 toMs);

    Database &m_db;
    Inventory &m_inventory;
    SampleReader *m_reader = nullptr;
};

} // namespace autofact::server
