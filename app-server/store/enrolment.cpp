// SPDX-License-Identifier: MIT
#include "enrolment.h"

#include "configstore.h"
#include "credentials.h"
#include "database.h"
#include "enrolmenttokens.h"
#include "storelogging.h"
#include "transaction.h"

#include <QCryptographicHash>
#include <QRandomGenerator>

namespace autofact::server {

namespace {

using credentials::constantTimeEquals;
using credentials::randomBytes;

constexpr int kSaltBytes = 16;
constexpr int kSecretBytes = 32;
constexpr int kIdBytes = 6; // 12 hex characters


QByteArray secretHash(const QByteArray &salt, const QString &secret)
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(salt);
    hash.addData(secret.toUtf8());
    return hash.result();
}


// A null QString binds as SQL NULL; agent-supplied text columns are NOT NULL, and an agent
// may well leave a Hello field empty.
QVariant text(const QString &s)
{
    return s.isNull() ? QVariant(QStringLiteral("")) : QVariant(s);
}

AuthResult refusedEnrolment(const QString &why)
{
    AuthResult r;
    r.outcome = AuthResult::Outcome::EnrolmentRefused;
    r.reason = why;
    return r;
}

} // namespace

StoreResult<AuthResult> Enrolment::enrol(const Hello &hello, const QString &peer, qint64 nowMs,
                                         const QString &why)
{
    if (m_tokenRequired && hello.token.isEmpty())
        return refusedEnrolment(why + QStringLiteral(": an enrolment token is required"
                                                     " (autofactory token create)"));
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    QString tokenId;
    if (!hello.token.isEmpty()) {
        // Spent inside this transaction: if the enrolment fails below, the use comes back.
        auto spent = m_tokens.spend(hello.token, nowMs);
        if (!spent) {
            if (spent.error().kind == StoreError::Kind::Invalid)
                return refusedEnrolment(why + QStringLiteral(": ") + spent.error().message);
            return spent.error();
        }
        tokenId = *spent;
    }
    QString id;
    for (int attempt = 0; attempt < 8 && id.isEmpty(); ++attempt) {
        const QString candidate = QString::fromLatin1(randomBytes(kIdBytes).toHex());
        auto taken = m_db.exec(QStringLiteral("SELECT 1 FROM clients WHERE id = ?"), {candidate});
        if (!taken)
            return taken.error();
        if (!taken->next())
            id = candidate;
    }
    if (id.isEmpty())
        return databaseError(QStringLiteral("could not find a free client ID"));
    const QString secret = QString::fromLatin1(randomBytes(kSecretBytes).toBase64(
            QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
    const QByteArray salt = randomBytes(kSaltBytes);
    auto inserted = m_db.insertReturningId(
            QStringLiteral("INSERT INTO clients(id, secret_salt, secret_hash, hostname, os_name,"
                           " os_version, kernel, arch, cpu_model, cpu_count, mem_total,"
                           " boot_time_ms, agent_version, first_seen_ms, last_seen_ms,"
                           " connection_count, baseline_pending, enrolment_token, previous_id)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,?)"),
            {id, salt, secretHash(salt, secret), text(hello.hostname), text(hello.osName),
             text(hello.osVersion), text(hello.kernel), text(hello.arch), text(hello.cpuModel),
             int(hello.cpuCount), qint64(hello.memTotal), qint64(hello.bootTimeMs),
             text(hello.agentVersion), nowMs, nowMs, hello.agentId.isEmpty() ? 0 : 1,
             tokenId.isEmpty() ? QVariant(QMetaType(QMetaType::QString)) : QVariant(tokenId),
             hello.agentId.isEmpty() ? QVariant(QMetaType(QMetaType::QString)) : QVariant(text(hello.agentId))},
            "num");
    if (!inserted)
        return inserted.error();
    const qint64 num = *inserted;
    auto connection = m_db.insertReturningId(
            QStringLiteral("INSERT INTO connections(client, peer, connected_ms) VALUES (?,?,?)"),
            {num, text(peer), nowMs}, "id");
    if (!connection)
        return connection.error();
    const qint64 connectionId = *connection;
    auto config = m_configs.effectiveConfig(id);
    if (!config)
        return config.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    AuthResult r;
    r.outcome = AuthResult::Outcome::NewClient;
    r.clientId = id;
    r.issuedSecret = secret;
    r.connectionId = connectionId;
    r.config = *config;
    r.reason = why;
    qCInfo(lcStore).noquote() << "enrolled" << id << "host" << hello.hostname << "from" << peer
                              << "(" << why
                              << (tokenId.isEmpty() ? QString() : QStringLiteral(", token ") + tokenId)
                              << ")";
    return r;
}

StoreResult<AuthResult> Enrolment::authenticate(const Hello &hello, const QString &peer, qint64 nowMs)
{
    if (!m_db.isOpen())
        return Database::notOpen();
    if (hello.agentId.isEmpty())
        return enrol(hello, peer, nowMs, QStringLiteral("new agent"));

    auto q = m_db.exec(QStringLiteral("SELECT num, secret_salt, secret_hash, last_sequence,"
                                      " blocked_ms IS NOT NULL FROM clients WHERE id = ?"),
                       {hello.agentId});
    if (!q)
        return q.error();
    if (!q->next()) {
        // A replaced database or a typo: enrolling anew needs a token like any new agent.
        return enrol(hello, peer, nowMs,
                     QStringLiteral("unknown client ID %1, new ID issued").arg(hello.agentId));
    }
    const qint64 num = q->value(0).toLongLong();
    const QByteArray salt = q->value(1).toByteArray();
    const QByteArray hash = q->value(2).toByteArray();
    const quint64 lastSequence = q->value(3).toULongLong();
    const bool revoked = q->value(4).toBool();
    q->finish();
    if (salt.isEmpty() || hash.isEmpty()) {
        return enrol(hello, peer, nowMs,
                     QStringLiteral("forgotten client ID %1, new ID issued").arg(hello.agentId));
    }
    AuthResult r;
    r.clientId = hello.agentId;
    if (!constantTimeEquals(secretHash(salt, hello.secret), hash)) {
        // Deliberately no write at all, and no log line here: a wrong guess must leave no
        // trace an attacker can use to fill the database or the log (the hub summarises them).
        r.outcome = AuthResult::Outcome::BadSecret;
        r.reason = QStringLiteral("wrong secret");
        return r;
    }
    if (revoked) {
        r.outcome = AuthResult::Outcome::Revoked;
        r.reason = QStringLiteral("this client was revoked on the server");
        return r;
    }

    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    auto updated = m_db.exec(
            QStringLiteral("UPDATE clients SET hostname = ?, os_name = ?, os_version = ?,"
                           " kernel = ?, arch = ?, cpu_model = ?, cpu_count = ?,"
                           " mem_total = ?, boot_time_ms = ?, agent_version = ?,"
                           " last_seen_ms = MAX(last_seen_ms, ?),"
                           " connection_count = connection_count + 1 WHERE num = ?"),
            {text(hello.hostname), text(hello.osName), text(hello.osVersion), text(hello.kernel),
             text(hello.arch), text(hello.cpuModel), int(hello.cpuCount), qint64(hello.memTotal),
             qint64(hello.bootTimeMs), text(hello.agentVersion), nowMs, num});
    if (!updated)
        return updated.error();
    auto connection = m_db.insertReturningId(
            QStringLiteral("INSERT INTO connections(client, peer, connected_ms) VALUES (?,?,?)"),
            {num, text(peer), nowMs}, "id");
    if (!connection)
        return connection.error();
    r.connectionId = *connection;
    auto config = m_configs.effectiveConfig(hello.agentId);
    if (!config)
        return config.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    r.outcome = AuthResult::Outcome::Returning;
    r.lastSequence = lastSequence;
    r.config = *config;
    r.reason = QStringLiteral("returning client");
    return r;
}

StoreResult<void> Enrolment::revoke(const QString &id, qint64 nowMs)
{
    auto q = m_db.exec(QStringLiteral("UPDATE clients SET blocked_ms = COALESCE(blocked_ms, ?) WHERE id = ?"),
                       {nowMs, id});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown client: %1").arg(id));
    if (m_db.isPostgres())
        if (auto n = m_db.exec(QStringLiteral("NOTIFY autofact_revoke")); !n)
            return n.error();
    qCInfo(lcStore).noquote() << "revoked client" << id;
    return {};
}

StoreResult<QStringList> Enrolment::revokedClients()
{
    auto q = m_db.exec(QStringLiteral("SELECT id FROM clients WHERE blocked_ms IS NOT NULL ORDER BY id"));
    if (!q)
        return q.error();
    QStringList ids;
    while (q->next())
        ids.append(q->value(0).toString());
    return ids;
}

StoreResult<void> Enrolment::recordDisconnect(qint64 connectionId, qint64 nowMs, const QString &reason)
{
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b;
    if (auto q = m_db.exec(QStringLiteral("UPDATE connections SET disconnected_ms = ?, reason = ?"
                                          " WHERE id = ? AND disconnected_ms IS NULL"),
                           {nowMs, reason, connectionId});
        !q)
        return q.error();
    if (auto q = m_db.exec(QStringLiteral("UPDATE clients SET last_seen_ms = MAX(last_seen_ms, ?)"
                                          " WHERE num = (SELECT client FROM connections WHERE id = ?)"),
                           {nowMs, connectionId});
        !q)
        return q.error();
    return txn.commit();
}

StoreResult<QList<Enrolment::SessionState>> Enrolment::sessionsOpen()
{
    // The send interval as the agent is told it: its own override, its group's, the default.
    const auto field = [this](const char *column) {
        return m_db.isPostgres() ? QStringLiteral("(%1::jsonb ->> 'sendIntervalMs')::bigint").arg(QLatin1String(column))
                                 : QStringLiteral("json_extract(%1, '$.sendIntervalMs')").arg(QLatin1String(column));
    };
    auto q = m_db.exec(QStringLiteral("SELECT c.id, c.hostname, c.sample_count, CASE WHEN EXISTS (SELECT 1 FROM connections k"
                                      " WHERE k.client = c.num AND k.disconnected_ms IS NULL) THEN 1 ELSE 0 END,"
                                      " COALESCE(c.last_seen_ms, 0), COALESCE(%1,"
                                      " (SELECT %2 FROM group_configs g WHERE g.name = c.group_name AND c.group_name <> ''),"
                                      " (SELECT %3 FROM settings WHERE key = 'default_config'), 5000)"
                                      " FROM clients c WHERE c.forgotten_ms IS NULL AND c.blocked_ms IS NULL")
                               .arg(field("c.config_override"), field("g.config_override"), field("value")));
    if (!q)
        return q.error();
    QList<SessionState> out;
    while (q->next())
        out.append({q->value(0).toString(), q->value(1).toString(), q->value(2).toLongLong() > 0, q->value(3).toInt() != 0,
                    q->value(4).toLongLong(), std::max<qint64>(1, q->value(5).toLongLong())});
    return out;
}

StoreResult<void> Enrolment::nodeAlive(qint64 nowMs)
{
    if (!m_db.isPostgres())
        return {};
    auto q = m_db.exec(QStringLiteral("INSERT INTO autofact_nodes(name, seen_ms) VALUES (current_setting('application_name'), ?)"
                                      " ON CONFLICT (name) DO UPDATE SET seen_ms = excluded.seen_ms"),
                       {nowMs});
    if (!q)
        return q.error();
    return {};
}

StoreResult<int> Enrolment::closeLostNodes(qint64 nowMs)
{
    if (!m_db.isPostgres())
        return 0;
    auto q = m_db.exec(QStringLiteral("UPDATE connections SET disconnected_ms = ?, reason = 'server node lost'"
                                      " WHERE disconnected_ms IS NULL AND node NOT IN (SELECT application_name"
                                      " FROM pg_stat_activity WHERE datname = current_database())"
                                      " AND node NOT IN (SELECT name FROM autofact_nodes WHERE seen_ms > ?)"),
                       {nowMs, nowMs - nodeGraceMs});
    if (!q)
        return q.error();
    const int closed = q->numRowsAffected();
    if (closed > 0)
        qCInfo(lcStore) << "closed" << closed << "sessions of a server node that is gone";
    return closed;
}

StoreResult<int> Enrolment::markAllOffline(qint64 nowMs, const QString &reason)
{
    // On a shared store only this node's sessions, and those of nodes whose database
    // connection is gone (killed, or cut off), are closed: other nodes' are live.
    auto q = m_db.exec(m_db.isPostgres() ? QStringLiteral("UPDATE connections SET disconnected_ms = ?, reason = ?"
                                                          " WHERE disconnected_ms IS NULL AND (node = current_setting('application_name')"
                                                          " OR (node NOT IN (SELECT application_name FROM pg_stat_activity"
                                                          " WHERE datname = current_database()) AND node NOT IN"
                                                          " (SELECT name FROM autofact_nodes WHERE seen_ms > ?)))")
                                         : QStringLiteral("UPDATE connections SET disconnected_ms = ?, reason = ?"
                                                          " WHERE disconnected_ms IS NULL"),
                       m_db.isPostgres() ? QVariantList{nowMs, reason, nowMs - nodeGraceMs} : QVariantList{nowMs, reason});
    if (!q)
        return q.error();
    const int closed = q->numRowsAffected();
    if (closed > 0)
        qCInfo(lcStore) << "closed" << closed << "open connection rows:" << reason;
    return closed;
}

} // namespace autofact::server
