// SPDX-License-Identifier: MIT
// libFuzzer target: the server's handling of one incoming message. The first byte picks the
// peer (even: unauthenticated, odd: authenticated; bit 2 lends an unauthenticated Hello a valid
// enrolment token), the rest is the WebSocket message.
// - unauthenticated: decode with the server's size limit; a Hello of our protocol version goes
//   to Enrolment::authenticate, as IngestServer hands it to the StoreWorker;
// - authenticated (one client enrolled at start-up): decode; a SampleBatch goes through the
//   store's ingest path (Ingest::write: checks, gaps, samples, rollups, commit) as one group
//   commit, a ConfigApplied is recorded; anything else is only decoded.
// The store is a real Store on a temporary SQLite file (WAL needs a file; ":memory:" has none),
// opened with Durability::Normal (no fsync per input) and recreated every storeRuns inputs
// so it stays small. A database error on a decoded message is a crash: the server would
// refuse that agent's batch (or Hello) forever.
//
// One function per role, so a change of the store's API (enrolment tokens) touches one place.
#include "codec.h"
#include "fuzzsupport.h"
#include "store/store.h"

#include <QFile>
#include <QTemporaryDir>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

using namespace autofact;
using namespace autofact::server;

namespace {

/// IngestServer's limits before and after authentication.
constexpr qsizetype unauthenticatedMaxBytes = protocol::maxUnauthenticatedMessageBytes;
constexpr qsizetype authenticatedMaxBytes = protocol::maxMessageBytes;
/// Inputs between fresh databases: keeps the file small at a cost of about 1% of the time.
constexpr int storeRuns = 20000;
const QString peer = QStringLiteral("192.0.2.7:40000");

struct State {
    QTemporaryDir dir;
    std::unique_ptr<Store> store;
    QString clientId; ///< the authenticated peer's client
    QString token;    ///< a valid multi-use token (inputs with role bit 2 borrow it)
    int runs = 0;
    int generation = 0;
    qint64 nowMs = 1'700'000'000'000;
};
State *g_state = nullptr;

/** Opens a fresh store and enrols the client that plays the authenticated peer. */
void openStore(State &st)
{
    const auto dbPath = [&](int generation) {
        return st.dir.filePath(QStringLiteral("fuzz-%1.db").arg(generation));
    };
    st.store.reset();
    for (const QString &suffix : {QString(), QStringLiteral("-wal"), QStringLiteral("-shm")})
        QFile::remove(dbPath(st.generation) + suffix);
    const QString path = dbPath(++st.generation);
    StoreOptions options;
    options.durability = StoreOptions::Durability::Normal;
    st.store = std::make_unique<Store>(path, options);
    const auto opened = st.store->open();
    fuzz::require(opened.ok(), "the store opens");
    Hello hello;
    hello.hostname = QStringLiteral("fuzz-agent");
    hello.cpuCount = 8;
    hello.agentVersion = QStringLiteral(AUTOFACT_VERSION);
    // The authenticated peer enrols with a token, as every agent now must.
    const auto token = st.store->tokens().create(1000000, std::nullopt, QStringLiteral("fuzz"), st.nowMs);
    fuzz::require(token.ok(), "an enrolment token is created");
    hello.token = token->token;
    const auto enrolled = st.store->enrolment().authenticate(hello, peer, st.nowMs);
    fuzz::require(enrolled.ok() && enrolled->outcome == AuthResult::Outcome::NewClient,
                  "the authenticated peer enrols");
    st.clientId = enrolled->clientId;
    st.token = token->token;
}

void unauthenticated(State &st, QByteArrayView bytes, bool withValidToken)
{
    DecodeResult r = codec::decode(bytes, unauthenticatedMaxBytes);
    if (!r.ok())
        return;
    const Hello *hello = std::get_if<Hello>(&*r.message);
    // IngestServer refuses anything else, and other protocol versions, before the store.
    if (!hello || hello->protocolVersion != protocol::version)
        return;
    Hello h = *hello;
    // Random bytes never make a valid token: some inputs get the real one, so the enrolment
    // path past the token check is reached too.
    if (withValidToken)
        h.token = st.token;
    const auto result = st.store->enrolment().authenticate(h, peer, st.nowMs);
    fuzz::require(result.ok(), "a decoded Hello is authenticated without a database error");
    if (result->outcome == AuthResult::Outcome::NewClient || result->outcome == AuthResult::Outcome::Returning)
        fuzz::require(!result->clientId.isEmpty(), "an accepted Hello names its client");
}

void authenticated(State &st, QByteArrayView bytes)
{
    DecodeResult r = codec::decode(bytes, authenticatedMaxBytes);
    if (!r.ok())
        return;
    if (const SampleBatch *batch = std::get_if<SampleBatch>(&*r.message)) {
        const IngestItem item{st.clientId, batch};
        const auto stored = st.store->ingest().write({&item, 1}, st.nowMs);
        fuzz::require(stored.ok(), "a decoded batch is ingested without a database error");
        fuzz::require(stored->size() == 1 && stored->front().sequence == batch->sequence,
                      "one result, for the batch's sequence");
    } else if (const ConfigApplied *applied = std::get_if<ConfigApplied>(&*r.message)) {
        const auto recorded = st.store->configs().recordConfigApplied(st.clientId, applied->revision, st.nowMs);
        fuzz::require(recorded.ok(), "a decoded ConfigApplied is recorded without a database error");
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz::initQt(argc, argv);
    g_state = new State;
    fuzz::require(g_state->dir.isValid(), "a temporary folder for the database");
    openStore(*g_state);
    // Registered after Qt Sql's own globals exist, so it runs before they are destroyed: a
    // static State would close its connection after them. Removes the temporary folder too.
    std::atexit([] { delete g_state; });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    State &st = *g_state;
    if (++st.runs % storeRuns == 0)
        openStore(st);
    st.nowMs += 1000;
    const QByteArrayView message(reinterpret_cast<const char *>(data) + 1, qsizetype(size - 1));
    if (data[0] & 1)
        authenticated(st, message);
    else
        unauthenticated(st, message, (data[0] & 2) != 0);
    return 0;
}
