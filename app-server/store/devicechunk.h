// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <cstdint>
#include <functional>
#include <vector>

namespace autofact::server {

/**
 * One client's device readings (filesystems, disks, network, temperatures) over a stretch of
 * time: the sample times that carry readings, ascending, and the readings, whose `sample`
 * indexes timestamps. What a device chunk holds and what reads return.
 */
struct DeviceSeries {
    std::vector<qint64> timestamps;
    DeviceTables tables;

    bool empty() const { return timestamps.empty(); }
    void clear();
    /** Appends @p batch's readings at its samples' times (samples after the last one held). */
    void appendBatch(const SampleBatch &batch);
    /** The readings at times in [@p fromMs, @p toMs]. */
    DeviceSeries slice(qint64 fromMs, qint64 toMs) const;
    /** The readings of the sample times whose index @p keep accepts, in their order. */
    DeviceSeries select(const std::function<bool(std::size_t)> &keep) const;
    /**
     * @p parts merged in time order (stable: readings of equal times keep the order of
     * @p parts). Parts may overlap in time (a late batch, a merged identity).
     */
    static DeviceSeries merged(const std::vector<const DeviceSeries *> &parts);
    /** One chunk window's share of a batch's readings: what a head row holds. */
    struct WindowPart;
    /**
     * @p batch's readings, one part per chunk window they touch (almost always one), windows
     * ascending. Grouped by window, not cut by time: a clock stepped back can put a batch's
     * samples out of time order.
     */
    static std::vector<WindowPart> byWindow(const SampleBatch &batch);
    bool operator==(const DeviceSeries &) const = default;
};

struct DeviceSeries::WindowPart {
    qint64 windowMs = 0;
    qint64 firstMs = 0; ///< earliest reading time in the part
    qint64 lastMs = 0;  ///< latest
    DeviceSeries series;
};

/**
 * The byte format of device_chunks.data (docs/STORAGE.md, "Device chunks"): names, then the
 * sample times as one integer column, then each kind's entries sorted by device and time with
 * every field an integer column (delta, delta-of-delta, constant, plain: the smallest), the
 * whole in a zstd frame. Every value is kept exactly: bytes, counts and milli-degrees are the
 * integers the agent sent.
 */
class DeviceChunk
{
public:
    static constexpr std::uint8_t formatVersion = 1;
    /// Limits a decoder enforces before allocating: a ten-minute window of one-second samples
    /// with 64 devices of each kind is 154k readings; corrupt sizes past these are refused, and
    /// each kind's (device, time) pairs must be distinct and in order before entries are made,
    /// so a few corrupt bytes cannot ask for more than ≈ 2M readings (≈ 170 MB).
    static constexpr std::size_t maxTimestamps = 1u << 20;
    static constexpr std::size_t maxEntries = 1u << 21; ///< all kinds together
    static constexpr std::size_t maxNames = 65536;      ///< device indexes are 16-bit
    static constexpr std::size_t maxRawBytes = 64u << 20;

    /// encode()'s zstd level for a chunk that is soon re-encoded: no compression.
    static constexpr int noCompression = -1;
    /** The chunk for @p series, zstd at @p zstdLevel (or noCompression). */
    static QByteArray encode(const DeviceSeries &series, int zstdLevel = 3);
    /**
     * Decodes @p blob into @p out. On corrupt input returns false, with a one-line reason in
     * @p error; never reads out of bounds or allocates past the limits above.
     */
    static bool decode(QByteArrayView blob, DeviceSeries &out, QString *error = nullptr);
};

} // namespace autofact::server
