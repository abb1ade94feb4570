// SPDX-License-Identifier: MIT
// Store throughput: Store::ingest with 1,000 clients' 60-sample, 8-core batches (one
// transaction per call, i.e. acked after commit), the raw sqlite3 insert ceiling for the same
// row shape, and CSV export. Results and the command line: docs/BENCHMARKS.md, "Store".
#include "csvexporter.h"
#include "ingestfleet.h"
#include "store/store.h"
#include "testdata.h"

#include <QIODevice>
#include <QTemporaryDir>

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <memory>

using namespace autofact;
using namespace autofact::server;

namespace {

using bench::IngestFleet;
constexpr int kClients = IngestFleet::kClients;
constexpr int kSamplesPerBatch = IngestFleet::kSamplesPerBatch;
constexpr int kCores = IngestFleet::kCores;
constexpr qint64 kT0 = IngestFleet::kT0;

StoreOptions::Durability durabilityArg(int64_t v)
{
    return v ? StoreOptions::Durability::Full : StoreOptions::Durability::Normal;
}

/** A database with kClients enrolled clients, and one batch per client ready to send. */
struct Fleet : IngestFleet {
    QTemporaryDir dir;
    QString path;

    Fleet()
    {
        path = dir.filePath(QStringLiteral("bench.sqlite"));
        StoreOptions fast;
        fast.durability = StoreOptions::Durability::Normal; // enrolment is not what we measure
        Store store(path, fast);
        if (auto opened = store.open(); !opened)
            qFatal("open: %s", qPrintable(opened.errorMessage()));
        enrol(store);
    }
};

} // namespace

// Args: durability (1 = FULL, 0 = NORMAL), batches per ingest call (= per transaction).
static void BM_StoreIngest(benchmark::State &state)
{
    Fleet fleet;
    StoreOptions options;
    options.durability = durabilityArg(state.range(0));
    Store store(fleet.path, options);
    if (!store.open()) {
        state.SkipWithError("open failed");
        return;
    }
    fleet.ingestLoop(state, store, int(state.range(1)));
}
BENCHMARK(BM_StoreIngest)
        ->ArgNames({"full", "batches"})
        ->Args({1, 1})
        ->Args({1, 10})
        ->Args({1, 100})
        ->Args({1, 1000})
        ->Args({0, 100})
        ->Args({0, 1000})
        ->UseRealTime()
        ->MinTime(2.0)
        ->Unit(benchmark::kMillisecond);

// The same rows through bare sqlite3: same table, index, binds and transaction size, but no
// client lookup, dedupe, gap checks, batch row or client update. The ceiling for Store::ingest.
static void BM_RawSqliteInsert(benchmark::State &state)
{
    QTemporaryDir dir;
    sqlite3 *db = nullptr;
    if (sqlite3_open(dir.filePath(QStringLiteral("raw.sqlite")).toUtf8().constData(), &db)
        != SQLITE_OK) {
        state.SkipWithError("open failed");
        return;
    }
    const char *setup[] = {
        "PRAGMA journal_mode = WAL",
        state.range(0) ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
        "CREATE TABLE samples (client INTEGER NOT NULL, ts_ms INTEGER NOT NULL,"
        " sequence INTEGER NOT NULL, cpu_user REAL NOT NULL, cpu_nice REAL NOT NULL,"
        " cpu_system REAL NOT NULL, cpu_idle REAL NOT NULL, cpu_iowait REAL NOT NULL,"
        " cpu_irq REAL NOT NULL, cpu_softirq REAL NOT NULL, cpu_steal REAL NOT NULL,"
        " cpu_guest REAL NOT NULL, mem_total INTEGER NOT NULL, mem_free INTEGER NOT NULL,"
        " mem_available INTEGER NOT NULL, mem_buffers INTEGER NOT NULL,"
        " mem_cached INTEGER NOT NULL, mem_used INTEGER NOT NULL, swap_total INTEGER NOT NULL,"
        " swap_free INTEGER NOT NULL, load1 REAL NOT NULL, load5 REAL NOT NULL,"
        " load15 REAL NOT NULL, flags INTEGER NOT NULL, cores BLOB)",
        "CREATE INDEX samples_client_ts ON samples(client, ts_ms)",
    };
    for (const char *sql : setup)
        if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
            state.SkipWithError(sqlite3_errmsg(db));
            sqlite3_close(db);
            return;
        }
    sqlite3_stmt *ins = nullptr;
    sqlite3_prepare_v3(db,
                       "INSERT INTO samples VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
                       "?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25)",
                       -1, SQLITE_PREPARE_PERSISTENT, &ins, nullptr);
    const SampleBatch batch = testdata::makeBatch(1, kSamplesPerBatch, kCores, kT0);
    const int perCall = int(state.range(1));
    std::vector<int64_t> sequence(kClients, 0);
    int next = 0;
    int64_t samples = 0;
    for (auto _ : state) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        for (int k = 0; k < perCall; ++k) {
            const int client = next++ % kClients;
            const int64_t seq = ++sequence[std::size_t(client)];
            const float *cores = batch.coreBusy.data();
            for (int i = 0; i < kSamplesPerBatch; ++i) {
                const Sample &s = batch.samples[std::size_t(i)];
                sqlite3_bind_int64(ins, 1, client + 1);
                sqlite3_bind_int64(ins, 2, kT0 + ((seq - 1) * kSamplesPerBatch + i) * 1000);
                sqlite3_bind_int64(ins, 3, seq);
                const float cpu[] = {s.cpu.user,    s.cpu.nice,    s.cpu.system,
                                     s.cpu.idle,    s.cpu.iowait,  s.cpu.irq,
                                     s.cpu.softirq, s.cpu.steal,   s.cpu.guest};
                for (int c = 0; c < 9; ++c)
                    sqlite3_bind_double(ins, 4 + c, cpu[c]);
                const uint64_t mem[] = {s.memory.total,   s.memory.free,   s.memory.available,
                                        s.memory.buffers, s.memory.cached, s.memory.used,
                                        s.memory.swapTotal, s.memory.swapFree};
                for (int m = 0; m < 8; ++m)
                    sqlite3_bind_int64(ins, 13 + m, int64_t(mem[m]));
                sqlite3_bind_double(ins, 21, s.load1);
                sqlite3_bind_double(ins, 22, s.load5);
                sqlite3_bind_double(ins, 23, s.load15);
                sqlite3_bind_int(ins, 24, s.flags);
                sqlite3_bind_blob(ins, 25, cores, s.coreCount * 4, SQLITE_STATIC);
                cores += s.coreCount;
                if (sqlite3_step(ins) != SQLITE_DONE) {
                    state.SkipWithError(sqlite3_errmsg(db));
                    break;
                }
                sqlite3_reset(ins);
            }
        }
        if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
            state.SkipWithError(sqlite3_errmsg(db));
        samples += int64_t(perCall) * kSamplesPerBatch;
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
    state.SetItemsProcessed(samples);
    state.counters["samples/s"] =
            benchmark::Counter(double(samples), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RawSqliteInsert)
        ->ArgNames({"full", "batches"})
        ->Args({1, 100})
        ->Args({1, 1000})
        ->Args({0, 100})
        ->Args({0, 1000})
        ->UseRealTime()
        ->MinTime(2.0)
        ->Unit(benchmark::kMillisecond);

namespace {
/** Swallows the CSV: measures the exporter, not the disk. */
class NullDevice : public QIODevice
{
public:
    qint64 bytes = 0;
    NullDevice() { open(QIODevice::WriteOnly); }

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *, qint64 len) override
    {
        bytes += len;
        return len;
    }
};
} // namespace

// Exports every row of a 1,000-client database (8 cores per sample).
static void BM_CsvExport(benchmark::State &state)
{
    Fleet fleet;
    {
        StoreOptions fast;
        fast.durability = StoreOptions::Durability::Normal;
        Store store(fleet.path, fast);
        if (!store.open()) {
            state.SkipWithError("open failed");
            return;
        }
        const int rounds = int(state.range(0)) / (kClients * kSamplesPerBatch);
        std::vector<Store::IngestItem> items(kClients);
        for (int r = 0; r < rounds; ++r) {
            for (int c = 0; c < kClients; ++c)
                items[std::size_t(c)] = {fleet.ids()[c], &fleet.advance(c)};
            if (!store.ingest().write(items, kT0)) {
                state.SkipWithError("ingest failed");
                return;
            }
        }
        // Second argument 1: sealed into chunks (every window closed), as the server keeps it.
        while (state.range(1) != 0) {
            auto sealed = store.sealer().sealSlice(kT0 + 365 * 86'400'000LL, 50000);
            if (!sealed) {
                state.SkipWithError("sealing failed");
                return;
            }
            if (!sealed->more)
                break;
        }
    }
    Store store(fleet.path, {StoreOptions::Mode::ReadOnly});
    if (!store.open()) {
        state.SkipWithError("open failed");
        return;
    }
    CsvExporter exporter(store);
    int64_t rows = 0;
    qint64 bytes = 0;
    for (auto _ : state) {
        NullDevice sink;
        const CsvExporter::Result r = exporter.exportTo(&sink, {});
        if (!r.ok) {
            state.SkipWithError("export failed");
            return;
        }
        rows += r.rows;
        bytes = sink.bytes;
    }
    state.SetItemsProcessed(rows);
    state.counters["rows/s"] = benchmark::Counter(double(rows), benchmark::Counter::kIsRate);
    state.counters["bytes/row"] = double(bytes) / double(state.range(0));
}
BENCHMARK(BM_CsvExport)->Args({600'000, 0})->Args({600'000, 1})->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
