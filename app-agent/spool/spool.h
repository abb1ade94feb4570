// SPDX-License-Identifier: MIT
#pragma once

#include "spool/batchstore.h"
#include "spool/sqlitedatabase.h"
#include "spool/sqlitestatement.h"

#include <QString>

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace autofact::agent {

/**
 * The agent's durable buffer. Every sample is written here before anything is sent; samples
 * are sealed into numbered batches, and a batch leaves only when the server acknowledges it.
 *
 * Storage is one SQLite file (WAL, synchronous=NORMAL): each append is its own small
 * transaction, so a kill -9 loses nothing that append() returned from; a power loss can lose
 * the last commits since the previous WAL checkpoint. Sequence numbers are persisted in the
 * same transaction as the batch that uses them and are never reused.
 *
 * When the file cannot be written (full disk, read-only, vanished), samples and batches stay
 * in memory (same limits) and are written back once the disk accepts writes again.
 */
class Spool : public BatchStore
{
public:
    /** Spool at @p path; nothing is touched until open(). */
    explicit Spool(QString path);
    ~Spool() override;

    /**
     * Opens or creates the spool. A file that fails SQLite's integrity check is moved aside
     * (`<path>.corrupt-<ms>`) and a fresh spool started; the log says so. Returns false only
     * when not even a fresh file can be created — the spool then runs in memory.
     */
    bool open(QString *error = nullptr);

    /**
     * Server-pushed limits; enforced at once, after every seal, and whenever unsealed samples
     * alone exceed the size limit. Persisted, so a restart keeps the server's last word.
     */
    void setLimits(std::uint64_t maxBytes, std::int64_t maxAgeMs, std::int64_t nowMs) override;

    void append(const Sample &sample, std::span<const float> coreBusy,
                const DeviceTables &devices = {}) override;
    int seal(std::int64_t nowMs, std::size_t maxSamplesPerBatch) override;
    std::vector<SpooledBatch> pending(std::uint64_t afterSequence,
                                      std::size_t maxBatches) const override;
    std::vector<AckedBatch> acknowledge(const Ack &ack) override;
    void ensureSequenceAbove(std::uint64_t sequence) override;

    std::uint64_t droppedTotal() const override { return m_droppedTotal; }
    std::uint64_t nextSequence() const override { return m_nextSequence; }
    std::size_t openSampleCount() const override { return m_openCount + m_memorySamples.size(); }
    std::uint32_t backlogBatches() const override;
    std::uint64_t backlogBytes() const override;
    /** True while writes fail and data is held in memory. */
    bool degraded() const { return m_degraded; }
    QString path() const { return m_path; }

    /** Test hook: caps the database file at @p pages pages to simulate a full disk. */
    void setMaxPageCountForTesting(int pages);

private:
    bool createSchema(QString *error);
    bool loadState();
    bool flushMemory();
    bool writeBatch(const SpooledBatch &batch);
    bool insertOpenSample(const QByteArray &encoded);
    bool deleteBatch(std::uint64_t sequence);
    /** Finalizes the cached statements, then closes the connection. */
    void closeDatabase();
    bool persistMeta();
    /** BEGIN and COMMIT through prepared statements (logged on failure). */
    bool begin();
    bool commit();
    void enforceLimits(std::int64_t nowMs);
    /** Logs a sealed batch the limits dropped; the caller has counted its samples. */
    void logDroppedBatch(std::uint64_t sequence, std::uint32_t samples) const;
    void enterDegraded(const QString &why);
    /** Everything the limits count: sealed batches plus unsealed samples. */
    std::uint64_t totalBytes() const;
    /** Numbers @p samples as the next batch (sequence and drop count from this spool). */
    SpooledBatch buildBatch(std::span<const HeldSample> samples);

    QString m_path;
    SqliteDatabase m_db;
    // Prepared once per connection and reused: they run on every append, seal and ack.
    // Declared after m_db, so destroyed before it.
    // (Parsing the seal's and ack's statements anew was a third of the agent's instructions
    // at 1 s sampling, though little of its CPU time: that goes to waking up, BENCHMARKS.md.)
    SqliteStatement m_insertOpenSample;
    SqliteStatement m_insertBatch;
    SqliteStatement m_deleteBatch;
    SqliteStatement m_upsertMeta;
    SqliteStatement m_selectOpenSamples;
    SqliteStatement m_deleteOpenSamples;
    mutable SqliteStatement m_selectPayload; ///< pending() is const; the statement is a cache
    SqliteStatement m_begin;
    SqliteStatement m_commit;
    bool m_dbOpen = false;
    bool m_degraded = false;
    std::uint64_t m_nextSequence = 1;
    std::uint64_t m_droppedTotal = 0;
    std::uint64_t m_maxBytes = 64ull * 1024 * 1024;
    std::int64_t m_maxAgeMs = 7ll * 24 * 3600 * 1000;
    std::size_t m_openCount = 0; ///< samples in the database's open batch
    std::uint64_t m_openBytes = 0; ///< their encoded size
    std::uint64_t m_memorySampleBytes = 0; ///< encoded size of m_memorySamples
    std::vector<std::uint64_t> m_deleteWhenWritable; ///< batches to delete once writes work

    // Index of sealed batches on disk, oldest first: the spool needs sizes and ages for its
    // limits without reading payloads back.
    struct BatchInfo {
        std::uint64_t sequence;
        std::int64_t firstTimestampMs;
        std::uint32_t sampleCount;
        std::uint64_t bytes;
    };
    std::deque<BatchInfo> m_diskBatches;
    std::uint64_t m_diskBytes = 0;

    // Degraded mode: what could not be written yet.
    std::vector<HeldSample> m_memorySamples;
    std::deque<SpooledBatch> m_memoryBatches;
};

} // namespace autofact::agent
