// SPDX-License-Identifier: MIT
#include "configstore.h"

#include "codec.h"
#include "database.h"
#include "storelogging.h"
#include "transaction.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace autofact::server {

namespace {

bool sameIgnoringRevision(AgentConfig a, AgentConfig b)
{
    a.revision = b.revision = 0;
    return a == b;
}

StoreError invalidConfig(const AgentConfig &c)
{
    return storeError(StoreError::Kind::Invalid,
                      QStringLiteral("agent config out of bounds: %1").arg(codec::validate(Message(c))));
}

} // namespace

QString ConfigStore::toJson(const AgentConfig &c)
{
    const QJsonObject o{
        {QStringLiteral("revision"), qint64(c.revision)},
        {QStringLiteral("sampleIntervalMs"), qint64(c.sampleIntervalMs)},
        {QStringLiteral("sendIntervalMs"), qint64(c.sendIntervalMs)},
        {QStringLiteral("heartbeatIntervalMs"), qint64(c.heartbeatIntervalMs)},
        {QStringLiteral("reconnectBaseMs"), qint64(c.reconnectBaseMs)},
        {QStringLiteral("reconnectMaxMs"), qint64(c.reconnectMaxMs)},
        {QStringLiteral("giveUpMs"), qint64(c.giveUpMs)},
        {QStringLiteral("spoolMaxBytes"), qint64(c.spoolMaxBytes)},
        {QStringLiteral("spoolMaxAgeMs"), qint64(c.spoolMaxAgeMs)},
        {QStringLiteral("filesystemsIntervalMs"), qint64(c.filesystemsIntervalMs)},
        {QStringLiteral("disksIntervalMs"), qint64(c.disksIntervalMs)},
        {QStringLiteral("networkIntervalMs"), qint64(c.networkIntervalMs)},
        {QStringLiteral("temperaturesIntervalMs"), qint64(c.temperaturesIntervalMs)},
    };
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

std::optional<AgentConfig> ConfigStore::fromJson(const QString &json)
{
    const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8());
    if (!doc.isObject())
        return std::nullopt;
    const QJsonObject o = doc.object();
    AgentConfig c;
    auto get = [&o](const char *key, auto &field) {
        const QJsonValue v = o.value(QLatin1StringView(key));
        if (v.isDouble())
            field = static_cast<std::remove_reference_t<decltype(field)>>(v.toInteger());
    };
    get("revision", c.revision);
    get("sampleIntervalMs", c.sampleIntervalMs);
    get("sendIntervalMs", c.sendIntervalMs);
    get("heartbeatIntervalMs", c.heartbeatIntervalMs);
    get("reconnectBaseMs", c.reconnectBaseMs);
    get("reconnectMaxMs", c.reconnectMaxMs);
    get("giveUpMs", c.giveUpMs);
    get("spoolMaxBytes", c.spoolMaxBytes);
    get("spoolMaxAgeMs", c.spoolMaxAgeMs);
    // Configs stored before 0.7 have no collector fields: they get the shipped intervals.
    get("filesystemsIntervalMs", c.filesystemsIntervalMs);
    get("disksIntervalMs", c.disksIntervalMs);
    get("networkIntervalMs", c.networkIntervalMs);
    get("temperaturesIntervalMs", c.temperaturesIntervalMs);
    return c;
}

StoreResult<AgentConfig> ConfigStore::defaultConfig()
{
    auto q = m_db.exec(QStringLiteral("SELECT value FROM settings WHERE key = 'default_config'"));
    if (!q)
        return q.error();
    if (!q->next())
        return databaseError(QStringLiteral("the database holds no default agent configuration"));
    const std::optional<AgentConfig> c = fromJson(q->value(0).toString());
    if (!c)
        return databaseError(QStringLiteral("the stored default agent configuration is not valid JSON"));
    // A config stored by an older version may break today's bounds; agents would refuse it
    // as malformed and reconnect forever. Fall back to the built-in behaviour instead.
    if (const QString problem = codec::validate(Message(*c)); !problem.isEmpty()) {
        qCWarning(lcStore).noquote() << "stored default configuration is out of bounds (" << problem
                                     << "); pushing the built-in defaults";
        AgentConfig fallback;
        fallback.revision = c->revision;
        return fallback;
    }
    return *c;
}

StoreResult<quint32> ConfigStore::bumpCounter()
{
    auto q = m_db.exec(QStringLiteral("UPDATE settings SET value = CAST(value AS INTEGER) + 1"
                                      " WHERE key = 'config_counter'"));
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return databaseError(QStringLiteral("the configuration revision counter is missing"));
    // Other nodes on a shared store look for new revisions when told (at commit).
    if (m_db.isPostgres())
        if (auto n = m_db.exec(QStringLiteral("NOTIFY autofact_config")); !n)
            return n.error();
    auto v = m_db.scalar(QStringLiteral("SELECT value FROM settings WHERE key = 'config_counter'"));
    if (!v)
        return v.error();
    return v->toUInt();
}

StoreResult<quint32> ConfigStore::setDefaultConfig(const AgentConfig &config)
{
    if (!codec::validate(Message(config)).isEmpty())
        return invalidConfig(config);
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    auto current = defaultConfig();
    if (!current)
        return current.error();
    if (sameIgnoringRevision(*current, config))
        return current->revision; // no change, no new revision: agents would re-apply for nothing
    AgentConfig stored = config;
    auto revision = bumpCounter();
    if (!revision)
        return revision;
    stored.revision = *revision;
    if (auto q = m_db.exec(QStringLiteral("UPDATE settings SET value = ? WHERE key = 'default_config'"),
                           {toJson(stored)});
        !q)
        return q.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    qCInfo(lcStore) << "default configuration is now revision" << stored.revision;
    return stored.revision;
}

StoreResult<quint32> ConfigStore::setClientOverride(const QString &clientId,
                                                    const std::optional<AgentConfig> &config)
{
    if (config && !codec::validate(Message(*config)).isEmpty())
        return invalidConfig(*config);
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    auto exists = m_db.exec(QStringLiteral("SELECT 1 FROM clients WHERE id = ?"), {clientId});
    if (!exists)
        return exists.error();
    if (!exists->next())
        return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown client: %1").arg(clientId));
    auto revision = bumpCounter();
    if (!revision)
        return revision;
    QVariant json = QVariant(QMetaType(QMetaType::QString)); // NULL clears the override
    if (config) {
        AgentConfig stored = *config;
        stored.revision = *revision;
        json = toJson(stored);
    }
    if (auto q = m_db.exec(QStringLiteral("UPDATE clients SET config_override = ?, config_revision = ?"
                                          " WHERE id = ?"),
                           {json, *revision, clientId});
        !q)
        return q.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    return *revision;
}

StoreResult<AgentConfig> ConfigStore::effectiveConfig(const QString &clientId)
{
    auto result = defaultConfig();
    if (!result)
        return result;
    auto q = m_db.exec(QStringLiteral("SELECT c.config_override, c.config_revision, g.config_override,"
                                      " COALESCE(g.config_revision, 0), c.group_name FROM clients c"
                                      " LEFT JOIN group_configs g ON g.name = c.group_name"
                                      " AND c.group_name <> '' WHERE c.id = ?"),
                       {clientId});
    if (!q)
        return q.error();
    if (!q->next())
        return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown client: %1").arg(clientId));
    const quint32 defaultRevision = result->revision;
    auto apply = [&result](const QVariant &json, const QString &whose) {
        if (json.isNull())
            return false;
        const auto o = fromJson(json.toString());
        if (o && codec::validate(Message(*o)).isEmpty()) {
            *result = *o;
            return true;
        }
        qCWarning(lcStore).noquote() << "override of" << whose << "is unusable; skipping it";
        return false;
    };
    if (!apply(q->value(0), clientId))
        apply(q->value(2), QStringLiteral("group ") + q->value(4).toString());
    // Clearing an override must not make the revision go backwards: the client's (or group's)
    // own counter was bumped by that change, the default's was not.
    result->revision = std::max({defaultRevision, q->value(1).toUInt(), q->value(3).toUInt()});
    return result;
}

QString ConfigStore::groupNameProblem(const QString &name)
{
    if (name.isEmpty())
        return QStringLiteral("a group name cannot be empty");
    if (name.size() > 64)
        return QStringLiteral("a group name has at most 64 characters");
    if (name != name.trimmed())
        return QStringLiteral("a group name cannot start or end with a space");
    for (const QChar c : name)
        if (c.category() == QChar::Other_Control || c.category() == QChar::Other_Format)
            return QStringLiteral("a group name cannot hold control characters");
    return {};
}

StoreResult<quint32> ConfigStore::revisionCounter()
{
    auto v = m_db.scalar(QStringLiteral("SELECT value FROM settings WHERE key = 'config_counter'"));
    if (!v)
        return v.error();
    return v->toUInt();
}

StoreResult<quint32> ConfigStore::setGroupOverride(const QString &group, const std::optional<AgentConfig> &config)
{
    if (const QString problem = groupNameProblem(group); !problem.isEmpty())
        return storeError(StoreError::Kind::Invalid, problem);
    if (config && !codec::validate(Message(*config)).isEmpty())
        return invalidConfig(*config);
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    auto revision = bumpCounter();
    if (!revision)
        return revision;
    QVariant json = QVariant(QMetaType(QMetaType::QString));
    if (config) {
        AgentConfig stored = *config;
        stored.revision = *revision;
        json = toJson(stored);
    }
    // The row stays when cleared: its revision keeps members from going backwards.
    if (auto q = m_db.exec(QStringLiteral("INSERT INTO group_configs(name, config_override, config_revision)"
                                          " VALUES (?,?,?) ON CONFLICT(name) DO UPDATE SET"
                                          " config_override = excluded.config_override,"
                                          " config_revision = excluded.config_revision"),
                           {group, json, *revision});
        !q)
        return q.error();
    if (auto c = txn.commit(); !c)
        return c.error();
    qCInfo(lcStore).noquote() << "behaviour of group" << group << (config ? "set" : "cleared")
                              << "at revision" << *revision;
    return *revision;
}

StoreResult<QHash<QString, AgentConfig>> ConfigStore::groupOverrides()
{
    auto q = m_db.exec(QStringLiteral("SELECT name, config_override FROM group_configs"
                                      " WHERE config_override IS NOT NULL"));
    if (!q)
        return q.error();
    QHash<QString, AgentConfig> out;
    while (q->next())
        if (const auto c = fromJson(q->value(1).toString()))
            out.insert(q->value(0).toString(), *c);
    return out;
}

StoreResult<quint32> ConfigStore::setClientGroup(const QStringList &clientIds, const QString &group)
{
    if (!group.isEmpty())
        if (const QString problem = groupNameProblem(group); !problem.isEmpty())
            return storeError(StoreError::Kind::Invalid, problem);
    Transaction txn(m_db);
    if (auto b = txn.begin(); !b)
        return b.error();
    auto revision = bumpCounter();
    if (!revision)
        return revision;
    if (m_db.isPostgres() && clientIds.size() > 1) {
        // The rows in num order, as every writer that locks several clients' rows takes them
        // (ingest's group commits among them), so this waits for them rather than deadlocking.
        QVariantList ids(clientIds.cbegin(), clientIds.cend());
        QString marks = QStringLiteral("?");
        for (qsizetype i = 1; i < ids.size(); ++i)
            marks += QStringLiteral(",?");
        if (auto l = m_db.exec(QStringLiteral("SELECT num FROM clients WHERE id IN (%1) ORDER BY num FOR UPDATE").arg(marks), ids); !l)
            return l.error();
    }
    for (const QString &id : clientIds) {
        // The client's own revision moves, so an agent whose effective config changed with its
        // group sees a new revision and applies it.
        auto q = m_db.exec(QStringLiteral("UPDATE clients SET group_name = ?, config_revision = ? WHERE id = ?"),
                           {group.isEmpty() ? QStringLiteral("") : group, *revision, id});
        if (!q)
            return q.error();
        if (q->numRowsAffected() != 1)
            return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown client: %1").arg(id));
    }
    if (auto c = txn.commit(); !c)
        return c.error();
    qCInfo(lcStore).noquote() << clientIds.size() << (clientIds.size() == 1 ? "client" : "clients")
                              << (group.isEmpty() ? QStringLiteral("left their group")
                                                  : QStringLiteral("now in group ") + group);
    return *revision;
}

StoreResult<void> ConfigStore::recordConfigApplied(const QString &clientId, quint32 revision,
                                                   qint64 nowMs)
{
    auto q = m_db.exec(QStringLiteral("UPDATE clients SET applied_revision = ?, applied_ms = ? WHERE id = ?"),
                       {revision, nowMs, clientId});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown client: %1").arg(clientId));
    return {};
}

} // namespace autofact::server
