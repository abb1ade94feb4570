// SPDX-License-Identifier: MIT
// The health rule on its own, with the clock given: every state and its edges.
#include "clienthealth.h"

#include <QTest>

using namespace autofact::server;

Q_DECLARE_METATYPE(autofact::server::HealthInputs)

class TestClientHealth : public QObject
{
    Q_OBJECT

private slots:
    void classify_data()
    {
        QTest::addColumn<HealthInputs>("in");
        QTest::addColumn<qint64>("now");
        QTest::addColumn<QString>("expected");
        constexpr qint64 t = 1'700'000'000'000;
        const auto inputs = [](bool blocked, bool connected, bool hasData, qint64 lastData, qint64 send) {
            HealthInputs in;
            in.blocked = blocked;
            in.connected = connected;
            in.hasData = hasData;
            in.lastDataMs = lastData;
            in.sendIntervalMs = send;
            return in;
        };
        // At the default 5 s send interval, stale after 7.5 s without data.
        QTest::addRow("up: data 5 s ago") << inputs(false, true, true, t, 5000) << t + 5000 << QStringLiteral("up");
        QTest::addRow("up: 7.5 s is the edge") << inputs(false, true, true, t, 5000) << t + 7500 << QStringLiteral("up");
        QTest::addRow("stale: 7.501 s") << inputs(false, true, true, t, 5000) << t + 7501 << QStringLiteral("stale");
        // Fast sending: at least 1 s of slack, so jitter is not a hang.
        QTest::addRow("up: 1.2 s at 300 ms") << inputs(false, true, true, t, 300) << t + 1200 << QStringLiteral("up");
        QTest::addRow("stale: 1.4 s at 300 ms") << inputs(false, true, true, t, 300) << t + 1400 << QStringLiteral("stale");
        QTest::addRow("down: gone") << inputs(false, false, true, t, 5000) << t + 1000 << QStringLiteral("down");
        QTest::addRow("never seen: connected, nothing yet")
                << inputs(false, true, false, t, 5000) << t + 60'000 << QStringLiteral("never seen data");
        QTest::addRow("never seen: gone, nothing ever")
                << inputs(false, false, false, 0, 5000) << t << QStringLiteral("never seen data");
        QTest::addRow("blocked wins over everything")
                << inputs(true, true, true, t, 5000) << t << QStringLiteral("blocked");
    }

    void classify()
    {
        QFETCH(HealthInputs, in);
        QFETCH(qint64, now);
        QFETCH(QString, expected);
        QCOMPARE(healthName(classifyHealth(in, now)), expected);
    }

    void staleWithinTwoSendIntervals()
    {
        // A hang right after a batch arrived is reported before two send intervals have passed
        // (plus the hub's 0.5 s check), for every send interval the server accepts.
        for (const qint64 send : {100, 300, 1000, 5000, 60'000, 3'600'000}) {
            QVERIFY2(staleAfterMs(send) + 500 <= 2 * send + 1500,
                     qPrintable(QStringLiteral("send %1 ms: stale after %2 ms").arg(send).arg(staleAfterMs(send))));
            QVERIFY(staleAfterMs(send) > send); // one late batch is not a hang
        }
    }
};

QTEST_GUILESS_MAIN(TestClientHealth)
#include "tst_clienthealth.moc"
