// SPDX-License-Identifier: MIT
#pragma once

#include "servercore.h"

#include <QMetaObject>

namespace autofact::testdata {

/**
 * Returns once the server's store worker has run every call queued to it before this one
 * and written what it held (its group-commit queue, disconnect records).
 *
 * A barrier through the worker's own event queue, not a wait for time: calls the hub queued
 * before an event the test already saw (clientDisconnected, a refusal) are behind it, so a
 * database read afterwards sees their effect. Call it from the test thread only.
 */
inline void settleStore(server::ServerCore &core)
{
    server::StoreWorker *worker = core.worker();
    QMetaObject::invokeMethod(worker, [worker] { worker->flush(); }, Qt::BlockingQueuedConnection);
}

} // namespace autofact::testdata
