// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"
#include "storetypes.h"

namespace autofact::server {

class ConfigStore;
class Database;

/**
 * Who an agent is: enrolment (a new ID and secret), "welcome back" for a known ID with the
 * right secret, and the connection rows that say when each client was online. Secrets are
 * stored as salted SHA-256 only; the plaintext leaves the server once, in the Welcome.
 */
class Enrolment
{
public:
    Enrolment(Database &db, ConfigStore &configs) : m_db(db), m_configs(configs) {}

    /**
     * Checks a Hello. Empty, unknown or forgotten ID: a new client (new ID, new secret). Known
     * ID and right secret: facts updated, a connection row opened. Known ID, wrong secret:
     * BadSecret, and the database is not touched.
     */
    StoreResult<AuthResult> authenticate(const Hello &hello, const QString &peer, qint64 nowMs);
    /** Closes a connection row opened by authenticate(). */
    StoreResult<void> recordDisconnect(qint64 connectionId, qint64 nowMs, const QString &reason);
    /** Closes every open connection row (server start-up and shutdown); returns how many. */
    StoreResult<int> markAllOffline(qint64 nowMs, const QString &reason);

private:
    StoreResult<AuthResult> enrol(const Hello &hello, const QString &peer, qint64 nowMs,
                                  const QString &why);

    Database &m_db;
    ConfigStore &m_configs;
};

} // namespace autofact::server
