// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"

#include <QList>
#include <QString>

namespace autofact::server {

class Database;

/** How long each tier is kept, and the disk budget (0 = forever / no cap). */
struct RetentionSettings {
    static constexpr qint64 day = 86400LL * 1000;
    qint64 keepRawMs = 30 * day;      ///< raw samples: a month of full detail
    qint64 keepMinutesMs = 365 * day; ///< per-minute min/max: a year
    qint64 keepHoursMs = 0;           ///< per-hour min/max/avg: forever
    qint64 maxDbBytes = 0;            ///< no cap
    bool operator==(const RetentionSettings &) const = default;
};

/** One tier as `autofactory storage` reports it. */
struct TierStats {
    QString name;        ///< "raw", "minutes", "hours"
    qint64 rows = 0;     ///< samples (raw) or rollup rows
    qint64 bytes = 0;    ///< pages of its table and indexes
    qint64 oldestMs = 0; ///< 0: empty
    qint64 newestMs = 0;
};

struct StorageStats {
    qint64 fileBytes = 0; ///< main file plus WAL
    qint64 usedBytes = 0; ///< pages in use (the budget counts these)
    QList<TierStats> tiers;
};

/** What one purge slice deleted. */
struct PurgeResult {
    qint64 rawRows = 0;
    qint64 minuteRows = 0;
    qint64 hourRows = 0;
    qint64 batchRows = 0;
    qint64 deviceRows = 0; ///< device_chunks rows (a client's window of device readings)
    /// Of the rows above, those that went with whole day partitions (PostgreSQL): one DROP,
    /// no per-row work, so they do not count against a slice's bound.
    qint64 droppedRows = 0;
    bool overBudget = false; ///< the database was over its size budget
    bool more = false;       ///< the slice hit its bound: run another
    bool stuckOverBudget = false; ///< over the budget with only the tiers' floors left: nothing deleted
    qint64 total() const { return rawRows + minuteRows + hourRows + batchRows + deviceRows; }
};

/**
 * Retention: the settings (in the settings table, like the behaviour defaults), purging in
 * bounded slices, and the figures of each tier.
 *
 * A slice is one short transaction that deletes at most a given number of rows, oldest first
 * per client through the (client, time) keys, never a scan of a whole table: the store worker
 * runs slices between ingest commits, so acknowledgements wait at most one slice. Raw samples
 * older than keepRawMs go first, then minute and hour rows past their own limits; over the
 * size budget the oldest hour of raw samples goes (then the oldest minutes, then hours) until
 * the pages in use fit, never the last hour of raw samples, day of minutes or week of hours. Each client's expired raw range is one "expired" gap row, and a batch
 * stored before it expired is acknowledged, never stored again (clients.purged_sequence).
 */
class Retention
{
public:
    explicit Retention(Database &db) : m_db(db) {}

    StoreResult<RetentionSettings> settings();
    StoreResult<void> setSettings(const RetentionSettings &settings);
    /** One slice at @p nowMs deleting at most @p maxRows rows, then gives free pages back. */
    StoreResult<PurgeResult> purgeSlice(qint64 nowMs, int maxRows);
    /** Pages in use, bytes: what the budget is measured against. */
    StoreResult<qint64> usedBytes();
    /** File size and, per tier, rows, bytes (when SQLite's dbstat is there), oldest, newest. */
    StoreResult<StorageStats> stats();

private:
    /** Deletes up to @p budget raw samples of every client older than @p horizonMs. */
    StoreResult<void> dropPartitions(qint64 lastWindow, PurgeResult &result);
    StoreResult<void> purgeRaw(qint64 horizonMs, qint64 &budget, PurgeResult &result);
    StoreResult<void> purgeRollups(const char *table, const char *timeColumn, qint64 horizonMs, qint64 &budget,
                                   qint64 &deleted);
    /** Clients with rows in @p table older than @p horizonMs. */
    StoreResult<QList<qint64>> clientsOlderThan(const char *table, const char *timeColumn, qint64 horizonMs);
    /** Counts @p samples of client row @p num as expired: purge horizon, counts, its "expired" gap. */
    StoreResult<void> markExpired(qint64 num, qint64 samples, qint64 maxSequence, qint64 firstMs, qint64 lastMs);
    /** The oldest raw sample, in chunks or the head table, 0 when there is none. */
    StoreResult<qint64> oldestRaw();
    /** The oldest timestamp in @p table (per-client index seeks), 0 when empty. */
    StoreResult<qint64> oldest(const char *table, const char *timeColumn);

    Database &m_db;
};

} // namespace autofact::server
