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

} // namespace autofact::testdata
