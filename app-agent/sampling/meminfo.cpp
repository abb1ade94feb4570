// SPDX-License-Identifier: MIT
#include "sampling/meminfo.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

namespace autofact::agent {

MemInfo::MemInfo(const QString &path)
    : m_file(path, ProcFile::Layout::SingleRecord)
{
}

bool MemInfo::read(QString *error)
{
    return m_file.readAndParse([this](QByteArrayView text, QString *e) { return parse(text, e); }, error);
}

bool MemInfo::parse(QByteArrayView text, QString *error)
{
    using namespace std::string_view_literals;
    m_values = Values{};
    const auto fail = [&](const QString &reason) {
        m_values = Values{};
        if (error)
            *error = reason;
        return false;
    };

    struct Wanted {
        std::string_view key;
        std::uint64_t Values::*field;
    };
    static constexpr Wanted wanted[] = {
        {"MemTotal"sv, &Values::memTotal},     {"MemFree"sv, &Values::memFree},
        {"MemAvailable"sv, &Values::memAvailable}, {"Buffers"sv, &Values::buffers},
        {"Cached"sv, &Values::cached},         {"SReclaimable"sv, &Values::sReclaimable},
        {"SwapTotal"sv, &Values::swapTotal},   {"SwapFree"sv, &Values::swapFree},
    };
    constexpr int wantedCount = int(std::size(wanted));
    int found = 0;

    const char *p = text.data();
    const char *const end = p + text.size();
    // SReclaimable is about line 25 of ~55; stop once every wanted line has been seen.
    while (p < end && found < wantedCount) {
        const char *lineEnd = static_cast<const char *>(std::memchr(p, '\n', size_t(end - p)));
        if (!lineEnd)
            lineEnd = end;
        const char *colon = static_cast<const char *>(std::memchr(p, ':', size_t(lineEnd - p)));
        if (colon) {
            const std::string_view key(p, size_t(colon - p));
            for (const Wanted &w : wanted) {
                if (key != w.key)
                    continue;
                const char *q = colon + 1;
                while (q < lineEnd && (*q == ' ' || *q == '\t'))
                    ++q;
                std::uint64_t kib = 0;
                const auto [next, ec] = std::from_chars(q, lineEnd, kib);
                if (ec != std::errc())
                    return fail(u"malformed value for " + QLatin1StringView(key.data(), qsizetype(key.size())));
                // Every line we read is in kB (KiB); guard the multiplication anyway.
                m_values.*(w.field) = kib > (UINT64_MAX >> 10) ? UINT64_MAX : kib << 10;
                if (w.field == &Values::memAvailable)
                    m_values.hasMemAvailable = true;
                ++found;
                break;
            }
        }
        p = lineEnd == end ? end : lineEnd + 1;
    }

    if (m_values.memTotal == 0)
        return fail(QStringLiteral("no MemTotal"));
    return true;
}

Memory MemInfo::memory() const
{
    const Values &v = m_values;
    Memory m;
    m.total = v.memTotal;
    m.free = std::min(v.memFree, v.memTotal);
    m.buffers = v.buffers;
    m.cached = v.cached + v.sReclaimable;
    if (v.hasMemAvailable)
        m.available = v.memAvailable > v.memTotal ? m.free : v.memAvailable;
    else
        m.available = std::min(v.memFree + v.buffers + v.cached + v.sReclaimable, v.memTotal);
    m.used = m.total - m.available;
    m.swapTotal = v.swapTotal;
    m.swapFree = std::min(v.swapFree, v.swapTotal);
    return m;
}

} // namespace autofact::agent
