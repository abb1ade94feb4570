// SPDX-License-Identifier: MIT
#include "clienthealth.h"

#include <algorithm>

namespace autofact::server {

qint64 staleAfterMs(qint64 sendIntervalMs)
{
    const qint64 send = std::max<qint64>(1, sendIntervalMs);
    return send + std::max<qint64>(send / 2, 1000);
}

ClientHealth classifyHealth(const HealthInputs &in, qint64 nowMs)
{
    if (in.blocked)
        return ClientHealth::Blocked;
    if (!in.hasData)
        return ClientHealth::NeverSeen;
    if (!in.connected)
        return ClientHealth::Down;
    if (nowMs - in.lastDataMs > staleAfterMs(in.sendIntervalMs))
        return ClientHealth::Stale;
    return ClientHealth::Up;
}

QString healthName(ClientHealth health)
{
    switch (health) {
    case ClientHealth::Up:
        return QStringLiteral("up");
    case ClientHealth::Stale:
        return QStringLiteral("stale");
    case ClientHealth::Down:
        return QStringLiteral("down");
    case ClientHealth::NeverSeen:
        return QStringLiteral("never seen data");
    case ClientHealth::Blocked:
        return QStringLiteral("blocked");
    }
    return QStringLiteral("down");
}

} // namespace autofact::server
