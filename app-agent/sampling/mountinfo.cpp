// SPDX-License-Identifier: MIT
// platform: linux — compiled only on Linux (app-agent/sampling/CMakeLists.txt).
#include "sampling/mountinfo.h"

#include "messages.h"
#include "sampling/samplinglogging.h"

#include <QFile>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iterator>
#include <string_view>
#include <fcntl.h>
#include <poll.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace autofact::agent {

namespace {

// statfs(2): the f_type of procfs.
constexpr long procSuperMagic = 0x9fa0;

constexpr std::string_view pseudoFilesystems[] = {
    "autofs",   "binfmt_misc", "bpf",         "cgroup",   "cgroup2",     "configfs",
    "debugfs",  "devpts",      "devtmpfs",    "efivarfs", "erofs",       "fuse.gvfsd-fuse",
    "fuse.lxcfs", "fuse.portal", "fusectl",   "hugetlbfs", "iso9660",    "mqueue",
    "nsfs",     "proc",        "pstore",      "ramfs",    "rpc_pipefs",  "securityfs",
    "selinuxfs", "squashfs",   "sysfs",       "tmpfs",    "tracefs",
};

// Splits off the next space-separated field of a mountinfo line.
QByteArrayView nextField(QByteArrayView &rest)
{
    const qsizetype space = rest.indexOf(' ');
    const QByteArrayView field = space < 0 ? rest : rest.first(space);
    rest = space < 0 ? QByteArrayView() : rest.sliced(space + 1);
    return field;
}

bool parseDevice(QByteArrayView field, std::uint32_t &major, std::uint32_t &minor)
{
    const char *p = field.data();
    const char *const end = p + field.size();
    const auto [colon, ec] = std::from_chars(p, end, major);
    if (ec != std::errc() || colon == end || *colon != ':')
        return false;
    const auto [last, ec2] = std::from_chars(colon + 1, end, minor);
    return ec2 == std::errc() && last == end;
}

bool parseLine(QByteArrayView line, MountInfo::Mount &m)
{
    QByteArrayView rest = line;
    nextField(rest); // mount id
    nextField(rest); // parent id
    if (!parseDevice(nextField(rest), m.major, m.minor))
        return false;
    const QByteArrayView root = nextField(rest);
    const QByteArrayView mountPoint = nextField(rest);
    nextField(rest); // per-mount options
    // Optional fields ("shared:7", "master:1", ...) up to the lone "-".
    for (;;) {
        if (rest.isEmpty())
            return false;
        if (nextField(rest) == "-")
            break;
    }
    const QByteArrayView fsType = nextField(rest);
    const QByteArrayView source = nextField(rest);
    if (root.isEmpty() || mountPoint.isEmpty() || fsType.isEmpty())
        return false;
    m.fsType = MountInfo::unescape(fsType);
    m.root = MountInfo::unescape(root);
    m.mountPoint = MountInfo::unescape(mountPoint);
    m.source = MountInfo::unescape(source);
    m.name = QString::fromUtf8(m.mountPoint);
    return true;
}

} // namespace

MountInfo::MountInfo(const QString &path)
    : m_file(path)
{
}

MountInfo::~MountInfo()
{
    if (m_pollFd >= 0)
        ::close(m_pollFd);
}

bool MountInfo::changedSinceLastRead()
{
    if (m_pollFd < 0) {
        // Opened before the first read, so a change after it is flagged by the next poll.
        m_pollFd = ::open(QFile::encodeName(m_file.path()).constData(), O_RDONLY | O_CLOEXEC);
        struct statfs fs {};
        if (m_pollFd >= 0 && (::fstatfs(m_pollFd, &fs) != 0 || fs.f_type != procSuperMagic)) {
            ::close(m_pollFd); // a saved file: no change notification, compare texts instead
            m_pollFd = -1;
            m_pollable = false;
        }
        return true;
    }
    // proc(5): a change in the mount namespace makes poll() report POLLPRI | POLLERR, once per
    // change and open file.
    pollfd p{m_pollFd, POLLPRI, 0};
    int rc;
    do {
        rc = ::poll(&p, 1, 0);
    } while (rc < 0 && errno == EINTR);
    return rc != 0 || (p.revents & (POLLPRI | POLLERR)) != 0;
}

bool MountInfo::read(QString *error)
{
    // Generating mountinfo costs the kernel about 18 µs for 27 mounts on this project's VM
    // (bench_sampler ReadLiveFile/mountinfo), most of a filesystems run, and grows with mounts.
    if (m_parsed && m_pollable && !changedSinceLastRead())
        return true;
    if (m_pollable && !m_parsed)
        changedSinceLastRead();
    if (!m_file.read(error)) {
        m_parsed = false; // the change notification was used up: read again next time
        return false;
    }
    const QByteArrayView text = m_file.data();
    if (m_parsed && text == QByteArrayView(m_lastText))
        return true;
    // resize() keeps the capacity, so a table that changes back and forth does not allocate.
    m_lastText.resize(text.size());
    std::memcpy(m_lastText.data(), text.data(), size_t(text.size()));
    parse(text);
    return true;
}

void MountInfo::parse(QByteArrayView text)
{
    m_parsed = true;
    m_all.clear();
    m_mounts.clear();
    qsizetype pos = 0;
    int lineNo = 0;
    Mount m;
    while (pos < text.size()) {
        qsizetype eol = text.indexOf('\n', pos);
        if (eol < 0)
            eol = text.size();
        const QByteArrayView line = text.sliced(pos, eol - pos);
        pos = eol + 1;
        ++lineNo;
        if (line.isEmpty())
            continue;
        if (!parseLine(line, m)) {
            qCDebug(lcSampler) << "mountinfo line" << lineNo << "malformed, skipped";
            continue;
        }
        m_all.push_back(m);
    }

    // Few mounts (tens; hundreds on a Kubernetes node, most of them tmpfs): quadratic scans,
    // and only when the table changed, cost less than building hashes.
    for (auto it = m_all.begin(); it != m_all.end(); ++it) {
        const Mount &c = *it;
        if (isPseudoFilesystem(c.fsType))
            continue;
        // Hidden also by a pseudo filesystem: a tmpfs over /data makes statvfs("/data") tmpfs's.
        if (std::any_of(it + 1, m_all.end(),
                        [&](const Mount &later) { return later.mountPoint == c.mountPoint; }))
            continue;
        if (c.mountPoint.size() > protocol::maxDeviceNameBytes) {
            qCDebug(lcSampler) << "mount point longer than" << protocol::maxDeviceNameBytes
                               << "bytes skipped:" << c.name.left(80);
            continue;
        }
        const auto same = std::find_if(m_mounts.begin(), m_mounts.end(), [&](const Mount &kept) {
            return kept.major == c.major && kept.minor == c.minor;
        });
        if (same == m_mounts.end())
            m_mounts.push_back(c);
        else if (same->root != "/" && c.root == "/")
            *same = c;
    }
}

bool MountInfo::isPseudoFilesystem(QByteArrayView fsType)
{
    const std::string_view type(fsType.data(), size_t(fsType.size()));
    return std::find(std::begin(pseudoFilesystems), std::end(pseudoFilesystems), type)
            != std::end(pseudoFilesystems);
}

QByteArray MountInfo::unescape(QByteArrayView field)
{
    if (!field.contains('\\'))
        return field.toByteArray();
    QByteArray out;
    out.reserve(field.size());
    const auto octal = [](char c) { return c >= '0' && c <= '7'; };
    for (qsizetype i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && octal(field[i + 1])
            && octal(field[i + 2]) && octal(field[i + 3])) {
            out.append(char(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3)
                            | (field[i + 3] - '0')));
            i += 3;
        } else {
            out.append(field[i]);
        }
    }
    return out;
}

} // namespace autofact::agent
