// SPDX-License-Identifier: MIT
// libFuzzer target: the raw-sample chunk decoder (store/samplechunk.h) on arbitrary bytes, as
// a damaged database would hand them over. Whatever decodes must be consistent (one core
// value per core of each sample) and must survive its own round trip unchanged: hundredths
// and float32 columns re-encode to the same values.
#include "fuzzsupport.h"
#include "store/samplechunk.h"

#include <bit>
#include <cstddef>
#include <cstdint>

using namespace autofact;
using namespace autofact::server;

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz::initQt(argc, argv);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArrayView blob(reinterpret_cast<const char *>(data), qsizetype(size));
    static ChunkSamples first;
    static ChunkSamples second;
    QString error;
    if (!SampleChunk::decode(blob, first, &error)) {
        fuzz::require(error.startsWith(u"corrupt sample chunk"), "a failure has a reason");
        return 0;
    }
    std::size_t cores = 0;
    for (const Sample &s : first.samples)
        cores += s.coreCount;
    fuzz::require(cores == first.cores.size(), "one value per core of each sample");
    fuzz::require(first.sequences.size() == first.samples.size(), "one sequence per sample");
    fuzz::require(SampleChunk::decode(SampleChunk::encode(first), second), "what decoded encodes again");
    fuzz::require(second.samples.size() == first.samples.size(), "the round trip keeps every sample");
    for (std::size_t i = 0; i < first.samples.size(); ++i) {
        const Sample &a = first.samples[i];
        const Sample &b = second.samples[i];
        fuzz::require(a.timestampMs == b.timestampMs && a.memory == b.memory && a.flags == b.flags
                              && first.sequences[i] == second.sequences[i],
                      "the round trip keeps exact columns exact");
        fuzz::require(std::bit_cast<std::uint32_t>(a.cpu.user) == std::bit_cast<std::uint32_t>(b.cpu.user)
                              && std::bit_cast<std::uint32_t>(a.load1) == std::bit_cast<std::uint32_t>(b.load1),
                      "the round trip keeps decoded floats");
    }
    for (std::size_t k = 0; k < first.cores.size(); ++k)
        fuzz::require(std::bit_cast<std::uint32_t>(first.cores[k]) == std::bit_cast<std::uint32_t>(second.cores[k]),
                      "the round trip keeps per-core values");
    return 0;
}
