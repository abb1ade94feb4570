// SPDX-License-Identifier: MIT
#include "messages.h"

#include <algorithm>

namespace autofact {

void DeviceTables::clear()
{
    names.clear();
    filesystems.clear();
    disks.clear();
    networks.clear();
    temperatures.clear();
}

std::uint16_t DeviceTables::nameIndex(const QString &name)
{
    const auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end())
        return std::uint16_t(it - names.begin());
    names.push_back(name);
    return std::uint16_t(names.size() - 1);
}

namespace {

template<typename Entry>
void appendEntries(std::vector<Entry> &to, const std::vector<Entry> &from,
                   const std::vector<std::uint16_t> &map, std::uint32_t sample)
{
    for (Entry e : from) {
        e.sample = sample;
        e.device = e.device < map.size() ? map[e.device] : 0;
        to.push_back(e);
    }
}

template<typename Entry>
void takeSample(std::vector<Entry> &to, const std::vector<Entry> &from, std::uint32_t sample,
                DeviceTables &out, const std::vector<QString> &names)
{
    // Entries are in sample order: find the run of this sample.
    auto first = std::lower_bound(from.begin(), from.end(), sample,
                                  [](const Entry &e, std::uint32_t s) { return e.sample < s; });
    for (; first != from.end() && first->sample == sample; ++first) {
        Entry e = *first;
        e.sample = 0;
        e.device = first->device < names.size() ? out.nameIndex(names[first->device]) : 0;
        to.push_back(e);
    }
}

} // namespace

void DeviceTables::append(const DeviceTables &one, std::uint32_t sample)
{
    if (one.empty())
        return;
    // Map the sample's names once; a batch holds few distinct devices.
    std::vector<std::uint16_t> map;
    map.reserve(one.names.size());
    for (const QString &name : one.names)
        map.push_back(nameIndex(name));
    appendEntries(filesystems, one.filesystems, map, sample);
    appendEntries(disks, one.disks, map, sample);
    appendEntries(networks, one.networks, map, sample);
    appendEntries(temperatures, one.temperatures, map, sample);
}

DeviceTables DeviceTables::forSample(std::uint32_t sample) const
{
    DeviceTables out;
    takeSample(out.filesystems, filesystems, sample, out, names);
    takeSample(out.disks, disks, sample, out, names);
    takeSample(out.networks, networks, sample, out, names);
    takeSample(out.temperatures, temperatures, sample, out, names);
    return out;
}

} // namespace autofact

#include "metrics.h"

namespace autofact::metrics {

void DeviceSummary::update(const SampleBatch &batch)
{
    const DeviceTables &d = batch.devices;
    const auto timeOf = [&batch](std::uint32_t sample) {
        return sample < batch.samples.size() ? batch.samples[sample].timestampMs : 0;
    };
    const auto name = [&d](std::uint16_t device) { return device < d.names.size() ? d.names[device] : QString(); };
    if (!d.filesystems.empty()) {
        const std::uint32_t last = d.filesystems.back().sample;
        filesystemsMs = timeOf(last);
        fullestPercent = -1;
        for (const FilesystemUsage &f : d.filesystems)
            if (f.sample == last && filesystemPercent(f) > fullestPercent) {
                fullestPercent = filesystemPercent(f);
                fullestMount = name(f.device);
            }
    }
    if (!d.networks.empty()) {
        const std::uint32_t last = d.networks.back().sample;
        networkMs = timeOf(last);
        rxBytesPerSec = txBytesPerSec = 0;
        for (const NetworkIo &n : d.networks)
            if (n.sample == last) {
                rxBytesPerSec += perSecond(n.rxBytes, n.intervalMs);
                txBytesPerSec += perSecond(n.txBytes, n.intervalMs);
            }
    }
    if (!d.disks.empty()) {
        const std::uint32_t last = d.disks.back().sample;
        disksMs = timeOf(last);
        readBytesPerSec = writeBytesPerSec = busiestDiskPercent = 0;
        for (const DiskIo &k : d.disks)
            if (k.sample == last) {
                readBytesPerSec += perSecond(k.readBytes, k.intervalMs);
                writeBytesPerSec += perSecond(k.writeBytes, k.intervalMs);
                busiestDiskPercent = std::max(busiestDiskPercent, diskBusyPercent(k));
            }
    }
    if (!d.temperatures.empty()) {
        const std::uint32_t last = d.temperatures.back().sample;
        temperaturesMs = timeOf(last);
        hottestCelsius = -1e9;
        for (const Temperature &t : d.temperatures)
            if (t.sample == last && t.milliCelsius / 1000.0 > hottestCelsius) {
                hottestCelsius = t.milliCelsius / 1000.0;
                hottestSensor = name(t.device);
            }
    }
}

void DeviceSummary::merge(const DeviceSummary &newer)
{
    if (newer.filesystemsMs >= filesystemsMs && newer.filesystemsMs) {
        filesystemsMs = newer.filesystemsMs;
        fullestPercent = newer.fullestPercent;
        fullestMount = newer.fullestMount;
    }
    if (newer.networkMs >= networkMs && newer.networkMs) {
        networkMs = newer.networkMs;
        rxBytesPerSec = newer.rxBytesPerSec;
        txBytesPerSec = newer.txBytesPerSec;
    }
    if (newer.disksMs >= disksMs && newer.disksMs) {
        disksMs = newer.disksMs;
        readBytesPerSec = newer.readBytesPerSec;
        writeBytesPerSec = newer.writeBytesPerSec;
        busiestDiskPercent = newer.busiestDiskPercent;
    }
    if (newer.temperaturesMs >= temperaturesMs && newer.temperaturesMs) {
        temperaturesMs = newer.temperaturesMs;
        hottestCelsius = newer.hottestCelsius;
        hottestSensor = newer.hottestSensor;
    }
}

std::vector<std::pair<std::uint32_t, double>> fullestFilesystemBySample(const DeviceTables &devices)
{
    std::vector<std::pair<std::uint32_t, double>> out;
    for (const FilesystemUsage &f : devices.filesystems) {
        const double percent = filesystemPercent(f);
        if (out.empty() || out.back().first != f.sample)
            out.push_back({f.sample, percent});
        else
            out.back().second = std::max(out.back().second, percent);
    }
    return out;
}

} // namespace autofact::metrics
