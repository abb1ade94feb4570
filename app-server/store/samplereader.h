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
    /** One stored chunk of raw samples (samplechunk.h); data is valid during the visit only. */
    struct Chunk {
        qint64 rowId = 0;
        qint64 windowMs = 0;
        qint64 firstMs = 0;
        qint64 lastMs = 0;
        qint64 samples = 0;
        quint64 sequenceMax = 0;
        /** The chunk's bytes, read only when asked (a skipped chunk's pages are never read). */
        std::function<QByteArrayView()> data;
    };
    using ChunkVisitor = std::function<bool(const Chunk &)>;

    virtual ~SampleReader() = default;

    /**
     * Samples of client row @p client with fromMs <= timestamp < toMs, stamped @p clientId: the
     * sealed chunks and the head table merged in time order.
     */
    virtual StoreResult<End> samples(qint64 client, const QString &clientId, qint64 fromMs,
                                     qint64 toMs, const SampleVisitor &visit) = 0;
    /** Only the head table's samples (not yet sealed into chunks), in time order. */
    virtual StoreResult<End> headSamples(qint64 client, const QString &clientId, qint64 fromMs,
                                         qint64 toMs, const SampleVisitor &visit) = 0;
    /** Chunks of @p client whose window starts in [fromWindowMs, toWindowMs), in time order. */
    virtual StoreResult<End> chunks(qint64 client, qint64 fromWindowMs, qint64 toWindowMs,
                                    const ChunkVisitor &visit) = 0;
    /** Exactly how many samples samples() would visit (chunks inside the range are not decoded). */
    virtual StoreResult<qint64> count(qint64 client, qint64 fromMs, qint64 toMs) = 0;
    /** Minute rollups of client row @p client whose minute starts in [fromMs, toMs). */
    virtual StoreResult<End> minutes(qint64 client, qint64 fromMs, qint64 toMs,
                                     const MinuteVisitor &visit) = 0;
};

} // namespace autofact::server
