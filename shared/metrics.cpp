// SPDX-License-Identifier: MIT
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

namespace autofact::metrics {

std::vector<HottestReading> hottestBySample(const DeviceTables &devices)
{
    std::vector<HottestReading> out;
    for (const Temperature &t : devices.temperatures) {
        const double celsius = double(t.milliCelsius) / 1000.0;
        const bool critical = t.criticalMilliCelsius != noCriticalTemperature && t.milliCelsius >= t.criticalMilliCelsius;
        if (out.empty() || out.back().sample != t.sample) {
            out.push_back({t.sample, celsius, critical});
        } else {
            out.back().celsius = std::max(out.back().celsius, celsius);
            out.back().atCritical = out.back().atCritical || critical;
        }
    }
    return out;
}

} // namespace autofact::metrics
