// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>

namespace autofact::agent {

/**
 * What the agent engine needs from a connection to move batches: whether batches may flow
 * now (the server has welcomed this agent) and a way to put one encoded batch on the wire.
 * AgentLink implements it; engine tests use a recording fake.
 */
class BatchTransport
{
public:
    virtual ~BatchTransport() = default;
    /** True while batches may be sent (welcomed, connection up). */
    virtual bool isReady() const = 0;
    /** Queues @p payload for sending; false if the connection cannot take it now. */
    virtual bool sendBatch(const QByteArray &payload) = 0;
};

} // namespace autofact::agent
