// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "sampling/procfile.h"

#include <QString>

#include <cstdint>
#include <vector>

namespace autofact::agent {

/**
 * Temperature sensors from `<sysRoot>/class/hwmon` (Documentation/hwmon/sysfs-interface.rst),
 * or from `<sysRoot>/class/thermal` when no hwmon chip has a temperature.
 *
 * hwmon: every `hwmonN/tempM_input` (millidegrees Celsius) of every chip, chips in N order and
 * sensors in M order. A sensor is named `chip/label`: chip is the chip's `name` (or
 * `device/name`, where kernels before 3.x kept it; else `hwmonN`), label is `tempM_label`
 * (`Package id 0`, `Core 0`, `Composite`, `edge`, ...) or else `tempM`. When several chips
 * share a name (two NVMe drives, two CPU sockets), each of them is called `name@hwmonN` so
 * every sensor name is unique; a label repeated within one chip falls back to `tempM`. hwmon
 * indices follow driver probe order and can change across boots. The critical threshold is
 * `tempM_crit` when the chip gives one; a value of 0 or below (an unset register) counts as
 * absent. Chips without any temperature (fans only, voltages, batteries) add nothing.
 *
 * thermal zones (ARM boards, some VMs and laptops without hwmon drivers): every
 * `thermal_zoneN/temp`, named `thermal/<type>` (`thermal/cpu-thermal`; `@thermal_zoneN`
 * appended when types repeat), critical from the `trip_point_K_temp` whose `trip_point_K_type`
 * is `critical`.
 *
 * Readings outside protocol::minMilliCelsius..maxMilliCelsius are sensor faults and dropped.
 *
 * Cost: the list of files, labels and critical thresholds is discovered once, then each read
 * is one pread() per sensor on a file kept open. A sensor that cannot be read at discovery, or
 * gives no number, is left out. A read that fails later (the chip was unbound, a GPU went to
 * sleep) or gives no number skips that sensor and makes the next collect() discover again; discovery also runs again every
 * rediscoverIntervalMs to find chips that appeared (a hot-plugged NVMe
 * drive, a module loaded after start).
 */
class Hwmon
{
public:
    /** Discovery runs again at least this often (hot-plugged chips appear within it). */
    static constexpr std::int64_t rediscoverIntervalMs = 10 * 60 * 1000;

    /** One temperature input. */
    struct Sensor {
        QString name;
        ProcFile input;
        std::int32_t criticalMilliCelsius = noCriticalTemperature;
        bool outOfRangeLogged = false;
    };

    explicit Hwmon(const QString &sysRoot = QStringLiteral("/sys"));

    /**
     * Appends one Temperature (sample 0) per sensor read successfully at @p nowMs, discovering
     * first when due (see above). Never fails: a machine without sensors gives nothing.
     */
    void collect(std::int64_t nowMs, DeviceTables &out);

    /** Lists the sensors now (what collect() does when discovery is due). */
    void discover();

    /** Forgets the sensors: the next collect() discovers. */
    void reset();

    /** The sensors of the last discovery. */
    const std::vector<Sensor> &sensors() const { return m_sensors; }
    /** The last discovery found no hwmon temperature and fell back to thermal zones. */
    bool usesThermalZones() const { return m_thermalZones; }

private:
    void discoverHwmon();
    void discoverThermalZones();

    QString m_sysRoot;
    std::vector<Sensor> m_sensors;
    bool m_discovered = false;
    bool m_rediscover = false;
    bool m_thermalZones = false;
    std::int64_t m_discoveredMs = 0;
};

} // namespace autofact::agent
