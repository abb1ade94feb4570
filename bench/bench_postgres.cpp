// SPDX-License-Identifier: MIT
// PostgreSQL ingest: Store::ingest into PostgreSQL (1,000 clients' 60-sample, 8-core batches,
// acked after COMMIT with synchronous_commit on) against a raw COPY of the same rows into the
// same table through libpq in the same run: the ceiling. Needs a server:
//   tests/with-postgres.sh build/bench/bench_postgres
// (AUTOFACT_TEST_POSTGRES names its admin database). Results: docs/BENCHMARKS.md, "PostgreSQL".
#include "ingestfleet.h"
#include "store/store.h"
#include "testdata.h"
#include "testpostgres.h"

#include <benchmark/benchmark.h>
#include <libpq-fe.h>

#include <QtEndian>

#include <bit>
#include <charconv>
#include <string>

using namespace autofact;
using namespace autofact::server;

namespace {

using bench::IngestFleet;
constexpr int kClients = IngestFleet::kClients;
constexpr int kSamplesPerBatch = IngestFleet::kSamplesPerBatch;
constexpr int kCores = IngestFleet::kCores;
constexpr qint64 kT0 = IngestFleet::kT0;

/** A fresh database with kClients enrolled clients, shared by every benchmark of the run. */
struct Fleet : IngestFleet {
    QString uri;

    Fleet()
    {
        uri = testing::newPostgresDatabase();
        if (uri.isEmpty())
            qFatal("no PostgreSQL: run under tests/with-postgres.sh");
        Store store(uri);
        if (auto opened = store.open(); !opened)
            qFatal("open: %s", qPrintable(opened.errorMessage()));
        enrol(store);
    }
};

Fleet &fleet()
{
    static Fleet f;
    return f;
}

void appendNumber(std::string &out, auto v)
{
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

} // namespace

// Arg: batches per ingest call (= per transaction, one commit and ack).
static void BM_PostgresIngest(benchmark::State &state)
{
    Fleet &f = fleet();
    Store store(f.uri);
    if (!store.open()) {
        state.SkipWithError("open failed");
        return;
    }
    f.ingestLoop(state, store, int(state.range(0)));
}
BENCHMARK(BM_PostgresIngest)->ArgName("batches")->Arg(10)->Arg(100)->UseRealTime()->MinTime(3.0)->Unit(benchmark::kMillisecond);

// The ceiling: the same rows (per-core values as bytea) into the same head table by COPY in
// text format, one transaction per call, synchronous_commit on. No dedupe, gaps or rollups.
static void BM_PostgresCopyCeiling(benchmark::State &state)
{
    Fleet &f = fleet();
    QString error;
    const auto location = StoreLocation::parse(f.uri, &error);
    const std::string conninfo = "host=" + location->host.toStdString() + " port=" + std::to_string(location->port)
                                 + " user=" + location->user.toStdString() + " dbname=" + location->database.toStdString();
    PGconn *conn = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        state.SkipWithError(PQerrorMessage(conn));
        PQfinish(conn);
        return;
    }
    PQclear(PQexec(conn, "SET synchronous_commit = on"));
    const int perCall = int(state.range(0));
    const SampleBatch batch = testdata::makeBatch(1, kSamplesPerBatch, kCores, kT0);
    std::string text;
    int64_t samples = 0;
    qint64 sequence = 1'000'000;
    for (auto _ : state) {
        PQclear(PQexec(conn, "BEGIN"));
        PGresult *r = PQexec(conn, "COPY samples(client, ts_ms, sequence, cpu_user, cpu_nice, cpu_system, cpu_idle,"
                                   " cpu_iowait, cpu_irq, cpu_softirq, cpu_steal, cpu_guest, mem_total, mem_free,"
                                   " mem_available, mem_buffers, mem_cached, mem_used, swap_total, swap_free, load1,"
                                   " load5, load15, flags, cores) FROM STDIN");
        PQclear(r);
        for (int k = 0; k < perCall; ++k) {
            ++sequence;
            text.clear();
            const float *cores = batch.coreBusy.data();
            for (const Sample &x : batch.samples) {
                appendNumber(text, 1 + (k % kClients));
                text += '\t';
                appendNumber(text, x.timestampMs);
                text += '\t';
                appendNumber(text, sequence);
                for (float v : {x.cpu.user, x.cpu.nice, x.cpu.system, x.cpu.idle, x.cpu.iowait, x.cpu.irq,
                                x.cpu.softirq, x.cpu.steal, x.cpu.guest}) {
                    text += '\t';
                    appendNumber(text, double(v));
                }
                for (std::uint64_t v : {x.memory.total, x.memory.free, x.memory.available, x.memory.buffers,
                                        x.memory.cached, x.memory.used, x.memory.swapTotal, x.memory.swapFree}) {
                    text += '\t';
                    appendNumber(text, qint64(v));
                }
                for (float v : {x.load1, x.load5, x.load15}) {
                    text += '\t';
                    appendNumber(text, double(v));
                }
                text += '\t';
                appendNumber(text, int(x.flags));
                text += "\t\\\\x";
                static constexpr char hex[] = "0123456789abcdef";
                for (int c = 0; c < x.coreCount; ++c) {
                    const auto bits = qToLittleEndian(std::bit_cast<std::uint32_t>(cores[c]));
                    const auto *b = reinterpret_cast<const unsigned char *>(&bits);
                    for (int i = 0; i < 4; ++i) {
                        text += hex[b[i] >> 4];
                        text += hex[b[i] & 15];
                    }
                }
                cores += x.coreCount;
                text += '\n';
            }
            PQputCopyData(conn, text.data(), int(text.size()));
        }
        PQputCopyEnd(conn, nullptr);
        PGresult *done = PQgetResult(conn);
        const bool ok = PQresultStatus(done) == PGRES_COMMAND_OK;
        PQclear(done);
        PQclear(PQexec(conn, "COMMIT"));
        if (!ok) {
            state.SkipWithError(PQerrorMessage(conn));
            break;
        }
        samples += int64_t(perCall) * kSamplesPerBatch;
    }
    PQfinish(conn);
    state.counters["samples/s"] = benchmark::Counter(double(samples), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PostgresCopyCeiling)->ArgName("batches")->Arg(10)->Arg(100)->UseRealTime()->MinTime(3.0)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
