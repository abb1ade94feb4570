// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "storeresult.h"

#include <QString>

#include <optional>

namespace autofact::server {

class Database;

/**
 * The agents' behaviour as the server pushes it: one default and per-client overrides, each
 * change numbered by one revision counter that never goes backwards, so an agent can tell a
 * new config from one it already applied. Stored configs are checked with the codec's bounds
 * on the way in and on the way out: an agent refuses a malformed config and would reconnect
 * forever.
 */
class ConfigStore
{
public:
    explicit ConfigStore(Database &db) : m_db(db) {}

    static QString toJson(const AgentConfig &config);
    static std::optional<AgentConfig> fromJson(const QString &json);

    /** The default configuration, with its revision. */
    StoreResult<AgentConfig> defaultConfig();
    /**
     * Replaces the default and returns the revision in force; the revision is assigned here
     * (the argument's is ignored), and an unchanged config keeps its revision.
     */
    StoreResult<quint32> setDefaultConfig(const AgentConfig &config);
    /** Sets or (std::nullopt) clears a client's override; returns the new revision. */
    StoreResult<quint32> setClientOverride(const QString &clientId,
                                           const std::optional<AgentConfig> &config);
    /** Override if any, else default; NotFound for an unknown client. */
    StoreResult<AgentConfig> effectiveConfig(const QString &clientId);
    StoreResult<void> recordConfigApplied(const QString &clientId, quint32 revision, qint64 nowMs);

private:
    StoreResult<quint32> bumpCounter();

    Database &m_db;
};

} // namespace autofact::server
