// SPDX-License-Identifier: MIT
#pragma once

#include "faultinjector.h"
#include "loadstats.h"
#include "simagent.h"
#include "systemclock.h"

#include <QMutex>
#include <QObject>
#include <QRandomGenerator>
#include <QTimer>

#include <memory>
#include <vector>

namespace autofact::loadgen {

/**
 * The simulated agents of one thread. One tick timer drives them all (sampling, sending,
 * ramp-up, fault dice): thousands of per-agent timers would cost more than the agents.
 *
 * Lives on its own QThread; other threads use only snapshot() and queued or blocking-queued
 * calls of the public slots.
 */
class AgentPool : public QObject
{
    Q_OBJECT
public:
    struct Faults {
        double dropsPerAgentMinute = 0;
        double resendsPerAgentMinute = 0;
        double malformedPerAgentMinute = 0;
    };

    struct Plan {
        QString fingerprint; ///< for the fault injector's side connections
        std::vector<SimAgent::Settings> agents;
        std::vector<std::int64_t> startAtMs; ///< per agent, relative to start()
        Faults faults;
        QUrl server;
        quint32 seed = 1;
    };

    explicit AgentPool(Plan plan, QObject *parent = nullptr);
    ~AgentPool() override;

    /** Thread-safe copy of the counters, refreshed every tick. */
    LoadStats snapshot() const;

    /** Creates the agents on the pool's thread and starts the tick; call it on that thread. */
    void start();
    /** Stops sampling; every agent seals and sends what it has and waits for acks. */
    void beginStop();
    /** Closes every link and returns what each agent did; the pool is idle afterwards. */
    std::vector<autofact::loadgen::AgentSummary> finish();

private:
    void tick();
    void publish();

    Plan m_plan;
    LoadStats m_stats;
    std::vector<std::unique_ptr<SimAgent>> m_agents;
    std::unique_ptr<FaultInjector> m_faults;
    QTimer m_tickTimer{this}; // child: moves with the pool to its thread
    agent::SystemClock m_clock; ///< every agent's engine runs on it
    std::int64_t m_startMs = 0;
    std::int64_t m_lastTickMs = 0;
    std::size_t m_nextToStart = 0;
    int m_ticksSincePublish = 0;
    QRandomGenerator m_rng;
    mutable QMutex m_mutex;
    LoadStats m_published;
};

} // namespace autofact::loadgen
