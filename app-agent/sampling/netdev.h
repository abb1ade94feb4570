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
 * Network traffic per interface from `<procRoot>/net/dev`, as deltas between two reads.
 *
 * Format: two header lines, then `name: rx bytes packets errs drop fifo frame compressed
 * multicast tx bytes packets errs drop fifo colls carrier compressed`. The name is everything
 * before the line's last colon (an alias such as `ibr10:30` has one inside it, and the kernel
 * pads names on the left but puts no space after the colon when a counter is wide, e.g.
 * `eth0:68210035552`). Lines with fewer than 12 counters are skipped.
 *
 * `lo` and container veths (`veth*`, the host ends of Docker/Podman/LXC pairs: one per
 * container, their traffic is already on the bridge) are not reported unless
 * setIncludeVirtual(true); everything else is (bridges, tunnels, bonds, VLANs, Wi-Fi, ...).
 *
 * Deltas, wraps, resets and first reads follow the same rules as DiskStats (counterdelta.h):
 * the first read of an interface gives no entry; a counter that wrapped at 32 bits is
 * unwrapped; any other decrease is a reset (an interface deleted and created again with the
 * same name, a driver reload) and that read is a new baseline without an entry.
 */
class NetDev
{
public:
    /** Counters kept per interface, in this order (a plain enum: the values index Counters). */
    enum Field {
        RxBytes, RxPackets, RxErrors, RxDrops, TxBytes, TxPackets, TxErrors, TxDrops, FieldCount
    };
    using Counters = std::array<std::uint64_t, FieldCount>;

    /** One interface of the last read. */
    struct Interface {
        QByteArray kernelName;
        QString name;
        bool reported = false;
        Counters counters{};
        Counters previous{};
        std::int64_t previousMs = 0;
        bool hasBaseline = false;
    };

    explicit NetDev(const QString &procRoot = QStringLiteral("/proc"));

    /** Reports `lo` and `veth*` too (tests of accuracy measure through lo). Forgets baselines. */
    void setIncludeVirtual(bool include);
    bool includeVirtual() const { return m_includeVirtual; }

    /** Reads net/dev and update()s from it. Fails only when the file cannot be read. */
    bool collect(std::int64_t nowMs, DeviceTables &out, QString *error = nullptr);

    /**
     * Parses net/dev @p text read at @p nowMs and appends one NetworkIo (sample 0) per reported
     * interface that has a baseline; the read becomes the new baseline. Malformed lines are
     * skipped.
     */
    void update(QByteArrayView text, std::int64_t nowMs, DeviceTables &out);

    /** Forgets every interface and baseline. */
    void reset() { m_interfaces.clear(); }

    /** Every interface of the last read, in file order, reported or not. */
    const std::vector<Interface> &interfaces() const { return m_interfaces; }

    /** `lo` or `veth…`. */
    static bool isVirtualName(QByteArrayView name);

private:
    /// As DiskStats::place(), for m_interfaces.
    std::size_t place(QByteArrayView kernelName, std::size_t &count);

    ProcFile m_file;
    std::vector<Interface> m_interfaces;
    bool m_includeVirtual = false;
};

} // namespace autofact::agent
