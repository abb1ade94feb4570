// SPDX-License-Identifier: MIT
// Decimator: min/max per pixel column, first and last points kept.
#include "decimator.h"

#include <QRandomGenerator>
#include <QTest>

#include <cmath>
#include <vector>

using autofact::dashboard::Decimator;

namespace {
std::vector<QPointF> randomWalk(int count, quint32 seed)
{
    QRandomGenerator rng(seed);
    std::vector<QPointF> points;
    points.reserve(std::size_t(count));
    double y = 50;
    for (int i = 0; i < count; ++i) {
        y = std::clamp(y + rng.bounded(10.0) - 5.0, 0.0, 100.0);
        points.emplace_back(1000.0 * i, y);
    }
    return points;
}

int columnOf(double x, double xMin, double xMax, int columns)
{
    return std::clamp(int(std::floor((x - xMin) * columns / (xMax - xMin))), 0, columns - 1);
}
} // namespace

class TestDecimator : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void empty()
    {
        Decimator d(0, 100, 10);
        QVERIFY(d.take().isEmpty());
        QVERIFY(Decimator::decimate({}, 0, 100, 10).isEmpty());
    }

    void singlePoint()
    {
        const std::vector<QPointF> one{{42, 7}};
        const QList<QPointF> out = Decimator::decimate(one, 0, 100, 10);
        QCOMPARE(out.size(), 1);
        QCOMPARE(out.first(), QPointF(42, 7));
    }

    void fewPointsPassThrough()
    {
        // At most two points per column: nothing needs dropping.
        const std::vector<QPointF> in{{0, 1}, {10, 5}, {20, 3}, {30, 9}};
        const QList<QPointF> out = Decimator::decimate(in, 0, 40, 4);
        QCOMPARE(out, QList<QPointF>(in.begin(), in.end()));
    }

    void minMaxPerColumn_data()
    {
        QTest::addColumn<int>("count");
        QTest::addColumn<int>("columns");
        QTest::addColumn<quint32>("seed");
        QTest::addRow("600k into 1200") << 600000 << 1200 << 1u;
        QTest::addRow("10k into 1000") << 10000 << 1000 << 2u;
        QTest::addRow("1001 into 7") << 1001 << 7 << 3u;
        QTest::addRow("1 column") << 5000 << 1 << 4u;
    }

    void minMaxPerColumn()
    {
        QFETCH(int, count);
        QFETCH(int, columns);
        QFETCH(quint32, seed);
        const std::vector<QPointF> in = randomWalk(count, seed);
        const double xMin = in.front().x();
        const double xMax = in.back().x();
        const QList<QPointF> out = Decimator::decimate(in, xMin, xMax, columns);

        QVERIFY(out.size() <= 2 * columns + 2);
        QCOMPARE(out.first(), in.front());
        QCOMPARE(out.last(), in.back());
        for (qsizetype i = 1; i < out.size(); ++i)
            QVERIFY2(out[i - 1].x() < out[i].x(), "output must be strictly increasing in x");

        // Exact extremes of every column survive (same point, not an approximation).
        std::vector<double> inMin(std::size_t(columns), 1e300), inMax(std::size_t(columns), -1e300);
        std::vector<double> outMin = inMin, outMax = inMax;
        for (const QPointF &p : in) {
            const auto c = std::size_t(columnOf(p.x(), xMin, xMax, columns));
            inMin[c] = std::min(inMin[c], p.y());
            inMax[c] = std::max(inMax[c], p.y());
        }
        for (const QPointF &p : out) {
            const auto c = std::size_t(columnOf(p.x(), xMin, xMax, columns));
            outMin[c] = std::min(outMin[c], p.y());
            outMax[c] = std::max(outMax[c], p.y());
        }
        QCOMPARE(outMin, inMin);
        QCOMPARE(outMax, inMax);
        // Every output point is an input point.
        for (const QPointF &p : out) {
            const auto index = std::size_t(p.x() / 1000.0);
            QCOMPARE(in[index], p);
        }
    }

    void spikeSurvives()
    {
        // A one-sample spike in a flat week must reach the chart.
        std::vector<QPointF> in;
        for (int i = 0; i < 100000; ++i)
            in.emplace_back(i, i == 54321 ? 100.0 : 1.0);
        const QList<QPointF> out = Decimator::decimate(in, 0, 99999, 500);
        QVERIFY(out.contains(QPointF(54321, 100.0)));
    }

    void pointsOutsideRangeClamp()
    {
        const std::vector<QPointF> in{{-50, 1}, {-40, 9}, {-30, 2}, {150, 3}, {160, 0}, {170, 4}};
        const QList<QPointF> out = Decimator::decimate(in, 0, 100, 10);
        QCOMPARE(out.first(), QPointF(-50, 1));
        QCOMPARE(out.last(), QPointF(170, 4));
        QVERIFY(out.contains(QPointF(-40, 9)));
        QVERIFY(out.contains(QPointF(160, 0)));
    }

    void reusableAfterTake()
    {
        Decimator d(0, 10, 5);
        d.add(1, 1);
        d.add(2, 2);
        QCOMPARE(d.take().size(), 2);
        QCOMPARE(d.inputCount(), std::size_t(0));
        d.add(3, 3);
        QCOMPARE(d.take(), QList<QPointF>{QPointF(3, 3)});
    }
};

QTEST_GUILESS_MAIN(TestDecimator)
#include "tst_decimator.moc"
