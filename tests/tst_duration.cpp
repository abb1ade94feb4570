// SPDX-License-Identifier: MIT
#include "duration.h"

#include <QTest>

using namespace autofact;
using namespace std::chrono_literals;

class TestDuration : public QObject
{
    Q_OBJECT
private slots:
    void parseGood_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("ms");
        QTest::addRow("ms") << QStringLiteral("250ms") << qint64(250);
        QTest::addRow("s") << QStringLiteral("5s") << qint64(5000);
        QTest::addRow("m") << QStringLiteral("15m") << qint64(900000);
        QTest::addRow("h") << QStringLiteral("1h") << qint64(3600000);
        QTest::addRow("d") << QStringLiteral("7d") << qint64(604800000);
        QTest::addRow("compound") << QStringLiteral("1h30m") << qint64(5400000);
        QTest::addRow("fraction") << QStringLiteral("1.5s") << qint64(1500);
        QTest::addRow("spaces") << QStringLiteral("  2s ") << qint64(2000);
        QTest::addRow("zero") << QStringLiteral("0s") << qint64(0);
    }
    void parseGood()
    {
        QFETCH(QString, text);
        QFETCH(qint64, ms);
        const auto parsed = duration::parse(text);
        QVERIFY(parsed.has_value());
        QCOMPARE(parsed->count(), ms);
    }

    void parseBad_data()
    {
        QTest::addColumn<QString>("text");
        for (const char *bad : {"", "5", "s", "5x", "-5s", "5s5", "1..5s", "ms", "5 s", "1e9999h",
                                "99999999999999999999d"})
            QTest::addRow("%s", bad) << QString::fromLatin1(bad);
    }
    void parseBad()
    {
        QFETCH(QString, text);
        QVERIFY(!duration::parse(text).has_value());
    }

    void format_data()
    {
        QTest::addColumn<qint64>("ms");
        QTest::addColumn<QString>("text");
        QTest::addRow("zero") << qint64(0) << QStringLiteral("0s");
        QTest::addRow("ms") << qint64(250) << QStringLiteral("250ms");
        QTest::addRow("s") << qint64(5000) << QStringLiteral("5s");
        QTest::addRow("mixed") << qint64(90500) << QStringLiteral("1m30s500ms");
        QTest::addRow("h") << qint64(7200000) << QStringLiteral("2h");
        QTest::addRow("d") << qint64(129600000) << QStringLiteral("1d12h");
    }
    void format()
    {
        QFETCH(qint64, ms);
        QFETCH(QString, text);
        QCOMPARE(duration::format(std::chrono::milliseconds(ms)), text);
        QCOMPARE(duration::parse(text)->count(), ms);
    }
};

QTEST_GUILESS_MAIN(TestDuration)
#include "tst_duration.moc"
