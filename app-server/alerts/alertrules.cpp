// SPDX-License-Identifier: MIT
#include "alertrules.h"

namespace autofact::server {

namespace {

constexpr qint64 kSecond = 1000;
constexpr qint64 kMinute = 60 * kSecond;

// Shipped defaults: quiet enough to leave alone (a build or a backup that pegs the CPU for a
// few minutes is not an outage), loud for what always needs a person (a host gone, data lost).
// Each resolves only after its condition has been false for a while, so a value hovering at
// the threshold fires once and stays fired instead of flapping.
const std::array<AlertRuleInfo, alertRuleCount> kRules{{
    {AlertRule::CpuBusy, "cpu_busy", "CPU busy", "%", true, 1, 100, {true, 90, 5 * kMinute, 2 * kMinute}},
    {AlertRule::MemoryUsed, "memory_used", "Memory used", "%", true, 1, 100, {true, 90, 5 * kMinute, 2 * kMinute}},
    {AlertRule::SwapUsed, "swap_used", "Swap used", "%", true, 1, 100, {true, 80, 5 * kMinute, 2 * kMinute}},
    {AlertRule::LoadPerCore, "load_per_core", "Load per core", "", true, 0.1, 1000, {true, 2, 10 * kMinute, 5 * kMinute}},
    {AlertRule::HostStale, "host_stale", "Host stale", "s", false, 0, 0, {true, 0, 1 * kMinute, 30 * kSecond}},
    {AlertRule::HostDown, "host_down", "Host down", "s", false, 0, 0, {true, 0, 3 * kMinute, 30 * kSecond}},
    {AlertRule::SamplesDropped, "samples_dropped", "Agent dropping samples", "samples", true, 0, 1e9, {true, 0, 0, 10 * kMinute}},
    {AlertRule::SpoolBacklog, "spool_backlog", "Agent spool backlog", "batches", true, 1, 1e9, {true, 100, 5 * kMinute, 1 * kMinute}},
    {AlertRule::DiskUsed, "disk_used", "Filesystem almost full", "%", true, 1, 100, {true, 90, 5 * kMinute, 5 * kMinute}},
    {AlertRule::TemperatureHigh, "temperature_high", "Temperature high", "°C", true, 20, 150, {true, 90, 2 * kMinute, 2 * kMinute}},
}};

} // namespace

const std::array<AlertRuleInfo, alertRuleCount> &alertRules()
{
    return kRules;
}

const AlertRuleInfo &alertRuleInfo(AlertRule rule)
{
    return kRules[std::size_t(rule)];
}

std::optional<AlertRule> alertRuleFromKey(QStringView key)
{
    for (const AlertRuleInfo &info : kRules)
        if (key == QLatin1StringView(info.key))
            return info.rule;
    return std::nullopt;
}

AlertRuleSet::AlertRuleSet()
{
    for (const AlertRuleInfo &info : kRules)
        m_defaults[std::size_t(info.rule)] = info.shipped;
}

QString groupRuleScope(const QString &group)
{
    return QLatin1Char('@') + group;
}

AlertRuleSet::AlertRuleSet(const QList<AlertRuleRow> &rows, QHash<QString, QString> groupOf)
    : AlertRuleSet()
{
    m_groupOf = std::move(groupOf);
    for (const AlertRuleRow &row : rows) {
        const auto rule = alertRuleFromKey(row.rule);
        if (!rule)
            continue;
        if (row.clientId.isEmpty())
            m_defaults[std::size_t(*rule)] = row.settings;
        else
            m_overrides[row.clientId][std::size_t(*rule)] = row.settings;
    }
}

void AlertRuleSet::overlay(RuleSettingsArray &out, const Overrides *overrides)
{
    if (!overrides)
        return;
    for (std::size_t i = 0; i < out.size(); ++i)
        if ((*overrides)[i])
            out[i] = *(*overrides)[i];
}

RuleSettingsArray AlertRuleSet::forGroup(const QString &group) const
{
    RuleSettingsArray out = m_defaults;
    if (!group.isEmpty()) {
        const auto it = m_overrides.constFind(groupRuleScope(group));
        overlay(out, it == m_overrides.cend() ? nullptr : &*it);
    }
    return out;
}

RuleSettingsArray AlertRuleSet::forClient(const QString &clientId) const
{
    RuleSettingsArray out = forGroup(m_groupOf.value(clientId));
    const auto it = m_overrides.constFind(clientId);
    overlay(out, it == m_overrides.cend() ? nullptr : &*it);
    return out;
}

std::optional<AlertRuleSettings> AlertRuleSet::override(const QString &scope, AlertRule rule) const
{
    const auto it = m_overrides.constFind(scope);
    if (it == m_overrides.cend())
        return std::nullopt;
    return (*it)[std::size_t(rule)];
}

QString formatRuleValue(AlertRule rule, double value)
{
    const AlertRuleInfo &info = alertRuleInfo(rule);
    const QString unit = QString::fromLatin1(info.unit);
    QString number;
    switch (rule) {
    case AlertRule::LoadPerCore: number = QString::number(value, 'f', 2); break;
    case AlertRule::CpuBusy:
    case AlertRule::MemoryUsed:
    case AlertRule::SwapUsed: number = QString::number(value, 'f', 1); break;
    default: number = QString::number(qint64(value)); break;
    }
    return unit.isEmpty() ? number : number + u' ' + unit;
}

} // namespace autofact::server
