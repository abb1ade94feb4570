// SPDX-License-Identifier: MIT
#include "inventory.h"

#include "configstore.h"
#include "database.h"
#include "storelogging.h"

#include <algorithm>

namespace autofact::server {

namespace {
StoreError unknownClient(const QString &id)
{
    return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown client: %1").arg(id));
}
} // namespace

StoreResult<QList<ClientInfo>> Inventory::query(const QString &whereClause, const QVariantList &binds)
{
    auto defaults = m_configs.defaultConfig();
    if (!defaults)
        return defaults.error();
    const quint32 defaultRevision = defaults->revision;
    auto q = m_db.exec(
            QStringLiteral(
                    "SELECT c.id, c.hostname, c.os_name, c.os_version, c.kernel, c.arch, c.cpu_model,"
                    " c.cpu_count, c.mem_total, c.boot_time_ms, c.agent_version, c.first_seen_ms,"
                    " c.last_seen_ms, c.last_sample_ms, c.connection_count, c.sample_count,"
                    " EXISTS(SELECT 1 FROM connections k WHERE k.client = c.num"
                    "        AND k.disconnected_ms IS NULL),"
                    " c.forgotten_ms IS NOT NULL, c.config_override IS NOT NULL, c.config_revision,"
                    " c.applied_revision, c.applied_ms, c.dropped_total, c.last_sequence,"
                    " COALESCE(c.blocked_ms, 0)"
                    " FROM clients c %1 ORDER BY c.id")
                    .arg(whereClause),
            binds);
    if (!q)
        return q.error();
    QList<ClientInfo> list;
    while (q->next()) {
        ClientInfo c;
        c.id = q->value(0).toString();
        c.hostname = q->value(1).toString();
        c.osName = q->value(2).toString();
        c.osVersion = q->value(3).toString();
        c.kernel = q->value(4).toString();
        c.arch = q->value(5).toString();
        c.cpuModel = q->value(6).toString();
        c.cpuCount = std::uint16_t(q->value(7).toUInt());
        c.memTotal = q->value(8).toULongLong();
        c.bootTimeMs = q->value(9).toLongLong();
        c.agentVersion = q->value(10).toString();
        c.firstSeenMs = q->value(11).toLongLong();
        c.lastSeenMs = q->value(12).toLongLong();
        c.lastSampleMs = q->value(13).toLongLong();
        c.connectionCount = q->value(14).toLongLong();
        c.sampleCount = q->value(15).toLongLong();
        c.online = q->value(16).toBool();
        c.forgotten = q->value(17).toBool();
        c.hasOverride = q->value(18).toBool();
        c.configRevision = std::max(defaultRevision, q->value(19).toUInt());
        c.appliedRevision = q->value(20).toUInt();
        c.appliedMs = q->value(21).toLongLong();
        c.droppedTotal = q->value(22).toULongLong();
        c.lastSequence = q->value(23).toULongLong();
        c.blockedMs = q->value(24).toLongLong();
        list.append(c);
    }
    return list;
}

StoreResult<QList<ClientInfo>> Inventory::clients()
{
    return query(QString(), {});
}

StoreResult<ClientInfo> Inventory::client(const QString &id)
{
    auto list = query(QStringLiteral("WHERE c.id = ?"), {id});
    if (!list)
        return list.error();
    if (list->isEmpty())
        return unknownClient(id);
    return list->first();
}

StoreResult<QStringList> Inventory::resolveClients(const QStringList &idsOrHostnames)
{
    QStringList ids;
    for (const QString &token : idsOrHostnames) {
        auto q = m_db.exec(QStringLiteral("SELECT id, hostname = ? FROM clients"
                                          " WHERE id = ? OR hostname = ? COLLATE NOCASE"
                                          " ORDER BY id = ? DESC, id"),
                           {token, token, token, token});
        if (!q)
            return q.error();
        QStringList exact;
        QStringList caseless;
        QString byId;
        while (q->next()) {
            const QString id = q->value(0).toString();
            if (id == token)
                byId = id;
            else if (q->value(1).toBool())
                exact.append(id);
            else
                caseless.append(id);
        }
        // An ID names one client. A hostname must too: hostnames are the agents' words, and
        // two machines (or an impostor) may share one, in any case; their histories are never
        // merged behind the user's back. An exact-case match is preferred to caseless ones.
        QString chosen = byId;
        if (chosen.isEmpty()) {
            const QStringList &candidates = !exact.isEmpty() ? exact : caseless;
            if (candidates.size() > 1)
                return storeError(StoreError::Kind::Invalid,
                                  QStringLiteral("hostname %1 names %2 clients (%3): name one by ID")
                                      .arg(token)
                                      .arg(candidates.size())
                                      .arg(candidates.join(QStringLiteral(", "))));
            if (candidates.isEmpty())
                return unknownClient(token);
            chosen = candidates.front();
        }
        if (!ids.contains(chosen))
            ids.append(chosen);
    }
    return ids;
}

StoreResult<void> Inventory::forgetClient(const QString &id, bool deleteHistory, qint64 nowMs)
{
    auto q = deleteHistory
            ? m_db.exec(QStringLiteral("DELETE FROM clients WHERE id = ?"), {id})
            : m_db.exec(QStringLiteral("UPDATE clients SET secret_salt = NULL, secret_hash = NULL,"
                                       " forgotten_ms = ? WHERE id = ?"),
                        {nowMs, id});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return unknownClient(id);
    qCInfo(lcStore).noquote() << (deleteHistory ? "deleted client and history" : "forgot client") << id;
    return {};
}

StoreResult<qint64> Inventory::clientNum(const QString &id)
{
    auto q = m_db.exec(QStringLiteral("SELECT num FROM clients WHERE id = ?"), {id});
    if (!q)
        return q.error();
    if (!q->next())
        return unknownClient(id);
    return q->value(0).toLongLong();
}

StoreResult<QList<std::pair<QString, qint64>>> Inventory::allClientNums()
{
    auto q = m_db.exec(QStringLiteral("SELECT id, num FROM clients ORDER BY id"));
    if (!q)
        return q.error();
    QList<std::pair<QString, qint64>> list;
    while (q->next())
        list.append({q->value(0).toString(), q->value(1).toLongLong()});
    return list;
}

} // namespace autofact::server
