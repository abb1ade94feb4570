// SPDX-License-Identifier: MIT
#pragma once

#include "minuterollup.h"
#include "storeresult.h"
#include "storetypes.h"

#include <functional>

namespace autofact::server {

/**
 * The streaming read half of a storage backend: raw samples and minute rollups of one client,
 * in time order, handed to a visitor one row at a time (nothing is collected). The seam for a
 * second backend beside SqliteSampleReader.
 */
class SampleReader
{
public:
    enum class End {
        Done,    ///< every row in range was visited
        Stopped, ///< the visitor returned false
    };
    using SampleVisitor = std::function<bool(const StoredSample &)>;
    using MinuteVisitor = std::function<bool(const MinuteRollup &)>;

    virtual ~SampleReader() = default;

    /** Samples of client row @p client with fromMs <= timestamp < toMs, stamped @p clientId. */
    virtual StoreResult<End> samples(qint64 client, const QString &clientId, qint64 fromMs,
                                     qint64 toMs, const SampleVisitor &visit) = 0;
    /** Minute rollups of client row @p client whose minute starts in [fromMs, toMs). */
    virtual StoreResult<End> minutes(qint64 client, qint64 fromMs, qint64 toMs,
                                     const MinuteVisitor &visit) = 0;
};

} // namespace autofact::server
