// SPDX-License-Identifier: MIT
#include "sampling/procstat.h"

#include <charconv>
#include <cstring>

namespace autofact::agent {

namespace {

// Highest CPU number accepted; NR_CPUS is at most 8192 on distribution kernels.
constexpr int maxCpuIndex = 65535;

const char *skipSpaces(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        ++p;
    return p;
}

bool startsWith(const char *p, const char *end, const char *word, std::size_t len)
{
    return std::size_t(end - p) >= len && std::memcmp(p, word, len) == 0;
}

// Parses the columns of a cpu line from p to lineEnd. Returns false on a malformed line.
bool parseCpuColumns(const char *p, const char *lineEnd, CpuCounters &out)
{
    out = CpuCounters{};
    int n = 0;
    for (;;) {
        p = skipSpaces(p, lineEnd);
        if (p == lineEnd)
            break;
        std::uint64_t value = 0;
        const auto [next, ec] = std::from_chars(p, lineEnd, value);
        if (ec != std::errc() || (next != lineEnd && *next != ' ' && *next != '\t'))
            return false;
        if (n < CpuCounters::fieldCount)
            out.ticks[std::size_t(n)] = value;
        ++n;
        p = next;
    }
    // user, nice, system and idle exist on every kernel that has /proc/stat.
    if (n < 4)
        return false;
    out.presentFields = n < CpuCounters::fieldCount ? n : CpuCounters::fieldCount;
    return true;
}

} // namespace

ProcStat::ProcStat(const QString &path)
    : m_file(path, ProcFile::Layout::SingleRecord)
{
}

bool ProcStat::read(QString *error)
{
    return m_file.readAndParse([this](QByteArrayView text, QString *e) { return parse(text, e); }, error);
}

bool ProcStat::parse(QByteArrayView text, QString *error)
{
    m_cores.clear();
    m_total = CpuCounters{};
    m_bootTime = 0;
    bool haveTotal = false;

    const char *p = text.data();
    const char *const end = p + text.size();
    int lineNo = 0;
    // A failed parse leaves no half-filled state behind.
    const auto fail = [&](const QString &reason) {
        m_cores.clear();
        m_total = CpuCounters{};
        m_bootTime = 0;
        if (error)
            *error = reason;
        return false;
    };
    while (p < end) {
        ++lineNo;
        const char *lineEnd = static_cast<const char *>(std::memchr(p, '\n', size_t(end - p)));
        if (!lineEnd)
            lineEnd = end;

        if (startsWith(p, lineEnd, "cpu", 3)) {
            const char *q = p + 3;
            if (q < lineEnd && *q == ' ') {
                if (!parseCpuColumns(q, lineEnd, m_total))
                    return fail(QStringLiteral("line %1: malformed cpu line").arg(lineNo));
                haveTotal = true;
            } else if (q < lineEnd && *q >= '0' && *q <= '9') {
                int index = 0;
                const auto [next, ec] = std::from_chars(q, lineEnd, index);
                CoreCounters core;
                core.index = index;
                if (ec != std::errc() || index > maxCpuIndex || next == lineEnd || *next != ' '
                    || !parseCpuColumns(next, lineEnd, core.counters))
                    return fail(QStringLiteral("line %1: malformed cpu line").arg(lineNo));
                m_cores.push_back(core);
            }
        } else if (startsWith(p, lineEnd, "btime ", 6)) {
            const char *q = skipSpaces(p + 6, lineEnd);
            std::int64_t value = 0;
            const auto [next, ec] = std::from_chars(q, lineEnd, value);
            if (ec != std::errc())
                return fail(QStringLiteral("line %1: malformed btime").arg(lineNo));
            m_bootTime = value;
        }
        p = lineEnd == end ? end : lineEnd + 1;
    }

    if (!haveTotal)
        return fail(QStringLiteral("no aggregate cpu line"));
    return true;
}

} // namespace autofact::agent
