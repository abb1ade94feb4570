// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

#include <deque>

namespace autofact::dashboard {

/**
 * One client in the overview grid: hostname, current CPU and memory, and sparklines of the
 * last few minutes of live samples. Painted by hand: fifty Qt Charts would cost far more
 * than these few hundred line segments.
 */
class ClientTile : public QWidget
{
    Q_OBJECT
public:
    explicit ClientTile(const QString &clientId, QWidget *parent = nullptr);

    QString clientId() const { return m_clientId; }
    void setHostname(const QString &hostname);
    void setOnline(bool online);
    /** A client that never sent a sample says so instead of "down". */
    void setNeverSentData(bool never);
    /** Connected, but no data for longer than expected (a hung agent or host). */
    void setStale(bool stale);
    bool isStale() const { return m_stale; }
    /** Alerts firing for it (their titles): a red badge with the count. */
    void setAlerts(const QStringList &titles);
    int alertCount() const { return int(m_alerts.size()); }
    /** Appends a live point (percentages; memory < 0 if unknown). */
    void addSample(qint64 timestampMs, double cpuPercent, double memoryPercent);
    double cpu() const { return m_cpu.empty() ? -1 : m_cpu.back(); }
    double memory() const { return m_memory.empty() ? -1 : m_memory.back(); }
    QString hostname() const { return m_hostname; }

    QSize sizeHint() const override;

    /** How many points a sparkline keeps (5 min at 1 s). */
    static constexpr std::size_t historyLength = 300;

Q_SIGNALS:
    void activated(const QString &clientId);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

private:
    void updateToolTip();

    QString m_clientId;
    QString m_hostname;
    bool m_online = false;
    bool m_neverSentData = false;
    bool m_stale = false;
    QStringList m_alerts;
    qint64 m_lastTimestamp = 0;
    std::deque<double> m_cpu;
    std::deque<double> m_memory;
};

} // namespace autofact::dashboard
