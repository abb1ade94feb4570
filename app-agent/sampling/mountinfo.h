// SPDX-License-Identifier: MIT
#pragma once

#include "sampling/procfile.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <cstdint>
#include <vector>

namespace autofact::agent {

/**
 * Parser for /proc/self/mountinfo (proc(5)) that keeps the mounts worth reporting as
 * filesystems: the ones a user would look at with `df`, each storage device once.
 *
 * Line format: `id parent major:minor root mountpoint options [optional fields] - fstype source
 * superoptions`. The kernel escapes space, tab, newline and backslash in paths as `\040`,
 * `\011`, `\012` and `\134`; every `\ooo` octal escape is decoded.
 *
 * Rules, in this order:
 * 1. **Pseudo filesystems are skipped** (isPseudoFilesystem()): kernel interfaces (proc, sysfs,
 *    cgroup, cgroup2, devpts, debugfs, tracefs, securityfs, pstore, bpf, configfs, efivarfs,
 *    fusectl, hugetlbfs, mqueue, nsfs, binfmt_misc, rpc_pipefs, selinuxfs), autofs (a statvfs
 *    on an automount point would mount it), memory-backed ones (tmpfs, devtmpfs, ramfs: their
 *    use is RAM and shows in the memory figures; `df -x tmpfs -x devtmpfs` is how admins read
 *    disks), read-only images that are full by construction (squashfs — every snap —, erofs,
 *    iso9660: they would trip "disk almost full" alerts) and FUSE views of other data
 *    (fuse.lxcfs, fuse.gvfsd-fuse, fuse.portal). overlay is kept: it is a container's root.
 * 2. **Over-mounts**: when the same mount point is mounted again later in the file (by any
 *    filesystem, pseudo or not), only the later mount is visible there, so the earlier one is
 *    dropped.
 * 3. **Bind mounts and subvolumes**: mounts with the same major:minor are one filesystem; the
 *    first one whose root is "/" is kept, else the first one. It is listed where the device's
 *    first mount was.
 * 4. Mount points longer than protocol::maxDeviceNameBytes are skipped (the protocol refuses
 *    the name).
 *
 * read() does not read the file again while the mount table is unchanged: on procfs it polls
 * for the kernel's change notification (proc(5), "/proc/[pid]/mountinfo"), elsewhere (saved
 * files) it reads and compares the text. Either way an unchanged table is not parsed again and
 * steady-state reads do not allocate. Malformed lines are skipped.
 */
class MountInfo
{
public:
    /** One reported mount. */
    struct Mount {
        QByteArray mountPoint; ///< unescaped, as the kernel knows the path (for statvfs)
        QString name;          ///< the mount point as reported (UTF-8 decoded)
        QByteArray root;       ///< unescaped root of the mount within its filesystem
        QByteArray fsType;
        QByteArray source;     ///< unescaped mount source ("/dev/sda1", "overlay", ...)
        std::uint32_t major = 0;
        std::uint32_t minor = 0;
    };

    /** @p path is only used by read(); parse() works on any bytes. */
    explicit MountInfo(const QString &path = QStringLiteral("/proc/self/mountinfo"));
    ~MountInfo();
    MountInfo(const MountInfo &) = delete;
    MountInfo &operator=(const MountInfo &) = delete;

    /** Reads the file and, when its text changed, parses it. */
    bool read(QString *error = nullptr);

    /** Parses mountinfo text into mounts() under the rules above. Never fails. */
    void parse(QByteArrayView text);

    /** The mounts to report, in file order. */
    const std::vector<Mount> &mounts() const { return m_mounts; }

    /** Whether @p fsType is one of the skipped kinds (rule 1). */
    static bool isPseudoFilesystem(QByteArrayView fsType);

    /** @p field with every `\ooo` octal escape decoded. */
    static QByteArray unescape(QByteArrayView field);

private:
    /// Whether the mount table may have changed since the last read (always true off procfs).
    bool changedSinceLastRead();

    ProcFile m_file;
    int m_pollFd = -1;      ///< a second open of the file, polled for changes (procfs only)
    bool m_pollable = true; ///< false once the file turned out not to be on procfs
    QByteArray m_lastText; ///< the text mounts() was parsed from
    bool m_parsed = false;
    std::vector<Mount> m_all; ///< every mount of the last parse, before the rules
    std::vector<Mount> m_mounts;
};

} // namespace autofact::agent
