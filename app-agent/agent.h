// SPDX-License-Identifier: MIT
#pragma once

#include "agentlink.h"
#include "agentsettings.h"
#include "messages.h"
#include "spool.h"

#include <QObject>
#include <QTimer>

#include <memory>
#include <vector>

namespace autofact::agent {

class Sampler;

/**
 * One agent: sampler → spool → link. Samples on a timer, seals the spool into batches on the
 * send timer, and lets the link move batches. Behaviour comes from the server; until the
 * first contact, AgentConfig's built-in defaults apply (1 s / 5 s / 15 s / 5 s / 15 min).
 */
class Agent : public QObject
{
    Q_OBJECT
public:
    Agent(AgentSettings settings, std::unique_ptr<Sampler> sampler, QObject *parent = nullptr);
    ~Agent() override;

    /** Opens the spool, starts sampling and connecting. False with a one-line error if not. */
    bool start(QString *error);
    /** Seals what was sampled, sends what it can, closes the link; emits finished(0). */
    void stop();

    const AgentConfig &config() const { return m_config; }
    const AgentSettings &settings() const { return m_settings; }
    Spool &spool() { return m_spool; }
    AgentLink &link() { return m_link; }
    /** Samples and batches sealed now, as the send timer would. */
    void sealAndSend();
    /** Takes one sample now, as the sample timer would. */
    void takeSample();

Q_SIGNALS:
    /** The agent is done; the process should exit with @p exitCode. */
    void finished(int exitCode);
    /** The server's config is now in force. */
    void configApplied(quint32 revision);

private:
    void applyConfig(const AgentConfig &config, bool fromServer);
    void onWelcomed(const Welcome &welcome);

    AgentSettings m_settings;
    std::unique_ptr<Sampler> m_sampler;
    Spool m_spool;
    AgentLink m_link;
    AgentConfig m_config;
    QTimer m_sampleTimer;
    QTimer m_sendTimer;
    Sample m_sample;
    std::vector<float> m_cores;
    std::size_t m_maxSamplesPerBatch = 600;
    bool m_stopped = false;
    bool m_sequencesConfirmed = false; ///< a Welcome arrived in this process
};

} // namespace autofact::agent
