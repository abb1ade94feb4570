// SPDX-License-Identifier: MIT
// The Linux device collectors (issue 17) — mount table, diskstats, net/dev, hwmon/thermal — on
// saved and hand-written /proc and /sys trees (tests/fixtures/devices/README.md), their
// schedule, and on this machine against `df -B1`, an independent parse of /proc/net/dev under
// a loopback transfer and of /proc/diskstats under a `dd oflag=direct`.
#include "sampling/devicecollectors.h"
#include "sampling/diskstats.h"
#include "sampling/filesystemcollector.h"
#include "sampling/hwmon.h"
#include "sampling/linuxsampler.h"
#include "sampling/mountinfo.h"
#include "sampling/netdev.h"

#include "testfiles.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

// --- Allocation counting for the steady-state test ---
// Qt containers allocate with malloc(), not operator new, so malloc itself is interposed
// (glibc exports the real one as __libc_malloc). Only the thread that asked counts. Not under
// AddressSanitizer, which must own malloc.
#if defined(__SANITIZE_ADDRESS__)
#define AUTOFACT_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AUTOFACT_COUNT_ALLOCATIONS 0
#endif
#endif
#if !defined(AUTOFACT_COUNT_ALLOCATIONS) && defined(__GLIBC__)
#define AUTOFACT_COUNT_ALLOCATIONS 1
#endif
#if !defined(AUTOFACT_COUNT_ALLOCATIONS)
#define AUTOFACT_COUNT_ALLOCATIONS 0
#endif

namespace {
thread_local bool t_countAllocations = false;
thread_local long t_allocations = 0;
} // namespace

#if AUTOFACT_COUNT_ALLOCATIONS
extern "C" {
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *pointer, size_t size);

void *malloc(size_t size)
{
    if (t_countAllocations)
        ++t_allocations;
    return __libc_malloc(size);
}
void *calloc(size_t count, size_t size)
{
    if (t_countAllocations)
        ++t_allocations;
    return __libc_calloc(count, size);
}
void *realloc(void *pointer, size_t size)
{
    if (t_countAllocations)
        ++t_allocations;
    return __libc_realloc(pointer, size);
}
}
#endif

using namespace autofact;
using namespace autofact::agent;

namespace {

QString devices(const QString &relative)
{
    return QStringLiteral(AUTOFACT_FIXTURES "/devices/") + relative;
}

QByteArray readDevices(const QString &relative)
{
    return testdata::readFile(devices(relative));
}

using Stats = FilesystemCollector::FsStats;

/// statvfs() that answers for every path with the same figures.
bool anyPath(const QByteArray &, Stats &s)
{
    s = {1000, 400, 300, 4096, 100, 60};
    return true;
}

QString nameOf(const DeviceTables &t, std::uint16_t device)
{
    return device < t.names.size() ? t.names[device] : QStringLiteral("<bad index>");
}

QString join(const QList<quint64> &values)
{
    QStringList parts;
    for (quint64 v : values)
        parts << QString::number(v);
    return parts.join(u' ');
}

/// "name interval readBytes writeBytes reads writes busyMs", one per entry.
QStringList diskRows(const DeviceTables &t)
{
    QStringList rows;
    for (const DiskIo &d : t.disks) {
        rows << nameOf(t, d.device) + u' '
                        + join({d.intervalMs, d.readBytes, d.writeBytes, d.reads, d.writes, d.busyMs});
        if (d.sample != 0)
            rows << QStringLiteral("sample %1").arg(d.sample);
    }
    return rows;
}

/// "name interval rxBytes txBytes rxPackets txPackets rxErrors txErrors rxDrops txDrops".
QStringList networkRows(const DeviceTables &t)
{
    QStringList rows;
    for (const NetworkIo &n : t.networks)
        rows << nameOf(t, n.device) + u' '
                        + join({n.intervalMs, n.rxBytes, n.txBytes, n.rxPackets, n.txPackets,
                                n.rxErrors, n.txErrors, n.rxDrops, n.txDrops});
    return rows;
}

/// "name|milliCelsius|critical" ("-" when absent).
QStringList temperatureRows(const DeviceTables &t)
{
    QStringList rows;
    for (const Temperature &x : t.temperatures)
        rows << nameOf(t, x.device) + u'|' + QString::number(x.milliCelsius) + u'|'
                        + (x.criticalMilliCelsius == noCriticalTemperature
                                   ? QStringLiteral("-")
                                   : QString::number(x.criticalMilliCelsius));
    return rows;
}

/// "name size used available inodesUsed inodesTotal".
QStringList filesystemRows(const DeviceTables &t)
{
    QStringList rows;
    for (const FilesystemUsage &f : t.filesystems)
        rows << nameOf(t, f.device) + u' '
                        + join({f.sizeBytes, f.usedBytes, f.availableBytes, f.inodesUsed, f.inodesTotal});
    return rows;
}

QList<quint64> countersOf(const DiskStats::Counters &c)
{
    return QList<quint64>(c.begin(), c.end());
}
QList<quint64> countersOf(const NetDev::Counters &c)
{
    return QList<quint64>(c.begin(), c.end());
}

/// One line of /proc/net/dev, parsed here independently of NetDev: rx and tx bytes.
struct LoCounters {
    quint64 rx = 0, tx = 0;
};
std::optional<LoCounters> readLo()
{
    QFile f(QStringLiteral("/proc/net/dev"));
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (const QByteArray &line : lines) {
        const qsizetype colon = line.indexOf(':');
        if (colon < 0 || line.left(colon).trimmed() != "lo")
            continue;
        const QList<QByteArray> fields = line.mid(colon + 1).simplified().split(' ');
        if (fields.size() < 16)
            return std::nullopt;
        return LoCounters{fields[0].toULongLong(), fields[8].toULongLong()};
    }
    return std::nullopt;
}

/// Sectors written of @p kernelName in /proc/diskstats, parsed here independently.
std::optional<quint64> readSectorsWritten(const QByteArray &kernelName)
{
    QFile f(QStringLiteral("/proc/diskstats"));
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    for (const QByteArray &line : f.readAll().split('\n')) {
        const QList<QByteArray> fields = line.simplified().split(' ');
        if (fields.size() >= 14 && fields[2] == kernelName)
            return fields[9].toULongLong();
    }
    return std::nullopt;
}

/// The kernel name in /proc/diskstats of block device @p major:@p minor, or empty.
QByteArray diskstatsName(unsigned major, unsigned minor)
{
    QFile f(QStringLiteral("/proc/diskstats"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    for (const QByteArray &line : f.readAll().split('\n')) {
        const QList<QByteArray> fields = line.simplified().split(' ');
        if (fields.size() >= 3 && fields[0].toUInt() == major && fields[1].toUInt() == minor)
            return fields[2];
    }
    return {};
}

/// Used bytes per mount point from `df -B1 --output=used,target`; empty when df failed.
std::map<QString, quint64> dfUsed(QString *error)
{
    QProcess df;
    df.start(QStringLiteral("df"), {QStringLiteral("-B1"), QStringLiteral("--output=used,target")});
    std::map<QString, quint64> used;
    if (!df.waitForFinished(30000)) {
        *error = QStringLiteral("df did not run: ") + df.errorString();
        return used;
    }
    // df exits 1 when one mount cannot be read (a stale mount of another user); the rest stands.
    const QList<QByteArray> lines = df.readAllStandardOutput().split('\n');
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        const qsizetype space = line.indexOf(' ');
        if (space < 0)
            continue;
        bool ok = false;
        const quint64 value = line.left(space).toULongLong(&ok);
        if (ok)
            used[QString::fromUtf8(line.mid(space + 1).trimmed())] = value;
    }
    if (used.empty())
        *error = QStringLiteral("df printed nothing: ") + QString::fromLocal8Bit(df.readAllStandardError());
    return used;
}

std::map<QString, quint64> collectorUsed()
{
    FilesystemCollector collector;
    DeviceTables out;
    std::map<QString, quint64> used;
    if (collector.collect(out)) {
        for (const FilesystemUsage &f : out.filesystems)
            used[out.names[f.device]] = f.usedBytes;
    }
    return used;
}

} // namespace

class TestDeviceCollectors : public QObject
{
    Q_OBJECT
private slots:
    // --- mountinfo ---
    void mountInfo_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QStringList>("mounts");
        QTest::addColumn<QStringList>("fsTypes");

        // 260:0 is mounted twice (the \040 and the \011 path): the first stays.
        QTest::addRow("real: escapes and cgroups")
            << QStringLiteral("mountinfo-escaped-and-cgroups")
            << QStringList{QStringLiteral("/"), QStringLiteral("/boot"),
                           QStringLiteral("/var/lib/kubelet/plugins/kubernetes.io/vsphere-volume/mounts/"
                                          "[vsanDatastore] bafb9e5a-8856-7e6c-699c-801844e77a4a/"
                                          "kubernetes-dynamic-pvc-3eba5bba-48a3-11e8-89ab-005056b92113.vmdk")}
            << QStringList{QStringLiteral("ext4"), QStringLiteral("ext2"), QStringLiteral("ext4")};
        QTest::addRow("laptop: snaps, space, backslash, newline")
            << QStringLiteral("laptop/proc/self/mountinfo")
            << QStringList{QStringLiteral("/"), QStringLiteral("/boot"), QStringLiteral("/boot/efi"),
                           QStringLiteral("/media/anna/USB Stick"),
                           QStringLiteral("/home/anna/NAS (anna\\backup)\nold")}
            << QStringList{QStringLiteral("ext4"), QStringLiteral("ext4"), QStringLiteral("vfat"),
                           QStringLiteral("vfat"), QStringLiteral("fuse.sshfs")};
        QTest::addRow("md RAID: bind mount of md0")
            << QStringLiteral("mdraid/proc/self/mountinfo")
            << QStringList{QStringLiteral("/"), QStringLiteral("/boot")}
            << QStringList{QStringLiteral("ext4"), QStringLiteral("ext4")};
        // /data (root "/") wins over the earlier bind /srv/export of the same volume and takes
        // its place; /mnt/grub binds /boot's device; /mnt/scratch is under a later tmpfs.
        QTest::addRow("LVM: whole mount wins, over-mount hides")
            << QStringLiteral("lvm/proc/self/mountinfo")
            << QStringList{QStringLiteral("/"), QStringLiteral("/boot"), QStringLiteral("/data")}
            << QStringList{QStringLiteral("ext4"), QStringLiteral("ext2"), QStringLiteral("xfs")};
        QTest::addRow("container: overlay root, host disk binds")
            << QStringLiteral("container/proc/self/mountinfo")
            << QStringList{QStringLiteral("/"), QStringLiteral("/etc/resolv.conf")}
            << QStringList{QStringLiteral("overlay"), QStringLiteral("ext4")};
        QTest::addRow("docker host: overlays of containers")
            << QStringLiteral("dockerhost/proc/self/mountinfo")
            << QStringList{QStringLiteral("/"), QStringLiteral("/boot/efi"),
                           QStringLiteral("/var/lib/docker/overlay2/9f3c5e1d/merged"),
                           QStringLiteral("/var/lib/docker/overlay2/7a8b9c0d/merged")}
            << QStringList{QStringLiteral("ext4"), QStringLiteral("vfat"), QStringLiteral("overlay"),
                           QStringLiteral("overlay")};
    }
    void mountInfo()
    {
        QFETCH(QString, file);
        QFETCH(QStringList, mounts);
        QFETCH(QStringList, fsTypes);
        MountInfo info(devices(file));
        QString error;
        QVERIFY2(info.read(&error), qPrintable(error));
        QStringList names, types;
        for (const MountInfo::Mount &m : info.mounts()) {
            names << m.name;
            types << QString::fromUtf8(m.fsType);
            QCOMPARE(QString::fromUtf8(m.mountPoint), m.name);
        }
        QCOMPARE(names, mounts);
        QCOMPARE(types, fsTypes);
    }

    void mountInfoDetails()
    {
        MountInfo info(devices(QStringLiteral("lvm/proc/self/mountinfo")));
        QVERIFY(info.read());
        QCOMPARE(info.mounts().size(), std::size_t(3));
        const MountInfo::Mount &data = info.mounts()[2];
        QCOMPARE(data.major, 253u);
        QCOMPARE(data.minor, 2u);
        QCOMPARE(data.root, QByteArray("/"));
        QCOMPARE(data.source, QByteArray("/dev/mapper/vg0-data"));
        MountInfo container(devices(QStringLiteral("container/proc/self/mountinfo")));
        QVERIFY(container.read());
        QVERIFY(container.mounts()[1].root.endsWith("/resolv.conf"));
    }

    void mountInfoMalformed()
    {
        MountInfo info;
        info.parse("garbage\n"
                   "1 2 3:4 / /no-separator rw - \n"
                   "5 6 x:y / /bad-device rw - ext4 /dev/sda rw\n"
                   "7 8 8:1 / /ok rw shared:1 master:2 - ext4 /dev/sda1 rw\n"
                   "9 8 8:2 / /no-newline rw - xfs /dev/sda2 rw");
        QCOMPARE(info.mounts().size(), std::size_t(2));
        QCOMPARE(info.mounts()[0].name, QStringLiteral("/ok"));
        QCOMPARE(info.mounts()[1].name, QStringLiteral("/no-newline"));
        info.parse({});
        QVERIFY(info.mounts().empty());
    }

    void mountInfoRereadsOnlyWhenChanged()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("mountinfo"));
        testdata::writeFile(path, "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n");
        MountInfo info(path);
        QVERIFY(info.read());
        const QByteArray *first = &info.mounts()[0].mountPoint;
        const char *data = first->constData();
        QVERIFY(info.read());
        // The same text: the list (and its strings) stay as they were.
        QCOMPARE(info.mounts()[0].mountPoint.constData(), data);
        testdata::writeFile(path, "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:2 / /home rw - ext4 /dev/sda2 rw\n");
        QVERIFY(info.read());
        QCOMPARE(info.mounts().size(), std::size_t(2));
        QFile::remove(path);
        QString error;
        QVERIFY(!MountInfo(path).read(&error));
        QVERIFY(error.contains(path));
    }

    void mountInfoSeesLiveChanges()
    {
        // On procfs MountInfo reads again only when poll() reports a change of the mount table.
        // A mount is made in a private mount namespace, so this process runs itself under
        // unshare(1) and the child does the work.
        if (qEnvironmentVariableIsSet("AUTOFACT_PRIVATE_MOUNT_NAMESPACE")) {
            MountInfo info;
            QVERIFY(info.read());
            QVERIFY(!info.mounts().empty());
            const std::size_t count = info.mounts().size();
            // overlay is reported and needs no device: directories will do.
            QTemporaryDir dir;
            for (const char *sub : {"lower", "upper", "work", "merged"})
                QVERIFY(QDir(dir.path()).mkdir(QLatin1StringView(sub)));
            const QByteArray merged = QFile::encodeName(dir.filePath(QStringLiteral("merged")));
            const QByteArray options = "lowerdir=" + QFile::encodeName(dir.filePath(QStringLiteral("lower")))
                    + ",upperdir=" + QFile::encodeName(dir.filePath(QStringLiteral("upper")))
                    + ",workdir=" + QFile::encodeName(dir.filePath(QStringLiteral("work")));
            if (::mount("overlay", merged.constData(), "overlay", 0, options.constData()) != 0)
                QSKIP(qPrintable(u"cannot mount an overlay here: " + QString::fromLocal8Bit(std::strerror(errno))));
            QVERIFY(info.read());
            QCOMPARE(info.mounts().size(), count + 1);
            QCOMPARE(info.mounts().back().mountPoint, merged);
            QCOMPARE(info.mounts().back().fsType, QByteArray("overlay"));
            QVERIFY(::umount(merged.constData()) == 0);
            QVERIFY(info.read());
            QCOMPARE(info.mounts().size(), count);
            return;
        }
        QProcess child;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("AUTOFACT_PRIVATE_MOUNT_NAMESPACE"), QStringLiteral("1"));
        child.setProcessEnvironment(env);
        child.start(QStringLiteral("unshare"),
                    {QStringLiteral("--mount"), QStringLiteral("--propagation"), QStringLiteral("private"),
                     QCoreApplication::applicationFilePath(), QStringLiteral("mountInfoSeesLiveChanges")});
        if (!child.waitForStarted(5000))
            QSKIP("unshare(1) is not available");
        QVERIFY(child.waitForFinished(30000));
        const QString output = QString::fromLocal8Bit(child.readAllStandardOutput() + child.readAllStandardError());
        if (child.exitCode() != 0 && output.contains(QStringLiteral("unshare failed")))
            QSKIP(qPrintable(u"no private mount namespace here (needs CAP_SYS_ADMIN): " + output.trimmed()));
        QVERIFY2(child.exitCode() == 0, qPrintable(output));
        if (output.contains(QStringLiteral("SKIP")))
            QSKIP(qPrintable(output.section(QStringLiteral("SKIP"), 1).section(u'\n', 0, 1).trimmed()));
    }

    void unescape_data()
    {
        QTest::addColumn<QByteArray>("field");
        QTest::addColumn<QByteArray>("expected");
        QTest::addRow("space") << QByteArray("/media/USB\\040Stick") << QByteArray("/media/USB Stick");
        QTest::addRow("tab") << QByteArray("/a\\011b") << QByteArray("/a\tb");
        QTest::addRow("newline") << QByteArray("/a\\012b") << QByteArray("/a\nb");
        QTest::addRow("backslash") << QByteArray("/a\\134b") << QByteArray("/a\\b");
        QTest::addRow("escaped backslash before digits") << QByteArray("/a\\134040") << QByteArray("/a\\040");
        QTest::addRow("plain") << QByteArray("/srv/data") << QByteArray("/srv/data");
        QTest::addRow("trailing backslash") << QByteArray("/a\\") << QByteArray("/a\\");
        QTest::addRow("short escape") << QByteArray("/a\\04") << QByteArray("/a\\04");
        QTest::addRow("not octal") << QByteArray("/a\\089") << QByteArray("/a\\089");
        QTest::addRow("at start and end") << QByteArray("\\040x\\040") << QByteArray(" x ");
    }
    void unescape()
    {
        QFETCH(QByteArray, field);
        QFETCH(QByteArray, expected);
        QCOMPARE(MountInfo::unescape(field), expected);
    }

    void pseudoFilesystems_data()
    {
        QTest::addColumn<QByteArray>("fsType");
        QTest::addColumn<bool>("pseudo");
        for (const char *t : {"proc", "sysfs", "cgroup", "cgroup2", "tmpfs", "devtmpfs", "devpts",
                              "autofs", "squashfs", "fuse.gvfsd-fuse", "fuse.lxcfs", "nsfs",
                              "binfmt_misc", "efivarfs", "tracefs", "debugfs", "mqueue"})
            QTest::addRow("%s", t) << QByteArray(t) << true;
        for (const char *t : {"ext4", "xfs", "btrfs", "vfat", "overlay", "zfs", "nfs4", "fuse.sshfs",
                              "f2fs", "ext2", "cifs", "tmpfs2"})
            QTest::addRow("%s", t) << QByteArray(t) << false;
    }
    void pseudoFilesystems()
    {
        QFETCH(QByteArray, fsType);
        QFETCH(bool, pseudo);
        QCOMPARE(MountInfo::isPseudoFilesystem(fsType), pseudo);
    }

    // --- filesystems ---
    void filesystemUsage()
    {
        const auto statFs = [](const QByteArray &path, Stats &s) {
            if (path == "/") {
                // ext4 with 5 % reserved: used + available < size, as df shows.
                s = {1000000, 400000, 350000, 4096, 65536, 60000};
                return true;
            }
            if (path == "/boot")
                return false; // went away between the mount table and statvfs
            if (path == "/boot/efi") {
                s = {0, 0, 0, 512, 0, 0}; // size 0
                return true;
            }
            if (path == "/media/anna/USB Stick") {
                s = {1953024, 1000000, 1000000, 4096, 0, 0}; // vfat: no inode table
                return true;
            }
            if (path == "/home/anna/NAS (anna\\backup)\nold") {
                s = {10, 20, 5, 1048576, 10, 20}; // nonsense from a FUSE server: clamped
                return true;
            }
            return false;
        };
        FilesystemCollector collector(devices(QStringLiteral("laptop/proc")), statFs);
        DeviceTables out;
        QVERIFY(collector.collect(out));
        QCOMPARE(filesystemRows(out),
                 (QStringList{QStringLiteral("/ 4096000000 2457600000 1433600000 5536 65536"),
                              QStringLiteral("/media/anna/USB Stick 7999586304 3903586304 4096000000 0 0"),
                              QStringLiteral("/home/anna/NAS (anna\\backup)\nold 10485760 0 5242880 0 10")}));
        for (const FilesystemUsage &f : out.filesystems)
            QCOMPARE(f.sample, 0u);

        // The collector appends: names already in the table are shared.
        DeviceTables more;
        more.nameIndex(QStringLiteral("sda"));
        QVERIFY(collector.collect(more));
        QCOMPARE(more.names.size(), std::size_t(4));
        QCOMPARE(more.filesystems[0].device, std::uint16_t(1));

        FilesystemCollector missing(devices(QStringLiteral("nosensors/proc")), anyPath);
        QString error;
        QVERIFY(!missing.collect(out, &error));
        QVERIFY(error.contains(QStringLiteral("mountinfo")));
    }

    void filesystemUsageMath()
    {
        const FilesystemUsage u = FilesystemCollector::usage({1000, 400, 300, 4096, 100, 60});
        QCOMPARE(u.sizeBytes, quint64(4096000));
        QCOMPARE(u.usedBytes, quint64(2457600));
        QCOMPARE(u.availableBytes, quint64(1228800));
        QCOMPARE(u.inodesUsed, quint64(40));
        QCOMPARE(u.inodesTotal, quint64(100));
    }

    // --- diskstats ---
    void diskStats_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("sysRoot");
        QTest::addColumn<QStringList>("reported");
        QTest::addColumn<QString>("checked");
        QTest::addColumn<QList<quint64>>("counters"); // reads, sectors read, writes, sectors written, io_ticks

        // No sys/block: the name rules decide. ram, loop, fd, sr skipped; partitions too.
        QTest::addRow("real: mixed kernels, name rules")
            << QStringLiteral("diskstats-mixed-kernels") << QStringLiteral("nosys")
            << QStringList{QStringLiteral("sda"), QStringLiteral("dm-0"), QStringLiteral("dm-1"),
                           QStringLiteral("dm-2"), QStringLiteral("dm-3"), QStringLiteral("dm-4"),
                           QStringLiteral("dm-5"), QStringLiteral("mmcblk0"), QStringLiteral("vda"),
                           QStringLiteral("nvme0n1"), QStringLiteral("sdb"), QStringLiteral("sdc")}
            << QStringLiteral("nvme0n1") << QList<quint64>{47114, 4643973, 1078320, 39451633, 222766};
        QTest::addRow("real: 20-field line")
            << QStringLiteral("diskstats-mixed-kernels") << QStringLiteral("nosys")
            << QStringList{QStringLiteral("sda"), QStringLiteral("dm-0"), QStringLiteral("dm-1"),
                           QStringLiteral("dm-2"), QStringLiteral("dm-3"), QStringLiteral("dm-4"),
                           QStringLiteral("dm-5"), QStringLiteral("mmcblk0"), QStringLiteral("vda"),
                           QStringLiteral("nvme0n1"), QStringLiteral("sdb"), QStringLiteral("sdc")}
            << QStringLiteral("sdc") << QList<quint64>{126552, 1657779, 11822, 172905, 10730};
        QTest::addRow("laptop: NVMe, USB stick, loop, zram")
            << QStringLiteral("laptop/proc/diskstats") << QStringLiteral("laptop/sys")
            << QStringList{QStringLiteral("nvme0n1"), QStringLiteral("sda")}
            << QStringLiteral("nvme0n1") << QList<quint64>{221543, 14250342, 301245, 25012336, 192340};
        QTest::addRow("md RAID")
            << QStringLiteral("mdraid/proc/diskstats") << QStringLiteral("mdraid/sys")
            << QStringList{QStringLiteral("sda"), QStringLiteral("sdb"), QStringLiteral("md1"),
                           QStringLiteral("md0")}
            << QStringLiteral("md0") << QList<quint64>{236576, 19551813, 246903, 19876434, 0};
        QTest::addRow("LVM: dm names")
            << QStringLiteral("lvm/proc/diskstats") << QStringLiteral("lvm/sys")
            << QStringList{QStringLiteral("sda"), QStringLiteral("vg0-root"), QStringLiteral("vg0-swap_1"),
                           QStringLiteral("vg0-data"), QStringLiteral("dm-3")}
            << QStringLiteral("vg0-data") << QList<quint64>{5000, 340000, 11000, 765392, 5000};
    }
    void diskStats()
    {
        QFETCH(QString, file);
        QFETCH(QString, sysRoot);
        QFETCH(QStringList, reported);
        QFETCH(QString, checked);
        QFETCH(QList<quint64>, counters);

        DiskStats disks(QString(), devices(sysRoot));
        DeviceTables out;
        disks.update(readDevices(file), 1000, out);
        QVERIFY2(out.disks.empty(), "the first read is a baseline");
        QStringList names;
        bool found = false;
        for (const DiskStats::Disk &d : disks.disks()) {
            if (!d.reported)
                continue;
            names << d.name;
            if (d.name == checked) {
                QCOMPARE(countersOf(d.counters), counters);
                found = true;
            }
        }
        QCOMPARE(names, reported);
        QVERIFY(found);

        // Through the file, the same.
        if (file.endsWith(u"/diskstats")) {
            DiskStats fromFile(devices(file.chopped(10)), devices(sysRoot));
            QVERIFY(fromFile.collect(1000, out));
            QCOMPARE(fromFile.disks().size(), disks.disks().size());
        }
    }

    void diskNames_data()
    {
        QTest::addColumn<QByteArray>("name");
        QTest::addColumn<bool>("skipped");
        QTest::addColumn<bool>("wholeByName");
        const auto row = [](const char *name, bool skipped, bool whole) {
            QTest::addRow("%s", name) << QByteArray(name) << skipped << whole;
        };
        row("sda", false, true);
        row("sdaa", false, true);
        row("sda1", false, false);
        row("vda", false, true);
        row("vda2", false, false);
        row("xvdf", false, true);
        row("xvdf1", false, false);
        row("hdc", false, true);
        row("nvme0n1", false, true);
        row("nvme10n12", false, true);
        row("nvme0n1p1", false, false);
        row("nvme0c0n1", false, false);
        row("nvme0", false, false);
        row("mmcblk0", false, true);
        row("mmcblk0p1", false, false);
        row("mmcblk0boot0", false, false);
        row("md0", false, true);
        row("md127", false, true);
        row("md0p1", false, false);
        row("dm-0", false, true);
        row("dm-", false, false);
        row("loop0", true, false);
        row("loop12", true, false);
        row("ram0", true, false);
        row("zram0", true, false);
        row("fd0", true, false);
        row("sr0", true, false);
        row("loopy", false, false);
        row("sd", false, false);
        row("cciss/c0d0", false, false);
    }
    void diskNames()
    {
        QFETCH(QByteArray, name);
        QFETCH(bool, skipped);
        QFETCH(bool, wholeByName);
        QCOMPARE(DiskStats::isSkippedName(name), skipped);
        QCOMPARE(DiskStats::looksLikeWholeDisk(name), wholeByName);
    }

    void diskSysfsNames()
    {
        // A '/' in a kernel name is '!' in sysfs; a partition is not at the top of block/.
        QTemporaryDir sys;
        testdata::writeFile(sys.filePath(QStringLiteral("block/cciss!c0d0/dev")), "104:0\n");
        testdata::writeFile(sys.filePath(QStringLiteral("block/dm-7/dm/name")), "cryptdata\n");
        testdata::writeFile(sys.filePath(QStringLiteral("block/loop3/dev")), "7:3\n");
        DiskStats disks(QString(), sys.path());
        DeviceTables out;
        disks.update(" 104 0 cciss/c0d0 1 0 2 0 3 0 4 0 0 5 0\n"
                     " 104 1 cciss/c0d0p1 1 0 2 0 3 0 4 0 0 5 0\n"
                     " 253 7 dm-7 1 0 2 0 3 0 4 0 0 5 0\n"
                     "   7 3 loop3 1 0 2 0 3 0 4 0 0 5 0\n"
                     "   8 0 sdq 1 0 2 0 3 0 4 0 0 5 0\n",
                     0, out);
        QStringList names;
        for (const DiskStats::Disk &d : disks.disks()) {
            if (d.reported)
                names << d.name;
        }
        // sdq looks like a disk but has no sysfs entry: sysfs decides when it is there.
        QCOMPARE(names, (QStringList{QStringLiteral("cciss/c0d0"), QStringLiteral("cryptdata")}));
    }

    void diskMalformed()
    {
        DiskStats disks(QString(), devices(QStringLiteral("nosys")));
        DeviceTables out;
        disks.update("   8 0 sda 1 0 2 0 3 0 4 0 0 5 0\n"
                     "   8 16 sdb 1 0 x 0 3 0 4 0 0 5 0\n"    // not a number
                     "   8 32 sdc 1 2 3 4\n"                 // 2.6 partition format
                     "   8 48 sdd 1 0 2 0 3 0 4 0 0 5\n"     // 10 statistics
                     "\n"
                     "   8 64 sde -1 0 2 0 3 0 4 0 0 5 0\n"
                     "   8 0 sda 9 0 2 0 3 0 4 0 0 5 0\n"     // listed twice: the later line wins
                     "   8 80 sdf 1 0 2 0 3 0 4 0 0 5 0",    // no trailing newline
                     0, out);
        QStringList names;
        for (const DiskStats::Disk &d : disks.disks())
            names << d.name;
        QCOMPARE(names, (QStringList{QStringLiteral("sda"), QStringLiteral("sdf")}));
        QCOMPARE(disks.disks()[0].counters[DiskStats::Reads], quint64(9));
    }

    void diskDeltas_data()
    {
        QTest::addColumn<QStringList>("files");
        QTest::addColumn<QList<qint64>>("times");
        QTest::addColumn<QStringList>("expected"); // of the last read

        const auto d = [](const char *name) -> QString { return QStringLiteral("deltas/") + QLatin1StringView(name); };
        QTest::addRow("first read: baseline only") << QStringList{d("diskstats-a")} << QList<qint64>{10000}
                                                   << QStringList{};
        // sdb vanished, nvme0n1 is new (baseline), sda1 is a partition.
        QTest::addRow("a to b")
            << QStringList{d("diskstats-a"), d("diskstats-b")} << QList<qint64>{10000, 15000}
            << QStringList{QStringLiteral("sda 5000 4096000 51200000 100 500 2000"),
                           QStringLiteral("dm-0 5000 4096000 51200000 100 500 2000")};
        // sda's io_ticks advance 1500 ms in 1000 ms: busy is clamped.
        QTest::addRow("b to c: busy clamped, new disk measured")
            << QStringList{d("diskstats-a"), d("diskstats-b"), d("diskstats-c")}
            << QList<qint64>{10000, 15000, 16000}
            << QStringList{QStringLiteral("sda 1000 4096 4096 1 1 1000"),
                           QStringLiteral("dm-0 1000 4096 4096 1 1 500"),
                           QStringLiteral("nvme0n1 1000 40960 0 10 0 1")};
        // 32-bit kernel: all counters wrap; 64-bit kernel: io_ticks alone wraps.
        QTest::addRow("32-bit wrap")
            << QStringList{d("diskstats-wrap-a"), d("diskstats-wrap-b")} << QList<qint64>{0, 5000}
            << QStringList{QStringLiteral("sda 5000 515072 100352 496 1592 1000"),
                           QStringLiteral("vda 5000 512000 1024000 100 200 796")};
        QTest::addRow("reset: no figures") << QStringList{d("diskstats-reset-a"), d("diskstats-reset-b")}
                                           << QList<qint64>{0, 5000} << QStringList{};
        QTest::addRow("after a reset: from the new baseline")
            << QStringList{d("diskstats-reset-a"), d("diskstats-reset-b"), d("diskstats-reset-c")}
            << QList<qint64>{0, 5000, 7000}
            << QStringList{QStringLiteral("sdc 2000 40960 20480 10 5 20"),
                           QStringLiteral("vdb 2000 512000 512000 100 100 100")};
        QTest::addRow("clock went back: new baseline")
            << QStringList{d("diskstats-a"), d("diskstats-b")} << QList<qint64>{10000, 9000} << QStringList{};
        QTest::addRow("then measured from there")
            << QStringList{d("diskstats-a"), d("diskstats-b"), d("diskstats-c")}
            << QList<qint64>{10000, 9000, 10000}
            << QStringList{QStringLiteral("sda 1000 4096 4096 1 1 1000"),
                           QStringLiteral("dm-0 1000 4096 4096 1 1 500"),
                           QStringLiteral("nvme0n1 1000 40960 0 10 0 1")};
        QTest::addRow("same millisecond") << QStringList{d("diskstats-a"), d("diskstats-b")}
                                          << QList<qint64>{10000, 10000} << QStringList{};
    }
    void diskDeltas()
    {
        QFETCH(QStringList, files);
        QFETCH(QList<qint64>, times);
        QFETCH(QStringList, expected);
        DiskStats disks(QString(), devices(QStringLiteral("nosys")));
        DeviceTables out;
        for (qsizetype i = 0; i < files.size(); ++i) {
            out.clear();
            disks.update(readDevices(files[i]), times[i], out);
        }
        QCOMPARE(diskRows(out), expected);
        for (const DiskIo &io : out.disks)
            QVERIFY(io.busyMs <= io.intervalMs);
    }

    void diskResetForgets()
    {
        DiskStats disks(QString(), devices(QStringLiteral("nosys")));
        DeviceTables out;
        disks.update(readDevices(QStringLiteral("deltas/diskstats-a")), 0, out);
        disks.reset();
        QVERIFY(disks.disks().empty());
        disks.update(readDevices(QStringLiteral("deltas/diskstats-b")), 5000, out);
        QVERIFY(out.disks.empty());
    }

    // --- net/dev ---
    void netDev_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<bool>("includeVirtual");
        QTest::addColumn<QStringList>("reported");
        QTest::addColumn<QString>("checked");
        // rx bytes, packets, errors, drops; tx bytes, packets, errors, drops
        QTest::addColumn<QList<quint64>>("counters");

        const QList<quint64> eth0{68210035552, 520993275, 0, 0, 9315587528, 43451486, 0, 0};
        QTest::addRow("real: colon in a name, no space after colon")
            << QStringLiteral("net-dev-containers-and-colon-name") << false
            << QStringList{QStringLiteral("tun0"), QStringLiteral("eth0"), QStringLiteral("lxcbr0"),
                           QStringLiteral("wlan0"), QStringLiteral("docker0"), QStringLiteral("ibr10:30")}
            << QStringLiteral("eth0") << eth0;
        QTest::addRow("real: with lo and veth")
            << QStringLiteral("net-dev-containers-and-colon-name") << true
            << QStringList{QStringLiteral("tun0"), QStringLiteral("veth4B09XN"), QStringLiteral("lo"),
                           QStringLiteral("eth0"), QStringLiteral("lxcbr0"), QStringLiteral("wlan0"),
                           QStringLiteral("docker0"), QStringLiteral("ibr10:30")}
            << QStringLiteral("lo") << QList<quint64>{435303245, 1832522, 0, 0, 435303245, 1832522, 0, 0};
        QTest::addRow("docker host: veths hidden")
            << QStringLiteral("dockerhost/proc/net/dev") << false
            << QStringList{QStringLiteral("enp3s0"), QStringLiteral("docker0"),
                           QStringLiteral("br-4e5f6a7b8c9d"), QStringLiteral("wg0")}
            << QStringLiteral("wg0") << QList<quint64>{12345678, 45678, 3, 1, 2345678, 34567, 0, 5};
        QTest::addRow("docker host: veths shown")
            << QStringLiteral("dockerhost/proc/net/dev") << true
            << QStringList{QStringLiteral("lo"), QStringLiteral("enp3s0"), QStringLiteral("docker0"),
                           QStringLiteral("veth1a2b3c4"), QStringLiteral("br-4e5f6a7b8c9d"),
                           QStringLiteral("veth9f8e7d6"), QStringLiteral("vethd00d0d0"), QStringLiteral("wg0")}
            << QStringLiteral("enp3s0") << QList<quint64>{48291736512, 38123456, 0, 17, 3923847561, 21234567, 2, 0};
        QTest::addRow("container") << QStringLiteral("container/proc/net/dev") << false
                                   << QStringList{QStringLiteral("eth0")} << QStringLiteral("eth0")
                                   << QList<quint64>{18342731, 13120, 0, 0, 998812, 9120, 0, 0};
        QTest::addRow("laptop: Wi-Fi drops, a down USB NIC")
            << QStringLiteral("laptop/proc/net/dev") << false
            << QStringList{QStringLiteral("wlp0s20f3"), QStringLiteral("enxa0cec8123456")}
            << QStringLiteral("wlp0s20f3") << QList<quint64>{9123456789, 7123456, 0, 1234, 987654321, 2345678, 0, 0};
    }
    void netDev()
    {
        QFETCH(QString, file);
        QFETCH(bool, includeVirtual);
        QFETCH(QStringList, reported);
        QFETCH(QString, checked);
        QFETCH(QList<quint64>, counters);

        NetDev net;
        net.setIncludeVirtual(includeVirtual);
        DeviceTables out;
        net.update(readDevices(file), 1000, out);
        QVERIFY2(out.networks.empty(), "the first read is a baseline");
        QStringList names;
        bool found = false;
        for (const NetDev::Interface &i : net.interfaces()) {
            if (!i.reported)
                continue;
            names << i.name;
            if (i.name == checked) {
                QCOMPARE(countersOf(i.counters), counters);
                found = true;
            }
        }
        QCOMPARE(names, reported);
        QVERIFY(found);
    }

    void netDevMalformed()
    {
        NetDev net;
        DeviceTables out;
        net.update("Inter-|   Receive |  Transmit\n"
                   " face |bytes packets|bytes packets\n"
                   "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                   "  eth1: 1 2 x 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                   "  eth2: 1 2 3 4 5 6 7 8 9 10 11\n"
                   "     : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                   "  eth3: 1 2 3 4 5 6 7 8 9 10 11 12", // old kernel: 12 counters, no newline
                   0, out);
        QStringList names;
        for (const NetDev::Interface &i : net.interfaces())
            names << i.name;
        QCOMPARE(names, (QStringList{QStringLiteral("eth0"), QStringLiteral("eth3")}));
        QCOMPARE(countersOf(net.interfaces()[0].counters), (QList<quint64>{1, 2, 3, 4, 9, 10, 11, 12}));
    }

    void netDeltas_data()
    {
        QTest::addColumn<QStringList>("files");
        QTest::addColumn<bool>("includeVirtual");
        QTest::addColumn<QStringList>("expected");
        const auto d = [](const char *name) -> QString { return QStringLiteral("deltas/") + QLatin1StringView(name); };
        QTest::addRow("first read") << QStringList{d("netdev-a")} << true << QStringList{};
        // wlan0 vanished, wg0 is new (baseline); errors and drops are deltas too.
        QTest::addRow("a to b")
            << QStringList{d("netdev-a"), d("netdev-b")} << false
            << QStringList{QStringLiteral("eth0 2000 1250000 500000 1000 400 1 1 3 4")};
        QTest::addRow("a to b with lo and veth")
            << QStringList{d("netdev-a"), d("netdev-b")} << true
            << QStringList{QStringLiteral("lo 2000 50000 50000 500 500 0 0 0 0"),
                           QStringLiteral("eth0 2000 1250000 500000 1000 400 1 1 3 4"),
                           QStringLiteral("veth0a1b2c3 2000 2000 4000 20 40 0 0 0 0")};
        QTest::addRow("32-bit wrap") << QStringList{d("netdev-wrap-a"), d("netdev-wrap-b")} << false
                                     << QStringList{QStringLiteral("eth0 2000 1296 1704 16 4 0 0 0 0")};
        QTest::addRow("reset: re-created tun0 has no figures")
            << QStringList{d("netdev-reset-a"), d("netdev-reset-b")} << false
            << QStringList{QStringLiteral("eth0 2000 1000 100 10 1 0 0 0 0")};
    }
    void netDeltas()
    {
        QFETCH(QStringList, files);
        QFETCH(bool, includeVirtual);
        QFETCH(QStringList, expected);
        NetDev net;
        net.setIncludeVirtual(includeVirtual);
        DeviceTables out;
        for (qsizetype i = 0; i < files.size(); ++i) {
            out.clear();
            net.update(readDevices(files[i]), 1000 + 2000 * i, out);
        }
        QCOMPARE(networkRows(out), expected);
    }

    void netIncludeVirtualForgets()
    {
        NetDev net;
        DeviceTables out;
        net.update(readDevices(QStringLiteral("deltas/netdev-a")), 0, out);
        net.setIncludeVirtual(true);
        QVERIFY(net.interfaces().empty());
        net.update(readDevices(QStringLiteral("deltas/netdev-b")), 2000, out);
        QVERIFY(out.networks.empty());
        QVERIFY(NetDev::isVirtualName("lo"));
        QVERIFY(NetDev::isVirtualName("veth0"));
        QVERIFY(!NetDev::isVirtualName("lo0"));
        QVERIFY(!NetDev::isVirtualName("eth0"));
    }

    // --- temperatures ---
    void temperatures_data()
    {
        QTest::addColumn<QString>("sysRoot");
        QTest::addColumn<bool>("thermalZones");
        QTest::addColumn<QStringList>("expected");

        // acpitz temp2 (1000001) is out of range; thinkpad and BAT0 have no temperature; two
        // chips are named nvme; coretemp's temp10 comes after temp6.
        QTest::addRow("laptop: many hwmon chips")
            << QStringLiteral("laptop/sys") << false
            << QStringList{QStringLiteral("acpitz/temp1|52000|128000"),
                           QStringLiteral("nvme@hwmon2/Composite|41850|86850"),
                           QStringLiteral("nvme@hwmon2/Sensor 1|41850|-"),
                           QStringLiteral("nvme@hwmon2/Sensor 2|45850|-"),
                           QStringLiteral("coretemp/Package id 0|58000|100000"),
                           QStringLiteral("coretemp/Core 0|55000|100000"),
                           QStringLiteral("coretemp/Core 4|57000|100000"),
                           QStringLiteral("coretemp/Core 8|54000|100000"),
                           QStringLiteral("iwlwifi_1/temp1|44000|-"),
                           QStringLiteral("amdgpu/edge|49000|100000"),
                           QStringLiteral("nvme@hwmon7/Composite|38850|84850")};
        QTest::addRow("no hwmon: thermal zones")
            << QStringLiteral("nohwmon/sys") << true
            << QStringList{QStringLiteral("thermal/cpu-thermal|48312|110000"),
                           QStringLiteral("thermal/gpu-thermal|47800|105000"),
                           QStringLiteral("thermal/battery|30500|-"),
                           QStringLiteral("thermal/ddr-thermal|41000|-")};
        QTest::addRow("neither") << QStringLiteral("nosensors/sys") << false << QStringList{};
        QTest::addRow("no sys at all") << QStringLiteral("nosys") << false << QStringList{};
    }
    void temperatures()
    {
        QFETCH(QString, sysRoot);
        QFETCH(bool, thermalZones);
        QFETCH(QStringList, expected);
        Hwmon hwmon(devices(sysRoot));
        DeviceTables out;
        hwmon.collect(0, out);
        QCOMPARE(temperatureRows(out), expected);
        QCOMPARE(hwmon.usesThermalZones(), thermalZones);
        for (const Temperature &t : out.temperatures)
            QCOMPARE(t.sample, 0u);
        // Again: the same readings from the files kept open.
        out.clear();
        hwmon.collect(1000, out);
        QCOMPARE(temperatureRows(out), expected);
    }

    void temperatureOddTrees()
    {
        QTemporaryDir sys;
        const auto file = [&](const char *path, const QByteArray &text) {
            testdata::writeFile(sys.filePath(QString::fromLatin1(path)), text + '\n');
        };
        file("class/hwmon/hwmon0/device/name", "w83627hf");  // kernels before 3.x
        file("class/hwmon/hwmon0/temp1_input", "30000");
        file("class/hwmon/hwmon1/temp1_input", "31000");      // no name at all
        file("class/hwmon/hwmon2/name", "gpu");
        file("class/hwmon/hwmon2/temp1_input", "40000");
        file("class/hwmon/hwmon2/temp1_label", "edge");
        file("class/hwmon/hwmon2/temp2_input", "41000");
        file("class/hwmon/hwmon2/temp2_label", "edge");       // repeated label
        file("class/hwmon/hwmon2/temp2_crit", "0");           // unset register: no threshold
        file("class/hwmon/hwmon2/temp3_input", "not a number");
        file("class/hwmon/hwmon2/temp4_crit", "90000");       // a threshold without an input
        QDir(sys.path()).mkpath(QStringLiteral("class/hwmon/hwmon2/temp5_input")); // unreadable
        file("class/hwmon/hwmon2/temp6_input", "-5000");      // below zero is a reading
        file("class/hwmon/hwmon2/temp6_crit", "2000000");     // out of range: no threshold
        Hwmon hwmon(sys.path());
        DeviceTables out;
        hwmon.collect(0, out);
        QCOMPARE(temperatureRows(out),
                 (QStringList{QStringLiteral("w83627hf/temp1|30000|-"), QStringLiteral("hwmon1/temp1|31000|-"),
                              QStringLiteral("gpu/edge|40000|-"), QStringLiteral("gpu/temp2|41000|-"),
                              QStringLiteral("gpu/temp6|-5000|-")}));
        QCOMPARE(hwmon.sensors().size(), std::size_t(5));
    }

    void thermalZoneTypesRepeat()
    {
        QTemporaryDir sys;
        for (int i : {0, 1, 2}) {
            const QString zone = sys.filePath(QStringLiteral("class/thermal/thermal_zone%1/").arg(i));
            testdata::writeFile(zone + u"type", i < 2 ? "acpitz\n" : "pch_skylake\n");
            testdata::writeFile(zone + u"temp", QByteArray::number(27800 + i) + '\n');
        }
        Hwmon hwmon(sys.path());
        DeviceTables out;
        hwmon.collect(0, out);
        QCOMPARE(temperatureRows(out),
                 (QStringList{QStringLiteral("thermal/acpitz@thermal_zone0|27800|-"),
                              QStringLiteral("thermal/acpitz@thermal_zone1|27801|-"),
                              QStringLiteral("thermal/pch_skylake|27802|-")}));
    }

    void temperatureDiscovery()
    {
        QTemporaryDir sys;
        const QString chip = sys.filePath(QStringLiteral("class/hwmon/hwmon0/"));
        testdata::writeFile(chip + u"name", "k10temp\n");
        testdata::writeFile(chip + u"temp1_input", "45000\n");
        testdata::writeFile(chip + u"temp1_label", "Tctl\n");
        testdata::writeFile(chip + u"temp3_input", "44000\n");
        testdata::writeFile(chip + u"temp3_label", "Tccd1\n");
        Hwmon hwmon(sys.path());
        DeviceTables out;
        hwmon.collect(0, out);
        QCOMPARE(out.temperatures.size(), std::size_t(2));

        // Discovered once: a label changed later and a chip added later are not looked at...
        testdata::writeFile(chip + u"temp1_label", "Renamed\n");
        testdata::writeFile(sys.filePath(QStringLiteral("class/hwmon/hwmon1/name")), "nvme\n");
        testdata::writeFile(sys.filePath(QStringLiteral("class/hwmon/hwmon1/temp1_input")), "39000\n");
        testdata::writeFile(chip + u"temp1_input", "46000\n");
        out.clear();
        hwmon.collect(1000, out);
        QCOMPARE(temperatureRows(out),
                 (QStringList{QStringLiteral("k10temp/Tctl|46000|-"), QStringLiteral("k10temp/Tccd1|44000|-")}));

        // ...until a read fails: that sample goes ahead without it, the next one discovers.
        testdata::writeFile(chip + u"temp3_input", "");
        out.clear();
        hwmon.collect(2000, out);
        QCOMPARE(temperatureRows(out), (QStringList{QStringLiteral("k10temp/Tctl|46000|-")}));
        QFile::remove(chip + u"temp3_input");
        out.clear();
        hwmon.collect(3000, out);
        QCOMPARE(temperatureRows(out),
                 (QStringList{QStringLiteral("k10temp/Renamed|46000|-"), QStringLiteral("nvme/temp1|39000|-")}));

        // And at the latest after rediscoverIntervalMs.
        testdata::writeFile(sys.filePath(QStringLiteral("class/hwmon/hwmon2/name")), "drivetemp\n");
        testdata::writeFile(sys.filePath(QStringLiteral("class/hwmon/hwmon2/temp1_input")), "33000\n");
        out.clear();
        hwmon.collect(3000 + Hwmon::rediscoverIntervalMs - 1, out);
        QCOMPARE(out.temperatures.size(), std::size_t(2));
        out.clear();
        hwmon.collect(3000 + Hwmon::rediscoverIntervalMs, out);
        QCOMPARE(out.temperatures.size(), std::size_t(3));
    }

    // --- schedule ---
    void isDue_data()
    {
        QTest::addColumn<qint64>("now");
        QTest::addColumn<qint64>("lastRun");
        QTest::addColumn<uint>("interval");
        QTest::addColumn<uint>("sampleInterval");
        QTest::addColumn<bool>("due");
        QTest::addRow("on the interval") << qint64(15000) << qint64(10000) << 5000u << 1000u << true;
        QTest::addRow("a tick early by jitter") << qint64(14996) << qint64(10000) << 5000u << 1000u << true;
        QTest::addRow("half a tick early") << qint64(14500) << qint64(10000) << 5000u << 1000u << true;
        QTest::addRow("a tick early") << qint64(14000) << qint64(10000) << 5000u << 1000u << false;
        QTest::addRow("just under half a tick") << qint64(14499) << qint64(10000) << 5000u << 1000u << false;
        QTest::addRow("late") << qint64(17000) << qint64(10000) << 5000u << 1000u << true;
        QTest::addRow("every tick") << qint64(11000) << qint64(10000) << 1000u << 1000u << true;
        QTest::addRow("interval shorter than the tick") << qint64(11000) << qint64(10000) << 300u << 1000u << true;
        QTest::addRow("off") << qint64(99999) << qint64(0) << 0u << 1000u << false;
        QTest::addRow("clock went back") << qint64(5000) << qint64(10000) << 60000u << 1000u << true;
    }
    void isDue()
    {
        QFETCH(qint64, now);
        QFETCH(qint64, lastRun);
        QFETCH(uint, interval);
        QFETCH(uint, sampleInterval);
        QFETCH(bool, due);
        QCOMPARE(DeviceCollectors::isDue(now, lastRun, interval, sampleInterval), due);
    }

    void schedule()
    {
        DeviceCollectors collectors(devices(QStringLiteral("laptop/proc")), devices(QStringLiteral("laptop/sys")),
                                    anyPath);
        AgentConfig config;
        config.sampleIntervalMs = 1000;
        config.filesystemsIntervalMs = 3000;
        config.disksIntervalMs = 2000;
        config.networkIntervalMs = 1000;
        config.temperaturesIntervalMs = 0;
        using C = DeviceCollectors::Collector;
        DeviceTables out;
        QStringList ran;
        // Ticks with a few milliseconds of jitter either way.
        const qint64 ticks[] = {0, 1003, 1998, 3001, 3999, 4997, 6002};
        for (qint64 t : ticks) {
            const DeviceCollectors::Collectors r = collectors.collect(t, config, out);
            QString s;
            s += r.testFlag(C::Filesystems) ? u'F' : u'-';
            s += r.testFlag(C::Disks) ? u'D' : u'-';
            s += r.testFlag(C::Network) ? u'N' : u'-';
            s += r.testFlag(C::Temperatures) ? u'T' : u'-';
            ran << s;
            // What ran, and only that, is in the tables (the first disk and network reads are
            // baselines).
            QCOMPARE(!out.filesystems.empty(), r.testFlag(C::Filesystems));
            QCOMPARE(!out.disks.empty(), r.testFlag(C::Disks) && t > 0);
            QCOMPARE(!out.networks.empty(), r.testFlag(C::Network) && t > 0);
            QVERIFY(out.temperatures.empty());
        }
        QCOMPARE(ran, (QStringList{QStringLiteral("FDN-"), QStringLiteral("--N-"), QStringLiteral("-DN-"),
                                   QStringLiteral("F-N-"), QStringLiteral("-DN-"), QStringLiteral("--N-"),
                                   QStringLiteral("FDN-")}));
        // Disk intervals are the time since the disks' previous read.
        collectors.collect(8000, config, out);
        QCOMPARE(out.disks.size(), std::size_t(2));
        QCOMPARE(out.disks[0].intervalMs, 8000u - 6002u);
    }

    void offForgetsBaseline()
    {
        DeviceCollectors collectors(devices(QStringLiteral("laptop/proc")), devices(QStringLiteral("laptop/sys")),
                                    anyPath);
        AgentConfig config;
        config.sampleIntervalMs = 1000;
        config.filesystemsIntervalMs = 0;
        config.networkIntervalMs = 0;
        config.temperaturesIntervalMs = 1000;
        config.disksIntervalMs = 1000;
        DeviceTables out;
        collectors.collect(0, config, out);
        QVERIFY(out.disks.empty());
        QCOMPARE(out.temperatures.size(), std::size_t(11));
        collectors.collect(1000, config, out);
        QCOMPARE(out.disks.size(), std::size_t(2));
        QCOMPARE(out.disks[0].intervalMs, 1000u);

        config.disksIntervalMs = 0;
        config.temperaturesIntervalMs = 0;
        QCOMPARE(collectors.collect(2000, config, out).toInt(), 0);
        QVERIFY2(out.empty() && out.names.empty(), "cleared even when nothing ran");
        QVERIFY(collectors.disks().disks().empty());
        QVERIFY(collectors.temperatures().sensors().empty());

        // On again: runs at once, as a fresh start — a baseline, not a delta across the gap.
        config.disksIntervalMs = 5000;
        QCOMPARE(collectors.collect(3000, config, out).toInt(), int(DeviceCollectors::Collector::Disks));
        QVERIFY(out.disks.empty());
        QCOMPARE(collectors.collect(4000, config, out).toInt(), 0);
        collectors.collect(8000, config, out);
        QCOMPARE(out.disks.size(), std::size_t(2));
        QCOMPARE(out.disks[0].intervalMs, 5000u);
    }

    void failingCollectorsWarnOnce()
    {
        // No proc/ at all: filesystems, disks and network fail; temperatures find nothing.
        DeviceCollectors collectors(devices(QStringLiteral("nosensors/proc")), devices(QStringLiteral("nosensors/sys")),
                                    anyPath);
        AgentConfig config;
        config.filesystemsIntervalMs = config.disksIntervalMs = config.networkIntervalMs =
                config.temperaturesIntervalMs = 1000;
        DeviceTables out;
        out.nameIndex(QStringLiteral("stale"));
        for (const char *what : {"filesystems", "disks", "network"})
            QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QLatin1StringView(what) + u" collector failed"));
        QCOMPARE(collectors.collect(0, config, out).toInt(), 0xf);
        QVERIFY(out.empty() && out.names.empty());
        QTest::failOnWarning(QRegularExpression(QStringLiteral("collector failed")));
        QCOMPARE(collectors.collect(1000, config, out).toInt(), 0xf);
    }

    void linuxSamplerDelegates()
    {
        LinuxSampler sampler(devices(QStringLiteral("laptop/proc")), devices(QStringLiteral("laptop/sys")));
        AgentConfig config;
        DeviceTables out;
        sampler.collectDevices(0, config, out);
        QCOMPARE(out.temperatures.size(), std::size_t(11));
        QVERIFY(out.disks.empty());
        config.disksIntervalMs = 5000;
        sampler.collectDevices(5000, config, out);
        QCOMPARE(out.disks.size(), std::size_t(2));
        QVERIFY(out.temperatures.empty()); // 30 s by default
        // Filesystems: the laptop's mount points through the real statvfs(): "/" exists here.
        sampler.collectDevices(60000, config, out);
        QCOMPARE(out.filesystems.size() >= 1 ? out.names[out.filesystems[0].device] : QString(),
                 QStringLiteral("/"));
    }

    // --- this machine ---
    void steadyStateDoesNotAllocate()
    {
#if !AUTOFACT_COUNT_ALLOCATIONS
        QSKIP("allocations are counted only with glibc and without AddressSanitizer");
#else
        LinuxSampler sampler;
        AgentConfig config;
        config.sampleIntervalMs = 1000;
        config.filesystemsIntervalMs = config.disksIntervalMs = config.networkIntervalMs =
                config.temperaturesIntervalMs = 1000;
        Sample sample;
        std::vector<float> cores;
        cores.reserve(1024);
        DeviceTables out;
        std::int64_t now = 0;
        const auto tick = [&] {
            cores.clear();
            if (!sampler.sample(now, sample, cores))
                return false;
            sampler.collectDevices(now, config, out);
            now += 1000;
            return true;
        };
        // The counter sees Qt's allocations (or this test would pass for nothing).
        t_allocations = 0;
        t_countAllocations = true;
        const QByteArray probe(100, 'x');
        t_countAllocations = false;
        QVERIFY(t_allocations > 0 && probe.size() == 100);

        // Two ticks: buffers grow and devices get their baselines.
        QVERIFY(tick());
        QVERIFY(tick());
        long allocations = 0;
        // The mount table of a shared machine can change under the test (that allocates, by
        // design): one clean round of 100 ticks out of five is the proof.
        for (int round = 0; round < 5; ++round) {
            t_allocations = 0;
            t_countAllocations = true;
            bool ok = true;
            for (int i = 0; i < 100 && ok; ++i)
                ok = tick();
            t_countAllocations = false;
            QVERIFY(ok);
            allocations = t_allocations;
            if (allocations == 0)
                break;
            qInfo() << "round" << round << "allocated" << allocations << "times; again";
        }
        QCOMPARE(allocations, 0L);
        qInfo("100 ticks of sample() + collectDevices() (all four due): 0 allocations; %zu filesystems, "
              "%zu disks, %zu interfaces, %zu temperatures per tick",
              out.filesystems.size(), out.disks.size(), out.networks.size(), out.temperatures.size());
#endif
    }

    void filesystemsMatchDf()
    {
        if (!QFileInfo::exists(QStringLiteral("/proc/self/mountinfo")))
            QSKIP("no /proc/self/mountinfo");
        QString error;
        // Used bytes change whenever anything writes: compare only a read of the collector,
        // df and the collector again that agree on both sides.
        for (int attempt = 1; attempt <= 10; ++attempt) {
            const std::map<QString, quint64> before = collectorUsed();
            const std::map<QString, quint64> df = dfUsed(&error);
            const std::map<QString, quint64> after = collectorUsed();
            if (df.empty())
                QSKIP(qPrintable(error));
            QVERIFY(!before.empty());
            if (before != after) {
                qInfo() << "attempt" << attempt << ": a filesystem changed between the reads; again";
                continue;
            }
            QStringList compared, differing;
            for (const auto &[mount, used] : before) {
                const auto it = df.find(mount);
                if (it == df.end())
                    continue;
                compared << mount;
                if (it->second != used)
                    differing << QStringLiteral("%1: collector %2, df %3").arg(mount).arg(used).arg(it->second);
                else
                    qInfo("%s: used %llu bytes, df -B1 says %llu", qPrintable(mount), used, it->second);
            }
            if (!differing.isEmpty()) {
                qInfo() << "attempt" << attempt << "differs:" << differing;
                if (attempt < 10)
                    continue;
                QFAIL(qPrintable(differing.join(u"; ")));
            }
            QVERIFY2(compared.contains(QStringLiteral("/")), qPrintable(compared.join(u", ")));
            qInfo() << "equal to df -B1 for" << compared << "on attempt" << attempt;
            return;
        }
        QFAIL("the filesystems kept changing for 10 attempts");
    }

    void loopbackMatchesProcNetDev()
    {
        const std::optional<LoCounters> probe = readLo();
        if (!probe)
            QSKIP("no lo line in /proc/net/dev");

        QTcpServer server;
        QVERIFY(server.listen(QHostAddress::LocalHost, 0));
        QTcpSocket client;
        QTcpSocket *peer = nullptr;
        qint64 received = 0;
        connect(&server, &QTcpServer::newConnection, this, [&] {
            peer = server.nextPendingConnection();
            connect(peer, &QTcpSocket::readyRead, peer, [&] { received += peer->readAll().size(); });
        });
        client.connectToHost(QHostAddress::LocalHost, server.serverPort());
        QVERIFY(client.waitForConnected(5000));
        QTRY_VERIFY(peer != nullptr);

        NetDev net;
        net.setIncludeVirtual(true);
        DeviceTables out;
        QElapsedTimer clock;
        clock.start();
        // Baseline: the collector's read and the independent one back to back.
        QVERIFY(net.collect(1, out));
        const std::optional<LoCounters> start = readLo();
        QVERIFY(start);

        // 64 MiB in 64 KiB writes every 10 ms: a paced load over a window of about 10 s.
        constexpr qint64 chunk = 64 * 1024;
        constexpr qint64 total = 64ll * 1024 * 1024;
        const QByteArray payload(chunk, 'x');
        qint64 sent = 0;
        QTimer pace;
        pace.setInterval(10);
        connect(&pace, &QTimer::timeout, this, [&] {
            if (sent >= total) {
                pace.stop();
                return;
            }
            client.write(payload);
            sent += chunk;
        });
        pace.start();
        QTRY_COMPARE_WITH_TIMEOUT(received, total, 120000);

        const std::int64_t nowMs = 1 + std::max<qint64>(1, clock.elapsed());
        QVERIFY(net.collect(nowMs, out));
        const std::optional<LoCounters> end = readLo();
        QVERIFY(end);

        const NetworkIo *lo = nullptr;
        for (const NetworkIo &n : out.networks) {
            if (out.names[n.device] == u"lo")
                lo = &n;
        }
        QVERIFY(lo);
        const double independentRx = double(end->rx - start->rx);
        const double independentTx = double(end->tx - start->tx);
        const double rxError = 100.0 * std::abs(double(lo->rxBytes) - independentRx) / independentRx;
        const double txError = 100.0 * std::abs(double(lo->txBytes) - independentTx) / independentTx;
        qInfo("lo over %u ms, %lld payload bytes: collector rx %llu tx %llu, /proc/net/dev delta rx %.0f "
              "tx %.0f; difference rx %.4f %% tx %.4f %%",
              lo->intervalMs, total, quint64(lo->rxBytes), quint64(lo->txBytes), independentRx,
              independentTx, rxError, txError);
        QVERIFY(lo->rxBytes >= quint64(total));
        QVERIFY2(rxError <= 1.0, qPrintable(QString::number(rxError)));
        QVERIFY2(txError <= 1.0, qPrintable(QString::number(txError)));
    }

    void diskWritesMatchProcDiskstats()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        struct stat st {};
        QVERIFY(::stat(QFile::encodeName(dir.path()).constData(), &st) == 0);
        const unsigned devMajor = major(st.st_dev), devMinor = minor(st.st_dev);
        QByteArray kernelName = diskstatsName(devMajor, devMinor);
        if (kernelName.isEmpty())
            QSKIP(qPrintable(QStringLiteral("%1 is on device %2:%3, which is no block device in "
                                            "/proc/diskstats (container, overlay, tmpfs or btrfs)")
                                     .arg(dir.path()).arg(devMajor).arg(devMinor)));
        // A partition: its whole disk is the parent directory in sysfs.
        const QString sysDev = QStringLiteral("/sys/dev/block/%1:%2").arg(devMajor).arg(devMinor);
        if (QFileInfo::exists(sysDev + u"/partition"))
            kernelName = QFile::encodeName(QFileInfo(QFileInfo(sysDev).canonicalFilePath()).dir().dirName());
        QString collectorName = QString::fromUtf8(kernelName);
        if (kernelName.startsWith("dm-")) {
            QFile dmName(u"/sys/block/" + collectorName + u"/dm/name");
            if (dmName.open(QIODevice::ReadOnly))
                collectorName = QString::fromUtf8(dmName.readAll().trimmed());
        }

        DiskStats disks;
        DeviceTables out;
        QElapsedTimer clock;
        clock.start();
        QVERIFY(disks.collect(1, out));
        const std::optional<quint64> start = readSectorsWritten(kernelName);
        QVERIFY(start);

        QProcess dd;
        dd.start(QStringLiteral("dd"), {QStringLiteral("if=/dev/zero"), u"of=" + dir.filePath(QStringLiteral("dd.out")),
                                        QStringLiteral("bs=1M"), QStringLiteral("count=64"),
                                        QStringLiteral("oflag=direct")});
        if (!dd.waitForStarted(5000))
            QSKIP("dd is not available");
        QVERIFY(dd.waitForFinished(120000));
        if (dd.exitStatus() != QProcess::NormalExit || dd.exitCode() != 0)
            QSKIP(qPrintable(u"dd oflag=direct is not supported in " + dir.path() + u": "
                             + QString::fromLocal8Bit(dd.readAllStandardError()).trimmed()));

        const std::int64_t nowMs = 1 + std::max<qint64>(1, clock.elapsed());
        QVERIFY(disks.collect(nowMs, out));
        const std::optional<quint64> end = readSectorsWritten(kernelName);
        QVERIFY(end);

        const DiskIo *io = nullptr;
        for (const DiskIo &d : out.disks) {
            if (out.names[d.device] == collectorName)
                io = &d;
        }
        QVERIFY2(io, qPrintable(u"no entry for " + collectorName));
        const double independent = double(*end - *start) * 512;
        const double error = 100.0 * std::abs(double(io->writeBytes) - independent) / independent;
        qInfo("%s (%s) over %u ms with dd bs=1M count=64 oflag=direct: collector wrote %llu bytes, "
              "/proc/diskstats delta %.0f bytes; difference %.4f %%; busy %u ms",
              qPrintable(collectorName), kernelName.constData(), io->intervalMs, quint64(io->writeBytes),
              independent, error, io->busyMs);
        QVERIFY(io->writeBytes >= 64ull * 1024 * 1024);
        QVERIFY2(error <= 2.0, qPrintable(QString::number(error)));
    }
};

QTEST_GUILESS_MAIN(TestDeviceCollectors)
#include "tst_devicecollectors.moc"
