// SPDX-License-Identifier: MIT
#include "fleetfeed.h"

#include "serverlogging.h"
#include "store/database.h"
#include "store/store.h"
#include "store/storelocation.h"

#include <QSqlDriver>

#include <limits>

namespace autofact::server {

FleetFeed::FleetFeed(QString databasePath, QObject *parent)
    : FleetFeed(std::move(databasePath), Options{}, parent)
{
}

FleetFeed::FleetFeed(QString databasePath, Options options, QObject *parent)
    : QObject(parent)
    , m_path(std::move(databasePath))
    , m_options(options)
{
    qRegisterMetaType<HubActivity>();
    m_pollTimer.setInterval(m_options.pollIntervalMs);
    connect(&m_pollTimer, &QTimer::timeout, this, &FleetFeed::requestRefresh);
    m_coalesceTimer.setSingleShot(true);
    connect(&m_coalesceTimer, &QTimer::timeout, this, &FleetFeed::refresh);
}

FleetFeed::~FleetFeed() = default;

StoreResult<void> FleetFeed::open()
{
    if (!StoreLocation::looksLikePostgres(m_path))
        return StoreError{StoreError::Kind::Invalid,
                          QStringLiteral("watching the fleet needs a shared PostgreSQL store (--db postgresql://...)")};
    if (auto opened = openStore(); !opened)
        return opened;
    m_pollTimer.start();
    refresh();
    return {};
}

void FleetFeed::close()
{
    m_pollTimer.stop();
    m_coalesceTimer.stop();
    m_listening = false;
    m_store.reset();
}

StoreResult<void> FleetFeed::openStore()
{
    StoreOptions options;
    options.mode = StoreOptions::Mode::ReadOnly;
    // Named in pg_stat_activity, so an administrator tells watching dashboards from ingest nodes.
    options.applicationName = QStringLiteral("autofact-fleetfeed");
    auto store = std::make_unique<Store>(m_path, options);
    if (auto opened = store->open(); !opened)
        return opened;
    m_store = std::move(store);
    subscribe();
    return {};
}

void FleetFeed::subscribe()
{
    Database &db = m_store->database();
    m_listening = true;
    // Samples stored, a session starting on some node (one that carries no sample yet still
    // turns a client online), a client revoked (its session ends). Database::subscribe() listens
    // again after the connection is replaced.
    for (const char *channel : {"autofact_samples", "autofact_session", "autofact_revoke"}) {
        if (!db.subscribe(QString::fromLatin1(channel))) {
            m_listening = false;
            qCWarning(lcFleet) << "cannot listen on" << channel << "- the fleet view updates by polling only";
        }
    }
    connect(db.driver(), &QSqlDriver::notification, this, &FleetFeed::requestRefresh);
}

void FleetFeed::requestRefresh()
{
    if (!m_lastRead.isValid() || m_lastRead.elapsed() >= m_options.minReadIntervalMs) {
        refresh();
        return;
    }
    if (!m_coalesceTimer.isActive())
        m_coalesceTimer.start(int(m_options.minReadIntervalMs - m_lastRead.elapsed()));
}

void FleetFeed::restate()
{
    m_known.clear();
    m_firstRead = true;
    refresh();
}

void FleetFeed::refresh()
{
    m_coalesceTimer.stop();
    if (!m_store)
        return;
    m_lastRead.start();
    auto report = read();
    if (!report) {
        const QString message = QStringLiteral("cannot read the fleet: %1").arg(report.error().message);
        qCWarning(lcFleet).noquote() << message;
        // A lost connection is replaced before the next read's first statement (Database).
        Q_EMIT readError(message);
        return;
    }
    m_firstRead = false;
    if (report->onlineNow.isEmpty() && report->latest.isEmpty() && report->samplesStored == 0)
        return;
    Q_EMIT activity(*report);
}

StoreResult<HubActivity> FleetFeed::read()
{
    auto clients = m_store->inventory().clients();
    if (!clients)
        return clients.error();
    HubActivity report;
    QHash<QString, Known> next;
    next.reserve(clients->size());
    for (const ClientInfo &c : std::as_const(*clients)) {
        const auto before = m_known.constFind(c.id);
        const bool seen = before != m_known.cend();
        Known now = seen ? *before : Known{};
        now.online = c.online;
        now.connectionCount = c.connectionCount;
        now.sampleCount = c.sampleCount;
        if (c.online)
            ++report.onlineClients;
        if (!seen) {
            // The first report states everyone; a client new since then is news if online.
            if (m_firstRead || c.online)
                report.onlineNow.insert(c.id, c.online);
            if (c.online)
                report.connected.append(c.id);
        } else {
            if (before->online != c.online) {
                (c.online ? report.connected : report.disconnected).append(c.id);
                report.onlineNow.insert(c.id, c.online);
            } else if (c.online && c.connectionCount > before->connectionCount) {
                // Left and came back between two reads.
                report.disconnected.append(c.id);
                report.connected.append(c.id);
                report.onlineNow.insert(c.id, true);
            }
            if (c.sampleCount > before->sampleCount)
                report.samplesStored += quint64(c.sampleCount - before->sampleCount);
        }
        // Only clients with new rows cost a read: clients.last_sample_ms is written in the same
        // transaction as the samples. At start only those online: a serving dashboard shows no
        // live figures for offline clients either.
        const bool newRows = seen ? c.lastSampleMs != before->lastSampleMs : (c.online || !m_firstRead);
        if (c.lastSampleMs > 0 && newRows) {
            std::optional<Sample> newest;
            // From last_sample_ms on: a late batch from a spool may have set it below samples
            // already stored; the newest of them is the client's latest.
            auto visited = m_store->history().forEachSample(
                {c.id}, c.lastSampleMs, std::numeric_limits<qint64>::max(), [&](const StoredSample &stored) {
                    if (!newest || stored.sample.timestampMs >= newest->timestampMs)
                        newest = stored.sample;
                    return true;
                });
            // NotFound: forgotten with its history since the inventory was read.
            if (!visited && visited.error().kind != StoreError::Kind::NotFound)
                return visited.error();
            if (newest && newest->timestampMs > now.latestMs) {
                report.latest.insert(c.id, *newest);
                now.latestMs = newest->timestampMs;
            }
        }
        now.lastSampleMs = c.lastSampleMs;
        next.insert(c.id, now);
    }
    m_known = std::move(next);
    return report;
}

} // namespace autofact::server
