// SPDX-License-Identifier: MIT
#include "loadgenerator.h"

#include "jsonfile.h"
#include "loadgenlogging.h"

#include <QJsonDocument>
#include <QSaveFile>
#include <QStringBuilder>
#include <QSysInfo>

#include <sys/resource.h>

namespace autofact::loadgen {

namespace {
// A state file for 1,000,000 agents is ~100 MB; jsonfile's default cap is 1 MiB.
constexpr qint64 maxStateBytes = 256ll * 1024 * 1024;
constexpr int watchIntervalMs = 100;

QString formatMs(std::int64_t micros)
{
    return QString::number(double(micros) / 1000.0, 'f', micros < 10000 ? 2 : 1) + u" ms";
}

QJsonObject latencyJson(const LatencyHistogram &h)
{
    return QJsonObject{{QStringLiteral("count"), double(h.count())},
                       {QStringLiteral("p50_ms"), double(h.quantileMicros(0.50)) / 1000.0},
                       {QStringLiteral("p99_ms"), double(h.quantileMicros(0.99)) / 1000.0},
                       {QStringLiteral("p999_ms"), double(h.quantileMicros(0.999)) / 1000.0},
                       {QStringLiteral("max_ms"), double(h.maxMicros()) / 1000.0}};
}
} // namespace

LoadGenerator::LoadGenerator(LoadgenOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
    m_reportTimer.setInterval(int(m_options.reportIntervalMs));
    connect(&m_reportTimer, &QTimer::timeout, this, &LoadGenerator::onReportTimer);
    m_watchTimer.setInterval(watchIntervalMs);
    connect(&m_watchTimer, &QTimer::timeout, this, &LoadGenerator::onWatchTimer);
    m_durationTimer.setSingleShot(true);
    connect(&m_durationTimer, &QTimer::timeout, this, &LoadGenerator::beginDrain);
}

LoadGenerator::~LoadGenerator()
{
    if (!m_finished && !m_pools.empty()) {
        for (AgentPool *pool : m_pools)
            QMetaObject::invokeMethod(pool, [pool] { pool->finish(); }, Qt::BlockingQueuedConnection);
    }
    for (auto &t : m_threads) {
        t->quit();
        t->wait();
    }
    qDeleteAll(m_pools);
}

bool LoadGenerator::loadState(std::vector<AgentIdentity> &identities, QString *error)
{
    if (m_options.statePath.isEmpty())
        return true;
    const jsonfile::LoadResult r = jsonfile::load(m_options.statePath, maxStateBytes);
    if (r.missing)
        return true;
    if (!r.ok()) {
        *error = r.error;
        return false;
    }
    const QJsonArray agents = r.object->value(QStringLiteral("agents")).toArray();
    for (qsizetype i = 0; i < agents.size() && i < qsizetype(identities.size()); ++i) {
        const QJsonObject a = agents.at(i).toObject();
        identities[std::size_t(i)].id = a.value(QStringLiteral("id")).toString();
        identities[std::size_t(i)].secret = a.value(QStringLiteral("secret")).toString();
        identities[std::size_t(i)].lastSequence =
            std::uint64_t(a.value(QStringLiteral("sequence")).toDouble());
    }
    // Ports change between test servers; another host means another database.
    const QUrl savedServer(r.object->value(QStringLiteral("server")).toString());
    if (!savedServer.isEmpty() && savedServer.host() != m_options.server.host())
        qCWarning(lcLoadgen).noquote() << "state file" << m_options.statePath << "was written for"
                                       << savedServer.toString() << "- its identities may be unknown here";
    return true;
}

QString LoadGenerator::saveState() const
{
    if (m_options.statePath.isEmpty() || m_summaries.empty())
        return QString();
    QJsonArray agents;
    for (const AgentSummary &s : m_summaries)
        agents.append(QJsonObject{{QStringLiteral("id"), s.identity.id},
                                  {QStringLiteral("secret"), s.identity.secret},
                                  {QStringLiteral("sequence"), double(s.identity.lastSequence)}});
    return jsonfile::save(m_options.statePath,
                          QJsonObject{{QStringLiteral("version"), 1},
                                      {QStringLiteral("server"), m_options.server.toString()},
                                      {QStringLiteral("agents"), agents}});
}

bool LoadGenerator::start(QString *error)
{
    const int n = m_options.agents;
    std::vector<AgentIdentity> identities(static_cast<std::size_t>(n));
    if (!loadState(identities, error))
        return false;
    const int threads = std::min(m_options.threads, n);
    std::vector<AgentPool::Plan> plans(static_cast<std::size_t>(threads));
    for (int t = 0; t < threads; ++t) {
        AgentPool::Plan &p = plans[std::size_t(t)];
        p.server = m_options.server;
        p.fingerprint = m_options.fingerprint;
        p.seed = m_options.seed * 7919u + quint32(t);
        p.faults = {m_options.dropRate, m_options.resendRate, m_options.malformedRate};
    }
    for (int i = 0; i < n; ++i) {
        AgentPool::Plan &p = plans[std::size_t(i % threads)];
        SimAgent::Settings s;
        s.index = i;
        s.server = m_options.server;
        s.identity = identities[std::size_t(i)];
        s.token = m_options.token;
        s.fingerprint = m_options.fingerprint;
        s.sampleIntervalMs = m_options.sampleIntervalMs;
        s.sendIntervalMs = m_options.sendIntervalMs;
        s.sampling = m_options.sampling;
        s.backlogSamples = m_options.backlogSamples;
        s.seed = m_options.seed * 2654435761u + quint32(i) * 40503u + 1;
        p.agents.push_back(std::move(s));
        p.startAtMs.push_back(n > 1 ? m_options.rampMs * i / n : 0);
    }
    for (AgentPool::Plan &p : plans) {
        auto thread = std::make_unique<QThread>();
        thread->setObjectName(QStringLiteral("loadgen-%1").arg(m_threads.size()));
        auto *pool = new AgentPool(std::move(p));
        pool->moveToThread(thread.get());
        thread->start();
        m_pools.push_back(pool);
        m_threads.push_back(std::move(thread));
    }
    m_clock.start();
    for (AgentPool *pool : m_pools)
        QMetaObject::invokeMethod(pool, &AgentPool::start, Qt::QueuedConnection);
    m_reportTimer.start();
    m_watchTimer.start();
    m_durationTimer.start(int(m_options.durationMs));
    qCInfo(lcLoadgen).noquote() << "simulating" << n << "agents on" << threads << "threads against"
                                << m_options.server.toString();
    return true;
}

void LoadGenerator::stop()
{
    if (!m_draining)
        beginDrain();
}

LoadStats LoadGenerator::totals() const
{
    if (m_finished)
        return m_final;
    LoadStats total;
    for (const AgentPool *pool : m_pools)
        total.merge(pool->snapshot());
    return total;
}

double LoadGenerator::cpuSeconds() const
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
           + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

QString LoadGenerator::progressLine(const LoadStats &s, double seconds, bool final) const
{
    // Progress lines show the last interval's rates; the final line the whole run's.
    const double dt = final ? std::max(1e-3, m_finalS + m_drainS)
                            : std::max(1e-3, seconds - m_lastReportS);
    const LoadStats &before = final ? LoadStats() : m_lastReport;
    const auto rate = [&](std::uint64_t now, std::uint64_t then) {
        return QString::number(double(now - then) / dt, 'f', 0);
    };
    // Latency too: per interval on progress lines, over the whole run on the final one.
    const LatencyHistogram latency = final ? s.latency : s.latency.since(before.latency);
    const QString head = final ? QStringLiteral("[final %1s]").arg(seconds, 0, 'f', 1)
                               : QStringLiteral("[%1s]").arg(seconds, 6, 'f', 1);
    QString line = head % u" connected " % QString::number(s.connected) % u'/'
                   % QString::number(s.agents) % u" | samples/s sent "
                   % rate(s.samplesSent, before.samplesSent) % u" acked "
                   % rate(s.samplesAcked, before.samplesAcked) % u" | unacked "
                   % QString::number(s.unackedSamples) % u" | ack p50 "
                   % formatMs(latency.quantileMicros(0.5)) % u" p99 "
                   % formatMs(latency.quantileMicros(0.99)) % u" max "
                   % formatMs(latency.maxMicros()) % u" | reconnects "
                   % QString::number(s.reconnects) % u" errors " % QString::number(s.errors)
                   % u" | cpu " % QString::number(cpuSeconds(), 'f', 1) % u's';
    if (final)
        line += u"\n  totals: samples taken " % QString::number(s.samplesTaken) % u", sent "
                % QString::number(s.samplesSent) % u", acked " % QString::number(s.samplesAcked)
                % u"; batches sent " % QString::number(s.batchesSent) % u", resent "
                % QString::number(s.batchesResent) % u", acked " % QString::number(s.batchesAcked)
                % u"; link losses " % QString::number(s.linkLosses) % u"; faults: drops "
                % QString::number(s.dropsInjected) % u", resends " % QString::number(s.resendsInjected)
                % u" (acked " % QString::number(s.resendsAcked) % u"), malformed "
                % QString::number(s.malformedInjected) % u" (refused "
                % QString::number(s.malformedRefused) % u')';
    return line;
}

void LoadGenerator::onReportTimer()
{
    const LoadStats s = totals();
    const double now = double(m_clock.elapsed()) / 1000.0;
    const double dt = std::max(1e-3, now - m_lastReportS);
    m_intervals.append(QJsonObject{
        {QStringLiteral("t_s"), now},
        {QStringLiteral("connected"), s.connected},
        {QStringLiteral("sent_per_s"), double(s.samplesSent - m_lastReport.samplesSent) / dt},
        {QStringLiteral("acked_per_s"), double(s.samplesAcked - m_lastReport.samplesAcked) / dt},
        {QStringLiteral("unacked"), double(s.unackedSamples)},
        {QStringLiteral("p99_ms"), double(s.latency.since(m_lastReport.latency).quantileMicros(0.99)) / 1000.0},
        {QStringLiteral("reconnects"), double(s.reconnects)},
        {QStringLiteral("cpu_s"), cpuSeconds()}});
    if (!m_options.quiet)
        Q_EMIT progress(progressLine(s, now, false));
    m_lastReport = s;
    m_lastReportS = now;
}

void LoadGenerator::onWatchTimer()
{
    const LoadStats s = totals();
    const double now = double(m_clock.elapsed()) / 1000.0;
    if (s.connected == s.agents) {
        if (!m_allConnectedOnce)
            m_firstAllConnectedS = now;
        m_allConnectedOnce = true;
        if (m_inOutage) {
            m_inOutage = false;
            if (!m_recoveries.empty() && m_recoveries.back().settledAfterS < 0)
                m_recoveries.back().settledAfterS = now - m_recoveries.back().lostAtS;
        }
    } else if (m_allConnectedOnce && !m_draining) {
        if (!m_inOutage) {
            m_inOutage = true;
            m_recoveries.push_back({now, -1, s.connected});
        }
        m_recoveries.back().minConnected = std::min(m_recoveries.back().minConnected, s.connected);
    }
    if (m_draining && !m_finished) {
        // Everything taken was sealed by beginStop(); done when all of it is acknowledged. The
        // pools stop on their own threads: until each has sealed and published, "nothing
        // unacked" may only mean its last samples are not sealed yet.
        const bool allSealed = m_poolsStopped.load(std::memory_order_acquire) == int(m_pools.size());
        if ((allSealed && s.unackedSamples == 0) || m_drainClock.elapsed() >= m_options.drainTimeoutMs)
            finishRun();
    }
}

void LoadGenerator::beginDrain()
{
    if (m_draining)
        return;
    m_draining = true;
    m_drainClock.start();
    const LoadStats atDrain = totals();
    m_connectedAtDrain = atDrain.connected;
    m_latencyAtDrain = atDrain.latency;
    m_durationTimer.stop();
    for (AgentPool *pool : m_pools)
        QMetaObject::invokeMethod(pool, [this, pool] {
            pool->beginStop();
            m_poolsStopped.fetch_add(1, std::memory_order_release);
        }, Qt::QueuedConnection);
}

void LoadGenerator::finishRun()
{
    m_reportTimer.stop();
    m_watchTimer.stop();
    m_drainS = double(m_drainClock.elapsed()) / 1000.0;
    m_finalS = double(m_clock.elapsed()) / 1000.0 - m_drainS;
    LoadStats total;
    for (AgentPool *pool : m_pools) {
        std::vector<AgentSummary> part;
        QMetaObject::invokeMethod(pool, [pool] { return pool->finish(); }, Qt::BlockingQueuedConnection, &part);
        total.merge(pool->snapshot());
        m_summaries.insert(m_summaries.end(), part.begin(), part.end());
    }
    std::sort(m_summaries.begin(), m_summaries.end(),
              [](const AgentSummary &a, const AgentSummary &b) { return a.index < b.index; });
    // Minor recoveries (under half the fleet) are the drop-rate noise, not storms.
    std::erase_if(m_recoveries, [this](const Recovery &r) { return r.minConnected > m_options.agents / 2; });
    // Gauges at the end of the run proper (when the drain began), not after the links closed.
    total.connected = m_connectedAtDrain;
    m_final = total;
    m_finished = true;
    if (const QString err = saveState(); !err.isEmpty())
        qCWarning(lcLoadgen).noquote() << "cannot save the state file:" << err;
    Q_EMIT progress(progressLine(total, m_finalS, true));
    int code = 0;
    if (!m_options.reportPath.isEmpty()) {
        QSaveFile f(m_options.reportPath);
        if (!f.open(QIODevice::WriteOnly)
            || f.write(QJsonDocument(report()).toJson()) < 0 || !f.commit()) {
            qCWarning(lcLoadgen).noquote() << "cannot write" << m_options.reportPath << f.errorString();
            code = 1;
        }
    }
    Q_EMIT finished(code);
}

QJsonObject LoadGenerator::report() const
{
    const LoadStats s = totals();
    const double runS = m_finished ? m_finalS : double(m_clock.elapsed()) / 1000.0;
    QJsonArray recoveries;
    for (const Recovery &r : m_recoveries)
        recoveries.append(QJsonObject{{QStringLiteral("lost_at_s"), r.lostAtS},
                                      {QStringLiteral("settled_after_s"), r.settledAfterS},
                                      {QStringLiteral("min_connected"), r.minConnected}});
    const auto num = [](std::uint64_t v) { return double(v); };
    return QJsonObject{
        {QStringLiteral("server"), m_options.server.toString()},
        {QStringLiteral("agents"), m_options.agents},
        {QStringLiteral("threads"), int(m_pools.size())},
        {QStringLiteral("sample_interval_ms"), m_options.sampling ? m_options.sampleIntervalMs.value_or(-1) : 0},
        {QStringLiteral("send_interval_ms"), m_options.sendIntervalMs.value_or(-1)},
        {QStringLiteral("backlog_samples"), num(m_options.backlogSamples)},
        {QStringLiteral("run_s"), runS},
        {QStringLiteral("drain_s"), m_drainS},
        {QStringLiteral("all_connected_after_s"), m_firstAllConnectedS},
        {QStringLiteral("connected_at_end"), s.connected},
        {QStringLiteral("samples_taken"), num(s.samplesTaken)},
        {QStringLiteral("samples_sent"), num(s.samplesSent)},
        {QStringLiteral("samples_acked"), num(s.samplesAcked)},
        {QStringLiteral("samples_unacked"), num(s.unackedSamples)},
        {QStringLiteral("acked_per_s"), runS > 0 ? double(s.samplesAcked) / (runS + m_drainS) : 0.0},
        {QStringLiteral("batches_sent"), num(s.batchesSent)},
        {QStringLiteral("batches_resent"), num(s.batchesResent)},
        {QStringLiteral("batches_acked"), num(s.batchesAcked)},
        {QStringLiteral("ack_latency"), latencyJson(s.latency)},
        // The whole run is the two below together.
        {QStringLiteral("ack_latency_before_drain"), latencyJson(m_draining ? m_latencyAtDrain : s.latency)},
        {QStringLiteral("ack_latency_drain"), latencyJson(m_draining ? s.latency.since(m_latencyAtDrain) : LatencyHistogram())},
        {QStringLiteral("welcomes"), num(s.welcomes)},
        {QStringLiteral("reconnects"), num(s.reconnects)},
        {QStringLiteral("link_losses"), num(s.linkLosses)},
        {QStringLiteral("errors"), num(s.errors)},
        {QStringLiteral("faults"),
         QJsonObject{{QStringLiteral("drops"), num(s.dropsInjected)},
                     {QStringLiteral("resends"), num(s.resendsInjected)},
                     {QStringLiteral("resends_acked"), num(s.resendsAcked)},
                     {QStringLiteral("malformed"), num(s.malformedInjected)},
                     {QStringLiteral("malformed_refused"), num(s.malformedRefused)}}},
        {QStringLiteral("storms"), recoveries},
        {QStringLiteral("loadgen_cpu_s"), cpuSeconds()},
        {QStringLiteral("intervals"), m_intervals},
    };
}

} // namespace autofact::loadgen
