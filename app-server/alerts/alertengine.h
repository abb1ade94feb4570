// SPDX-License-Identifier: MIT
#pragma once

#include "alertrules.h"
#include "clienthealth.h"
#include "messages.h"

#include <QHash>
#include <QStringList>
#include <QString>

#include <array>
#include <deque>
#include <vector>

namespace autofact::server {

/** A rule started or stopped firing for a client. */
struct AlertTransition {
    enum class Kind { Fired, Resolved };
    Kind kind = Kind::Fired;
    AlertRule rule = AlertRule::CpuBusy;
    QString clientId;
    QString hostname;
    double value = 0;
    double threshold = 0;
    qint64 startedMs = 0; ///< when the condition began
    qint64 atMs = 0;      ///< when it fired or resolved
    qint64 alertId = 0;   ///< Resolved: the stored alert (0 if it was never stored)
    QString resolution;   ///< Resolved: why
};

/**
 * The alert rules' state machines, with no clock, thread or database of its own: every input
 * carries its time, so tests drive it through hours in microseconds.
 *
 * Each rule of each client is pending → firing → resolved: it fires once its condition has
 * held for the rule's hold time (forMs) and resolves once the condition has been false for
 * resolveMs. A value hovering at the threshold therefore fires once and stays fired: no
 * flapping. Sample rules (CPU, memory, swap, load, dropped samples) run on the agent's sample
 * times, so a batch that arrives late is judged by when it was measured; host rules (stale,
 * down) and the backlog rule run on the server's clock in tick().
 *
 * Cost: observeSamples() is a hash lookup per batch and a few comparisons per sample.
 */
class AlertEngine
{
public:
    /** Replaces the rules; firing alerts of a rule now disabled resolve ("rule disabled"). */
    void setRules(const AlertRuleSet &rules, qint64 nowMs, std::vector<AlertTransition> &out);
    const AlertRuleSet &rules() const { return m_rules; }

    /**
     * A client the rules apply to (known, not forgotten, not blocked). Idempotent. @p hasData:
     * it has sent samples before (only such a client can be "down").
     */
    void addClient(const QString &clientId, const QString &hostname, bool hasData = false);
    /** The client is gone (forgotten, blocked): its firing alerts resolve with @p reason. */
    void removeClient(const QString &clientId, const QString &reason, qint64 nowMs,
                      std::vector<AlertTransition> &out);
    bool hasClient(const QString &clientId) const
    {
        const auto it = m_index.constFind(clientId);
        return it != m_index.cend() && !m_clients[*it].removed;
    }
    /** An alert stored as firing (at start): the rule continues from there, without firing again. */
    void restoreFiring(const QString &clientId, AlertRule rule, qint64 alertId, qint64 startedMs, double value);
    /** What a shared store holds of one rule of one client: its active alert, or none (ID 0). */
    struct StoredFiring {
        qint64 alertId = 0;
        qint64 startedMs = 0;
        double value = 0;
    };
    using StoredFirings = std::array<StoredFiring, alertRuleCount>;
    /**
     * Shared store: makes @p clientId's firing rules what the store says another node or a
     * dashboard left them. A rule firing here that the store holds no longer (resolved
     * elsewhere) goes idle without a transition; one the store holds firing continues from
     * there without firing again; one that never reached the store (negative ID) stays.
     * @p movedHere: the client's session has just opened here after another node stored its
     * data, so conditions counted from samples seen before, and the drop counter's baseline,
     * start again. @p heldHere: this node holds its session (and so hears its backlog).
     */
    void adoptStored(const QString &clientId, const StoredFirings &stored, bool movedHere, bool heldHere);
    /** IDs of the clients the rules apply to. */
    QStringList clientIds() const;
    /** The stored ID of a firing alert, once it is written. */
    void setAlertId(const QString &clientId, AlertRule rule, qint64 alertId);

    /** Stored samples of one batch, oldest first, and the agent's drop counter with it. */
    void observeSamples(const QString &clientId, const std::vector<Sample> &samples, quint64 droppedTotal,
                        std::vector<AlertTransition> &out, const DeviceTables *devices = nullptr);
    /** The client's health changed at @p atMs (server clock). */
    void observeHealth(const QString &clientId, ClientHealth health, qint64 atMs);
    /** The agent reported @p batches unsent at @p atMs (server clock). */
    void observeBacklog(const QString &clientId, quint32 batches, qint64 atMs);
    /**
     * Runs the host and backlog rules at @p nowMs. Call about once a second. Without
     * @p hostRules only the backlog rule runs: a node of a shared store that is not the judge
     * of host rules still judges the backlogs its own sessions report.
     */
    void tick(qint64 nowMs, std::vector<AlertTransition> &out, bool hostRules = true);

    int clientCount() const { return int(m_clients.size()); }
    int firingCount() const;

private:
    struct RuleState {
        qint64 condSince = -1;  ///< condition true since (pending or firing)
        qint64 clearSince = -1; ///< firing, condition false since
        bool firing = false;
        qint64 alertId = 0;
        qint64 startedMs = 0;
        double value = 0;
    };
    struct ClientState {
        QString id;
        QString hostname;
        RuleSettingsArray settings;
        std::array<RuleState, alertRuleCount> rules;
        qint64 lastSampleMs = std::numeric_limits<qint64>::min();
        quint64 droppedTotal = 0;
        bool droppedKnown = false;
        bool hasData = false; ///< has sent samples (this run or before): can be down
        ClientHealth health = ClientHealth::NeverSeen;
        qint64 healthSince = 0;
        bool backlogKnown = false; ///< a heartbeat reported it since the client was added
        quint32 backlog = 0;
        qint64 backlogSince = 0; ///< when backlog last crossed the threshold either way
        bool removed = false;
    };

    ClientState *client(const QString &clientId);
    /** One step of one rule: @p condStart is when the condition took its current value. */
    void step(ClientState &c, AlertRule rule, bool cond, double value, qint64 t, qint64 condStart,
              std::vector<AlertTransition> &out);
    void resolve(ClientState &c, AlertRule rule, qint64 t, const QString &why, std::vector<AlertTransition> &out);

    AlertRuleSet m_rules;
    std::deque<ClientState> m_clients; ///< stable addresses; removed ones are reused by ID
    QHash<QString, std::size_t> m_index;
};

} // namespace autofact::server
