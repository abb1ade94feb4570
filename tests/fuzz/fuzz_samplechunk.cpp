// SPDX-License-Identifier: MIT
// libFuzzer target: the raw-sample chunk decoder (store/samplechunk.h) on arbitrary bytes, as
// a damaged database would hand them over. Whatever decodes must be consistent (one core
// value per core of each sample) and must survive its own round trip unchanged: hundredths
// become what SampleChunk::stored() says, and a second round trip changes nothing.
#include "fuzzsupport.h"
#include "store/samplechunk.h"

#include <bit>
#include <cstddef>
#include <cstdint>

using namespace autofact;
using namespace autofact::server;

namespace {

/**
 * @p got is what the format promises for @p original: stored(original), or @p original itself
 * when its column went float32 for another of its values; bit for bit.
 */
bool same(float got, float original)
{
    const auto bits = std::bit_cast<std::uint32_t>(got);
    return bits == std::bit_cast<std::uint32_t>(SampleChunk::stored(original)) || bits == std::bit_cast<std::uint32_t>(original);
}

} // namespace

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
        fuzz::require(same(b.cpu.user, a.cpu.user) && same(b.cpu.idle, a.cpu.idle) && same(b.load1, a.load1),
                      "a decoded float comes back as stored() says");
    }
    for (std::size_t k = 0; k < first.cores.size(); ++k)
        fuzz::require(same(second.cores[k], first.cores[k]), "a per-core value comes back as stored() says");
    // Hundredths are a fixed point: what came back once comes back again, bit for bit.
    ChunkSamples third;
    fuzz::require(SampleChunk::decode(SampleChunk::encode(second), third), "a second round trip decodes");
    for (std::size_t k = 0; k < second.cores.size(); ++k)
        fuzz::require(std::bit_cast<std::uint32_t>(third.cores[k]) == std::bit_cast<std::uint32_t>(second.cores[k]),
                      "a second round trip changes nothing");
    return 0;
}
