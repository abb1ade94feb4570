// SPDX-License-Identifier: MIT
#include "alertmonitor.h"

#include "alertslogging.h"
#include "store/store.h"
#include "untrustedtext.h"

#include <QDateTime>

#include <algorithm>

namespace autofact::server {

QString formatHoldTime(qint64 ms)
{
    const qint64 s = ms / 1000;
    if (s >= 7200 && s % 3600 == 0)
        return QStringLiteral("%1 h").arg(s / 3600);
    if (s >= 120 && s % 60 == 0)
        return QStringLiteral("%1 min").arg(s / 60);
    return QStringLiteral("%1 s").arg(s);
}

AlertMonitor::AlertMonitor(Store &store, QString serverName)
    : m_store(store)
    , m_serverName(std::move(serverName))
{
}

StoreResult<void> AlertMonitor::load(qint64 nowMs)
{
    auto rows = m_store.alerts().rules();
    if (!rows)
        return rows.error();
    auto repeat = m_store.alerts().repeatIntervalMs();
    if (!repeat)
        return repeat.error();
    m_repeatMs = *repeat;
    auto clients = m_store.inventory().clients();
    if (!clients)
        return clients.error();
    std::vector<AlertTransition> none;
    auto groups = m_store.inventory().groupMembership();
    if (!groups)
        return groups.error();
    m_engine.setRules(AlertRuleSet(*rows, *groups), nowMs, none);
    for (const ClientInfo &c : std::as_const(*clients)) {
        if (c.forgotten || c.blockedMs > 0)
            continue;
        m_engine.addClient(c.id, c.hostname, c.sampleCount > 0);
        // Down from now, not from when it was last seen: while the server was stopped every
        // agent was cut off, and each needs its reconnect backoff to come back.
        if (c.sampleCount > 0)
            m_engine.observeHealth(c.id, ClientHealth::Down, nowMs);
    }
    auto active = m_store.alerts().alerts(false);
    if (!active)
        return active.error();
    m_active.clear();
    for (const AlertRecord &a : std::as_const(*active)) {
        const auto rule = alertRuleFromKey(a.rule);
        if (!rule || !m_engine.hasClient(a.clientId)) {
            // A rule this build does not know, or a client no longer watched: it cannot resolve
            // by itself, so it is closed with the reason.
            if (auto r = m_store.alerts().resolve(a.id, nowMs, a.value,
                                                  rule ? QStringLiteral("client forgotten or blocked")
                                                       : QStringLiteral("rule unknown to this version"));
                !r)
                return r.error();
            continue;
        }
        m_engine.restoreFiring(a.clientId, *rule, a.id, a.startedMs, a.value);
        m_active.insert(a.id, a);
    }
    m_changed = true;
    qCInfo(lcAlerts) << "watching" << m_engine.clientCount() << "clients;" << m_active.size()
                     << "alerts firing";
    return {};
}

void AlertMonitor::observeBatch(const QString &clientId, const std::vector<Sample> &samples, quint64 droppedTotal,
                                const DeviceTables &devices)
{
    m_engine.observeSamples(clientId, samples, droppedTotal, m_transitions, &devices);
}

void AlertMonitor::observeHealth(const QString &clientId, ClientHealth health, qint64 atMs)
{
    m_engine.observeHealth(clientId, health, atMs);
}

void AlertMonitor::observeBacklog(const QString &clientId, quint32 batches, qint64 atMs)
{
    m_engine.observeBacklog(clientId, batches, atMs);
}

void AlertMonitor::removeClient(const QString &clientId, const QString &reason, qint64 nowMs)
{
    m_engine.removeClient(clientId, reason, nowMs, m_transitions);
}

AlertNotice AlertMonitor::notice(const AlertRecord &a, AlertNotice::Status status, bool repeat) const
{
    AlertNotice n;
    n.status = status;
    n.repeat = repeat;
    n.alertId = a.id;
    n.rule = a.rule;
    n.clientId = a.clientId;
    n.hostname = cleanUntrustedText(a.hostname);
    n.value = a.value;
    n.threshold = a.threshold;
    n.startedMs = a.startedMs;
    n.resolvedMs = a.resolvedMs;
    n.urlHint = QStringLiteral("autofact://%1/client/%2/alert/%3").arg(m_serverName, a.clientId).arg(a.id);
    const QString host = n.hostname.isEmpty() ? a.clientId : n.hostname;
    const auto rule = alertRuleFromKey(a.rule);
    if (!rule) {
        n.ruleTitle = a.rule;
        n.summary = host + QStringLiteral(": ") + a.rule;
        return n;
    }
    const AlertRuleInfo &info = alertRuleInfo(*rule);
    n.ruleTitle = QString::fromLatin1(info.title);
    n.unit = QString::fromLatin1(info.unit);
    const QString value = formatRuleValue(*rule, a.value);
    if (status == AlertNotice::Status::Resolved) {
        n.summary = QStringLiteral("%1: resolved: %2 (%3)").arg(host, n.ruleTitle, a.resolution);
        return n;
    }
    QString what;
    switch (*rule) {
    case AlertRule::HostStale:
        what = QStringLiteral("host stale for %1: connected, but no data arrives").arg(value);
        break;
    case AlertRule::HostDown:
        what = QStringLiteral("host down for %1: not connected").arg(value);
        break;
    case AlertRule::SamplesDropped:
        what = QStringLiteral("agent dropping samples: %1 lost").arg(value);
        break;
    default:
        what = QStringLiteral("%1 %2 (above %3)").arg(n.ruleTitle, value, formatRuleValue(*rule, a.threshold));
        break;
    }
    n.summary = host + QStringLiteral(": ") + (repeat ? QStringLiteral("still firing: ") : QString()) + what;
    return n;
}

void AlertMonitor::writeTransitions(qint64 nowMs, std::vector<AlertNotice> &notices)
{
    std::vector<AlertTransition> transitions;
    transitions.swap(m_transitions);
    // One transaction for all of them: a rack going down is one fsync, not one per alert.
    const bool batched = m_store.alerts().beginBatch().ok();
    // Firings written in this call: a rule that fires and resolves within one batch (a replayed
    // spool) resolves the row just written, whose ID the engine did not know yet.
    QHash<std::pair<QString, int>, qint64> fired;
    for (AlertTransition &t : transitions) {
        const AlertRuleInfo &info = alertRuleInfo(t.rule);
        if (t.kind == AlertTransition::Kind::Fired) {
            AlertRecord a;
            a.rule = QString::fromLatin1(info.key);
            a.clientId = t.clientId;
            a.hostname = t.hostname;
            a.value = t.value;
            a.threshold = info.hasThreshold ? t.threshold
                                            : double(m_engine.rules().forClient(t.clientId)[std::size_t(t.rule)].forMs / 1000);
            a.startedMs = t.startedMs;
            a.firedMs = nowMs;
            a.notifiedMs = nowMs;
            bool existing = false;
            auto id = m_store.alerts().insertFiring(a, &existing);
            if (id && existing) {
                // Another node of a shared store fired it first (the client moved between the
                // two): this node carries that alert on, and its firing was announced there.
                qCInfo(lcAlerts).noquote() << "alert" << *id << "is already firing; carried on here";
                m_engine.setAlertId(t.clientId, t.rule, *id);
                fired.insert({t.clientId, int(t.rule)}, *id);
                if (auto held = m_store.alerts().activeFor(t.clientId))
                    for (const AlertRecord &r : std::as_const(*held))
                        if (r.id == *id)
                            m_active.insert(r.id, r);
                m_changed = true;
                continue;
            }
            if (id) {
                a.id = *id;
            } else {
                qCWarning(lcAlerts).noquote() << "cannot store an alert:" << id.error().message;
                a.id = m_nextLocalId--;
            }
            m_engine.setAlertId(t.clientId, t.rule, a.id);
            fired.insert({t.clientId, int(t.rule)}, a.id);
            m_active.insert(a.id, a);
            qCWarning(lcAlerts).noquote() << "FIRING" << a.id << cleanUntrustedText(notice(a, AlertNotice::Status::Firing, false).summary);
            notices.push_back(notice(a, AlertNotice::Status::Firing, false));
        } else {
            if (t.alertId == 0)
                t.alertId = fired.value({t.clientId, int(t.rule)});
            AlertRecord a = m_active.take(t.alertId);
            if (a.id == 0) {
                a.id = t.alertId;
                a.rule = QString::fromLatin1(info.key);
                a.clientId = t.clientId;
                a.hostname = t.hostname;
                a.startedMs = t.startedMs;
                a.threshold = t.threshold;
            }
            a.value = t.value;
            a.resolvedMs = t.atMs > 0 ? t.atMs : nowMs;
            a.resolution = t.resolution;
            if (a.id > 0) {
                auto r = m_store.alerts().resolve(a.id, a.resolvedMs, a.value, a.resolution);
                if (!r) {
                    qCWarning(lcAlerts).noquote() << "cannot store the resolution of alert" << a.id << ":" << r.error().message;
                } else if (!*r) {
                    // Resolved already, by another node of a shared store: announced there.
                    m_changed = true;
                    continue;
                }
            }
            qCInfo(lcAlerts).noquote() << "resolved" << a.id << cleanUntrustedText(notice(a, AlertNotice::Status::Resolved, false).summary);
            if (!a.silenced(nowMs))
                notices.push_back(notice(a, AlertNotice::Status::Resolved, false));
        }
        m_changed = true;
    }
    if (batched)
        if (auto c = m_store.alerts().commitBatch(); !c)
            qCWarning(lcAlerts).noquote() << "cannot store alert changes:" << c.error().message;
}

namespace {

/** @p alerts by rule for the engine (unknown rules and local-only IDs left out). */
AlertEngine::StoredFirings firingsOf(const QList<const AlertRecord *> &alerts)
{
    AlertEngine::StoredFirings out;
    for (const AlertRecord *a : alerts)
        if (const auto rule = alertRuleFromKey(a->rule); rule && a->id > 0)
            out[std::size_t(*rule)] = {a->id, a->startedMs, a->value};
    return out;
}

} // namespace

StoreResult<void> AlertMonitor::adoptClient(const QString &clientId, bool movedHere)
{
    auto held = m_store.alerts().activeFor(clientId);
    if (!held)
        return held.error();
    QList<const AlertRecord *> mine;
    for (const AlertRecord &a : std::as_const(*held))
        mine.append(&a);
    m_engine.adoptStored(clientId, firingsOf(mine), movedHere, true);
    for (auto it = m_active.begin(); it != m_active.end();)
        it = it.key() > 0 && it->clientId == clientId ? m_active.erase(it) : std::next(it);
    for (const AlertRecord &a : std::as_const(*held))
        m_active.insert(a.id, a);
    m_changed = true;
    return {};
}

StoreResult<void> AlertMonitor::syncActive(const QSet<QString> &heldHere)
{
    auto stored = m_store.alerts().alerts(false);
    if (!stored)
        return stored.error();
    QHash<qint64, AlertRecord> fresh;
    QHash<QString, QList<const AlertRecord *>> byClient;
    for (const AlertRecord &a : std::as_const(*stored))
        fresh.insert(a.id, a);
    for (const AlertRecord &a : std::as_const(*stored))
        byClient[a.clientId].append(&a);
    // This node's own transitions are written before the read (same thread): the store is
    // behind nothing of ours, so its word holds for every client.
    for (const QString &id : m_engine.clientIds())
        m_engine.adoptStored(id, firingsOf(byClient.value(id)), false, heldHere.contains(id));
    // Alerts this node could not write stay listed (nobody else knows them), unless the store
    // now has that client's rule active.
    QSet<std::pair<QString, QString>> storedRules;
    for (const AlertRecord &a : std::as_const(*stored))
        storedRules.insert({a.clientId, a.rule});
    for (auto it = m_active.cbegin(); it != m_active.cend(); ++it)
        if (it.key() < 0 && !storedRules.contains({it->clientId, it->rule}))
            fresh.insert(it.key(), *it);
    const auto same = [](const AlertRecord &x, const AlertRecord &y) {
        return x.id == y.id && x.ackedMs == y.ackedMs && x.silencedUntilMs == y.silencedUntilMs
               && x.silenceReason == y.silenceReason && x.value == y.value;
    };
    bool changed = fresh.size() != m_active.size();
    for (auto it = fresh.cbegin(); !changed && it != fresh.cend(); ++it) {
        const auto mine = m_active.constFind(it.key());
        changed = mine == m_active.cend() || !same(*mine, *it);
    }
    m_active = std::move(fresh);
    m_changed = m_changed || changed;
    return {};
}

std::vector<AlertNotice> AlertMonitor::settle(qint64 nowMs)
{
    std::vector<AlertNotice> notices;
    if (!m_transitions.empty())
        writeTransitions(nowMs, notices);
    return notices;
}

std::vector<AlertNotice> AlertMonitor::tick(qint64 nowMs, bool judge)
{
    m_engine.tick(nowMs, m_transitions, judge);
    std::vector<AlertNotice> notices = settle(nowMs);
    if (!judge || m_repeatMs <= 0)
        return notices;
    bool batched = false;
    for (AlertRecord &a : m_active) {
        if (a.ackedMs > 0 || a.silenced(nowMs) || nowMs - a.notifiedMs < m_repeatMs)
            continue;
        a.notifiedMs = nowMs;
        if (!batched)
            batched = m_store.alerts().beginBatch().ok();
        if (a.id > 0)
            if (auto r = m_store.alerts().setNotified(a.id, nowMs); !r)
                qCWarning(lcAlerts).noquote() << "cannot store the repeat of alert" << a.id << ":" << r.error().message;
        notices.push_back(notice(a, AlertNotice::Status::Firing, true));
    }
    if (batched)
        if (auto c = m_store.alerts().commitBatch(); !c)
            qCWarning(lcAlerts).noquote() << "cannot store alert repeats:" << c.error().message;
    return notices;
}

StoreResult<void> AlertMonitor::setRule(const QString &rule, const QString &clientId,
                                        const std::optional<AlertRuleSettings> &settings, qint64 nowMs)
{
    const auto known = alertRuleFromKey(rule);
    if (!known)
        return storeError(StoreError::Kind::Invalid, QStringLiteral("unknown alert rule: %1").arg(rule));
    if (settings) {
        const AlertRuleInfo &info = alertRuleInfo(*known);
        if (info.hasThreshold && (settings->threshold < info.minThreshold || settings->threshold > info.maxThreshold))
            return storeError(StoreError::Kind::Invalid,
                              QStringLiteral("%1: threshold must be from %2 to %3")
                                      .arg(QString::fromLatin1(info.title))
                                      .arg(info.minThreshold)
                                      .arg(info.maxThreshold));
    }
    if (clientId.startsWith(QLatin1Char('@')))
        if (const QString problem = ConfigStore::groupNameProblem(clientId.mid(1)); !problem.isEmpty())
            return storeError(StoreError::Kind::Invalid, problem);
    if (auto r = m_store.alerts().setRule(rule, clientId, settings); !r)
        return r;
    return reloadRules(nowMs);
}

StoreResult<void> AlertMonitor::reloadRules(qint64 nowMs)
{
    auto rows = m_store.alerts().rules();
    if (!rows)
        return rows.error();
    auto groups = m_store.inventory().groupMembership();
    if (!groups)
        return groups.error();
    m_engine.setRules(AlertRuleSet(*rows, *groups), nowMs, m_transitions);
    return {};
}

StoreResult<void> AlertMonitor::setRepeatIntervalMs(qint64 ms)
{
    if (auto r = m_store.alerts().setRepeatIntervalMs(ms); !r)
        return r;
    m_repeatMs = ms;
    return {};
}

StoreResult<void> AlertMonitor::acknowledge(qint64 alertId, bool on, qint64 nowMs)
{
    if (auto r = m_store.alerts().acknowledge(alertId, on, nowMs); !r)
        return r;
    if (auto it = m_active.find(alertId); it != m_active.end()) {
        it->ackedMs = on ? nowMs : 0;
        m_changed = true;
    }
    return {};
}

StoreResult<void> AlertMonitor::silence(qint64 alertId, qint64 untilMs, const QString &reason)
{
    if (auto r = m_store.alerts().silence(alertId, untilMs, reason); !r)
        return r;
    if (auto it = m_active.find(alertId); it != m_active.end()) {
        it->silencedUntilMs = untilMs;
        it->silenceReason = untilMs > 0 ? reason : QString();
        m_changed = true;
    }
    return {};
}

QList<AlertRecord> AlertMonitor::active() const
{
    QList<AlertRecord> out = m_active.values();
    std::sort(out.begin(), out.end(), [](const AlertRecord &a, const AlertRecord &b) {
        return a.startedMs != b.startedMs ? a.startedMs > b.startedMs : a.id > b.id;
    });
    return out;
}

bool AlertMonitor::takeChanged()
{
    return std::exchange(m_changed, false);
}

} // namespace autofact::server
