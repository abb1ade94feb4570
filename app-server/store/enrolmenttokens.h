// SPDX-License-Identifier: MIT
#pragma once

#include "storeresult.h"

#include <QList>
#include <QString>

#include <optional>

namespace autofact::server {

class Database;

/** One enrolment token as `autofactory token list` shows it (never its secret). */
struct TokenInfo {
    enum class State { Active, Expired, UsedUp, Revoked };
    QString id;
    QString label;
    qint64 createdMs = 0;
    std::optional<qint64> expiresMs; ///< unset: never expires
    int maxUses = 1;
    int uses = 0;
    std::optional<qint64> revokedMs;
    std::optional<qint64> lastUsedMs;
    State state = State::Active;
};

QString tokenStateName(TokenInfo::State state);

/**
 * Enrolment tokens: what an unknown agent must present to be enrolled. A token is
 * `ID.SECRET`; the ID is public (listed, revoked by), the secret is 256 random bits stored only
 * as its SHA-256 (random secrets need no salt). Uses and expiry are checked and spent in one
 * conditional UPDATE inside the enrolment's transaction: of two agents racing for the last
 * use, exactly one gets it, whichever process or connection serves them.
 */
class EnrolmentTokens
{
public:
    explicit EnrolmentTokens(Database &db) : m_db(db) {}

    struct Created {
        QString id;
        QString token; ///< the whole token: shown once, never stored
    };
    /** A token for @p maxUses enrolments (≥ 1), until @p expiresMs (unset: never). */
    StoreResult<Created> create(int maxUses, std::optional<qint64> expiresMs, const QString &label,
                                qint64 nowMs);
    /** Every token, newest first. */
    StoreResult<QList<TokenInfo>> list(qint64 nowMs);
    /** Revokes token @p id (NotFound if unknown). Clients it enrolled stay enrolled. */
    StoreResult<void> revoke(const QString &id, qint64 nowMs);
    /**
     * Spends one use of @p token. Must run inside the caller's write transaction (the
     * enrolment's), so a failed enrolment gives the use back. Returns the token's ID, or an
     * EnrolmentRefused-worthy reason as an Invalid error ("expired", "used up", ...). An unknown
     * ID and a wrong secret give the same answer.
     */
    StoreResult<QString> spend(const QString &token, qint64 nowMs);

    /** True when @p token has the shape of a token (before any database work). */
    static bool looksLikeToken(const QString &token);

private:
    Database &m_db;
};

} // namespace autofact::server
