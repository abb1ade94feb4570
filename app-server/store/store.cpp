// SPDX-License-Identifier: MIT
#include "store/store.h"

#include "configstore.h"
#include "database.h"
#include "enrolment.h"
#include "history.h"
#include "ingest.h"
#include "inventory.h"
#include "storelogging.h"
#include "sqliteingestwriter.h"
#include "sqlitesamplereader.h"

#include <QtEndian>

#include <bit>
#include <cstring>

namespace autofact::server {

float StoredSample::core(int index) const
{
    std::uint32_t bits;
    std::memcpy(&bits, coresLE.data() + qsizetype(index) * 4, 4);
    bits = qFromLittleEndian(bits);
    return std::bit_cast<float>(bits);
}

/** The parts, in construction order: each refers only to parts declared above it. */
struct Store::Parts {
    Parts(std::unique_ptr<Database> database, std::unique_ptr<IngestWriter> w,
          std::unique_ptr<SampleReader> r)
        : db(std::move(database)), writer(std::move(w)), reader(std::move(r)), configs(*db),
          enrolment(*db, configs), inventory(*db, configs), ingest(*db, *writer),
          history(*db, inventory, *reader)
    {
    }
    std::unique_ptr<Database> db;
    // Backend hot path: destroyed before the connection closes (SQLite refuses to close a
    // handle with live statements).
    std::unique_ptr<IngestWriter> writer;
    std::unique_ptr<SampleReader> reader;
    ConfigStore configs;
    Enrolment enrolment;
    Inventory inventory;
    Ingest ingest;
    History history;
};

namespace {

// The one place that knows which backend classes go with which Qt Sql driver; a PostgreSQL
// backend adds its writer and reader here.
StoreResult<std::pair<std::unique_ptr<IngestWriter>, std::unique_ptr<SampleReader>>>
makeBackend(Database &db)
{
    if (db.driverName() != QLatin1StringView("QSQLITE") || !db.sqliteHandle())
        return storeError(StoreError::Kind::NotOpen,
                          QStringLiteral("no storage backend for the %1 driver").arg(db.driverName()));
    auto writer = std::make_unique<SqliteIngestWriter>(db.sqliteHandle());
    auto reader = std::make_unique<SqliteSampleReader>(db.sqliteHandle());
    if (auto p = writer->prepare(); !p)
        return p.error();
    if (auto p = reader->prepare(); !p)
        return p.error();
    return std::pair<std::unique_ptr<IngestWriter>, std::unique_ptr<SampleReader>>(std::move(writer),
                                                                                   std::move(reader));
}

} // namespace

Store::Store(QString path, StoreOptions options)
    : m_path(std::move(path))
    , m_options(options)
{
}

Store::~Store() = default;

StoreResult<void> Store::open()
{
    if (m_parts)
        return {};
    auto db = std::make_unique<Database>(m_path, m_options);
    auto fail = [this](const StoreError &e) -> StoreResult<void> {
        qCDebug(lcStore).noquote() << m_path << e.message;
        return e;
    };
    if (auto o = db->open(); !o)
        return fail(o.error());
    auto version = Schema::migrate(*db);
    if (!version)
        return fail(version.error());
    auto backend = makeBackend(*db);
    if (!backend)
        return fail(backend.error());
    m_schemaVersion = *version;
    m_parts = std::make_unique<Parts>(std::move(db), std::move(backend->first), std::move(backend->second));
    qCDebug(lcStore) << "opened" << m_path << "schema" << m_schemaVersion
                     << (m_options.mode == StoreOptions::Mode::ReadOnly ? "read-only" : "read-write");
    return {};
}

#define AUTOFACT_STORE_PART(part, call)                                                           \
    do {                                                                                           \
        if (!m_parts)                                                                              \
            return Database::notOpen();                                                            \
        return m_parts->part.call;                                                                 \
    } while (false)

StoreResult<AuthResult> Store::authenticate(const Hello &hello, const QString &peer, qint64 nowMs)
{
    AUTOFACT_STORE_PART(enrolment, authenticate(hello, peer, nowMs));
}

StoreResult<void> Store::recordDisconnect(qint64 connectionId, qint64 nowMs, const QString &reason)
{
    AUTOFACT_STORE_PART(enrolment, recordDisconnect(connectionId, nowMs, reason));
}

StoreResult<int> Store::markAllOffline(qint64 nowMs, const QString &reason)
{
    AUTOFACT_STORE_PART(enrolment, markAllOffline(nowMs, reason));
}

StoreResult<std::vector<IngestResult>> Store::ingest(std::span<const IngestItem> items, qint64 nowMs)
{
    AUTOFACT_STORE_PART(ingest, ingest(items, nowMs));
}

StoreResult<AgentConfig> Store::defaultConfig()
{
    AUTOFACT_STORE_PART(configs, defaultConfig());
}

StoreResult<quint32> Store::setDefaultConfig(const AgentConfig &config)
{
    AUTOFACT_STORE_PART(configs, setDefaultConfig(config));
}

StoreResult<quint32> Store::setClientOverride(const QString &clientId, std::optional<AgentConfig> config)
{
    AUTOFACT_STORE_PART(configs, setClientOverride(clientId, config));
}

StoreResult<AgentConfig> Store::effectiveConfig(const QString &clientId)
{
    AUTOFACT_STORE_PART(configs, effectiveConfig(clientId));
}

StoreResult<void> Store::recordConfigApplied(const QString &clientId, quint32 revision, qint64 nowMs)
{
    AUTOFACT_STORE_PART(configs, recordConfigApplied(clientId, revision, nowMs));
}

StoreResult<QList<ClientInfo>> Store::clients()
{
    AUTOFACT_STORE_PART(inventory, clients());
}

StoreResult<ClientInfo> Store::client(const QString &id)
{
    AUTOFACT_STORE_PART(inventory, client(id));
}

StoreResult<QStringList> Store::resolveClients(const QStringList &idsOrHostnames)
{
    AUTOFACT_STORE_PART(inventory, resolveClients(idsOrHostnames));
}

StoreResult<void> Store::forgetClient(const QString &id, bool deleteHistory, qint64 nowMs)
{
    AUTOFACT_STORE_PART(inventory, forgetClient(id, deleteHistory, nowMs));
}

StoreResult<QList<Gap>> Store::gaps(const QString &clientId, qint64 fromMs, qint64 toMs)
{
    AUTOFACT_STORE_PART(history, gaps(clientId, fromMs, toMs));
}

StoreResult<void> Store::forEachSample(const QStringList &clientIds, qint64 fromMs, qint64 toMs,
                                       const SampleReader::SampleVisitor &visit)
{
    AUTOFACT_STORE_PART(history, forEachSample(clientIds, fromMs, toMs, visit));
}

StoreResult<void> Store::forEachMinute(const QString &clientId, qint64 fromMs, qint64 toMs,
                                       const SampleReader::MinuteVisitor &visit)
{
    AUTOFACT_STORE_PART(history, forEachMinute(clientId, fromMs, toMs, visit));
}

StoreResult<qint64> Store::estimateSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs)
{
    AUTOFACT_STORE_PART(history, estimateSamples(clientIds, fromMs, toMs));
}

StoreResult<qint64> Store::countSamples(const QStringList &clientIds, qint64 fromMs, qint64 toMs)
{
    AUTOFACT_STORE_PART(history, countSamples(clientIds, fromMs, toMs));
}

StoreResult<qint64> Store::databaseSizeBytes()
{
    AUTOFACT_STORE_PART(history, databaseSizeBytes());
}

#undef AUTOFACT_STORE_PART

} // namespace autofact::server
