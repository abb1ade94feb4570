// SPDX-License-Identifier: MIT
#include "sampling/netdev.h"

#include "sampling/samplinglogging.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>
#include <iterator>

namespace autofact::agent {

namespace {

// net/dev columns after the colon, 0-based; -1 = not kept.
constexpr int columnField[] = {
    NetDev::RxBytes, NetDev::RxPackets, NetDev::RxErrors, NetDev::RxDrops, -1, -1, -1, -1,
    NetDev::TxBytes, NetDev::TxPackets, NetDev::TxErrors, NetDev::TxDrops,
};
constexpr int minimumColumns = int(std::size(columnField));

} // namespace

NetDev::NetDev(const QString &procRoot)
    : m_file(procRoot + u"/net/dev")
{
}

void NetDev::setIncludeVirtual(bool include)
{
    if (include == m_includeVirtual)
        return;
    m_includeVirtual = include;
    reset();
}

bool NetDev::collect(std::int64_t nowMs, DeviceTables &out, QString *error)
{
    if (!m_file.read(error))
        return false;
    update(m_file.data(), nowMs, out);
    return true;
}

void NetDev::update(QByteArrayView text, std::int64_t nowMs, DeviceTables &out)
{
    qsizetype pos = 0;
    std::size_t count = 0; // interfaces of this read so far, at the front in file order
    while (pos < text.size()) {
        qsizetype eol = text.indexOf('\n', pos);
        if (eol < 0)
            eol = text.size();
        const QByteArrayView line = text.sliced(pos, eol - pos);
        pos = eol + 1;
        // Counters never contain a colon, so the last one ends the name. Header lines have none.
        const qsizetype colon = line.lastIndexOf(':');
        if (colon < 0)
            continue;
        const QByteArrayView name = line.first(colon).trimmed();
        if (name.isEmpty())
            continue;

        Counters counters{};
        const char *p = line.data() + colon + 1;
        const char *const end = line.data() + line.size();
        int column = 0;
        bool malformed = false;
        for (;;) {
            while (p < end && (*p == ' ' || *p == '\t'))
                ++p;
            if (p == end)
                break;
            std::uint64_t value = 0;
            const auto [next, ec] = std::from_chars(p, end, value);
            if (ec != std::errc() || (next != end && *next != ' ' && *next != '\t')) {
                malformed = true;
                break;
            }
            if (column < minimumColumns && columnField[column] >= 0)
                counters[std::size_t(columnField[column])] = value;
            ++column;
            p = next;
        }
        if (malformed || column < minimumColumns) {
            qCDebug(lcSampler) << "net/dev: malformed line for" << name << "skipped";
            continue;
        }
        m_interfaces[place(name, count)].counters = counters;
    }
    m_interfaces.erase(m_interfaces.begin() + std::ptrdiff_t(count), m_interfaces.end());

    for (Interface &i : m_interfaces) {
        if (!i.reported)
            continue;
        if (i.hasBaseline && nowMs > i.previousMs) {
            Counters delta{};
            if (counterDeltas(i.previous, i.counters, delta) == CounterChange::Reset) {
                qCDebug(lcSampler) << "net/dev: counters of" << i.name
                                   << "went back; new baseline, no figures this interval";
                i.previous = i.counters;
                i.previousMs = nowMs;
                continue;
            }
            NetworkIo io;
            io.device = out.nameIndex(i.name);
            io.intervalMs = std::uint32_t(std::min<std::int64_t>(nowMs - i.previousMs, UINT32_MAX));
            io.rxBytes = delta[RxBytes];
            io.txBytes = delta[TxBytes];
            io.rxPackets = delta[RxPackets];
            io.txPackets = delta[TxPackets];
            io.rxErrors = delta[RxErrors];
            io.txErrors = delta[TxErrors];
            io.rxDrops = delta[RxDrops];
            io.txDrops = delta[TxDrops];
            out.networks.push_back(io);
        }
        i.previous = i.counters;
        i.previousMs = nowMs;
        i.hasBaseline = true;
    }
}

std::size_t NetDev::place(QByteArrayView kernelName, std::size_t &count)
{
    // As DiskStats::place(): usually next in line; the later of two lines wins; file order kept.
    const auto named = [&](const Interface &i) { return i.kernelName == kernelName; };
    if (count < m_interfaces.size() && named(m_interfaces[count]))
        return count++;
    const auto seenEnd = m_interfaces.begin() + std::ptrdiff_t(count);
    if (const auto it = std::find_if(m_interfaces.begin(), seenEnd, named); it != seenEnd)
        return std::size_t(it - m_interfaces.begin());
    if (const auto it = std::find_if(seenEnd, m_interfaces.end(), named); it != m_interfaces.end()) {
        std::rotate(seenEnd, it, it + 1);
        return count++;
    }
    Interface i;
    i.kernelName = kernelName.toByteArray();
    i.name = QString::fromUtf8(i.kernelName);
    i.reported = m_includeVirtual || !isVirtualName(kernelName);
    m_interfaces.insert(seenEnd, std::move(i));
    return count++;
}

bool NetDev::isVirtualName(QByteArrayView name)
{
    return name == "lo" || name.startsWith("veth");
}

} // namespace autofact::agent
