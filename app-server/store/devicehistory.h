// SPDX-License-Identifier: MIT
#pragma once

#include "database.h"
#include "devicechunk.h"
#include "metrics.h"
#include "storeresult.h"

#include <QSet>

#include <optional>

namespace autofact::server {

/** What one DeviceHistory::sealSlice() did. */
struct DeviceSealResult {
    qint64 windows = 0;   ///< windows merged into one chunk each
    qint64 headRows = 0;  ///< per-batch rows folded in
    bool more = false;    ///< the slice hit its bound: run another
};

/**
 * Device readings (filesystems, disks, network, temperatures) in the `device_chunks` table,
 * DeviceChunk blobs by client and ten-minute window (the sample chunks' windows):
 * - **Head rows** (sealed = 0): each stored batch's readings, one row per window it touches,
 *   written in the batch's own transaction (SqliteIngestWriter::insertDevices), so a batch's
 *   devices are acked, deduplicated and gap-checked with its samples.
 * - **Sealing**: once a window is closed (as ChunkSealer decides), its rows become one sealed
 *   chunk; a late batch's row for a sealed window is merged into it by the next slice.
 * - **Retention** deletes whole windows with the raw tier (Retention::purgeRaw); a merge of
 *   identities moves rows (Inventory); forgetting a client with its history cascades.
 * Reads merge every row a range touches in time order.
 */
class DeviceHistory
{
public:
    explicit DeviceHistory(Database &db) : m_db(db) {}

    /** Seals closed windows at @p nowMs, at most @p maxWindows, in one transaction. */
    StoreResult<DeviceSealResult> sealSlice(qint64 nowMs, int maxWindows);
    /**
     * Client @p clientId's readings with sample times in [@p fromMs, @p toMs]. A chunk that
     * does not decode is an error naming the client and window.
     */
    StoreResult<DeviceSeries> read(const QString &clientId, qint64 fromMs, qint64 toMs);
    /** First and last reading time of client @p clientId; nullopt when it has none. */
    StoreResult<std::optional<std::pair<qint64, qint64>>> span(const QString &clientId);
    /** The same for client row @p clientNum. */
    StoreResult<DeviceSeries> readNum(qint64 clientNum, qint64 fromMs, qint64 toMs);
    /**
     * What client @p clientId's newest readings say, as the hub summarises a live batch: each
     * kind's newest reading within the 20 minutes before its last one (a kind not read in that
     * time, e.g. a collector turned off, stays empty). An empty summary when it has none.
     */
    StoreResult<metrics::DeviceSummary> latestSummary(const QString &clientId);

private:
    Database &m_db;
    QSet<std::pair<qint64, qint64>> m_corruptReported; ///< (client, window) warned about once
};

} // namespace autofact::server
