// SPDX-License-Identifier: MIT
#pragma once

#include "metrics.h"

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
    /** Shown after the hostname; empty: in no group. */
    void setGroup(const QString &group);
    QString group() const { return m_group; }
    void setOnline(bool online);
    bool isOnline() const { return m_online; }
    bool neverSentData() const { return m_neverSentData; }
    /** A client that never sent a sample says so instead of "down". */
    void setNeverSentData(bool never);
    /** Connected, but no data for longer than expected (a hung agent or host). */
    void setStale(bool stale);
    bool isStale() const { return m_stale; }
    /** Alerts firing for it (their titles): a red badge with the count. */
    void setAlerts(const QStringList &titles);
    int alertCount() const { return int(m_alerts.size()); }
    /** Pinned tiles come first in the overview and show a marker. */
    void setPinned(bool pinned);
    bool isPinned() const { return m_pinned; }
    /** Appends a live point (percentages; memory < 0 if unknown). */
    void addSample(qint64 timestampMs, double cpuPercent, double memoryPercent);
    double cpu() const { return m_points.empty() ? -1 : m_points.back().cpu; }
    double memory() const { return m_points.empty() ? -1 : m_points.back().memory; }
    /** Points kept (the last windowMs of them). */
    std::size_t pointCount() const { return m_points.size(); }
    QString hostname() const { return m_hostname; }
    /** The latest device figures: the fullest filesystem and the network rates, on one line. */
    void setDevices(const metrics::DeviceSummary &summary);
    const metrics::DeviceSummary &devices() const { return m_devices; }
    /** The device line as drawn ("Disk 87 % · ↓1.2 MB/s ↑80 kB/s"; empty without readings). */
    QString deviceText() const;

    QSize sizeHint() const override;

    /** One sparkline point: percentages at a sample's time. */
    struct Point {
        qint64 t;
        double cpu;
        double memory; ///< < 0: unknown
    };

    /** How many points the overview seeds a sparkline with from the store (5 min at 1 s). */
    static constexpr std::size_t historyLength = 300;
    /**
     * What a sparkline spans, by the samples' own times: points arrive once per batch for live
     * clients and once per sample from the store, and either way 5 minutes is the width.
     */
    static constexpr qint64 windowMs = 5 * 60 * 1000;

Q_SIGNALS:
    void activated(const QString &clientId);
    /** The tile's context menu: pin to the top, or unpin. */
    void pinToggled(bool pinned);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void contextMenuEvent(QContextMenuEvent *event) override;

private:
    void updateToolTip();

    QString m_clientId;
    QString m_hostname;
    QString m_group;
    bool m_online = false;
    bool m_neverSentData = false;
    bool m_stale = false;
    QStringList m_alerts;
    bool m_pinned = false;
    std::deque<Point> m_points;
    metrics::DeviceSummary m_devices;
};

} // namespace autofact::dashboard
