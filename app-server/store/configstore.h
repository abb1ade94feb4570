// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "storeresult.h"

#include <QHash>
#include <QString>
#include <QStringList>

#include <optional>

namespace autofact::server {

class Database;

/**
 * The agents' behaviour as the server pushes it: one default, per-group and per-client
 * overrides (a client's own override wins, then its group's, then the default), each
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
    /**
     * Sets or (std::nullopt) clears the override of group @p group (members or not yet);
     * returns the new revision, which every member's effective config takes.
     */
    StoreResult<quint32> setGroupOverride(const QString &group, const std::optional<AgentConfig> &config);
    /** Every group override, by group name. */
    StoreResult<QHash<QString, AgentConfig>> groupOverrides();
    /**
     * Puts @p clientIds into @p group (empty: into no group) in one transaction and returns the
     * revision their effective configs now carry. NotFound names the first unknown client;
     * Invalid when groupNameProblem() objects.
     */
    StoreResult<quint32> setClientGroup(const QStringList &clientIds, const QString &group);
    /** Why @p name cannot name a group (empty: it can). */
    static QString groupNameProblem(const QString &name);
    /** The counter every behaviour or group change bumps: another process's change shows here. */
    StoreResult<quint32> revisionCounter();

    /** Client override, else group override, else default; NotFound for an unknown client. */
    StoreResult<AgentConfig> effectiveConfig(const QString &clientId);
    StoreResult<void> recordConfigApplied(const QString &clientId, quint32 revision, qint64 nowMs);

private:
    StoreResult<quint32> bumpCounter();

    Database &m_db;
};

} // namespace autofact::server
