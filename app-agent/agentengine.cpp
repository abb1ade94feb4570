// SPDX-License-Identifier: MIT
#include "agentengine.h"

#include "agentlogging.h"
#include "clock.h"
#include "link/agentlink.h"
#include "sampling/sampler.h"

namespace autofact::agent {

namespace {

/** The slot after @p due; a run that fell a whole interval behind starts afresh from @p now. */
std::int64_t nextSlot(std::int64_t due, std::int64_t interval, std::int64_t now)
{
    // Missed slots are skipped, not caught up: samples taken back to back would measure CPU
    // over a few microseconds.
    return due + interval > now ? due + interval : now + interval;
}

} // namespace

AgentEngine::AgentEngine(BatchStore &store, const Clock &clock, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_clock(clock)
{
    // Until a server says which collectors it wants, none run: an older server could not store
    // their readings.
    m_config.filesystemsIntervalMs = 0;
    m_config.disksIntervalMs = 0;
    m_config.networkIntervalMs = 0;
    m_config.temperaturesIntervalMs = 0;
}

AgentEngine::~AgentEngine() = default;

std::size_t AgentEngine::maxSamplesPerBatchFor(int cpuCount)
{
    // ≈128 bytes of fixed fields per encoded sample plus 4 per core; half the 1 MiB cap
    // leaves room for the envelope and for growth of the schema.
    const std::size_t perSample = 128 + 4 * std::size_t(std::max(1, cpuCount));
    return std::clamp<std::size_t>((512 * 1024) / perSample, 1, 600);
}

void AgentEngine::setCpuCount(int cpuCount)
{
    m_maxSamplesPerBatch = maxSamplesPerBatchFor(cpuCount);
}

void AgentEngine::setIntervalOverrides(std::optional<std::uint32_t> sampleMs,
                                       std::optional<std::uint32_t> sendMs)
{
    m_sampleOverrideMs = sampleMs;
    m_sendOverrideMs = sendMs;
}

std::uint32_t AgentEngine::sampleIntervalMs() const
{
    return std::max<std::uint32_t>(1, m_sampleOverrideMs.value_or(m_config.sampleIntervalMs));
}

AgentConfig AgentEngine::effectiveConfig() const
{
    AgentConfig c = m_config;
    c.sampleIntervalMs = sampleIntervalMs();
    return c;
}

std::uint32_t AgentEngine::sendIntervalMs() const
{
    return std::max<std::uint32_t>(1, m_sendOverrideMs.value_or(m_config.sendIntervalMs));
}

void AgentEngine::applyConfig(const AgentConfig &config, bool fromServer)
{
    const std::uint32_t sampleBefore = sampleIntervalMs();
    const std::uint32_t sendBefore = sendIntervalMs();
    m_config = config;
    if (m_started) {
        const std::int64_t now = m_clock.monotonicMs();
        if (sampleIntervalMs() != sampleBefore)
            m_nextSampleMs = std::min(m_nextSampleMs, now + sampleIntervalMs());
        if (sendIntervalMs() != sendBefore)
            m_nextSealMs = std::min(m_nextSealMs, now + sendIntervalMs());
    }
    if (fromServer)
        m_store.setLimits(config.spoolMaxBytes, std::int64_t(config.spoolMaxAgeMs), m_clock.wallMs());
    qCDebug(lcAgent) << "config revision" << config.revision << "in force: sample"
                     << sampleIntervalMs() << "ms, send" << sendIntervalMs() << "ms";
    Q_EMIT configApplied(config.revision);
}

void AgentEngine::attach(AgentLink &link)
{
    if (m_link)
        m_link->disconnect(this);
    m_link = &link;
    setTransport(&link);
    connect(&link, &AgentLink::welcomed, this, &AgentEngine::onWelcomed);
    connect(&link, &AgentLink::acknowledged, this, &AgentEngine::onAcknowledged);
    connect(&link, &AgentLink::resendDue, this, &AgentEngine::onResendDue);
    connect(&link, &AgentLink::configReceived, this,
            [this](const AgentConfig &config) { applyConfig(config, true); });
    connect(&link, &AgentLink::stateChanged, this, [this](AgentLink::State state) {
        if (state != AgentLink::State::Ready)
            onLinkDown();
    });
    // A link destroyed without closing (the load generator's crash simulation) is a link down.
    connect(&link, &QObject::destroyed, this, [this] {
        m_link = nullptr;
        m_transport = nullptr;
        onLinkDown();
    });
}

void AgentEngine::setTransport(BatchTransport *transport)
{
    m_transport = transport;
    rewindWindow();
}

void AgentEngine::start()
{
    m_started = true;
    const std::int64_t now = m_clock.monotonicMs();
    m_nextSampleMs = now + m_phaseMs % sampleIntervalMs();
    m_nextSealMs = now + m_phaseMs % sendIntervalMs();
}

void AgentEngine::runDue()
{
    if (!m_started || m_stopped)
        return;
    const std::int64_t now = m_clock.monotonicMs();
    if (now >= m_nextSampleMs) {
        if (m_sampling)
            takeSample();
        m_nextSampleMs = nextSlot(m_nextSampleMs, sampleIntervalMs(), now);
    }
    if (now >= m_nextSealMs) {
        sealAndSend();
        m_nextSealMs = nextSlot(m_nextSealMs, sendIntervalMs(), now);
    }
}

std::int64_t AgentEngine::nextDueMs() const
{
    return std::min(m_nextSampleMs, m_nextSealMs);
}

void AgentEngine::stop()
{
    if (m_stopped)
        return;
    m_stopped = true;
    sealAndSend();
}

bool AgentEngine::takeSample()
{
    return takeSampleAt(m_clock.wallMs());
}

bool AgentEngine::takeSampleAt(std::int64_t wallMs)
{
    if (!m_sampler)
        return false;
    m_cores.clear();
    QString error;
    if (!m_sampler->sample(wallMs, m_sample, m_cores, &error)) {
        qCWarning(lcAgent).noquote() << "sampling failed:" << error;
        return false;
    }
    m_sampler->collectDevices(wallMs, effectiveConfig(), m_devices);
    // What a server would refuse (a sensor's nonsense, a filesystem reporting more free than its
    // size, a delta over a day after a suspend) goes here, or it would cost the whole sample.
    if (const std::size_t dropped = m_devices.dropInvalid(); dropped > 0 && !m_warnedInvalidDevices) {
        m_warnedInvalidDevices = true;
        qCWarning(lcAgent) << "left out" << dropped << "device readings with impossible values"
                           << "(said once; more are left out silently)";
    }
    m_store.append(m_sample, m_cores, m_devices);
    ++m_samplesTaken;
    return true;
}

int AgentEngine::seal()
{
    // Sequence numbers are handed out only once this process has heard the server's
    // high-water mark (Welcome): a lost or stale spool could otherwise reuse numbers the server
    // already holds, and those batches would be "duplicates" and silently dropped. Until then
    // samples wait in the store's open batch.
    if (!m_sequencesConfirmed)
        return 0;
    return m_store.seal(m_clock.wallMs(), m_maxSamplesPerBatch);
}

void AgentEngine::sealAndSend()
{
    seal();
    flush();
}

void AgentEngine::flush()
{
    while (m_transport && m_transport->isReady() && m_inFlight.size() < m_maxInFlight) {
        const auto batches = m_store.pending(m_lastSentSequence, m_maxInFlight - m_inFlight.size());
        if (batches.empty())
            return;
        for (const SpooledBatch &b : batches) {
            if (!m_transport->sendBatch(b.payload))
                return; // the connection is going away; its loss rewinds the window
            m_lastSentSequence = b.sequence;
            m_inFlight.push_back(b.sequence);
            Q_EMIT batchSent(b);
        }
    }
}

void AgentEngine::rewindWindow()
{
    m_inFlight.clear();
    m_lastSentSequence = 0;
}

void AgentEngine::onWelcomed(const Welcome &welcome)
{
    m_store.ensureSequenceAbove(welcome.lastAckedSequence);
    rewindWindow();
    if (!m_sequencesConfirmed) {
        m_sequencesConfirmed = true;
        // What waited for the high-water mark goes out now, not one send interval later.
        seal();
    }
    flush();
}

void AgentEngine::onAcknowledged(const Ack &ack)
{
    const std::vector<AckedBatch> acked = m_store.acknowledge(ack);
    std::erase_if(m_inFlight, [&ack](std::uint64_t seq) { return ackCovers(ack, seq); });
    if (!acked.empty())
        Q_EMIT batchesAcknowledged(acked);
    flush();
}

void AgentEngine::onLinkDown()
{
    rewindWindow();
}

void AgentEngine::onResendDue()
{
    rewindWindow();
    flush();
}

} // namespace autofact::agent
