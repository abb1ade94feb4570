// SPDX-License-Identifier: MIT
#include "columncoding.h"

#include <zstd.h>

#include <memory>

namespace autofact::server::columncoding {

namespace {

struct CCtxFree {
    void operator()(ZSTD_CCtx *c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
    void operator()(ZSTD_DCtx *c) const { ZSTD_freeDCtx(c); }
};

} // namespace

QByteArray pack(std::uint8_t formatVersion, const std::string &raw, Compression compression,
                int zstdLevel)
{
    QByteArray out;
    out.append(char(formatVersion));
    if (compression == Compression::Zstd) {
        thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx(ZSTD_createCCtx());
        std::string head;
        Writer(head).varint(raw.size());
        out.append(char(Compression::Zstd));
        out.append(head.data(), qsizetype(head.size()));
        const qsizetype at = out.size();
        out.resize(at + qsizetype(ZSTD_compressBound(raw.size())));
        const std::size_t z = ZSTD_compressCCtx(ctx.get(), out.data() + at, std::size_t(out.size() - at), raw.data(),
                                                raw.size(), zstdLevel);
        if (!ZSTD_isError(z)) {
            out.resize(at + qsizetype(z));
            return out;
        }
        out.resize(1); // cannot happen with a bound-sized buffer; stored uncompressed then
    }
    out.append(char(Compression::None));
    out.append(raw.data(), qsizetype(raw.size()));
    return out;
}

bool unpack(QByteArrayView blob, std::uint8_t formatVersion, std::size_t maxRawBytes,
            std::string &inflated, const char *&payload, std::size_t &size, const char *&why)
{
    if (blob.size() < 2) {
        why = "too short";
        return false;
    }
    if (std::uint8_t(blob[0]) != formatVersion) {
        why = "unknown format version";
        return false;
    }
    payload = blob.data() + 2;
    size = std::size_t(blob.size() - 2);
    switch (std::uint8_t(blob[1])) {
    case std::uint8_t(Compression::None):
        return true;
    case std::uint8_t(Compression::Zstd): {
        Reader head(payload, size);
        const std::uint64_t rawSize = head.varint();
        if (!head.ok() || rawSize > maxRawBytes) {
            why = "bad uncompressed size";
            return false;
        }
        const char *frame = head.position();
        const std::size_t frameSize = size - std::size_t(frame - payload);
        // The frame states its size too (the encoder always writes it): both must agree before
        // anything is allocated, so a few corrupt bytes cannot ask for 64 MiB.
        if (ZSTD_getFrameContentSize(frame, frameSize) != rawSize) {
            why = "zstd frame does not state the uncompressed size";
            return false;
        }
        thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx(ZSTD_createDCtx());
        inflated.resize(rawSize);
        const std::size_t got = ZSTD_decompressDCtx(ctx.get(), inflated.data(), inflated.size(), frame, frameSize);
        if (ZSTD_isError(got) || got != rawSize) {
            why = "zstd frame does not decompress to its stated size";
            return false;
        }
        payload = inflated.data();
        size = inflated.size();
        return true;
    }
    default:
        why = "unknown compression";
        return false;
    }
}

} // namespace autofact::server::columncoding
