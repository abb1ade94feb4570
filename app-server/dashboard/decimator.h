// SPDX-License-Identifier: MIT
#pragma once

#include <QList>
#include <QPointF>

#include <cstddef>
#include <span>

namespace autofact::dashboard {

/**
 * Reduces a time series to what a chart of a given width can show: for every pixel column
 * it keeps the point with the smallest and the one with the largest y (in x order), plus the
 * very first and very last points of the series. Drawn as a line, the result covers exactly
 * the same pixels as the full series, at about two points per column (Qt Charts spends its
 * time per point, see FIELD-NOTES.md).
 *
 * Streaming: feed points in ascending x with add(); memory stays O(columns) whatever the
 * number of points, so a history reader can decimate while it walks the database.
 */
class Decimator
{
public:
    /**
     * @p columns buckets of equal width over [@p xMin, @p xMax]; points outside fall into the
     * first or last bucket. A @p columns below 1 is treated as 1.
     */
    Decimator(double xMin, double xMax, int columns);

    /** Adds the next point; x must not decrease. */
    void add(double x, double y);
    /** Number of points added so far. */
    std::size_t inputCount() const { return m_count; }
    /** Finishes and returns the decimated points (in x order); the decimator is then empty. */
    QList<QPointF> take();

    /** One-shot helper over a complete series. */
    static QList<QPointF> decimate(std::span<const QPointF> points, double xMin, double xMax,
                                   int columns);

private:
    void flushColumn();
    void emitPoint(std::size_t index, QPointF point);

    double m_xMin = 0;
    double m_scale = 0; ///< columns per x unit
    int m_columns = 1;
    int m_column = -1; ///< bucket being filled; -1 before the first point
    std::size_t m_count = 0;
    std::size_t m_lastEmitted = std::size_t(-1); ///< index of the last point in m_out
    // Current bucket: the indices identify points, so a point that is both min and max (or
    // also first) is emitted once.
    std::size_t m_minIndex = 0, m_maxIndex = 0;
    QPointF m_min, m_max;
    std::size_t m_lastIndex = 0;
    QPointF m_last;
    QList<QPointF> m_out;
};

} // namespace autofact::dashboard
