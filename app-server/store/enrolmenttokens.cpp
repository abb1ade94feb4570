// SPDX-License-Identifier: MIT
#include "enrolmenttokens.h"

#include "credentials.h"
#include "database.h"
#include "storelogging.h"

#include <QCryptographicHash>

namespace autofact::server {

namespace {

using credentials::constantTimeEquals;
using credentials::randomBytes;

constexpr int kIdBytes = 6;      // 12 hex digits: public, only has to be unique
constexpr int kSecretBytes = 32; // 256 bits: never guessed, so a plain hash is enough
constexpr qsizetype kIdChars = kIdBytes * 2;
constexpr qsizetype kSecretChars = 43; // base64url of 32 bytes, no padding


QByteArray secretHash(QStringView secret)
{
    return QCryptographicHash::hash(secret.toLatin1(), QCryptographicHash::Sha256);
}


StoreError refused(const QString &why)
{
    return storeError(StoreError::Kind::Invalid, why);
}

} // namespace

QString tokenStateName(TokenInfo::State state)
{
    switch (state) {
    case TokenInfo::State::Active: return QStringLiteral("active");
    case TokenInfo::State::Expired: return QStringLiteral("expired");
    case TokenInfo::State::UsedUp: return QStringLiteral("used up");
    case TokenInfo::State::Revoked: return QStringLiteral("revoked");
    }
    return QString();
}

bool EnrolmentTokens::looksLikeToken(const QString &token)
{
    if (token.size() != kIdChars + 1 + kSecretChars || token.at(kIdChars) != u'.')
        return false;
    for (qsizetype i = 0; i < token.size(); ++i) {
        const char16_t c = token.at(i).unicode();
        const bool hex = (c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f');
        const bool b64 = hex || (c >= u'A' && c <= u'Z') || (c >= u'g' && c <= u'z') || c == u'-'
                         || c == u'_';
        if (i < kIdChars ? !hex : (i > kIdChars && !b64))
            return false;
    }
    return true;
}

StoreResult<EnrolmentTokens::Created> EnrolmentTokens::create(int maxUses,
                                                              std::optional<qint64> expiresMs,
                                                              const QString &label, qint64 nowMs)
{
    if (maxUses < 1)
        return storeError(StoreError::Kind::Invalid, QStringLiteral("a token needs at least one use"));
    for (int attempt = 0; attempt < 8; ++attempt) {
        const QString id = QString::fromLatin1(randomBytes(kIdBytes).toHex());
        const QString secret = QString::fromLatin1(randomBytes(kSecretBytes).toBase64(
            QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
        // DO NOTHING: an ID collision (one in 2^48) just draws again.
        auto q = m_db.exec(QStringLiteral("INSERT INTO enrolment_tokens(id, hash, label,"
                                          " created_ms, expires_ms, max_uses) VALUES (?,?,?,?,?,?)"
                                          " ON CONFLICT DO NOTHING"),
                           {id, secretHash(secret), label.isNull() ? QStringLiteral("") : label,
                            nowMs, expiresMs ? QVariant(*expiresMs) : QVariant(QMetaType(QMetaType::LongLong)),
                            maxUses});
        if (!q)
            return q.error();
        if (q->numRowsAffected() == 1) {
            qCInfo(lcStore).noquote() << "enrolment token" << id << "created:" << maxUses << "use(s)";
            return Created{id, id + u'.' + secret};
        }
    }
    return databaseError(QStringLiteral("could not find a free token ID"));
}

StoreResult<QList<TokenInfo>> EnrolmentTokens::list(qint64 nowMs)
{
    auto q = m_db.exec(QStringLiteral("SELECT id, label, created_ms, expires_ms, max_uses, uses,"
                                      " revoked_ms, last_used_ms FROM enrolment_tokens"
                                      " ORDER BY created_ms DESC, id"));
    if (!q)
        return q.error();
    QList<TokenInfo> tokens;
    while (q->next()) {
        TokenInfo t;
        t.id = q->value(0).toString();
        t.label = q->value(1).toString();
        t.createdMs = q->value(2).toLongLong();
        if (!q->value(3).isNull())
            t.expiresMs = q->value(3).toLongLong();
        t.maxUses = q->value(4).toInt();
        t.uses = q->value(5).toInt();
        if (!q->value(6).isNull())
            t.revokedMs = q->value(6).toLongLong();
        if (!q->value(7).isNull())
            t.lastUsedMs = q->value(7).toLongLong();
        t.state = t.revokedMs                        ? TokenInfo::State::Revoked
                  : (t.expiresMs && *t.expiresMs <= nowMs) ? TokenInfo::State::Expired
                  : t.uses >= t.maxUses              ? TokenInfo::State::UsedUp
                                                     : TokenInfo::State::Active;
        tokens.append(t);
    }
    return tokens;
}

StoreResult<void> EnrolmentTokens::revoke(const QString &id, qint64 nowMs)
{
    auto q = m_db.exec(QStringLiteral("UPDATE enrolment_tokens SET revoked_ms = COALESCE(revoked_ms, ?)"
                                      " WHERE id = ?"),
                       {nowMs, id});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown token: %1").arg(id));
    qCInfo(lcStore).noquote() << "enrolment token" << id << "revoked";
    return {};
}

StoreResult<QString> EnrolmentTokens::spend(const QString &token, qint64 nowMs)
{
    if (!looksLikeToken(token))
        return refused(QStringLiteral("not a valid enrolment token"));
    const QString id = token.left(kIdChars);
    auto q = m_db.exec(QStringLiteral("SELECT hash, revoked_ms IS NOT NULL, expires_ms, max_uses, uses"
                                      " FROM enrolment_tokens WHERE id = ?"),
                       {id});
    if (!q)
        return q.error();
    // Unknown and wrong secret read the same: the answer tells a guesser nothing.
    if (!q->next() || !constantTimeEquals(q->value(0).toByteArray(), secretHash(QStringView(token).mid(kIdChars + 1))))
        return refused(QStringLiteral("not a valid enrolment token"));
    const bool revoked = q->value(1).toBool();
    const QVariant expires = q->value(2);
    const bool usedUp = q->value(4).toLongLong() >= q->value(3).toLongLong();
    q->finish();
    if (revoked)
        return refused(QStringLiteral("enrolment token %1 was revoked").arg(id));
    if (!expires.isNull() && expires.toLongLong() <= nowMs)
        return refused(QStringLiteral("enrolment token %1 has expired").arg(id));
    if (usedUp)
        return refused(QStringLiteral("enrolment token %1 is used up").arg(id));
    // The conditions again, in the write itself: this is what makes the last use go once.
    auto spent = m_db.exec(QStringLiteral("UPDATE enrolment_tokens SET uses = uses + 1, last_used_ms = ?"
                                          " WHERE id = ? AND revoked_ms IS NULL AND uses < max_uses"
                                          " AND (expires_ms IS NULL OR expires_ms > ?)"),
                           {nowMs, id, nowMs});
    if (!spent)
        return spent.error();
    if (spent->numRowsAffected() != 1)
        return refused(QStringLiteral("enrolment token %1 is used up").arg(id));
    return id;
}

} // namespace autofact::server
