// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"
#include "storetypes.h"

namespace autofact::server {

class ConfigStore;
class Database;
class EnrolmentTokens;

/**
 * Who an agent is: enrolment (a new ID and secret), "welcome back" for a known ID with the
 * right secret, and the connection rows that say when each client was online. Secrets are
 * stored as salted SHA-256 only; the plaintext leaves the server once, in the Welcome.
 */
class Enrolment
{
public:
    Enrolment(Database &db, ConfigStore &configs, EnrolmentTokens &tokens)
        : m_db(db), m_configs(configs), m_tokens(tokens)
    {
    }

    /**
     * Whether an unknown agent needs an enrolment token (the default). Off only for tests
     * and tools that are not about enrolment.
     */
    void setTokenRequired(bool required) { m_tokenRequired = required; }
    bool tokenRequired() const { return m_tokenRequired; }

    /**
     * Checks a Hello. Empty, unknown or forgotten ID with a valid token: a new client (new ID,
     * new secret, one use of the token spent in the same transaction). Without a valid token:
     * EnrolmentRefused. Known ID and right secret: facts updated, a connection row opened;
     * Revoked if the client was revoked. Known ID, wrong secret: BadSecret. A refusal writes
     * nothing at all.
     */
    StoreResult<AuthResult> authenticate(const Hello &hello, const QString &peer, qint64 nowMs);
    /** Revokes client @p id: its secret stops working (NotFound if unknown). */
    StoreResult<void> revoke(const QString &id, qint64 nowMs);
    /** IDs of every revoked client. */
    StoreResult<QStringList> revokedClients();
    /** Closes a connection row opened by authenticate(). */
    StoreResult<void> recordDisconnect(qint64 connectionId, qint64 nowMs, const QString &reason);
    /** Closes every open connection row (server start-up and shutdown); returns how many. */
    StoreResult<int> markAllOffline(qint64 nowMs, const QString &reason);
    /** A client as the judge of timed alert rules on a shared store sees it. */
    struct SessionState {
        QString id;
        QString hostname;
        bool hasData = false;
        bool open = false; ///< a session is open on some node
        qint64 lastSeenMs = 0;        ///< data last stored or a session last opened or closed (node clocks)
        qint64 sendIntervalMs = 5000; ///< the client's effective send interval
    };
    /** Every client not forgotten or revoked, and whether any node holds a session of it. */
    StoreResult<QList<SessionState>> sessionsOpen();
    /**
     * Shared store: closes the sessions of nodes whose database connection is gone and that
     * gave no sign of life (nodeAlive) for nodeGraceMs: a node reconnecting keeps its sessions.
     */
    StoreResult<int> closeLostNodes(qint64 nowMs);
    /** Shared store: this node's sign of life (every few seconds). */
    StoreResult<void> nodeAlive(qint64 nowMs);
    static constexpr qint64 nodeGraceMs = 30'000;

private:
    StoreResult<AuthResult> enrol(const Hello &hello, const QString &peer, qint64 nowMs,
                                  const QString &why);

    Database &m_db;
    ConfigStore &m_configs;
    EnrolmentTokens &m_tokens;
    bool m_tokenRequired = true;
};

} // namespace autofact::server
