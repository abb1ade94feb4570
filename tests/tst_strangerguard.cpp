// SPDX-License-Identifier: MIT
// What strangers may cost: caps per address and in all, growing waits after failures, and
// warnings summarised per interval.
#include "strangerguard.h"
#include "warningsummary.h"

#include <QTest>

using namespace autofact::server;

class TestStrangerGuard : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void capsPerAddressAndInAll()
    {
        StrangerLimits limits;
        limits.maxPerAddress = 2;
        limits.maxTotal = 3;
        StrangerGuard guard(limits);
        const QHostAddress a(QStringLiteral("192.0.2.1"));
        const QHostAddress b(QStringLiteral("192.0.2.2"));
        QString why;
        QVERIFY(guard.admit(a, &why));
        QVERIFY(guard.admit(a, &why));
        QVERIFY(!guard.admit(a, &why));
        QVERIFY(why.contains(QStringLiteral("from this address")));
        QVERIFY(guard.admit(b, &why));
        QVERIFY(!guard.admit(b, &why)); // three in all
        QVERIFY(why.contains(QStringLiteral("waiting to authenticate")));
        guard.leave(a);
        QCOMPARE(guard.strangers(), 2);
        QVERIFY(guard.admit(b, &why));
        // Leaving more often than admitted never goes below zero.
        guard.leave(QHostAddress(QStringLiteral("192.0.2.9")));
        QCOMPARE(guard.strangers(), 3);
    }

    void addressesAreGroupedAsHostsOwnThem()
    {
        StrangerLimits limits;
        limits.maxPerAddress = 2;
        StrangerGuard guard(limits);
        QString why;
        // IPv4 and its IPv4-mapped IPv6 form are one host.
        QVERIFY(guard.admit(QHostAddress(QStringLiteral("192.0.2.1")), &why));
        QVERIFY(guard.admit(QHostAddress(QStringLiteral("::ffff:192.0.2.1")), &why));
        QVERIFY(!guard.admit(QHostAddress(QStringLiteral("192.0.2.1")), &why));
        // One IPv6 /64 is one host, whichever of its addresses it uses.
        QVERIFY(guard.admit(QHostAddress(QStringLiteral("2001:db8:1:2::1")), &why));
        QVERIFY(guard.admit(QHostAddress(QStringLiteral("2001:db8:1:2:ffff::7")), &why));
        QVERIFY(!guard.admit(QHostAddress(QStringLiteral("2001:db8:1:2:abcd::9")), &why));
        QVERIFY(guard.admit(QHostAddress(QStringLiteral("2001:db8:1:3::1")), &why));
    }

    void failuresMakeAnAddressWaitLongerEachTime()
    {
        StrangerLimits limits; // 5 free, then 1 s doubling up to 5 min
        StrangerGuard guard(limits);
        const QHostAddress a(QStringLiteral("198.51.100.7"));
        const QHostAddress other(QStringLiteral("198.51.100.8"));
        qint64 now = 1000;
        for (int i = 0; i < 4; ++i) {
            guard.recordFailure(a, now);
            QVERIFY(!guard.mustWaitMs(a, now));
        }
        guard.recordFailure(a, now); // the fifth: the next attempt waits
        QCOMPARE(guard.mustWaitMs(a, now).value_or(-1), 1000);
        QVERIFY(!guard.mustWaitMs(other, now));
        QVERIFY(!guard.mustWaitMs(a, now + 1000));
        now += 1000;
        guard.recordFailure(a, now);
        QCOMPARE(guard.mustWaitMs(a, now).value_or(-1), 2000);
        now += 2000;
        guard.recordFailure(a, now);
        QCOMPARE(guard.mustWaitMs(a, now).value_or(-1), 4000);
        for (int i = 0; i < 30; ++i)
            guard.recordFailure(a, now);
        QCOMPARE(guard.mustWaitMs(a, now).value_or(-1), limits.maxDelayMs);
        // Quiet for longer than forgetAfterMs: a fresh start with free failures again.
        now += limits.maxDelayMs + limits.forgetAfterMs + 1;
        guard.recordFailure(a, now);
        QVERIFY(!guard.mustWaitMs(a, now));
        guard.prune(now + limits.forgetAfterMs + 1);
        QCOMPARE(guard.trackedAddresses(), 0);
    }

    void loopbackSkipsPerAddressLimitsButNotTheTotal()
    {
        StrangerLimits limits;
        limits.maxPerAddress = 1;
        limits.maxTotal = 3;
        StrangerGuard guard(limits);
        QString why;
        const QHostAddress local(QHostAddress::LocalHost);
        QVERIFY(guard.admit(local, &why));
        QVERIFY(guard.admit(local, &why));
        QVERIFY(guard.admit(QHostAddress(QHostAddress::LocalHostIPv6), &why));
        QVERIFY(!guard.admit(local, &why)); // the total still holds
        for (int i = 0; i < 20; ++i)
            guard.recordFailure(local, 1000);
        QVERIFY(!guard.mustWaitMs(local, 1000));
        limits.exemptLoopback = false;
        StrangerGuard strict(limits);
        QVERIFY(strict.admit(local, &why));
        QVERIFY(!strict.admit(local, &why));
    }

    void warningsAreSummarisedPerInterval()
    {
        QStringList lines;
        WarningSummary summary([&lines](const QString &line) { lines.append(line); });
        summary.note(QStringLiteral("bad secret"), QStringLiteral("192.0.2.1"), QStringLiteral("refusing 192.0.2.1: bad secret"));
        for (int i = 0; i < 480; ++i)
            summary.note(QStringLiteral("bad secret"), QStringLiteral("192.0.2.1"), QStringLiteral("x"));
        for (int i = 0; i < 19; ++i)
            summary.note(QStringLiteral("bad secret"), QStringLiteral("192.0.2.2"), QStringLiteral("x"));
        summary.note(QStringLiteral("rate limited"), QStringLiteral("192.0.2.3"), QStringLiteral("refusing 192.0.2.3: rate limited"));
        QCOMPARE(lines, QStringList({QStringLiteral("refusing 192.0.2.1: bad secret"),
                                     QStringLiteral("refusing 192.0.2.3: rate limited")}));
        summary.flush(10);
        QCOMPARE(lines.size(), 3); // one summary: "rate limited" had nothing more
        QCOMPARE(lines.last(), QStringLiteral("bad secret: 499 more in the last 10 s from 2 address(es), most from 192.0.2.1 (480)"));
        // A new interval logs its first event at once again; a quiet one logs nothing.
        summary.note(QStringLiteral("bad secret"), QStringLiteral("192.0.2.1"), QStringLiteral("again"));
        QCOMPARE(lines.last(), QStringLiteral("again"));
        summary.flush(10);
        summary.flush(10);
        QCOMPARE(lines.size(), 4);
    }
};

QTEST_GUILESS_MAIN(TestStrangerGuard)
#include "tst_strangerguard.moc"
