// SPDX-License-Identifier: MIT
#pragma once

#include "agentpool.h"
#include "loadgenoptions.h"
#include "loadstats.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QThread>
#include <QTimer>

#include <atomic>
#include <memory>
#include <vector>

namespace autofact::loadgen {

/**
 * The load generator: spreads N simulated agents over a few AgentPool threads, ramps them
 * up, runs for the requested duration, waits for outstanding acks, and reports.
 *
 * Lives on the thread that created it (main). Progress lines go out through progress();
 * finished() comes once, after the final report is built and the state file saved.
 */
class LoadGenerator : public QObject
{
    Q_OBJECT
public:
    /** A time the fleet lost at least half its connections and how long it took to recover. */
    struct Recovery {
        double lostAtS = 0;
        double settledAfterS = -1; ///< -1: not all connected again by the end
        int minConnected = 0;
    };

    explicit LoadGenerator(LoadgenOptions options, QObject *parent = nullptr);
    ~LoadGenerator() override;

    /** Loads the state file and starts the threads; false with a one-line error if not. */
    bool start(QString *error);
    /** Ends the run early (as if the duration had passed): drain, report, finish. */
    void stop();

    /** Totals of all threads, now. */
    LoadStats totals() const;
    /** Per-agent results, available after finished(). */
    const std::vector<AgentSummary> &summaries() const { return m_summaries; }
    /** The report as written by --report (final after finished()). */
    QJsonObject report() const;
    const std::vector<Recovery> &recoveries() const { return m_recoveries; }
    const LoadgenOptions &options() const { return m_options; }

Q_SIGNALS:
    /** One human-readable progress line. */
    void progress(const QString &line);
    void finished(int exitCode);

private:
    void onReportTimer();
    void onWatchTimer();
    void beginDrain();
    void finishRun();
    bool loadState(std::vector<AgentIdentity> &identities, QString *error);
    QString saveState() const;
    QString progressLine(const LoadStats &now, double seconds, bool final) const;
    double cpuSeconds() const;

    LoadgenOptions m_options;
    std::vector<std::unique_ptr<QThread>> m_threads;
    std::vector<AgentPool *> m_pools;
    std::vector<AgentSummary> m_summaries;
    QTimer m_reportTimer;
    QTimer m_watchTimer;
    QTimer m_durationTimer;
    QElapsedTimer m_clock;
    QElapsedTimer m_drainClock;
    LoadStats m_lastReport;
    double m_lastReportS = 0;
    LoadStats m_final;
    double m_finalS = 0;
    double m_drainS = 0;
    QJsonArray m_intervals;
    std::vector<Recovery> m_recoveries;
    bool m_allConnectedOnce = false;
    bool m_inOutage = false;
    double m_firstAllConnectedS = -1;
    bool m_draining = false;
    std::atomic<int> m_poolsStopped{0}; ///< pools that have sealed and published for the drain
    int m_connectedAtDrain = 0;
    /// Acks before the drain: the fleet streaming, connect phase included, without the burst of
    /// every agent sealing and sending its last partial batch in the same instant.
    LatencyHistogram m_latencyAtDrain;
    bool m_finished = false;
};

} // namespace autofact::loadgen
