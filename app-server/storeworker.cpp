// SPDX-License-Identifier: MIT
#include "storeworker.h"

#include "alerts/alertmonitor.h"
#include "alerts/alertslogging.h"
#include "store/database.h"
#include "store/storelogging.h"

#include <QDateTime>
#include <QSqlDriver>
#include <QUuid>
#include <QHash>

namespace autofact::server {

namespace {
qint64 now()
{
    return QDateTime::currentMSecsSinceEpoch();
}
} // namespace

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
    qRegisterMetaType<QList<AlertNotice>>();
    qRegisterMetaType<QList<AlertRecord>>();
    qRegisterMetaType<QList<AlertRuleRow>>();
    qRegisterMetaType<QList<NotifierInfo>>();
    qRegisterMetaType<MergeResult>();
    qRegisterMetaType<RetentionSettings>();
    qRegisterMetaType<PurgeResult>();
    // Retention needs no hurry: a look every minute, then slices back to back while there is
    // work, each its own short transaction with ingest commits in between.
    m_purgeTimer.setInterval(60'000);
    connect(&m_purgeTimer, &QTimer::timeout, this, [this] { purge(); });
    m_commitTimer.setSingleShot(true);
    // A few milliseconds of waiting lets batches from many agents share one transaction;
    // that is what makes synchronous=FULL affordable.
    m_commitTimer.setInterval(5);
    connect(&m_commitTimer, &QTimer::timeout, this, &StoreWorker::flush);
    // `autofactory revoke` must cut a live session within 5 s; polling an index of revoked
    // rows once a second costs microseconds.
    m_revocationTimer.setInterval(1000);
    connect(&m_revocationTimer, &QTimer::timeout, this, &StoreWorker::pollRevocations);
    // Host rules count seconds; notifier changes from `autofactory notify` must reach a running
    // server within 5 s: a tick a second, a notifier read every other tick.
    m_alertTimer.setInterval(1000);
    connect(&m_alertTimer, &QTimer::timeout, this, [this] {
        evaluateAlerts();
        writeDeliveries();
        if (++m_alertTicks % 2 == 0) {
            pollNotifiers();
            pollConfigChanges();
        }
    });
}

StoreWorker::~StoreWorker() = default;

template<typename T>
bool StoreWorker::check(const StoreResult<T> &result, const QString &what)
{
    if (result)
        return true;
    const QString message = what + QStringLiteral(": ") + result.error().message;
    qCWarning(lcStore).noquote() << message;
    Q_EMIT storeError(message);
    return false;
}

StoreResult<void> StoreWorker::open(const DefaultChanges &changes)
{
    StoreOptions options;
    // On a shared store each node is known by its connection's application_name: sessions it
    // holds are tagged with it, and they are closed when that connection is gone.
    options.applicationName = m_nodeName;
    auto store = std::make_unique<Store>(m_path, options);
    if (auto opened = store->open(); !opened)
        return opened;
    if (store->isShared())
        listenForOtherNodes(*store);
    store->enrolment().setTokenRequired(m_tokenRequired);
    auto revoked = store->enrolment().revokedClients();
    if (!revoked)
        return revoked.error();
    m_revoked = QSet<QString>(revoked->cbegin(), revoked->cend());
    // Connections left open by a crash are closed now, so the inventory is honest.
    if (auto closed = store->enrolment().markAllOffline(now(), QStringLiteral("server stopped unexpectedly")); !closed)
        return closed.error();
    auto current = store->configs().defaultConfig();
    if (!current)
        return current.error();
    AgentConfig wanted = *current;
    wanted.sampleIntervalMs = changes.sampleIntervalMs.value_or(current->sampleIntervalMs);
    wanted.sendIntervalMs = changes.sendIntervalMs.value_or(current->sendIntervalMs);
    wanted.heartbeatIntervalMs = changes.heartbeatIntervalMs.value_or(current->heartbeatIntervalMs);
    wanted.filesystemsIntervalMs = changes.filesystemsIntervalMs.value_or(current->filesystemsIntervalMs);
    wanted.disksIntervalMs = changes.disksIntervalMs.value_or(current->disksIntervalMs);
    wanted.networkIntervalMs = changes.networkIntervalMs.value_or(current->networkIntervalMs);
    wanted.temperaturesIntervalMs = changes.temperaturesIntervalMs.value_or(current->temperaturesIntervalMs);
    // Only a real change bumps the revision, so restarts with the same flags push nothing new.
    if (!(wanted == *current)) {
        if (auto set = store->configs().setDefaultConfig(wanted); !set)
            return StoreError{set.error().kind,
                              QStringLiteral("cannot store the default agent config: %1").arg(set.error().message)};
    }
    auto retention = store->retention().settings();
    if (!retention)
        return retention.error();
    RetentionSettings keep = *retention;
    keep.keepRawMs = changes.keepRawMs.value_or(keep.keepRawMs);
    keep.keepMinutesMs = changes.keepMinutesMs.value_or(keep.keepMinutesMs);
    keep.keepHoursMs = changes.keepHoursMs.value_or(keep.keepHoursMs);
    keep.maxDbBytes = changes.maxDbBytes.value_or(keep.maxDbBytes);
    if (!(keep == *retention))
        if (auto set = store->retention().setSettings(keep); !set)
            return StoreError{set.error().kind, QStringLiteral("cannot store the retention settings: %1").arg(set.error().message)};
    auto alerts = std::make_unique<AlertMonitor>(*store, m_serverName);
    if (auto loaded = alerts->load(now()); !loaded)
        return StoreError{loaded.error().kind,
                          QStringLiteral("cannot load the alert rules: %1").arg(loaded.error().message)};
    auto counter = store->configs().revisionCounter();
    if (!counter)
        return counter.error();
    m_configCounter = *counter;
    m_store = std::move(store);
    m_alerts = std::move(alerts);
    m_revocationTimer.start();
    m_alertTimer.start();
    m_purgeTimer.start();
    Q_EMIT retentionChanged(keep);
    // The first look soon after start: a server that was down for a while has catching up to do.
    QTimer::singleShot(10'000, this, [this] { purge(); });
    Q_EMIT alertsChanged(m_alerts->active());
    m_alerts->takeChanged();
    emitAlertSettings();
    pollNotifiers();
    return {};
}

void StoreWorker::setRetention(const RetentionSettings &settings)
{
    if (!m_store) {
        Q_EMIT storeError(QStringLiteral("cannot store the retention settings: database is closed"));
        return;
    }
    if (!check(m_store->retention().setSettings(settings), QStringLiteral("cannot store the retention settings")))
        return;
    Q_EMIT retentionChanged(settings);
    purge();
}

bool StoreWorker::doesHousekeeping()
{
    if (!m_store)
        return false;
    auto leader = m_store->maintenanceLeader();
    return leader && *leader;
}

void StoreWorker::listenForOtherNodes(Store &store)
{
    QSqlDriver *driver = store.database().driver();
    for (const char *channel : {"autofact_config", "autofact_revoke", "autofact_session"})
        if (!store.database().subscribe(QString::fromLatin1(channel)))
            qCWarning(lcStore) << "cannot listen on" << channel << "- changes from other nodes arrive by polling only";
    connect(driver, &QSqlDriver::notification, this,
            [this](const QString &name, QSqlDriver::NotificationSource, const QVariant &payload) {
                if (name == u"autofact_config") {
                    pollConfigChanges();
                } else if (name == u"autofact_revoke") {
                    pollRevocations();
                } else if (name == u"autofact_session") {
                    // "CLIENT NODE": the client has a live session on NODE now; if that is not
                    // this node, the session here is stale (a half-open or duplicate connection).
                    const QStringList parts = payload.toString().split(u' ');
                    if (parts.size() == 2 && parts[1] != m_nodeName)
                        Q_EMIT sessionTakenElsewhere(parts[0]);
                }
            });
}

void StoreWorker::announceSamples()
{
    if (!m_store || !m_store->isShared())
        return;
    // A NOTIFY per commit would wake every watching dashboard hundreds of times a second under
    // load; one per 500 ms is as live as its table needs, and the trailing one is never lost.
    const qint64 wait = m_samplesAnnounced.isValid() ? kAnnounceEveryMs - m_samplesAnnounced.elapsed() : 0;
    if (wait > 0) {
        if (!m_announcePending) {
            m_announcePending = true;
            QTimer::singleShot(wait, this, [this] {
                m_announcePending = false;
                announceSamples();
            });
        }
        return;
    }
    m_samplesAnnounced.start();
    if (auto n = m_store->database().exec(QStringLiteral("NOTIFY autofact_samples")); !n)
        qCWarning(lcStore).noquote() << "cannot announce stored samples:" << n.error().message;
}

void StoreWorker::purge(qint64 nowMs)
{
    if (!m_store || !doesHousekeeping())
        return;
    // Today's and the next two days' partitions, made ahead in a transaction of their own: made
    // inside an ingest transaction they would lock the table for every node until its commit.
    if (m_store->isShared() && nowMs == 0)
        check(m_store->database().precreatePartitions(now()), QStringLiteral("creating the next days' partitions"));
    if (nowMs == 0) {
        // A new run (timer, start-up, new settings): one chain at a time; a request during a
        // run starts another run after it.
        if (m_purging) {
            m_purgeAgain = true;
            return;
        }
        nowMs = now();
    }
    flush(); // what is queued is older than what the slice may delete
    auto slice = m_store->retention().purgeSlice(nowMs, m_purgeSliceRows);
    if (!check(slice, QStringLiteral("cannot purge expired history"))) {
        m_purging = false;
        m_purgeRun = {};
        return;
    }
    m_purging = true;
    m_purgeRun.rawRows += slice->rawRows;
    m_purgeRun.minuteRows += slice->minuteRows;
    m_purgeRun.hourRows += slice->hourRows;
    m_purgeRun.batchRows += slice->batchRows;
    m_purgeRun.overBudget = m_purgeRun.overBudget || slice->overBudget;
    if (slice->more) {
        QMetaObject::invokeMethod(this, [this, nowMs] { purge(nowMs); }, Qt::QueuedConnection);
        return;
    }
    const PurgeResult total = m_purgeRun;
    m_purgeRun = {};
    if (slice->stuckOverBudget && !m_warnedOverBudget) {
        m_warnedOverBudget = true;
        qCWarning(lcStore) << "the database is over its size budget with only the last hour of raw samples,"
                              " day of minutes and week of hours left: raise --max-db-size";
        Q_EMIT storeError(QStringLiteral("the database is over its size budget (--max-db-size) and nothing more may "
                                         "be deleted: raise the budget"));
    }
    if (total.total() > 0) {
        qCInfo(lcStore).noquote() << "retention: deleted" << total.rawRows << "raw samples," << total.minuteRows
                                  << "minute rows," << total.hourRows << "hour rows," << total.batchRows << "batch rows"
                                  << (total.overBudget ? "(over the size budget)" : "");
        Q_EMIT purged(total);
    }
    // Then what is left of the closed windows goes into chunks, in slices as well.
    auto backlog = m_store->sealer().backlog(nowMs);
    if (!check(backlog, QStringLiteral("cannot count the samples waiting for sealing"))) {
        m_purging = false;
        return;
    }
    m_sealBacklog = *backlog;
    m_sealRun = {};
    m_sealReported = 0;
    if (m_sealBacklog >= kSealProgressFrom)
        qCInfo(lcStore).noquote() << "sealing" << m_sealBacklog
                                  << "raw samples into chunks (history stored as rows: the storage migration); ingest goes on meanwhile";
    seal(nowMs);
}

void StoreWorker::seal(qint64 nowMs)
{
    if (!m_store) {
        m_purging = false;
        return;
    }
    flush();
    auto slice = m_store->sealer().sealSlice(nowMs, m_purgeSliceRows);
    if (!check(slice, QStringLiteral("cannot seal raw samples into chunks"))) {
        m_purging = false;
        return;
    }
    m_sealRun.samples += slice->samples;
    m_sealRun.chunks += slice->chunks;
    if (m_sealBacklog >= kSealProgressFrom && m_sealRun.samples * 10 / m_sealBacklog > m_sealReported) {
        m_sealReported = m_sealRun.samples * 10 / m_sealBacklog;
        qCInfo(lcStore).noquote() << "sealed" << m_sealRun.samples << "of" << m_sealBacklog << "raw samples into"
                                  << m_sealRun.chunks << "chunks";
    }
    if (slice->more) {
        QMetaObject::invokeMethod(this, [this, nowMs] { seal(nowMs); }, Qt::QueuedConnection);
        return;
    }
    // Device readings after the samples: a few rows per client and window, the same slices.
    auto devices = m_store->devices().sealSlice(nowMs, std::max(1, m_purgeSliceRows / 100));
    if (!check(devices, QStringLiteral("cannot seal device readings into chunks"))) {
        m_purging = false;
        return;
    }
    if (devices->more) {
        QMetaObject::invokeMethod(this, [this, nowMs] { seal(nowMs); }, Qt::QueuedConnection);
        return;
    }
    m_purging = false;
    if (m_sealBacklog >= kSealProgressFrom)
        qCInfo(lcStore).noquote() << "sealing done:" << m_sealRun.samples << "raw samples in" << m_sealRun.chunks << "chunks";
    else if (m_sealRun.samples > 0)
        qCDebug(lcStore).noquote() << "sealed" << m_sealRun.samples << "raw samples into" << m_sealRun.chunks << "chunks";
    if (m_purgeAgain) {
        m_purgeAgain = false;
        QMetaObject::invokeMethod(this, [this] { purge(); }, Qt::QueuedConnection);
    }
}

void StoreWorker::close()
{
    m_purgeTimer.stop();
    m_revocationTimer.stop();
    m_alertTimer.stop();
    flush();
    writeDeliveries();
    m_alerts.reset();
    if (m_store)
        check(m_store->enrolment().markAllOffline(now(), QStringLiteral("server shut down")),
              QStringLiteral("closing connection rows"));
    m_store.reset();
}

void StoreWorker::authenticate(quint64 session, const Hello &hello, const QString &peer)
{
    if (!m_store) {
        Q_EMIT authenticated(session, {}, QStringLiteral("database is closed"));
        return;
    }
    auto result = m_store->enrolment().authenticate(hello, peer, now());
    if (!check(result, QStringLiteral("authenticating an agent from %1").arg(peer))) {
        Q_EMIT authenticated(session, {}, result.error().message);
        return;
    }
    if (m_store->isShared()
        && (result->outcome == AuthResult::Outcome::NewClient || result->outcome == AuthResult::Outcome::Returning)) {
        // Other nodes holding a session of this client end it: one live session per agent.
        const QString payload = result->clientId + u' ' + m_nodeName;
        check(m_store->database().exec(QStringLiteral("SELECT pg_notify('autofact_session', ?)"), {payload}),
              QStringLiteral("telling other nodes about %1").arg(result->clientId));
    }
    if (m_alerts && (result->outcome == AuthResult::Outcome::NewClient
                     || result->outcome == AuthResult::Outcome::Returning)) {
        m_alerts->addClient(result->clientId, hello.hostname);
        // The client may come from another node: its rules go on from the alerts stored for
        // it before its first batch is judged here, so a replayed spool cannot fire twice.
        // Another node stored its data since this one last judged it: it moved here.
        const bool movedHere = result->lastSequence != m_judgedUpTo.value(result->clientId, 0);
        if (m_store->isShared())
            check(m_alerts->adoptClient(result->clientId, movedHere),
                  QStringLiteral("reading the active alerts of %1").arg(result->clientId));
    }
    Q_EMIT authenticated(session, *result, QString());
}

void StoreWorker::revokeClient(const QString &clientId)
{
    if (!m_store) {
        Q_EMIT storeError(QStringLiteral("cannot revoke %1: the database is closed").arg(clientId));
        return;
    }
    if (!check(m_store->enrolment().revoke(clientId, now()), QStringLiteral("revoking %1").arg(clientId)))
        return;
    m_revoked.insert(clientId);
    if (m_alerts) {
        m_alerts->removeClient(clientId, QStringLiteral("client blocked"), now());
        emitNotices(m_alerts->settle(now()));
    }
    Q_EMIT clientRevoked(clientId);
}

void StoreWorker::createToken(int maxUses, qint64 validForMs, const QString &label)
{
    if (!m_store) {
        Q_EMIT storeError(QStringLiteral("cannot create a token: the database is closed"));
        return;
    }
    const qint64 t = now();
    const std::optional<qint64> expires = validForMs > 0 ? std::optional<qint64>(t + validForMs) : std::nullopt;
    auto created = m_store->tokens().create(maxUses, expires, label, t);
    if (!check(created, QStringLiteral("creating an enrolment token")))
        return;
    Q_EMIT tokenCreated(created->token, created->id, expires.value_or(0));
}

void StoreWorker::pollRevocations()
{
    if (!m_store)
        return;
    auto revoked = m_store->enrolment().revokedClients();
    if (!revoked) {
        qCWarning(lcStore).noquote() << "cannot read revoked clients:" << revoked.error().message;
        return;
    }
    for (const QString &id : std::as_const(*revoked)) {
        if (m_revoked.contains(id))
            continue;
        m_revoked.insert(id);
        qCInfo(lcStore).noquote() << "client" << id << "was revoked by another process";
        if (m_alerts) {
            m_alerts->removeClient(id, QStringLiteral("client blocked"), now());
            emitNotices(m_alerts->settle(now()));
        }
        Q_EMIT clientRevoked(id);
    }
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
    std::vector<IngestItem> items;
    items.reserve(m_pending.size());
    for (const Pending &p : m_pending) {
        // Whether the client's previous batch came over this connection (gap reasons).
        auto last = m_lastSessionOf.find(p.clientId);
        items.push_back({p.clientId, &p.batch, last != m_lastSessionOf.end() && *last == p.session});
        if (last == m_lastSessionOf.end())
            m_lastSessionOf.insert(p.clientId, p.session);
        else
            *last = p.session;
    }
    auto stored = m_store->ingest().write(items, now());
    // A failed transaction stored nothing: every batch stays unacked and agents resend it.
    std::vector<IngestResult> results = stored ? std::move(stored).value() : std::vector<IngestResult>();
    if (!check(stored, QStringLiteral("group commit of %1 batches").arg(m_pending.size()))) {
        results.resize(m_pending.size());
        for (std::size_t i = 0; i < m_pending.size(); ++i)
            results[i] = {IngestResult::Status::Failed, m_pending[i].batch.sequence};
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
            commits.push_back({p.session, p.clientId, {}, 0, 0, 0, 0, std::nullopt, {}});
        }
        SessionCommit &c = commits[*it];
        ++c.batches;
        const IngestResult &r = results[i];
        if (r.status == IngestResult::Status::Failed) {
            ++c.failedBatches;
            continue;
        }
        if (r.status == IngestResult::Status::Duplicate) {
            ++c.duplicateBatches;
        } else {
            if (m_alerts) {
                m_alerts->observeBatch(p.clientId, p.batch.samples, p.batch.droppedTotal, p.batch.devices);
                quint64 &judged = m_judgedUpTo[p.clientId];
                judged = std::max<quint64>(judged, p.batch.sequence);
            }
            c.storedSamples += p.batch.samples.size();
            stats.samples += p.batch.samples.size();
            if (!p.batch.samples.empty()
                && (!c.latest || p.batch.samples.back().timestampMs >= c.latest->timestampMs))
                c.latest = p.batch.samples.back();
            if (!p.batch.devices.empty()) {
                metrics::DeviceSummary newer;
                newer.update(p.batch);
                c.devices.merge(newer);
            }
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
    if (stats.samples > 0)
        announceSamples();
    // After the acks are on their way: alert writes never delay an acknowledgement.
    if (m_alerts)
        emitNotices(m_alerts->settle(now()));
}

void StoreWorker::recordDisconnect(qint64 connectionId, const QString &reason)
{
    if (m_store && connectionId > 0
        && check(m_store->enrolment().recordDisconnect(connectionId, now(), reason), QStringLiteral("recording a disconnect")))
        announceSamples(); // dashboards watching a shared store see the client go offline now
}

void StoreWorker::recordConfigApplied(const QString &clientId, quint32 revision)
{
    if (m_store)
        check(m_store->configs().recordConfigApplied(clientId, revision, now()),
              QStringLiteral("recording the config %1 applied").arg(clientId));
}

void StoreWorker::setDefaultConfig(const AgentConfig &config)
{
    if (!m_store) {
        Q_EMIT storeError(QStringLiteral("cannot store the default agent config: database is closed"));
        return;
    }
    const quint32 since = m_configCounter;
    auto revision = m_store->configs().setDefaultConfig(config);
    if (!check(revision, QStringLiteral("cannot store the default agent config")))
        return;
    catchUp(since, *revision);
    Q_EMIT configStored();
    auto clients = m_store->inventory().clients();
    if (!check(clients, QStringLiteral("reading clients to push the new default")))
        return;
    for (const ClientInfo &c : *clients) {
        auto effective = m_store->configs().effectiveConfig(c.id);
        if (check(effective, QStringLiteral("reading the config of %1").arg(c.id)))
            Q_EMIT configChanged(c.id, *effective);
    }
}

void StoreWorker::setClientOverride(const QString &clientId, const std::optional<AgentConfig> &config)
{
    if (!m_store) {
        Q_EMIT storeError(QStringLiteral("cannot store the config of %1: database is closed").arg(clientId));
        return;
    }
    const quint32 since = m_configCounter;
    auto revision = m_store->configs().setClientOverride(clientId, config);
    if (!check(revision, QStringLiteral("cannot store the config override of %1").arg(clientId)))
        return;
    catchUp(since, *revision);
    Q_EMIT configStored();
    auto effective = m_store->configs().effectiveConfig(clientId);
    if (check(effective, QStringLiteral("reading the config of %1").arg(clientId)))
        Q_EMIT configChanged(clientId, *effective);
}

void StoreWorker::pushConfigsSince(quint32 sinceRevision)
{
    auto clients = m_store->inventory().clients();
    if (!check(clients, QStringLiteral("reading clients to push their behaviour")))
        return;
    for (const ClientInfo &c : std::as_const(*clients)) {
        if (c.configRevision <= sinceRevision || c.forgotten || c.blockedMs > 0)
            continue;
        auto effective = m_store->configs().effectiveConfig(c.id);
        if (check(effective, QStringLiteral("reading the config of %1").arg(c.id)))
            Q_EMIT configChanged(c.id, *effective);
    }
}

void StoreWorker::pollConfigChanges()
{
    if (!m_store)
        return;
    auto counter = m_store->configs().revisionCounter();
    if (!counter) {
        qCWarning(lcStore).noquote() << "cannot read the behaviour revision:" << counter.error().message;
        return;
    }
    if (*counter == m_configCounter)
        return;
    const quint32 since = m_configCounter;
    m_configCounter = *counter;
    qCInfo(lcStore) << "behaviour or groups changed by another process (revision" << *counter << ")";
    Q_EMIT configStored();
    pushConfigsSince(since);
    reloadAlertRules();
}

void StoreWorker::setClientGroup(const QStringList &clientIds, const QString &group)
{
    if (!m_store) {
        Q_EMIT storeError(QStringLiteral("cannot change groups: database is closed"));
        return;
    }
    const quint32 since = m_configCounter;
    auto revision = m_store->configs().setClientGroup(clientIds, group);
    if (!check(revision, QStringLiteral("cannot change the group of %1").arg(clientIds.join(QStringLiteral(", ")))))
        return;
    m_configCounter = *revision;
    Q_EMIT configStored();
    pushConfigsSince(since);
    reloadAlertRules();
}

void StoreWorker::setGroupOverride(const QString &group, const std::optional<AgentConfig> &config)
{
    if (!m_store) {
        Q_EMIT storeError(QStringLiteral("cannot store the behaviour of group %1: database is closed").arg(group));
        return;
    }
    const quint32 since = m_configCounter;
    auto revision = m_store->configs().setGroupOverride(group, config);
    if (!check(revision, QStringLiteral("cannot store the behaviour of group %1").arg(group)))
        return;
    Q_EMIT configStored();
    pushConfigsSince(since);
    if (*revision > since + 1)
        reloadAlertRules(); // another process changed groups meanwhile
    m_configCounter = std::max(m_configCounter, *revision);
}

void StoreWorker::catchUp(quint32 since, quint32 revision)
{
    // Another process (`autofactory group set`) may have bumped the counter since the last
    // poll: its change must not hide behind this one.
    if (revision > since + 1) {
        pushConfigsSince(since);
        reloadAlertRules();
    }
    m_configCounter = std::max(m_configCounter, revision);
}

void StoreWorker::reloadAlertRules()
{
    if (m_alerts && check(m_alerts->reloadRules(now()), QStringLiteral("cannot apply the group alert rules"))) {
        emitNotices(m_alerts->settle(now()));
        emitAlertSettings();
    }
}

void StoreWorker::mergeClients(const QString &oldId, const QString &newId)
{
    if (!m_store) {
        Q_EMIT storeError(QStringLiteral("cannot merge %1 into %2: database is closed").arg(oldId, newId));
        return;
    }
    if (m_merge) {
        Q_EMIT storeError(QStringLiteral("cannot merge %1 into %2: another merge is running").arg(oldId, newId));
        return;
    }
    flush();
    auto job = m_store->inventory().beginMerge(oldId, newId);
    if (!check(job, QStringLiteral("cannot merge %1 into %2").arg(oldId, newId)))
        return;
    m_merge = *job;
    m_mergeSince = m_configCounter;
    // Samples move in slices, each its own short transaction, with the event loop in between:
    // batches keep being stored and acknowledged during a merge of any size.
    QMetaObject::invokeMethod(this, &StoreWorker::continueMerge, Qt::QueuedConnection);
}

void StoreWorker::continueMerge()
{
    if (!m_store || !m_merge)
        return;
    MergeJob &job = *m_merge;
    const QString what = QStringLiteral("cannot merge %1 into %2").arg(job.oldId, job.newId);
    auto moved = m_store->inventory().moveMergeSlice(job, kMergeSliceRows);
    if (!check(moved, what)) {
        m_merge.reset(); // run it again to finish: every step left the database consistent
        return;
    }
    if (*moved > 0) {
        QMetaObject::invokeMethod(this, &StoreWorker::continueMerge, Qt::QueuedConnection);
        return;
    }
    flush();
    auto merged = m_store->inventory().finishMerge(job, now());
    const QString oldId = job.oldId;
    const QString newId = job.newId;
    m_merge.reset();
    if (!check(merged, what))
        return;
    if (auto counter = m_store->configs().revisionCounter())
        m_configCounter = std::max(m_configCounter, *counter);
    // The old identity could not connect, so the engine holds nothing of it; the new one may
    // have taken over its alert overrides or group.
    reloadAlertRules();
    pushConfigsSince(m_mergeSince);
    Q_EMIT clientsMerged(oldId, newId, *merged);
}

void StoreWorker::forgetClient(const QString &clientId, bool deleteHistory)
{
    if (!m_store) {
        Q_EMIT storeError(QStringLiteral("cannot forget %1: database is closed").arg(clientId));
        return;
    }
    // Batches of this client still queued would be refused after a delete anyway; writing
    // them first keeps the order of events the user saw.
    flush();
    if (check(m_store->inventory().forgetClient(clientId, deleteHistory, now()),
              QStringLiteral("cannot forget %1").arg(clientId))) {
        if (m_alerts) {
            m_alerts->removeClient(clientId, QStringLiteral("client forgotten"), now());
            emitNotices(m_alerts->settle(now()));
        }
        Q_EMIT clientForgotten(clientId, deleteHistory);
    }
}

void StoreWorker::discardEnrolment(const QString &clientId)
{
    if (m_store)
        check(m_store->inventory().forgetClient(clientId, true, now()),
              QStringLiteral("removing the unused enrolment %1").arg(clientId));
}

void StoreWorker::emitNotices(std::vector<AlertNotice> notices)
{
    if (!notices.empty())
        Q_EMIT alertNotices(QList<AlertNotice>(std::make_move_iterator(notices.begin()),
                                               std::make_move_iterator(notices.end())));
    if (m_alerts && m_alerts->takeChanged())
        Q_EMIT alertsChanged(m_alerts->active());
}

void StoreWorker::emitAlertSettings()
{
    auto rows = m_store->alerts().rules();
    if (check(rows, QStringLiteral("reading alert rules")))
        Q_EMIT alertSettingsChanged(*rows, m_alerts->repeatIntervalMs());
}

void StoreWorker::noteHealth(const QString &clientId, ClientHealth health, qint64 atMs)
{
    if (health == ClientHealth::Up || health == ClientHealth::Stale)
        m_localSessions.insert(clientId);
    else
        m_localSessions.remove(clientId);
    if (m_alerts)
        m_alerts->observeHealth(clientId, health, atMs);
}

void StoreWorker::noteBacklog(const QString &clientId, quint32 batches, qint64 atMs)
{
    if (m_alerts)
        m_alerts->observeBacklog(clientId, batches, atMs);
}

void StoreWorker::evaluateAlerts()
{
    if (m_alerts && m_store && m_store->isShared()) {
        // Nodes whose database connection went (kill -9, a cut) leave sessions open: close them.
        if (m_alertTicks % 2 == 0 && check(m_store->enrolment().nodeAlive(now()), QStringLiteral("signing this node alive")))
            check(m_store->enrolment().closeLostNodes(now()), QStringLiteral("closing sessions of lost nodes"));
        // Alerts other nodes fired or resolved and dashboards acknowledged: every other tick,
        // so they show everywhere within 2 s and the judge repeats what it should.
        if (m_alertTicks % 2 == 1)
            check(m_alerts->syncActive(m_localSessions), QStringLiteral("reading the fleet's active alerts"));
        if (!doesHousekeeping()) {
            // One node judges host rules and repeats; each judges the backlogs its sessions report.
            emitNotices(m_alerts->tick(now(), false));
            return;
        }
        // The judge sees its own sessions through its hub, and every other client through the
        // shared sessions table: up while any node holds a session, down when none does.
        if (m_alertTicks % 2 == 0) {
            auto open = m_store->enrolment().sessionsOpen();
            if (check(open, QStringLiteral("reading which clients are connected to other nodes")))
                for (const Enrolment::SessionState &c : std::as_const(*open)) {
                    if (m_localSessions.contains(c.id))
                        continue;
                    m_alerts->addClient(c.id, c.hostname, c.hasData); // enrolled on another node
                    if (!c.hasData)
                        continue;
                    // Stale by the hub's rule, from when its node last stored data for it
                    // (node clocks are assumed in NTP agreement, well inside the margin).
                    HealthInputs in;
                    in.connected = c.open;
                    in.hasData = true;
                    in.lastDataMs = c.lastSeenMs;
                    in.sendIntervalMs = c.sendIntervalMs;
                    const ClientHealth health = classifyHealth(in, now());
                    // Stale since its margin ran out, not since this look (the hold counts from there).
                    m_alerts->observeHealth(c.id, health,
                                            health == ClientHealth::Stale ? c.lastSeenMs + staleAfterMs(c.sendIntervalMs)
                                                                          : now());
                }
        }
    }
    if (m_alerts)
        emitNotices(m_alerts->tick(now()));
}

void StoreWorker::publishAlertState()
{
    if (!m_alerts)
        return;
    m_alerts->takeChanged();
    Q_EMIT alertsChanged(m_alerts->active());
    emitAlertSettings();
    Q_EMIT notifiersChanged(m_notifiers);
}

void StoreWorker::acknowledgeAlert(qint64 alertId, bool on)
{
    if (!m_alerts)
        return;
    if (check(m_alerts->acknowledge(alertId, on, now()),
              QStringLiteral("cannot acknowledge alert %1").arg(alertId)))
        emitNotices({});
}

void StoreWorker::silenceAlert(qint64 alertId, qint64 untilMs, const QString &reason)
{
    if (!m_alerts)
        return;
    if (check(m_alerts->silence(alertId, untilMs, reason), QStringLiteral("cannot silence alert %1").arg(alertId)))
        emitNotices({});
}

void StoreWorker::setAlertRule(const QString &rule, const QString &clientId, const AlertRuleSettings &settings,
                               bool remove)
{
    if (!m_alerts)
        return;
    if (!check(m_alerts->setRule(rule, clientId, remove ? std::nullopt : std::optional(settings), now()),
               QStringLiteral("cannot store the alert rule %1").arg(rule)))
        return;
    emitAlertSettings();
    emitNotices(m_alerts->settle(now()));
}

void StoreWorker::setAlertRepeatInterval(qint64 ms)
{
    if (m_alerts && check(m_alerts->setRepeatIntervalMs(ms), QStringLiteral("cannot store the repeat interval")))
        emitAlertSettings();
}

void StoreWorker::requestAlertHistory(int limit)
{
    if (!m_store)
        return;
    auto all = m_store->alerts().alerts(true, limit);
    if (check(all, QStringLiteral("reading the alert history")))
        Q_EMIT alertHistory(*all);
}

void StoreWorker::addNotifier(NotifierInfo::Kind kind, const QString &target)
{
    if (m_store && check(m_store->alerts().addNotifier(kind, target, now()), QStringLiteral("cannot add a notifier")))
        pollNotifiers();
}

void StoreWorker::removeNotifier(qint64 notifierId)
{
    if (m_store && check(m_store->alerts().removeNotifier(notifierId),
                         QStringLiteral("cannot remove notifier %1").arg(notifierId)))
        pollNotifiers();
}

void StoreWorker::recordDelivery(qint64 notifierId, bool ok, bool deadLetter, const QString &error)
{
    // Counted here and written once a second: a storm of deliveries is one transaction.
    DeliveryCounts &c = m_deliveries[notifierId];
    const qint64 t = now();
    if (ok) {
        ++c.sent;
        c.lastOkMs = t;
    } else {
        ++c.failed;
        c.deadLetters += deadLetter ? 1 : 0;
        c.lastError = error;
        c.lastErrorMs = t;
    }
}

void StoreWorker::writeDeliveries()
{
    if (!m_store || m_deliveries.isEmpty())
        return;
    const bool batched = m_store->alerts().beginBatch().ok();
    for (auto it = m_deliveries.cbegin(); it != m_deliveries.cend(); ++it)
        check(m_store->alerts().addDeliveries(it.key(), it.value()),
              QStringLiteral("counting deliveries of notifier %1").arg(it.key()));
    m_deliveries.clear();
    if (batched)
        check(m_store->alerts().commitBatch(), QStringLiteral("counting deliveries"));
}

void StoreWorker::pollNotifiers()
{
    if (!m_store)
        return;
    auto list = m_store->alerts().notifiers();
    if (!list) {
        qCWarning(lcAlerts).noquote() << "cannot read the notifiers:" << list.error().message;
        return;
    }
    const auto same = [](const NotifierInfo &a, const NotifierInfo &b) {
        return a.sameChannel(b) && a.sent == b.sent && a.failed == b.failed && a.deadLetters == b.deadLetters
               && a.lastError == b.lastError;
    };
    if (std::equal(list->cbegin(), list->cend(), m_notifiers.cbegin(), m_notifiers.cend(), same))
        return;
    const auto sameChannel = [](const NotifierInfo &a, const NotifierInfo &b) { return a.sameChannel(b); };
    if (!std::equal(list->cbegin(), list->cend(), m_notifiers.cbegin(), m_notifiers.cend(), sameChannel)) {
        int enabled = 0;
        for (const NotifierInfo &n : std::as_const(*list))
            enabled += n.enabled ? 1 : 0;
        qCInfo(lcAlerts) << "notification channels:" << enabled << "in use";
    }
    m_notifiers = *list;
    Q_EMIT notifiersChanged(m_notifiers);
}

} // namespace autofact::server
