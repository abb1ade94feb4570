// SPDX-License-Identifier: MIT
// Bytes on disk per raw sample, on a copy of real databases (bench/storage-density.sh makes one
// with the load generator; any autofactory database works, of any schema version):
//   bench_storage_density DB...
// For each: the copy is opened (migrated), every closed window sealed, checkpointed and
// vacuumed; then the file's bytes per raw sample, each tier's share, and what the chunks would
// take with other zstd levels or none, re-encoded from the stored chunks.
#include "store/samplechunk.h"
#include "store/store.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>

#include <cstdio>
#include <limits>

using namespace autofact;
using namespace autofact::server;

namespace {

qint64 scalar(const QString &connection, const QString &sql)
{
    QSqlQuery q(QSqlDatabase::database(connection));
    if (!q.exec(sql) || !q.next()) {
        std::fprintf(stderr, "query failed: %s\n", qPrintable(sql));
        return -1;
    }
    return q.value(0).toLongLong();
}

/** VACUUM (into the WAL, in WAL mode), then a checkpoint that truncates it: the main file is all. */
void compact(QSqlDatabase &db)
{
    for (const char *sql : {"PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"}) {
        QSqlQuery q(db);
        if (!q.exec(QString::fromLatin1(sql)))
            std::fprintf(stderr, "%s failed\n", sql);
        while (q.next()) {
        }
    }
}

int measure(const QString &source, const QString &workDir)
{
    const QString copy = QDir(workDir).filePath(QFileInfo(source).fileName());
    for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")}) {
        QFile::remove(copy + suffix);
        if (QFile::exists(source + suffix) && !QFile::copy(source + suffix, copy + suffix)) {
            std::fprintf(stderr, "cannot copy %s\n", qPrintable(source + suffix));
            return 1;
        }
    }
    qint64 rowsBytes = 0;
    qint64 samples = 0;
    double cores = 0;
    {
        // The file as rows (what it was before chunks), vacuumed the same way, for the ratio.
        const QString c = QStringLiteral("before");
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), c);
        db.setDatabaseName(copy);
        db.open();
        compact(db);
        rowsBytes = QFileInfo(copy).size();
        samples = scalar(c, QStringLiteral("SELECT count(*) FROM samples"));
        cores = double(scalar(c, QStringLiteral("SELECT coalesce(sum(length(cores)), 0) FROM samples"))) / 4
                / double(std::max<qint64>(1, samples));
        db.close();
        db = {};
        QSqlDatabase::removeDatabase(c);
    }
    qint64 newest = 0;
    QElapsedTimer sealTimer;
    {
        Store store(copy);
        if (auto o = store.open(); !o) {
            std::fprintf(stderr, "%s: %s\n", qPrintable(source), qPrintable(o.error().message));
            return 1;
        }
        auto stats = store.retention().stats();
        if (stats)
            newest = stats->tiers[0].newestMs;
        sealTimer.start();
        for (;;) {
            auto r = store.sealer().sealSlice(newest + SampleChunk::windowMs + ChunkSealer::graceMs, 20000);
            if (!r) {
                std::fprintf(stderr, "sealing: %s\n", qPrintable(r.error().message));
                return 1;
            }
            if (!r->more)
                break;
        }
    }
    const double sealS = double(sealTimer.nsecsElapsed()) / 1e9;
    const QString c = QStringLiteral("after");
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), c);
    db.setDatabaseName(copy);
    db.open();
    compact(db);
    const qint64 fileBytes = QFileInfo(copy).size();
    const qint64 chunkBytes = scalar(c, QStringLiteral("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'sample_chunks%'"));
    const qint64 headRows = scalar(c, QStringLiteral("SELECT count(*) FROM samples"));
    const qint64 chunkSamples = scalar(c, QStringLiteral("SELECT coalesce(sum(samples), 0) FROM sample_chunks"));
    const qint64 blobBytes = scalar(c, QStringLiteral("SELECT coalesce(sum(length(data)), 0) FROM sample_chunks"));
    const qint64 minuteBytes = scalar(c, QStringLiteral("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'sample_minutes%'"));
    const qint64 hourBytes = scalar(c, QStringLiteral("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'sample_hours%'"));
    const qint64 batchBytes = scalar(c, QStringLiteral("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = 'batches'"));

    // The same chunks with other codecs, re-encoded from what is stored.
    struct Variant {
        const char *name;
        SampleChunk::Compression compression;
        int level;
        qint64 bytes = 0;
        double encodeS = 0;
    };
    Variant variants[] = {{"varint columns, no zstd", SampleChunk::Compression::None, 0},
                          {"zstd level 1", SampleChunk::Compression::Zstd, 1},
                          {"zstd level 3 (stored)", SampleChunk::Compression::Zstd, 3},
                          {"zstd level 9", SampleChunk::Compression::Zstd, 9},
                          {"zstd level 19", SampleChunk::Compression::Zstd, 19}};
    double decodeS = 0;
    qint64 withoutCores = 0; // the same chunks with no per-core values: what the cores cost
    qint64 coreValues = 0;
    {
        QSqlQuery q(db);
        q.setForwardOnly(true);
        q.exec(QStringLiteral("SELECT data FROM sample_chunks"));
        ChunkSamples decoded;
        QElapsedTimer t;
        while (q.next()) {
            const QByteArray blob = q.value(0).toByteArray();
            t.start();
            if (!SampleChunk::decode(blob, decoded)) {
                std::fprintf(stderr, "a stored chunk does not decode\n");
                return 1;
            }
            decodeS += double(t.nsecsElapsed()) / 1e9;
            ChunkSamples bare = decoded;
            coreValues += qint64(bare.cores.size());
            for (Sample &x : bare.samples)
                x.coreCount = 0;
            bare.cores.clear();
            withoutCores += SampleChunk::encode(bare).size();
            for (Variant &v : variants) {
                t.start();
                v.bytes += SampleChunk::encode(decoded, v.compression, v.level).size();
                v.encodeS += double(t.nsecsElapsed()) / 1e9;
            }
        }
    }
    db.close();
    db = {};
    QSqlDatabase::removeDatabase(c);

    const double n = double(std::max<qint64>(1, samples));
    std::printf("%s\n", qPrintable(source));
    std::printf("  raw samples %lld (%.1f per-core values each); %lld in chunks, %lld left in the head table\n",
                qlonglong(samples), cores, qlonglong(chunkSamples), qlonglong(headRows));
    std::printf("  file as rows (vacuumed):   %10lld bytes  %7.1f bytes/sample\n", qlonglong(rowsBytes), double(rowsBytes) / n);
    std::printf("  file with chunks (vacuumed): %8lld bytes  %7.1f bytes/sample  (%.1fx smaller)\n", qlonglong(fileBytes),
                double(fileBytes) / n, double(rowsBytes) / double(std::max<qint64>(1, fileBytes)));
    std::printf("    chunk pages %.1f, minute rollups %.1f, hour rollups %.1f, batches %.1f bytes/sample\n",
                double(chunkBytes) / n, double(minuteBytes) / n, double(hourBytes) / n, double(batchBytes) / n);
    std::printf("  sealing took %.2f s (%.2f us/sample); decoding %.3f us/sample\n", sealS, sealS * 1e6 / n,
                decodeS * 1e6 / double(std::max<qint64>(1, chunkSamples)));
    std::printf("  chunk payloads, bytes/sample by codec (encode us/sample):\n");
    for (const Variant &v : variants)
        std::printf("    %-26s %7.2f  (%.2f)\n", v.name, double(v.bytes) / double(std::max<qint64>(1, chunkSamples)),
                    v.encodeS * 1e6 / double(std::max<qint64>(1, chunkSamples)));
    std::printf("    stored blobs               %7.2f\n", double(blobBytes) / double(std::max<qint64>(1, chunkSamples)));
    const double perCore = double(blobBytes - withoutCores) / double(std::max<qint64>(1, coreValues));
    const double base = double(withoutCores) / double(std::max<qint64>(1, chunkSamples));
    std::printf("  stored blobs: %.2f bytes/sample without per-core values, %.2f bytes per per-core value;"
                " an 8-core sample like these: %.1f bytes\n", base, perCore, base + 8 * perCore);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList dbs = app.arguments().mid(1);
    if (dbs.isEmpty()) {
        std::fprintf(stderr, "usage: bench_storage_density DB...\n");
        return 2;
    }
    QTemporaryDir dir;
    int rc = 0;
    for (const QString &db : dbs)
        rc |= measure(db, dir.path());
    return rc;
}
