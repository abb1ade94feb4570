// SPDX-License-Identifier: MIT
#pragma once

#include "store/storetypes.h"

#include <QChartView>
#include <QList>
#include <QPointF>

#include <optional>

class QDateTimeAxis;
class QLineSeries;
class QValueAxis;

namespace autofact::dashboard {

/**
 * A time chart for history: x is milliseconds since the epoch. Adds what QChartView lacks:
 * wheel zoom around the cursor, drag to pan, a crosshair with the value of every visible
 * series under the cursor, and shaded bands for gaps (reason in a tooltip).
 *
 * Data is set in whole series with replacePoints() (QXYSeries::replace), never point by point.
 */
class HistoryChartView : public QChartView
{
    Q_OBJECT
public:
    explicit HistoryChartView(const QString &title, const QString &unit, QWidget *parent = nullptr);

    /** Adds a line series; it is shown in the legend unless @p inLegend is false. */
    QLineSeries *addSeries(const QString &name, const QColor &color, bool inLegend = true);
    /**
     * Adds a line series on a second value axis at the right, with its own @p unit and range
     * [@p min, @p max] (disk busy % beside bytes/s). The crosshair gives its value in that unit.
     */
    QLineSeries *addRightAxisSeries(const QString &name, const QColor &color, const QString &unit, double min,
                                    double max);
    /** Removes series added after the first @p keep ones (per-core lines are rebuilt). */
    void truncateSeries(int keep);
    /** Fills @p series in one go. */
    static void replacePoints(QLineSeries *series, const QList<QPointF> &points);
    QList<QLineSeries *> series() const { return m_series; }

    void setXRange(qint64 fromMs, qint64 toMs);
    qint64 xFrom() const { return m_fromMs; }
    qint64 xTo() const { return m_toMs; }
    /** Colours from the widget's palette: background, text, grid (also on a theme change). */
    void applyPalette();
    /** The time axis' label format and tick count (tests). */
    QString axisFormat() const;
    int axisTicks() const;
    void setYRange(double min, double max);
    /** The value axis' unit ("%", "" for a ratio); two decimals without one. */
    void setUnit(const QString &unit);
    /** The value axis' printf-style label format (after setUnit(), which sets one). */
    void setLabelFormat(const QString &format);
    void setGaps(const QList<server::Gap> &gaps);
    const QList<server::Gap> &gaps() const { return m_gaps; }

    /** Width of the plot area in device-independent pixels: the decimation target. */
    int plotWidth() const;
    /**
     * Many lines (one per host): the crosshair lists only series that have data at its x (a
     * host's line broken at a gap is several series of one name), highest first, at most
     * @p count of them. 0 (the default) lists every visible series.
     */
    void setCrosshairTop(int count) { m_crosshairTop = count; }
    /**
     * Series properties the crosshair reads when set: the name as plain text (a series' name is
     * drawn as rich text in the legend, so it holds an escaped one), and a key that tells two
     * lines of one name apart (segments of one line share it).
     */
    static constexpr const char *plainNameProperty = "autofactPlainName";
    static constexpr const char *keyProperty = "autofactKey";
    /** Series property: the unit of a series on the right axis (the crosshair's text). */
    static constexpr const char *unitProperty = "autofactUnit";
    /** Text of the crosshair box at chart x @p xMs (also used by tests). */
    QString valuesAt(double xMs) const;

Q_SIGNALS:
    /** The user zoomed or panned; the owner reloads at the new resolution. */
    void userRangeChanged(qint64 fromMs, qint64 toMs);
    /** Double-click: back to the chosen range. */
    void resetRequested();

protected:
    void wheelEvent(QWheelEvent *event) override;
    void changeEvent(QEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void drawForeground(QPainter *painter, const QRectF &rect) override;

private:
    double xAtViewPos(QPointF viewPos) const;
    const server::Gap *gapAt(double xMs) const;
    /** An "agent stalled"/"sampling late" gap ending on the sample nearest @p xMs, if any. */
    const server::Gap *averagingGapEndingAt(double xMs) const;
    void applyRange(qint64 fromMs, qint64 toMs);

    QDateTimeAxis *m_axisX = nullptr;
    QValueAxis *m_axisY = nullptr;
    QValueAxis *m_axisRight = nullptr; ///< created by the first addRightAxisSeries()
    QString m_unit;
    QList<QLineSeries *> m_series;
    QList<server::Gap> m_gaps;
    qint64 m_fromMs = 0;
    qint64 m_toMs = 1;
    std::optional<QPointF> m_crosshair; ///< view position
    int m_crosshairTop = 0;
    std::optional<QPoint> m_dragStart;
    qint64 m_dragFrom = 0;
    qint64 m_dragTo = 0;
};

} // namespace autofact::dashboard
