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
    auto q = m_db.exec(QStringLiteral("SELECT config_override, config_revision FROM clients"
                                      " WHERE id = ?"),
                       {clientId});
    if (!q)
        return q.error();
    if (!q->next())
        return storeError(StoreError::Kind::NotFound, QStringLiteral("unknown client: %1").arg(clientId));
    const quint32 defaultRevision = result->revision;
    if (!q->value(0).isNull()) {
        const auto o = fromJson(q->value(0).toString());
        if (o && codec::validate(Message(*o)).isEmpty())
            *result = *o;
        else
            qCWarning(lcStore).noquote() << "override of" << clientId << "is unusable; using the default";
    }
    // Clearing an override must not make the revision go backwards: the client's own counter
    // was bumped by that change, the default's was not.
    result->revision = std::max(defaultRevision, q->value(1).toUInt());
    return result;
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
