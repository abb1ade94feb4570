// SPDX-License-Identifier: MIT
// Opening a week of 1 s history (604,800 samples) in the client detail charts: decimation,
// QXYSeries::replace() and an offscreen render of the CPU and memory charts (1280x720), with
// and without reading the samples back from SQLite first.
#include "decimator.h"
#include "fakehistory.h"
#include "historychartview.h"
#include "storereader.h"

#include <QApplication>
#include <QLineSeries>
#include <QTemporaryDir>
#include <QVBoxLayout>

#include <benchmark/benchmark.h>

#include <memory>

using namespace autofact;
using namespace autofact::dashboard;

namespace {
constexpr qint64 kWeekSamples = 7 * 24 * 3600;
constexpr qint64 kFrom = 1'700'000'000'000;
constexpr qint64 kTo = kFrom + kWeekSamples * 1000;

/** Two HistoryChartViews stacked in a 1280x720 window, as in the detail view. */
struct Charts {
    QWidget window;
    HistoryChartView *cpu = nullptr;
    HistoryChartView *memory = nullptr;
    Charts()
    {
        auto *layout = new QVBoxLayout(&window);
        cpu = new HistoryChartView(QStringLiteral("CPU"), QStringLiteral("%"));
        memory = new HistoryChartView(QStringLiteral("Memory"), QStringLiteral("GiB"));
        for (const char *name : {"user", "system", "iowait", "steal"})
            cpu->addSeries(QLatin1StringView(name), Qt::blue);
        for (const char *name : {"used", "cache", "available", "swap"})
            memory->addSeries(QLatin1StringView(name), Qt::darkGreen);
        cpu->setYRange(0, 100);
        memory->setYRange(0, 16);
        cpu->setXRange(kFrom, kTo);
        memory->setXRange(kFrom, kTo);
        layout->addWidget(cpu);
        layout->addWidget(memory);
        window.resize(1280, 720);
        window.show();
        QCoreApplication::processEvents();
    }
    void show(const HistoryData &data)
    {
        for (int i = 0; i < 4; ++i) {
            HistoryChartView::replacePoints(cpu->series()[i], data.cpu[i]);
            HistoryChartView::replacePoints(memory->series()[i], data.memory[i]);
        }
        cpu->setGaps(data.gaps);
        memory->setGaps(data.gaps);
        QCoreApplication::processEvents();
        // grab() paints the whole widget tree now, like the first frame after opening.
        benchmark::DoNotOptimize(window.grab());
    }
};

struct WeekInMemory {
    std::vector<Sample> samples;
    WeekInMemory()
    {
        tools::FakeMachine m{QStringLiteral("bench")};
        std::vector<float> cores;
        samples.reserve(kWeekSamples);
        for (qint64 i = 0; i < kWeekSamples; ++i) {
            cores.clear();
            samples.push_back(tools::fakeSample(m, kFrom + i * 1000, quint64(i), cores));
        }
    }
};

HistoryData decimateInMemory(const std::vector<Sample> &samples, int columns)
{
    HistoryData data;
    std::vector<Decimator> cpu(4, Decimator(double(kFrom), double(kTo), columns));
    std::vector<Decimator> mem(4, Decimator(double(kFrom), double(kTo), columns));
    constexpr double gib = 1024.0 * 1024.0 * 1024.0;
    for (const Sample &s : samples) {
        const double x = double(s.timestampMs);
        cpu[0].add(x, s.cpu.user + s.cpu.nice);
        cpu[1].add(x, s.cpu.system + s.cpu.irq + s.cpu.softirq);
        cpu[2].add(x, s.cpu.iowait);
        cpu[3].add(x, s.cpu.steal);
        mem[0].add(x, double(s.memory.used) / gib);
        mem[1].add(x, double(s.memory.cached + s.memory.buffers) / gib);
        mem[2].add(x, double(s.memory.available) / gib);
        mem[3].add(x, double(s.memory.swapTotal - s.memory.swapFree) / gib);
    }
    for (auto &d : cpu)
        data.cpu.append(d.take());
    for (auto &d : mem)
        data.memory.append(d.take());
    return data;
}

void BM_DecimateOneSeries600k(benchmark::State &state)
{
    static WeekInMemory week;
    for (auto _ : state) {
        Decimator d(double(kFrom), double(kTo), 1200);
        for (const Sample &s : week.samples)
            d.add(double(s.timestampMs), s.cpu.user);
        benchmark::DoNotOptimize(d.take());
    }
    state.SetItemsProcessed(state.iterations() * kWeekSamples);
}
BENCHMARK(BM_DecimateOneSeries600k)->Unit(benchmark::kMillisecond);

void BM_ReplaceRenderUndecimated100k(benchmark::State &state)
{
    // The cost decimation avoids: 100k raw points in one series (FIELD-NOTES: ~220 ms).
    static WeekInMemory week;
    Charts charts;
    QList<QPointF> raw;
    for (qint64 i = 0; i < 100000; ++i)
        raw.append(QPointF(double(week.samples[i].timestampMs), week.samples[i].cpu.user));
    charts.cpu->setXRange(kFrom, kFrom + 100000 * 1000);
    for (auto _ : state) {
        HistoryChartView::replacePoints(charts.cpu->series()[0], raw);
        QCoreApplication::processEvents();
        benchmark::DoNotOptimize(charts.window.grab());
    }
}
BENCHMARK(BM_ReplaceRenderUndecimated100k)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_DecimateReplaceRender600k(benchmark::State &state)
{
    // 8 series (4 CPU + 4 memory) of a week already in memory.
    static WeekInMemory week;
    Charts charts;
    const int columns = charts.cpu->plotWidth();
    for (auto _ : state)
        charts.show(decimateInMemory(week.samples, columns));
    state.counters["columns"] = columns;
}
BENCHMARK(BM_DecimateReplaceRender600k)->Unit(benchmark::kMillisecond);

void BM_OpenWeekFromDatabase(benchmark::State &state)
{
    // What the detail view does for "last 7 days": StoreReader::readHistory (SQLite read,
    // 8 series + per-core lines decimated) and then replace + render.
    const int cores = int(state.range(0));
    QTemporaryDir dir;
    server::Store store(dir.filePath(QStringLiteral("bench.db")),
                        {server::StoreOptions::Mode::ReadWrite, server::StoreOptions::Durability::Normal});
    if (auto opened = store.open(); !opened) {
        state.SkipWithError(qPrintable(opened.errorMessage()));
        return;
    }
    tools::FakeMachine m{QStringLiteral("bench")};
    m.cores = cores;
    const QString id = tools::enrolFake(store, m, kFrom);
    // A 30-minute outage on day 3 so a gap band is drawn too.
    if (id.isEmpty() || !tools::ingestFake(store, id, m, kFrom, kWeekSamples, 1000,
                                           kFrom + 3 * 86400000ll, kFrom + 3 * 86400000ll + 1800000)) {
        state.SkipWithError("cannot build the database");
        return;
    }
    // Third argument 1: the week sealed into chunks, as the server keeps history once its
    // windows closed (0: all of it still rows, as before chunks).
    if (state.range(2) != 0) {
        for (;;) {
            auto sealed = store.sealer().sealSlice(kTo + server::SampleChunk::windowMs + server::ChunkSealer::graceMs, 50000);
            if (!sealed) {
                state.SkipWithError(qPrintable(sealed.errorMessage()));
                return;
            }
            if (!sealed->more)
                break;
        }
    }
    Charts charts;
    HistoryRequest request;
    request.clientId = id;
    request.fromMs = kFrom;
    request.toMs = kTo;
    request.columns = charts.cpu->plotWidth();
    // Second argument 1: per-core lines shown, which needs the raw samples instead of rollups.
    request.withCores = state.range(1) != 0;
    qint64 samples = 0;
    qint64 readMs = 0;
    for (auto _ : state) {
        const HistoryData data = StoreReader::readHistory(store, request);
        samples = data.samples;
        readMs += data.readMs;
        charts.show(data);
    }
    state.counters["samples"] = double(samples);
    state.counters["read_ms"] = double(readMs) / double(state.iterations());
}
BENCHMARK(BM_OpenWeekFromDatabase)
    ->Args({2, 0, 0})
    ->Args({16, 0, 0})
    ->Args({8, 1, 0})
    ->Args({8, 1, 1})
    ->Args({16, 1, 0})
    ->Args({16, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
