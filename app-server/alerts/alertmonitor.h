// SPDX-License-Identifier: MIT
#pragma once

#include "alertengine.h"
#include "alertnotice.h"
#include "store/alertstore.h"

#include <QHash>
#include <QList>
#include <QSet>

#include <vector>

namespace autofact::server {

class Store;

/**
 * Alerts on the database thread: the AlertEngine's transitions written to the store (every
 * firing and resolution), the notices they make for the notification channels (minus those
 * silenced), repeats of firing alerts nobody acknowledged, and the list of active alerts for
 * the views. Owned by the StoreWorker, which feeds it what it commits and what the hub reports.
 *
 * Writes are rare (a transition, an acknowledgement) and small, and go between ingest commits.
 * A failed write is logged and retried by nothing: the alert stays in memory and its next
 * transition is written again, so a full disk costs history rows, not the alerting.
 */
class AlertMonitor
{
public:
    explicit AlertMonitor(Store &store, QString serverName);

    /** Rules, clients, active alerts and the repeat interval from the store. */
    StoreResult<void> load(qint64 nowMs);

    AlertEngine &engine() { return m_engine; }

    /** A stored batch (not a duplicate) of @p clientId. */
    void observeBatch(const QString &clientId, const std::vector<Sample> &samples, quint64 droppedTotal,
                      const DeviceTables &devices = {});
    void observeHealth(const QString &clientId, ClientHealth health, qint64 atMs);
    void observeBacklog(const QString &clientId, quint32 batches, qint64 atMs);
    void addClient(const QString &clientId, const QString &hostname, bool hasData = false)
    {
        m_engine.addClient(clientId, hostname, hasData);
    }
    void removeClient(const QString &clientId, const QString &reason, qint64 nowMs);

    /**
     * Shared store: @p clientId's session has just opened on this node: its rules continue
     * from the alerts the store holds active for it. @p movedHere: another node stored its data
     * since this one last judged it, so pending conditions start again. Call before its first
     * batch is observed here.
     */
    StoreResult<void> adoptClient(const QString &clientId, bool movedHere);
    /**
     * Shared store: the active list becomes the store's (what other nodes fired and resolved,
     * what dashboards acknowledged and silenced), and every client's rules take their firing
     * state from it (a node may still commit a batch of a client that moved on, and fire or
     * resolve there). @p heldHere: the clients whose sessions this node holds.
     */
    StoreResult<void> syncActive(const QSet<QString> &heldHere);

    /**
     * Runs the timed rules and repeats, writes transitions; returns the notices to send.
     * Without @p judge (a node of a shared store that is not the housekeeping node) only the
     * backlog rule runs, for the sessions this node holds, and nothing repeats.
     */
    std::vector<AlertNotice> tick(qint64 nowMs, bool judge = true);
    /** Writes transitions observed since the last call; returns the notices to send. */
    std::vector<AlertNotice> settle(qint64 nowMs);

    /**
     * Reads the rules and group memberships again (a group or rule changed, here or in another
     * process) and applies them at once.
     */
    StoreResult<void> reloadRules(qint64 nowMs);
    /** Stores a rule setting (empty client: the fleet default) and applies it at once. */
    StoreResult<void> setRule(const QString &rule, const QString &clientId,
                              const std::optional<AlertRuleSettings> &settings, qint64 nowMs);
    StoreResult<void> setRepeatIntervalMs(qint64 ms);
    qint64 repeatIntervalMs() const { return m_repeatMs; }
    StoreResult<void> acknowledge(qint64 alertId, bool on, qint64 nowMs);
    StoreResult<void> silence(qint64 alertId, qint64 untilMs, const QString &reason);

    /** Active alerts, newest first. */
    QList<AlertRecord> active() const;
    /** True once after anything in active() changed. */
    bool takeChanged();

    /** The notice for @p alert (hostname first in the summary). */
    AlertNotice notice(const AlertRecord &alert, AlertNotice::Status status, bool repeat) const;

private:
    void writeTransitions(qint64 nowMs, std::vector<AlertNotice> &notices);

    Store &m_store;
    QString m_serverName;
    AlertEngine m_engine;
    std::vector<AlertTransition> m_transitions; ///< observed, not yet written
    QHash<qint64, AlertRecord> m_active;
    qint64 m_repeatMs = AlertStore::defaultRepeatIntervalMs;
    qint64 m_nextLocalId = -1; ///< for firings the store could not write: negative, never stored
    bool m_changed = true;
};

/** "5 min", "90 s", "2 h": a hold time as the summaries say it. */
QString formatHoldTime(qint64 ms);

} // namespace autofact::server
