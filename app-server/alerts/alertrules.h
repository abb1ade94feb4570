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
};
inline constexpr int alertRuleCount = 8;

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
 * The shipped defaults, overlaid by stored fleet defaults (client ID empty) and then by
 * per-client overrides, rule by rule. Rows naming an unknown rule (a newer build's) are kept
 * in the database and ignored here.
 */
class AlertRuleSet
{
public:
    AlertRuleSet();
    explicit AlertRuleSet(const QList<AlertRuleRow> &rows);

    const RuleSettingsArray &defaults() const { return m_defaults; }
    /** The settings in force for @p clientId. */
    RuleSettingsArray forClient(const QString &clientId) const;
    /** The override of @p rule for @p clientId, if one is stored. */
    std::optional<AlertRuleSettings> override(const QString &clientId, AlertRule rule) const;
    /** Clients with at least one override. */
    QList<QString> overriddenClients() const { return m_overrides.keys(); }

private:
    RuleSettingsArray m_defaults;
    QHash<QString, std::array<std::optional<AlertRuleSettings>, alertRuleCount>> m_overrides;
};

/** "97 %", "2.4", "120 s": a rule's value with its unit. */
QString formatRuleValue(AlertRule rule, double value);

} // namespace autofact::server
