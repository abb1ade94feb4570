// SPDX-License-Identifier: MIT
#include "agent.h"

#include "agentlogging.h"
#include "sampling/sampler.h"

#include <QSslSocket>


namespace autofact::agent {

Agent::Agent(AgentSettings settings, std::unique_ptr<Sampler> sampler, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_sampler(std::move(sampler))
    , m_spool(m_settings.spoolPath())
    , m_link(m_spool)
    , m_engine(m_spool, m_clock)
{
    m_engine.setSampler(m_sampler.get());
    m_engine.attach(m_link);
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &Agent::wake);
    connect(&m_link, &AgentLink::welcomed, this, &Agent::onWelcomed);
    connect(&m_engine, &AgentEngine::configApplied, this, [this](quint32 revision) {
        qCInfo(lcAgent) << "config revision" << revision << "in force: sample"
                        << m_engine.sampleIntervalMs() << "ms, send" << m_engine.sendIntervalMs()
                        << "ms";
        if (!m_stopped && m_timer.isActive())
            armTimer(); // the due times may have moved
        Q_EMIT configApplied(revision);
    });
    connect(&m_link, &AgentLink::fatal, this, [this](int code, const QString &) {
        m_timer.stop();
        m_engine.stop();
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
    if (m_settings.server.isEmpty()) {
        // The packaged config starts empty: say how to fill it, not that "" is a bad URL.
        if (error)
            *error = m_settings.path
                     + QStringLiteral(": no server configured; write one with autofact-agent --config %1 "
                                      "--write-config --server wss://HOST:PORT --token TOKEN "
                                      "--fingerprint sha256:HEX")
                           .arg(m_settings.path);
        return false;
    }
    if (const QString bad = AgentSettings::checkServerUrl(m_settings.server); !bad.isEmpty()) {
        if (error)
            *error = m_settings.path + QStringLiteral(": ") + bad
                     + QStringLiteral(" (run once with --server URL)");
        return false;
    }
    // Checked here so a typo fails the start with a clear line instead of every handshake.
    if (QString caError; !m_link.setCaFile(m_settings.ca, &caError)) {
        if (error)
            *error = m_settings.path + QStringLiteral(": ") + caError;
        return false;
    }
    if (const QString bad = m_settings.checkTransport(); !bad.isEmpty()) {
        if (error)
            *error = bad;
        return false;
    }
    // Checked at start-up: without a TLS backend every attempt would fail the same way.
    if (m_settings.server.scheme() == u"wss" && !QSslSocket::supportsSsl()) {
        if (error)
            *error = QStringLiteral("TLS is not available: Qt found no TLS backend (built against %1); "
                                    "install Qt's OpenSSL backend")
                         .arg(QSslSocket::sslLibraryBuildVersionString());
        return false;
    }
    m_link.setProxy(m_settings.proxy);
    m_link.setPinnedFingerprint(m_settings.fingerprint);
    QString spoolError;
    if (!m_spool.open(&spoolError))
        qCWarning(lcAgent).noquote() << spoolError << "- samples are kept in memory for now";
    Hello hello = m_sampler->systemFacts();
    hello.protocolVersion = protocol::version;
    hello.agentId = m_settings.id;
    hello.secret = m_settings.secret;
    if (m_settings.id.isEmpty())
        hello.token = m_settings.token; // never sent once the agent has an identity
    m_engine.setCpuCount(hello.cpuCount);
    m_link.setHello(hello);
    m_link.setServerUrl(m_settings.server);
    m_engine.applyConfig(m_engine.config(), false);
    m_link.start();
    // Phase 0: the first sample is due at once; that reading only sets the baseline for CPU
    // deltas.
    m_engine.start();
    wake();
    return true;
}

void Agent::stop()
{
    if (m_stopped)
        return;
    m_stopped = true;
    m_timer.stop();
    m_engine.stop(); // seals what was sampled and sends what the window allows
    // Exit once the link is closed, or after 2 s whatever the server does.
    auto *guard = new QTimer(this);
    guard->setSingleShot(true);
    const auto done = [this, guard] {
        guard->stop();
        Q_EMIT finished(0);
    };
    connect(&m_link, &AgentLink::closed, guard, done, Qt::SingleShotConnection);
    connect(guard, &QTimer::timeout, this, done);
    guard->start(2000);
    // QWebSocket stops reading the moment it sends its close frame, so the acks for what is in
    // flight must arrive before it: wait for them (1 s at most), then close. Whatever is still
    // unacked stays in the spool and goes again on the next start.
    auto *ackWait = new QTimer(this);
    ackWait->setSingleShot(true);
    const auto closeLink = [this, ackWait] {
        if (m_linkClosing)
            return;
        m_linkClosing = true;
        ackWait->stop();
        qCInfo(lcAgent) << "stopping;" << m_spool.backlogBatches()
                        << "unacknowledged batches stay in the spool";
        m_link.stop();
    };
    if (m_link.isReady() && m_engine.inFlight() > 0) {
        connect(&m_engine, &AgentEngine::batchesAcknowledged, ackWait, [this, closeLink] {
            if (m_engine.inFlight() == 0)
                closeLink();
        });
        connect(&m_link, &AgentLink::stateChanged, ackWait, [closeLink](AgentLink::State state) {
            if (state != AgentLink::State::Ready)
                closeLink(); // the link went down meanwhile
        });
        connect(ackWait, &QTimer::timeout, this, closeLink);
        ackWait->start(1000);
    } else {
        closeLink();
    }
}

void Agent::wake()
{
    m_engine.runDue();
    armTimer();
}

void Agent::armTimer()
{
    const std::int64_t wait = m_engine.nextDueMs() - m_clock.monotonicMs();
    m_timer.start(int(std::clamp<std::int64_t>(wait, 0, 24 * 3600 * 1000)));
}

void Agent::onWelcomed(const Welcome &welcome)
{
    if (welcome.secret.isEmpty())
        return;
    m_settings.id = welcome.agentId;
    m_settings.secret = welcome.secret;
    if (const QString err = m_settings.saveIdentity(); !err.isEmpty()) {
        qCCritical(lcAgent).noquote() << "cannot save the issued identity:" << err;
        return;
    }
    if (!m_settings.identityPath.isEmpty() && !m_settings.token.isEmpty())
        qCInfo(lcAgent).noquote()
            << "enrolled; this agent no longer uses the token in" << m_settings.path
            << "(a token with uses left still enrols others: remove it with --write-config --token \"\")";
}

} // namespace autofact::agent
