// SPDX-License-Identifier: MIT
#include "sampling/diskstats.h"

#include "sampling/samplinglogging.h"

#include <QFileInfo>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>

namespace autofact::agent {

namespace {

// diskstats columns after the name, 1-based as in iostats.rst.
constexpr int readsColumn = 1, sectorsReadColumn = 3, writesColumn = 5, sectorsWrittenColumn = 7,
              ioTicksColumn = 10;
constexpr int minimumColumns = 11;
constexpr std::uint64_t sectorBytes = 512;

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}
bool isLower(char c)
{
    return c >= 'a' && c <= 'z';
}

// @p name is @p prefix followed by at least one character for which @p rest holds, and
// nothing else.
template<typename Predicate>
bool prefixThen(QByteArrayView name, const char *prefix, Predicate rest)
{
    const qsizetype n = qsizetype(std::strlen(prefix));
    if (name.size() <= n || !name.startsWith(prefix))
        return false;
    for (qsizetype i = n; i < name.size(); ++i) {
        if (!rest(name[i]))
            return false;
    }
    return true;
}

// Skips "digits" at @p i; returns the index after them, or -1 when there is none.
qsizetype digitsAt(QByteArrayView s, qsizetype i)
{
    const qsizetype start = i;
    while (i < s.size() && isDigit(s[i]))
        ++i;
    return i > start ? i : -1;
}

QByteArrayView nextToken(const char *&p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        ++p;
    const char *start = p;
    while (p < end && *p != ' ' && *p != '\t')
        ++p;
    return QByteArrayView(start, p - start);
}

QString readTrimmed(const QString &path)
{
    ProcFile file(path, ProcFile::Layout::SingleRecord);
    if (!file.read())
        return {};
    return QString::fromUtf8(file.data().trimmed());
}

} // namespace

DiskStats::DiskStats(const QString &procRoot, const QString &sysRoot)
    : m_sysRoot(sysRoot)
    , m_file(procRoot + u"/diskstats")
{
}

bool DiskStats::collect(std::int64_t nowMs, DeviceTables &out, QString *error)
{
    if (!m_file.read(error))
        return false;
    update(m_file.data(), nowMs, out);
    return true;
}

void DiskStats::update(QByteArrayView text, std::int64_t nowMs, DeviceTables &out)
{
    const char *p = text.data();
    const char *const end = p + text.size();
    std::size_t count = 0; // devices of this read so far, at the front of m_disks in file order
    while (p < end) {
        const char *lineEnd = static_cast<const char *>(std::memchr(p, '\n', size_t(end - p)));
        if (!lineEnd)
            lineEnd = end;
        const char *q = p;
        p = lineEnd == end ? end : lineEnd + 1;

        nextToken(q, lineEnd); // major
        nextToken(q, lineEnd); // minor
        const QByteArrayView name = nextToken(q, lineEnd);
        if (name.isEmpty())
            continue;
        Counters counters{};
        int column = 0;
        bool malformed = false;
        for (;;) {
            const QByteArrayView token = nextToken(q, lineEnd);
            if (token.isEmpty())
                break;
            std::uint64_t value = 0;
            const auto [last, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
            if (ec != std::errc() || last != token.data() + token.size()) {
                malformed = true;
                break;
            }
            switch (++column) {
            case readsColumn: counters[Reads] = value; break;
            case sectorsReadColumn: counters[SectorsRead] = value; break;
            case writesColumn: counters[Writes] = value; break;
            case sectorsWrittenColumn: counters[SectorsWritten] = value; break;
            case ioTicksColumn: counters[IoTicks] = value; break;
            default: break;
            }
        }
        if (malformed || column < minimumColumns) {
            if (malformed)
                qCDebug(lcSampler) << "diskstats: malformed line for" << name << "skipped";
            continue;
        }
        m_disks[place(name, count)].counters = counters;
    }
    // Devices that vanished are forgotten: one that comes back starts with a baseline.
    m_disks.erase(m_disks.begin() + std::ptrdiff_t(count), m_disks.end());

    for (Disk &d : m_disks) {
        if (!d.reported)
            continue;
        if (d.hasBaseline && nowMs > d.previousMs) {
            Counters delta{};
            if (counterDeltas(d.previous, d.counters, delta) == CounterChange::Reset) {
                qCDebug(lcSampler) << "diskstats: counters of" << d.name
                                   << "went back; new baseline, no figures this interval";
                d.previous = d.counters;
                d.previousMs = nowMs;
                continue;
            }
            DiskIo io;
            io.device = out.nameIndex(d.name);
            io.intervalMs = std::uint32_t(std::min<std::int64_t>(nowMs - d.previousMs, UINT32_MAX));
            io.readBytes = delta[SectorsRead] * sectorBytes;
            io.writeBytes = delta[SectorsWritten] * sectorBytes;
            io.reads = delta[Reads];
            io.writes = delta[Writes];
            io.busyMs = std::uint32_t(std::min<std::uint64_t>(delta[IoTicks], io.intervalMs));
            out.disks.push_back(io);
        }
        d.previous = d.counters;
        d.previousMs = nowMs;
        d.hasBaseline = true;
    }
}

std::size_t DiskStats::place(QByteArrayView kernelName, std::size_t &count)
{
    const auto named = [&](const Disk &d) { return d.kernelName == kernelName; };
    // The kernel lists devices in a stable order, so the device is usually next in line.
    if (count < m_disks.size() && named(m_disks[count]))
        return count++;
    const auto seenEnd = m_disks.begin() + std::ptrdiff_t(count);
    // A name listed twice in one read: the later line wins.
    if (const auto it = std::find_if(m_disks.begin(), seenEnd, named); it != seenEnd)
        return std::size_t(it - m_disks.begin());
    // Moved (a device before it vanished or appeared): bring it forward, keeping file order.
    if (const auto it = std::find_if(seenEnd, m_disks.end(), named); it != m_disks.end()) {
        std::rotate(seenEnd, it, it + 1);
        return count++;
    }
    Disk d;
    d.kernelName = kernelName.toByteArray();
    classify(d);
    m_disks.insert(seenEnd, std::move(d));
    return count++;
}

void DiskStats::classify(Disk &d) const
{
    const QString kernelName = QString::fromUtf8(d.kernelName);
    d.name = kernelName;
    if (isSkippedName(d.kernelName)) {
        qCDebug(lcSampler) << "diskstats:" << kernelName << "skipped (loop, ram, zram, fd, sr)";
        return;
    }
    const QString block = m_sysRoot + u"/block";
    if (QFileInfo(block).isDir()) {
        QString sysName = kernelName;
        sysName.replace(u'/', u'!');
        d.reported = QFileInfo::exists(block + u'/' + sysName);
        if (d.reported && d.kernelName.startsWith("dm-")) {
            if (const QString dmName = readTrimmed(block + u'/' + sysName + u"/dm/name");
                !dmName.isEmpty())
                d.name = dmName;
        }
    } else {
        d.reported = looksLikeWholeDisk(d.kernelName);
    }
    if (d.reported)
        qCDebug(lcSampler) << "diskstats:" << kernelName << "reported as" << d.name;
    else
        qCDebug(lcSampler) << "diskstats:" << kernelName << "not a whole disk, not reported";
}

bool DiskStats::isSkippedName(QByteArrayView name)
{
    for (const char *prefix : {"loop", "ram", "zram", "fd", "sr"}) {
        if (prefixThen(name, prefix, isDigit))
            return true;
    }
    return false;
}

bool DiskStats::looksLikeWholeDisk(QByteArrayView name)
{
    for (const char *prefix : {"sd", "vd", "xvd", "hd"}) {
        if (prefixThen(name, prefix, isLower))
            return true;
    }
    if (prefixThen(name, "md", isDigit) || prefixThen(name, "mmcblk", isDigit)
        || prefixThen(name, "dm-", isDigit))
        return true;
    // nvme<controller>n<namespace>; partitions add p<N>, multipath paths c<N>.
    if (name.startsWith("nvme")) {
        const qsizetype n = digitsAt(name, 4);
        if (n < 0 || n >= name.size() || name[n] != 'n')
            return false;
        return digitsAt(name, n + 1) == name.size();
    }
    return false;
}

} // namespace autofact::agent
