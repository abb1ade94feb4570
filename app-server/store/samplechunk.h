// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "storetypes.h"

#include <QtEndian>

#include <QByteArray>
#include <QString>

#include <bit>
#include <cstdint>
#include <vector>

namespace autofact::server {

/** The samples of one client a chunk holds, column values decoded. */
struct ChunkSamples {
    std::vector<Sample> samples;
    std::vector<quint64> sequences; ///< the batch sequence of each sample
    std::vector<float> cores;       ///< samples[0]'s per-core values, then samples[1]'s, ...

    void clear();
    /** Appends @p sample (its @p sample.coreCount per-core values at @p cores). */
    void append(const Sample &sample, quint64 sequence, const float *cores);
    std::size_t size() const { return samples.size(); }
    /**
     * Calls @p visit(row) for each sample timed in [@p fromMs, @p toMs), in stored order, with
     * row.sample, row.sequence and row.coresLE set (coresLE views this or @p scratch, valid
     * during the call). Stops at the first false @p visit returns, and returns false then.
     */
    template <typename Visit>
    bool visitRange(qint64 fromMs, qint64 toMs, StoredSample &row, std::vector<std::uint32_t> &scratch,
                    Visit &&visit) const
    {
        const float *next = cores.data();
        for (std::size_t i = 0; i < samples.size(); ++i) {
            const Sample &x = samples[i];
            const float *mine = next;
            next += x.coreCount;
            if (x.timestampMs < fromMs || x.timestampMs >= toMs)
                continue;
            row.sample = x;
            row.sequence = sequences[i];
            if constexpr (std::endian::native == std::endian::little) {
                // The in-memory floats already are the little-endian row format.
                row.coresLE = QByteArrayView(reinterpret_cast<const char *>(mine), qsizetype(x.coreCount) * 4);
            } else {
                scratch.resize(std::size_t(x.coreCount));
                for (int k = 0; k < x.coreCount; ++k)
                    scratch[std::size_t(k)] = qToLittleEndian(std::bit_cast<std::uint32_t>(mine[k]));
                row.coresLE = QByteArrayView(reinterpret_cast<const char *>(scratch.data()), qsizetype(x.coreCount) * 4);
            }
            if (!visit(row))
                return false;
        }
        return true;
    }
};

/**
 * The raw-sample chunk format (docs/STORAGE.md, "Chunk format", describes it byte by byte):
 * one client's samples column by column, timestamps as delta-of-delta, integers as zigzag
 * varints of deltas (or of values, or of the residual from a column they follow, whichever is
 * smaller), percentages and load averages as integers in hundredths, then zstd over the whole.
 *
 * Precision: timestamps, sequences, memory figures, flags and core counts are exact; CPU
 * percentages, per-core percentages and load averages are kept to 0.01 (the decoded value is
 * within 0.005 of what the agent sent), finer than the kernel counts CPU time at any sampling
 * interval up to 10 s on one core, and exactly the two decimals /proc/loadavg prints. A column
 * with a value of magnitude 131,072 or more (where a float32 is coarser than a hundredth), or
 * one that is not finite, is stored bit-exact as float32 instead.
 *
 * Chunks are plain bytes, independent of the database that stores them. decode() checks every
 * length and count against the blob: a corrupt chunk is an error, never a crash.
 */
class SampleChunk
{
public:
    static constexpr std::uint8_t formatVersion = 1;
    /// A chunk holds one client's samples of one aligned ten-minute window (600 at 1 s).
    static constexpr qint64 windowMs = 10 * 60 * 1000;
    static qint64 windowOf(qint64 timestampMs) { return timestampMs - ((timestampMs % windowMs) + windowMs) % windowMs; }
    enum class Compression : std::uint8_t { None = 0, Zstd = 1 };
    /// Limits decode() enforces (and the sealer keeps chunks under).
    static constexpr std::size_t maxSamples = 1u << 16;
    static constexpr std::size_t maxCoreValues = 1u << 22;
    static constexpr std::size_t maxRawBytes = 64u << 20;

    /** Encodes @p data (any order; the sealer passes time order). */
    static QByteArray encode(const ChunkSamples &data, Compression compression = Compression::Zstd,
                             int zstdLevel = 3);
    /** Decodes @p blob into @p out (replacing its contents); false with @p error set when corrupt. */
    static bool decode(QByteArrayView blob, ChunkSamples &out, QString *error = nullptr);
    /** What a percentage or load average reads back as after a round trip. */
    static float stored(float value);
};

} // namespace autofact::server
