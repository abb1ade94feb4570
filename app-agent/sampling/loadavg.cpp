// SPDX-License-Identifier: MIT
#include "sampling/loadavg.h"

#include <charconv>
#include <cmath>

namespace autofact::agent {

LoadAvg::LoadAvg(const QString &path)
    : m_file(path, ProcFile::Layout::SingleRecord)
{
}

bool LoadAvg::read(QString *error)
{
    return m_file.readAndParse([this](QByteArrayView text, QString *e) { return parse(text, e); }, error);
}

bool LoadAvg::parse(QByteArrayView text, QString *error)
{
    m_load[0] = m_load[1] = m_load[2] = 0;
    m_running = m_total = m_lastPid = 0;

    const char *p = text.data();
    const char *const end = p + text.size();
    const auto skipSpaces = [&] {
        while (p < end && (*p == ' ' || *p == '\t'))
            ++p;
    };

    float load[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
        skipSpaces();
        // from_chars ignores the locale: the kernel always writes '.'.
        const auto [next, ec] = std::from_chars(p, end, load[i], std::chars_format::fixed);
        const bool separated = i == 2 || (next < end && (*next == ' ' || *next == '\t'));
        if (ec != std::errc() || !separated || !std::isfinite(load[i]) || load[i] < 0) {
            if (error)
                *error = QStringLiteral("malformed load average");
            return false;
        }
        p = next;
    }

    skipSpaces();
    int running = 0, total = 0, lastPid = 0;
    if (auto r = std::from_chars(p, end, running); r.ec == std::errc() && r.ptr < end && *r.ptr == '/') {
        p = r.ptr + 1;
        if (auto t = std::from_chars(p, end, total); t.ec == std::errc()) {
            p = t.ptr;
            skipSpaces();
            if (auto l = std::from_chars(p, end, lastPid); l.ec != std::errc())
                lastPid = 0;
        }
    }

    m_load[0] = load[0];
    m_load[1] = load[1];
    m_load[2] = load[2];
    m_running = running;
    m_total = total;
    m_lastPid = lastPid;
    return true;
}

} // namespace autofact::agent
