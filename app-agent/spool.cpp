// SPDX-License-Identifier: MIT
#include "spool.h"

#include "agentlogging.h"
#include "codec.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSqlError>
#include <QSqlQuery>
#include <QStringBuilder>
#include <QVariant>

#include <atomic>

namespace autofact::agent {

namespace {

std::atomic<int> connectionCounter{0};

bool exec(QSqlQuery &q, const QString &sql)
{
    if (q.exec(sql))
        return true;
    qCWarning(lcSpool) << "spool SQL failed:" << sql << q.lastError().text();
    return false;
}

bool exec(QSqlQuery &q)
{
    if (q.exec())
        return true;
    qCWarning(lcSpool) << "spool SQL failed:" << q.lastQuery() << q.lastError().text();
    return false;
}

// An open sample is stored as a one-sample SampleBatch: the codec already versions, verifies
// and bounds that format, so the spool needs no second encoding of its own.
QByteArray encodeOpenSample(const Sample &sample, std::span<const float> cores)
{
    SampleBatch one;
    one.sequence = 1;
    one.samples.push_back(sample);
    one.samples.back().coreCount = static_cast<std::uint16_t>(cores.size());
    one.coreBusy.assign(cores.begin(), cores.end());
    return codec::encode(Message(std::move(one)));
}

} // namespace

Spool::Spool(QString path)
    : m_path(std::move(path))
    , m_connectionName(QStringLiteral("autofact-spool-%1").arg(connectionCounter.fetch_add(1)))
{
}

Spool::~Spool()
{
    if (m_dbOpen) {
        // Best effort: what is still in memory gets one more chance to reach the disk.
        flushMemory();
        {
            QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
            db.close();
        }
    }
    QSqlDatabase::removeDatabase(m_connectionName);
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
        QSqlDatabase db = QSqlDatabase::contains(m_connectionName)
                              ? QSqlDatabase::database(m_connectionName, false)
                              : QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"),
                                                          m_connectionName);
        db.setDatabaseName(m_path);
        if (!db.open())
            return fail(QStringLiteral("cannot open spool: ") + db.lastError().text());
        QSqlQuery q(db);
        bool corrupt = false;
        if (!q.exec(QStringLiteral("PRAGMA quick_check"))) {
            // Only SQLite's own verdict (SQLITE_CORRUPT 11, SQLITE_NOTADB 26) condemns a file;
            // a busy, locked or unreadable file is left alone and the spool runs in memory.
            const QString code = q.lastError().nativeErrorCode();
            corrupt = code == u"11" || code == u"26";
            if (!corrupt)
                return fail(QStringLiteral("cannot read spool: ") + q.lastError().text());
        } else {
            corrupt = !q.next() || q.value(0).toString() != QStringLiteral("ok");
        }
        q.finish();
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
        q = QSqlQuery();
        db.close();
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
    QSqlQuery q(QSqlDatabase::database(m_connectionName, false));
    const QString statements[] = {
        QStringLiteral("PRAGMA journal_mode=WAL"),
        QStringLiteral("PRAGMA synchronous=NORMAL"),
        QStringLiteral("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)"),
        QStringLiteral("CREATE TABLE IF NOT EXISTS open_samples(id INTEGER PRIMARY KEY, data BLOB NOT NULL)"),
        QStringLiteral("CREATE TABLE IF NOT EXISTS batches(seq INTEGER PRIMARY KEY, first_ts INTEGER NOT NULL, "
                       "sample_count INTEGER NOT NULL, payload BLOB NOT NULL)"),
    };
    for (const QString &sql : statements) {
        if (!q.exec(sql)) {
            if (error)
                *error = QStringLiteral("cannot prepare spool: ") + q.lastError().text();
            return false;
        }
    }
    return true;
}

bool Spool::loadState()
{
    QSqlQuery q(QSqlDatabase::database(m_connectionName, false));
    std::uint64_t storedNext = 1;
    if (!exec(q, QStringLiteral("SELECT key, value FROM meta")))
        return false;
    while (q.next()) {
        const QString key = q.value(0).toString();
        if (key == u"next_sequence")
            storedNext = q.value(1).toULongLong();
        else if (key == u"dropped_total")
            m_droppedTotal = std::max<std::uint64_t>(m_droppedTotal, q.value(1).toULongLong());
        else if (key == u"max_bytes")
            m_maxBytes = q.value(1).toULongLong(); // the server's last word survives restarts
        else if (key == u"max_age_ms")
            m_maxAgeMs = q.value(1).toLongLong();
    }
    m_diskBatches.clear();
    m_diskBytes = 0;
    std::uint64_t highest = 0;
    if (!exec(q, QStringLiteral("SELECT seq, first_ts, sample_count, length(payload) FROM batches "
                                "ORDER BY seq")))
        return false;
    while (q.next()) {
        BatchInfo info{q.value(0).toULongLong(), q.value(1).toLongLong(),
                       q.value(2).toUInt(), q.value(3).toULongLong()};
        m_diskBatches.push_back(info);
        m_diskBytes += info.bytes;
        highest = info.sequence;
    }
    // Sequences only move forward, whatever the meta row says.
    m_nextSequence = std::max({m_nextSequence, storedNext, highest + 1});
    if (!exec(q, QStringLiteral("SELECT count(*), coalesce(sum(length(data)), 0) FROM open_samples"))
        || !q.next())
        return false;
    m_openCount = q.value(0).toULongLong();
    m_openBytes = q.value(1).toULongLong();
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
    QSqlQuery q(QSqlDatabase::database(m_connectionName, false));
    exec(q, QStringLiteral("PRAGMA max_page_count=%1").arg(pages));
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

void Spool::append(const Sample &sample, std::span<const float> coreBusy)
{
    const QByteArray encoded = encodeOpenSample(sample, coreBusy);
    if (m_dbOpen && (!m_degraded || flushMemory())) {
        QSqlQuery q(QSqlDatabase::database(m_connectionName, false));
        q.prepare(QStringLiteral("INSERT INTO open_samples(data) VALUES (?)"));
        q.addBindValue(encoded);
        if (q.exec()) {
            ++m_openCount;
            m_openBytes += std::uint64_t(encoded.size());
            // Unsealed samples count against the size limit too (they pile up while the agent
            // waits for its first Welcome).
            if (totalBytes() > m_maxBytes)
                enforceLimits(sample.timestampMs);
            return;
        }
        enterDegraded(q.lastError().text());
    }
    MemorySample m{sample, std::vector<float>(coreBusy.begin(), coreBusy.end()),
                   std::uint64_t(encoded.size())};
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

SpooledBatch Spool::buildBatch(std::vector<MemorySample> &samples)
{
    SampleBatch batch;
    batch.sequence = m_nextSequence++;
    batch.droppedTotal = m_droppedTotal;
    batch.samples.reserve(samples.size());
    for (MemorySample &m : samples) {
        batch.samples.push_back(m.sample);
        batch.coreBusy.insert(batch.coreBusy.end(), m.cores.begin(), m.cores.end());
    }
    SpooledBatch out;
    out.sequence = batch.sequence;
    out.firstTimestampMs = batch.samples.empty() ? 0 : batch.samples.front().timestampMs;
    out.sampleCount = static_cast<std::uint32_t>(batch.samples.size());
    out.payload = codec::encode(Message(std::move(batch)));
    return out;
}

int Spool::seal(std::int64_t nowMs, std::size_t maxSamplesPerBatch)
{
    if (m_dbOpen && m_degraded)
        flushMemory();
    int sealed = 0;
    // Samples from disk first (they are older than any held in memory).
    if (m_dbOpen && !m_degraded && m_openCount > 0) {
        QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
        if (db.transaction()) {
            QSqlQuery q(db);
            std::vector<SpooledBatch> built;
            std::vector<MemorySample> chunk;
            const std::uint64_t sequenceBefore = m_nextSequence;
            const std::uint64_t droppedBefore = m_droppedTotal;
            bool ok = exec(q, QStringLiteral("SELECT data FROM open_samples ORDER BY id"));
            while (ok && q.next()) {
                const DecodeResult r = codec::decode(q.value(0).toByteArray());
                const auto *one = r.ok() ? std::get_if<SampleBatch>(&*r.message) : nullptr;
                if (!one || one->samples.size() != 1) {
                    // A damaged row cannot be sent; count it as dropped so the gap is visible.
                    ++m_droppedTotal;
                    qCWarning(lcSpool) << "dropping an unreadable spooled sample:" << r.reason;
                    continue;
                }
                chunk.push_back({one->samples.front(), one->coreBusy, 0});
                if (chunk.size() == maxSamplesPerBatch) {
                    built.push_back(buildBatch(chunk));
                    chunk.clear();
                }
            }
            if (ok && !chunk.empty())
                built.push_back(buildBatch(chunk));
            q.finish();
            ok = ok && exec(q, QStringLiteral("DELETE FROM open_samples"));
            for (const SpooledBatch &b : built)
                ok = ok && writeBatch(b);
            ok = ok && persistMeta();
            // On a full disk in WAL mode it is often the COMMIT that fails: only a committed
            // seal changes the in-memory index.
            if (ok && db.commit()) {
                m_openCount = 0;
                m_openBytes = 0;
                sealed += int(built.size());
                for (const SpooledBatch &b : built) {
                    m_diskBatches.push_back({b.sequence, b.firstTimestampMs, b.sampleCount,
                                             std::uint64_t(b.payload.size())});
                    m_diskBytes += std::uint64_t(b.payload.size());
                }
            } else {
                const QString why = db.lastError().text();
                db.rollback();
                m_nextSequence = sequenceBefore;
                m_droppedTotal = droppedBefore;
                // Rows stay in open_samples; they are sealed on a later attempt.
                enterDegraded(why);
            }
        } else {
            enterDegraded(db.lastError().text());
        }
    }
    // Samples held in memory: their batches stay in memory until the disk takes them.
    for (std::size_t i = 0; i < m_memorySamples.size(); i += maxSamplesPerBatch) {
        const std::size_t end = std::min(m_memorySamples.size(), i + maxSamplesPerBatch);
        std::vector<MemorySample> part(std::make_move_iterator(m_memorySamples.begin() + i),
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
    QSqlQuery q(QSqlDatabase::database(m_connectionName, false));
    q.prepare(QStringLiteral("INSERT OR REPLACE INTO batches(seq, first_ts, sample_count, payload) "
                             "VALUES (?, ?, ?, ?)"));
    q.addBindValue(QVariant::fromValue<qulonglong>(batch.sequence));
    q.addBindValue(QVariant::fromValue<qlonglong>(batch.firstTimestampMs));
    q.addBindValue(QVariant::fromValue<uint>(batch.sampleCount));
    q.addBindValue(batch.payload);
    return exec(q);
}

bool Spool::persistMeta()
{
    QSqlQuery q(QSqlDatabase::database(m_connectionName, false));
    q.prepare(QStringLiteral("INSERT OR REPLACE INTO meta(key, value) VALUES "
                             "('next_sequence', ?), ('dropped_total', ?), ('max_bytes', ?), "
                             "('max_age_ms', ?)"));
    q.addBindValue(QVariant::fromValue<qulonglong>(m_nextSequence));
    q.addBindValue(QVariant::fromValue<qulonglong>(m_droppedTotal));
    q.addBindValue(QVariant::fromValue<qulonglong>(m_maxBytes));
    q.addBindValue(QVariant::fromValue<qlonglong>(m_maxAgeMs));
    return exec(q);
}

bool Spool::flushMemory()
{
    if (!m_dbOpen)
        return false;
    if (m_memoryBatches.empty() && m_memorySamples.empty() && !m_degraded)
        return true;
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    if (!db.transaction())
        return false;
    QSqlQuery q(db);
    bool ok = true;
    // Batches dropped or acked while the file was read-only leave it now.
    if (!m_deleteWhenWritable.empty()) {
        q.prepare(QStringLiteral("DELETE FROM batches WHERE seq = ?"));
        for (std::uint64_t seq : m_deleteWhenWritable) {
            q.addBindValue(QVariant::fromValue<qulonglong>(seq));
            ok = ok && exec(q);
        }
    }
    for (const SpooledBatch &b : m_memoryBatches)
        ok = ok && writeBatch(b);
    std::uint64_t addedBytes = 0;
    if (ok && !m_memorySamples.empty()) {
        q.prepare(QStringLiteral("INSERT INTO open_samples(data) VALUES (?)"));
        for (const MemorySample &m : m_memorySamples) {
            const QByteArray encoded = encodeOpenSample(m.sample, m.cores);
            addedBytes += std::uint64_t(encoded.size());
            q.addBindValue(encoded);
            ok = ok && exec(q);
        }
    }
    ok = ok && persistMeta();
    if (!ok || !db.commit()) {
        db.rollback();
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
        QSqlQuery q(QSqlDatabase::database(m_connectionName, false));
        q.prepare(QStringLiteral("SELECT payload FROM batches WHERE seq = ?"));
        for (; it != m_diskBatches.end() && out.size() < maxBatches; ++it) {
            q.addBindValue(QVariant::fromValue<qulonglong>(it->sequence));
            if (!exec(q) || !q.next())
                continue; // unreadable now; the next call tries again
            out.push_back({it->sequence, it->firstTimestampMs, it->sampleCount, q.value(0).toByteArray()});
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

void Spool::acknowledge(const Ack &ack)
{
    const auto covered = [&ack](std::uint64_t seq) {
        if (seq <= ack.cumulative)
            return true;
        for (const SequenceRange &r : ack.ranges) {
            if (seq >= r.first && seq <= r.last)
                return true;
        }
        return false;
    };
    std::vector<std::uint64_t> gone;
    for (auto it = m_diskBatches.begin(); it != m_diskBatches.end();) {
        if (covered(it->sequence)) {
            gone.push_back(it->sequence);
            m_diskBytes -= it->bytes;
            it = m_diskBatches.erase(it);
        } else {
            ++it;
        }
    }
    std::erase_if(m_memoryBatches, [&](const SpooledBatch &b) { return covered(b.sequence); });
    if (gone.empty() || !m_dbOpen)
        return;
    if (m_degraded) {
        m_deleteWhenWritable.insert(m_deleteWhenWritable.end(), gone.begin(), gone.end());
        return;
    }
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    QSqlQuery q(db);
    // An acked batch that cannot be deleted now stays in the file until it can be (or, if the
    // agent stops first, is resent after the restart and deduplicated by the server).
    bool ok = db.transaction();
    q.prepare(QStringLiteral("DELETE FROM batches WHERE seq = ?"));
    for (std::uint64_t seq : gone) {
        q.addBindValue(QVariant::fromValue<qulonglong>(seq));
        ok = exec(q) && ok;
    }
    if (!ok || !db.commit()) {
        // The index already forgot them (pending() never sends them); the rows go later.
        db.rollback();
        m_deleteWhenWritable.insert(m_deleteWhenWritable.end(), gone.begin(), gone.end());
        enterDegraded(db.lastError().text());
    }
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

void Spool::dropOldest(std::uint64_t sequence, std::uint32_t samples, bool count)
{
    if (count)
        m_droppedTotal += samples;
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
    qint64 openDropUpToId = -1;
    if (excess > 0 && writable && m_openCount > 0) {
        QSqlQuery q(QSqlDatabase::database(m_connectionName, false));
        if (exec(q, QStringLiteral("SELECT id, length(data) FROM open_samples ORDER BY id"))) {
            while (openDropBytes < excess && q.next()) {
                openDropUpToId = q.value(0).toLongLong();
                openDropBytes += q.value(1).toULongLong();
                ++openDropRows;
            }
        }
        excess -= std::min(excess, openDropBytes);
    }
    if (diskDrops == 0 && memoryDrops == 0 && openDropRows == 0 && excess == 0)
        return;

    if (writable && (diskDrops > 0 || openDropRows > 0)) {
        // Commit, then believe it: a failed commit leaves every counter as it was.
        QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
        bool ok = db.transaction();
        QSqlQuery q(db);
        q.prepare(QStringLiteral("DELETE FROM batches WHERE seq = ?"));
        for (std::size_t i = 0; ok && i < diskDrops; ++i) {
            q.addBindValue(QVariant::fromValue<qulonglong>(m_diskBatches[i].sequence));
            ok = exec(q);
        }
        if (ok && openDropRows > 0) {
            q.prepare(QStringLiteral("DELETE FROM open_samples WHERE id <= ?"));
            q.addBindValue(QVariant::fromValue<qlonglong>(openDropUpToId));
            ok = exec(q);
        }
        const std::uint64_t droppedBefore = m_droppedTotal;
        m_droppedTotal += diskDropSamples + openDropRows;
        ok = ok && persistMeta();
        if (!ok || !db.commit()) {
            db.rollback();
            m_droppedTotal = droppedBefore;
            enterDegraded(db.lastError().text());
            openDropRows = 0; // those rows stay; the degraded path below handles the batches
        } else {
            for (std::size_t i = 0; i < diskDrops; ++i)
                dropOldest(m_diskBatches[i].sequence, m_diskBatches[i].sampleCount, false);
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
            dropOldest(m_diskBatches[i].sequence, m_diskBatches[i].sampleCount, true);
            m_deleteWhenWritable.push_back(m_diskBatches[i].sequence);
        }
        m_diskBatches.erase(m_diskBatches.begin(), m_diskBatches.begin() + std::ptrdiff_t(diskDrops));
        m_diskBytes = 0;
        for (const BatchInfo &b : m_diskBatches)
            m_diskBytes += b.bytes;
    }
    for (std::size_t i = 0; i < memoryDrops; ++i) {
        dropOldest(m_memoryBatches.front().sequence, m_memoryBatches.front().sampleCount, true);
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
