// SPDX-License-Identifier: MIT
#pragma once

#include "agentengine.h"
#include "agentsettings.h"
#include "link/agentlink.h"
#include "messages.h"
#include "spool/spool.h"
#include "systemclock.h"

#include <QObject>
#include <QTimer>

#include <memory>

namespace autofact::agent {

class Sampler;

/**
 * One agent process: the AgentEngine's rules on the machine's clock, a durable SQLite Spool
 * and an AgentLink. One timer wakes the engine at its next due time (sample or seal).
 * Behaviour comes from the server; until the first contact, AgentConfig's built-in defaults
 * apply (1 s / 5 s / 15 s / 5 s / 15 min).
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

    const AgentConfig &config() const { return m_engine.config(); }
    const AgentSettings &settings() const { return m_settings; }
    Spool &spool() { return m_spool; }
    AgentLink &link() { return m_link; }
    AgentEngine &engine() { return m_engine; }
    /** Seals and sends now, as the engine does when a send interval is due. */
    void sealAndSend() { m_engine.sealAndSend(); }
    /** Takes one sample now, as the engine does when a sample is due. */
    void takeSample() { m_engine.takeSample(); }

Q_SIGNALS:
    /** The agent is done; the process should exit with @p exitCode. */
    void finished(int exitCode);
    /** The server's config is now in force. */
    void configApplied(quint32 revision);

private:
    /** Runs what is due, then sleeps until the engine's next due time. */
    void wake();
    void armTimer();
    void onWelcomed(const Welcome &welcome);

    AgentSettings m_settings;
    std::unique_ptr<Sampler> m_sampler;
    SystemClock m_clock;
    Spool m_spool;
    AgentLink m_link;
    AgentEngine m_engine;
    QTimer m_timer;
    bool m_stopped = false;
    bool m_linkClosing = false; ///< stop() has asked the link to close
};

} // namespace autofact::agent
