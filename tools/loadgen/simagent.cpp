// SPDX-License-Identifier: MIT
#include "simagent.h"

#include "loadgenlogging.h"

#include <QDateTime>

#include <algorithm>
#include <limits>

namespace autofact::loadgen {

namespace {
// Same rule as the real agent for 8 cores: batches stay far below the 1 MiB message cap.
constexpr std::size_t maxSamplesPerBatch = 600;
} // namespace

SimAgent::SimAgent(Settings settings, LoadStats &stats, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_stats(stats)
    , m_sampler(QStringLiteral("loadgen-%1").arg(m_settings.index, 5, 10, QLatin1Char('0')),
                m_settings.seed)
    , m_spool(QString()) // never opened: the spool keeps everything in memory
{
    m_clock.start();
    m_hello = m_sampler.systemFacts();
    m_hello.protocolVersion = protocol::version;
    m_hello.agentId = m_settings.identity.id;
    m_hello.secret = m_settings.identity.secret;
    m_spool.ensureSequenceAbove(m_settings.identity.lastSequence);
    m_sampleMs = m_settings.sampleIntervalMs.value_or(int(AgentConfig{}.sampleIntervalMs));
    m_sendMs = m_settings.sendIntervalMs.value_or(int(AgentConfig{}.sendIntervalMs));
    m_summary.index = m_settings.index;
}

SimAgent::~SimAgent() = default;

void SimAgent::createLink()
{
    m_link = std::make_unique<agent::AgentLink>(m_spool);
    m_link->setServerUrl(m_settings.server);
    m_link->setHello(m_hello);
    m_link->setJitterSeed(m_settings.seed);
    connect(m_link.get(), &agent::AgentLink::welcomed, this, &SimAgent::onWelcomed);
    connect(m_link.get(), &agent::AgentLink::acknowledged, this, &SimAgent::onAcknowledged);
    connect(m_link.get(), &agent::AgentLink::stateChanged, this, &SimAgent::onStateChanged);
    connect(m_link.get(), &agent::AgentLink::configReceived, this, &SimAgent::onConfig);
    connect(m_link.get(), &agent::AgentLink::fatal, this, [this](int, const QString &reason) {
        ++m_stats.errors;
        qCWarning(lcLoadgen).noquote() << "agent" << m_settings.index << "stopped:" << reason;
    });
}

void SimAgent::start(std::int64_t nowMs)
{
    m_started = true;
    if (m_settings.backlogSamples > 0) {
        // A backlog as an agent would hold after an outage: past samples at the sampling
        // interval, sealed into full batches.
        const std::int64_t wallNow = QDateTime::currentMSecsSinceEpoch();
        for (std::uint64_t i = m_settings.backlogSamples; i > 0; --i) {
            m_cores.clear();
            m_sampler.sample(wallNow - std::int64_t(i) * m_sampleMs, m_sample, m_cores);
            m_spool.append(m_sample, m_cores);
        }
        m_stats.samplesTaken += m_settings.backlogSamples;
        m_summary.samplesTaken += m_settings.backlogSamples;
        // Sealed (numbered) only after the first Welcome, as the real agent does.
    }
    createLink();
    m_link->start();
    // Spread the fleet's timers over the interval, as independent hosts would be.
    const auto seed = std::int64_t(m_settings.seed % 1000003u);
    m_nextSampleMs = nowMs + seed % std::max(1, m_sampleMs);
    m_nextSendMs = nowMs + seed % std::max(1, m_sendMs);
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
    s.identity.lastSequence = m_spool.nextSequence() - 1;
    s.unackedSamples = 0;
    for (const Outstanding &o : m_unacked)
        s.unackedSamples += o.samples;
    s.unackedSamples += m_spool.openSampleCount();
    return s;
}

void SimAgent::tick(std::int64_t nowMs)
{
    if (!m_started || m_stopping)
        return;
    if (m_settings.sampling) {
        // Catch up at most a few samples if the thread fell behind, then resynchronise.
        int taken = 0;
        while (nowMs >= m_nextSampleMs && taken < 3) {
            takeSample();
            m_nextSampleMs += m_sampleMs;
            ++taken;
        }
        if (nowMs >= m_nextSampleMs)
            m_nextSampleMs = nowMs + m_sampleMs;
    }
    if (nowMs >= m_nextSendMs) {
        sealAndSend();
        m_nextSendMs += m_sendMs;
        if (nowMs >= m_nextSendMs)
            m_nextSendMs = nowMs + m_sendMs;
    }
}

void SimAgent::takeSample()
{
    m_cores.clear();
    m_sampler.sample(QDateTime::currentMSecsSinceEpoch(), m_sample, m_cores);
    m_spool.append(m_sample, m_cores);
    ++m_stats.samplesTaken;
    ++m_summary.samplesTaken;
}

void SimAgent::sealAndSend()
{
    // Like the real agent: no sequence number before the server's high-water mark is known,
    // or a stale state file would make batches look like duplicates.
    if (m_sequencesConfirmed && m_spool.seal(QDateTime::currentMSecsSinceEpoch(), maxSamplesPerBatch) > 0)
        trackSealed();
    if (m_link) {
        m_link->flush();
        stampSent();
    }
}

void SimAgent::trackSealed()
{
    const auto fresh = m_spool.pending(m_trackedUpTo, std::numeric_limits<std::size_t>::max());
    for (const agent::SpooledBatch &b : fresh) {
        m_unacked.push_back({b.sequence, b.sampleCount, false, -1, b.payload});
        m_trackedUpTo = b.sequence;
    }
}

void SimAgent::stampSent()
{
    if (!isConnected())
        return;
    const std::size_t inFlight = std::min(m_link->inFlight(), m_unacked.size());
    const std::int64_t now = m_clock.nsecsElapsed();
    for (std::size_t i = 0; i < inFlight; ++i) {
        Outstanding &o = m_unacked[i];
        if (o.sentNs >= 0)
            continue;
        o.sentNs = now;
        if (o.everSent) {
            ++m_stats.batchesResent;
        } else {
            o.everSent = true;
            ++m_stats.batchesSent;
            m_stats.samplesSent += o.samples;
            m_summary.samplesSent += o.samples;
        }
    }
}

void SimAgent::onWelcomed(const Welcome &welcome)
{
    if (!welcome.secret.isEmpty()) {
        m_hello.agentId = welcome.agentId;
        m_hello.secret = welcome.secret;
    }
    ++m_stats.welcomes;
    if (m_summary.welcomes++ > 0)
        ++m_stats.reconnects;
    m_wasReady = true;
    if (!m_sequencesConfirmed) {
        m_sequencesConfirmed = true; // the link already raised the spool's next sequence
        if (m_spool.seal(QDateTime::currentMSecsSinceEpoch(), maxSamplesPerBatch) > 0)
            trackSealed();
    }
    // The link flushes right after this signal; flushing here first lets us time the sends.
    m_link->flush();
    stampSent();
}

void SimAgent::onAcknowledged(const Ack &ack)
{
    const auto covered = [&ack](std::uint64_t seq) {
        if (seq <= ack.cumulative)
            return true;
        return std::any_of(ack.ranges.begin(), ack.ranges.end(), [seq](const SequenceRange &r) {
            return seq >= r.first && seq <= r.last;
        });
    };
    const std::int64_t now = m_clock.nsecsElapsed();
    std::erase_if(m_unacked, [&](const Outstanding &o) {
        if (!covered(o.sequence))
            return false;
        if (o.sentNs >= 0)
            m_stats.latency.add((now - o.sentNs) / 1000);
        ++m_stats.batchesAcked;
        m_stats.samplesAcked += o.samples;
        m_summary.samplesAcked += o.samples;
        m_lastAckedPayload = o.payload;
        return true;
    });
    m_link->flush();
    stampSent();
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
    for (Outstanding &o : m_unacked)
        o.sentNs = -1;
}

void SimAgent::onConfig(const AgentConfig &config)
{
    if (!m_settings.sampleIntervalMs)
        m_sampleMs = int(std::max<std::uint32_t>(config.sampleIntervalMs, 1));
    if (!m_settings.sendIntervalMs)
        m_sendMs = int(std::max<std::uint32_t>(config.sendIntervalMs, 1));
}

void SimAgent::beginStop()
{
    if (!m_started || m_stopping)
        return;
    sealAndSend();
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
    // spool (and its unacked batches) survives, like a real spool file.
    m_link.reset();
    createLink();
    m_link->start();
}

} // namespace autofact::loadgen
