// SPDX-License-Identifier: MIT
#include "strangerguard.h"

#include <algorithm>

namespace autofact::server {

QString StrangerGuard::key(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    if (isV4)
        return QHostAddress(v4).toString();
    // One IPv6 host usually owns a whole /64: counting single addresses would let it rotate
    // through 2^64 of them.
    Q_IPV6ADDR bytes = address.toIPv6Address();
    std::fill(bytes.c + 8, bytes.c + 16, quint8(0));
    return QHostAddress(bytes).toString() + QStringLiteral("/64");
}

bool StrangerGuard::exempt(const QHostAddress &address) const
{
    return m_limits.exemptLoopback && address.isLoopback();
}

bool StrangerGuard::admit(const QHostAddress &address, QString *why)
{
    if (m_total >= m_limits.maxTotal) {
        if (why)
            *why = QStringLiteral("%1 connections are waiting to authenticate (the limit)").arg(m_total);
        return false;
    }
    Entry &e = m_byAddress[key(address)];
    if (e.sessions >= m_limits.maxPerAddress && !exempt(address)) {
        if (why)
            *why = QStringLiteral("%1 connections from this address are waiting to authenticate (the limit)")
                       .arg(e.sessions);
        return false;
    }
    ++e.sessions;
    ++m_total;
    return true;
}

void StrangerGuard::leave(const QHostAddress &address)
{
    const auto it = m_byAddress.find(key(address));
    if (it == m_byAddress.end() || it->sessions == 0)
        return;
    --it->sessions;
    --m_total;
}

int StrangerGuard::strangersFrom(const QHostAddress &address) const
{
    return m_byAddress.value(key(address)).sessions;
}

std::optional<qint64> StrangerGuard::mustWaitMs(const QHostAddress &address, qint64 nowMs) const
{
    const auto it = m_byAddress.constFind(key(address));
    if (it == m_byAddress.cend() || it->blockedUntilMs <= nowMs || exempt(address))
        return std::nullopt;
    return it->blockedUntilMs - nowMs;
}

void StrangerGuard::recordFailure(const QHostAddress &address, qint64 nowMs)
{
    Entry &e = m_byAddress[key(address)];
    if (e.lastFailureMs > 0 && nowMs - e.lastFailureMs > m_limits.forgetAfterMs)
        e.failures = 0;
    ++e.failures;
    e.lastFailureMs = nowMs;
    // The free failures are spent: the next attempt waits, longer after every further failure.
    const int over = e.failures - m_limits.freeFailures + 1;
    if (over <= 0)
        return;
    const qint64 delay = std::min(m_limits.maxDelayMs, m_limits.firstDelayMs << std::min(over - 1, 20));
    e.blockedUntilMs = nowMs + delay;
}

void StrangerGuard::prune(qint64 nowMs)
{
    for (auto it = m_byAddress.begin(); it != m_byAddress.end();) {
        const bool quiet = it->sessions == 0 && it->blockedUntilMs <= nowMs
                           && (it->failures == 0 || nowMs - it->lastFailureMs > m_limits.forgetAfterMs);
        if (quiet)
            it = m_byAddress.erase(it);
        else
            ++it;
    }
}

} // namespace autofact::server
