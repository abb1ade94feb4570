// SPDX-License-Identifier: MIT
#include "alertengine.h"

#include "metrics.h"

namespace autofact::server {

namespace {

const QString kConditionCleared = QStringLiteral("condition cleared");

} // namespace

AlertEngine::ClientState *AlertEngine::client(const QString &clientId)
{
    const auto it = m_index.constFind(clientId);
    if (it == m_index.cend())
        return nullptr;
    ClientState &c = m_clients[*it];
    return c.removed ? nullptr : &c;
}

void AlertEngine::addClient(const QString &clientId, const QString &hostname, bool hasData)
{
    const auto it = m_index.constFind(clientId);
    if (it != m_index.cend()) {
        ClientState &c = m_clients[*it];
        if (!hostname.isEmpty())
            c.hostname = hostname;
        c.hasData = c.hasData || hasData;
        if (c.removed) {
            const QString host = c.hostname;
            c = ClientState{};
            c.id = clientId;
            c.hostname = host;
            c.hasData = hasData;
            c.settings = m_rules.forClient(clientId);
        }
        return;
    }
    ClientState c;
    c.id = clientId;
    c.hostname = hostname;
    c.hasData = hasData;
    c.settings = m_rules.forClient(clientId);
    m_index.insert(clientId, m_clients.size());
    m_clients.push_back(std::move(c));
}

void AlertEngine::removeClient(const QString &clientId, const QString &reason, qint64 nowMs,
                               std::vector<AlertTransition> &out)
{
    ClientState *c = client(clientId);
    if (!c)
        return;
    for (int r = 0; r < alertRuleCount; ++r)
        if (c->rules[r].firing)
            resolve(*c, AlertRule(r), nowMs, reason, out);
    c->removed = true;
}

void AlertEngine::setRules(const AlertRuleSet &rules, qint64 nowMs, std::vector<AlertTransition> &out)
{
    m_rules = rules;
    for (ClientState &c : m_clients) {
        if (c.removed)
            continue;
        const std::size_t backlogRule = std::size_t(AlertRule::SpoolBacklog);
        const bool wasAbove = double(c.backlog) > c.settings[backlogRule].threshold;
        c.settings = m_rules.forClient(c.id);
        // A new limit that the same backlog now crosses: the hold time counts from now.
        if (wasAbove != (double(c.backlog) > c.settings[backlogRule].threshold))
            c.backlogSince = nowMs;
        for (int r = 0; r < alertRuleCount; ++r) {
            RuleState &st = c.rules[r];
            if (!c.settings[r].enabled) {
                if (st.firing)
                    resolve(c, AlertRule(r), nowMs, QStringLiteral("rule disabled"), out);
                st = RuleState{};
            }
        }
    }
}

void AlertEngine::restoreFiring(const QString &clientId, AlertRule rule, qint64 alertId, qint64 startedMs,
                                double value)
{
    ClientState *c = client(clientId);
    if (!c)
        return;
    RuleState &st = c->rules[std::size_t(rule)];
    st.firing = true;
    st.alertId = alertId;
    st.startedMs = startedMs;
    st.condSince = startedMs;
    st.clearSince = -1;
    st.value = value;
}

void AlertEngine::adoptStored(const QString &clientId, const StoredFirings &stored, bool movedHere, bool heldHere)
{
    ClientState *c = client(clientId);
    if (!c)
        return;
    // Its backlog is reported to the node holding its session: what this node heard last is
    // old news until a session here reports again.
    if (!heldHere || movedHere)
        c->backlogKnown = false;
    if (movedHere)
        c->droppedKnown = false; // drops counted meanwhile were reported where they were stored
    const bool clearPending = movedHere;
    for (std::size_t r = 0; r < stored.size(); ++r) {
        RuleState &st = c->rules[r];
        const StoredFiring &s = stored[r];
        if (s.alertId > 0) {
            if (!st.firing || st.alertId != s.alertId)
                restoreFiring(clientId, AlertRule(r), s.alertId, s.startedMs, s.value);
            else if (clearPending)
                st.clearSince = -1;
        } else if (st.firing ? st.alertId > 0 : clearPending) {
            st = RuleState{};
        }
    }
}

QStringList AlertEngine::clientIds() const
{
    QStringList out;
    for (const ClientState &c : m_clients)
        if (!c.removed)
            out.append(c.id);
    return out;
}

void AlertEngine::setAlertId(const QString &clientId, AlertRule rule, qint64 alertId)
{
    if (ClientState *c = client(clientId))
        c->rules[std::size_t(rule)].alertId = alertId;
}

int AlertEngine::firingCount() const
{
    int n = 0;
    for (const ClientState &c : m_clients)
        if (!c.removed)
            for (const RuleState &st : c.rules)
                n += st.firing ? 1 : 0;
    return n;
}

void AlertEngine::resolve(ClientState &c, AlertRule rule, qint64 t, const QString &why,
                          std::vector<AlertTransition> &out)
{
    RuleState &st = c.rules[std::size_t(rule)];
    AlertTransition tr;
    tr.kind = AlertTransition::Kind::Resolved;
    tr.rule = rule;
    tr.clientId = c.id;
    tr.hostname = c.hostname;
    tr.value = st.value;
    tr.threshold = c.settings[std::size_t(rule)].threshold;
    tr.startedMs = st.startedMs;
    tr.atMs = t;
    tr.alertId = st.alertId;
    tr.resolution = why;
    out.push_back(std::move(tr));
    st = RuleState{};
}

void AlertEngine::step(ClientState &c, AlertRule rule, bool cond, double value, qint64 t, qint64 condStart,
                       std::vector<AlertTransition> &out)
{
    const AlertRuleSettings &s = c.settings[std::size_t(rule)];
    if (!s.enabled)
        return;
    RuleState &st = c.rules[std::size_t(rule)];
    if (!st.firing) {
        if (!cond) {
            st.condSince = -1;
            return;
        }
        if (st.condSince < 0)
            st.condSince = condStart;
        if (t - st.condSince < s.forMs)
            return;
        st.firing = true;
        st.clearSince = -1;
        st.startedMs = st.condSince;
        st.alertId = 0;
        st.value = value;
        AlertTransition tr;
        tr.kind = AlertTransition::Kind::Fired;
        tr.rule = rule;
        tr.clientId = c.id;
        tr.hostname = c.hostname;
        tr.value = value;
        tr.threshold = s.threshold;
        tr.startedMs = st.startedMs;
        tr.atMs = t;
        out.push_back(std::move(tr));
        return;
    }
    // Host rules' value is how long the condition held: keep it once the host is back.
    if (cond || alertRuleInfo(rule).hasThreshold)
        st.value = value;
    if (cond) {
        st.clearSince = -1;
        return;
    }
    if (st.clearSince < 0)
        st.clearSince = condStart;
    if (t - st.clearSince >= s.resolveMs)
        resolve(c, rule, t, kConditionCleared, out);
}

void AlertEngine::observeSamples(const QString &clientId, const std::vector<Sample> &samples,
                                 quint64 droppedTotal, std::vector<AlertTransition> &out,
                                 const DeviceTables *devices)
{
    ClientState *c = client(clientId);
    if (!c || samples.empty())
        return;
    c->hasData = true;
    const RuleSettingsArray &s = c->settings;
    const auto at = [](AlertRule r) { return std::size_t(r); };
    const double cpuLimit = s[at(AlertRule::CpuBusy)].threshold;
    const double memLimit = s[at(AlertRule::MemoryUsed)].threshold;
    const double swapLimit = s[at(AlertRule::SwapUsed)].threshold;
    const double loadLimit = s[at(AlertRule::LoadPerCore)].threshold;
    const double diskLimit = s[at(AlertRule::DiskUsed)].threshold;
    // The fullest filesystem at the samples that carry filesystem readings (index order).
    const auto fullest = devices ? metrics::fullestFilesystemBySample(*devices)
                                 : std::vector<std::pair<std::uint32_t, double>>{};
    auto nextFullest = fullest.begin();
    const double heatLimit = s[at(AlertRule::TemperatureHigh)].threshold;
    const auto hottest = devices ? metrics::hottestBySample(*devices) : std::vector<metrics::HottestReading>{};
    auto nextHottest = hottest.begin();
    for (std::uint32_t index = 0; index < samples.size(); ++index) {
        const Sample &sample = samples[index];
        while (nextFullest != fullest.end() && nextFullest->first < index)
            ++nextFullest;
        while (nextHottest != hottest.end() && nextHottest->sample < index)
            ++nextHottest;
        const qint64 t = sample.timestampMs;
        // A resend or an out-of-order batch: these times were judged already.
        if (t <= c->lastSampleMs)
            continue;
        c->lastSampleMs = t;
        const double cpu = metrics::cpuPercent(sample);
        step(*c, AlertRule::CpuBusy, cpu > cpuLimit, cpu, t, t, out);
        const double mem = metrics::memoryPercent(sample);
        if (mem >= 0)
            step(*c, AlertRule::MemoryUsed, mem > memLimit, mem, t, t, out);
        // No swap is no swap alert, and never a resolution of one: that needs a reading.
        const double swap = metrics::swapPercent(sample);
        if (swap >= 0)
            step(*c, AlertRule::SwapUsed, swap > swapLimit, swap, t, t, out);
        if (sample.coreCount > 0) {
            const double load = double(sample.load1) / sample.coreCount;
            step(*c, AlertRule::LoadPerCore, load > loadLimit, load, t, t, out);
        }
        // Filesystems are read less often than samples: only a reading moves this rule.
        if (nextFullest != fullest.end() && nextFullest->first == index && nextFullest->second >= 0)
            step(*c, AlertRule::DiskUsed, nextFullest->second > diskLimit, nextFullest->second, t, t, out);
        // Sensors likewise; a sensor at the critical point its driver reports counts whatever
        // the threshold (a laptop CPU's is often below a server's 90 °C).
        if (nextHottest != hottest.end() && nextHottest->sample == index)
            step(*c, AlertRule::TemperatureHigh, nextHottest->celsius > heatLimit || nextHottest->atCritical,
                 nextHottest->celsius, t, t, out);
    }
    // The drop counter is the agent's running total: the first one seen is a baseline, and one
    // that goes back (a new spool) starts a new baseline rather than an alert.
    const qint64 t = c->lastSampleMs;
    RuleState &dropped = c->rules[at(AlertRule::SamplesDropped)];
    if (c->droppedKnown && droppedTotal >= c->droppedTotal) {
        const quint64 delta = droppedTotal - c->droppedTotal;
        const bool cond = double(delta) > s[at(AlertRule::SamplesDropped)].threshold;
        // The value is what was lost while the alert is pending or firing, not per batch.
        const double total = (dropped.condSince >= 0 || dropped.firing ? dropped.value : 0) + double(delta);
        step(*c, AlertRule::SamplesDropped, cond, cond ? total : dropped.value, t, t, out);
        if (cond && !dropped.firing)
            dropped.value = total;
    }
    c->droppedTotal = droppedTotal;
    c->droppedKnown = true;
}

void AlertEngine::observeHealth(const QString &clientId, ClientHealth health, qint64 atMs)
{
    ClientState *c = client(clientId);
    if (!c || c->health == health)
        return;
    c->health = health;
    c->healthSince = atMs;
}

void AlertEngine::observeBacklog(const QString &clientId, quint32 batches, qint64 atMs)
{
    ClientState *c = client(clientId);
    if (!c)
        return;
    const double limit = c->settings[std::size_t(AlertRule::SpoolBacklog)].threshold;
    // The first report after the client was added (or the server started) starts the clock.
    if (!c->backlogKnown || (double(batches) > limit) != (double(c->backlog) > limit))
        c->backlogSince = atMs;
    c->backlogKnown = true;
    c->backlog = batches;
}

void AlertEngine::tick(qint64 nowMs, std::vector<AlertTransition> &out, bool hostRules)
{
    constexpr std::size_t down = std::size_t(AlertRule::HostDown);
    for (ClientState &c : m_clients) {
        if (c.removed)
            continue;
        if (c.backlogKnown) {
            const double limit = c.settings[std::size_t(AlertRule::SpoolBacklog)].threshold;
            step(c, AlertRule::SpoolBacklog, double(c.backlog) > limit, double(c.backlog), nowMs, c.backlogSince, out);
        }
        if (!hostRules)
            continue;
        const qint64 healthFor = (nowMs - c.healthSince) / 1000;
        // A stale host whose connection then times out is not better: the stale alert holds
        // until the host is back or host_down takes over, so there is no silent interval.
        const bool staleFiring = c.rules[std::size_t(AlertRule::HostStale)].firing;
        const bool stale = c.health == ClientHealth::Stale || (staleFiring && c.health == ClientHealth::Down);
        const qint64 staleFor = (nowMs - c.rules[std::size_t(AlertRule::HostStale)].condSince) / 1000;
        step(c, AlertRule::HostStale, stale,
             double(std::max<qint64>(staleFiring ? staleFor : healthFor, 0)), nowMs, c.healthSince, out);
        // Down is for clients that have sent data: one that never did is "never seen data".
        const bool wasDown = c.rules[down].firing;
        step(c, AlertRule::HostDown, c.health == ClientHealth::Down && c.hasData,
             double(std::max<qint64>(healthFor, 0)), nowMs, c.healthSince, out);
        if (!wasDown && c.rules[down].firing) {
            // Without data the sample rules cannot resolve: close them, or a powered-off host
            // would repeat "CPU busy" for as long as it stays off. "Host down" says what is known.
            for (AlertRule r : {AlertRule::CpuBusy, AlertRule::MemoryUsed, AlertRule::SwapUsed,
                                AlertRule::LoadPerCore, AlertRule::SamplesDropped, AlertRule::DiskUsed,
                                AlertRule::TemperatureHigh})
                if (c.rules[std::size_t(r)].firing)
                    resolve(c, r, nowMs, QStringLiteral("host down: no data to judge"), out);
            if (c.rules[std::size_t(AlertRule::HostStale)].firing)
                resolve(c, AlertRule::HostStale, nowMs, QStringLiteral("host down"), out);
        }
    }
}

} // namespace autofact::server
