// SPDX-License-Identifier: MIT
#include "devicechunk.h"

#include "columncoding.h"
#include "samplechunk.h"

#include <algorithm>
#include <numeric>

namespace autofact::server {

using namespace columncoding;

void DeviceSeries::clear()
{
    timestamps.clear();
    tables.clear();
}

void DeviceSeries::appendBatch(const SampleBatch &batch)
{
    if (batch.devices.empty())
        return;
    // Only the samples that carry readings become times of the series.
    std::vector<std::uint32_t> carries;
    const auto mark = [&carries](const auto &entries) {
        for (const auto &e : entries)
            carries.push_back(e.sample);
    };
    mark(batch.devices.filesystems);
    mark(batch.devices.disks);
    mark(batch.devices.networks);
    mark(batch.devices.temperatures);
    std::sort(carries.begin(), carries.end());
    carries.erase(std::unique(carries.begin(), carries.end()), carries.end());
    QHash<QString, std::uint16_t> index;
    for (std::size_t i = 0; i < tables.names.size(); ++i)
        index.insert(tables.names[i], std::uint16_t(i));
    for (std::uint32_t s : carries) {
        if (s >= batch.samples.size())
            continue;
        tables.append(batch.devices.forSample(s), std::uint32_t(timestamps.size()), &index);
        timestamps.push_back(batch.samples[s].timestampMs);
    }
}

DeviceSeries DeviceSeries::slice(qint64 fromMs, qint64 toMs) const
{
    DeviceSeries out;
    if (!timestamps.empty() && std::is_sorted(timestamps.begin(), timestamps.end()) && timestamps.front() >= fromMs
        && timestamps.back() <= toMs)
        return *this; // wholly inside: a chunk in the middle of a long range
    QHash<QString, std::uint16_t> index;
    for (std::size_t i = 0; i < timestamps.size(); ++i) {
        if (timestamps[i] < fromMs || timestamps[i] > toMs)
            continue;
        out.tables.append(tables.forSample(std::uint32_t(i)), std::uint32_t(out.timestamps.size()), &index);
        out.timestamps.push_back(timestamps[i]);
    }
    return out;
}

DeviceSeries DeviceSeries::select(const std::function<bool(std::size_t)> &keep) const
{
    DeviceSeries out;
    QHash<QString, std::uint16_t> index;
    for (std::size_t i = 0; i < timestamps.size(); ++i) {
        if (!keep(i))
            continue;
        out.tables.append(tables.forSample(std::uint32_t(i)), std::uint32_t(out.timestamps.size()), &index);
        out.timestamps.push_back(timestamps[i]);
    }
    return out;
}

std::vector<DeviceSeries::WindowPart> DeviceSeries::byWindow(const SampleBatch &batch)
{
    std::vector<WindowPart> parts;
    if (batch.devices.empty())
        return parts;
    DeviceSeries all;
    all.appendBatch(batch);
    std::vector<qint64> windows;
    windows.reserve(all.timestamps.size());
    for (const qint64 t : all.timestamps)
        windows.push_back(SampleChunk::windowOf(t));
    std::vector<qint64> distinct = windows;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (const qint64 window : distinct) {
        DeviceSeries part = distinct.size() == 1 ? all : all.select([&](std::size_t i) { return windows[i] == window; });
        const auto [first, last] = std::minmax_element(part.timestamps.begin(), part.timestamps.end());
        parts.push_back({window, *first, *last, std::move(part)});
    }
    return parts;
}

DeviceSeries DeviceSeries::merged(const std::vector<const DeviceSeries *> &parts)
{
    if (parts.size() == 1)
        return *parts.front();
    struct At {
        qint64 ms;
        std::size_t part;
        std::uint32_t sample;
    };
    std::vector<At> order;
    for (std::size_t p = 0; p < parts.size(); ++p)
        for (std::size_t i = 0; i < parts[p]->timestamps.size(); ++i)
            order.push_back({parts[p]->timestamps[i], p, std::uint32_t(i)});
    std::stable_sort(order.begin(), order.end(), [](const At &a, const At &b) { return a.ms < b.ms; });
    DeviceSeries out;
    out.timestamps.reserve(order.size());
    QHash<QString, std::uint16_t> index;
    for (const At &a : order) {
        out.tables.append(parts[a.part]->tables.forSample(a.sample), std::uint32_t(out.timestamps.size()), &index);
        out.timestamps.push_back(a.ms);
    }
    return out;
}

namespace {

// Fields of each kind, in the order a chunk stores them.
template<typename Entry>
struct Fields;

template<>
struct Fields<FilesystemUsage> {
    static constexpr std::uint64_t FilesystemUsage::*list[] = {
        &FilesystemUsage::sizeBytes, &FilesystemUsage::usedBytes, &FilesystemUsage::availableBytes,
        &FilesystemUsage::inodesUsed, &FilesystemUsage::inodesTotal};
    static std::int64_t get(const FilesystemUsage &e, std::size_t f) { return std::int64_t(e.*list[f]); }
    static bool set(FilesystemUsage &e, std::size_t f, std::int64_t v)
    {
        e.*list[f] = std::uint64_t(v);
        return v >= 0;
    }
    static constexpr std::size_t count = 5;
};

template<>
struct Fields<DiskIo> {
    static constexpr std::uint64_t DiskIo::*list[] = {&DiskIo::readBytes, &DiskIo::writeBytes, &DiskIo::reads,
                                                      &DiskIo::writes};
    static constexpr std::size_t count = 6;
    static std::int64_t get(const DiskIo &e, std::size_t f)
    {
        return f == 0 ? e.intervalMs : f == 1 ? e.busyMs : std::int64_t(e.*list[f - 2]);
    }
    static bool set(DiskIo &e, std::size_t f, std::int64_t v)
    {
        if (f < 2) {
            if (v < 0 || v > std::int64_t(UINT32_MAX))
                return false;
            (f == 0 ? e.intervalMs : e.busyMs) = std::uint32_t(v);
            return true;
        }
        e.*list[f - 2] = std::uint64_t(v);
        return v >= 0;
    }
};

template<>
struct Fields<NetworkIo> {
    static constexpr std::uint64_t NetworkIo::*list[] = {
        &NetworkIo::rxBytes,  &NetworkIo::txBytes,  &NetworkIo::rxPackets, &NetworkIo::txPackets,
        &NetworkIo::rxErrors, &NetworkIo::txErrors, &NetworkIo::rxDrops,   &NetworkIo::txDrops};
    static constexpr std::size_t count = 9;
    static std::int64_t get(const NetworkIo &e, std::size_t f)
    {
        return f == 0 ? e.intervalMs : std::int64_t(e.*list[f - 1]);
    }
    static bool set(NetworkIo &e, std::size_t f, std::int64_t v)
    {
        if (f == 0) {
            e.intervalMs = std::uint32_t(v);
            return v >= 0 && v <= std::int64_t(UINT32_MAX);
        }
        e.*list[f - 1] = std::uint64_t(v);
        return v >= 0;
    }
};

template<>
struct Fields<Temperature> {
    static constexpr std::size_t count = 2;
    static std::int64_t get(const Temperature &e, std::size_t f)
    {
        return f == 0 ? e.milliCelsius : e.criticalMilliCelsius;
    }
    static bool set(Temperature &e, std::size_t f, std::int64_t v)
    {
        if (v < INT32_MIN || v > INT32_MAX)
            return false;
        (f == 0 ? e.milliCelsius : e.criticalMilliCelsius) = std::int32_t(v);
        return true;
    }
};

template<typename Entry>
void writeKind(Writer &w, const std::vector<Entry> &entries)
{
    w.varint(entries.size());
    if (entries.empty())
        return;
    // Device by device: a filesystem's size is then a constant run, a counter a small delta.
    std::vector<std::size_t> order(entries.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return entries[a].device < entries[b].device; });
    std::vector<std::int64_t> column(entries.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        column[i] = entries[order[i]].device;
    w.column(column);
    for (std::size_t i = 0; i < order.size(); ++i)
        column[i] = entries[order[i]].sample;
    w.column(column);
    for (std::size_t f = 0; f < Fields<Entry>::count; ++f) {
        for (std::size_t i = 0; i < order.size(); ++i)
            column[i] = Fields<Entry>::get(entries[order[i]], f);
        w.column(column);
    }
}

template<typename Entry>
const char *readKind(Reader &r, std::vector<Entry> &out, std::size_t names, std::size_t times, std::size_t &budget)
{
    const std::uint64_t n = r.varint();
    if (!r.ok() || n > budget || n > std::uint64_t(names) * std::uint64_t(times))
        return "entry count out of range";
    budget -= n;
    out.clear();
    if (n == 0)
        return nullptr;
    std::vector<std::int64_t> devices, samples;
    if (!r.column(n, devices, nullptr, false))
        return "device column";
    if (!r.column(n, samples, nullptr, false))
        return "sample column";
    // As written: by device, then time; each (device, time) once. Checked before any entry
    // exists, so a constant column cannot stand for millions of readings.
    for (std::size_t i = 0; i < n; ++i) {
        if (devices[i] < 0 || std::uint64_t(devices[i]) >= names)
            return "device index out of range";
        if (samples[i] < 0 || std::uint64_t(samples[i]) >= times)
            return "sample index out of range";
        if (i > 0 && (devices[i] < devices[i - 1] || (devices[i] == devices[i - 1] && samples[i] <= samples[i - 1])))
            return "readings out of order or repeated";
    }
    out.assign(n, Entry{});
    for (std::size_t i = 0; i < n; ++i) {
        out[i].device = std::uint16_t(devices[i]);
        out[i].sample = std::uint32_t(samples[i]);
    }
    std::vector<std::int64_t> column;
    for (std::size_t f = 0; f < Fields<Entry>::count; ++f) {
        if (!r.column(n, column, nullptr, false))
            return "value column";
        for (std::size_t i = 0; i < n; ++i)
            if (!Fields<Entry>::set(out[i], f, column[i]))
                return "value out of range";
    }
    // Back to sample order, devices of one sample in their stored order.
    std::stable_sort(out.begin(), out.end(), [](const Entry &a, const Entry &b) { return a.sample < b.sample; });
    return nullptr;
}

} // namespace

QByteArray DeviceChunk::encode(const DeviceSeries &series, int zstdLevel)
{
    std::string raw;
    Writer w(raw);
    w.varint(series.tables.names.size());
    for (const QString &name : series.tables.names) {
        const QByteArray utf8 = name.toUtf8();
        w.varint(std::uint64_t(utf8.size()));
        raw.append(utf8.constData(), std::size_t(utf8.size()));
    }
    w.varint(series.timestamps.size());
    w.column(std::vector<std::int64_t>(series.timestamps.begin(), series.timestamps.end()));
    writeKind(w, series.tables.filesystems);
    writeKind(w, series.tables.disks);
    writeKind(w, series.tables.networks);
    writeKind(w, series.tables.temperatures);
    return pack(formatVersion, raw, zstdLevel == noCompression ? Compression::None : Compression::Zstd, zstdLevel);
}

bool DeviceChunk::decode(QByteArrayView blob, DeviceSeries &out, QString *error)
{
    const auto failed = [error](const char *why) {
        if (error)
            *error = QStringLiteral("corrupt device chunk: %1").arg(QLatin1StringView(why));
        return false;
    };
    out.clear();
    std::string inflated;
    const char *payload = nullptr;
    std::size_t size = 0;
    const char *why = nullptr;
    if (!unpack(blob, formatVersion, maxRawBytes, inflated, payload, size, why))
        return failed(why);
    Reader r(payload, size);
    const std::uint64_t names = r.varint();
    if (!r.ok() || names > maxNames)
        return failed("name count out of range");
    out.tables.names.reserve(names);
    for (std::uint64_t i = 0; i < names; ++i) {
        const std::uint64_t length = r.varint();
        if (!r.ok() || length > std::uint64_t(protocol::maxDeviceNameBytes) * 4
            || length > std::uint64_t(size - std::size_t(r.position() - payload)))
            return failed("name length out of range");
        out.tables.names.push_back(QString::fromUtf8(r.position(), qsizetype(length)));
        r.skip(std::size_t(length));
    }
    const std::uint64_t times = r.varint();
    if (!r.ok() || times > maxTimestamps)
        return failed("time count out of range");
    std::vector<std::int64_t> column;
    if (!r.column(times, column, nullptr, false))
        return failed("time column");
    out.timestamps.assign(column.begin(), column.end());
    std::size_t budget = maxEntries;
    const char *bad = readKind(r, out.tables.filesystems, names, times, budget);
    bad = bad ? bad : readKind(r, out.tables.disks, names, times, budget);
    bad = bad ? bad : readKind(r, out.tables.networks, names, times, budget);
    bad = bad ? bad : readKind(r, out.tables.temperatures, names, times, budget);
    if (bad) {
        out.clear();
        return failed(bad);
    }
    if (!r.atEnd()) {
        out.clear();
        return failed("trailing bytes");
    }
    return true;
}

} // namespace autofact::server
