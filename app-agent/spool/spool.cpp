// SPDX-License-Identifier: MIT
#include "spool/spool.h"

#include "codec.h"
#include "spool/spoollogging.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStringBuilder>

#include <sqlite3.h>

namespace autofact::agent {

namespace {

using Step = SqliteStatement::Step;

void logFailure(const char *sql, const QString &error)
{
    qCWarning(lcSpool) << "spool SQL failed:" << QString::fromUtf8(sql) << error;
}

bool exec(SqliteDatabase &db, const char *sql)
{
    if (db.exec(sql))
        return true;
    logFailure(sql, db.errorString());
    return false;
}

bool prepare(const SqliteDatabase &db, SqliteStatement &q, const char *sql)
{
    if (q.isPrepared() || q.prepare(db, sql))
        return true;
    logFailure(sql, q.errorString());
    return false;
}

/** Runs the bound statement once; failures are logged. The caller resets it. */
Step step(SqliteStatement &q)
{
    const Step result = q.step();
    if (result == Step::Error)
        logFailure(q.sql(), q.errorString());
    return result;
}

/** Runs a bound statement that returns no rows and leaves it ready for the next use. */
bool run(SqliteStatement &q)
{
    const bool ok = step(q) != Step::Error;
    q.reset();
    return ok;
}

/** Prepares @p sql and fetches the first row (or Done, or a logged Error). */
Step query(const SqliteDatabase &db, SqliteStatement &q, const char *sql)
{
    return prepare(db, q, sql) ? step(q) : Step::Error;
}

// Stored as SQLite integers: every value the spool keeps (sequences, counts, limits capped at
// 1 TiB by the codec) is far below 2^63.
std::int64_t sqlInt(std::uint64_t value)
{
    return static_cast<std::int64_t>(value);
}

} // namespace

Spool::Spool(QString path)
    : m_path(std::move(path))
{
}

Spool::~Spool()
{
    if (m_dbOpen) {
        // Best effort: what is still in memory gets one more chance to reach the disk.
        flushMemory();
    }
    closeDatabase();
}

void Spool::closeDatabase()
{
    for (SqliteStatement *q : {&m_insertOpenSample, &m_insertBatch, &m_deleteBatch, &m_upsertMeta,
                               &m_selectOpenSamples, &m_deleteOpenSamples, &m_selectPayload,
                               &m_begin, &m_commit})
        q->finalize();
    m_db.close();
}

bool Spool::open(QString *error)
{
    const auto fail = [&](const QString &why) {
        if (error)
            *error = m_path + QStringLiteral(": ") + why;
        enterDegraded(why);
        return false;
    };
    QDir().mkpath(QFileInfo(m_path).absolutePath());
    for (int attempt = 0; attempt < 2; ++attempt) {
        closeDatabase();
        if (!m_db.open(m_path))
            return fail(QStringLiteral("cannot open spool: ") + m_db.errorString());
        bool corrupt = false;
        {
            SqliteStatement q;
            const Step first = q.prepare(m_db, "PRAGMA quick_check") ? q.step() : Step::Error;
            if (first == Step::Error) {
                // Only SQLite's own verdict (SQLITE_CORRUPT 11, SQLITE_NOTADB 26) condemns a
                // file; a busy, locked or unreadable file is left alone and the spool runs in
                // memory. Extended codes (e.g. SQLITE_CORRUPT_INDEX) do not match, as with Qt Sql.
                const int code = q.resultCode();
                corrupt = code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
                if (!corrupt)
                    return fail(QStringLiteral("cannot read spool: ") + q.errorString());
            } else {
                corrupt = first != Step::Row || q.columnText(0) != QStringLiteral("ok");
            }
        }
        if (!corrupt) {
            QString schemaError;
            if (!createSchema(&schemaError))
                return fail(schemaError);
            m_dbOpen = true;
            if (!loadState())
                return fail(QStringLiteral("cannot read spool state"));
            m_degraded = false;
            qCInfo(lcSpool).noquote() << "spool" << m_path << "open:" << m_diskBatches.size()
                                      << "batches," << m_openCount << "open samples, next sequence"
                                      << m_nextSequence;
            return true;
        }
        if (attempt == 1)
            break;
        // The file is not a usable spool: keep it (with its WAL) for inspection, start afresh.
        closeDatabase();
        const QString aside = m_path + QStringLiteral(".corrupt-")
                              + QString::number(QDateTime::currentMSecsSinceEpoch());
        qCWarning(lcSpool).noquote() << "spool" << m_path
                                     << "failed its integrity check; moved to" << aside;
        for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")}) {
            if (QFile::exists(m_path + suffix) && !QFile::rename(m_path + suffix, aside + suffix))
                QFile::remove(m_path + suffix);
        }
    }
    return fail(QStringLiteral("cannot create a fresh spool"));
}

bool Spool::createSchema(QString *error)
{
    const char *const statements[] = {
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        // SQLite's default page cache grows to 2 MiB of heap as pages are touched, which a
        // long outage's backlog would do; the spool's hot pages fit in 256 KiB.
        "PRAGMA cache_size=-256",
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS open_samples(id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
        "CREATE TABLE IF NOT EXISTS batches(seq INTEGER PRIMARY KEY, first_ts INTEGER NOT NULL, "
        "sample_count INTEGER NOT NULL, payload BLOB NOT NULL)",
    };
    for (const char *sql : statements) {
        if (!m_db.exec(sql)) {
            if (error)
                *error = QStringLiteral("cannot prepare spool: ") + m_db.errorString();
            return false;
        }
    }
    return true;
}

bool Spool::loadState()
{
    std::uint64_t storedNext = 1;
    {
        SqliteStatement q;
        Step row = query(m_db, q, "SELECT key, value FROM meta");
        if (row == Step::Error)
            return false;
        for (; row == Step::Row; row = q.step()) {
            const QString key = q.columnText(0);
            const auto value = std::uint64_t(q.columnInt64(1));
            if (key == u"next_sequence")
                storedNext = value;
            else if (key == u"dropped_total")
                m_droppedTotal = std::max<std::uint64_t>(m_droppedTotal, value);
            else if (key == u"max_bytes")
                m_maxBytes = value; // the server's last word survives restarts
            else if (key == u"max_age_ms")
                m_maxAgeMs = q.columnInt64(1);
        }
    }
    m_diskBatches.clear();
    m_diskBytes = 0;
    std::uint64_t highest = 0;
    {
        SqliteStatement q;
        Step row = query(m_db, q, "SELECT seq, first_ts, sample_count, length(payload) FROM batches "
                                  "ORDER BY seq");
        if (row == Step::Error)
            return false;
        for (; row == Step::Row; row = q.step()) {
            BatchInfo info{std::uint64_t(q.columnInt64(0)), q.columnInt64(1),
                           std::uint32_t(q.columnInt64(2)), std::uint64_t(q.columnInt64(3))};
            m_diskBatches.push_back(info);
            m_diskBytes += info.bytes;
            highest = info.sequence;
        }
    }
    // Sequences only move forward, whatever the meta row says.
    m_nextSequence = std::max({m_nextSequence, storedNext, highest + 1});
    SqliteStatement q;
    if (query(m_db, q, "SELECT count(*), coalesce(sum(length(data)), 0) FROM open_samples")
        != Step::Row)
        return false;
    m_openCount = std::size_t(q.columnInt64(0));
    m_openBytes = std::uint64_t(q.columnInt64(1));
    return true;
}

void Spool::enterDegraded(const QString &why)
{
    if (!m_degraded)
        qCWarning(lcSpool).noquote() << "spool" << m_path << "cannot be written (" << why
                                     << "); keeping samples in memory until it can";
    m_degraded = true;
}

void Spool::setMaxPageCountForTesting(int pages)
{
    const QByteArray sql = QByteArrayLiteral("PRAGMA max_page_count=") + QByteArray::number(pages);
    exec(m_db, sql.constData());
}

void Spool::setLimits(std::uint64_t maxBytes, std::int64_t maxAgeMs, std::int64_t nowMs)
{
    const bool changed = maxBytes != m_maxBytes || maxAgeMs != m_maxAgeMs;
    m_maxBytes = maxBytes;
    m_maxAgeMs = maxAgeMs;
    if (changed && m_dbOpen && !m_degraded)
        persistMeta();
    enforceLimits(nowMs);
}

void Spool::append(const Sample &sample, std::span<const float> coreBusy,
                   const DeviceTables &devices)
{
    const QByteArray encoded = encodeOpenSample(sample, coreBusy, devices);
    if (m_dbOpen && (!m_degraded || flushMemory())) {
        if (insertOpenSample(encoded)) {
            ++m_openCount;
            m_openBytes += std::uint64_t(encoded.size());
            // Unsealed samples count against the size limit too (they pile up while the agent
            // waits for its first Welcome).
            if (totalBytes() > m_maxBytes)
                enforceLimits(sample.timestampMs);
            return;
        }
        enterDegraded(m_insertOpenSample.errorString());
    }
    HeldSample m{sample, std::vector<float>(coreBusy.begin(), coreBusy.end()),
                   std::uint64_t(encoded.size()), devices};
    m.sample.coreCount = static_cast<std::uint16_t>(coreBusy.size());
    m_memorySamples.push_back(std::move(m));
    m_memorySampleBytes += std::uint64_t(encoded.size());
    if (totalBytes() > m_maxBytes)
        enforceLimits(sample.timestampMs);
}

std::uint64_t Spool::totalBytes() const
{
    return backlogBytes() + m_openBytes + m_memorySampleBytes;
}

SpooledBatch Spool::buildBatch(std::span<const HeldSample> samples)
{
    return encodeBatch(m_nextSequence++, m_droppedTotal, samples);
}

int Spool::seal(std::int64_t nowMs, std::size_t maxSamplesPerBatch)
{
    if (m_dbOpen && m_degraded)
        flushMemory();
    int sealed = 0;
    // Samples from disk first (they are older than any held in memory).
    if (m_dbOpen && !m_degraded && m_openCount > 0) {
        if (begin()) {
            SqliteStatement &q = m_selectOpenSamples;
            std::vector<SpooledBatch> built;
            std::vector<HeldSample> chunk;
            std::uint64_t chunkBytes = 0;
            const std::uint64_t sequenceBefore = m_nextSequence;
            const std::uint64_t droppedBefore = m_droppedTotal;
            Step row = query(m_db, q, "SELECT data FROM open_samples ORDER BY id");
            bool ok = row != Step::Error;
            for (; row == Step::Row; row = q.step()) {
                const DecodeResult r = codec::decode(q.columnBlob(0));
                const auto *one = r.ok() ? std::get_if<SampleBatch>(&*r.message) : nullptr;
                if (!one || one->samples.size() != 1) {
                    // A damaged row cannot be sent; count it as dropped so the gap is visible.
                    ++m_droppedTotal;
                    qCWarning(lcSpool) << "dropping an unreadable spooled sample:" << r.reason;
                    continue;
                }
                const auto bytes = std::uint64_t(q.columnBlob(0).size());
                if (!chunk.empty() && chunkBytes + bytes > maxBatchSampleBytes) {
                    built.push_back(buildBatch(chunk));
                    chunk.clear();
                    chunkBytes = 0;
                }
                chunk.push_back({one->samples.front(), one->coreBusy, bytes, one->devices});
                chunkBytes += bytes;
                if (chunk.size() >= maxSamplesPerBatch) {
                    built.push_back(buildBatch(chunk));
                    chunk.clear();
                    chunkBytes = 0;
                }
            }
            // A read that fails part-way must not let the DELETE below take unread rows with it.
            ok = ok && row != Step::Error;
            if (ok && !chunk.empty())
                built.push_back(buildBatch(chunk));
            q.reset();
            ok = ok && prepare(m_db, m_deleteOpenSamples, "DELETE FROM open_samples")
                 && run(m_deleteOpenSamples);
            for (const SpooledBatch &b : built)
                ok = ok && writeBatch(b);
            ok = ok && persistMeta();
            // On a full disk in WAL mode it is often the COMMIT that fails: only a committed
            // seal changes the in-memory index.
            if (ok && commit()) {
                m_openCount = 0;
                m_openBytes = 0;
                sealed += int(built.size());
                for (const SpooledBatch &b : built) {
                    m_diskBatches.push_back({b.sequence, b.firstTimestampMs, b.sampleCount,
                                             std::uint64_t(b.payload.size())});
                    m_diskBytes += std::uint64_t(b.payload.size());
                }
            } else {
                const QString why = m_db.errorString();
                m_db.exec("ROLLBACK");
                m_nextSequence = sequenceBefore;
                m_droppedTotal = droppedBefore;
                // Rows stay in open_samples; they are sealed on a later attempt.
                enterDegraded(why);
            }
        } else {
            enterDegraded(m_db.errorString());
        }
    }
    // Samples held in memory: their batches stay in memory until the disk takes them.
    std::vector<std::uint64_t> sizes;
    sizes.reserve(m_memorySamples.size());
    for (const HeldSample &h : m_memorySamples)
        sizes.push_back(h.bytes);
    for (std::size_t i = 0, n = 0; i < m_memorySamples.size(); i += n) {
        n = batchLength(std::span<const std::uint64_t>(sizes).subspan(i), maxSamplesPerBatch);
        const std::size_t end = i + n;
        std::vector<HeldSample> part(std::make_move_iterator(m_memorySamples.begin() + i),
                                       std::make_move_iterator(m_memorySamples.begin() + end));
        m_memoryBatches.push_back(buildBatch(part));
        ++sealed;
    }
    m_memorySamples.clear();
    m_memorySampleBytes = 0;
    if (m_dbOpen && m_degraded)
        flushMemory();
    enforceLimits(nowMs);
    return sealed;
}

bool Spool::writeBatch(const SpooledBatch &batch)
{
    SqliteStatement &q = m_insertBatch;
    if (!prepare(m_db, q, "INSERT OR REPLACE INTO batches(seq, first_ts, sample_count, payload) "
                          "VALUES (?, ?, ?, ?)"))
        return false;
    q.bindInt64(1, sqlInt(batch.sequence));
    q.bindInt64(2, batch.firstTimestampMs);
    q.bindInt64(3, batch.sampleCount);
    q.bindBlob(4, batch.payload);
    return run(q);
}

bool Spool::insertOpenSample(const QByteArray &encoded)
{
    SqliteStatement &q = m_insertOpenSample;
    if (!prepare(m_db, q, "INSERT INTO open_samples(data) VALUES (?)"))
        return false;
    q.bindBlob(1, encoded);
    return run(q);
}

bool Spool::deleteBatch(std::uint64_t sequence)
{
    SqliteStatement &q = m_deleteBatch;
    if (!prepare(m_db, q, "DELETE FROM batches WHERE seq = ?"))
        return false;
    q.bindInt64(1, sqlInt(sequence));
    return run(q);
}

bool Spool::begin()
{
    return prepare(m_db, m_begin, "BEGIN") && run(m_begin);
}

bool Spool::commit()
{
    return prepare(m_db, m_commit, "COMMIT") && run(m_commit);
}

bool Spool::persistMeta()
{
    SqliteStatement &q = m_upsertMeta;
    if (!prepare(m_db, q, "INSERT OR REPLACE INTO meta(key, value) VALUES "
                          "('next_sequence', ?), ('dropped_total', ?), ('max_bytes', ?), "
                          "('max_age_ms', ?)"))
        return false;
    q.bindInt64(1, sqlInt(m_nextSequence));
    q.bindInt64(2, sqlInt(m_droppedTotal));
    q.bindInt64(3, sqlInt(m_maxBytes));
    q.bindInt64(4, m_maxAgeMs);
    return run(q);
}

bool Spool::flushMemory()
{
    if (!m_dbOpen)
        return false;
    if (m_memoryBatches.empty() && m_memorySamples.empty() && !m_degraded)
        return true;
    if (!begin())
        return false;
    bool ok = true;
    // Batches dropped or acked while the file was read-only leave it now.
    for (std::uint64_t seq : m_deleteWhenWritable)
        ok = ok && deleteBatch(seq);
    for (const SpooledBatch &b : m_memoryBatches)
        ok = ok && writeBatch(b);
    std::uint64_t addedBytes = 0;
    if (ok && !m_memorySamples.empty()) {
        for (const HeldSample &m : m_memorySamples) {
            const QByteArray encoded = encodeOpenSample(m.sample, m.cores, m.devices);
            addedBytes += std::uint64_t(encoded.size());
            ok = ok && insertOpenSample(encoded);
        }
    }
    ok = ok && persistMeta();
    if (!ok || !commit()) {
        m_db.exec("ROLLBACK");
        return false;
    }
    m_deleteWhenWritable.clear();
    for (const SpooledBatch &b : m_memoryBatches) {
        m_diskBatches.push_back({b.sequence, b.firstTimestampMs, b.sampleCount,
                                 std::uint64_t(b.payload.size())});
        m_diskBytes += std::uint64_t(b.payload.size());
    }
    std::sort(m_diskBatches.begin(), m_diskBatches.end(),
              [](const BatchInfo &a, const BatchInfo &b) { return a.sequence < b.sequence; });
    m_openCount += m_memorySamples.size();
    m_openBytes += addedBytes;
    m_memoryBatches.clear();
    m_memorySamples.clear();
    m_memorySampleBytes = 0;
    if (m_degraded)
        qCInfo(lcSpool).noquote() << "spool" << m_path << "writable again; memory backlog saved";
    m_degraded = false;
    return true;
}

std::vector<SpooledBatch> Spool::pending(std::uint64_t afterSequence, std::size_t maxBatches) const
{
    std::vector<SpooledBatch> out;
    // The index decides what is pending: the file can still hold rows that were acked or
    // dropped while it could not be written, and those must neither be sent nor crowd out
    // the batches that are.
    if (m_dbOpen) {
        auto it = std::upper_bound(m_diskBatches.begin(), m_diskBatches.end(), afterSequence,
                                   [](std::uint64_t s, const BatchInfo &b) { return s < b.sequence; });
        SqliteStatement &q = m_selectPayload;
        const bool prepared = prepare(m_db, q, "SELECT payload FROM batches WHERE seq = ?");
        for (; prepared && it != m_diskBatches.end() && out.size() < maxBatches; ++it) {
            q.bindInt64(1, sqlInt(it->sequence));
            if (step(q) == Step::Row)
                out.push_back({it->sequence, it->firstTimestampMs, it->sampleCount, q.columnBlob(0)});
            // else: unreadable now; the next call tries again
            q.reset();
        }
    }
    for (const SpooledBatch &b : m_memoryBatches) {
        if (b.sequence > afterSequence)
            out.push_back(b);
    }
    std::sort(out.begin(), out.end(),
              [](const SpooledBatch &a, const SpooledBatch &b) { return a.sequence < b.sequence; });
    if (out.size() > maxBatches)
        out.resize(maxBatches);
    return out;
}

std::vector<AckedBatch> Spool::acknowledge(const Ack &ack)
{
    const auto covered = [&ack](std::uint64_t seq) { return ackCovers(ack, seq); };
    std::vector<AckedBatch> acked;
    std::vector<std::uint64_t> gone;
    for (auto it = m_diskBatches.begin(); it != m_diskBatches.end();) {
        if (covered(it->sequence)) {
            gone.push_back(it->sequence);
            acked.push_back({it->sequence, it->sampleCount});
            m_diskBytes -= it->bytes;
            it = m_diskBatches.erase(it);
        } else {
            ++it;
        }
    }
    std::erase_if(m_memoryBatches, [&](const SpooledBatch &b) {
        if (!covered(b.sequence))
            return false;
        acked.push_back({b.sequence, b.sampleCount});
        return true;
    });
    std::sort(acked.begin(), acked.end(),
              [](const AckedBatch &a, const AckedBatch &b) { return a.sequence < b.sequence; });
    if (gone.empty() || !m_dbOpen)
        return acked;
    if (m_degraded) {
        m_deleteWhenWritable.insert(m_deleteWhenWritable.end(), gone.begin(), gone.end());
        return acked;
    }
    // An acked batch that cannot be deleted now stays in the file until it can be (or, if the
    // agent stops first, is resent after the restart and deduplicated by the server).
    bool ok = begin();
    QString why = ok ? QString() : m_db.errorString();
    for (std::uint64_t seq : gone) {
        if (!deleteBatch(seq)) {
            if (ok)
                why = m_deleteBatch.errorString();
            ok = false;
        }
    }
    if (ok && !commit()) {
        ok = false;
        why = m_db.errorString();
    }
    if (!ok) {
        // The index already forgot them (pending() never sends them); the rows go later.
        m_db.exec("ROLLBACK");
        m_deleteWhenWritable.insert(m_deleteWhenWritable.end(), gone.begin(), gone.end());
        enterDegraded(why);
    }
    return acked;
}

void Spool::ensureSequenceAbove(std::uint64_t sequence)
{
    if (m_nextSequence > sequence)
        return;
    qCWarning(lcSpool) << "server has stored up to sequence" << sequence
                       << "but the spool would have used" << m_nextSequence
                       << "next (spool lost or replaced?); skipping ahead";
    m_nextSequence = sequence + 1;
    if (m_dbOpen && !m_degraded)
        persistMeta();
}

std::uint32_t Spool::backlogBatches() const
{
    return static_cast<std::uint32_t>(m_diskBatches.size() + m_memoryBatches.size());
}

std::uint64_t Spool::backlogBytes() const
{
    std::uint64_t bytes = m_diskBytes;
    for (const SpooledBatch &b : m_memoryBatches)
        bytes += std::uint64_t(b.payload.size());
    return bytes;
}

void Spool::logDroppedBatch(std::uint64_t sequence, std::uint32_t samples) const
{
    qCWarning(lcSpool) << "spool limit reached: dropped batch" << sequence << "with" << samples
                       << "samples (" << m_droppedTotal << "dropped in total)";
}

void Spool::enforceLimits(std::int64_t nowMs)
{
    const auto overAge = [&](std::int64_t firstTs) {
        return firstTs > 0 && nowMs - firstTs > m_maxAgeMs;
    };
    // Decide first, change nothing yet: oldest first, sealed batches on disk, then sealed
    // batches in memory, then unsealed samples on disk, then unsealed samples in memory.
    std::uint64_t excess = totalBytes() > m_maxBytes ? totalBytes() - m_maxBytes : 0;
    std::size_t diskDrops = 0;
    std::uint64_t diskDropSamples = 0;
    for (const BatchInfo &b : m_diskBatches) {
        if (excess == 0 && !overAge(b.firstTimestampMs))
            break;
        ++diskDrops;
        diskDropSamples += b.sampleCount;
        excess -= std::min(excess, b.bytes);
    }
    std::size_t memoryDrops = 0;
    if (diskDrops == m_diskBatches.size()) {
        for (const SpooledBatch &b : m_memoryBatches) {
            if (excess == 0 && !overAge(b.firstTimestampMs))
                break;
            ++memoryDrops;
            excess -= std::min<std::uint64_t>(excess, std::uint64_t(b.payload.size()));
        }
    }
    const bool writable = m_dbOpen && !m_degraded;
    // Unsealed rows on disk: the oldest whose sizes cover what is still in excess.
    std::uint64_t openDropRows = 0, openDropBytes = 0;
    std::int64_t openDropUpToId = -1;
    if (excess > 0 && writable && m_openCount > 0) {
        SqliteStatement q;
        Step row = query(m_db, q, "SELECT id, length(data) FROM open_samples ORDER BY id");
        while (row == Step::Row) {
            openDropUpToId = q.columnInt64(0);
            openDropBytes += std::uint64_t(q.columnInt64(1));
            ++openDropRows;
            if (openDropBytes >= excess)
                break;
            row = q.step();
        }
        excess -= std::min(excess, openDropBytes);
    }
    if (diskDrops == 0 && memoryDrops == 0 && openDropRows == 0 && excess == 0)
        return;

    if (writable && (diskDrops > 0 || openDropRows > 0)) {
        // Commit, then believe it: a failed commit leaves every counter as it was.
        bool ok = begin();
        for (std::size_t i = 0; ok && i < diskDrops; ++i)
            ok = deleteBatch(m_diskBatches[i].sequence);
        if (ok && openDropRows > 0) {
            SqliteStatement q;
            ok = prepare(m_db, q, "DELETE FROM open_samples WHERE id <= ?");
            ok = ok && q.bindInt64(1, openDropUpToId) && run(q);
        }
        const std::uint64_t droppedBefore = m_droppedTotal;
        m_droppedTotal += diskDropSamples + openDropRows;
        ok = ok && persistMeta();
        if (!ok || !commit()) {
            const QString why = m_db.errorString(); // before ROLLBACK replaces it
            m_db.exec("ROLLBACK");
            m_droppedTotal = droppedBefore;
            enterDegraded(why);
            openDropRows = 0; // those rows stay; the degraded path below handles the batches
        } else {
            // m_droppedTotal already holds them: it was persisted in the same transaction.
            for (std::size_t i = 0; i < diskDrops; ++i)
                logDroppedBatch(m_diskBatches[i].sequence, m_diskBatches[i].sampleCount);
            m_diskBatches.erase(m_diskBatches.begin(), m_diskBatches.begin() + std::ptrdiff_t(diskDrops));
            m_diskBytes = 0;
            for (const BatchInfo &b : m_diskBatches)
                m_diskBytes += b.bytes;
            diskDrops = 0;
            if (openDropRows > 0) {
                m_openCount -= openDropRows;
                m_openBytes -= std::min(m_openBytes, openDropBytes);
                qCWarning(lcSpool) << "spool limit reached: dropped" << openDropRows
                                   << "unsent samples (" << m_droppedTotal << "dropped in total)";
            }
        }
    }
    if (diskDrops > 0) {
        // The file cannot be changed now: forget the batches here, delete their rows later.
        for (std::size_t i = 0; i < diskDrops; ++i) {
            m_droppedTotal += m_diskBatches[i].sampleCount;
            logDroppedBatch(m_diskBatches[i].sequence, m_diskBatches[i].sampleCount);
            m_deleteWhenWritable.push_back(m_diskBatches[i].sequence);
        }
        m_diskBatches.erase(m_diskBatches.begin(), m_diskBatches.begin() + std::ptrdiff_t(diskDrops));
        m_diskBytes = 0;
        for (const BatchInfo &b : m_diskBatches)
            m_diskBytes += b.bytes;
    }
    for (std::size_t i = 0; i < memoryDrops; ++i) {
        m_droppedTotal += m_memoryBatches.front().sampleCount;
        logDroppedBatch(m_memoryBatches.front().sequence, m_memoryBatches.front().sampleCount);
        m_memoryBatches.pop_front();
    }
    // Unsealed samples in memory last (their exact sizes are known).
    std::size_t memorySampleDrops = 0;
    while (totalBytes() > m_maxBytes && memorySampleDrops < m_memorySamples.size()) {
        m_memorySampleBytes -= std::min(m_memorySampleBytes, m_memorySamples[memorySampleDrops].bytes);
        ++memorySampleDrops;
    }
    if (memorySampleDrops > 0) {
        m_memorySamples.erase(m_memorySamples.begin(), m_memorySamples.begin() + std::ptrdiff_t(memorySampleDrops));
        m_droppedTotal += memorySampleDrops;
        qCWarning(lcSpool) << "spool limit reached: dropped" << memorySampleDrops << "samples held in memory";
    }
}

} // namespace autofact::agent
