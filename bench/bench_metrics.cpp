// SPDX-License-Identifier: MIT
// autofactory --metrics: rendering the Prometheus exposition for a fleet (every client online
// with a sample, 12-hex-digit IDs and 22-character hostnames like real ones), and a whole
// scrape through the real endpoint (Qt HttpServer on its own thread, as the server runs it) by
// an HTTP client on another. Target (issue 16): ≤ 250 ms for 10,000 clients.
// Results and the command line: docs/BENCHMARKS.md, "Prometheus /metrics".
#include "metrics/metricsendpoint.h"
#include "metrics/metricsregistry.h"
#include "storeworker.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QThread>

#include <benchmark/benchmark.h>

#include <random>

using namespace autofact;
using namespace autofact::server;

namespace {

constexpr qint64 kNow = 1'800'000'000'000;

/** @p clients online, each with a plausible newest sample, and a few commits and acks. */
void fill(MetricsRegistry &registry, int clients)
{
    std::mt19937 rng(16);
    std::uniform_real_distribution<float> percent(0, 100);
    QList<ClientInfo> inventory;
    HubActivity activity;
    for (int c = 0; c < clients; ++c) {
        ClientInfo info;
        info.id = QStringLiteral("%1").arg(0x5ea1'0000'0000ULL + quint64(c) * 7919, 12, 16, QLatin1Char('0'));
        info.hostname = QStringLiteral("host-%1.example.net").arg(c, 5, 10, QLatin1Char('0'));
        inventory.append(info);
        Sample s;
        s.timestampMs = kNow - 1000 - c % 5000;
        s.cpu.user = percent(rng) / 2;
        s.cpu.system = percent(rng) / 4;
        s.cpu.idle = 100 - s.cpu.user - s.cpu.system;
        s.memory.total = 16ULL << 30;
        s.memory.used = quint64(percent(rng) * float(s.memory.total) / 100);
        s.memory.available = s.memory.total - s.memory.used;
        s.memory.swapTotal = 2ULL << 30;
        s.memory.swapFree = quint64(percent(rng) * float(s.memory.swapTotal) / 100);
        s.load1 = percent(rng) / 10;
        s.load5 = percent(rng) / 10;
        s.load15 = percent(rng) / 10;
        activity.connected.append(info.id);
        activity.latest.insert(info.id, s);
        activity.ackLatencyUs.append(1000 + c % 50'000);
    }
    registry.setInventory(inventory);
    registry.applyActivity(activity);
    for (int i = 0; i < 100; ++i)
        registry.recordCommit({50, quint64(250), 500 + i * 37});
}

void BM_RenderMetrics(benchmark::State &state)
{
    MetricsRegistry registry;
    fill(registry, int(state.range(0)));
    QByteArray out;
    for (auto _ : state) {
        registry.render(out, kNow);
        benchmark::DoNotOptimize(out.constData());
    }
    state.counters["bytes"] = double(out.size());
    state.SetBytesProcessed(state.iterations() * out.size());
}
BENCHMARK(BM_RenderMetrics)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

/** GET /metrics through the real endpoint on its own thread, as Prometheus would. */
void BM_ScrapeOverHttp(benchmark::State &state)
{
    QThread thread;
    thread.setObjectName(QStringLiteral("autofact-metrics"));
    thread.start();
    auto *endpoint = new MetricsEndpoint({QHostAddress::LocalHost, 0, {}}, QString(), [] { return quint64(1234); });
    endpoint->moveToThread(&thread);
    QUrl url;
    QMetaObject::invokeMethod(
        endpoint,
        [&] {
            QString error;
            if (endpoint->listen(&error))
                url = endpoint->url();
            fill(endpoint->registry(), int(state.range(0)));
        },
        Qt::BlockingQueuedConnection);
    if (!url.isValid()) {
        state.SkipWithError("cannot listen");
    } else {
        QNetworkAccessManager nam;
        qsizetype bytes = 0;
        for (auto _ : state) {
            std::unique_ptr<QNetworkReply> reply(nam.get(QNetworkRequest(url)));
            QEventLoop loop;
            QObject::connect(reply.get(), &QNetworkReply::finished, &loop, &QEventLoop::quit);
            if (!reply->isFinished())
                loop.exec();
            const QByteArray body = reply->readAll();
            if (reply->error() != QNetworkReply::NoError || !body.startsWith("# HELP autofact_up")) {
                state.SkipWithError(qPrintable(reply->errorString()));
                break;
            }
            bytes = body.size();
        }
        state.counters["bytes"] = double(bytes);
        state.SetBytesProcessed(state.iterations() * bytes);
    }
    QMetaObject::invokeMethod(
        endpoint,
        [endpoint] {
            endpoint->shutdown();
            delete endpoint;
        },
        Qt::BlockingQueuedConnection);
    thread.quit();
    thread.wait();
}
BENCHMARK(BM_ScrapeOverHttp)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

int main(int argc, char **argv)
{
    // The HTTP benchmark needs an application object for its sockets and event loops.
    QCoreApplication app(argc, argv);
    // A debug line per scrape would be measured too; the server has them off as well.
    QLoggingCategory::setFilterRules(QStringLiteral("autofact.*.debug=false"));
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
