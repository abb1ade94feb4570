// SPDX-License-Identifier: MIT
// platform: linux — compiled only on Linux (app-agent/sampling/CMakeLists.txt).
#include "sampling/filesystemcollector.h"

#include "sampling/samplinglogging.h"

#include <cerrno>
#include <cstring>
#include <utility>
#include <sys/statvfs.h>

namespace autofact::agent {

FilesystemCollector::FilesystemCollector(const QString &procRoot, StatFs statFs)
    : m_mountInfo(procRoot + u"/self/mountinfo")
    , m_statFs(statFs ? std::move(statFs) : StatFs(&FilesystemCollector::systemStatFs))
{
}

bool FilesystemCollector::collect(DeviceTables &out, QString *error)
{
    if (!m_mountInfo.read(error))
        return false;
    FsStats stats;
    for (const MountInfo::Mount &m : m_mountInfo.mounts()) {
        stats = {};
        if (!m_statFs(m.mountPoint, stats)) {
            qCDebug(lcSampler) << "no statvfs for" << m.name << "- skipped";
            continue;
        }
        FilesystemUsage u = usage(stats);
        if (u.sizeBytes == 0)
            continue;
        u.device = out.nameIndex(m.name);
        out.filesystems.push_back(u);
    }
    return true;
}

FilesystemUsage FilesystemCollector::usage(const FsStats &s)
{
    FilesystemUsage u;
    u.sizeBytes = s.blocks * s.fragmentSize;
    // f_bfree > f_blocks is not supposed to happen; clamp rather than wrap to 16 EiB.
    u.usedBytes = (s.blocks > s.freeBlocks ? s.blocks - s.freeBlocks : 0) * s.fragmentSize;
    u.availableBytes = s.availableBlocks * s.fragmentSize;
    u.inodesTotal = s.files;
    u.inodesUsed = s.files > s.freeFiles ? s.files - s.freeFiles : 0;
    return u;
}

bool FilesystemCollector::systemStatFs(const QByteArray &path, FsStats &stats)
{
    struct statvfs v {};
    int rc;
    do {
        rc = ::statvfs(path.constData(), &v);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        qCDebug(lcSampler) << "statvfs" << path << "failed:"
                           << QString::fromLocal8Bit(std::strerror(errno));
        return false;
    }
    stats.blocks = v.f_blocks;
    stats.freeBlocks = v.f_bfree;
    stats.availableBlocks = v.f_bavail;
    // f_frsize is 0 on some very old kernels' filesystems; f_bsize is then the unit (as df).
    stats.fragmentSize = v.f_frsize ? v.f_frsize : v.f_bsize;
    stats.files = v.f_files;
    stats.freeFiles = v.f_ffree;
    return true;
}

} // namespace autofact::agent
