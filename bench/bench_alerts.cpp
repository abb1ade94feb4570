// SPDX-License-Identifier: MIT
// Alert rule evaluation: the cost per sample of running every rule (CPU, memory, swap, load
// per core, dropped samples) for a fleet of 1,000 agents sending 5-sample batches, with values
// around the thresholds so rules go pending, fire and resolve; and the once-a-second host
// rules (stale, down, backlog) for the same fleet. Target (issue 14): ≤ 1 µs per sample.
// Results and the command line: docs/BENCHMARKS.md, "Alerts".
#include "alerts/alertengine.h"

#include <benchmark/benchmark.h>

#include <random>

using namespace autofact;
using namespace autofact::server;

namespace {

constexpr int kSamplesPerBatch = 5;
constexpr qint64 kT0 = 1'780'000'000'000;

struct Fleet {
    AlertEngine engine;
    QStringList ids;
    std::vector<std::vector<Sample>> batches;
    std::vector<AlertTransition> out;

    explicit Fleet(int clients)
    {
        // Short hold times so that rules fire and resolve during the run, as in a bad hour.
        QList<AlertRuleRow> rows;
        for (const AlertRuleInfo &info : alertRules())
            rows.append({QString::fromLatin1(info.key), QString(), {true, info.shipped.threshold, 10'000, 5'000}});
        engine.setRules(AlertRuleSet(rows), kT0, out);
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> around(80, 100); // CPU and memory near 90 %
        for (int c = 0; c < clients; ++c) {
            const QString id = QStringLiteral("%1").arg(c, 12, 16, QLatin1Char('0'));
            ids.append(id);
            engine.addClient(id, QStringLiteral("host-%1").arg(c));
            std::vector<Sample> batch(kSamplesPerBatch);
            for (Sample &s : batch) {
                const float busy = around(rng);
                s.cpu.user = busy;
                s.cpu.idle = 100 - busy;
                s.memory.total = 16ull << 30;
                s.memory.used = std::uint64_t(double(s.memory.total) * around(rng) / 100);
                s.memory.swapTotal = 4ull << 30;
                s.memory.swapFree = 3ull << 30;
                s.load1 = busy / 40;
                s.coreCount = 8;
            }
            batches.push_back(std::move(batch));
        }
    }
};

void BM_RuleEvaluationPerSample(benchmark::State &state)
{
    Fleet fleet(int(state.range(0)));
    qint64 t = kT0;
    std::int64_t samples = 0;
    quint64 dropped = 0;
    for (auto _ : state) {
        // One send interval of the whole fleet: every client's batch, one second later.
        for (std::size_t c = 0; c < fleet.batches.size(); ++c) {
            std::vector<Sample> &batch = fleet.batches[c];
            for (int i = 0; i < kSamplesPerBatch; ++i)
                batch[std::size_t(i)].timestampMs = t + i * 1000;
            fleet.engine.observeSamples(fleet.ids[qsizetype(c)], batch, dropped, fleet.out);
        }
        t += kSamplesPerBatch * 1000;
        dropped += 1; // every agent drops one sample per round: the drop rule works too
        samples += std::int64_t(fleet.batches.size()) * kSamplesPerBatch;
        fleet.out.clear();
    }
    state.SetItemsProcessed(samples);
    state.counters["ns_per_sample"] = benchmark::Counter(
            double(samples), benchmark::Counter::kIsRate | benchmark::Counter::kInvert, benchmark::Counter::kIs1000);
    state.counters["firing"] = fleet.engine.firingCount();
}
BENCHMARK(BM_RuleEvaluationPerSample)->Arg(1000)->Arg(10000);

void BM_HostRulesTick(benchmark::State &state)
{
    Fleet fleet(int(state.range(0)));
    for (int c = 0; c < fleet.ids.size(); ++c)
        fleet.engine.observeHealth(fleet.ids[c], c % 10 == 0 ? ClientHealth::Stale : ClientHealth::Up, kT0);
    qint64 t = kT0;
    for (auto _ : state) {
        fleet.engine.tick(t, fleet.out);
        t += 1000;
        fleet.out.clear();
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HostRulesTick)->Arg(1000)->Arg(10000);

} // namespace

BENCHMARK_MAIN();
