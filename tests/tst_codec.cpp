// SPDX-License-Identifier: MIT
#include "autofact_generated.h"
#include "codec.h"
#include "testdata.h"

#include <QRandomGenerator>

#include <flatbuffers/flatbuffers.h>
#include <QTest>

#include <cmath>
#include <cstring>
#include <limits>

using namespace autofact;

Q_DECLARE_METATYPE(autofact::Message)

class TestCodec : public QObject
{
    Q_OBJECT

private:
    static QByteArray batchBytes(const SampleBatch &b) { return codec::encode(Message(b)); }

    /**
     * An Envelope built by hand, as an attacker would: payload @p payloadType whose field at
     * vtable slot @p fieldSlot is a vector of one struct (@p structBytes), aligned by the builder
     * to 4 bytes only; @p padWords words before it move it. @p dataOffset: where the struct
     * starts in the buffer.
     */
    static QByteArray envelopeWithStruct(int payloadType, int fieldSlot, const QByteArray &structBytes,
                                         int padWords, qsizetype *dataOffset)
    {
        flatbuffers::FlatBufferBuilder fbb;
        fbb.StartVector(1, sizeof(std::uint32_t));
        fbb.PushBytes(reinterpret_cast<const std::uint8_t *>(structBytes.constData()), std::size_t(structBytes.size()));
        const flatbuffers::uoffset_t vector = fbb.EndVector(1);
        // The builder writes back to front: words pushed now land before the vector.
        for (int i = 0; i < padWords; ++i)
            fbb.PushElement<std::uint32_t>(0);
        const auto payloadStart = fbb.StartTable();
        fbb.AddOffset(flatbuffers::voffset_t(fieldSlot), flatbuffers::Offset<void>(vector));
        const auto payload = fbb.EndTable(payloadStart);
        const auto envelopeStart = fbb.StartTable();
        fbb.AddElement<std::uint8_t>(4 /* payload_type */, std::uint8_t(payloadType), 0);
        fbb.AddOffset(6 /* payload */, flatbuffers::Offset<void>(payload));
        fbb.Finish(flatbuffers::Offset<void>(fbb.EndTable(envelopeStart)), "AFW1");
        // Builder offsets count from the end; the struct follows the 4-byte length.
        *dataOffset = qsizetype(fbb.GetSize() - vector + sizeof(flatbuffers::uoffset_t));
        return QByteArray(reinterpret_cast<const char *>(fbb.GetBufferPointer()), qsizetype(fbb.GetSize()));
    }

    static void expectRejected(const QByteArray &bytes, ErrorCode code, const char *reasonPart)
    {
        const DecodeResult r = codec::decode(bytes);
        QVERIFY2(!r.ok(), "decode accepted bad input");
        QCOMPARE(r.error, code);
        QVERIFY2(r.reason.contains(QLatin1StringView(reasonPart)), qPrintable(r.reason));
    }

private slots:
    void roundTrip_data()
    {
        QTest::addColumn<Message>("message");
        Hello hello;
        hello.agentId = QStringLiteral("a1b2");
        hello.secret = QStringLiteral("s3cr3t");
        hello.hostname = QStringLiteral("node-ü, with comma");
        hello.osName = QStringLiteral("Debian GNU/Linux");
        hello.osVersion = QStringLiteral("12");
        hello.kernel = QStringLiteral("6.1.0-18-amd64");
        hello.arch = QStringLiteral("x86_64");
        hello.cpuModel = QStringLiteral("AMD EPYC 7B13");
        hello.cpuCount = 64;
        hello.memTotal = 128ull << 30;
        hello.bootTimeMs = 1'699'000'000'000;
        hello.agentVersion = QStringLiteral("0.1.0");
        QTest::addRow("hello") << Message(hello);
        QTest::addRow("hello-new-agent") << Message(Hello{});
        QTest::addRow("welcome-new")
            << Message(Welcome{1, QStringLiteral("id"), QStringLiteral("sec"), false, 42, 0});
        QTest::addRow("welcome-back")
            << Message(Welcome{1, QStringLiteral("id"), QString(), true, 43, 977});
        QTest::addRow("config") << Message(AgentConfig{7, 250, 1000, 5000, 100, 60000,
                                                       3600000, 1 << 20, 86400000});
        QTest::addRow("config-applied") << Message(ConfigApplied{7});
        QTest::addRow("batch-empty") << Message(testdata::makeBatch(1, 0, 0));
        QTest::addRow("batch-60x8") << Message(testdata::makeBatch(12, 60, 8));
        QTest::addRow("batch-60x64") << Message(testdata::makeBatch(13, 60, 64));
        QTest::addRow("batch-1x1-largest-sequence") << Message(testdata::makeBatch(protocol::maxCounter, 1, 1));
        SampleBatch edges = testdata::makeBatch(14, 2, 5);
        edges.coreBusy = {0.0f, -0.0f, 100.0f, 99.99999f, 1e-30f, 0.0f, 50.0f, 100.0f, 0.0f, 0.0f};
        QTest::addRow("batch-core-edges") << Message(edges);
        SampleBatch devices = testdata::makeBatch(15, 5, 2);
        testdata::addDevices(devices);
        QTest::addRow("batch-devices") << Message(devices);
        SampleBatch someDevices = testdata::makeBatch(16, 6, 1);
        someDevices.devices.names = {QStringLiteral("/"), QStringLiteral("lo")};
        // Filesystems on samples 0 and 5 only (a slower collector), a counter at 2^53.
        someDevices.devices.filesystems = {{0, 0, 1000, 10, 990, 1, 2}, {5, 0, 1000, 11, 989, 1, 2}};
        someDevices.devices.networks = {{3, 1, 60000, protocol::maxCounter, 0, 0, 0, 0, 0, 0, 0}};
        someDevices.devices.temperatures = {{4, 0, protocol::minMilliCelsius, protocol::maxMilliCelsius}};
        QTest::addRow("batch-some-devices") << Message(someDevices);
        // Regression (fuzz_codec): names without readings were dropped by the encoder, so the
        // round trip changed the message.
        SampleBatch namesOnly = testdata::makeBatch(17, 1, 1);
        namesOnly.devices.names = {QStringLiteral("sda")};
        QTest::addRow("batch-device-names-without-readings") << Message(namesOnly);
        AgentConfig collectors;
        collectors.filesystemsIntervalMs = 0;
        collectors.disksIntervalMs = 1000;
        collectors.networkIntervalMs = 3600000;
        collectors.temperaturesIntervalMs = 12345;
        QTest::addRow("config-collectors") << Message(collectors);
        QTest::addRow("ack-cumulative") << Message(Ack{99, {}});
        QTest::addRow("ack-ranges") << Message(Ack{5, {{7, 9}, {11, 11}}});
        QTest::addRow("heartbeat") << Message(Heartbeat{123456, 3, 4096, 17});
        QTest::addRow("pong") << Message(Pong{123456, 1'700'000'000'000});
        QTest::addRow("error")
            << Message(ErrorMessage{ErrorCode::BadSecret, QStringLiteral("bad secret for id x")});
    }

    void roundTrip()
    {
        QFETCH(Message, message);
        const QByteArray bytes = codec::encode(message);
        const DecodeResult r = codec::decode(bytes);
        QVERIFY2(r.ok(), qPrintable(r.reason));
        QCOMPARE(r.message->index(), message.index());
        QVERIFY(*r.message == message);
    }

    void peerTextIsCleanedOnDecode_data()
    {
        QTest::addColumn<QString>("sent");
        QTest::addColumn<QString>("decoded");
        QTest::addRow("plain") << QStringLiteral("web-1.example") << QStringLiteral("web-1.example");
        QTest::addRow("unicode kept") << QStringLiteral("hôte-🙂") << QStringLiteral("hôte-🙂");
        QTest::addRow("forged log line") << QStringLiteral("a\n2026-12-01 autofact.server: admin logged in")
                                         << QStringLiteral("a2026-12-01 autofact.server: admin logged in");
        QTest::addRow("ansi escape") << QStringLiteral("\x1b[2J\x1b[31mred") << QStringLiteral("[2J[31mred");
        QTest::addRow("c1 and del") << QStringLiteral("a\u0085b\u009bc\u007fd") << QStringLiteral("abcd");
        QTest::addRow("bidi override") << QStringLiteral("invoice\u202Etxt.exe") << QStringLiteral("invoicetxt.exe");
        QTest::addRow("bidi isolates and marks") << QStringLiteral("\u2066a\u2069\u200Eb\u200Fc\u061C")
                                                 << QStringLiteral("abc");
        QTest::addRow("line separators") << QStringLiteral("a\u2028b\u2029c") << QStringLiteral("abc");
        QTest::addRow("tab and cr") << QStringLiteral("a\tb\rc") << QStringLiteral("abc");
    }
    void peerTextIsCleanedOnDecode()
    {
        // Every string field is the other side's words: an agent's Hello here, and the same
        // reader serves every message both ways.
        QFETCH(QString, sent);
        QFETCH(QString, decoded);
        Hello hello;
        hello.protocolVersion = protocol::version;
        hello.hostname = sent;
        hello.osName = sent;
        hello.cpuModel = sent;
        const DecodeResult r = codec::decode(codec::encode(Message(hello)));
        QVERIFY2(r.ok(), qPrintable(r.reason));
        const auto *got = std::get_if<Hello>(&*r.message);
        QVERIFY(got);
        QCOMPARE(got->hostname, decoded);
        QCOMPARE(got->osName, decoded);
        QCOMPARE(got->cpuModel, decoded);
        ErrorMessage error;
        error.code = ErrorCode::Malformed;
        error.reason = sent;
        const DecodeResult e = codec::decode(codec::encode(Message(error)));
        QVERIFY2(e.ok(), qPrintable(e.reason));
        QCOMPARE(std::get<ErrorMessage>(*e.message).reason, decoded);
    }

    void invalidUtf8StaysWithinTheLimitAfterCleaning()
    {
        // Regression (fuzz_codec): 1,000 invalid bytes decode as 1,000 U+FFFD, 3,000 bytes of
        // UTF-8: what was accepted must encode into something accepted again.
        flatbuffers::FlatBufferBuilder fbb;
        const std::string bad(1000, char(0xff));
        const auto host = fbb.CreateString(bad);
        wire::HelloBuilder hello(fbb);
        hello.add_protocol_version(protocol::version);
        hello.add_hostname(host);
        const auto h = hello.Finish();
        wire::FinishEnvelopeBuffer(fbb, wire::CreateEnvelope(fbb, wire::Payload::Hello, h.Union()));
        const DecodeResult first = codec::decode(QByteArrayView(reinterpret_cast<const char *>(fbb.GetBufferPointer()),
                                                                qsizetype(fbb.GetSize())));
        QVERIFY2(first.ok(), qPrintable(first.reason));
        const QString hostname = std::get<Hello>(*first.message).hostname;
        QVERIFY(hostname.toUtf8().size() <= protocol::maxStringBytes);
        QCOMPARE(hostname.size(), protocol::maxStringBytes / 3);
        const DecodeResult second = codec::decode(codec::encode(*first.message));
        QVERIFY2(second.ok(), qPrintable(second.reason));
        QVERIFY(*second.message == *first.message);
    }

    void misalignedBuffersDecode()
    {
        // QWebSocket payloads can start at any address; FlatBuffers needs aligned reads.
        const SampleBatch batch = testdata::makeBatch(9, 60, 8);
        const QByteArray bytes = codec::encode(Message(batch));
        for (int offset = 1; offset < 8; ++offset) {
            QByteArray shifted(offset, 'x');
            shifted += bytes;
            const DecodeResult r = codec::decode(QByteArrayView(shifted.constData() + offset, bytes.size()));
            QVERIFY2(r.ok(), qPrintable(r.reason));
            QVERIFY(std::get<SampleBatch>(*r.message) == batch);
        }
    }

    void differentMessagesEncodeDifferently()
    {
        QVERIFY(codec::encode(Message(ConfigApplied{1})) != codec::encode(Message(ConfigApplied{2})));
    }

    void tooLarge()
    {
        QByteArray bytes = batchBytes(testdata::makeBatch(1, 10, 2));
        bytes.append(QByteArray(2 * 1024 * 1024, '\0'));
        expectRejected(bytes, ErrorCode::TooLarge, "over the");
    }

    void emptyAndTiny_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addRow("empty") << QByteArray();
        QTest::addRow("one-byte") << QByteArray(1, 'x');
        QTest::addRow("seven-bytes") << QByteArray(7, '\0');
    }

    void emptyAndTiny()
    {
        QFETCH(QByteArray, bytes);
        expectRejected(bytes, ErrorCode::Malformed, "too short");
    }

    void wrongIdentifier()
    {
        QByteArray bytes = codec::encode(Message(ConfigApplied{1}));
        bytes[4] = 'X';
        expectRejected(bytes, ErrorCode::Malformed, "identifier");
    }

    void everyTruncationRejected()
    {
        const QByteArray bytes = batchBytes(testdata::makeBatch(5, 4, 3));
        for (qsizetype n = 0; n < bytes.size(); ++n) {
            const DecodeResult r = codec::decode(QByteArrayView(bytes.constData(), n));
            QVERIFY2(!r.ok(), qPrintable(QStringLiteral("prefix of %1 bytes accepted").arg(n)));
            QVERIFY(!r.reason.isEmpty());
        }
    }

    void randomBytesRejected()
    {
        QRandomGenerator rng(20261129);
        int rejected = 0;
        constexpr int rounds = 2000;
        for (int i = 0; i < rounds; ++i) {
            QByteArray bytes(8 + rng.bounded(400), Qt::Uninitialized);
            for (char &c : bytes)
                c = char(rng.bounded(256));
            // Half the time give it our identifier so the verifier, not the identifier check,
            // must do the refusing.
            if (i % 2)
                std::memcpy(bytes.data() + 4, "AFW1", 4);
            if (!codec::decode(bytes).ok())
                ++rejected;
        }
        QCOMPARE(rejected, rounds);
    }

    void hugeVectorLengthRejected()
    {
        // Patch the sample vector's length prefix to claim far more elements than the buffer
        // holds: the verifier must catch it before anything reads them.
        const SampleBatch batch = testdata::makeBatch(5, 77, 2);
        QByteArray bytes = batchBytes(batch);
        QByteArray pattern(12, Qt::Uninitialized);
        const std::uint32_t count = 77;
        const std::int64_t firstTs = batch.samples.front().timestampMs;
        std::memcpy(pattern.data(), &count, 4);
        std::memcpy(pattern.data() + 4, &firstTs, 8);
        const qsizetype at = bytes.indexOf(pattern);
        QVERIFY(at >= 0);
        const std::uint32_t huge = 0x0fffffff;
        std::memcpy(bytes.data() + at, &huge, 4);
        expectRejected(bytes, ErrorCode::Malformed, "verification");
    }

    void tooManySamplesRejected()
    {
        const auto bytes = batchBytes(testdata::makeBatch(1, int(protocol::maxSamplesPerBatch) + 1, 0));
        QVERIFY(bytes.size() < protocol::maxMessageBytes);
        expectRejected(bytes, ErrorCode::Malformed, "over the limit");
    }

    void badValues_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("reason");
        const auto variant = [](auto mutate) {
            SampleBatch b = testdata::makeBatch(3, 5, 4);
            mutate(b);
            return codec::encode(Message(b));
        };
        constexpr float nan = std::numeric_limits<float>::quiet_NaN();
        constexpr float inf = std::numeric_limits<float>::infinity();
        QTest::addRow("nan-user") << variant([](SampleBatch &b) { b.samples[2].cpu.user = nan; })
                                  << QStringLiteral("cpu.user");
        QTest::addRow("inf-steal") << variant([](SampleBatch &b) { b.samples[0].cpu.steal = inf; })
                                   << QStringLiteral("cpu.steal");
        QTest::addRow("over-100") << variant([](SampleBatch &b) { b.samples[1].cpu.idle = 100.5f; })
                                  << QStringLiteral("outside 0..100");
        QTest::addRow("negative") << variant([](SampleBatch &b) { b.samples[4].cpu.system = -1; })
                                  << QStringLiteral("outside 0..100");
        QTest::addRow("core-nan") << variant([](SampleBatch &b) { b.coreBusy[7] = nan; })
                                  << QStringLiteral("per-core value 7");
        QTest::addRow("core-just-over-100") << variant([](SampleBatch &b) { b.coreBusy[19] = std::nextafter(100.0f, 200.0f); })
                                            << QStringLiteral("per-core value 19");
        QTest::addRow("core-tiny-negative") << variant([](SampleBatch &b) { b.coreBusy[3] = -1e-30f; })
                                            << QStringLiteral("per-core value 3");
        QTest::addRow("core-inf") << variant([](SampleBatch &b) { b.coreBusy[11] = inf; })
                                  << QStringLiteral("per-core value 11");
        QTest::addRow("core-count-mismatch")
            << variant([](SampleBatch &b) { b.samples[0].coreCount = 5; })
            << QStringLiteral("declare 21 per-core values");
        QTest::addRow("load-nan") << variant([](SampleBatch &b) { b.samples[0].load5 = nan; })
                                  << QStringLiteral("load average");
        QTest::addRow("memory-over-total")
            << variant([](SampleBatch &b) { b.samples[0].memory.used = b.samples[0].memory.total + 1; })
            << QStringLiteral("exceed the total");
        QTest::addRow("buffers-over-total")
            << variant([](SampleBatch &b) { b.samples[0].memory.buffers = b.samples[0].memory.total + 1; })
            << QStringLiteral("exceed the total");
        QTest::addRow("cached-over-total")
            << variant([](SampleBatch &b) { b.samples[0].memory.cached = b.samples[0].memory.total + 1; })
            << QStringLiteral("exceed the total");
        QTest::addRow("timestamp-int64-max")
            << variant([](SampleBatch &b) { b.samples[2].timestampMs = std::numeric_limits<std::int64_t>::max(); })
            << QStringLiteral("sample 2: timestamp");
        QTest::addRow("timestamp-year-10000")
            << variant([](SampleBatch &b) { b.samples[2].timestampMs = protocol::maxTimestampMs + 1; })
            << QStringLiteral("after the year 9999");
        QTest::addRow("swap-over-total")
            << variant([](SampleBatch &b) { b.samples[0].memory.swapFree = b.samples[0].memory.swapTotal + 1; })
            << QStringLiteral("swap free");
        QTest::addRow("timestamp-zero") << variant([](SampleBatch &b) { b.samples[3].timestampMs = 0; })
                                        << QStringLiteral("sample 3: timestamp");
        QTest::addRow("sequence-zero") << variant([](SampleBatch &b) { b.sequence = 0; })
                                       << QStringLiteral("sequence 0");
        // u64 fields beyond 2^53 (issue 12: a sequence >= 2^63 was "resend later" forever).
        QTest::addRow("sequence-2^63") << variant([](SampleBatch &b) { b.sequence = std::uint64_t(1) << 63; })
                                       << QStringLiteral("maximum of 2^53");
        QTest::addRow("sequence-2^53+1") << variant([](SampleBatch &b) { b.sequence = (std::uint64_t(1) << 53) + 1; })
                                         << QStringLiteral("maximum of 2^53");
        QTest::addRow("dropped-2^64-1") << variant([](SampleBatch &b) { b.droppedTotal = ~std::uint64_t(0); })
                                        << QStringLiteral("dropped total");
        QTest::addRow("memory-total-2^64-1") << variant([](SampleBatch &b) { b.samples[1].memory.total = ~std::uint64_t(0); })
                                             << QStringLiteral("sample 1: memory or swap total");
        QTest::addRow("swap-total-2^64-1") << variant([](SampleBatch &b) { b.samples[1].memory.swapTotal = ~std::uint64_t(0); })
                                           << QStringLiteral("sample 1: memory or swap total");
        QTest::addRow("heartbeat-dropped-2^64-1")
            << codec::encode(Message(Heartbeat{1, 0, 0, ~std::uint64_t(0)})) << QStringLiteral("heartbeat figures");
        QTest::addRow("ack-beyond-2^53")
            << codec::encode(Message(Ack{0, {{1, std::uint64_t(1) << 60}}})) << QStringLiteral("ack range ends");
        {
            Hello hugeMemory;
            hugeMemory.memTotal = ~std::uint64_t(0);
            QTest::addRow("hello-mem-total-2^64-1") << codec::encode(Message(hugeMemory)) << QStringLiteral("memory total");
            Welcome welcome;
            welcome.lastAckedSequence = std::uint64_t(1) << 63;
            QTest::addRow("welcome-last-acked-2^63") << codec::encode(Message(welcome)) << QStringLiteral("last acked");
        }
        QTest::addRow("ack-range-backwards") << codec::encode(Message(Ack{1, {{9, 3}}}))
                                             << QStringLiteral("ack range 9..3");
        QTest::addRow("config-zero-interval")
            << codec::encode(Message(AgentConfig{1, 0, 1000, 1000, 100, 1000, 1000, 1 << 20, 1000}))
            << QStringLiteral("sample interval");
        QTest::addRow("error-unknown-code")
            << codec::encode(Message(ErrorMessage{static_cast<ErrorCode>(999), QString()}))
            << QStringLiteral("unknown error code");
        // Device tables: every entry must name a sample and a device of its batch, in sample
        // order, with values that can be true.
        const auto devices = [](auto mutate) {
            SampleBatch b = testdata::makeBatch(3, 5, 1);
            testdata::addDevices(b);
            mutate(b.devices);
            return codec::encode(Message(b));
        };
        QTest::addRow("device-sample-outside-batch") << devices([](DeviceTables &d) { d.disks[2].sample = 5; })
                                                     << QStringLiteral("disks entry 2: sample 5 not in the batch");
        QTest::addRow("device-without-name") << devices([](DeviceTables &d) { d.networks[0].device = 7; })
                                             << QStringLiteral("networks entry 0: device 7 has no name");
        QTest::addRow("device-out-of-order") << devices([](DeviceTables &d) { std::swap(d.temperatures[0], d.temperatures[4]); })
                                             << QStringLiteral("out of sample order");
        QTest::addRow("filesystem-used-over-size") << devices([](DeviceTables &d) { d.filesystems[1].usedBytes = d.filesystems[1].sizeBytes + 1; })
                                                   << QStringLiteral("exceed the total");
        QTest::addRow("inodes-over-total") << devices([](DeviceTables &d) { d.filesystems[0].inodesUsed = d.filesystems[0].inodesTotal + 1; })
                                           << QStringLiteral("exceed the total");
        QTest::addRow("disk-busy-over-interval") << devices([](DeviceTables &d) { d.disks[0].busyMs = d.disks[0].intervalMs + 1; })
                                                 << QStringLiteral("busy");
        QTest::addRow("disk-interval-zero") << devices([](DeviceTables &d) { d.disks[0].intervalMs = 0; d.disks[0].busyMs = 0; })
                                            << QStringLiteral("interval outside 1 ms..24 h");
        QTest::addRow("network-interval-over-a-day") << devices([](DeviceTables &d) { d.networks[0].intervalMs = 24 * 3600 * 1000 + 1; })
                                                     << QStringLiteral("networks entry 0: interval outside 1 ms..24 h");
        QTest::addRow("device-read-twice-at-a-sample") << devices([](DeviceTables &d) { d.disks.insert(d.disks.begin() + 1, d.disks[0]); })
                                                       << QStringLiteral("disks entry 1: a second reading of");
        // 200 characters of 3 UTF-8 bytes: over the limit in bytes, which is what the limit counts.
        QTest::addRow("device-name-600-bytes") << devices([](DeviceTables &d) { d.names[0] = QString(200, QChar(0x4E2D)); })
                                               << QStringLiteral("over the 512-byte limit");
        QTest::addRow("network-counter-over-2^53") << devices([](DeviceTables &d) { d.networks[1].rxBytes = protocol::maxCounter + 1; })
                                                   << QStringLiteral("counter above 2^53");
        QTest::addRow("temperature-below-absolute-zero") << devices([](DeviceTables &d) { d.temperatures[0].milliCelsius = -273151; })
                                                         << QStringLiteral("outside -273.15..1000");
        QTest::addRow("critical-over-1000C") << devices([](DeviceTables &d) { d.temperatures[0].criticalMilliCelsius = 1000001; })
                                             << QStringLiteral("outside -273.15..1000");
        QTest::addRow("device-name-empty") << devices([](DeviceTables &d) { d.names[0].clear(); })
                                           << QStringLiteral("device name is empty");
        QTest::addRow("device-name-too-long") << devices([](DeviceTables &d) { d.names[0] = QString(protocol::maxDeviceNameBytes + 1, u'x'); })
                                              << QStringLiteral("over the 512-byte limit");
        QTest::addRow("too-many-device-names") << devices([](DeviceTables &d) {
            for (std::size_t i = d.names.size(); i <= protocol::maxDeviceNames; ++i)
                d.names.push_back(QString::number(i));
        }) << QStringLiteral("device names, over the limit");
        AgentConfig badCollector;
        badCollector.networkIntervalMs = 999;
        QTest::addRow("collector-interval-under-1s") << codec::encode(Message(badCollector))
                                                     << QStringLiteral("network interval 999 ms outside 1 s..1 h");
        badCollector.networkIntervalMs = 0;
        badCollector.temperaturesIntervalMs = protocol::maxCollectorIntervalMs + 1;
        QTest::addRow("collector-interval-over-1h") << codec::encode(Message(badCollector))
                                                    << QStringLiteral("temperatures interval");
        Hello longId;
        longId.agentId = QString(200, u'x');
        QTest::addRow("hello-long-id") << codec::encode(Message(longId))
                                       << QStringLiteral("longer than allowed");
        Hello longHost;
        longHost.hostname = QString(5000, u'h');
        QTest::addRow("hello-long-hostname") << codec::encode(Message(longHost))
                                             << QStringLiteral("field hostname");
    }

    void badValues()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, reason);
        const DecodeResult r = codec::decode(bytes);
        QVERIFY(!r.ok());
        QCOMPARE(r.error, ErrorCode::Malformed);
        QVERIFY2(r.reason.contains(reason), qPrintable(r.reason));
    }

    void payloadTypeWithoutPayloadRejected_data()
    {
        QTest::addColumn<int>("type");
        for (int type = 1; type <= 9; ++type) // every Payload member
            QTest::addRow("type-%d", type) << type;
    }

    void payloadTypeWithoutPayloadRejected()
    {
        // Regression: an Envelope with payload_type set and no payload table passed the
        // verifier and crashed the decoder on a null table. Built by hand, as an attacker would.
        QFETCH(int, type);
        flatbuffers::FlatBufferBuilder fbb;
        const auto start = fbb.StartTable();
        fbb.AddElement<std::uint8_t>(4 /* field 0: payload_type */, std::uint8_t(type), 0);
        const auto table = fbb.EndTable(start);
        fbb.Finish(flatbuffers::Offset<void>(table), "AFW1");
        const QByteArray bytes(reinterpret_cast<const char *>(fbb.GetBufferPointer()), qsizetype(fbb.GetSize()));
        expectRejected(bytes, ErrorCode::Malformed, "carries no payload");
    }

    void tableShapeCheckStaysInsideVerifiedBytes_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        // Found by fuzz_codec and fuzz_server_message (ASan: a read past the buffer) the day the
        // table shape check came in: it read the vtable of a payload whose type the verifier
        // does not know, so never checked, and a table size past a 2-byte vtable.
        QTest::addRow("fuzz_codec") << QByteArray::fromBase64(
            "EAAAAEFGVzEIAA4ABwAIAAgAAAAAAAAxDAAAAAAAQUZXMQgADgAHAAgACAAAAAAAAAQMAAAAAAAGAAgABAAGAAAAAAAGAAgABAAGAAAAAwAAAA==");
        QTest::addRow("fuzz_server_message") << QByteArray::fromBase64(
            "ARQAAABBRlcxAAAAAAgADAAHAAgACAAAAAAAACIUAAAAEAAAACYANWYwYzZiOGUtMmQxYS00YzQ3LTlhM2UtN2IxZjBkOWMyZTQ0AAAAAA==").mid(1);
    }
    void tableShapeCheckStaysInsideVerifiedBytes()
    {
        QFETCH(QByteArray, bytes);
        // Under ASan (scripts/test --sanitize) a stray read fails here; in any build the
        // message is refused with a reason.
        const DecodeResult r = codec::decode(bytes);
        QVERIFY(!r.ok());
        QVERIFY(!r.reason.isEmpty());
    }

    void oversizedTableShapesRejected()
    {
        // Regression: a vtable claiming a 0xFFFF-byte table (and a field far past the real
        // one) passed FlatBuffers' verifier once the buffer was long enough, and was decoded
        // from whatever bytes lay there.
        Heartbeat hb;
        hb.sentMs = 7;
        hb.backlogBatches = 1;
        const QByteArray good = codec::encode(Message(hb));
        QVERIFY(codec::decode(good).ok());
        const auto *env = flatbuffers::GetRoot<autofact::wire::Envelope>(good.constData());
        const auto *payload = static_cast<const std::uint8_t *>(env->payload());
        const qsizetype tableAt = payload - reinterpret_cast<const std::uint8_t *>(good.constData());
        const qsizetype vtableAt = tableAt - flatbuffers::ReadScalar<flatbuffers::soffset_t>(payload);
        const auto patch = [&](qsizetype at, quint16 value) {
            QByteArray b = good + QByteArray(0x10000, '\0'); // room for the claimed size
            b[at] = char(value & 0xff);
            b[at + 1] = char(value >> 8);
            return b;
        };
        // The table's size (second voffset of the vtable).
        const DecodeResult big = codec::decode(patch(vtableAt + 2, 0xFFFF), 1024 * 1024);
        QVERIFY2(!big.ok(), "a 0xFFFF-byte table was decoded");
        QCOMPARE(big.error, ErrorCode::Malformed);
        QVERIFY2(big.reason.contains(QStringLiteral("claims 65535 bytes")), qPrintable(big.reason));
        // A field offset past the table's end.
        const DecodeResult far = codec::decode(patch(vtableAt + 4, 0x4000), 1024 * 1024);
        QVERIFY(!far.ok());
        QVERIFY2(far.reason.contains(QStringLiteral("outside its table")), qPrintable(far.reason));
        // The same bytes unpatched, padded alike, still decode: only the shape is refused.
        QVERIFY(codec::decode(QByteArray(good + QByteArray(0x10000, '\0')), 1024 * 1024).ok());
    }

    void misalignedStructVectorsRejected_data()
    {
        QTest::addColumn<int>("payloadType");
        QTest::addColumn<int>("fieldSlot");
        QTest::addColumn<QByteArray>("structBytes");
        QTest::addColumn<QString>("field");
        QByteArray range(16, '\0'); // SequenceRange{first 5, last 9}
        range[0] = 5;
        range[8] = 9;
        QTest::addRow("Ack.ranges") << 6 << 6 << range << QStringLiteral("ranges");
        QTest::addRow("SampleBatch.samples") << 5 << 8 << QByteArray(128, '\0') << QStringLiteral("samples");
    }

    void misalignedStructVectorsRejected()
    {
        // Regression (fuzz_codec, UBSan): FlatBuffers 2.0.8's verifier checks the length of a
        // vector of 8-byte structs for 4-byte alignment only, and the decoder read the structs
        // in place at 4 mod 8 (undefined behaviour; a trap on strict-alignment CPUs).
        QFETCH(int, payloadType);
        QFETCH(int, fieldSlot);
        QFETCH(QByteArray, structBytes);
        QFETCH(QString, field);
        bool sawMisaligned = false;
        bool sawAligned = false;
        for (int pad = 0; pad < 2; ++pad) {
            qsizetype offset = 0;
            const QByteArray bytes = envelopeWithStruct(payloadType, fieldSlot, structBytes, pad, &offset);
            const DecodeResult r = codec::decode(bytes);
            if (offset % 8 != 0) {
                sawMisaligned = true;
                QVERIFY2(!r.ok(), "a misaligned vector of structs was decoded");
                QCOMPARE(r.error, ErrorCode::Malformed);
                QVERIFY2(r.reason.contains(field + QStringLiteral(" is not 8-byte aligned")), qPrintable(r.reason));
            } else {
                sawAligned = true;
                QVERIFY2(!r.reason.contains(u"aligned"), qPrintable(r.reason));
                if (payloadType == 6) { // the same Ack, aligned, is fine
                    QVERIFY2(r.ok(), qPrintable(r.reason));
                    const Ack ack = std::get<Ack>(*r.message);
                    QCOMPARE(ack.ranges.size(), std::size_t(1));
                    QCOMPARE(ack.ranges[0].first, 5u);
                    QCOMPARE(ack.ranges[0].last, 9u);
                }
            }
        }
        QVERIFY(sawMisaligned && sawAligned);
    }

    void unionTypeWithoutPayloadRejected()
    {
        // Flip the union type byte of a valid ConfigApplied envelope to an unknown value.
        QByteArray bytes = codec::encode(Message(ConfigApplied{1}));
        const QByteArray original = bytes;
        int rejectedVariants = 0;
        for (qsizetype i = 8; i < bytes.size(); ++i) {
            if (bytes[i] != char(4)) // Payload::ConfigApplied
                continue;
            bytes[i] = char(200);
            if (!codec::decode(bytes).ok())
                ++rejectedVariants;
            bytes = original;
        }
        QVERIFY(rejectedVariants >= 1);
    }
};

QTEST_GUILESS_MAIN(TestCodec)
#include "tst_codec.moc"
