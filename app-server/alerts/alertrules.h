// SPDX-License-Identifier: MIT
#pragma once

#include "store/alertstore.h"

#include <QHash>
#include <QList>
#include <QString>

#include <array>
#include <optional>

namespace autofact::server {

/** The rules the server evaluates (docs/ALERTS.md). Values index RuleSet arrays. */
enum class AlertRule : quint8 {
    CpuBusy,        ///< CPU busy % (all but idle and iowait) above the threshold
    MemoryUsed,     ///< memory used % above the threshold
    SwapUsed,       ///< swap used % above the threshold
    LoadPerCore,    ///< 1-minute load average divided by the core count above the threshold
    HostStale,      ///< connected but no data (health "stale")
    HostDown,       ///< has sent data before, not connected (health "down")
    SamplesDropped, ///< the agent dropped more than threshold samples (its spool was full)
    SpoolBacklog,   ///< the agent reports more than threshold unsent batches
    DiskUsed,       ///< the fullest filesystem's use % (as df shows it) above the threshold
    TemperatureHigh, ///< the hottest sensor above the threshold (°C), or at its own critical point
};
inline constexpr int alertRuleCount = 10;

/** What the user sees of a rule and what ships. */
struct AlertRuleInfo {
    AlertRule rule;
    const char *key;   ///< stable name: stored, in webhooks, in AUTOFACT_RULE
    const char *title; ///< "CPU busy"
    const char *unit;  ///< of value and threshold: "%", "", "samples", "batches", "s"
    bool hasThreshold; ///< host rules have none: their hold time is the setting
    double minThreshold, maxThreshold;
    AlertRuleSettings shipped;
};

const AlertRuleInfo &alertRuleInfo(AlertRule rule);
std::optional<AlertRule> alertRuleFromKey(QStringView key);
/** Every rule, in enum order. */
const std::array<AlertRuleInfo, alertRuleCount> &alertRules();

/** Resolved settings for one client: one entry per rule. */
using RuleSettingsArray = std::array<AlertRuleSettings, alertRuleCount>;

/**
 * Where a group's rule overrides are stored: AlertRuleRow::clientId is "" for the fleet, a
 * client ID (hexadecimal) for one client, or "@" and the group name for a group.
 */
QString groupRuleScope(const QString &group);

/**
 * The shipped defaults, overlaid by stored fleet defaults (client ID empty), then by the
 * overrides of the client's group, then by the client's own, rule by rule. Rows naming an
 * unknown rule (a newer build's) are kept in the database and ignored here.
 */
class AlertRuleSet
{
public:
    AlertRuleSet();
    /** @p groupOf: each grouped client's group (clients in no group are absent). */
    explicit AlertRuleSet(const QList<AlertRuleRow> &rows, QHash<QString, QString> groupOf = {});

    const RuleSettingsArray &defaults() const { return m_defaults; }
    /** The settings in force for @p clientId. */
    RuleSettingsArray forClient(const QString &clientId) const;
    /** The settings in force for members of @p group with no override of their own. */
    RuleSettingsArray forGroup(const QString &group) const;
    /** The override of @p rule stored under @p scope (a client ID or groupRuleScope()), if any. */
    std::optional<AlertRuleSettings> override(const QString &scope, AlertRule rule) const;
    QString groupOf(const QString &clientId) const { return m_groupOf.value(clientId); }

private:
    using Overrides = std::array<std::optional<AlertRuleSettings>, alertRuleCount>;
    static void overlay(RuleSettingsArray &out, const Overrides *overrides);

    RuleSettingsArray m_defaults;
    QHash<QString, Overrides> m_overrides; ///< by scope
    QHash<QString, QString> m_groupOf;
};

/** "97 %", "2.4", "120 s": a rule's value with its unit. */
QString formatRuleValue(AlertRule rule, double value);

} // namespace autofact::server
