// SPDX-License-Identifier: MIT
// libFuzzer target: the device chunk decoder (store/devicechunk.h) on arbitrary bytes, as a
// damaged database would hand them over. Whatever decodes must be consistent (every entry's
// sample and device inside their tables) and must survive its own round trip exactly: every
// value of a device chunk is an integer kept as it is.
#include "fuzzsupport.h"
#include "store/devicechunk.h"

#include <cstddef>
#include <cstdint>

using namespace autofact;
using namespace autofact::server;

namespace {

template<typename Entry>
bool inside(const std::vector<Entry> &entries, const DeviceSeries &s)
{
    for (const Entry &e : entries)
        if (e.sample >= s.timestamps.size() || e.device >= s.tables.names.size())
            return false;
    return true;
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
    static DeviceSeries first;
    static DeviceSeries second;
    QString error;
    if (!DeviceChunk::decode(blob, first, &error)) {
        fuzz::require(error.startsWith(u"corrupt device chunk: "), "a failure has a reason");
        return 0;
    }
    fuzz::require(inside(first.tables.filesystems, first) && inside(first.tables.disks, first)
                      && inside(first.tables.networks, first) && inside(first.tables.temperatures, first),
                  "every entry's sample and device lie inside their tables");
    fuzz::require(DeviceChunk::decode(DeviceChunk::encode(first), second, &error), "a decoded chunk re-encodes");
    fuzz::require(second == first, "the round trip changes nothing");
    return 0;
}
