// SPDX-License-Identifier: MIT
#include "sampling/hwmon.h"

#include "sampling/samplinglogging.h"

#include <QDir>

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

namespace autofact::agent {

namespace {

std::optional<std::int32_t> parseMilliCelsius(QByteArrayView text)
{
    text = text.trimmed();
    std::int32_t value = 0;
    const auto [last, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.isEmpty() || ec != std::errc() || last != text.data() + text.size())
        return std::nullopt;
    return value;
}

bool inRange(std::int32_t milliCelsius)
{
    return milliCelsius >= protocol::minMilliCelsius && milliCelsius <= protocol::maxMilliCelsius;
}

QByteArray readSmall(const QString &path)
{
    ProcFile file(path, ProcFile::Layout::SingleRecord);
    return file.read() ? file.data().trimmed().toByteArray() : QByteArray();
}

std::int32_t readCritical(const QString &path)
{
    const std::optional<std::int32_t> value = parseMilliCelsius(readSmall(path));
    return value && *value > 0 && inRange(*value) ? *value : noCriticalTemperature;
}

// Entries "<prefix><N><suffix>" of @p dir, as (N, entry name) in N order.
std::vector<std::pair<int, QString>> numbered(const QDir &dir, const QString &prefix,
                                              const QString &suffix = {})
{
    std::vector<std::pair<int, QString>> out;
    const QStringList entries =
        dir.entryList({prefix + u'*' + suffix}, QDir::AllEntries | QDir::NoDotAndDotDot | QDir::System);
    for (const QString &entry : entries) {
        bool ok = false;
        const int n = QStringView(entry).sliced(prefix.size(), entry.size() - prefix.size() - suffix.size())
                              .toInt(&ok);
        if (ok && n >= 0)
            out.emplace_back(n, entry);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// A sensor that cannot be read now or gives no number (a sleeping GPU, a zone without a driver) is left out until
// the next discovery; keeping it would make every collect() discover again.
void addSensor(std::vector<Hwmon::Sensor> &sensors, const QString &name, const QString &path,
               std::int32_t critical)
{
    ProcFile input(path, ProcFile::Layout::SingleRecord);
    QString error;
    if (!input.read(&error)) {
        qCDebug(lcSampler).noquote() << "temperature" << name << "left out:" << error;
        return;
    }
    if (!parseMilliCelsius(input.data())) {
        qCDebug(lcSampler) << "temperature" << name << "left out: no number in" << path;
        return;
    }
    sensors.push_back(Hwmon::Sensor{name, std::move(input), critical});
}

} // namespace

Hwmon::Hwmon(const QString &sysRoot)
    : m_sysRoot(sysRoot)
{
}

void Hwmon::reset()
{
    m_sensors.clear();
    m_discovered = false;
    m_rediscover = false;
    m_thermalZones = false;
}

void Hwmon::collect(std::int64_t nowMs, DeviceTables &out)
{
    if (!m_discovered || m_rediscover || nowMs - m_discoveredMs >= rediscoverIntervalMs
        || nowMs < m_discoveredMs) {
        discover();
        m_discoveredMs = nowMs;
    }
    for (Sensor &s : m_sensors) {
        QString error;
        if (!s.input.read(&error)) {
            // Unbound chip, sleeping device: list the files again next time.
            qCDebug(lcSampler).noquote() << "temperature" << s.name << "unreadable:" << error;
            m_rediscover = true;
            continue;
        }
        const std::optional<std::int32_t> value = parseMilliCelsius(s.input.data());
        if (!value) {
            // Attributes give a number or an error; anything else is a file being replaced.
            qCDebug(lcSampler) << "temperature" << s.name << "gave no number:" << s.input.data().trimmed();
            m_rediscover = true;
            continue;
        }
        if (!inRange(*value)) {
            // A disconnected probe stays that way: say so once per discovery, not every run.
            if (!s.outOfRangeLogged)
                qCDebug(lcSampler) << "temperature" << s.name << "out of range, dropped:" << *value;
            s.outOfRangeLogged = true;
            continue;
        }
        Temperature t;
        t.device = out.nameIndex(s.name);
        t.milliCelsius = *value;
        t.criticalMilliCelsius = s.criticalMilliCelsius;
        out.temperatures.push_back(t);
    }
}

void Hwmon::discover()
{
    m_sensors.clear();
    m_discovered = true;
    m_rediscover = false;
    m_thermalZones = false;
    discoverHwmon();
    if (m_sensors.empty()) {
        discoverThermalZones();
        m_thermalZones = !m_sensors.empty();
    }
    qCDebug(lcSampler) << "temperature sensors:" << m_sensors.size()
                       << (m_thermalZones ? "(thermal zones)" : "(hwmon)");
}

void Hwmon::discoverHwmon()
{
    const QDir classDir(m_sysRoot + u"/class/hwmon");
    struct Chip {
        int index;
        QString dir;
        QString name;
    };
    std::vector<Chip> chips;
    for (const auto &[index, entry] : numbered(classDir, QStringLiteral("hwmon"))) {
        const QString dir = classDir.filePath(entry);
        QString name = QString::fromUtf8(readSmall(dir + u"/name"));
        if (name.isEmpty())
            name = QString::fromUtf8(readSmall(dir + u"/device/name"));
        if (name.isEmpty())
            name = entry;
        chips.push_back({index, dir, name});
    }
    for (const Chip &chip : chips) {
        const bool shared = std::count_if(chips.begin(), chips.end(), [&](const Chip &c) {
                                return c.name == chip.name;
                            }) > 1;
        const QString chipName = shared ? chip.name + u"@hwmon" + QString::number(chip.index) : chip.name;
        const std::size_t firstOfChip = m_sensors.size();
        for (const auto &[n, entry] : numbered(QDir(chip.dir), QStringLiteral("temp"), QStringLiteral("_input"))) {
            const QString prefix = chip.dir + u"/temp" + QString::number(n);
            const QString label = QString::fromUtf8(readSmall(prefix + u"_label"));
            const QString fallback = chipName + u"/temp" + QString::number(n);
            QString name = label.isEmpty() ? fallback : chipName + u'/' + label;
            const bool taken = std::any_of(m_sensors.begin() + std::ptrdiff_t(firstOfChip), m_sensors.end(),
                                           [&](const Sensor &s) { return s.name == name; });
            if (taken)
                name = fallback;
            addSensor(m_sensors, name, chip.dir + u'/' + entry, readCritical(prefix + u"_crit"));
        }
    }
}

void Hwmon::discoverThermalZones()
{
    const QDir classDir(m_sysRoot + u"/class/thermal");
    struct Zone {
        QString dir;
        QString entry;
        QString type;
    };
    std::vector<Zone> zones;
    for (const auto &[index, entry] : numbered(classDir, QStringLiteral("thermal_zone"))) {
        const QString dir = classDir.filePath(entry);
        QString type = QString::fromUtf8(readSmall(dir + u"/type"));
        if (type.isEmpty())
            type = entry;
        zones.push_back({dir, entry, type});
    }
    for (const Zone &zone : zones) {
        const bool shared = std::count_if(zones.begin(), zones.end(), [&](const Zone &z) {
                                return z.type == zone.type;
                            }) > 1;
        const QString name = u"thermal/" + zone.type + (shared ? u'@' + zone.entry : QString());
        std::int32_t critical = noCriticalTemperature;
        for (const auto &[k, entry] : numbered(QDir(zone.dir), QStringLiteral("trip_point_"), QStringLiteral("_type"))) {
            if (readSmall(zone.dir + u'/' + entry) == "critical") {
                critical = readCritical(zone.dir + u"/trip_point_" + QString::number(k) + u"_temp");
                break;
            }
        }
        addSensor(m_sensors, name, zone.dir + u"/temp", critical);
    }
}

} // namespace autofact::agent
