// SPDX-License-Identifier: MIT
#include "clienttile.h"

#include "clienttablemodel.h"

#include <QContextMenuEvent>
#include <QKeyEvent>
#include <QMenu>
#include <QLocale>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

namespace autofact::dashboard {

namespace {
using Point = ClientTile::Point;
const QColor kCpuColor(0x1f, 0x77, 0xb4);
const QColor kStaleColor(0xd3, 0x6b, 0x00); // as the table's stale status
const QColor kMemoryColor(0x2c, 0xa0, 0x2c);

/**
 * One series of a sparkline over the last ClientTile::windowMs before @p newest, placed by
 * time; a silence longer than a minute breaks the line (as the charts do at gaps).
 */
template<typename Value>
void drawSparkline(QPainter &p, const QRectF &area, const std::deque<Point> &points, qint64 newest,
                   Value value, const QColor &color)
{
    const auto xOf = [&](qint64 t) {
        return area.right() - area.width() * double(newest - t) / double(ClientTile::windowMs);
    };
    QPainterPath line;
    QPainterPath fill;
    qint64 previous = 0;
    qreal runStart = 0;
    qreal lastX = 0;
    bool open = false;
    const auto closeRun = [&] {
        if (!open)
            return;
        fill.lineTo(lastX, area.bottom());
        fill.lineTo(runStart, area.bottom());
        fill.closeSubpath();
        open = false;
    };
    for (const Point &pt : points) {
        const double v = value(pt);
        if (v < 0)
            continue;
        const qreal x = xOf(pt.t);
        const qreal y = area.bottom() - area.height() * std::clamp(v, 0.0, 100.0) / 100.0;
        if (!open || pt.t - previous > 60'000) {
            closeRun();
            line.moveTo(x, y);
            fill.moveTo(x, area.bottom());
            fill.lineTo(x, y);
            runStart = x;
            open = true;
        } else {
            line.lineTo(x, y);
            fill.lineTo(x, y);
        }
        previous = pt.t;
        lastX = x;
    }
    closeRun();
    QColor fillColor = color;
    fillColor.setAlpha(40);
    p.fillPath(fill, fillColor);
    // No brush for the line: an open path drawn with one is filled shut (the old wedges).
    p.setBrush(Qt::NoBrush);
    p.setPen(QPen(color, 1.5));
    p.drawPath(line);
}
} // namespace

ClientTile::ClientTile(const QString &clientId, QWidget *parent)
    : QWidget(parent)
    , m_clientId(clientId)
    , m_hostname(clientId)
{
    setFocusPolicy(Qt::StrongFocus);
    setCursor(Qt::PointingHandCursor);
    setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
    setToolTip(tr("Open the detail view of %1").arg(clientId));
}

QSize ClientTile::sizeHint() const
{
    const QFontMetrics fm(font());
    // Four lines of text (name, CPU and memory, disk and network) above the sparkline.
    return QSize(std::max(240, fm.horizontalAdvance(QLatin1Char('M')) * 22), fm.height() * 4 + 70);
}

void ClientTile::setHostname(const QString &hostname)
{
    if (hostname.isEmpty() || hostname == m_hostname)
        return;
    m_hostname = hostname;
    update();
}

void ClientTile::setGroup(const QString &group)
{
    if (group == m_group)
        return;
    m_group = group;
    updateToolTip();
    update();
}

void ClientTile::setOnline(bool online)
{
    if (online == m_online)
        return;
    m_online = online;
    update();
}

void ClientTile::setStale(bool stale)
{
    if (stale == m_stale)
        return;
    m_stale = stale;
    updateToolTip();
    update();
}

void ClientTile::updateToolTip()
{
    QStringList tip;
    if (!m_group.isEmpty())
        tip << tr("Group: %1").arg(m_group);
    if (m_stale)
        tip << tr("stale: connected, but no data arrives (a hung agent or host)");
    if (!m_alerts.isEmpty())
        tip << tr("Alerts firing: %1").arg(m_alerts.join(QStringLiteral(", ")));
    if (m_devices.filesystemsMs && m_devices.fullestPercent >= 0)
        tip << tr("Fullest filesystem: %1 (%2 %)")
                   .arg(m_devices.fullestMount, QLocale().toString(m_devices.fullestPercent, 'f', 1));
    // Plain text: the titles are ours, but the tile's tooltip must never guess at markup.
    setToolTip(tip.isEmpty() ? QString() : QStringLiteral("<qt>%1</qt>").arg(tip.join(u'\n').toHtmlEscaped()));
}

void ClientTile::setAlerts(const QStringList &titles)
{
    if (titles == m_alerts)
        return;
    m_alerts = titles;
    updateToolTip();
    update();
}

void ClientTile::setDevices(const metrics::DeviceSummary &summary)
{
    if (summary == m_devices)
        return;
    const bool mountChanged = summary.fullestMount != m_devices.fullestMount
                              || summary.filesystemsMs != m_devices.filesystemsMs;
    m_devices = summary;
    if (mountChanged)
        updateToolTip();
    update();
}

QString ClientTile::deviceText() const
{
    QStringList parts;
    if (m_devices.filesystemsMs && m_devices.fullestPercent >= 0)
        parts << tr("Disk %1 %").arg(QLocale().toString(m_devices.fullestPercent, 'f', 0));
    if (m_devices.networkMs)
        parts << QStringLiteral("↓%1 ↑%2").arg(ClientTableModel::rateText(m_devices.rxBytesPerSec),
                                               ClientTableModel::rateText(m_devices.txBytesPerSec));
    return parts.join(QStringLiteral(" · "));
}

void ClientTile::setPinned(bool pinned)
{
    if (pinned == m_pinned)
        return;
    m_pinned = pinned;
    update();
}

void ClientTile::contextMenuEvent(QContextMenuEvent *event)
{
    // Not modal: the tile may be removed (a forgotten client) while the menu is open.
    auto *menu = new QMenu;
    menu->setAttribute(Qt::WA_DeleteOnClose);
    connect(this, &QObject::destroyed, menu, &QWidget::close);
    menu->addAction(tr("Open detail"), this, [this] { Q_EMIT activated(m_clientId); });
    menu->addAction(m_pinned ? tr("Unpin") : tr("Pin to the top"), this, [this] { Q_EMIT pinToggled(!m_pinned); });
    menu->popup(event->globalPos());
}

void ClientTile::setNeverSentData(bool never)
{
    if (m_neverSentData == never)
        return;
    m_neverSentData = never;
    update();
}

void ClientTile::addSample(qint64 timestampMs, double cpuPercent, double memoryPercent)
{
    if (!m_points.empty() && timestampMs <= m_points.back().t)
        return;
    m_points.push_back({timestampMs, cpuPercent, memoryPercent});
    // Bounded by time, and by count for a client that sends faster than once a second.
    while (!m_points.empty()
           && (m_points.front().t < timestampMs - windowMs || m_points.size() > 2 * historyLength))
        m_points.pop_front();
    update();
}

void ClientTile::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    const QRectF frame = QRectF(rect()).adjusted(1, 1, -1, -1);
    p.setPen(QPen(hasFocus() ? pal.color(QPalette::Highlight) : pal.color(QPalette::Mid), hasFocus() ? 2 : 1));
    p.setBrush(pal.brush(QPalette::Base));
    p.drawRoundedRect(frame, 4, 4);
    if (m_pinned) {
        // Pinned: a bar along the top edge in the highlight colour.
        p.setPen(Qt::NoPen);
        p.setBrush(pal.color(QPalette::Highlight));
        p.drawRect(QRectF(frame.left() + 4, frame.top(), frame.width() - 8, 3));
    }

    const QFontMetrics fm(font());
    const int pad = 8;
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(pal.color(m_online ? QPalette::Active : QPalette::Disabled, QPalette::Text));
    const QRectF titleRect(pad, pad, width() - 2 * pad - 14, fm.height());
    // The group follows the hostname, quieter, and gives way to it when space is short.
    const QString group = m_group.isEmpty() ? QString()
                                            : fm.elidedText(m_group, Qt::ElideRight, int(titleRect.width() / 3));
    const int groupWidth = group.isEmpty() ? 0 : fm.horizontalAdvance(group) + 8;
    const QString host = QFontMetrics(bold).elidedText(m_hostname, Qt::ElideRight, int(titleRect.width()) - groupWidth);
    p.drawText(titleRect, Qt::AlignLeft | Qt::AlignVCenter, host);
    if (!group.isEmpty()) {
        p.setFont(font());
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(titleRect.adjusted(QFontMetrics(bold).horizontalAdvance(host) + 8, 0, 0, 0),
                   Qt::AlignLeft | Qt::AlignVCenter, group);
    }
    // Status dot, as in the table.
    p.setPen(Qt::NoPen);
    p.setBrush(!m_online ? QColor(0x8a, 0x8a, 0x8a) : m_stale ? kStaleColor : QColor(0x2e, 0xa0, 0x43));
    p.drawEllipse(QPointF(width() - pad - 5, pad + fm.height() / 2.0), 5, 5);
    if (!m_alerts.isEmpty()) {
        // The alert badge: a red disc with the count, left of the status dot.
        const QString count = QString::number(m_alerts.size());
        const qreal r = fm.height() / 2.0 + 1;
        const QPointF c(width() - pad - 10 - r - 4, pad + fm.height() / 2.0);
        p.setBrush(QColor(0xc0, 0x30, 0x30));
        p.drawEllipse(c, r, r);
        QFont small = font();
        small.setBold(true);
        p.setFont(small);
        p.setPen(Qt::white);
        p.drawText(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r), Qt::AlignCenter, count);
        p.setPen(Qt::NoPen);
    }
    if (m_online && m_stale) {
        // Its last values are old: say so where they are shown.
        p.setFont(font());
        p.setPen(kStaleColor);
        p.drawText(QRectF(pad, pad, width() - 2 * pad - 14, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
                   tr("stale"));
    }

    p.setFont(font());
    const QLocale locale;
    const QString cpuText = cpu() < 0 || !m_online ? tr("CPU —")
                                                   : tr("CPU %1 %").arg(locale.toString(cpu(), 'f', 0));
    const QString memText = memory() < 0 || !m_online
                                ? tr("Mem —")
                                : tr("Mem %1 %").arg(locale.toString(memory(), 'f', 0));
    const qreal lineY = pad + fm.height() + 4;
    p.setPen(kCpuColor);
    p.drawText(QRectF(pad, lineY, width() / 2.0 - pad, fm.height()), Qt::AlignLeft, cpuText);
    p.setPen(kMemoryColor);
    p.drawText(QRectF(width() / 2.0, lineY, width() / 2.0 - pad, fm.height()), Qt::AlignLeft, memText);

    // The device line: the fullest filesystem (amber from 80 %, red from 90 %: a full disk must
    // stand out in a wall of tiles) and the network rates. Nothing for agents without readings.
    const qreal deviceY = lineY + fm.height() + 2;
    if (m_online && !m_devices.empty()) {
        const QRectF deviceRect(pad, deviceY, width() - 2 * pad, fm.height());
        qreal x = deviceRect.left();
        if (m_devices.filesystemsMs && m_devices.fullestPercent >= 0) {
            const QString disk = tr("Disk %1 %").arg(locale.toString(m_devices.fullestPercent, 'f', 0));
            const double full = m_devices.fullestPercent;
            if (full >= 90) {
                QFont strong = font();
                strong.setBold(true);
                p.setFont(strong);
                p.setPen(QColor(0xc0, 0x30, 0x30));
            } else {
                p.setPen(full >= 80 ? kStaleColor : pal.color(QPalette::Text));
            }
            p.drawText(QRectF(x, deviceY, deviceRect.right() - x, fm.height()), Qt::AlignLeft, disk);
            x += QFontMetrics(p.font()).horizontalAdvance(disk);
            p.setFont(font());
        }
        if (m_devices.networkMs) {
            const QString net = (x > deviceRect.left() ? QStringLiteral(" · ") : QString())
                                + QStringLiteral("↓%1 ↑%2").arg(ClientTableModel::rateText(m_devices.rxBytesPerSec),
                                                                ClientTableModel::rateText(m_devices.txBytesPerSec));
            p.setPen(pal.color(QPalette::PlaceholderText));
            p.drawText(QRectF(x, deviceY, deviceRect.right() - x, fm.height()), Qt::AlignLeft,
                       fm.elidedText(net, Qt::ElideRight, int(deviceRect.right() - x)));
        }
    }

    const QRectF spark(pad, deviceY + fm.height() + 4, width() - 2 * pad,
                       height() - (deviceY + fm.height() + 4) - pad);
    p.setPen(QPen(pal.color(QPalette::Midlight), 1));
    p.drawLine(spark.bottomLeft(), spark.bottomRight());
    if (m_points.empty() && (!m_online || m_neverSentData)) {
        p.setPen(pal.color(QPalette::Disabled, QPalette::Text));
        p.drawText(spark, Qt::AlignCenter, m_neverSentData ? tr("never seen data") : tr("down"));
        return;
    }
    if (m_points.empty())
        return;
    const qint64 newest = m_points.back().t;
    drawSparkline(p, spark, m_points, newest, [](const Point &pt) { return pt.memory; }, kMemoryColor);
    drawSparkline(p, spark, m_points, newest, [](const Point &pt) { return pt.cpu; }, kCpuColor);
}

void ClientTile::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && rect().contains(event->position().toPoint()))
        Q_EMIT activated(m_clientId);
}

void ClientTile::keyPressEvent(QKeyEvent *event)
{
    if (event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter || event->key() == Qt::Key_Space) {
        Q_EMIT activated(m_clientId);
        return;
    }
    QWidget::keyPressEvent(event);
}

} // namespace autofact::dashboard
