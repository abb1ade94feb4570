// SPDX-License-Identifier: MIT
#pragma once

#include "sampling/procfile.h"

#include <QByteArrayView>
#include <QString>

namespace autofact::agent {

/**
 * Parser for /proc/loadavg: `load1 load5 load15 running/total lastpid`.
 */
class LoadAvg
{
public:
    /** @p path is only used by read(); parse() works on any bytes. */
    explicit LoadAvg(const QString &path = QStringLiteral("/proc/loadavg"));

    /** Reads the file and parses it. */
    bool read(QString *error = nullptr);

    /**
     * Parses /proc/loadavg text. The three load averages are required (finite, ≥ 0); the
     * scheduling-entity and pid columns are optional and 0 when absent.
     */
    bool parse(QByteArrayView text, QString *error = nullptr);

    float load1() const { return m_load[0]; }
    float load5() const { return m_load[1]; }
    float load15() const { return m_load[2]; }
    /** Runnable scheduling entities (processes and threads) at the time of reading. */
    int running() const { return m_running; }
    /** Scheduling entities that exist. */
    int total() const { return m_total; }
    /** Most recently created pid. */
    int lastPid() const { return m_lastPid; }

private:
    ProcFile m_file;
    float m_load[3] = {0, 0, 0};
    int m_running = 0;
    int m_total = 0;
    int m_lastPid = 0;
};

} // namespace autofact::agent
