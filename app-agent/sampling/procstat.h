// SPDX-License-Identifier: MIT
#pragma once

#include "sampling/procfile.h"

#include <QByteArrayView>
#include <QString>

#include <array>
#include <cstdint>
#include <vector>

namespace autofact::agent {

/** Columns of a cpu line in /proc/stat, in file order (see proc(5)). */
enum class CpuField : int {
    User,      ///< includes Guest
    Nice,      ///< includes GuestNice
    System,
    Idle,
    IoWait,    ///< can decrease on NO_HZ kernels (proc(5))
    Irq,       ///< since Linux 2.6.0
    SoftIrq,   ///< since Linux 2.6.0
    Steal,     ///< since Linux 2.6.11
    Guest,     ///< since Linux 2.6.24
    GuestNice, ///< since Linux 2.6.33
};

/** One cpu line of /proc/stat: cumulative times in USER_HZ ticks. Missing columns are 0. */
struct CpuCounters {
    static constexpr int fieldCount = 10;
    std::array<std::uint64_t, fieldCount> ticks{};
    int presentFields = 0; ///< how many columns the line had (4..10 on real kernels)

    std::uint64_t operator[](CpuField f) const { return ticks[std::size_t(f)]; }
    std::uint64_t &operator[](CpuField f) { return ticks[std::size_t(f)]; }
    bool operator==(const CpuCounters &) const = default;
};

/** A `cpuN` line: the kernel's CPU number N and its counters. */
struct CoreCounters {
    int index = 0;
    CpuCounters counters;
    bool operator==(const CoreCounters &) const = default;
};

/**
 * Parser for /proc/stat: the aggregate `cpu` line, every `cpuN` line and `btime`.
 *
 * Offline CPUs have no `cpuN` line (hotplug), so the per-CPU list can have gaps in its
 * indices; it keeps the kernel's order. Reading and parsing reuse their buffers: after the
 * first read of a machine, read() does not allocate.
 */
class ProcStat
{
public:
    /** @p path is only used by read(); parse() works on any bytes. */
    explicit ProcStat(const QString &path = QStringLiteral("/proc/stat"));

    /** Reads the file and parses it. See parse() for what counts as an error. */
    bool read(QString *error = nullptr);

    /**
     * Parses /proc/stat text. Fails (and sets @p error) when there is no aggregate `cpu` line or
     * a cpu line has fewer than 4 numeric columns or a malformed number. Columns beyond the 10
     * known ones are ignored; a missing trailing newline is fine.
     */
    bool parse(QByteArrayView text, QString *error = nullptr);

    /** The aggregate `cpu` line: the sum over all possible CPUs, online or not. */
    const CpuCounters &total() const { return m_total; }
    /** The `cpuN` lines, one per online CPU, in file order. */
    const std::vector<CoreCounters> &cores() const { return m_cores; }
    /** Boot time in seconds since the epoch (`btime`), 0 if the line is absent. */
    std::int64_t bootTime() const { return m_bootTime; }

private:
    ProcFile m_file;
    CpuCounters m_total;
    std::vector<CoreCounters> m_cores;
    std::int64_t m_bootTime = 0;
};

} // namespace autofact::agent
