// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <cstdint>

namespace autofact::testdata {

/** A plausible batch: @p samples samples of @p cores cores, one second apart. */
inline SampleBatch makeBatch(std::uint64_t sequence, int samples, int cores,
                             std::int64_t startMs = 1'700'000'000'000)
{
    SampleBatch batch;
    batch.sequence = sequence;
    batch.droppedTotal = 3;
    for (int i = 0; i < samples; ++i) {
        Sample s;
        s.timestampMs = startMs + i * 1000;
        s.cpu = {12.5f, 0.5f, 4.0f, 80.0f, 1.5f, 0.25f, 0.75f, 0.5f, 0.0f};
        s.memory = {16ull << 30, 2ull << 30, 9ull << 30, 512ull << 20,
                    6ull << 30,  7ull << 30, 4ull << 30, 3ull << 30};
        s.load1 = 0.5f + float(i) / 100.0f;
        s.load5 = 0.4f;
        s.load15 = 0.3f;
        s.coreCount = static_cast<std::uint16_t>(cores);
        s.flags = i == 0 ? FirstAfterStart : 0;
        batch.samples.push_back(s);
        for (int c = 0; c < cores; ++c)
            batch.coreBusy.push_back(float((c * 7 + i) % 100));
    }
    return batch;
}

/**
 * Device readings for every sample of @p batch, as an agent with every collector at the sample
 * interval sends them: two filesystems (one mount with a space), an NVMe disk, two interfaces
 * and two sensors (one without a critical threshold), the counters growing sample by sample.
 */
inline void addDevices(SampleBatch &batch)
{
    DeviceTables &d = batch.devices;
    d.clear();
    const std::uint16_t root = d.nameIndex(QStringLiteral("/"));
    const std::uint16_t data = d.nameIndex(QStringLiteral("/srv/my data"));
    const std::uint16_t nvme = d.nameIndex(QStringLiteral("nvme0n1"));
    const std::uint16_t eth = d.nameIndex(QStringLiteral("eth0"));
    const std::uint16_t wlan = d.nameIndex(QStringLiteral("wlp2s0"));
    const std::uint16_t package = d.nameIndex(QStringLiteral("coretemp/Package id 0"));
    const std::uint16_t composite = d.nameIndex(QStringLiteral("nvme/Composite"));
    for (std::uint32_t i = 0; i < batch.samples.size(); ++i) {
        const std::uint64_t k = i;
        d.filesystems.push_back({i, root, 100ull << 30, (40ull << 30) + k * 4096, 55ull << 30, 1'000'000 + k, 6'553'600});
        d.filesystems.push_back({i, data, 2ull << 40, (1ull << 40) + k * 1'048'576, 900ull << 30, 52'000, 134'217'728});
        d.disks.push_back({i, nvme, 1000, 4096 * (10 + k), 65536 * k, 10 + k, 16 * k, std::uint32_t(30 + k)});
        d.networks.push_back({i, eth, 1000, 125'000 + 1500 * k, 9'000 + k, 100 + k, 60, 0, 0, k % 2, 0});
        d.networks.push_back({i, wlan, 1000, 0, 0, 0, 0, 0, 0, 0, 0});
        d.temperatures.push_back({i, package, 45'000 + std::int32_t(i) * 1000, 100'000});
        d.temperatures.push_back({i, composite, 38'850, noCriticalTemperature});
    }
}

} // namespace autofact::testdata
