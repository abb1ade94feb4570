// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "sampling/counterdelta.h"
#include "sampling/procfile.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <array>
#include <cstdint>
#include <vector>

namespace autofact::agent {

/**
 * Disk I/O per whole disk from `<procRoot>/diskstats` (Documentation/admin-guide/iostats.rst),
 * as deltas between two reads.
 *
 * Which lines are reported:
 * - **Whole disks only**: a name is a whole disk when `<sysRoot>/block/<name>` exists
 *   (partitions live below their disk there, not at the top; a `/` in the kernel name is `!`
 *   in sysfs, as for `cciss/c0d0`). When `<sysRoot>/block` does not exist (fixtures, a
 *   container without /sys) the name decides (looksLikeWholeDisk()): sdX, vdX, xvdX, hdX,
 *   nvmeNnM, mmcblkN, mdN, dm-N, without a partition suffix.
 * - **Skipped** (isSkippedName()): loop, ram, zram, fd and sr devices. Loop devices mirror
 *   I/O on files that already counts on the disk below (and every snap adds one); ram and
 *   zram are memory (zram's traffic is swap, visible in the swap figures); fd and sr are
 *   removable media that sit idle.
 * - md arrays and dm/LVM volumes are reported alongside the disks under them (as iostat does:
 *   the array's and the members' figures answer different questions). A dm device is named by
 *   `<sysRoot>/block/dm-N/dm/name` (the LVM or crypt name users know, e.g. `vg0-root`),
 *   falling back to `dm-N`.
 * - Lines with fewer than 11 statistics (partitions on kernels before 2.6.25) are skipped.
 *
 * Figures per disk, over intervalMs = now − the previous read of that disk:
 * read/write bytes = sectors × 512 (diskstats' sectors are always 512 bytes, whatever the
 * device's block size), reads/writes = requests completed, busyMs = io_ticks delta (time with
 * requests in flight), clamped to intervalMs because io_ticks is updated at request
 * boundaries and can run ahead of the wall clock by one request.
 *
 * Counters that go down follow counterdelta.h: a 32-bit wrap (io_ticks on every kernel,
 * everything on 32-bit kernels) is unwrapped; anything else is a reset, and that read of the
 * disk is a new baseline without an entry. The first read of a disk (after start, after
 * reset(), or when it appears) is a baseline and gives no entry; so does a read whose time is
 * not after the previous one (the wall clock went back).
 *
 * Per-disk state is kept between reads and a disk that disappears is forgotten: after the
 * first reads nothing is allocated unless a device appears.
 */
class DiskStats
{
public:
    /** Counters kept per disk, in this order (a plain enum: the values index Counters). */
    enum Field { Reads, SectorsRead, Writes, SectorsWritten, IoTicks, FieldCount };
    using Counters = std::array<std::uint64_t, FieldCount>;

    /** One device of the last read. */
    struct Disk {
        QByteArray kernelName;    ///< as in diskstats
        QString name;             ///< reported name (the dm name for dm-N)
        bool reported = false;    ///< a whole disk that is not skipped
        Counters counters{};      ///< the last read
        Counters previous{};      ///< the baseline the next delta starts from
        std::int64_t previousMs = 0;
        bool hasBaseline = false;
    };

    explicit DiskStats(const QString &procRoot = QStringLiteral("/proc"),
                       const QString &sysRoot = QStringLiteral("/sys"));

    /** Reads diskstats and update()s from it. Fails only when the file cannot be read. */
    bool collect(std::int64_t nowMs, DeviceTables &out, QString *error = nullptr);

    /**
     * Parses diskstats @p text read at @p nowMs and appends one DiskIo (sample 0) per reported
     * disk that has a baseline to @p out; the read becomes every disk's new baseline.
     * Malformed lines are skipped.
     */
    void update(QByteArrayView text, std::int64_t nowMs, DeviceTables &out);

    /** Forgets every disk and baseline: the next read is a first read. */
    void reset() { m_disks.clear(); }

    /** Every device of the last read, in file order, reported or not. */
    const std::vector<Disk> &disks() const { return m_disks; }

    /** loop*, ram*, zram*, fd*, sr* followed by a number. */
    static bool isSkippedName(QByteArrayView kernelName);
    /** The name rules used when sysfs is absent. */
    static bool looksLikeWholeDisk(QByteArrayView kernelName);

private:
    /// Index in m_disks of @p kernelName's state, whose first @p count entries are this read's
    /// devices so far in file order; a new or moved device is put at @p count, which advances.
    std::size_t place(QByteArrayView kernelName, std::size_t &count);
    void classify(Disk &disk) const;

    QString m_sysRoot;
    ProcFile m_file;
    std::vector<Disk> m_disks;
};

} // namespace autofact::agent
