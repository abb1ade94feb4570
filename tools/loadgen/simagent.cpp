// SPDX-License-Identifier: MIT
#include "simagent.h"

#include "clock.h"
#include "loadgenlogging.h"

#include <QDateTime>

#include <algorithm>

namespace autofact::loadgen {

SimAgent::SimAgent(Settings settings, LoadStats &stats, const agent::Clock &clock, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_stats(stats)
    , m_sampler(QStringLiteral("loadgen-%1").arg(m_settings.index, 5, 10, QLatin1Char('0')),
                m_settings.seed, m_settings.cores)
    , m_engine(m_store, clock)
{
    m_latencyClock.start();
    m_hello = m_sampler.systemFacts();
    m_hello.protocolVersion = protocol::version;
    m_hello.agentId = m_settings.identity.id;
    m_hello.secret = m_settings.identity.secret;
    if (m_hello.agentId.isEmpty())
        m_hello.token = m_settings.token;
    m_store.ensureSequenceAbove(m_settings.identity.lastSequence);
    m_engine.setSampler(&m_sampler);
    m_engine.setCpuCount(m_hello.cpuCount);
    m_engine.setSampling(m_settings.sampling);
    const auto positive = [](std::optional<int> ms) -> std::optional<std::uint32_t> {
        if (!ms)
            return std::nullopt;
        return std::uint32_t(std::max(1, *ms));
    };
    m_engine.setIntervalOverrides(positive(m_settings.sampleIntervalMs),
                                  positive(m_settings.sendIntervalMs));
    // Spread the fleet's sampling and sending over the interval, as independent hosts would be.
    m_engine.setPhaseMs(std::int64_t(m_settings.seed % 1000003u));
    connect(&m_engine, &agent::AgentEngine::batchSent, this, &SimAgent::onBatchSent);
    connect(&m_engine, &agent::AgentEngine::batchesAcknowledged, this,
            &SimAgent::onBatchesAcknowledged);
    m_summary.index = m_settings.index;
}

SimAgent::~SimAgent() = default;

void SimAgent::createLink()
{
    m_link = std::make_unique<agent::AgentLink>(m_store);
    m_link->setServerUrl(m_settings.server);
    m_link->setPinnedFingerprint(m_settings.fingerprint);
    m_link->setHello(m_hello);
    m_link->setJitterSeed(m_settings.seed);
    // The engine first, so that its sends and acks are booked before these handlers run.
    m_engine.attach(*m_link);
    connect(m_link.get(), &agent::AgentLink::welcomed, this, &SimAgent::onWelcomed);
    connect(m_link.get(), &agent::AgentLink::stateChanged, this, &SimAgent::onStateChanged);
    connect(m_link.get(), &agent::AgentLink::fatal, this, [this](int, const QString &reason) {
        ++m_stats.errors;
        qCWarning(lcLoadgen).noquote() << "agent" << m_settings.index << "stopped:" << reason;
    });
}

void SimAgent::start()
{
    m_started = true;
    if (m_settings.backlogSamples > 0) {
        // A backlog as an agent would hold after an outage: past samples at the sampling
        // interval, numbered only after the first Welcome, as on the real agent.
        const std::int64_t wallNow = QDateTime::currentMSecsSinceEpoch();
        const std::int64_t interval = m_engine.sampleIntervalMs();
        for (std::uint64_t i = m_settings.backlogSamples; i > 0; --i)
            m_engine.takeSampleAt(wallNow - std::int64_t(i) * interval);
        countSamples();
    }
    createLink();
    m_link->start();
    m_engine.start();
}

bool SimAgent::isConnected() const
{
    return m_link && m_link->state() == agent::AgentLink::State::Ready;
}

Hello SimAgent::hello() const
{
    return m_hello;
}

AgentSummary SimAgent::summary() const
{
    AgentSummary s = m_summary;
    s.identity.id = m_hello.agentId;
    s.identity.secret = m_hello.secret;
    s.identity.lastSequence = m_store.nextSequence() - 1;
    s.unackedSamples = m_store.backlogSamples() + m_store.openSampleCount();
    return s;
}

void SimAgent::tick()
{
    if (!m_started || m_stopping)
        return;
    m_engine.runDue();
    countSamples();
}

void SimAgent::countSamples()
{
    const std::uint64_t fresh = m_engine.samplesTaken() - m_samplesCounted;
    m_samplesCounted = m_engine.samplesTaken();
    m_stats.samplesTaken += fresh;
    m_summary.samplesTaken += fresh;
}

void SimAgent::onBatchSent(const agent::SpooledBatch &batch)
{
    const std::int64_t now = m_latencyClock.nsecsElapsed();
    auto it = std::lower_bound(m_outstanding.begin(), m_outstanding.end(), batch.sequence,
                               [](const Outstanding &o, std::uint64_t s) { return o.sequence < s; });
    if (it == m_outstanding.end() || it->sequence != batch.sequence) {
        m_outstanding.insert(it, {batch.sequence, batch.sampleCount, now, batch.payload});
        ++m_stats.batchesSent;
        m_stats.samplesSent += batch.sampleCount;
        m_summary.samplesSent += batch.sampleCount;
        return;
    }
    // Sent again on the same connection (a busy server's resend): latency keeps its start.
    if (it->sentNs >= 0)
        return;
    it->sentNs = now;
    ++m_stats.batchesResent;
}

void SimAgent::onBatchesAcknowledged(const std::vector<agent::AckedBatch> &batches)
{
    const std::int64_t now = m_latencyClock.nsecsElapsed();
    for (const agent::AckedBatch &b : batches) {
        ++m_stats.batchesAcked;
        m_stats.samplesAcked += b.sampleCount;
        m_summary.samplesAcked += b.sampleCount;
        auto it = std::lower_bound(m_outstanding.begin(), m_outstanding.end(), b.sequence,
                                   [](const Outstanding &o, std::uint64_t s) { return o.sequence < s; });
        if (it == m_outstanding.end() || it->sequence != b.sequence)
            continue;
        if (it->sentNs >= 0)
            m_stats.latency.add((now - it->sentNs) / 1000);
        m_lastAckedPayload = it->payload;
        m_outstanding.erase(it);
    }
}

void SimAgent::onWelcomed(const Welcome &welcome)
{
    if (!welcome.secret.isEmpty()) {
        m_hello.agentId = welcome.agentId;
        m_hello.secret = welcome.secret;
        m_hello.token.clear();
    }
    ++m_stats.welcomes;
    if (m_summary.welcomes++ > 0)
        ++m_stats.reconnects;
    m_wasReady = true;
}

void SimAgent::onStateChanged(agent::AgentLink::State state)
{
    if (state == agent::AgentLink::State::Ready)
        return;
    if (m_wasReady) {
        m_wasReady = false;
        ++m_stats.linkLosses;
    }
    // Whatever was in flight goes again on the next connection.
    for (Outstanding &o : m_outstanding)
        o.sentNs = -1;
}

void SimAgent::beginStop()
{
    if (!m_started || m_stopping)
        return;
    m_engine.stop();
    m_stopping = true;
}

void SimAgent::finish()
{
    m_stopping = true;
    if (m_link)
        m_link->stop();
}

void SimAgent::dropConnection()
{
    if (!m_link || m_stopping)
        return;
    ++m_stats.dropsInjected;
    onStateChanged(agent::AgentLink::State::Idle);
    // Destroying the link aborts its socket without a close handshake, as a crash would; the
    // store (and its unacked batches) survives, like a real spool file.
    m_link.reset();
    createLink();
    m_link->start();
}

} // namespace autofact::loadgen
