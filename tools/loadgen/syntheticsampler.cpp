// SPDX-License-Identifier: MIT
#include "syntheticsampler.h"

#include <QDateTime>

#include <algorithm>

namespace autofact::loadgen {

namespace {
constexpr std::uint64_t memTotal = 16ull << 30;
constexpr std::uint64_t swapTotal = 2ull << 30;

double uniform(QRandomGenerator &rng, double low, double high)
{
    return low + rng.generateDouble() * (high - low);
}
} // namespace

SyntheticSampler::SyntheticSampler(QString hostname, quint32 seed, int cores)
    : m_hostname(std::move(hostname))
    , m_rng(seed)
    , m_coreBusy(std::size_t(std::max(1, cores)))
{
    for (float &c : m_coreBusy)
        c = float(uniform(m_rng, 5.0, 40.0));
    m_bootMs = QDateTime::currentMSecsSinceEpoch() - std::int64_t(m_rng.bounded(86400)) * 1000 * 30;
}

bool SyntheticSampler::sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy,
                              QString *)
{
    out = Sample{};
    // Strictly increasing timestamps: the server's gap detection assumes them.
    m_lastTs = std::max(nowMs, m_lastTs + 1);
    out.timestampMs = m_lastTs;
    double busySum = 0;
    for (float &c : m_coreBusy) {
        c = std::clamp(c + float(uniform(m_rng, -6.0, 6.0)), 0.0f, 100.0f);
        coreBusy.push_back(c);
        busySum += c;
    }
    const auto busy = float(busySum / double(m_coreBusy.size()));
    // Split busy time the way a mostly user-space workload does.
    out.cpu.user = busy * 0.70f;
    out.cpu.system = busy * 0.22f;
    out.cpu.nice = busy * 0.02f;
    out.cpu.irq = busy * 0.01f;
    out.cpu.softirq = busy * 0.05f;
    out.cpu.iowait = std::min(100.0f - busy, float(uniform(m_rng, 0.0, 2.0)));
    out.cpu.idle = std::max(0.0f, 100.0f - busy - out.cpu.iowait);
    m_usedFraction = std::clamp(m_usedFraction + uniform(m_rng, -0.01, 0.01), 0.1, 0.9);
    out.memory.total = memTotal;
    out.memory.used = std::uint64_t(double(memTotal) * m_usedFraction);
    out.memory.buffers = 256ull << 20;
    out.memory.cached = (memTotal - out.memory.used) / 2;
    out.memory.free = memTotal - out.memory.used - out.memory.buffers - out.memory.cached;
    out.memory.available = out.memory.free + out.memory.cached;
    out.memory.swapTotal = swapTotal;
    out.memory.swapFree = swapTotal - (64ull << 20);
    // Exponentially damped like the kernel's averages (1, 5, 15 minutes at ~1 s steps).
    const float running = busy / 100.0f * float(m_coreBusy.size());
    m_load1 += (running - m_load1) * 0.016f;
    m_load5 += (running - m_load5) * 0.0033f;
    m_load15 += (running - m_load15) * 0.0011f;
    out.load1 = m_load1;
    out.load5 = m_load5;
    out.load15 = m_load15;
    out.coreCount = std::uint16_t(m_coreBusy.size());
    out.flags = m_first ? std::uint16_t(FirstAfterStart) : std::uint16_t(0);
    m_first = false;
    return true;
}

Hello SyntheticSampler::systemFacts() const
{
    Hello h;
    h.hostname = m_hostname;
    h.osName = QStringLiteral("Debian GNU/Linux");
    h.osVersion = QStringLiteral("12");
    h.kernel = QStringLiteral("6.1.0-loadgen");
    h.arch = QStringLiteral("x86_64");
    h.cpuModel = QStringLiteral("Simulated 8-core CPU");
    h.cpuCount = std::uint16_t(m_coreBusy.size());
    h.memTotal = memTotal;
    h.bootTimeMs = m_bootMs;
    h.agentVersion = QStringLiteral("loadgen-" AUTOFACT_VERSION);
    return h;
}

} // namespace autofact::loadgen
