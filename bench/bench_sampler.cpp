// SPDX-License-Identifier: MIT
// Cost of one LinuxSampler::sample() (three procfs reads + parsing + deltas) on the live /proc
// and on the 8-core fixture, and of the parsers alone. CPU time includes the kernel's time
// generating the procfs text.
#include "sampling/linuxsampler.h"
#include "sampling/meminfo.h"
#include "sampling/procfile.h"
#include "sampling/procstat.h"
#include "testfiles.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>

#include <benchmark/benchmark.h>

using namespace autofact;
using namespace autofact::agent;

namespace {

QByteArray readFixture(const char *name)
{
    QFile f(testdata::procFixture(QLatin1StringView(name)));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void runSampler(benchmark::State &state, const QString &root)
{
    LinuxSampler sampler(root);
    Sample sample;
    std::vector<float> cores;
    cores.reserve(1024);
    std::int64_t now = 0;
    QString error;
    if (!sampler.sample(now, sample, cores, &error)) {
        state.SkipWithError(qPrintable(error));
        return;
    }
    for (auto _ : state) {
        cores.clear();
        if (!sampler.sample(++now, sample, cores, &error)) {
            state.SkipWithError(qPrintable(error));
            break;
        }
        benchmark::DoNotOptimize(sample);
    }
    state.counters["cores"] = double(sample.coreCount);
}

} // namespace

static void BM_SampleLiveProc(benchmark::State &state)
{
    runSampler(state, QStringLiteral("/proc"));
}
BENCHMARK(BM_SampleLiveProc);

static void BM_SampleFixture8Core(benchmark::State &state)
{
    QTemporaryDir dir;
    const std::pair<const char *, const char *> files[] = {
        {"stat", "stat-8core"}, {"meminfo", "meminfo-no-memavailable"}, {"loadavg", "loadavg"}};
    for (const auto &[name, fixture] : files) {
        QFile f(dir.filePath(QLatin1StringView(name)));
        if (!f.open(QIODevice::WriteOnly) || f.write(readFixture(fixture)) <= 0) {
            state.SkipWithError("cannot set up the fake /proc");
            return;
        }
    }
    runSampler(state, dir.path());
}
BENCHMARK(BM_SampleFixture8Core);

// Where the live cost goes: reading each file (kernel text generation + copy), no parsing.
static void BM_ReadLiveFile(benchmark::State &state, const char *path)
{
    ProcFile file(QString::fromLatin1(path));
    for (auto _ : state) {
        if (!file.read())
            state.SkipWithError("read failed");
        benchmark::DoNotOptimize(file.data().data());
    }
    state.counters["bytes"] = double(file.data().size());
}
BENCHMARK_CAPTURE(BM_ReadLiveFile, stat, "/proc/stat");
BENCHMARK_CAPTURE(BM_ReadLiveFile, meminfo, "/proc/meminfo");
BENCHMARK_CAPTURE(BM_ReadLiveFile, loadavg, "/proc/loadavg");

static void BM_ParseStat8Core(benchmark::State &state)
{
    const QByteArray text = readFixture("stat-8core");
    ProcStat stat;
    for (auto _ : state) {
        if (!stat.parse(text))
            state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(stat.total());
    }
    state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_ParseStat8Core);

static void BM_ParseMeminfo(benchmark::State &state)
{
    const QByteArray text = readFixture("meminfo-bookworm-2core");
    MemInfo info;
    for (auto _ : state) {
        if (!info.parse(text))
            state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(info.values());
    }
}
BENCHMARK(BM_ParseMeminfo);

BENCHMARK_MAIN();
