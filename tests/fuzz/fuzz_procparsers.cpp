// SPDX-License-Identifier: MIT
// libFuzzer target: the agent's /proc parsers (stat, meminfo, loadavg, diskstats, net/dev,
// mountinfo) on arbitrary bytes.
// Each parser gets every input: their corpora overlap, and a file of one kind is odd input for
// the others. The parsers are reused across inputs, as the agent reuses them across reads.
#include "fuzzsupport.h"
#include "codec.h"
#include "sampling/diskstats.h"
#include "sampling/loadavg.h"
#include "sampling/mountinfo.h"
#include "sampling/netdev.h"
#include "sampling/meminfo.h"
#include "sampling/procstat.h"

#include <cmath>
#include <cstddef>
#include <cstdint>

using namespace autofact;
using namespace autofact::agent;

namespace {

void procStat(QByteArrayView text)
{
    static ProcStat parser(QStringLiteral("/nonexistent"));
    QString error;
    if (!parser.parse(text, &error)) {
        fuzz::require(!error.isEmpty(), "stat: a failure has a reason");
        return;
    }
    fuzz::require(parser.total().presentFields >= 4, "stat: the cpu line has 4 columns or more");
    for (const CoreCounters &core : parser.cores())
        fuzz::require(core.index >= 0, "stat: core numbers are not negative");
}

void memInfo(QByteArrayView text)
{
    static MemInfo parser(QStringLiteral("/nonexistent"));
    QString error;
    if (!parser.parse(text, &error)) {
        fuzz::require(!error.isEmpty(), "meminfo: a failure has a reason");
        return;
    }
    const Memory m = parser.memory();
    fuzz::require(m.total > 0, "meminfo: MemTotal is required");
    fuzz::require(m.free <= m.total && m.available <= m.total && m.used <= m.total,
                  "meminfo: free, available and used are clamped to total");
    fuzz::require(m.swapFree <= m.swapTotal, "meminfo: swap free is clamped to swap total");
}

void loadAvg(QByteArrayView text)
{
    static LoadAvg parser(QStringLiteral("/nonexistent"));
    QString error;
    if (!parser.parse(text, &error)) {
        fuzz::require(!error.isEmpty(), "loadavg: a failure has a reason");
        return;
    }
    for (float load : {parser.load1(), parser.load5(), parser.load15()})
        fuzz::require(std::isfinite(load) && load >= 0, "loadavg: loads are finite and >= 0");
}

/**
 * What the device parsers produce, after the agent's DeviceTables::dropInvalid() (a file can
 * name an interface twice, or hold nonsense), is what the codec accepts: the server takes it.
 */
void deviceTables(const DeviceTables &out)
{
    SampleBatch batch;
    batch.sequence = 1;
    batch.samples.resize(1);
    batch.samples[0].timestampMs = 1'700'000'000'000;
    batch.devices = out;
    batch.devices.dropInvalid();
    fuzz::require(codec::validate(Message(batch)).isEmpty(), "device parsers: readings pass the codec's checks");
}

void diskStats(QByteArrayView text)
{
    // Twice, one second apart: the second read yields deltas against the first.
    static DiskStats parser(QStringLiteral("/nonexistent"), QStringLiteral("/nonexistent"));
    static DeviceTables out;
    static std::int64_t now = 1'700'000'000'000;
    parser.reset();
    out.clear();
    parser.update(text, now += 1000, out);
    fuzz::require(out.disks.empty(), "diskstats: a first read is only a baseline");
    parser.update(text, now += 1000, out);
    for (const DiskIo &d : out.disks)
        fuzz::require(d.readBytes == 0 && d.writeBytes == 0 && d.busyMs == 0,
                      "diskstats: the same text twice reads as no I/O");
    deviceTables(out);
}

void netDev(QByteArrayView text)
{
    static NetDev parser(QStringLiteral("/nonexistent"));
    static DeviceTables out;
    static std::int64_t now = 1'700'000'000'000;
    out.clear();
    parser.update(text, now += 1000, out);
    out.clear();
    parser.update(text, now += 1000, out);
    for (const NetworkIo &n : out.networks)
        fuzz::require(n.rxBytes == 0 && n.txBytes == 0, "net/dev: the same text twice reads as no traffic");
    deviceTables(out);
}

void mountInfo(QByteArrayView text)
{
    static MountInfo parser(QStringLiteral("/nonexistent"));
    parser.parse(text);
    for (const MountInfo::Mount &m : parser.mounts())
        fuzz::require(!m.name.isEmpty() && m.name.size() <= protocol::maxDeviceNameBytes,
                      "mountinfo: mount points are named and within the protocol's limit");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz::initQt(argc, argv);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArrayView text(reinterpret_cast<const char *>(data), qsizetype(size));
    procStat(text);
    memInfo(text);
    loadAvg(text);
    diskStats(text);
    netDev(text);
    mountInfo(text);
    return 0;
}
