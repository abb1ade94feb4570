// SPDX-License-Identifier: MIT
#include "historychartview.h"

#include <QHash>

#include "store/gapdetector.h"

#include <QDateTime>
#include <QDateTimeAxis>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLocale>
#include <QMouseEvent>
#include <QToolTip>
#include <QValueAxis>
#include <QWheelEvent>

#include <algorithm>

namespace autofact::dashboard {


HistoryChartView::HistoryChartView(const QString &title, const QString &unit, QWidget *parent)
    : QChartView(parent)
    , m_unit(unit)
{
    auto *chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->setBackgroundRoundness(0);
    setChart(chart);

    m_axisX = new QDateTimeAxis;
    m_axisX->setTickCount(7);
    m_axisY = new QValueAxis;
    m_axisY->setLabelFormat(QStringLiteral("%.0f"));
    m_axisY->setTitleText(unit);
    applyPalette();
    chart->addAxis(m_axisX, Qt::AlignBottom);
    chart->addAxis(m_axisY, Qt::AlignLeft);
    setRenderHint(QPainter::Antialiasing, true);
    setMouseTracking(true);
    setMinimumHeight(180);
    setXRange(QDateTime::currentMSecsSinceEpoch() - 300000, QDateTime::currentMSecsSinceEpoch());
}

QLineSeries *HistoryChartView::addSeries(const QString &name, const QColor &color, bool inLegend)
{
    auto *series = new QLineSeries;
    series->setName(name);
    QPen pen(color);
    pen.setWidthF(1.5);
    series->setPen(pen);
    chart()->addSeries(series);
    series->attachAxis(m_axisX);
    series->attachAxis(m_axisY);
    if (!inLegend) {
        for (QLegendMarker *marker : chart()->legend()->markers(series))
            marker->setVisible(false);
    }
    m_series.append(series);
    return series;
}

QLineSeries *HistoryChartView::addRightAxisSeries(const QString &name, const QColor &color, const QString &unit,
                                                 double min, double max)
{
    if (!m_axisRight) {
        m_axisRight = new QValueAxis;
        m_axisRight->setLabelFormat(QStringLiteral("%.0f"));
        chart()->addAxis(m_axisRight, Qt::AlignRight);
        applyPalette();
        // Its grid would not line up with the left axis' ticks: one grid is enough.
        m_axisRight->setGridLineVisible(false);
    }
    m_axisRight->setTitleText(unit);
    m_axisRight->setRange(min, max);
    auto *series = new QLineSeries;
    series->setName(name);
    series->setProperty(unitProperty, unit);
    QPen pen(color);
    pen.setWidthF(1.5);
    series->setPen(pen);
    chart()->addSeries(series);
    series->attachAxis(m_axisX);
    series->attachAxis(m_axisRight);
    m_series.append(series);
    return series;
}

void HistoryChartView::truncateSeries(int keep)
{
    while (m_series.size() > keep) {
        QLineSeries *series = m_series.takeLast();
        chart()->removeSeries(series);
        delete series;
    }
}

void HistoryChartView::replacePoints(QLineSeries *series, const QList<QPointF> &points)
{
    series->replace(points);
}

void HistoryChartView::setXRange(qint64 fromMs, qint64 toMs)
{
    if (toMs <= fromMs)
        toMs = fromMs + 1000;
    m_fromMs = fromMs;
    m_toMs = toMs;
    const qint64 span = toMs - fromMs;
    // Over a few hours the labels carry the date: "10:00" of which day is the question.
    if (span <= 2 * 3600 * 1000)
        m_axisX->setFormat(QStringLiteral("HH:mm:ss"));
    else if (span <= 8 * 3600 * 1000)
        m_axisX->setFormat(QStringLiteral("HH:mm"));
    else
        m_axisX->setFormat(QStringLiteral("MMM d HH:mm"));
    // A tick per round step when the range is a whole number of them (the fixed ranges are).
    static constexpr qint64 steps[] = {60'000, 5 * 60'000, 10 * 60'000, 30 * 60'000, 3600'000, 2 * 3600'000,
                                       4 * 3600'000, 6 * 3600'000, 12 * 3600'000, 86400'000};
    int ticks = 7;
    const qint64 offset = qint64(QDateTime::fromMSecsSinceEpoch(fromMs).offsetFromUtc()) * 1000;
    for (qint64 step : steps) {
        const qint64 n = span / step;
        if (span % step == 0 && (fromMs + offset) % step == 0 && n >= 4 && n <= 10) {
            ticks = int(n) + 1;
            break;
        }
    }
    m_axisX->setTickCount(ticks);
    m_axisX->setRange(QDateTime::fromMSecsSinceEpoch(fromMs), QDateTime::fromMSecsSinceEpoch(toMs));
    viewport()->update();
}

void HistoryChartView::setYRange(double min, double max)
{
    m_axisY->setRange(min, max > min ? max : min + 1);
    m_axisY->applyNiceNumbers();
}

void HistoryChartView::setUnit(const QString &unit)
{
    m_unit = unit;
    m_axisY->setTitleText(unit);
    m_axisY->setLabelFormat(unit.isEmpty() ? QStringLiteral("%.2f") : QStringLiteral("%.0f"));
}

void HistoryChartView::setLabelFormat(const QString &format)
{
    m_axisY->setLabelFormat(format);
}

void HistoryChartView::setGaps(const QList<server::Gap> &gaps)
{
    m_gaps = gaps;
    viewport()->update();
}

int HistoryChartView::plotWidth() const
{
    // The chart lays its plot area out later than the widget is sized (a page just shown, a
    // resize in progress): a plot area far smaller than the widget is stale, not real.
    const int w = int(chart()->plotArea().width());
    const int fallback = std::max(100, width() - 80);
    return w > fallback / 2 ? w : fallback;
}

double HistoryChartView::xAtViewPos(QPointF viewPos) const
{
    const QPointF scenePos = mapToScene(viewPos.toPoint());
    const QPointF chartPos = chart()->mapFromScene(scenePos);
    return chart()->mapToValue(chartPos, m_series.isEmpty() ? nullptr : m_series.first()).x();
}

const server::Gap *HistoryChartView::gapAt(double xMs) const
{
    for (const server::Gap &gap : m_gaps) {
        if (xMs >= double(gap.startMs) && xMs <= double(gap.endMs))
            return &gap;
    }
    return nullptr;
}

namespace {

/** Index of the point of @p points (sorted by x, not empty) nearest to @p x. */
qsizetype nearestPoint(const QList<QPointF> &points, double x)
{
    auto it = std::lower_bound(points.cbegin(), points.cend(), x,
                               [](const QPointF &p, double v) { return p.x() < v; });
    if (it == points.cend())
        --it;
    else if (it != points.cbegin() && x - (it - 1)->x() < it->x() - x)
        --it;
    return it - points.cbegin();
}

} // namespace

const server::Gap *HistoryChartView::averagingGapEndingAt(double xMs) const
{
    // The sample the crosshair points at: the nearest point of the first visible series.
    for (const QLineSeries *series : m_series) {
        if (!series->isVisible() || series->count() == 0)
            continue;
        const QList<QPointF> points = series->points();
        const QPointF *it = &points.at(nearestPoint(points, xMs));
        for (const server::Gap &gap : m_gaps)
            if (double(gap.endMs) == it->x() && server::GapDetector::averagesTheSampleAfter(gap.reason))
                return &gap;
        return nullptr;
    }
    return nullptr;
}

QString HistoryChartView::valuesAt(double xMs) const
{
    QString text = QLocale().toString(QDateTime::fromMSecsSinceEpoch(qint64(xMs)),
                                      QStringLiteral("yyyy-MM-dd HH:mm:ss"));
    if (m_crosshairTop > 0) {
        // By key: a line broken at gaps is several series of one key.
        QHash<QString, std::pair<double, QString>> at;
        for (const QLineSeries *series : m_series) {
            if (!series->isVisible() || series->count() == 0)
                continue;
            const QList<QPointF> points = series->points();
            if (xMs < points.first().x() || xMs > points.last().x())
                continue;
            const QVariant plain = series->property(plainNameProperty);
            const QString name = plain.isValid() ? plain.toString() : series->name();
            const QVariant key = series->property(keyProperty);
            at.insert(key.isValid() ? key.toString() : name, {points.at(nearestPoint(points, xMs)).y(), name});
        }
        QList<std::pair<double, QString>> sorted;
        for (auto it = at.cbegin(); it != at.cend(); ++it)
            sorted.append(it.value());
        std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) {
            return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        for (qsizetype i = 0; i < sorted.size() && i < m_crosshairTop; ++i)
            text += u'\n' + sorted[i].second + QStringLiteral(": ") + QLocale().toString(sorted[i].first, 'f', m_unit.isEmpty() ? 2 : 1)
                    + (m_unit.isEmpty() ? QString() : u' ' + m_unit);
        if (sorted.size() > m_crosshairTop)
            text += u'\n' + tr("… and %1 more").arg(sorted.size() - m_crosshairTop);
        return text;
    }
    for (const QLineSeries *series : m_series) {
        if (!series->isVisible() || series->count() == 0)
            continue;
        const QList<QPointF> points = series->points();
        const QPointF *it = &points.at(nearestPoint(points, xMs));
        const QVariant unit = series->property(unitProperty);
        text += u'\n' + series->name() + QStringLiteral(": ")
                + QLocale().toString(it->y(), 'f', 1) + u' ' + (unit.isValid() ? unit.toString() : m_unit);
    }
    if (const server::Gap *gap = gapAt(xMs))
        text += u'\n' + tr("gap: %1").arg(gap->reason);
    if (const server::Gap *gap = averagingGapEndingAt(xMs))
        text += u'\n' + tr("averaged over %1 s (the gap before it)")
                           .arg(QLocale().toString(double(gap->endMs - gap->startMs) / 1000.0, 'f', 1));
    return text;
}

void HistoryChartView::applyRange(qint64 fromMs, qint64 toMs)
{
    setXRange(fromMs, toMs);
    Q_EMIT userRangeChanged(m_fromMs, m_toMs);
}

void HistoryChartView::wheelEvent(QWheelEvent *event)
{
    const int delta = event->angleDelta().y();
    if (delta == 0)
        return QChartView::wheelEvent(event);
    const double factor = delta > 0 ? 0.8 : 1.25;
    const double center = std::clamp(xAtViewPos(event->position()), double(m_fromMs), double(m_toMs));
    const double from = center - (center - double(m_fromMs)) * factor;
    const double to = center + (double(m_toMs) - center) * factor;
    // Below 10 s nothing more can be seen at 1 s sampling.
    if (to - from < 10000)
        return;
    applyRange(qint64(from), qint64(to));
    event->accept();
}

void HistoryChartView::mousePressEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton && chart()->plotArea().contains(event->position())) {
        m_dragStart = event->position().toPoint();
        m_dragFrom = m_fromMs;
        m_dragTo = m_toMs;
        setCursor(Qt::ClosedHandCursor);
        event->accept();
        return;
    }
    QChartView::mousePressEvent(event);
}

void HistoryChartView::mouseMoveEvent(QMouseEvent *event)
{
    m_crosshair = event->position();
    if (m_dragStart) {
        const double perPixel = double(m_dragTo - m_dragFrom) / std::max(1.0, chart()->plotArea().width());
        const qint64 shift = qint64((event->position().x() - m_dragStart->x()) * perPixel);
        setXRange(m_dragFrom - shift, m_dragTo - shift);
    }
    const double x = xAtViewPos(event->position());
    if (const server::Gap *gap = gapAt(x); gap && chart()->plotArea().contains(event->position())) {
        const QLocale locale;
        QToolTip::showText(event->globalPosition().toPoint(),
                           tr("%1\n%2 – %3\n≈%4 samples missing")
                               .arg(gap->reason,
                                    locale.toString(QDateTime::fromMSecsSinceEpoch(gap->startMs),
                                                    QLocale::ShortFormat),
                                    locale.toString(QDateTime::fromMSecsSinceEpoch(gap->endMs),
                                                    QLocale::ShortFormat))
                               .arg(gap->samplesLost),
                           this);
    } else {
        QToolTip::hideText();
    }
    viewport()->update();
    QChartView::mouseMoveEvent(event);
}

void HistoryChartView::mouseReleaseEvent(QMouseEvent *event)
{
    if (m_dragStart && event->button() == Qt::LeftButton) {
        const bool moved = (event->position().toPoint() - *m_dragStart).manhattanLength() > 2;
        m_dragStart.reset();
        unsetCursor();
        if (moved)
            Q_EMIT userRangeChanged(m_fromMs, m_toMs);
        event->accept();
        return;
    }
    QChartView::mouseReleaseEvent(event);
}

void HistoryChartView::mouseDoubleClickEvent(QMouseEvent *event)
{
    Q_EMIT resetRequested();
    event->accept();
}

void HistoryChartView::leaveEvent(QEvent *event)
{
    m_crosshair.reset();
    viewport()->update();
    QChartView::leaveEvent(event);
}

void HistoryChartView::drawForeground(QPainter *painter, const QRectF &rect)
{
    QChartView::drawForeground(painter, rect);
    const QRectF plot = chart()->plotArea();
    painter->save();
    painter->setClipRect(plot);
    // Gap bands. Their inside is first painted over with the chart's background: no line is
    // drawn through a gap (nothing was measured there; the segment joining the samples on its
    // edges would invent values). Then a translucent tint and dashed edges.
    const QColor gapFill(214, 69, 65, 48);
    const QColor gapEdge(214, 69, 65, 140);
    const QBrush background = chart()->backgroundBrush();
    for (const server::Gap &gap : m_gaps) {
        if (gap.endMs < m_fromMs || gap.startMs > m_toMs)
            continue;
        QAbstractSeries *ref = m_series.isEmpty() ? nullptr : m_series.first();
        const double x0 = chart()->mapToPosition(QPointF(double(gap.startMs), 0), ref).x();
        double x1 = chart()->mapToPosition(QPointF(double(gap.endMs), 0), ref).x();
        x1 = std::max(x1, x0 + 2); // a short gap over a long range is still visible
        const QRectF band(x0, plot.top(), x1 - x0, plot.height());
        // Expired raw samples are no hole: the rollups draw that range, so it is only tinted.
        const bool expired = gap.reason == u"expired";
        if (band.width() > 2 && !expired)
            painter->fillRect(band.adjusted(1, 0, -1, 0), background);
        painter->fillRect(band, expired ? QColor(120, 120, 160, 28) : gapFill);
        painter->setPen(QPen(expired ? QColor(120, 120, 160, 120) : gapEdge, 1, Qt::DashLine));
        painter->drawLine(QPointF(x0, plot.top()), QPointF(x0, plot.bottom()));
        painter->drawLine(QPointF(x1, plot.top()), QPointF(x1, plot.bottom()));
        if (band.width() > 60) {
            painter->setPen(palette().color(QPalette::Text));
            painter->drawText(band.adjusted(4, 4, -4, -4), Qt::AlignTop | Qt::AlignHCenter | Qt::TextWordWrap,
                              expired ? tr("raw samples expired: per-minute or per-hour min/max") : gap.reason);
        }
    }
    if (m_crosshair && !m_dragStart) {
        const QPointF scenePos = mapToScene(m_crosshair->toPoint());
        if (plot.contains(scenePos)) {
            painter->setPen(QPen(palette().color(QPalette::Text), 1, Qt::DotLine));
            painter->drawLine(QPointF(scenePos.x(), plot.top()), QPointF(scenePos.x(), plot.bottom()));
            painter->drawLine(QPointF(plot.left(), scenePos.y()), QPointF(plot.right(), scenePos.y()));
            const QString text = valuesAt(xAtViewPos(*m_crosshair));
            const QFontMetrics fm(font());
            QRectF box = fm.boundingRect(QRect(0, 0, 400, 400), Qt::AlignLeft, text);
            box.adjust(-6, -4, 6, 4);
            // Keep the box inside the plot: right of the cursor unless that would clip.
            QPointF at(scenePos.x() + 12, scenePos.y() + 12);
            if (at.x() + box.width() > plot.right())
                at.setX(scenePos.x() - 12 - box.width());
            if (at.y() + box.height() > plot.bottom())
                at.setY(std::max(plot.top(), plot.bottom() - box.height()));
            box.moveTopLeft(at);
            QColor bg = palette().color(QPalette::ToolTipBase);
            bg.setAlpha(230);
            painter->setClipping(false);
            painter->fillRect(box, bg);
            painter->setPen(palette().color(QPalette::ToolTipText));
            painter->drawRect(box);
            painter->drawText(box.adjusted(6, 4, -6, -4), Qt::AlignLeft | Qt::AlignTop, text);
        }
    }
    painter->restore();
}

QString HistoryChartView::axisFormat() const
{
    return m_axisX->format();
}

int HistoryChartView::axisTicks() const
{
    return m_axisX->tickCount();
}

void HistoryChartView::applyPalette()
{
    // Follow the application's palette (system, light or dark) instead of a Qt Charts theme.
    const QPalette pal = palette();
    chart()->setBackgroundBrush(pal.brush(QPalette::Base));
    chart()->setTitleBrush(pal.brush(QPalette::Text));
    chart()->legend()->setLabelColor(pal.color(QPalette::Text));
    for (QAbstractAxis *axis : {static_cast<QAbstractAxis *>(m_axisX), static_cast<QAbstractAxis *>(m_axisY),
                                static_cast<QAbstractAxis *>(m_axisRight)}) {
        if (!axis)
            continue;
        axis->setLabelsBrush(pal.brush(QPalette::Text));
        axis->setTitleBrush(pal.brush(QPalette::Text));
        axis->setGridLineColor(pal.color(QPalette::Mid));
        axis->setLinePenColor(pal.color(QPalette::Mid));
    }
}

void HistoryChartView::changeEvent(QEvent *event)
{
    QChartView::changeEvent(event);
    if (event->type() == QEvent::PaletteChange)
        applyPalette();
}

} // namespace autofact::dashboard
