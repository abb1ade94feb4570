// SPDX-License-Identifier: MIT
#include "metricsregistry.h"

#include "metrics.h"
#include "storeworker.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace autofact::server {

namespace {

/** One number as the exposition format writes it. */
struct Value {
    enum class Kind { Unsigned, Float, Double };
    Kind kind = Kind::Double;
    quint64 u = 0;
    float f = 0;
    double d = 0;
    static Value of(quint64 v) { return {Kind::Unsigned, v, 0, 0}; }
    static Value ofFloat(float v) { return {Kind::Float, 0, v, 0}; }
    static Value of(double v) { return {Kind::Double, 0, 0, v}; }
};

/**
 * Appends to one QByteArray through a raw cursor: a scrape of 10,000 clients is about 120,000
 * lines of five pieces each, and QByteArray::append checks capacity and sharing per piece.
 */
class Writer
{
public:
    Writer(QByteArray &out, qsizetype estimate)
        : m_out(out)
    {
        m_out.resize(std::max<qsizetype>(estimate, 4096));
        m_p = m_out.data();
        m_end = m_p + m_out.size();
    }
    ~Writer() { m_out.resize(m_p - m_out.data()); }

    /** Room for @p n more bytes. */
    void reserve(qsizetype n)
    {
        if (m_end - m_p >= n)
            return;
        const qsizetype used = m_p - m_out.data();
        m_out.resize(std::max(2 * m_out.size(), used + n));
        m_p = m_out.data() + used;
        m_end = m_out.data() + m_out.size();
    }
    void raw(const char *s, qsizetype n)
    {
        reserve(n);
        std::memcpy(m_p, s, size_t(n));
        m_p += n;
    }
    void raw(const QByteArray &b) { raw(b.constData(), b.size()); }
    void raw(const char *s) { raw(s, qsizetype(std::strlen(s))); }
    void raw(char c)
    {
        reserve(1);
        *m_p++ = c;
    }
    void number(const Value &v)
    {
        reserve(32);
        if (v.kind == Value::Kind::Unsigned) {
            m_p = std::to_chars(m_p, m_end, v.u).ptr;
            return;
        }
        const double d = v.kind == Value::Kind::Float ? double(v.f) : v.d;
        if (std::isnan(d))
            return raw("NaN", 3);
        if (std::isinf(d))
            return d > 0 ? raw("+Inf", 4) : raw("-Inf", 4);
        // Shortest round-trip text: a float sample keeps its own digits (12.3, not 12.300000190734863).
        m_p = v.kind == Value::Kind::Float ? std::to_chars(m_p, m_end, v.f).ptr : std::to_chars(m_p, m_end, v.d).ptr;
    }
    /** "# HELP name help\n# TYPE name type\n" */
    void header(const char *name, const char *help, const char *type)
    {
        raw("# HELP ");
        raw(name);
        raw(' ');
        raw(help);
        raw("\n# TYPE ");
        raw(name);
        raw(' ');
        raw(type);
        raw('\n');
    }
    /** name{labels} value\n */
    void line(const char *name, qsizetype nameSize, const QByteArray &labels, const Value &v)
    {
        reserve(nameSize + labels.size() + 40);
        std::memcpy(m_p, name, size_t(nameSize));
        m_p += nameSize;
        if (!labels.isEmpty()) {
            *m_p++ = '{';
            std::memcpy(m_p, labels.constData(), size_t(labels.size()));
            m_p += labels.size();
            *m_p++ = '}';
        }
        *m_p++ = ' ';
        number(v);
        *m_p++ = '\n';
    }
    void line(const char *name, const QByteArray &labels, const Value &v)
    {
        line(name, qsizetype(std::strlen(name)), labels, v);
    }

private:
    QByteArray &m_out;
    char *m_p = nullptr;
    char *m_end = nullptr;
};

/** A gauge taken from a client's newest sample; the formulas are shared/metrics.h's. */
struct SampleGauge {
    const char *name;
    const char *help;
    Value (*value)(const Sample &);
};

const SampleGauge sampleGauges[] = {
    {"autofact_cpu_busy_percent", "CPU busy in percent (all but idle and iowait), newest sample.",
     [](const Sample &s) { return Value::ofFloat(float(metrics::cpuPercent(s))); }},
    {"autofact_memory_used_bytes", "Memory in use, newest sample.",
     [](const Sample &s) { return Value::of(quint64(s.memory.used)); }},
    {"autofact_memory_total_bytes", "Memory in total, newest sample.",
     [](const Sample &s) { return Value::of(quint64(s.memory.total)); }},
    {"autofact_memory_available_bytes", "Memory available (MemAvailable), newest sample.",
     [](const Sample &s) { return Value::of(quint64(s.memory.available)); }},
    {"autofact_swap_used_bytes", "Swap in use, newest sample.",
     [](const Sample &s) { return Value::of(quint64(metrics::swapUsed(s.memory))); }},
    {"autofact_swap_total_bytes", "Swap in total, newest sample.",
     [](const Sample &s) { return Value::of(quint64(s.memory.swapTotal)); }},
    {"autofact_load1", "1-minute load average, newest sample.", [](const Sample &s) { return Value::ofFloat(s.load1); }},
    {"autofact_load5", "5-minute load average, newest sample.", [](const Sample &s) { return Value::ofFloat(s.load5); }},
    {"autofact_load15", "15-minute load average, newest sample.", [](const Sample &s) { return Value::ofFloat(s.load15); }},
};

// Prometheus' default buckets: batches are acked after a group commit, normally within tens of ms.
std::vector<double> ackBuckets() { return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}; }
// A group commit takes about a millisecond at low load, more with a busy disk (docs/BENCHMARKS.md).
std::vector<double> commitBuckets() { return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}; }

void renderHistogram(Writer &w, const char *name, const char *help, const MetricsRegistry::Histogram &h)
{
    w.header(name, help, "histogram");
    const QByteArray bucket = QByteArray(name) + "_bucket";
    quint64 cumulative = 0;
    for (std::size_t i = 0; i <= h.bounds.size(); ++i) {
        cumulative += h.counts[i];
        w.raw(bucket);
        w.raw("{le=\"");
        if (i < h.bounds.size())
            w.number(Value::of(h.bounds[i]));
        else
            w.raw("+Inf");
        w.raw("\"} ");
        w.number(Value::of(cumulative));
        w.raw('\n');
    }
    const QByteArray sum = QByteArray(name) + "_sum";
    const QByteArray count = QByteArray(name) + "_count";
    w.line(sum.constData(), {}, Value::of(h.sum));
    w.line(count.constData(), {}, Value::of(h.count));
}

} // namespace

MetricsRegistry::Histogram::Histogram(std::vector<double> b)
    : bounds(std::move(b))
    , counts(bounds.size() + 1, 0)
{
}

void MetricsRegistry::Histogram::observe(double seconds)
{
    const auto it = std::lower_bound(bounds.begin(), bounds.end(), seconds); // le: bound included
    ++counts[std::size_t(it - bounds.begin())];
    sum += seconds;
    ++count;
}

MetricsRegistry::MetricsRegistry()
    : m_ackLatency(ackBuckets())
    , m_commitTime(commitBuckets())
{
}

QByteArray MetricsRegistry::escapeLabelValue(const QString &value)
{
    const QByteArray utf8 = value.toUtf8();
    QByteArray out;
    out.reserve(utf8.size() + 8);
    for (const char c : utf8) {
        switch (c) {
        case '\\': out.append("\\\\", 2); break;
        case '"': out.append("\\\"", 2); break;
        case '\n': out.append("\\n", 2); break;
        default: out.append(c);
        }
    }
    return out;
}

MetricsRegistry::Client &MetricsRegistry::client(const QString &id)
{
    if (const auto it = m_index.constFind(id); it != m_index.cend())
        return m_clients[*it];
    m_index.insert(id, m_clients.size());
    Client &c = m_clients.emplace_back();
    c.id = id;
    ++m_waitingForInventory;
    return c;
}

void MetricsRegistry::setLabels(Client &c, const QString &hostname)
{
    if (!c.known)
        --m_waitingForInventory;
    c.known = true;
    c.labels = "client_id=\"" + escapeLabelValue(c.id) + "\",hostname=\"" + escapeLabelValue(hostname) + '"';
}

void MetricsRegistry::setInventory(const QList<ClientInfo> &clients)
{
    QSet<QString> listed;
    listed.reserve(clients.size());
    for (const ClientInfo &info : clients) {
        listed.insert(info.id);
        Client &c = client(info.id);
        setLabels(c, info.hostname);
        c.lastSampleMs = std::max(c.lastSampleMs, info.lastSampleMs);
    }
    std::vector<Client> kept;
    kept.reserve(m_clients.size());
    for (Client &c : m_clients) {
        if (listed.contains(c.id) || c.online)
            kept.push_back(std::move(c));
    }
    if (kept.size() == m_clients.size()) {
        m_clients = std::move(kept);
        return;
    }
    m_clients = std::move(kept);
    m_index.clear();
    m_waitingForInventory = 0;
    for (std::size_t i = 0; i < m_clients.size(); ++i) {
        m_index.insert(m_clients[i].id, i);
        if (!m_clients[i].known)
            ++m_waitingForInventory;
    }
}

void MetricsRegistry::giveUpOnInventory()
{
    for (Client &c : m_clients) {
        if (!c.known)
            setLabels(c, QString());
    }
}

void MetricsRegistry::applyActivity(const HubActivity &activity)
{
    for (const QString &id : activity.connected)
        client(id).online = true;
    for (const QString &id : activity.disconnected)
        client(id).online = false;
    // The hub's state at the report wins over the order the lists lost.
    for (auto it = activity.onlineNow.cbegin(); it != activity.onlineNow.cend(); ++it)
        client(it.key()).online = it.value();
    for (auto it = activity.latest.cbegin(); it != activity.latest.cend(); ++it) {
        Client &c = client(it.key());
        if (!c.latest || it->timestampMs >= c.latest->timestampMs)
            c.latest = *it;
        c.lastSampleMs = std::max(c.lastSampleMs, qint64(it->timestampMs));
    }
    for (const qint64 us : activity.ackLatencyUs)
        m_ackLatency.observe(double(us) / 1e6);
}

void MetricsRegistry::recordCommit(const CommitStats &stats)
{
    m_samplesStored += stats.samples;
    m_commitTime.observe(double(stats.elapsedUs) / 1e6);
}

void MetricsRegistry::setAlerts(const QList<AlertRecord> &active)
{
    m_alertsByRule.fill(0);
    m_alertsOther = 0;
    for (const AlertRecord &a : active) {
        if (const auto rule = alertRuleFromKey(a.rule))
            ++m_alertsByRule[std::size_t(*rule)];
        else
            ++m_alertsOther;
    }
}

QByteArray MetricsRegistry::render(qint64 nowMs) const
{
    QByteArray out;
    render(out, nowMs);
    return out;
}

void MetricsRegistry::render(QByteArray &out, qint64 nowMs) const
{
    // Per known client: up, the sample gauges and the age, each about 40 bytes besides labels.
    qsizetype labelBytes = 0;
    for (const Client &c : m_clients)
        labelBytes += c.labels.size();
    const auto lines = qsizetype(std::size(sampleGauges)) + 2;
    Writer w(out, lines * (labelBytes + qsizetype(m_clients.size()) * 64) + 16384);

    w.header("autofact_up", "1 if the client has a live session on this node, else 0.", "gauge");
    int online = 0;
    int known = 0;
    for (const Client &c : m_clients) {
        online += c.online ? 1 : 0;
        if (!c.known)
            continue;
        ++known;
        w.line("autofact_up", 11, c.labels, Value::of(quint64(c.online ? 1 : 0)));
    }
    // Only for clients with a session here: on the other nodes of a cluster their values would be stale.
    for (const SampleGauge &g : sampleGauges) {
        w.header(g.name, g.help, "gauge");
        const auto nameSize = qsizetype(std::strlen(g.name));
        for (const Client &c : m_clients) {
            if (c.known && c.online && c.latest)
                w.line(g.name, nameSize, c.labels, g.value(*c.latest));
        }
    }
    w.header("autofact_last_sample_age_seconds",
             "Seconds from the newest sample's timestamp (the agent's clock) to the scrape.", "gauge");
    for (const Client &c : m_clients) {
        if (c.known && c.lastSampleMs > 0)
            w.line("autofact_last_sample_age_seconds", 32, c.labels, Value::of(double(nowMs - c.lastSampleMs) / 1000.0));
    }

    w.header("autofact_known_clients", "Clients this node knows (its store's inventory and live sessions).", "gauge");
    w.line("autofact_known_clients", {}, Value::of(quint64(known)));
    w.header("autofact_connected_clients", "Live agent sessions on this node.", "gauge");
    w.line("autofact_connected_clients", {}, Value::of(quint64(online)));
    w.header("autofact_samples_stored_total", "Samples written to the store since the server started.", "counter");
    w.line("autofact_samples_stored_total", {}, Value::of(m_samplesStored));
    w.header("autofact_store_queue_samples", "Samples received and waiting for the store's next group commit.", "gauge");
    w.line("autofact_store_queue_samples", {}, Value::of(m_queuedSamples));
    renderHistogram(w, "autofact_ack_latency_seconds",
                    "From a batch's arrival to the acknowledgement sent after its group commit.", m_ackLatency);
    renderHistogram(w, "autofact_store_commit_seconds", "Duration of each group commit to the store.", m_commitTime);
    w.header("autofact_alerts_firing", "Active (unresolved) alerts by rule, acknowledged and silenced ones included.",
             "gauge");
    for (const AlertRuleInfo &info : alertRules()) {
        const QByteArray labels = QByteArray("rule=\"") + info.key + '"';
        w.line("autofact_alerts_firing", labels, Value::of(quint64(m_alertsByRule[std::size_t(info.rule)])));
    }
    if (m_alertsOther > 0)
        w.line("autofact_alerts_firing", QByteArrayLiteral("rule=\"other\""), Value::of(quint64(m_alertsOther)));
}

} // namespace autofact::server
