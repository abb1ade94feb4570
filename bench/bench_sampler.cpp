// SPDX-License-Identifier: MIT
// Cost of one LinuxSampler::sample() (three procfs reads + parsing + deltas) on the live /proc
// and on the 8-core fixture, and of the parsers alone; then a full sample with the device
// collectors (issue 17: mount table + statvfs, diskstats, net/dev, hwmon) all due on every
// call, and each collector alone. CPU time includes the kernel's time generating the procfs
// text.
#include "sampling/devicecollectors.h"
#include "sampling/linuxsampler.h"
#include "sampling/meminfo.h"
#include "sampling/procfile.h"
#include "sampling/procstat.h"
#include "testfiles.h"

#include <QDir>
#include <QFile>
#include <QLoggingCategory>
#include <QTemporaryDir>

#include <benchmark/benchmark.h>

using namespace autofact;
using namespace autofact::agent;

namespace {

// Each run builds fresh collectors, whose discovery chatter would bury the table.
const bool quietSampler = [] {
    QLoggingCategory::setFilterRules(QStringLiteral("autofact.agent.sampler.debug=false"));
    return true;
}();

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

// The agent's whole tick with every collector due every call (intervals = the sample interval):
// the worst case; by default filesystems run every 60 s, disks and network every 5 s and
// temperatures every 30 s.
static void BM_SampleWithDevicesLiveProc(benchmark::State &state)
{
    LinuxSampler sampler;
    AgentConfig config;
    config.sampleIntervalMs = 1000;
    config.filesystemsIntervalMs = config.disksIntervalMs = config.networkIntervalMs =
            config.temperaturesIntervalMs = 1000;
    Sample sample;
    std::vector<float> cores;
    cores.reserve(1024);
    DeviceTables devices;
    std::int64_t now = 0;
    QString error;
    // Two ticks first: buffers grow and every device gets its baseline.
    for (int i = 0; i < 2; ++i) {
        cores.clear();
        if (!sampler.sample(now, sample, cores, &error)) {
            state.SkipWithError(qPrintable(error));
            return;
        }
        sampler.collectDevices(now, config, devices);
        now += 1000;
    }
    for (auto _ : state) {
        cores.clear();
        if (!sampler.sample(now, sample, cores, &error)) {
            state.SkipWithError(qPrintable(error));
            break;
        }
        sampler.collectDevices(now, config, devices);
        now += 1000;
        benchmark::DoNotOptimize(devices);
    }
    state.counters["filesystems"] = double(devices.filesystems.size());
    state.counters["disks"] = double(devices.disks.size());
    state.counters["interfaces"] = double(devices.networks.size());
    state.counters["sensors"] = double(devices.temperatures.size());
}
BENCHMARK(BM_SampleWithDevicesLiveProc);

// Each collector alone on the live /proc and /sys, due every call.
static void BM_CollectorLive(benchmark::State &state, int which)
{
    DeviceCollectors collectors;
    AgentConfig config;
    config.sampleIntervalMs = 1000;
    config.filesystemsIntervalMs = which == 0 ? 1000 : 0;
    config.disksIntervalMs = which == 1 ? 1000 : 0;
    config.networkIntervalMs = which == 2 ? 1000 : 0;
    config.temperaturesIntervalMs = which == 3 ? 1000 : 0;
    DeviceTables devices;
    std::int64_t now = 0;
    collectors.collect(now, config, devices);
    for (auto _ : state) {
        now += 1000;
        collectors.collect(now, config, devices);
        benchmark::DoNotOptimize(devices);
    }
    state.counters["entries"] = double(devices.filesystems.size() + devices.disks.size()
                                       + devices.networks.size() + devices.temperatures.size());
}
BENCHMARK_CAPTURE(BM_CollectorLive, filesystems, 0);
BENCHMARK_CAPTURE(BM_CollectorLive, disks, 1);
BENCHMARK_CAPTURE(BM_CollectorLive, network, 2);
BENCHMARK_CAPTURE(BM_CollectorLive, temperatures, 3);

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
BENCHMARK_CAPTURE(BM_ReadLiveFile, mountinfo, "/proc/self/mountinfo");
BENCHMARK_CAPTURE(BM_ReadLiveFile, diskstats, "/proc/diskstats");
BENCHMARK_CAPTURE(BM_ReadLiveFile, netdev, "/proc/net/dev");

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
