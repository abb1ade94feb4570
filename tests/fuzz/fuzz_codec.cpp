// SPDX-License-Identifier: MIT
// libFuzzer target: codec::decode on arbitrary bytes (what any peer can send). A message that
// decodes must encode again and decode to the same message with the same bytes: the round trip
// is stable, so what the server stores or forwards is what it accepted.
#include "codec.h"
#include "fuzzsupport.h"

#include <cstddef>
#include <cstdint>

using namespace autofact;

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz::initQt(argc, argv);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArrayView bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    const DecodeResult first = codec::decode(bytes);
    if (!first.ok()) {
        fuzz::require(first.error != ErrorCode::None && !first.reason.isEmpty(),
                      "a refusal names its error and reason");
        return 0;
    }
    fuzz::require(codec::validate(*first.message).isEmpty(), "a decoded message passes validate()");
    const QByteArray encoded = codec::encode(*first.message);
    const DecodeResult second = codec::decode(encoded);
    fuzz::require(second.ok(), "a decoded message, encoded again, decodes");
    fuzz::require(*second.message == *first.message, "the round trip gives the same message");
    fuzz::require(codec::encode(*second.message) == encoded, "encoding is stable");
    return 0;
}
