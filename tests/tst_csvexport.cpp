// SPDX-License-Identifier: MIT
#include "csvexporter.h"
#include "servercommands.h"
#include "store/store.h"
#include "storetesting.h"
#include "testdata.h"
#include "timeargument.h"

#include <QBuffer>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <QTextStream>

using namespace autofact;
using namespace autofact::server;
using Status = Store::IngestResult::Status;

namespace {

constexpr qint64 kT0 = 1'700'000'000'000; // 2023-11-14T22:13:20.000Z

/**
 * A strict RFC 4180 parser: CRLF records, quoted fields with doubled quotes, CR/LF/commas
 * allowed inside quotes. Returns std::nullopt on anything malformed.
 */
std::optional<QList<QStringList>> parseCsv(const QByteArray &data)
{
    QList<QStringList> records;
    QStringList record;
    QByteArray field;
    qsizetype i = 0;
    const qsizetype n = data.size();
    if (n == 0)
        return records;
    while (true) {
        field.clear();
        if (i < n && data[i] == '"') {
            ++i;
            while (true) {
                if (i >= n)
                    return std::nullopt; // unterminated quote
                if (data[i] == '"') {
                    if (i + 1 < n && data[i + 1] == '"') {
                        field.append('"');
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field.append(data[i++]);
            }
        } else {
            while (i < n && data[i] != ',' && data[i] != '\r' && data[i] != '\n') {
                if (data[i] == '"')
                    return std::nullopt; // quote inside an unquoted field
                field.append(data[i++]);
            }
        }
        record.append(QString::fromUtf8(field));
        if (i < n && data[i] == ',') {
            ++i;
            continue;
        }
        if (i + 1 < n && data[i] == '\r' && data[i + 1] == '\n') {
            i += 2;
            records.append(record);
            record.clear();
            if (i == n)
                return records;
            continue;
        }
        return std::nullopt; // bare LF, bare CR, junk after a quoted field, or no final CRLF
    }
}

Hello makeHello(const QString &hostname)
{
    Hello h;
    h.hostname = hostname;
    h.osName = QStringLiteral("Debian");
    h.osVersion = QStringLiteral("12");
    return h;
}

/** Discards what it is given; counts bytes. For streaming tests that must not fill a disk. */
class CountingDevice : public QIODevice
{
public:
    qint64 bytes = 0;
    bool failAfter = false;
    qint64 limit = 0;
    CountingDevice() { open(QIODevice::WriteOnly); }

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *, qint64 len) override
    {
        if (failAfter && bytes + len > limit) {
            setErrorString(QStringLiteral("disk full (simulated)"));
            return -1;
        }
        bytes += len;
        return len;
    }
};

qint64 procStatusKiB(const char *key)
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray prefix = QByteArray(key) + ':';
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith(prefix))
            return line.mid(prefix.size()).trimmed().split(' ').front().toLongLong();
    }
    return -1;
}

} // namespace

class TestCsvExport : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_dbPath;
    QString m_idA, m_idB;

    static QString iso(qint64 ms)
    {
        return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
    }

    QByteArray exportBytes(Store &store, const CsvExporter::Options &options,
                           CsvExporter::Result *resultOut = nullptr)
    {
        QByteArray bytes;
        QBuffer buffer(&bytes);
        buffer.open(QIODevice::WriteOnly);
        CsvExporter exporter(store);
        const CsvExporter::Result r = exporter.exportTo(&buffer, options);
        if (resultOut)
            *resultOut = r;
        return bytes;
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_dbPath = m_dir.filePath(QStringLiteral("fixture.sqlite"));
        Store store(m_dbPath);
        QVERIFY_STORE(store.open());
        // A: hostname needing quotes; 2 batches, then an offline hour, then one more batch.
        m_idA = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("web,01 \"prod\"")),
                                   QStringLiteral("p"), kT0))
                        .clientId;
        m_idB = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("db-1")), QStringLiteral("p"), kT0))
                        .clientId;
        QVERIFY(!m_idA.isEmpty() && !m_idB.isEmpty());
        SampleBatch a1 = testdata::makeBatch(1, 10, 4, kT0);
        a1.droppedTotal = 0;
        SampleBatch a2 = testdata::makeBatch(2, 10, 4, kT0 + 10'000);
        a2.droppedTotal = 0;
        SampleBatch a3 = testdata::makeBatch(3, 10, 4, kT0 + 3600'000);
        a3.droppedTotal = 5; // offline and dropped: both reasons on the same row
        SampleBatch b1 = testdata::makeBatch(1, 5, 0, kT0);
        b1.droppedTotal = 0;
        // B froze for 20 s inside its batch (kill -STOP): its fourth sample ends the stall.
        for (std::size_t i = 3; i < b1.samples.size(); ++i)
            b1.samples[i].timestampMs += 20'000;
        const std::vector<Store::IngestItem> items{
                {m_idA, &a1}, {m_idA, &a2}, {m_idA, &a3}, {m_idB, &b1}};
        for (const auto &r : STORE_OK(store.ingest().write(items, kT0)))
            QCOMPARE(r.status, Status::Stored);
    }

    void header()
    {
        QCOMPARE(CsvExporter::headerLine(),
                 QByteArray("client_id,hostname,timestamp,sequence,cpu_user,cpu_nice,cpu_system,"
                            "cpu_idle,cpu_iowait,cpu_irq,cpu_softirq,cpu_steal,cpu_guest,"
                            "cpu_busy,mem_total,mem_free,mem_available,mem_buffers,mem_cached,"
                            "mem_used,swap_total,swap_free,load1,load5,load15,cores,gap_before,"
                            "gap_reason,averaged_over_s,source,samples,cpu_busy_min,cpu_busy_max,"
                            "mem_used_min,mem_used_max,load1_min,load1_max\r\n"));
    }

    void fieldQuoting_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QByteArray>("csv");
        QTest::addRow("plain") << QStringLiteral("web-1") << QByteArray("web-1");
        QTest::addRow("comma") << QStringLiteral("a,b") << QByteArray("\"a,b\"");
        QTest::addRow("quote") << QStringLiteral("say \"hi\"") << QByteArray("\"say \"\"hi\"\"\"");
        QTest::addRow("newline") << QStringLiteral("a\nb") << QByteArray("\"a\nb\"");
        QTest::addRow("cr") << QStringLiteral("a\rb") << QByteArray("\"a\rb\"");
        QTest::addRow("utf8") << QStringLiteral("hôte") << QByteArray("h\xc3\xb4te");
        QTest::addRow("empty") << QString() << QByteArray();
        // OWASP CSV injection: text a spreadsheet would run is neutralised, quoted.
        QTest::addRow("formula =") << QStringLiteral("=HYPERLINK(\"http://x\",\"y\")")
                                   << QByteArray("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
        QTest::addRow("formula +") << QStringLiteral("+1+cmd") << QByteArray("\"'+1+cmd\"");
        QTest::addRow("formula -") << QStringLiteral("-2+3") << QByteArray("\"'-2+3\"");
        QTest::addRow("formula @") << QStringLiteral("@SUM(A1)") << QByteArray("\"'@SUM(A1)\"");
        QTest::addRow("leading tab") << QStringLiteral("\t=1") << QByteArray("\"'\t=1\"");
        QTest::addRow("leading cr") << QStringLiteral("\r=1") << QByteArray("\"'\r=1\"");
        QTest::addRow("sign inside is fine") << QStringLiteral("web-1=a") << QByteArray("web-1=a");
    }
    void fieldQuoting()
    {
        QFETCH(QString, text);
        QFETCH(QByteArray, csv);
        QByteArray out;
        CsvExporter::appendField(out, text);
        QCOMPARE(out, csv);
    }

    void formulaHostnameIsTextAndNumbersStayNumbers()
    {
        // An agent chose its hostname; the spreadsheet that opens the export must not run it.
        QTemporaryDir dir;
        Store store(dir.filePath(QStringLiteral("formula.sqlite")));
        QVERIFY_STORE(store.open());
        const QString hostile = QStringLiteral("=cmd|' /C calc'!A0");
        const QString id = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(hostile), QStringLiteral("p"), kT0)).clientId;
        SampleBatch batch = testdata::makeBatch(1, 3, 2, kT0);
        batch.droppedTotal = 0;
        const std::vector<Store::IngestItem> items{{id, &batch}};
        QVERIFY_STORE(store.ingest().write(items, kT0));
        const QByteArray bytes = exportBytes(store, {});
        const auto records = parseCsv(bytes);
        QVERIFY(records);
        QCOMPARE(records->size(), 4);
        const QStringList header = records->front();
        const int cHost = int(header.indexOf(QStringLiteral("hostname")));
        const int cCpu = int(header.indexOf(QStringLiteral("cpu_user")));
        QVERIFY(cHost >= 0 && cCpu >= 0);
        for (qsizetype i = 1; i < records->size(); ++i) {
            QCOMPARE((*records)[i][cHost], u'\'' + hostile);
            bool isNumber = false;
            (*records)[i][cCpu].toDouble(&isNumber);
            QVERIFY2(isNumber, qPrintable((*records)[i][cCpu]));
        }
    }

    void negativeZeroIsWrittenAsZero()
    {
        // -0.0 is a valid per-core value on the wire (the codec allows it); "-0" in a CSV
        // reads as a different number to some tools.
        QTemporaryDir dir;
        Store store(dir.filePath(QStringLiteral("zero.sqlite")));
        QVERIFY_STORE(store.open());
        const QString id = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("z")), QStringLiteral("p"), kT0)).clientId;
        SampleBatch batch = testdata::makeBatch(1, 1, 2, kT0);
        batch.droppedTotal = 0;
        batch.coreBusy = {-0.0f, -0.0f};
        batch.samples[0].cpu.steal = -0.0f;
        const std::vector<Store::IngestItem> items{{id, &batch}};
        QVERIFY_STORE(store.ingest().write(items, kT0));
        const QByteArray bytes = exportBytes(store, {});
        QVERIFY2(!bytes.contains(",-0"), bytes.constData());
        const auto records = parseCsv(bytes);
        QVERIFY(records);
        const int cSteal = int(records->front().indexOf(QStringLiteral("cpu_steal")));
        QCOMPARE(records->at(1).at(cSteal), QStringLiteral("0"));
    }

    void exportsEverything()
    {
        Store store(m_dbPath, {StoreOptions::Mode::ReadOnly});
        QVERIFY_STORE(store.open());
        CsvExporter::Result result;
        const QByteArray bytes = exportBytes(store, {}, &result);
        QVERIFY2(result.ok, qPrintable(result.error));
        QCOMPARE(result.rows, 35);
        const auto records = parseCsv(bytes);
        QVERIFY(records);
        QCOMPARE(records->size(), 36);
        const QStringList header = records->front();
        QCOMPARE(header.size(), 37);
        for (const QStringList &r : *records)
            QCOMPARE(r.size(), 37);
        const int cSource = int(header.indexOf(QStringLiteral("source")));
        for (qsizetype i = 1; i < records->size(); ++i)
            QCOMPARE(records->at(i).at(cSource), QStringLiteral("raw"));
        const int cId = int(header.indexOf(QStringLiteral("client_id")));
        const int cHost = int(header.indexOf(QStringLiteral("hostname")));
        const int cTime = int(header.indexOf(QStringLiteral("timestamp")));
        const int cSeq = int(header.indexOf(QStringLiteral("sequence")));
        const int cUser = int(header.indexOf(QStringLiteral("cpu_user")));
        const int cBusy = int(header.indexOf(QStringLiteral("cpu_busy")));
        const int cMemTotal = int(header.indexOf(QStringLiteral("mem_total")));
        const int cSwapFree = int(header.indexOf(QStringLiteral("swap_free")));
        const int cLoad1 = int(header.indexOf(QStringLiteral("load1")));
        const int cCores = int(header.indexOf(QStringLiteral("cores")));
        const int cGap = int(header.indexOf(QStringLiteral("gap_before")));
        const int cReason = int(header.indexOf(QStringLiteral("gap_reason")));
        const int cAveraged = int(header.indexOf(QStringLiteral("averaged_over_s")));
        QCOMPARE(cAveraged, 28);

        // Rows for A (by ID order, A and B sorted) all carry the awkward hostname intact.
        QList<QStringList> rowsA, rowsB;
        for (qsizetype i = 1; i < records->size(); ++i)
            ((*records)[i][cId] == m_idA ? rowsA : rowsB).append((*records)[i]);
        QCOMPARE(rowsA.size(), 30);
        QCOMPARE(rowsB.size(), 5);
        QCOMPARE(rowsA.front()[cHost], QStringLiteral("web,01 \"prod\""));
        QCOMPARE(rowsB.front()[cHost], QStringLiteral("db-1"));

        const QStringList &first = rowsA.front();
        QCOMPARE(first[cTime], QStringLiteral("2023-11-14T22:13:20.000Z"));
        QCOMPARE(first[cSeq], QStringLiteral("1"));
        QCOMPARE(first[cUser], QStringLiteral("12.5"));
        QCOMPARE(first[cBusy], QStringLiteral("18.5")); // 12.5+0.5+4+0.25+0.75+0.5
        QCOMPARE(first[cMemTotal], QString::number(16ull << 30));
        QCOMPARE(first[cSwapFree], QString::number(3ull << 30));
        QCOMPARE(first[cLoad1], QStringLiteral("0.5"));
        QCOMPARE(first[cCores], QStringLiteral("0;7;14;21"));
        QCOMPARE(rowsA[1][cCores], QStringLiteral("1;8;15;22"));
        QCOMPARE(rowsA[1][cTime], QStringLiteral("2023-11-14T22:13:21.000Z"));
        QCOMPARE(rowsB.front()[cCores], QString());
        // Timestamps agree with QDateTime's ISO form for every row.
        for (const QStringList &r : std::as_const(rowsA)) {
            const QDateTime dt = QDateTime::fromString(r[cTime], Qt::ISODateWithMs);
            QVERIFY(dt.isValid());
            QCOMPARE(r[cTime], iso(dt.toMSecsSinceEpoch()));
        }

        // Gap columns: only the first sample after the offline hour is marked.
        for (qsizetype i = 0; i < rowsA.size(); ++i) {
            if (i == 20) {
                QCOMPARE(rowsA[i][cGap], QStringLiteral("1"));
                QCOMPARE(rowsA[i][cReason],
                         QStringLiteral("agent dropped 5 samples; agent offline"));
                QCOMPARE(rowsA[i][cTime], iso(kT0 + 3600'000));
            } else {
                QCOMPARE(rowsA[i][cGap], QStringLiteral("0"));
                QCOMPARE(rowsA[i][cReason], QString());
            }
            // The agent was not running through "agent offline": nothing is averaged over it.
            QCOMPARE(rowsA[i][cAveraged], QString());
        }
        // B's stall inside its batch is a gap, and the sample after it says what it averages.
        for (qsizetype i = 0; i < rowsB.size(); ++i) {
            if (i == 3) {
                QCOMPARE(rowsB[i][cGap], QStringLiteral("1"));
                QCOMPARE(rowsB[i][cReason], QStringLiteral("agent stalled (21 s)"));
                QCOMPARE(rowsB[i][cAveraged], QStringLiteral("21"));
                QCOMPARE(rowsB[i][cTime], iso(kT0 + 23'000));
            } else {
                QCOMPARE(rowsB[i][cGap], QStringLiteral("0"));
                QCOMPARE(rowsB[i][cAveraged], QString());
            }
        }
    }

    void timeRangeEdges_data()
    {
        QTest::addColumn<qint64>("from");
        QTest::addColumn<qint64>("to");
        QTest::addColumn<int>("rows");
        QTest::addColumn<bool>("gapRow");
        QTest::addRow("from is inclusive") << kT0 + 5000 << kT0 + 3600'000 << 15 << false;
        QTest::addRow("to is exclusive") << kT0 << kT0 + 5000 << 5 << false;
        QTest::addRow("empty range") << kT0 + 5000 << kT0 + 5000 << 0 << false;
        QTest::addRow("single ms") << kT0 + 5000 << kT0 + 5001 << 1 << false;
        QTest::addRow("gap row at from") << kT0 + 3600'000 << kT0 + 3600'001 << 1 << true;
        QTest::addRow("everything after") << kT0 + 3600'000 << std::numeric_limits<qint64>::max()
                                          << 10 << true;
    }
    void timeRangeEdges()
    {
        QFETCH(qint64, from);
        QFETCH(qint64, to);
        QFETCH(int, rows);
        QFETCH(bool, gapRow);
        Store store(m_dbPath, {StoreOptions::Mode::ReadOnly});
        QVERIFY_STORE(store.open());
        CsvExporter::Options options;
        options.clientIds = {m_idA};
        options.fromMs = from;
        options.toMs = to;
        CsvExporter::Result result;
        const auto records = parseCsv(exportBytes(store, options, &result));
        QVERIFY(result.ok);
        QVERIFY(records);
        QCOMPARE(records->size() - 1, rows);
        QCOMPARE(result.rows, rows);
        if (rows > 0) {
            QCOMPARE(records->at(1).at(2), iso(from));
            QCOMPARE(records->at(1).at(26), gapRow ? QStringLiteral("1") : QStringLiteral("0"));
        }
    }

    void progressAndCancel()
    {
        Store store(m_dbPath, {StoreOptions::Mode::ReadOnly});
        QVERIFY_STORE(store.open());
        CsvExporter exporter(store);
        QList<std::pair<qint64, qint64>> calls;
        std::atomic<bool> cancel{false};
        exporter.setProgressCallback(
                [&](qint64 done, qint64 total) {
                    calls.append({done, total});
                    if (done == 10)
                        cancel = true;
                },
                5);
        exporter.setCancelFlag(&cancel);
        CountingDevice sink;
        const CsvExporter::Result r = exporter.exportTo(&sink, {});
        QVERIFY(!r.ok);
        QVERIFY(r.cancelled);
        QCOMPARE(r.rows, 10);
        QCOMPARE(calls.size(), 2);
        QCOMPARE(calls[0], std::make_pair(qint64(5), qint64(35)));

        cancel = false;
        calls.clear();
        exporter.setProgressCallback([&](qint64 done, qint64 total) { calls.append({done, total}); },
                                     1000);
        const CsvExporter::Result full = exporter.exportTo(&sink, {});
        QVERIFY(full.ok);
        QCOMPARE(calls, (QList<std::pair<qint64, qint64>>{{35, 35}}));
    }

    void writeErrorIsReported()
    {
        Store store(m_dbPath, {StoreOptions::Mode::ReadOnly});
        QVERIFY_STORE(store.open());
        CountingDevice sink;
        sink.failAfter = true;
        sink.limit = 0;
        CsvExporter exporter(store);
        const CsvExporter::Result r = exporter.exportTo(&sink, {});
        QVERIFY(!r.ok);
        QVERIFY2(r.error.contains(QStringLiteral("disk full")), qPrintable(r.error));
    }

    void expiredRangeComesFromRollupsAndSaysSo()
    {
        // Three hours at 10 s; raw samples kept one hour, minutes two: the first hour is in the
        // hour tier only, the second in minutes, the third raw. The export says which is which.
        const QString path = m_dir.filePath(QStringLiteral("expired.sqlite"));
        Store store(path);
        QVERIFY_STORE(store.open());
        const qint64 t0 = kT0 - kT0 % 3'600'000;
        const qint64 end = t0 + 3 * 3'600'000;
        AgentConfig tenSeconds = STORE_OK(store.configs().defaultConfig());
        tenSeconds.sampleIntervalMs = 10'000;
        STORE_OK(store.configs().setDefaultConfig(tenSeconds));
        const QString id = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(
                makeHello(QStringLiteral("expiring")), QStringLiteral("p"), t0)).clientId;
        quint64 seq = 0;
        for (qint64 t = t0; t < end; t += 600'000) {
            SampleBatch b = testdata::makeBatch(++seq, 60, 2, t);
            b.droppedTotal = 0;
            for (std::size_t i = 0; i < b.samples.size(); ++i) {
                b.samples[i].timestampMs = t + qint64(i) * 10'000;
                b.samples[i].flags = 0;
            }
            const Store::IngestItem item{id, &b};
            QCOMPARE(STORE_OK(store.ingest().write(std::span(&item, 1), t + 600'000)).front().status, Status::Stored);
        }
        RetentionSettings keep;
        keep.keepRawMs = 3'600'000;
        keep.keepMinutesMs = 2 * 3'600'000;
        STORE_OK(store.retention().setSettings(keep));
        while (STORE_OK(store.retention().purgeSlice(end, 100000)).more) {
        }

        CsvExporter::Result result;
        const QByteArray bytes = exportBytes(store, {}, &result);
        QVERIFY2(result.ok, qPrintable(result.error));
        const auto records = parseCsv(bytes);
        QVERIFY(records);
        const QStringList header = records->front();
        const int cSource = int(header.indexOf(QStringLiteral("source")));
        const int cSamples = int(header.indexOf(QStringLiteral("samples")));
        const int cTime = int(header.indexOf(QStringLiteral("timestamp")));
        const int cUser = int(header.indexOf(QStringLiteral("cpu_user")));
        const int cBusyMax = int(header.indexOf(QStringLiteral("cpu_busy_max")));
        const int cReason = int(header.indexOf(QStringLiteral("gap_reason")));
        QHash<QString, int> rows, samples;
        QStringList order;
        for (qsizetype i = 1; i < records->size(); ++i) {
            const QStringList &r = records->at(i);
            QCOMPARE(r.size(), header.size());
            rows[r[cSource]] += 1;
            samples[r[cSource]] += r[cSamples].toInt();
            if (order.isEmpty() || order.back() != r[cSource])
                order << r[cSource];
            if (r[cSource] != u"raw") {
                QVERIFY(r[cUser].isEmpty()); // no raw values made up
                QCOMPARE(r[cBusyMax].toDouble(), 12.5 + 0.5 + 4.0 + 0.25 + 0.75 + 0.5); // makeBatch's busy
            }
        }
        QCOMPARE(order, (QStringList{QStringLiteral("hours"), QStringLiteral("minutes"), QStringLiteral("raw")}));
        QCOMPARE(rows.value(QStringLiteral("hours")), 1);
        QCOMPARE(rows.value(QStringLiteral("minutes")), 60);
        QCOMPARE(rows.value(QStringLiteral("raw")), 360);
        QCOMPARE(samples.value(QStringLiteral("hours")) + samples.value(QStringLiteral("minutes"))
                         + samples.value(QStringLiteral("raw")),
                 3 * 360); // every sample ever stored is counted once
        QCOMPARE(result.rows, 360);
        QCOMPARE(result.rollupRows, 61);
        const QStringList &firstRaw = records->at(1 + 61);
        QCOMPARE(firstRaw[cTime], iso(t0 + 2 * 3'600'000));
        QVERIFY2(firstRaw[cReason].contains(u"expired"), qPrintable(firstRaw[cReason]));
        // A range that starts inside the expired part starts with the rollups from there.
        CsvExporter::Options later;
        later.fromMs = t0 + 90 * 60'000;
        const auto part = parseCsv(exportBytes(store, later));
        QVERIFY(part);
        QCOMPARE(part->at(1)[cSource], QStringLiteral("minutes"));
        QCOMPARE(part->at(1)[cTime], iso(t0 + 90 * 60'000));
    }

    void streamsMillionRowsInFlatMemory()
    {
        const QString path = m_dir.filePath(QStringLiteral("million.sqlite"));
        QElapsedTimer timer;
        timer.start();
        constexpr int kRows = 1'000'000;
        constexpr int kPerBatch = 1000;
        QString id;
        {
            StoreOptions options;
            options.durability = StoreOptions::Durability::Normal; // test speed, not durability
            Store store(path, options);
            QVERIFY_STORE(store.open());
            id = STORE_OK(autofact::testing::trustedEnrolment(store).authenticate(makeHello(QStringLiteral("big")), QStringLiteral("p"), kT0))
                         .clientId;
            std::vector<SampleBatch> batches;
            for (int b = 0; b < 50; ++b)
                batches.push_back(testdata::makeBatch(0, kPerBatch, 4));
            std::vector<Store::IngestItem> items(batches.size());
            std::uint64_t seq = 0;
            for (int done = 0; done < kRows; done += kPerBatch * int(batches.size())) {
                for (std::size_t b = 0; b < batches.size(); ++b) {
                    batches[b].sequence = ++seq;
                    const qint64 start = kT0 + qint64(seq - 1) * kPerBatch * 1000;
                    for (int s = 0; s < kPerBatch; ++s)
                        batches[b].samples[std::size_t(s)].timestampMs = start + s * 1000;
                    items[b] = {id, &batches[b]};
                }
                for (const auto &r : STORE_OK(store.ingest().write(items, kT0)))
                    QCOMPARE(r.status, Status::Stored);
            }
        }
        qInfo("ingested %d rows in %lld ms", kRows, timer.restart());

        Store store(path, {StoreOptions::Mode::ReadOnly});
        QVERIFY_STORE(store.open());
        const qint64 rssBefore = procStatusKiB("VmRSS");
        QVERIFY(rssBefore > 0);
        qint64 rssMax = rssBefore;
        CsvExporter exporter(store);
        exporter.setProgressCallback(
                [&](qint64, qint64) { rssMax = std::max(rssMax, procStatusKiB("VmRSS")); },
                50'000);
        CountingDevice sink;
        const CsvExporter::Result r = exporter.exportTo(&sink, {});
        const qint64 ms = timer.elapsed();
        QVERIFY2(r.ok, qPrintable(r.error));
        QCOMPARE(r.rows, kRows);
        const qint64 growthKiB = rssMax - rssBefore;
        qInfo("exported %d rows (%lld MB) in %lld ms = %.0f rows/s; RSS %lld KiB -> max %lld KiB "
              "(+%lld KiB)",
              kRows, sink.bytes / 1'000'000, ms, kRows * 1000.0 / std::max<qint64>(1, ms),
              rssBefore, rssMax, growthKiB);
#if defined(__SANITIZE_ADDRESS__)
        // AddressSanitizer keeps freed memory in quarantine: RSS says nothing about leaks or
        // buffering there. The release build checks it.
        Q_UNUSED(growthKiB);
#else
        QVERIFY2(growthKiB < 50 * 1024, "export memory grew by more than 50 MiB");
#endif
        QVERIFY(sink.bytes > kRows * 100);
    }

    // --- time arguments -------------------------------------------------------------------------

    void parseTime_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("ms"); // -1: error
        const qint64 now = kT0;
        QTest::addRow("iso ms Z") << QStringLiteral("2023-11-14T22:13:20.123Z") << kT0 + 123;
        QTest::addRow("iso Z") << QStringLiteral("2023-11-14T22:13:20Z") << kT0;
        QTest::addRow("iso offset") << QStringLiteral("2023-11-15T00:13:20+02:00") << kT0;
        QTest::addRow("iso no zone = UTC") << QStringLiteral("2023-11-14T22:13:20") << kT0;
        QTest::addRow("date only") << QStringLiteral("2023-11-14") << kT0 - 80'000'000;
        QTest::addRow("relative h") << QStringLiteral("-1h") << now - 3600'000;
        QTest::addRow("relative d") << QStringLiteral("-7d") << now - 7 * 86400'000;
        QTest::addRow("relative compound") << QStringLiteral("-1h30m") << now - 5400'000;
        QTest::addRow("now") << QStringLiteral("now") << now;
        QTest::addRow("empty") << QString() << qint64(-1);
        QTest::addRow("garbage") << QStringLiteral("yesterday") << qint64(-1);
        QTest::addRow("bare number") << QStringLiteral("1700000000") << qint64(-1);
        QTest::addRow("relative no unit") << QStringLiteral("-5") << qint64(-1);
        QTest::addRow("bad month") << QStringLiteral("2023-13-01") << qint64(-1);
        QTest::addRow("positive duration") << QStringLiteral("1h") << qint64(-1);
    }
    void parseTime()
    {
        QFETCH(QString, text);
        QFETCH(qint64, ms);
        QString error;
        const auto got = parseTimeArgument(text, kT0, &error);
        if (ms == -1) {
            QVERIFY(!got);
            QVERIFY(!error.isEmpty());
            QVERIFY(!error.contains(u'\n'));
        } else {
            QVERIFY2(got, qPrintable(error));
            QCOMPARE(*got, ms);
        }
    }

    // --- commands -------------------------------------------------------------------------------

    void exportCommandErrors_data()
    {
        QTest::addColumn<QString>("db");
        QTest::addColumn<QStringList>("clients");
        QTest::addColumn<QString>("from");
        QTest::addColumn<QString>("to");
        QTest::addColumn<QString>("out");
        QTest::addColumn<QString>("message");
        const QString ok = QStringLiteral("fixture.sqlite");
        const QString outFile = QStringLiteral("out.csv");
        QTest::addRow("missing database")
                << QStringLiteral("nope.sqlite") << QStringList() << QString() << QString()
                << outFile << QStringLiteral("no database");
        QTest::addRow("unknown client") << ok << QStringList{QStringLiteral("nobody")} << QString()
                                        << QString() << outFile
                                        << QStringLiteral("unknown client: nobody");
        QTest::addRow("bad from") << ok << QStringList() << QStringLiteral("tomorrow") << QString()
                                  << outFile << QStringLiteral("--from: bad time 'tomorrow'");
        QTest::addRow("bad to") << ok << QStringList() << QString() << QStringLiteral("-1x")
                                << outFile << QStringLiteral("--to: bad time");
        QTest::addRow("from after to") << ok << QStringList() << QStringLiteral("-1h")
                                       << QStringLiteral("-2h") << outFile
                                       << QStringLiteral("later than");
        QTest::addRow("unwritable file") << ok << QStringList() << QString() << QString()
                                         << QStringLiteral("no/such/dir/out.csv")
                                         << QStringLiteral("cannot write");
    }
    void exportCommandErrors()
    {
        QFETCH(QString, db);
        QFETCH(QStringList, clients);
        QFETCH(QString, from);
        QFETCH(QString, to);
        QFETCH(QString, out);
        QFETCH(QString, message);
        QString errText;
        QTextStream err(&errText);
        const QString dbPath = m_dir.filePath(db);
        const int rc = runExportCommand(dbPath, clients, from, to, m_dir.filePath(out), QString(), err);
        err.flush();
        QCOMPARE(rc, 2);
        QVERIFY2(errText.startsWith(QStringLiteral("autofactory export: ")), qPrintable(errText));
        QVERIFY2(errText.contains(message), qPrintable(errText));
        QCOMPARE(errText.count(u'\n'), 1);
        QVERIFY(errText.endsWith(u'\n'));
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("nope.sqlite"))));
        QVERIFY(!QFile::exists(m_dir.filePath(out)));
    }

    void exportCommandWritesFile()
    {
        const QString out = m_dir.filePath(QStringLiteral("b.csv"));
        QString errText;
        QTextStream err(&errText);
        const int rc = runExportCommand(m_dbPath, {QStringLiteral("DB-1")},
                                        QStringLiteral("2023-11-14T22:13:21Z"), QString(), out, QString(), err);
        QCOMPARE(rc, 0);
        QVERIFY(errText.isEmpty());
        QFile f(out);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const auto records = parseCsv(f.readAll());
        QVERIFY(records);
        QCOMPARE(records->size(), 1 + 4);
        QCOMPARE(records->at(1).at(0), m_idB);
        QCOMPARE(records->at(1).at(2), QStringLiteral("2023-11-14T22:13:21.000Z"));
    }

    void clientsCommand()
    {
        QString outText, errText;
        QTextStream out(&outText), err(&errText);
        QCOMPARE(runClientsCommand(m_dbPath, false, out, err), 0);
        out.flush();
        const QStringList lines = outText.split(u'\n', Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 3);
        QVERIFY(lines[0].startsWith(QStringLiteral("ID")));
        QVERIFY(lines[0].contains(QStringLiteral("HOSTNAME")));
        QVERIFY(outText.contains(QStringLiteral("web,01 \"prod\"")));
        QVERIFY(outText.contains(QStringLiteral("Debian 12")));
        // Columns line up: the hostname column starts at the same offset on every line.
        const qsizetype col = lines[0].indexOf(QStringLiteral("HOSTNAME"));
        for (const QString &l : lines.mid(1))
            QVERIFY(l.at(col - 1) == u' ' && l.at(col) != u' ');

        outText.clear();
        QCOMPARE(runClientsCommand(m_dbPath, true, out, err), 0);
        out.flush();
        const QJsonDocument doc = QJsonDocument::fromJson(outText.toUtf8());
        QVERIFY(doc.isArray());
        QCOMPARE(doc.array().size(), 2);
        QJsonObject a;
        for (const QJsonValue &v : doc.array())
            if (v.toObject().value(QStringLiteral("id")).toString() == m_idA)
                a = v.toObject();
        QCOMPARE(a.value(QStringLiteral("hostname")).toString(), QStringLiteral("web,01 \"prod\""));
        QCOMPARE(a.value(QStringLiteral("samples")).toInteger(), 30);
        QCOMPARE(a.value(QStringLiteral("connections")).toInteger(), 1);
        QCOMPARE(a.value(QStringLiteral("online")).toBool(), true);
        QCOMPARE(a.value(QStringLiteral("first_seen")).toString(),
                 QStringLiteral("2023-11-14T22:13:20Z"));

        errText.clear();
        const QString missing = m_dir.filePath(QStringLiteral("missing.sqlite"));
        QCOMPARE(runClientsCommand(missing, false, out, err), 2);
        err.flush();
        QCOMPARE(errText.count(u'\n'), 1);
        QVERIFY(!QFile::exists(missing));
    }
};

QTEST_GUILESS_MAIN(TestCsvExport)
#include "tst_csvexport.moc"
