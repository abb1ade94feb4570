// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"
#include "sampling/procfile.h"

#include <QByteArrayView>
#include <QString>

#include <cstdint>

namespace autofact::agent {

/**
 * Parser for /proc/meminfo: the handful of lines the agent reports, converted from kB to bytes.
 *
 * Definitions follow procps-ng 4.0.2 (Debian bookworm's `free`), so that memory() matches
 * `free -b` on the same machine:
 * - used = MemTotal - MemAvailable (procps ≥ 4; procps 3.3 used total - free - buff/cache);
 * - cached = Cached + SReclaimable (free's "cache" column; buff/cache = buffers + cached);
 * - when MemAvailable is larger than MemTotal (seen in LXC containers), available = MemFree,
 *   as procps does.
 *
 * Kernels before 3.14 have no MemAvailable. procps 4 then reports available = MemFree; this
 * parser instead estimates it as MemFree + Buffers + Cached + SReclaimable (what the kernel
 * approximates and what procps 3.3 "used" implied) and sets availableEstimated(), because
 * MemFree alone would make a machine with a large page cache look full.
 */
class MemInfo
{
public:
    /** Raw values from the file, in bytes; 0 when the line is absent. */
    struct Values {
        std::uint64_t memTotal = 0, memFree = 0, memAvailable = 0, buffers = 0, cached = 0,
                      sReclaimable = 0, swapTotal = 0, swapFree = 0;
        bool hasMemAvailable = false;
        bool operator==(const Values &) const = default;
    };

    /** @p path is only used by read(); parse() works on any bytes. */
    explicit MemInfo(const QString &path = QStringLiteral("/proc/meminfo"));

    /** Reads the file and parses it. */
    bool read(QString *error = nullptr);

    /**
     * Parses /proc/meminfo text. Fails (and sets @p error) when MemTotal is absent or zero or a
     * wanted line has a malformed number. Lines it does not need are skipped unread.
     */
    bool parse(QByteArrayView text, QString *error = nullptr);

    /** The values as read. */
    const Values &values() const { return m_values; }

    /** True when MemAvailable was absent and memory().available is an estimate. */
    bool availableEstimated() const { return !m_values.hasMemAvailable; }

    /**
     * The values in protocol form, with the definitions above; free, available and used are
     * clamped to total, swapFree to swapTotal.
     */
    Memory memory() const;

private:
    ProcFile m_file;
    Values m_values;
};

} // namespace autofact::agent
