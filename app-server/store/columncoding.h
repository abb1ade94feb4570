// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

/**
 * @file columncoding.h
 * The byte-level pieces of the store's chunk formats (SampleChunk, DeviceChunk): integer
 * columns in whichever of delta, plain, residual, constant or delta-of-delta modes is smallest,
 * zigzag varints, float columns in hundredths, and the zstd envelope around a whole chunk.
 * Byte layouts are in docs/STORAGE.md.
 */
namespace autofact::server::columncoding {

// Column modes (the low nibble of a column's first byte); bit 0x10: values in KiB.
enum Mode : std::uint8_t {
    Delta = 0,       ///< first value, then differences
    Plain = 1,       ///< every value
    Residual = 2,    ///< difference from the value a formula of earlier columns predicts
    Constant = 3,    ///< one value for every sample
    Float32 = 4,     ///< float columns only: bit-exact IEEE-754, little-endian
    DeltaDelta = 5,  ///< first value, first difference, then differences of differences
};
constexpr std::uint8_t kKiB = 0x10;
constexpr double kScale = 100.0; // hundredths
// From 2^17 (131,072) up a float32 is coarser than a hundredth: such values are kept as they
// are, and hundredths stay exact to read back and to re-encode (a round trip is a fixed point).
constexpr double kMaxScaled = double(1 << 17) * kScale;

inline std::uint64_t zig(std::int64_t v)
{
    return (std::uint64_t(v) << 1) ^ std::uint64_t(v >> 63);
}

inline std::int64_t unzig(std::uint64_t u)
{
    return std::int64_t(u >> 1) ^ -std::int64_t(u & 1);
}

inline int varintBytes(std::uint64_t v)
{
    return v == 0 ? 1 : (std::bit_width(v) + 6) / 7;
}

// Wrapping arithmetic: a corrupt chunk may hold any numbers, and must not be undefined behaviour.
inline std::int64_t add(std::int64_t a, std::int64_t b)
{
    return std::int64_t(std::uint64_t(a) + std::uint64_t(b));
}

inline std::int64_t sub(std::int64_t a, std::int64_t b)
{
    return std::int64_t(std::uint64_t(a) - std::uint64_t(b));
}

class Writer
{
public:
    explicit Writer(std::string &out) : m_out(out) {}
    void byte(std::uint8_t b) { m_out.push_back(char(b)); }
    void varint(std::uint64_t v)
    {
        while (v >= 0x80) {
            m_out.push_back(char(std::uint8_t(v) | 0x80));
            v >>= 7;
        }
        m_out.push_back(char(v));
    }
    void zz(std::int64_t v) { varint(zig(v)); }
    void float32(float f)
    {
        const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
        for (int i = 0; i < 4; ++i)
            m_out.push_back(char(std::uint8_t(bits >> (8 * i))));
    }

    /** One integer column: the mode that writes the fewest bytes. */
    void column(const std::vector<std::int64_t> &v, const std::vector<std::int64_t> *predicted = nullptr,
                bool allowKiB = false)
    {
        const std::size_t n = v.size();
        bool kib = allowKiB && n > 0;
        for (std::int64_t x : v)
            if (x % 1024 != 0) {
                kib = false;
                break;
            }
        const auto at = [&](std::size_t i) { return kib ? v[i] / 1024 : v[i]; };
        const auto pred = [&](std::size_t i) { return kib ? (*predicted)[i] / 1024 : (*predicted)[i]; };
        std::array<std::uint64_t, 6> size{};
        size.fill(std::numeric_limits<std::uint64_t>::max());
        size[Delta] = size[Plain] = size[DeltaDelta] = 0;
        if (predicted)
            size[Residual] = 0;
        bool constant = n > 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t x = at(i);
            size[Plain] += varintBytes(zig(x));
            const std::int64_t d = i == 0 ? x : sub(x, at(i - 1));
            size[Delta] += varintBytes(zig(d));
            const std::int64_t dd = i < 2 ? d : sub(d, sub(at(i - 1), at(i - 2)));
            size[DeltaDelta] += varintBytes(zig(dd));
            if (predicted)
                size[Residual] += varintBytes(zig(sub(x, pred(i))));
            if (i > 0 && x != at(0))
                constant = false;
        }
        if (constant)
            size[Constant] = varintBytes(zig(at(0)));
        std::uint8_t mode = Delta;
        for (std::uint8_t m : {Constant, Residual, DeltaDelta, Plain})
            if (size[m] < size[mode])
                mode = m;
        byte(mode | (kib ? kKiB : 0));
        if (mode == Constant) {
            zz(at(0));
            return;
        }
        for (std::size_t i = 0; i < n; ++i) {
            const std::int64_t x = at(i);
            switch (mode) {
            case Plain: zz(x); break;
            case Residual: zz(sub(x, pred(i))); break;
            case Delta: zz(i == 0 ? x : sub(x, at(i - 1))); break;
            default: {
                const std::int64_t d = i == 0 ? x : sub(x, at(i - 1));
                zz(i < 2 ? d : sub(d, sub(at(i - 1), at(i - 2))));
            }
            }
        }
    }

    /** A column of percentages or load averages: hundredths when they fit, else float32. */
    void floats(const std::vector<float> &v, const std::vector<std::int64_t> *predicted = nullptr,
                std::vector<std::int64_t> *scaledOut = nullptr)
    {
        std::vector<std::int64_t> scaled(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            const double x = double(v[i]) * kScale;
            if (!std::isfinite(x) || std::fabs(x) >= kMaxScaled) {
                byte(Float32);
                for (float f : v)
                    float32(f);
                if (scaledOut)
                    scaledOut->clear();
                return;
            }
            scaled[i] = std::llround(x);
        }
        column(scaled, predicted && predicted->size() == v.size() ? predicted : nullptr);
        if (scaledOut)
            *scaledOut = std::move(scaled);
    }

private:
    std::string &m_out;
};

class Reader
{
public:
    Reader(const char *data, std::size_t size) : m_p(data), m_end(data + size) {}
    bool ok() const { return !m_bad; }
    bool atEnd() const { return m_p == m_end; }
    const char *position() const { return m_p; }
    /** Steps over @p n bytes (fails if fewer are left). */
    void skip(std::size_t n)
    {
        if (std::size_t(m_end - m_p) < n) {
            fail();
            return;
        }
        m_p += n;
    }
    std::uint8_t byte()
    {
        if (m_p >= m_end)
            return fail();
        return std::uint8_t(*m_p++);
    }
    std::uint64_t varint()
    {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_p >= m_end)
                return fail();
            const auto b = std::uint8_t(*m_p++);
            v |= std::uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80))
                return v;
        }
        return fail();
    }
    std::int64_t zz() { return unzig(varint()); }
    float float32()
    {
        if (m_end - m_p < 4)
            return float(fail());
        std::uint32_t bits = 0;
        for (int i = 0; i < 4; ++i)
            bits |= std::uint32_t(std::uint8_t(m_p[i])) << (8 * i);
        m_p += 4;
        return std::bit_cast<float>(bits);
    }

    /** An integer column of @p n values (@p predicted: the residual mode's base). */
    bool column(std::size_t n, std::vector<std::int64_t> &out, const std::vector<std::int64_t> *predicted = nullptr,
                bool allowKiB = true)
    {
        const std::uint8_t head = byte();
        const std::uint8_t mode = head & 0x0f;
        const bool kib = head & kKiB;
        if (!ok() || (head & ~(kKiB | 0x0f)) || (kib && !allowKiB) || mode == Float32 || mode > DeltaDelta
            || (mode == Residual && (!predicted || predicted->size() != n)))
            return fail();
        // Every mode but Constant spends at least a byte a value: a corrupt count larger than
        // what is left is refused before it becomes an allocation.
        if (mode != Constant && n > std::size_t(m_end - m_p))
            return fail();
        out.resize(n);
        if (mode == Constant) {
            const std::int64_t x = zz();
            std::fill(out.begin(), out.end(), x);
        } else {
            for (std::size_t i = 0; i < n && ok(); ++i) {
                const std::int64_t x = zz();
                switch (mode) {
                case Plain: out[i] = x; break;
                case Residual: out[i] = add(x, kib ? (*predicted)[i] / 1024 : (*predicted)[i]); break;
                case Delta: out[i] = i == 0 ? x : add(out[i - 1], x); break;
                default:
                    out[i] = i < 2 ? (i == 0 ? x : add(out[0], x))
                                   : add(out[i - 1], add(sub(out[i - 1], out[i - 2]), x));
                }
            }
        }
        if (kib)
            for (std::int64_t &x : out)
                x = std::int64_t(std::uint64_t(x) * 1024);
        return ok();
    }

    /** A float column of @p n values; @p scaled gets the hundredths (empty for float32 columns). */
    bool floats(std::size_t n, std::vector<float> &out, const std::vector<std::int64_t> *predicted = nullptr,
                std::vector<std::int64_t> *scaled = nullptr)
    {
        out.resize(n);
        if (m_p < m_end && (std::uint8_t(*m_p) & 0x0f) == Float32) {
            if (std::uint8_t(*m_p) != Float32)
                return fail();
            ++m_p;
            for (std::size_t i = 0; i < n && ok(); ++i)
                out[i] = float32();
            if (scaled)
                scaled->clear();
            return ok();
        }
        std::vector<std::int64_t> local;
        std::vector<std::int64_t> &q = scaled ? *scaled : local;
        if (!column(n, q, predicted && predicted->size() == n ? predicted : nullptr, false))
            return false;
        for (std::size_t i = 0; i < n; ++i)
            out[i] = float(double(q[i]) / kScale);
        return true;
    }

private:
    bool fail()
    {
        m_bad = true;
        m_p = m_end;
        return false;
    }

    const char *m_p;
    const char *m_end;
    bool m_bad = false;
};


/** How a chunk's column bytes are stored after its format byte. */
enum class Compression : std::uint8_t { None = 0, Zstd = 1 };

/**
 * A chunk: @p formatVersion, @p compression (zstd at @p zstdLevel: the uncompressed size as a
 * varint, then one frame; falls back to None if zstd fails), then @p raw.
 */
QByteArray pack(std::uint8_t formatVersion, const std::string &raw, Compression compression,
                int zstdLevel);

/**
 * Opens what pack() wrote: checks the version, and inflates a zstd frame into @p inflated
 * (refusing more than @p maxRawBytes before allocating). @p payload / @p size then point at
 * the column bytes. On failure returns false with a reason in @p why.
 */
bool unpack(QByteArrayView blob, std::uint8_t formatVersion, std::size_t maxRawBytes,
            std::string &inflated, const char *&payload, std::size_t &size, const char *&why);

} // namespace autofact::server::columncoding
