// SPDX-License-Identifier: MIT
#include "decimator.h"

#include <algorithm>
#include <cmath>

namespace autofact::dashboard {

Decimator::Decimator(double xMin, double xMax, int columns)
    : m_xMin(xMin)
    , m_columns(std::max(1, columns))
{
    const double width = xMax - xMin;
    m_scale = width > 0 ? m_columns / width : 0;
    m_out.reserve(2 * m_columns + 2);
}

void Decimator::add(double x, double y)
{
    const std::size_t index = m_count++;
    const QPointF point(x, y);
    const double position = (x - m_xMin) * m_scale;
    const int column = std::clamp(int(std::floor(position)), 0, m_columns - 1);
    if (index == 0) {
        // The first point is always kept, so a line starts where the data starts.
        emitPoint(index, point);
    }
    if (column != m_column) {
        if (m_column >= 0)
            flushColumn();
        m_column = column;
        m_minIndex = m_maxIndex = index;
        m_min = m_max = point;
    } else {
        if (y < m_min.y()) {
            m_min = point;
            m_minIndex = index;
        }
        if (y > m_max.y()) {
            m_max = point;
            m_maxIndex = index;
        }
    }
    m_lastIndex = index;
    m_last = point;
}

void Decimator::flushColumn()
{
    if (m_minIndex <= m_maxIndex) {
        emitPoint(m_minIndex, m_min);
        emitPoint(m_maxIndex, m_max);
    } else {
        emitPoint(m_maxIndex, m_max);
        emitPoint(m_minIndex, m_min);
    }
}

void Decimator::emitPoint(std::size_t index, QPointF point)
{
    if (m_lastEmitted != std::size_t(-1) && index <= m_lastEmitted)
        return;
    m_out.append(point);
    m_lastEmitted = index;
}

QList<QPointF> Decimator::take()
{
    if (m_count > 0) {
        flushColumn();
        emitPoint(m_lastIndex, m_last);
    }
    QList<QPointF> out = std::move(m_out);
    m_out = {};
    m_column = -1;
    m_count = 0;
    m_lastEmitted = std::size_t(-1);
    return out;
}

QList<QPointF> Decimator::decimate(std::span<const QPointF> points, double xMin, double xMax,
                                   int columns)
{
    Decimator decimator(xMin, xMax, columns);
    for (const QPointF &p : points)
        decimator.add(p.x(), p.y());
    return decimator.take();
}

} // namespace autofact::dashboard
