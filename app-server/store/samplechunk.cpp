// SPDX-License-Identifier: MIT
#include "samplechunk.h"

#include "columncoding.h"

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

using namespace columncoding;


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

    return pack(formatVersion, raw, columncoding::Compression(compression), zstdLevel);
}

bool SampleChunk::decode(QByteArrayView blob, ChunkSamples &out, QString *error)
{
    const auto failed = [error](const char *why) {
        if (error)
            *error = QStringLiteral("corrupt sample chunk: %1").arg(QLatin1StringView(why));
        return false;
    };
    out.clear();
    std::string inflated;
    const char *payload = nullptr;
    std::size_t payloadSize = 0;
    const char *why = nullptr;
    if (!unpack(blob, formatVersion, maxRawBytes, inflated, payload, payloadSize, why))
        return failed(why);
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
