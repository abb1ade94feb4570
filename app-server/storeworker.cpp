// SPDX-License-Identifier: MIT
#include "storeworker.h"

#include "serverlogging.h"

#include <QDateTime>
#include <QHash>

namespace autofact::server {

StoreWorker::StoreWorker(QString path, QObject *parent)
    : QObject(parent)
    , m_path(std::move(path))
{
    qRegisterMetaType<AuthResult>();
    qRegisterMetaType<std::vector<SessionCommit>>();
    qRegisterMetaType<CommitStats>();
    qRegisterMetaType<Hello>();
    qRegisterMetaType<SampleBatch>();
    qRegisterMetaType<AgentConfig>();
    m_commitTimer.setSingleShot(true);
    // A few milliseconds of waiting lets batches from many agents share one transaction;
    // that is what makes synchronous=FULL affordable.
    m_commitTimer.setInterval(5);
    connect(&m_commitTimer, &QTimer::timeout, this, &StoreWorker::flush);
}

StoreWorker::~StoreWorker() = default;

bool StoreWorker::open(const DefaultChanges &changes, QString *error)
{
    m_store = std::make_unique<Store>(m_path);
    if (!m_store->open(error)) {
        m_store.reset();
        return false;
    }
    // Connections left open by a crash are closed now, so the inventory is honest.
    m_store->markAllOffline(QDateTime::currentMSecsSinceEpoch(),
                            QStringLiteral("server stopped unexpectedly"));
    const AgentConfig current = m_store->defaultConfig();
    AgentConfig wanted = current;
    wanted.sampleIntervalMs = changes.sampleIntervalMs.value_or(current.sampleIntervalMs);
    wanted.sendIntervalMs = changes.sendIntervalMs.value_or(current.sendIntervalMs);
    wanted.heartbeatIntervalMs = changes.heartbeatIntervalMs.value_or(current.heartbeatIntervalMs);
    // Only a real change bumps the revision, so restarts with the same flags push nothing new.
    if (!(wanted == current) && !m_store->setDefaultConfig(wanted)) {
        if (error)
            *error = QStringLiteral("cannot store the default agent config");
        return false;
    }
    return true;
}

void StoreWorker::close()
{
    flush();
    if (m_store)
        m_store->markAllOffline(QDateTime::currentMSecsSinceEpoch(),
                                QStringLiteral("server shut down"));
    m_store.reset();
}

void StoreWorker::authenticate(quint64 session, const Hello &hello, const QString &peer)
{
    AuthResult result;
    if (!m_store) {
        result.reason = QStringLiteral("database is closed");
    } else {
        result = m_store->authenticate(hello, peer, QDateTime::currentMSecsSinceEpoch());
    }
    Q_EMIT authenticated(session, result);
}

void StoreWorker::enqueue(quint64 session, const QString &clientId, SampleBatch batch)
{
    m_pendingSamples += batch.samples.size();
    m_pending.push_back({session, clientId, std::move(batch)});
    if (m_pendingSamples >= m_maxQueuedSamples)
        flush();
    else if (!m_commitTimer.isActive())
        m_commitTimer.start();
}

void StoreWorker::flush()
{
    m_commitTimer.stop();
    if (m_pending.empty() || !m_store)
        return;
    QElapsedTimer timer;
    timer.start();
    std::vector<Store::IngestItem> items;
    items.reserve(m_pending.size());
    for (const Pending &p : m_pending)
        items.push_back({p.clientId, &p.batch});
    QString error;
    const std::vector<Store::IngestResult> results =
        m_store->ingest(items, QDateTime::currentMSecsSinceEpoch(), &error);
    if (!error.isEmpty()) {
        qCWarning(lcStore).noquote() << "group commit failed:" << error;
        Q_EMIT storeError(error);
    }

    std::vector<SessionCommit> commits;
    QHash<quint64, std::size_t> bySession;
    CommitStats stats;
    stats.batches = int(m_pending.size());
    for (std::size_t i = 0; i < m_pending.size() && i < results.size(); ++i) {
        const Pending &p = m_pending[i];
        auto it = bySession.find(p.session);
        if (it == bySession.end()) {
            it = bySession.insert(p.session, commits.size());
            commits.push_back({p.session, p.clientId, {}, 0, 0, 0, 0, std::nullopt});
        }
        SessionCommit &c = commits[*it];
        ++c.batches;
        const Store::IngestResult &r = results[i];
        if (r.status == Store::IngestResult::Status::Failed) {
            ++c.failedBatches;
            continue;
        }
        if (r.status == Store::IngestResult::Status::Duplicate) {
            ++c.duplicateBatches;
        } else {
            c.storedSamples += p.batch.samples.size();
            stats.samples += p.batch.samples.size();
            if (!p.batch.samples.empty()
                && (!c.latest || p.batch.samples.back().timestampMs >= c.latest->timestampMs))
                c.latest = p.batch.samples.back();
        }
        // Consecutive sequences of one session collapse into one range.
        if (!c.ranges.empty() && c.ranges.back().last + 1 == r.sequence)
            c.ranges.back().last = r.sequence;
        else
            c.ranges.push_back({r.sequence, r.sequence});
    }
    m_pending.clear();
    m_queued.fetch_sub(std::min<quint64>(m_pendingSamples, m_queued.load()), std::memory_order_relaxed);
    m_pendingSamples = 0;
    stats.elapsedUs = timer.nsecsElapsed() / 1000;
    Q_EMIT committed(commits, stats);
}

void StoreWorker::recordDisconnect(qint64 connectionId, const QString &reason)
{
    if (m_store && connectionId > 0)
        m_store->recordDisconnect(connectionId, QDateTime::currentMSecsSinceEpoch(), reason);
}

void StoreWorker::recordConfigApplied(const QString &clientId, quint32 revision)
{
    if (m_store)
        m_store->recordConfigApplied(clientId, revision, QDateTime::currentMSecsSinceEpoch());
}

void StoreWorker::setDefaultConfig(const AgentConfig &config)
{
    if (!m_store || !m_store->setDefaultConfig(config)) {
        Q_EMIT storeError(QStringLiteral("cannot store the default agent config"));
        return;
    }
    for (const Store::ClientInfo &c : m_store->clients())
        Q_EMIT configChanged(c.id, m_store->effectiveConfig(c.id));
}

void StoreWorker::setClientOverride(const QString &clientId, const std::optional<AgentConfig> &config)
{
    if (!m_store || !m_store->setClientOverride(clientId, config)) {
        Q_EMIT storeError(QStringLiteral("cannot store the config override of %1").arg(clientId));
        return;
    }
    Q_EMIT configChanged(clientId, m_store->effectiveConfig(clientId));
}

} // namespace autofact::server
