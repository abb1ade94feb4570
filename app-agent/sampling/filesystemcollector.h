// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "sampling/mountinfo.h"

#include <QByteArray>
#include <QString>

#include <cstdint>
#include <functional>

namespace autofact::agent {

/**
 * Filesystem use of every mount MountInfo keeps (`<procRoot>/self/mountinfo`), from statvfs().
 *
 * Figures are those of `df -B1` (coreutils), so the two agree for the same mount:
 * - size = f_blocks × f_frsize;
 * - used = (f_blocks − f_bfree) × f_frsize — it includes the blocks reserved for root, which
 *   is why used + available is less than size on ext4;
 * - available = f_bavail × f_frsize (what an unprivileged user can still write);
 * - inodes used = f_files − f_ffree, inodes total = f_files (0 on filesystems without a fixed
 *   inode table, such as btrfs).
 *
 * A mount whose statvfs() fails (it went away, permission denied) is skipped with a debug
 * message, and so is a filesystem of size 0 (fuse views, some virtual filesystems).
 *
 * statvfs() is a blocking call: a network filesystem whose server is gone can hold it (and the
 * sampling thread) as long as `df` hangs on it.
 */
class FilesystemCollector
{
public:
    /** What statvfs() gives, in its own units (blocks of fragmentSize bytes, inodes). */
    struct FsStats {
        std::uint64_t blocks = 0;          ///< f_blocks
        std::uint64_t freeBlocks = 0;      ///< f_bfree
        std::uint64_t availableBlocks = 0; ///< f_bavail
        std::uint64_t fragmentSize = 0;    ///< f_frsize
        std::uint64_t files = 0;           ///< f_files
        std::uint64_t freeFiles = 0;       ///< f_ffree
    };
    /** Fills the stats of the filesystem mounted at a path; false when that fails. */
    using StatFs = std::function<bool(const QByteArray &path, FsStats &stats)>;

    /** @p statFs defaults to statvfs() (systemStatFs); tests pass a fake. */
    explicit FilesystemCollector(const QString &procRoot = QStringLiteral("/proc"),
                                 StatFs statFs = {});

    /**
     * Reads the mount table and appends one FilesystemUsage per reported filesystem to @p out
     * (sample 0, device = the mount point). Fails only when the mount table cannot be read.
     */
    bool collect(DeviceTables &out, QString *error = nullptr);

    /** The usage of one filesystem from its statvfs() figures, as above (device left 0). */
    static FilesystemUsage usage(const FsStats &stats);

    /** statvfs() on @p path. */
    static bool systemStatFs(const QByteArray &path, FsStats &stats);

    const MountInfo &mountInfo() const { return m_mountInfo; }

private:
    MountInfo m_mountInfo;
    StatFs m_statFs;
};

} // namespace autofact::agent
