// SPDX-License-Identifier: MIT
#pragma once

#include <QString>
#include <QtGlobal>

namespace autofact::server {

/**
 * A client's health, from what the server receives (docs/STORAGE.md, "Health"). One rule for
 * the live hub, the dashboard and `autofactory clients`.
 */
enum class ClientHealth {
    Up,        ///< connected, data arriving
    Stale,     ///< connected, but no data for longer than staleAfterMs(): a hung agent or host
    Down,      ///< has sent data before; not connected (gone, or ended by the heartbeat timeout)
    NeverSeen, ///< has never sent a sample
    Blocked,   ///< revoked
};

/** What the rule looks at. Times are the server's clock, never the agent's. */
struct HealthInputs {
    bool blocked = false;
    bool connected = false;
    bool hasData = false;
    /** When data last arrived, or the connection came up if that is later (0: never). */
    qint64 lastDataMs = 0;
    qint64 sendIntervalMs = 5000;
};

/**
 * No data for one send interval plus half of one (at least 1 s) while connected is stale:
 * batches arrive every send interval, so a hang is seen within two intervals of its cause.
 */
qint64 staleAfterMs(qint64 sendIntervalMs);

ClientHealth classifyHealth(const HealthInputs &in, qint64 nowMs);

/** "up", "stale", "down", "never seen data", "blocked": the CLI's and the JSON's words. */
QString healthName(ClientHealth health);

} // namespace autofact::server
