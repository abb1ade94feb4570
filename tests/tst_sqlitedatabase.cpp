// SPDX-License-Identifier: MIT
#include "spool/sqlitedatabase.h"
#include "spool/sqlitestatement.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

#include <limits>

using namespace autofact::agent;
using Step = SqliteStatement::Step;

class TestSqliteDatabase : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    int m_case = 0;
    QString freshPath() { return m_dir.filePath(QStringLiteral("db-%1.sqlite").arg(++m_case)); }

    static std::int64_t scalar(const SqliteDatabase &db, const char *sql)
    {
        SqliteStatement q;
        if (!q.prepare(db, sql) || q.step() != Step::Row)
            return -1;
        return q.columnInt64(0);
    }

private slots:
    void opensLikeQtSqlDriver()
    {
        // The spool's files and waits must not change with the move away from QSQLITE:
        // created on demand, 5 s busy timeout, extended result codes.
        const QString path = freshPath();
        SqliteDatabase db;
        QVERIFY(db.open(path));
        QVERIFY(db.isOpen());
        QVERIFY(QFile::exists(path));
        QCOMPARE(scalar(db, "PRAGMA busy_timeout"), std::int64_t(5000));
        QVERIFY(db.exec("CREATE TABLE t(v BLOB NOT NULL)"));
        SqliteStatement q;
        QVERIFY(q.prepare(db, "INSERT INTO t(v) VALUES (NULL)"));
        QCOMPARE(q.step(), Step::Error);
        QCOMPARE(q.resultCode(), SQLITE_CONSTRAINT_NOTNULL);
        QVERIFY2(q.errorString().contains(QStringLiteral("NOT NULL")), qPrintable(q.errorString()));
    }

    void openFailureKeepsTheReason()
    {
        SqliteDatabase db;
        QVERIFY(!db.open(m_dir.filePath(QStringLiteral("missing-folder/db.sqlite"))));
        QVERIFY(!db.isOpen());
        QCOMPARE(db.errorCode() & 0xff, SQLITE_CANTOPEN);
        QVERIFY2(db.errorString().contains(QStringLiteral("unable to open")), qPrintable(db.errorString()));
    }

    void closedDatabaseFailsCleanly()
    {
        SqliteDatabase db;
        QVERIFY(!db.exec("SELECT 1"));
        QCOMPARE(db.errorCode(), SQLITE_MISUSE);
        QCOMPARE(db.errorString(), QStringLiteral("database not open"));
        SqliteStatement q;
        QVERIFY(!q.prepare(db, "SELECT 1"));
        QCOMPARE(q.resultCode(), SQLITE_MISUSE);
        QCOMPARE(q.step(), Step::Error);
        QVERIFY(!q.bindInt64(1, 1));

        QVERIFY(db.open(freshPath()));
        db.close();
        QVERIFY(!db.isOpen());
        QVERIFY(!db.exec("SELECT 1"));
    }

    void badStatementIsReported_data()
    {
        QTest::addColumn<QByteArray>("sql");
        QTest::addColumn<int>("code");
        QTest::addColumn<QString>("message");
        QTest::addRow("syntax") << QByteArray("SELEC 1") << SQLITE_ERROR << QStringLiteral("syntax error");
        QTest::addRow("no such table") << QByteArray("SELECT * FROM nowhere") << SQLITE_ERROR
                                       << QStringLiteral("no such table");
        // Only the first statement would run: refused instead.
        QTest::addRow("two statements") << QByteArray("SELECT 1; SELECT 2") << SQLITE_MISUSE
                                        << QStringLiteral("one SQL statement");
        QTest::addRow("empty") << QByteArray("  ") << SQLITE_MISUSE << QStringLiteral("one SQL statement");
    }

    void badStatementIsReported()
    {
        QFETCH(QByteArray, sql);
        QFETCH(int, code);
        QFETCH(QString, message);
        SqliteDatabase db;
        QVERIFY(db.open(freshPath()));
        SqliteStatement q;
        QVERIFY(!q.prepare(db, sql.constData()));
        QVERIFY(!q.isPrepared());
        QCOMPARE(q.resultCode(), code);
        QVERIFY2(q.errorString().contains(message), qPrintable(q.errorString()));
        QCOMPARE(q.step(), Step::Error);
    }

    void trailingWhitespaceIsOneStatement()
    {
        SqliteDatabase db;
        QVERIFY(db.open(freshPath()));
        SqliteStatement q;
        QVERIFY(q.prepare(db, "SELECT 42;  \n"));
        QCOMPARE(q.step(), Step::Row);
        QCOMPARE(q.columnInt64(0), std::int64_t(42));
        QCOMPARE(q.step(), Step::Done);
    }

    void valuesRoundTrip()
    {
        SqliteDatabase db;
        QVERIFY(db.open(freshPath()));
        QVERIFY(db.exec("CREATE TABLE t(i INTEGER, d REAL, b BLOB, s TEXT)"));
        const QByteArray blob("\0\1\2binary\xff", 10);
        const QString text = QStringLiteral("Grüße ✓");
        SqliteStatement insert;
        QVERIFY(insert.prepare(db, "INSERT INTO t(i, d, b, s) VALUES (?, ?, ?, ?)"));
        const std::int64_t ints[] = {std::numeric_limits<std::int64_t>::min(), -1, 0,
                                     std::numeric_limits<std::int64_t>::max()};
        for (std::int64_t i : ints) {
            QVERIFY(insert.bindInt64(1, i));
            QVERIFY(insert.bindDouble(2, 0.25));
            QVERIFY(insert.bindBlob(3, blob));
            QVERIFY(insert.bindText(4, text));
            QCOMPARE(insert.step(), Step::Done);
            insert.reset();
        }
        SqliteStatement select;
        QVERIFY(select.prepare(db, "SELECT i, d, b, s, typeof(b), typeof(s) FROM t ORDER BY rowid"));
        for (std::int64_t i : ints) {
            QCOMPARE(select.step(), Step::Row);
            QCOMPARE(select.columnInt64(0), i);
            QCOMPARE(select.columnText(1), QStringLiteral("0.25"));
            QCOMPARE(select.columnBlob(2), blob);
            QCOMPARE(select.columnText(3), text);
            QCOMPARE(select.columnText(4), QStringLiteral("blob"));
            QCOMPARE(select.columnText(5), QStringLiteral("text"));
        }
        QCOMPARE(select.step(), Step::Done);
    }

    void emptyBlobIsNotNull()
    {
        // The spool's blob columns are NOT NULL: an empty array must stay a zero-length blob.
        SqliteDatabase db;
        QVERIFY(db.open(freshPath()));
        QVERIFY(db.exec("CREATE TABLE t(b BLOB NOT NULL)"));
        SqliteStatement q;
        QVERIFY(q.prepare(db, "INSERT INTO t(b) VALUES (?)"));
        QVERIFY(q.bindBlob(1, QByteArray()));
        QCOMPARE(q.step(), Step::Done);
        q.reset();
        QVERIFY(q.bindBlob(1, QByteArray("")));
        QCOMPARE(q.step(), Step::Done);
        QCOMPARE(scalar(db, "SELECT count(*) FROM t WHERE typeof(b) = 'blob' AND length(b) = 0"), std::int64_t(2));
    }

    void resetReleasesBindings()
    {
        // A blob is bound without a copy; after reset() SQLite must not see it any more.
        SqliteDatabase db;
        QVERIFY(db.open(freshPath()));
        QVERIFY(db.exec("CREATE TABLE t(b BLOB NOT NULL)"));
        SqliteStatement q;
        QVERIFY(q.prepare(db, "INSERT INTO t(b) VALUES (?)"));
        {
            const QByteArray shortLived(64, 'x');
            QVERIFY(q.bindBlob(1, shortLived));
            QCOMPARE(q.step(), Step::Done);
            q.reset();
        }
        QCOMPARE(q.step(), Step::Error);
        QCOMPARE(q.resultCode(), SQLITE_CONSTRAINT_NOTNULL);
        q.reset();
        QCOMPARE(scalar(db, "SELECT count(*) FROM t"), std::int64_t(1));
    }

    void failedBindFailsTheStep()
    {
        SqliteDatabase db;
        QVERIFY(db.open(freshPath()));
        QVERIFY(db.exec("CREATE TABLE t(seq INTEGER)"));
        QVERIFY(db.exec("INSERT INTO t(seq) VALUES (1)"));
        SqliteStatement q;
        QVERIFY(q.prepare(db, "DELETE FROM t WHERE seq = ?"));
        QVERIFY(!q.bindInt64(2, 1)); // no second parameter
        QCOMPARE(q.resultCode(), SQLITE_RANGE);
        // Without the bind failing the step, this would run as "seq = NULL" and report success.
        QCOMPARE(q.step(), Step::Error);
        QCOMPARE(q.resultCode(), SQLITE_RANGE);
        QVERIFY(!q.errorString().isEmpty());
        q.reset();
        QVERIFY(q.bindInt64(1, 1));
        QCOMPARE(q.step(), Step::Done);
        QCOMPARE(scalar(db, "SELECT count(*) FROM t"), std::int64_t(0));
    }

    void errorStringOutlivesLaterCalls()
    {
        SqliteDatabase db;
        QVERIFY(db.open(freshPath()));
        QVERIFY(db.exec("CREATE TABLE t(v INTEGER PRIMARY KEY)"));
        SqliteStatement q;
        QVERIFY(q.prepare(db, "INSERT INTO t(v) VALUES (1)"));
        QCOMPARE(q.step(), Step::Done);
        q.reset();
        QCOMPARE(q.step(), Step::Error);
        QCOMPARE(q.resultCode(), SQLITE_CONSTRAINT_PRIMARYKEY);
        q.reset();
        QVERIFY(db.exec("SELECT 1"));
        QCOMPARE(db.errorString(), QStringLiteral("not an error"));
        QVERIFY2(q.errorString().contains(QStringLiteral("UNIQUE")), qPrintable(q.errorString()));
    }

    void notADatabaseIsReportedAsSuch()
    {
        // The spool moves a file aside only on SQLITE_NOTADB or SQLITE_CORRUPT: the code must
        // arrive unchanged from prepare.
        const QString path = freshPath();
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray(8192, 'z'));
        }
        SqliteDatabase db;
        QVERIFY(db.open(path)); // SQLite reads the header lazily
        SqliteStatement q;
        QVERIFY(!q.prepare(db, "PRAGMA quick_check"));
        QCOMPARE(q.resultCode(), SQLITE_NOTADB);
    }

    void moveTransfersTheStatement()
    {
        SqliteDatabase db;
        QVERIFY(db.open(freshPath()));
        SqliteStatement a;
        QVERIFY(a.prepare(db, "SELECT 7"));
        SqliteStatement b(std::move(a));
        QVERIFY(!a.isPrepared()); // NOLINT(bugprone-use-after-move): checking the moved-from state
        QVERIFY(b.isPrepared());
        QCOMPARE(QByteArray(b.sql()), QByteArray("SELECT 7"));
        SqliteStatement c;
        QVERIFY(c.prepare(db, "SELECT 8"));
        c = std::move(b);
        QCOMPARE(c.step(), Step::Row);
        QCOMPARE(c.columnInt64(0), std::int64_t(7));
        c.finalize();
        db.close(); // nothing left open on the connection
    }
};

QTEST_GUILESS_MAIN(TestSqliteDatabase)

#include "tst_sqlitedatabase.moc"
