// SPDX-License-Identifier: MIT
#pragma once

#include "loadstats.h"
#include "messages.h"

#include <QObject>
#include <QRandomGenerator>
#include <QUrl>

namespace autofact::loadgen {

/**
 * Misbehaviour on purpose, on side connections so the simulated agents' own links stay the
 * real code path:
 * - resend: connects as an existing agent (its Hello), then sends a batch the server already
 *   acknowledged. The server must acknowledge it again and store nothing. Because the server
 *   keeps one connection per client, this also replaces (and so drops) the agent's own link,
 *   which then reconnects and resends its window.
 * - malformed: connects and sends bytes that are not a protocol message; the server must
 *   refuse and close that connection and nothing else.
 */
class FaultInjector : public QObject
{
    Q_OBJECT
public:
    FaultInjector(QUrl server, LoadStats &stats, quint32 seed, QObject *parent = nullptr);

    /** Side connections insist on this server certificate (sha256:HEX), as the agents do. */
    void setPinnedFingerprint(const QString &fingerprint) { m_pin = fingerprint; }

    void resend(const Hello &hello, const QByteArray &payload);
    void sendMalformed();

private:
    QUrl m_server;
    LoadStats &m_stats;
    QRandomGenerator m_rng;
    QString m_pin;
};

} // namespace autofact::loadgen
