// SPDX-License-Identifier: MIT
#include "store/store.h"

#include "database.h"
#include "storelogging.h"
#include "postgresingestwriter.h"
#include "postgressamplereader.h"
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
    explicit Parts(std::unique_ptr<Database> database)
        : db(std::move(database)), configs(*db), tokens(*db), enrolment(*db, configs, tokens),
          inventory(*db, configs),
          ingest(*db), history(*db, inventory), alerts(*db), retention(*db), sealer(*db), devices(*db)
    {
    }
    std::unique_ptr<Database> db;
    // The backend's hot path, made by open(): destroyed before the connection closes (SQLite
    // refuses to close a handle with live statements).
    std::unique_ptr<IngestWriter> writer;
    std::unique_ptr<SampleReader> reader;
    ConfigStore configs;
    EnrolmentTokens tokens;
    Enrolment enrolment;
    Inventory inventory;
    Ingest ingest;
    History history;
    AlertStore alerts;
    Retention retention;
    ChunkSealer sealer;
    DeviceHistory devices;
};

namespace {

// The one place that knows which backend classes go with which Qt Sql driver.
StoreResult<std::pair<std::unique_ptr<IngestWriter>, std::unique_ptr<SampleReader>>>
makeBackend(Database &db)
{
    if (db.isPostgres())
        return std::pair<std::unique_ptr<IngestWriter>, std::unique_ptr<SampleReader>>(
                std::make_unique<PostgresIngestWriter>(db), std::make_unique<PostgresSampleReader>(db));
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
    : m_path(path)
    , m_parts(std::make_unique<Parts>(std::make_unique<Database>(std::move(path), options)))
{
}

Store::~Store() = default; // Parts' member order closes statements before the connection

bool Store::isOpen() const
{
    return m_parts->db->isOpen() && m_parts->writer;
}

StoreResult<void> Store::open()
{
    if (isOpen())
        return {};
    Database &db = *m_parts->db;
    auto fail = [this, &db](const StoreError &e) -> StoreResult<void> {
        qCDebug(lcStore).noquote() << m_path << e.message;
        db.close();
        return e;
    };
    if (auto o = db.open(); !o)
        return fail(o.error());
    auto version = Schema::migrate(db);
    if (!version)
        return fail(version.error());
    auto backend = makeBackend(db);
    if (!backend)
        return fail(backend.error());
    m_schemaVersion = *version;
    m_parts->writer = std::move(backend->first);
    m_parts->reader = std::move(backend->second);
    m_parts->ingest.setWriter(m_parts->writer.get());
    m_parts->history.setReader(m_parts->reader.get());
    m_parts->sealer.setReader(m_parts->reader.get());
    m_parts->inventory.setSealer(&m_parts->sealer);
    m_parts->inventory.setReader(m_parts->reader.get());
    qCDebug(lcStore) << "opened" << m_path << "schema" << m_schemaVersion
                     << (db.readOnly() ? "read-only" : "read-write");
    return {};
}

Enrolment &Store::enrolment()
{
    return m_parts->enrolment;
}

EnrolmentTokens &Store::tokens()
{
    return m_parts->tokens;
}

Ingest &Store::ingest()
{
    return m_parts->ingest;
}

ConfigStore &Store::configs()
{
    return m_parts->configs;
}

Inventory &Store::inventory()
{
    return m_parts->inventory;
}

History &Store::history()
{
    return m_parts->history;
}

AlertStore &Store::alerts()
{
    return m_parts->alerts;
}

Retention &Store::retention()
{
    return m_parts->retention;
}

ChunkSealer &Store::sealer()
{
    return m_parts->sealer;
}

DeviceHistory &Store::devices()
{
    return m_parts->devices;
}

bool Store::isShared() const
{
    return m_parts->db->isPostgres();
}

StoreResult<bool> Store::maintenanceLeader()
{
    if (!isOpen())
        return Database::notOpen();
    return m_parts->db->maintenanceLeader();
}

Database &Store::database()
{
    return *m_parts->db;
}

} // namespace autofact::server
