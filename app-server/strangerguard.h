// SPDX-License-Identifier: MIT
#pragma once

#include <QHash>
#include <QHostAddress>
#include <QString>

#include <optional>

namespace autofact::server {

/** What peers that have not authenticated may cost (StrangerGuard). */
struct StrangerLimits {
    int maxTotal = 1024;          ///< unauthenticated sessions, all addresses together
    int maxPerAddress = 64;       ///< unauthenticated sessions from one address
    int freeFailures = 5;         ///< failed authentications before delays start
    qint64 firstDelayMs = 1000;   ///< wait after the first failure over the free ones
    qint64 maxDelayMs = 5 * 60 * 1000;
    qint64 forgetAfterMs = 15 * 60 * 1000; ///< quiet time after which failures are forgotten
    /// Loopback peers skip the per-address cap and the waits (the total cap still holds): a
    /// TLS-terminating proxy on this host makes every agent of a fleet one loopback address.
    bool exemptLoopback = true;
};

/**
 * Bounds what peers that have not authenticated can cost: how many may wait for their Hello
 * to be checked (in total and per source address), and how often one address may fail to
 * authenticate (wrong secret, refused enrolment token) before it has to wait, with delays that
 * double on every further failure.
 *
 * Pure bookkeeping with the time passed in, so tests drive it without a clock; the hub owns
 * one on its thread.
 */
class StrangerGuard
{
public:
    using Limits = StrangerLimits;

    explicit StrangerGuard(Limits limits = {}) : m_limits(limits) {}

    /**
     * A new unauthenticated session from @p address: true if it may stay (and is counted until
     * leave()); false with a one-line @p why if a cap is reached.
     */
    bool admit(const QHostAddress &address, QString *why);
    /** The session from @p address authenticated or ended. */
    void leave(const QHostAddress &address);
    /**
     * If @p address must wait before its next authentication attempt, how long (ms); checked
     * before the database is asked anything.
     */
    std::optional<qint64> mustWaitMs(const QHostAddress &address, qint64 nowMs) const;
    /** An authentication from @p address failed. */
    void recordFailure(const QHostAddress &address, qint64 nowMs);
    /** Drops addresses with no session and no recent failure. */
    void prune(qint64 nowMs);

    int strangers() const { return m_total; }
    int strangersFrom(const QHostAddress &address) const;
    int trackedAddresses() const { return int(m_byAddress.size()); }
    const Limits &limits() const { return m_limits; }

private:
    struct Entry {
        int sessions = 0;
        int failures = 0;
        qint64 lastFailureMs = 0;
        qint64 blockedUntilMs = 0;
    };
    /** IPv4-mapped IPv6 and IPv4 are one address; IPv6 peers are grouped by /64. */
    static QString key(const QHostAddress &address);
    bool exempt(const QHostAddress &address) const;

    Limits m_limits;
    QHash<QString, Entry> m_byAddress;
    int m_total = 0;
};

} // namespace autofact::server
