// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "store/store.h"

#include <QtMath>

#include <cmath>
#include <span>

/**
 * @file fakehistory.h
 * Plausible sample history written through the real Store (authenticate + ingest), for the
 * screenshot tool and the dashboard benchmark. Not used by the product.
 */
namespace autofact::tools {

struct FakeMachine {
    QString hostname;
    QString os = QStringLiteral("Debian GNU/Linux");
    QString osVersion = QStringLiteral("12");
    int cores = 4;
    quint64 memTotal = 16ull << 30;
    double cpuBase = 20;  ///< mean busy percent
    double cpuSwing = 15; ///< amplitude of the slow wave
    double memBase = 0.4; ///< fraction of memory used
    quint64 swapTotal = 2ull << 30;
};

/** Enrols @p m; returns its client ID (empty on failure). */
inline QString enrolFake(server::Store &store, const FakeMachine &m, qint64 nowMs)
{
    Hello h;
    h.hostname = m.hostname;
    h.osName = m.os;
    h.osVersion = m.osVersion;
    h.kernel = QStringLiteral("6.1.0-18-amd64");
    h.arch = QStringLiteral("x86_64");
    h.cpuModel = QStringLiteral("AMD EPYC 7B13 64-Core Processor");
    h.cpuCount = std::uint16_t(m.cores);
    h.memTotal = m.memTotal;
    h.bootTimeMs = nowMs - 9 * 86400000ll;
    h.agentVersion = QStringLiteral("0.1.0");
    const auto r = (store.enrolment().setTokenRequired(false), store.enrolment()).authenticate(h, QStringLiteral("127.0.0.1:40000"), nowMs);
    return r && r->outcome == server::AuthResult::Outcome::NewClient ? r->clientId : QString();
}

/** Sample @p i (at @p ts) of machine @p m: a slow wave, a daily rhythm and some noise. */
inline Sample fakeSample(const FakeMachine &m, qint64 ts, quint64 i, std::vector<float> &cores)
{
    const double t = double(ts) / 1000.0;
    const double noise = std::sin(double(i) * 12.9898) * 43758.5453;
    const double jitter = (noise - std::floor(noise)) * 10 - 5;
    const double busy = std::clamp(m.cpuBase + m.cpuSwing * std::sin(t / 900.0)
                                       + 0.5 * m.cpuSwing * std::sin(t / 86400.0 * 2 * M_PI) + jitter,
                                   1.0, 98.0);
    Sample s;
    s.timestampMs = ts;
    s.cpu.user = float(busy * 0.7);
    s.cpu.system = float(busy * 0.22);
    s.cpu.iowait = float(std::max(0.0, jitter * 0.3 + 1));
    s.cpu.steal = float(busy * 0.03);
    s.cpu.irq = float(busy * 0.05);
    s.cpu.idle = float(std::max(0.0, 100 - busy - s.cpu.iowait));
    const double memFrac = std::clamp(m.memBase + 0.08 * std::sin(t / 5000.0) + jitter * 0.002, 0.05, 0.95);
    s.memory.total = m.memTotal;
    s.memory.used = quint64(double(m.memTotal) * memFrac);
    s.memory.cached = quint64(double(m.memTotal) * 0.25);
    s.memory.buffers = quint64(double(m.memTotal) * 0.02);
    s.memory.available = m.memTotal - s.memory.used;
    s.memory.free = s.memory.available - std::min(s.memory.available, s.memory.cached);
    s.memory.swapTotal = m.swapTotal;
    s.memory.swapFree = m.swapTotal - quint64(double(m.swapTotal) * 0.1);
    s.load1 = float(busy / 100.0 * m.cores);
    s.load5 = s.load1 * 0.9f;
    s.load15 = s.load1 * 0.8f;
    s.coreCount = std::uint16_t(m.cores);
    for (int c = 0; c < m.cores; ++c)
        cores.push_back(float(std::clamp(busy + 8 * std::sin(double(c) + t / 300.0), 0.0, 100.0)));
    return s;
}

/**
 * Stores @p count samples of @p m every @p intervalMs from @p fromMs, in batches of 600, one
 * transaction per 50 batches. Samples whose time falls in [gapFrom, gapTo) are skipped, which
 * the store records as an "agent offline" gap. Returns false on a store error.
 */
inline bool ingestFake(server::Store &store, const QString &clientId, const FakeMachine &m,
                       qint64 fromMs, quint64 count, qint64 intervalMs, qint64 gapFrom = 0,
                       qint64 gapTo = 0)
{
    std::vector<SampleBatch> batches;
    quint64 sequence = 0;
    auto flush = [&]() {
        std::vector<server::Store::IngestItem> items;
        for (const SampleBatch &b : batches)
            items.push_back({clientId, &b});
        const auto results = store.ingest().write(items, fromMs + qint64(count) * intervalMs);
        batches.clear();
        return results
               && std::none_of(results->begin(), results->end(), [](const auto &r) {
                      return r.status == server::Store::IngestResult::Status::Failed;
                  });
    };
    SampleBatch batch;
    for (quint64 i = 0; i < count; ++i) {
        const qint64 ts = fromMs + qint64(i) * intervalMs;
        if (ts >= gapFrom && ts < gapTo)
            continue;
        batch.samples.push_back(fakeSample(m, ts, i, batch.coreBusy));
        if (batch.samples.size() == 600 || i + 1 == count) {
            batch.sequence = ++sequence;
            batches.push_back(std::move(batch));
            batch = SampleBatch();
            if (batches.size() == 50 && !flush())
                return false;
        }
    }
    if (!batch.samples.empty()) {
        batch.sequence = ++sequence;
        batches.push_back(std::move(batch));
    }
    return batches.empty() || flush();
}

} // namespace autofact::tools
