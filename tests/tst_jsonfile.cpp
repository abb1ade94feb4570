// SPDX-License-Identifier: MIT
#include "jsonfile.h"

#include "testfiles.h"

#include <QFile>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <unistd.h>

using namespace autofact;

class TestJsonFile : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    QString write(const QString &name, const QByteArray &bytes)
    {
        return autofact::testdata::writeFile(m_dir.filePath(name), bytes);
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void saveThenLoad()
    {
        const QString path = m_dir.filePath(QStringLiteral("sub/dir/conf.json"));
        QJsonObject o{{QStringLiteral("server"), QStringLiteral("ws://127.0.0.1:1")},
                      {QStringLiteral("id"), QStringLiteral("abc")}};
        QCOMPARE(jsonfile::save(path, o), QString());
        QCOMPARE(QFile::permissions(path),
                 QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadUser
                     | QFileDevice::WriteUser);
        const auto r = jsonfile::load(path);
        QVERIFY2(r.ok(), qPrintable(r.error));
        QCOMPARE(*r.object, o);
    }

    void missingFile()
    {
        const auto r = jsonfile::load(m_dir.filePath(QStringLiteral("nope.json")));
        QVERIFY(!r.ok());
        QVERIFY(r.missing);
        QVERIFY(r.error.contains(QStringLiteral("nope.json")));
    }

    void badFiles_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("problem");
        QTest::addRow("truncated") << QByteArray("{\"server\": \"ws://x") << QStringLiteral("invalid JSON");
        QTest::addRow("garbage") << QByteArray("\x00\x01\x02garbage", 10) << QStringLiteral("invalid JSON");
        QTest::addRow("array") << QByteArray("[1,2]") << QStringLiteral("must be a JSON object");
        QTest::addRow("empty") << QByteArray() << QStringLiteral("invalid JSON");
        QTest::addRow("huge") << QByteArray(2 * 1024 * 1024, ' ') << QStringLiteral("over the");
    }
    void badFiles()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, problem);
        const QString path = write(QStringLiteral("bad-%1.json").arg(QLatin1StringView(QTest::currentDataTag())), bytes);
        const auto r = jsonfile::load(path);
        QVERIFY(!r.ok());
        QVERIFY(!r.missing);
        QVERIFY2(r.error.startsWith(path), qPrintable(r.error));
        QVERIFY2(r.error.contains(problem), qPrintable(r.error));
        QVERIFY(!r.error.contains(u'\n'));
    }

    void saveIntoUnwritableFolderFails()
    {
        if (geteuid() == 0)
            QSKIP("root can write anywhere");
        const QString path = QStringLiteral("/proc/autofact-cannot-write/x.json");
        QVERIFY(!jsonfile::save(path, QJsonObject()).isEmpty());
    }

    void saveIntoFileAsFolderFails()
    {
        // Works as root too: a regular file cannot be a folder.
        const QString blocker = write(QStringLiteral("blocker"), "x");
        const QString err = jsonfile::save(blocker + QStringLiteral("/x.json"), QJsonObject());
        QVERIFY(!err.isEmpty());
        QVERIFY(err.contains(QStringLiteral("x.json")));
    }
};

QTEST_GUILESS_MAIN(TestJsonFile)
#include "tst_jsonfile.moc"
