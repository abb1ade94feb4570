// SPDX-License-Identifier: MIT
// platform: linux — compiled only on Linux (app-agent/sampling/CMakeLists.txt).
#include "sampling/linuxsampler.h"

#include "sampling/samplinglogging.h"

#include <QSysInfo>

#include <algorithm>
#include <charconv>
#include <string_view>

namespace autofact::agent {

namespace {

QString readTrimmed(const QString &path)
{
    ProcFile file(path);
    if (!file.read())
        return {};
    return QString::fromUtf8(file.data().trimmed());
}

// ARM Ltd. parts (implementer 0x41), from the Arm technical reference manuals' MIDR values.
std::string_view armPartName(unsigned part)
{
    switch (part) {
    case 0xc07: return "Cortex-A7";
    case 0xc09: return "Cortex-A9";
    case 0xc0f: return "Cortex-A15";
    case 0xd03: return "Cortex-A53";
    case 0xd04: return "Cortex-A35";
    case 0xd05: return "Cortex-A55";
    case 0xd07: return "Cortex-A57";
    case 0xd08: return "Cortex-A72";
    case 0xd09: return "Cortex-A73";
    case 0xd0a: return "Cortex-A75";
    case 0xd0b: return "Cortex-A76";
    case 0xd0c: return "Neoverse-N1";
    case 0xd0d: return "Cortex-A77";
    case 0xd40: return "Neoverse-V1";
    case 0xd41: return "Cortex-A78";
    case 0xd44: return "Cortex-X1";
    case 0xd46: return "Cortex-A510";
    case 0xd47: return "Cortex-A710";
    case 0xd48: return "Cortex-X2";
    case 0xd49: return "Neoverse-N2";
    case 0xd4f: return "Neoverse-V2";
    default: return {};
    }
}

unsigned parseHex(QByteArrayView text)
{
    text = text.trimmed();
    if (text.startsWith("0x") || text.startsWith("0X"))
        text = text.sliced(2);
    unsigned value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value, 16);
    return value;
}

} // namespace

LinuxSampler::LinuxSampler(const QString &procRoot, const QString &sysRoot)
    : m_procRoot(procRoot)
    , m_stat(procRoot + u"/stat")
    , m_memInfo(procRoot + u"/meminfo")
    , m_loadAvg(procRoot + u"/loadavg")
    , m_devices(procRoot, sysRoot)
{
}

void LinuxSampler::collectDevices(std::int64_t nowMs, const AgentConfig &config, DeviceTables &out)
{
    m_devices.collect(nowMs, config, out);
}

bool LinuxSampler::sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy,
                          QString *error)
{
    // Read everything before touching any state, so a failed read loses no interval.
    if (!m_stat.read(error) || !m_memInfo.read(error) || !m_loadAvg.read(error))
        return false;

    Sample s;
    s.timestampMs = nowMs;

    const CpuDeltaTracker::Result cpu = m_cpu.update(m_stat.total(), m_stat.cores(), coreBusy);
    cpu.stamp(s);
    if (cpu.totalWentBackwards)
        qCDebug(lcSampler) << "aggregate cpu counters went backwards; those columns count 0";
    if (cpu.coresAppeared || cpu.coresVanished)
        qCDebug(lcSampler) << "CPU hotplug:" << cpu.coresAppeared << "online," << cpu.coresVanished
                           << "offline";

    s.memory = m_memInfo.memory();
    s.load1 = m_loadAvg.load1();
    s.load5 = m_loadAvg.load5();
    s.load15 = m_loadAvg.load15();
    if (m_memInfo.availableEstimated())
        s.flags |= MemAvailableEstimated;

    out = s;
    return true;
}

Hello LinuxSampler::systemFacts() const
{
    Hello h = qtSystemFacts();
    // The fixture root's kernel, when there is one, so tests see what the files say.
    if (const QString kernel = readTrimmed(m_procRoot + u"/sys/kernel/osrelease"); !kernel.isEmpty())
        h.kernel = kernel;

    ProcFile cpuinfo(m_procRoot + u"/cpuinfo");
    if (cpuinfo.read())
        h.cpuModel = cpuModelFromCpuInfo(cpuinfo.data());
    if (h.cpuModel.isEmpty())
        h.cpuModel = h.arch;

    // Fresh parsers: systemFacts() is const and rare, and must not disturb the sampling baseline.
    ProcStat stat(m_procRoot + u"/stat");
    if (stat.read()) {
        h.cpuCount = std::uint16_t(std::min<std::size_t>(stat.cores().size(), UINT16_MAX));
        h.bootTimeMs = stat.bootTime() * 1000;
    }
    MemInfo memInfo(m_procRoot + u"/meminfo");
    if (memInfo.read())
        h.memTotal = memInfo.values().memTotal;
    return h;
}

QString LinuxSampler::cpuModelFromCpuInfo(QByteArrayView cpuinfo)
{
    QByteArrayView hardware, processor;
    QStringList armParts, rawParts;
    unsigned implementer = 0;

    qsizetype pos = 0;
    while (pos < cpuinfo.size()) {
        qsizetype eol = cpuinfo.indexOf('\n', pos);
        if (eol < 0)
            eol = cpuinfo.size();
        const QByteArrayView line = cpuinfo.sliced(pos, eol - pos);
        pos = eol + 1;
        const qsizetype colon = line.indexOf(':');
        if (colon < 0)
            continue;
        const QByteArrayView key = line.first(colon).trimmed();
        const QByteArrayView value = line.sliced(colon + 1).trimmed();
        if (value.isEmpty())
            continue;
        if (key == "model name")
            return QString::fromUtf8(value).simplified();
        if (key == "Hardware" && hardware.isEmpty())
            hardware = value;
        else if (key == "Processor" && processor.isEmpty())
            processor = value;
        else if (key == "CPU implementer")
            implementer = parseHex(value);
        else if (key == "CPU part") {
            const unsigned part = parseHex(value);
            const std::string_view name = implementer == 0x41 ? armPartName(part) : std::string_view();
            const QString text = name.empty()
                    ? QStringLiteral("CPU 0x%1:0x%2").arg(implementer, 2, 16, QLatin1Char('0')).arg(part, 3, 16, QLatin1Char('0'))
                    : u"ARM " + QLatin1StringView(name.data(), qsizetype(name.size()));
            QStringList &list = name.empty() ? rawParts : armParts;
            if (!list.contains(text))
                list.append(text);
        }
    }
    if (!hardware.isEmpty())
        return QString::fromUtf8(hardware).simplified();
    if (!armParts.isEmpty())
        return armParts.join(u" + ");
    if (!processor.isEmpty())
        return QString::fromUtf8(processor).simplified();
    return rawParts.join(u" + ");
}

} // namespace autofact::agent
