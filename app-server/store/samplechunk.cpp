// SPDX-License-Identifier: MIT
#include "samplechunk.h"

#include <zstd.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

namespace autofact::server {

void ChunkSamples::clear()
{
    samples.clear();
    sequences.clear();
    cores.clear();
}

void ChunkSamples::append(const Sample &sample, quint64 sequence, const float *values)
{
    samples.push_back(sample);
    sequences.push_back(sequence);
    cores.insert(cores.end(), values, values + sample.coreCount);
}

namespace {

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

std::uint64_t zig(std::int64_t v)
{
    return (std::uint64_t(v) << 1) ^ std::uint64_t(v >> 63);
}

std::int64_t unzig(std::uint64_t u)
{
    return std::int64_t(u >> 1) ^ -std::int64_t(u & 1);
}

int varintBytes(std::uint64_t v)
{
    return v == 0 ? 1 : (std::bit_width(v) + 6) / 7;
}

// Wrapping arithmetic: a corrupt chunk may hold any numbers, and must not be undefined behaviour.
std::int64_t add(std::int64_t a, std::int64_t b)
{
    return std::int64_t(std::uint64_t(a) + std::uint64_t(b));
}

std::int64_t sub(std::int64_t a, std::int64_t b)
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
        out.resize(n);
        const std::uint8_t head = byte();
        const std::uint8_t mode = head & 0x0f;
        const bool kib = head & kKiB;
        if (!ok() || (head & ~(kKiB | 0x0f)) || (kib && !allowKiB) || mode == Float32 || mode > DeltaDelta
            || (mode == Residual && (!predicted || predicted->size() != n)))
            return fail();
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

struct CCtxFree {
    void operator()(ZSTD_CCtx *c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
    void operator()(ZSTD_DCtx *c) const { ZSTD_freeDCtx(c); }
};

// The CPU columns in the order a chunk stores them; idle comes last, predicted from the rest.
constexpr float CpuTimes::*kCpu[] = {&CpuTimes::user, &CpuTimes::nice, &CpuTimes::system, &CpuTimes::iowait,
                                     &CpuTimes::irq, &CpuTimes::softirq, &CpuTimes::steal, &CpuTimes::guest};
constexpr int kIdlePredictors = 7; // guest is part of user on Linux: not in the sum
constexpr std::uint64_t Memory::*kMemory[] = {&Memory::total, &Memory::free, &Memory::available, &Memory::buffers,
                                              &Memory::cached, &Memory::swapTotal, &Memory::swapFree};
constexpr float Sample::*kLoad[] = {&Sample::load1, &Sample::load5, &Sample::load15};

} // namespace

float SampleChunk::stored(float value)
{
    const double x = double(value) * kScale;
    if (!std::isfinite(x) || std::fabs(x) >= kMaxScaled)
        return value;
    return float(double(std::llround(x)) / kScale);
}

QByteArray SampleChunk::encode(const ChunkSamples &data, Compression compression, int zstdLevel)
{
    const std::size_t n = data.samples.size();
    std::string raw;
    raw.reserve(n * 48 + data.cores.size() * 2 + 64);
    Writer w(raw);
    std::size_t coreColumns = 0;
    for (const Sample &s : data.samples)
        coreColumns = std::max<std::size_t>(coreColumns, s.coreCount);
    w.varint(n);
    w.varint(coreColumns);

    std::vector<std::int64_t> ints(n);
    const auto intColumn = [&](auto get, const std::vector<std::int64_t> *predicted = nullptr, bool kib = false) {
        for (std::size_t i = 0; i < n; ++i)
            ints[i] = std::int64_t(get(i));
        w.column(ints, predicted, kib);
    };
    intColumn([&](std::size_t i) { return data.samples[i].timestampMs; });
    intColumn([&](std::size_t i) { return data.sequences[i]; });
    intColumn([&](std::size_t i) { return data.samples[i].flags; });
    intColumn([&](std::size_t i) { return data.samples[i].coreCount; });

    std::vector<float> fl(n);
    std::vector<std::int64_t> scaled;
    std::vector<std::int64_t> idlePrediction(n, std::int64_t(100 * kScale));
    bool predictable = true;
    for (int c = 0; c < int(std::size(kCpu)); ++c) {
        for (std::size_t i = 0; i < n; ++i)
            fl[i] = data.samples[i].cpu.*kCpu[c];
        w.floats(fl, nullptr, &scaled);
        if (c < kIdlePredictors) {
            if (scaled.size() != n)
                predictable = false;
            else
                for (std::size_t i = 0; i < n; ++i)
                    idlePrediction[i] = sub(idlePrediction[i], scaled[i]);
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        fl[i] = data.samples[i].cpu.idle;
    w.floats(fl, predictable ? &idlePrediction : nullptr);

    std::vector<std::int64_t> total(n), available(n);
    for (std::size_t i = 0; i < n; ++i) {
        total[i] = std::int64_t(data.samples[i].memory.total);
        available[i] = std::int64_t(data.samples[i].memory.available);
    }
    for (const auto field : kMemory)
        intColumn([&](std::size_t i) { return data.samples[i].memory.*field; }, nullptr, true);
    std::vector<std::int64_t> usedPrediction(n);
    for (std::size_t i = 0; i < n; ++i)
        usedPrediction[i] = sub(total[i], available[i]);
    intColumn([&](std::size_t i) { return data.samples[i].memory.used; }, &usedPrediction, true);
    for (const auto field : kLoad) {
        for (std::size_t i = 0; i < n; ++i)
            fl[i] = data.samples[i].*field;
        w.floats(fl);
    }

    // Per-core values core by core: each core's own history is what changes slowly.
    std::vector<std::size_t> offset(n);
    for (std::size_t i = 0, at = 0; i < n; ++i) {
        offset[i] = at;
        at += data.samples[i].coreCount;
    }
    std::vector<float> column;
    column.reserve(n);
    for (std::size_t c = 0; c < coreColumns; ++c) {
        column.clear();
        for (std::size_t i = 0; i < n; ++i)
            if (data.samples[i].coreCount > c)
                column.push_back(data.cores[offset[i] + c]);
        w.floats(column);
    }

    QByteArray out;
    out.append(char(formatVersion));
    if (compression == Compression::Zstd) {
        thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx(ZSTD_createCCtx());
        std::string head;
        Writer(head).varint(raw.size());
        out.append(char(Compression::Zstd));
        out.append(head.data(), qsizetype(head.size()));
        const qsizetype at = out.size();
        out.resize(at + qsizetype(ZSTD_compressBound(raw.size())));
        const std::size_t z = ZSTD_compressCCtx(ctx.get(), out.data() + at, std::size_t(out.size() - at), raw.data(),
                                                raw.size(), zstdLevel);
        if (!ZSTD_isError(z)) {
            out.resize(at + qsizetype(z));
            return out;
        }
        out.resize(1); // cannot happen with a bound-sized buffer; stored uncompressed then
    }
    out.append(char(Compression::None));
    out.append(raw.data(), qsizetype(raw.size()));
    return out;
}

bool SampleChunk::decode(QByteArrayView blob, ChunkSamples &out, QString *error)
{
    const auto failed = [error](const char *why) {
        if (error)
            *error = QStringLiteral("corrupt sample chunk: %1").arg(QLatin1StringView(why));
        return false;
    };
    out.clear();
    if (blob.size() < 2)
        return failed("too short");
    if (std::uint8_t(blob[0]) != formatVersion)
        return failed("unknown format version");
    std::string inflated;
    const char *payload = blob.data() + 2;
    std::size_t payloadSize = std::size_t(blob.size() - 2);
    switch (std::uint8_t(blob[1])) {
    case std::uint8_t(Compression::None):
        break;
    case std::uint8_t(Compression::Zstd): {
        Reader head(payload, payloadSize);
        const std::uint64_t rawSize = head.varint();
        if (!head.ok() || rawSize > maxRawBytes)
            return failed("bad uncompressed size");
        const char *frame = head.position();
        const std::size_t frameSize = payloadSize - std::size_t(frame - payload);
        // The frame states its size too (the encoder always writes it): both must agree before
        // anything is allocated, so a few corrupt bytes cannot ask for 64 MiB.
        if (ZSTD_getFrameContentSize(frame, frameSize) != rawSize)
            return failed("zstd frame does not state the uncompressed size");
        thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
        inflated.resize(rawSize);
        const std::size_t got = ZSTD_decompressDCtx(ctx.get(), inflated.data(), inflated.size(), frame, frameSize);
        if (ZSTD_isError(got) || got != rawSize)
            return failed("zstd frame does not decompress to its stated size");
        payload = inflated.data();
        payloadSize = inflated.size();
        break;
    }
    default:
        return failed("unknown compression");
    }

    Reader r(payload, payloadSize);
    const std::uint64_t n = r.varint();
    const std::uint64_t coreColumns = r.varint();
    if (!r.ok() || n > maxSamples || coreColumns > protocol::maxCoresPerSample)
        return failed("sample or core count out of range");
    std::vector<std::int64_t> ints;
    out.samples.resize(n);
    out.sequences.resize(n);
    if (!r.column(n, ints))
        return failed("timestamps");
    for (std::size_t i = 0; i < n; ++i)
        out.samples[i].timestampMs = ints[i];
    if (!r.column(n, ints))
        return failed("sequences");
    for (std::size_t i = 0; i < n; ++i)
        out.sequences[i] = quint64(ints[i]);
    if (!r.column(n, ints))
        return failed("flags");
    for (std::size_t i = 0; i < n; ++i)
        out.samples[i].flags = quint16(ints[i]);
    if (!r.column(n, ints))
        return failed("core counts");
    std::size_t coreValues = 0;
    std::uint64_t widest = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (ints[i] < 0 || std::uint64_t(ints[i]) > coreColumns)
            return failed("core count out of range");
        out.samples[i].coreCount = quint16(ints[i]);
        coreValues += std::size_t(ints[i]);
        widest = std::max<std::uint64_t>(widest, std::uint64_t(ints[i]));
    }
    if (widest != coreColumns || coreValues > maxCoreValues)
        return failed("core columns do not match the core counts");

    std::vector<float> fl;
    std::vector<std::int64_t> scaled;
    std::vector<std::int64_t> idlePrediction(n, std::int64_t(100 * kScale));
    bool predictable = true;
    for (int c = 0; c < int(std::size(kCpu)); ++c) {
        if (!r.floats(n, fl, nullptr, &scaled))
            return failed("cpu times");
        for (std::size_t i = 0; i < n; ++i)
            out.samples[i].cpu.*kCpu[c] = fl[i];
        if (c < kIdlePredictors) {
            if (scaled.size() != n)
                predictable = false;
            else
                for (std::size_t i = 0; i < n; ++i)
                    idlePrediction[i] = sub(idlePrediction[i], scaled[i]);
        }
    }
    if (!r.floats(n, fl, predictable ? &idlePrediction : nullptr))
        return failed("idle time");
    for (std::size_t i = 0; i < n; ++i)
        out.samples[i].cpu.idle = fl[i];
    for (const auto field : kMemory) {
        if (!r.column(n, ints))
            return failed("memory");
        for (std::size_t i = 0; i < n; ++i)
            out.samples[i].memory.*field = std::uint64_t(ints[i]);
    }
    std::vector<std::int64_t> usedPrediction(n);
    for (std::size_t i = 0; i < n; ++i)
        usedPrediction[i] = sub(std::int64_t(out.samples[i].memory.total), std::int64_t(out.samples[i].memory.available));
    if (!r.column(n, ints, &usedPrediction))
        return failed("memory used");
    for (std::size_t i = 0; i < n; ++i)
        out.samples[i].memory.used = std::uint64_t(ints[i]);
    for (const auto field : kLoad) {
        if (!r.floats(n, fl))
            return failed("load averages");
        for (std::size_t i = 0; i < n; ++i)
            out.samples[i].*field = fl[i];
    }

    std::vector<std::size_t> offset(n);
    for (std::size_t i = 0, at = 0; i < n; ++i) {
        offset[i] = at;
        at += out.samples[i].coreCount;
    }
    // How many samples have core k: a histogram of core counts, summed from the top (O(n + C),
    // not O(n * C): a corrupt chunk must not cost billions of steps).
    std::vector<std::size_t> withCore(coreColumns + 1, 0);
    for (std::size_t i = 0; i < n; ++i)
        ++withCore[out.samples[i].coreCount];
    for (std::size_t k = coreColumns; k-- > 0;)
        withCore[k] += withCore[k + 1];
    std::vector<std::vector<float>> columns(coreColumns);
    for (std::size_t c = 0; c < coreColumns; ++c)
        if (!r.floats(withCore[c + 1], columns[c]))
            return failed("per-core values");
    out.cores.assign(coreValues, 0.0f);
    std::vector<std::size_t> next(coreColumns, 0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t c = 0; c < out.samples[i].coreCount; ++c)
            out.cores[offset[i] + c] = columns[c][next[c]++];
    if (!r.atEnd())
        return failed("bytes after the last column");
    return true;
}

} // namespace autofact::server
