// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"

#include <QList>
#include <QString>

#include <memory>
#include <optional>

namespace autofact::server {

class Database;
class Transaction;

/** One rule's settings: a shipped default, a stored default or one client's override. */
struct AlertRuleSettings {
    bool enabled = true;
    double threshold = 0;
    qint64 forMs = 0;     ///< the condition must hold this long before the alert fires
    qint64 resolveMs = 0; ///< and must be false this long before it resolves
    bool operator==(const AlertRuleSettings &) const = default;
};

/** A stored rule row: @p clientId empty for the fleet-wide default. */
struct AlertRuleRow {
    QString rule;
    QString clientId;
    AlertRuleSettings settings;
};

/** One firing of one rule for one client, from firing to resolution (the alerts table). */
struct AlertRecord {
    qint64 id = 0;
    QString rule;
    QString clientId;
    QString hostname;
    double value = 0;     ///< when it fired; updated when it resolves (the last value seen)
    double threshold = 0;
    qint64 startedMs = 0; ///< when the condition began (not when the hold time ran out)
    qint64 firedMs = 0;   ///< when it fired
    qint64 resolvedMs = 0; ///< 0: active
    qint64 ackedMs = 0;    ///< 0: not acknowledged
    qint64 silencedUntilMs = 0;
    QString silenceReason;
    qint64 notifiedMs = 0; ///< last notification sent for it (repeats count from here)
    QString resolution;    ///< why it resolved: "condition cleared", "client forgotten", ...
    bool active() const { return resolvedMs == 0; }
    bool silenced(qint64 nowMs) const { return silencedUntilMs > nowMs; }
};

/** A notification channel (`autofactory notify add`). */
struct NotifierInfo {
    enum class Kind { Webhook, Command };
    qint64 id = 0;
    Kind kind = Kind::Webhook;
    QString target; ///< the URL, or the shell command
    bool enabled = true;
    qint64 createdMs = 0;
    quint64 sent = 0;        ///< notifications delivered
    quint64 failed = 0;      ///< attempts that failed (retried or not)
    quint64 deadLetters = 0; ///< notifications given up on after every retry
    qint64 lastOkMs = 0;
    QString lastError;
    qint64 lastErrorMs = 0;
    /** Same channel (what the sender cares about), whatever the counters say. */
    bool sameChannel(const NotifierInfo &o) const
    {
        return id == o.id && kind == o.kind && target == o.target && enabled == o.enabled;
    }
};

QString notifierKindName(NotifierInfo::Kind kind);

/** Delivery outcomes of one channel since they were last written. */
struct DeliveryCounts {
    quint64 sent = 0;
    quint64 failed = 0;      ///< failed attempts
    quint64 deadLetters = 0;
    qint64 lastOkMs = 0;
    QString lastError;       ///< empty: no failure in this period
    qint64 lastErrorMs = 0;
};

/**
 * Alerts in the database: rule settings (fleet defaults and per-client overrides over the
 * shipped defaults), every firing with its resolution, acknowledgement and silence, the
 * notification channels with their delivery counters, and the repeat interval. The server's
 * AlertMonitor writes; `autofactory alerts` and `notify` read and edit.
 */
class AlertStore
{
public:
    explicit AlertStore(Database &db);
    ~AlertStore();

    /**
     * Groups the writes that follow into one transaction until commitBatch(): a storm of
     * firings costs one fsync, not one per alert. Without a batch each write commits alone.
     */
    StoreResult<void> beginBatch();
    StoreResult<void> commitBatch();

    StoreResult<QList<AlertRuleRow>> rules();
    /** Stores @p settings for (@p rule, @p clientId), or removes the row when unset. */
    StoreResult<void> setRule(const QString &rule, const QString &clientId,
                              const std::optional<AlertRuleSettings> &settings);

    /** Active alerts, or with @p all every alert (newest first, at most @p limit). */
    StoreResult<QList<AlertRecord>> alerts(bool all, int limit = 100000);
    /** @p clientId's active alerts. */
    StoreResult<QList<AlertRecord>> activeFor(const QString &clientId);
    /**
     * Inserts a firing alert; returns its ID. When that client's rule already has an active
     * alert (another node of a shared store fired it), nothing is written: returns that alert's
     * ID with @p existing set.
     */
    StoreResult<qint64> insertFiring(const AlertRecord &alert, bool *existing = nullptr);
    /** Resolves @p id; false when it was not active (already resolved, by another node). */
    StoreResult<bool> resolve(qint64 id, qint64 resolvedMs, double value, const QString &resolution);
    StoreResult<void> setNotified(qint64 id, qint64 nowMs);
    /** Acknowledges (or takes the acknowledgement back, @p on false); NotFound if unknown. */
    StoreResult<void> acknowledge(qint64 id, bool on, qint64 nowMs);
    /** Silences until @p untilMs (0: lifts the silence) with a @p reason; NotFound if unknown. */
    StoreResult<void> silence(qint64 id, qint64 untilMs, const QString &reason);

    StoreResult<QList<NotifierInfo>> notifiers();
    StoreResult<qint64> addNotifier(NotifierInfo::Kind kind, const QString &target, qint64 nowMs);
    StoreResult<void> removeNotifier(qint64 id);
    /** Adds @p counts to channel @p id's counters (a removed channel is not an error). */
    StoreResult<void> addDeliveries(qint64 id, const DeliveryCounts &counts);

    /** How often a firing alert nobody acknowledged is notified again (0: never). */
    StoreResult<qint64> repeatIntervalMs();
    StoreResult<void> setRepeatIntervalMs(qint64 ms);

    static constexpr qint64 defaultRepeatIntervalMs = 4 * 3600 * 1000;

private:
    Database &m_db;
    std::unique_ptr<Transaction> m_batch;
};

} // namespace autofact::server
