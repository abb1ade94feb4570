// SPDX-License-Identifier: MIT
#include "agent.h"

#include "agentlogging.h"
#include "sampler.h"

#include <QDateTime>
#include <QFile>

namespace autofact::agent {

Agent::Agent(AgentSettings settings, std::unique_ptr<Sampler> sampler, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_sampler(std::move(sampler))
    , m_spool(m_settings.spoolPath())
    , m_link(m_spool)
{
    m_sampleTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_sampleTimer, &QTimer::timeout, this, &Agent::takeSample);
    connect(&m_sendTimer, &QTimer::timeout, this, &Agent::sealAndSend);
    connect(&m_link, &AgentLink::welcomed, this, &Agent::onWelcomed);
    connect(&m_link, &AgentLink::configReceived, this, [this](const AgentConfig &config) {
        applyConfig(config, true);
    });
    connect(&m_link, &AgentLink::fatal, this, [this](int code, const QString &) {
        m_sampleTimer.stop();
        m_sendTimer.stop();
        if (m_sequencesConfirmed)
            m_spool.seal(QDateTime::currentMSecsSinceEpoch(), m_maxSamplesPerBatch);
        Q_EMIT finished(code);
    });
}

Agent::~Agent() = default;

bool Agent::start(QString *error)
{
    if (!m_sampler) {
        if (error)
            *error = QStringLiteral("no sampler for this platform");
        return false;
    }
    if (const QString bad = AgentSettings::checkServerUrl(m_settings.server); !bad.isEmpty()) {
        if (error)
            *error = m_settings.path + QStringLiteral(": ") + bad
                     + QStringLiteral(" (run once with --server URL)");
        return false;
    }
    if (!m_settings.ca.isEmpty()) {
        // Checked here so a typo fails the start with a clear line instead of every handshake;
        // OpenSSL parses the certificates when a wss:// connection is made.
        QFile ca(m_settings.ca);
        if (!ca.open(QIODevice::ReadOnly)) {
            if (error)
                *error = m_settings.path + QStringLiteral(": \"ca\" file %1: %2").arg(m_settings.ca, ca.errorString());
            return false;
        }
        if (!ca.read(1024 * 1024).contains("-----BEGIN CERTIFICATE-----")) {
            if (error)
                *error = m_settings.path + QStringLiteral(": \"ca\" file %1 holds no PEM certificate").arg(m_settings.ca);
            return false;
        }
        m_link.setCaFile(m_settings.ca);
    }
    QString spoolError;
    if (!m_spool.open(&spoolError))
        qCWarning(lcAgent).noquote() << spoolError << "- samples are kept in memory for now";
    Hello hello = m_sampler->systemFacts();
    hello.protocolVersion = protocol::version;
    hello.agentId = m_settings.id;
    hello.secret = m_settings.secret;
    // A batch must stay well under the server's 1 MiB message cap, however many cores.
    const std::size_t perSample = 128 + 4 * std::size_t(std::max<int>(1, hello.cpuCount));
    m_maxSamplesPerBatch = std::clamp<std::size_t>((512 * 1024) / perSample, 1, 600);
    m_link.setHello(hello);
    m_link.setServerUrl(m_settings.server);
    applyConfig(m_config, false);
    m_link.start();
    // The first reading only sets the baseline for CPU deltas.
    takeSample();
    return true;
}

void Agent::stop()
{
    if (m_stopped)
        return;
    m_stopped = true;
    m_sampleTimer.stop();
    m_sendTimer.stop();
    sealAndSend();
    qCInfo(lcAgent) << "stopping;" << m_spool.backlogBatches()
                    << "unacknowledged batches stay in the spool";
    // Exit once the close handshake is done, or after 2 s if the server does not answer it.
    auto *guard = new QTimer(this);
    guard->setSingleShot(true);
    const auto done = [this, guard] {
        guard->stop();
        Q_EMIT finished(0);
    };
    connect(&m_link, &AgentLink::closed, guard, done, Qt::SingleShotConnection);
    connect(guard, &QTimer::timeout, this, done);
    guard->start(2000);
    m_link.stop();
}

void Agent::takeSample()
{
    const std::int64_t now = QDateTime::currentMSecsSinceEpoch();
    m_cores.clear();
    QString error;
    if (!m_sampler->sample(now, m_sample, m_cores, &error)) {
        qCWarning(lcAgent).noquote() << "sampling failed:" << error;
        return;
    }
    m_spool.append(m_sample, m_cores);
}

void Agent::sealAndSend()
{
    // Sequence numbers are handed out only once this process has heard the server's
    // high-water mark (Welcome): a lost or stale spool could otherwise reuse numbers the server
    // already holds, and those batches would be "duplicates" and silently dropped. Until then
    // samples wait, durably, in the spool's open batch.
    if (m_sequencesConfirmed)
        m_spool.seal(QDateTime::currentMSecsSinceEpoch(), m_maxSamplesPerBatch);
    m_link.flush();
}

void Agent::applyConfig(const AgentConfig &config, bool fromServer)
{
    m_config = config;
    m_sampleTimer.start(int(config.sampleIntervalMs));
    m_sendTimer.start(int(config.sendIntervalMs));
    // Built-in defaults never shrink the spool: it keeps the server's last limits on disk.
    if (fromServer)
        m_spool.setLimits(config.spoolMaxBytes, std::int64_t(config.spoolMaxAgeMs),
                          QDateTime::currentMSecsSinceEpoch());
    qCInfo(lcAgent) << "config revision" << config.revision << "in force: sample"
                    << config.sampleIntervalMs << "ms, send" << config.sendIntervalMs << "ms";
    Q_EMIT configApplied(config.revision);
}

void Agent::onWelcomed(const Welcome &welcome)
{
    m_sequencesConfirmed = true; // the link already raised the spool's next sequence
    if (welcome.secret.isEmpty())
        return;
    m_settings.id = welcome.agentId;
    m_settings.secret = welcome.secret;
    if (const QString err = m_settings.save(); !err.isEmpty())
        qCCritical(lcAgent).noquote() << "cannot save the issued identity:" << err;
}

} // namespace autofact::agent
