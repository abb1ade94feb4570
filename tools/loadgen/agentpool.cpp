// SPDX-License-Identifier: MIT
#include "agentpool.h"

#include <QMutexLocker>

namespace autofact::loadgen {

namespace {
// Fine enough for 100 ms sampling, coarse enough that 5,000 agents per thread cost little.
constexpr int tickMs = 20;
} // namespace

AgentPool::AgentPool(Plan plan, QObject *parent)
    : QObject(parent)
    , m_plan(std::move(plan))
    , m_rng(m_plan.seed)
{
    m_tickTimer.setInterval(tickMs);
    m_tickTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_tickTimer, &QTimer::timeout, this, &AgentPool::tick);
    m_stats.agents = int(m_plan.agents.size());
    m_published = m_stats;
}

AgentPool::~AgentPool() = default;

LoadStats AgentPool::snapshot() const
{
    QMutexLocker lock(&m_mutex);
    return m_published;
}

void AgentPool::start()
{
    // Created here, on the pool's thread, so their sockets and timers belong to it.
    m_agents.reserve(m_plan.agents.size());
    for (SimAgent::Settings &s : m_plan.agents)
        m_agents.push_back(std::make_unique<SimAgent>(std::move(s), m_stats, m_clock));
    m_faults = std::make_unique<FaultInjector>(m_plan.server, m_stats, m_plan.seed ^ 0x5eedu);
    m_faults->setPinnedFingerprint(m_plan.fingerprint);
    m_startMs = m_clock.monotonicMs();
    m_tickTimer.start();
    tick();
    // The first tick generates any backlog: report it at once, so nobody reads the initial
    // empty snapshot as "nothing left to send".
    publish();
}

void AgentPool::tick()
{
    const std::int64_t now = m_clock.monotonicMs() - m_startMs;
    const double minutes = double(now - m_lastTickMs) / 60000.0;
    m_lastTickMs = now;
    while (m_nextToStart < m_agents.size() && m_plan.startAtMs[m_nextToStart] <= now) {
        m_agents[m_nextToStart]->start();
        ++m_nextToStart;
    }
    const Faults &f = m_plan.faults;
    const bool dice = f.dropsPerAgentMinute > 0 || f.resendsPerAgentMinute > 0
                      || f.malformedPerAgentMinute > 0;
    for (std::size_t i = 0; i < m_nextToStart; ++i) {
        SimAgent &a = *m_agents[i];
        a.tick();
        if (!dice)
            continue;
        // Poisson events: per tick the chance is rate × elapsed time (tiny, so no overlap).
        if (f.dropsPerAgentMinute > 0 && m_rng.generateDouble() < f.dropsPerAgentMinute * minutes
            && a.isConnected())
            a.dropConnection();
        if (f.resendsPerAgentMinute > 0
            && m_rng.generateDouble() < f.resendsPerAgentMinute * minutes && a.isConnected())
            m_faults->resend(a.hello(), a.lastAckedPayload());
        if (f.malformedPerAgentMinute > 0
            && m_rng.generateDouble() < f.malformedPerAgentMinute * minutes)
            m_faults->sendMalformed();
    }
    // Publishing walks every agent: a few times a second is plenty for the reports.
    if (++m_ticksSincePublish >= 10) {
        m_ticksSincePublish = 0;
        publish();
    }
}

void AgentPool::publish()
{
    int connected = 0;
    for (std::size_t i = 0; i < m_nextToStart; ++i) {
        if (m_agents[i]->isConnected())
            ++connected;
    }
    m_stats.started = int(m_nextToStart);
    m_stats.connected = connected;
    m_stats.unackedSamples = m_stats.samplesTaken - m_stats.samplesAcked;
    QMutexLocker lock(&m_mutex);
    m_published = m_stats;
}

void AgentPool::beginStop()
{
    m_plan.faults = Faults{};
    for (std::size_t i = 0; i < m_nextToStart; ++i)
        m_agents[i]->beginStop();
    publish();
}

std::vector<AgentSummary> AgentPool::finish()
{
    m_tickTimer.stop();
    publish();
    std::vector<AgentSummary> out;
    out.reserve(m_agents.size());
    for (const auto &a : m_agents) {
        a->finish();
        out.push_back(a->summary());
    }
    m_agents.clear();
    m_faults.reset();
    return out;
}

} // namespace autofact::loadgen
