// SPDX-License-Identifier: MIT
#include "sampling/cpudelta.h"

#include <algorithm>

namespace autofact::agent {

namespace {

constexpr CpuCounters zeroCounters{};

float percent(std::uint64_t part, std::uint64_t total)
{
    // total > 0 is checked by the callers; the clamp covers guest > user after a reset.
    return std::clamp(float(100.0 * double(part) / double(total)), 0.0f, 100.0f);
}

} // namespace

CpuDelta cpuDelta(const CpuCounters &previous, const CpuCounters &current)
{
    CpuDelta d;
    for (std::size_t i = 0; i < d.ticks.size(); ++i) {
        if (current.ticks[i] >= previous.ticks[i])
            d.ticks[i] = current.ticks[i] - previous.ticks[i];
        else
            d.wentBackwards = true;
    }
    for (std::size_t i = 0; i <= std::size_t(CpuField::Steal); ++i)
        d.total += d.ticks[i];
    return d;
}

CpuTimes cpuTimes(const CpuDelta &d)
{
    CpuTimes t;
    if (d.total == 0)
        return t;
    const auto pct = [&](CpuField f) { return percent(d.ticks[std::size_t(f)], d.total); };
    t.user = pct(CpuField::User);
    t.nice = pct(CpuField::Nice);
    t.system = pct(CpuField::System);
    t.idle = pct(CpuField::Idle);
    t.iowait = pct(CpuField::IoWait);
    t.irq = pct(CpuField::Irq);
    t.softirq = pct(CpuField::SoftIrq);
    t.steal = pct(CpuField::Steal);
    t.guest = percent(d.ticks[std::size_t(CpuField::Guest)]
                          + d.ticks[std::size_t(CpuField::GuestNice)],
                      d.total);
    return t;
}

float cpuBusy(const CpuDelta &d)
{
    if (d.total == 0)
        return 0;
    const std::uint64_t waiting =
        d.ticks[std::size_t(CpuField::Idle)] + d.ticks[std::size_t(CpuField::IoWait)];
    return percent(d.total - waiting, d.total);
}

CpuDeltaTracker::Result CpuDeltaTracker::update(const CpuCounters &total,
                                                const std::vector<CoreCounters> &cores,
                                                std::vector<float> &coreBusy)
{
    Result r;
    r.first = !m_havePrevious;

    const CpuDelta totalDelta = cpuDelta(m_havePrevious ? m_previousTotal : zeroCounters, total);
    r.cpu = cpuTimes(totalDelta);
    r.totalWentBackwards = totalDelta.wentBackwards;

    const std::size_t coreCount = std::min(cores.size(), protocol::maxCoresPerSample);
    for (std::size_t i = 0; i < coreCount; ++i) {
        const CoreCounters &core = cores[i];
        const std::size_t index = std::size_t(core.index);
        const bool known = m_havePrevious && index < m_previousCores.size()
                && m_previousCores[index].valid;
        coreBusy.push_back(cpuBusy(cpuDelta(known ? m_previousCores[index].counters : zeroCounters,
                                            core.counters)));
    }
    r.coreCount = std::uint16_t(coreCount);

    // Hotplug bookkeeping over all cores, before the baseline is replaced.
    int previousValid = 0;
    for (const PreviousCore &p : m_previousCores)
        previousValid += p.valid ? 1 : 0;
    int stayed = 0;
    for (const CoreCounters &core : cores) {
        const std::size_t index = std::size_t(core.index);
        const bool known = index < m_previousCores.size() && m_previousCores[index].valid;
        if (known)
            ++stayed;
        else if (m_havePrevious)
            ++r.coresAppeared;
    }
    r.coresVanished = previousValid - stayed;

    // New baseline: exactly the cores in this reading, including any beyond coreCount.
    for (PreviousCore &p : m_previousCores)
        p.valid = false;
    for (const CoreCounters &core : cores) {
        const std::size_t index = std::size_t(core.index);
        if (index >= m_previousCores.size())
            m_previousCores.resize(index + 1);
        m_previousCores[index] = {core.counters, true};
    }
    m_previousTotal = total;
    m_havePrevious = true;
    return r;
}

} // namespace autofact::agent
