// SPDX-License-Identifier: MIT
// The agent's WebSocket framing and handshake, byte by byte against RFC 6455.
#include "link/wsframe.h"
#include "link/wshandshake.h"

#include <QtEndian>
#include <QTest>

using namespace autofact::agent;
using Kind = ws::FrameReader::Event::Kind;

namespace {
// A frame as a server sends it: unmasked unless asked otherwise.
QByteArray serverFrame(std::uint8_t opcode, const QByteArray &payload, bool fin = true, std::uint8_t rsv = 0,
                       bool masked = false)
{
    QByteArray f;
    f.append(char((fin ? 0x80 : 0) | (rsv << 4) | opcode));
    const std::uint8_t mask = masked ? 0x80 : 0;
    if (payload.size() < 126) {
        f.append(char(mask | payload.size()));
    } else if (payload.size() <= 0xFFFF) {
        f.append(char(mask | 126));
        char len[2];
        qToBigEndian(std::uint16_t(payload.size()), len);
        f.append(len, 2);
    } else {
        f.append(char(mask | 127));
        char len[8];
        qToBigEndian(std::uint64_t(payload.size()), len);
        f.append(len, 8);
    }
    if (masked)
        f.append(QByteArray(4, '\0'));
    return f + payload;
}

QByteArray pattern(qsizetype n)
{
    QByteArray b(n, Qt::Uninitialized);
    for (qsizetype i = 0; i < n; ++i)
        b[i] = char(i * 7 + 3);
    return b;
}
} // namespace

class TestWsFrame : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void clientFramesAreMaskedWithTheRightLength_data()
    {
        QTest::addColumn<qsizetype>("size");
        QTest::addColumn<int>("headerBytes");
        QTest::addRow("empty") << qsizetype(0) << 6;
        QTest::addRow("125") << qsizetype(125) << 6;
        QTest::addRow("126") << qsizetype(126) << 8;
        QTest::addRow("65535") << qsizetype(65535) << 8;
        QTest::addRow("65536") << qsizetype(65536) << 14;
    }
    void clientFramesAreMaskedWithTheRightLength()
    {
        QFETCH(qsizetype, size);
        QFETCH(int, headerBytes);
        const QByteArray payload = pattern(size);
        const std::uint32_t key = 0xA1B2C3D4;
        const QByteArray frame = ws::encodeClientFrame(ws::Opcode::Binary, payload, key);
        QCOMPARE(frame.size(), headerBytes + size);
        QCOMPARE(uchar(frame[0]), uchar(0x82)); // FIN + binary
        QVERIFY(uchar(frame[1]) & 0x80);        // masked
        const auto *mask = reinterpret_cast<const uchar *>(frame.constData()) + headerBytes - 4;
        QCOMPARE(qFromBigEndian<std::uint32_t>(mask), key);
        QByteArray unmasked = frame.sliced(headerBytes);
        for (qsizetype i = 0; i < unmasked.size(); ++i)
            unmasked[i] = char(uchar(unmasked[i]) ^ mask[i & 3]);
        QCOMPARE(unmasked, payload);
    }

    void closePayloadKeepsUtf8Whole()
    {
        const QByteArray p = ws::closePayload(1000, QString(100, QChar(0x00E9))); // 200 bytes of é
        QVERIFY(p.size() <= 125);
        QCOMPARE(qFromBigEndian<std::uint16_t>(p.constData()), std::uint16_t(1000));
        QVERIFY(QString::fromUtf8(p.sliced(2)) == QString((p.size() - 2) / 2, QChar(0x00E9)));
        QCOMPARE((p.size() - 2) % 2, 0);
    }

    void readsMessagesSplitAtEveryByte()
    {
        const QByteArray big = pattern(70000);
        const QByteArray stream = serverFrame(0x2, "hello") + serverFrame(0x9, "pi") + serverFrame(0x2, big)
                                  + serverFrame(0x1, "text");
        ws::FrameReader reader(1024 * 1024);
        QList<ws::FrameReader::Event> events;
        for (char c : stream) {
            reader.feed(QByteArrayView(&c, 1));
            while (auto e = reader.next())
                events.append(*e);
        }
        QCOMPARE(events.size(), 4);
        QCOMPARE(events[0].kind, Kind::Message);
        QCOMPARE(events[0].payload, QByteArray("hello"));
        QVERIFY(!events[0].text);
        QCOMPARE(events[1].kind, Kind::Ping);
        QCOMPARE(events[1].payload, QByteArray("pi"));
        QCOMPARE(events[2].payload, big);
        QVERIFY(events[3].text);
        QCOMPARE(reader.buffered(), 0);
    }

    void joinsFragmentsAroundControlFrames()
    {
        ws::FrameReader reader(1024);
        reader.feed(QByteArray(serverFrame(0x2, "ab", false) + serverFrame(0x9, "x") + serverFrame(0x0, "cd", false)
                               + serverFrame(0x0, "ef", true)));
        auto ping = reader.next();
        QVERIFY(ping);
        QCOMPARE(ping->kind, Kind::Ping);
        auto message = reader.next();
        QVERIFY(message);
        QCOMPARE(message->kind, Kind::Message);
        QCOMPARE(message->payload, QByteArray("abcdef"));
        QVERIFY(!reader.next());
    }

    void utf8SplitAcrossFragmentsIsValid()
    {
        ws::FrameReader reader(1024);
        // "€" is E2 82 AC: split over two frames, it is still one valid text message.
        reader.feed(QByteArray(serverFrame(0x1, QByteArray("\xE2\x82", 2), false) + serverFrame(0x0, QByteArray("\xAC", 1))));
        auto e = reader.next();
        QVERIFY(e);
        QCOMPARE(e->kind, Kind::Message);
        QCOMPARE(QString::fromUtf8(e->payload), QStringLiteral("€"));
        ws::FrameReader applicationCode(1024);
        applicationCode.feed(serverFrame(0x8, ws::closePayload(4000, QStringLiteral("app"))));
        e = applicationCode.next();
        QVERIFY(e);
        QCOMPARE(e->kind, Kind::Close);
        QCOMPARE(e->code, std::uint16_t(4000));
    }

    void closeFrameCarriesCodeAndReason()
    {
        ws::FrameReader reader(1024);
        reader.feed(serverFrame(0x8, ws::closePayload(1008, QStringLiteral("bad secret"))));
        auto e = reader.next();
        QVERIFY(e);
        QCOMPARE(e->kind, Kind::Close);
        QCOMPARE(e->code, std::uint16_t(1008));
        QCOMPARE(e->payload, QByteArray("bad secret"));

        // Nothing after a close frame is read.
        reader.feed(serverFrame(0x2, "after close"));
        QVERIFY(!reader.next());

        ws::FrameReader empty(1024);
        empty.feed(serverFrame(0x8, QByteArray()));
        e = empty.next();
        QVERIFY(e);
        QCOMPARE(e->code, ws::closecode::noStatus);
    }

    void refusesWhatAClientMustRefuse_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<int>("code");
        QTest::addRow("masked") << serverFrame(0x2, "x", true, 0, true) << int(ws::closecode::protocolError);
        QTest::addRow("rsv1") << serverFrame(0x2, "x", true, 4) << int(ws::closecode::protocolError);
        QTest::addRow("opcode-3") << serverFrame(0x3, "x") << int(ws::closecode::protocolError);
        QTest::addRow("opcode-0xB") << serverFrame(0xB, "x") << int(ws::closecode::protocolError);
        QTest::addRow("fragmented-ping") << serverFrame(0x9, "x", false) << int(ws::closecode::protocolError);
        QTest::addRow("long-ping") << serverFrame(0x9, pattern(126)) << int(ws::closecode::protocolError);
        QTest::addRow("lone-continuation") << serverFrame(0x0, "x") << int(ws::closecode::protocolError);
        QTest::addRow("message-inside-message")
            << serverFrame(0x2, "a", false) + serverFrame(0x2, "b") << int(ws::closecode::protocolError);
        QTest::addRow("close-1-byte") << serverFrame(0x8, "x") << int(ws::closecode::protocolError);
        QTest::addRow("too-big") << serverFrame(0x2, pattern(1025)) << int(ws::closecode::tooBig);
        QTest::addRow("too-big-in-fragments")
            << serverFrame(0x2, pattern(600), false) + serverFrame(0x0, pattern(600)) << int(ws::closecode::tooBig);
        QTest::addRow("close-code-999") << serverFrame(0x8, ws::closePayload(999, QString()))
                                        << int(ws::closecode::protocolError);
        QTest::addRow("close-code-1006") << serverFrame(0x8, ws::closePayload(1006, QString()))
                                         << int(ws::closecode::protocolError);
        QTest::addRow("close-code-2000") << serverFrame(0x8, ws::closePayload(2000, QString()))
                                         << int(ws::closecode::protocolError);
        QTest::addRow("close-reason-not-utf8")
            << serverFrame(0x8, ws::closePayload(1000, QString()) + QByteArray("\xC3\x28", 2))
            << int(ws::closecode::invalidData);
        QTest::addRow("text-not-utf8") << serverFrame(0x1, QByteArray("ok\xFF", 3)) << int(ws::closecode::invalidData);
        QTest::addRow("text-not-utf8-across-fragments")
            << serverFrame(0x1, QByteArray("\xE2\x82", 2), false) + serverFrame(0x0, QByteArray("x", 1))
            << int(ws::closecode::invalidData);
        QByteArray topBit("\x82\x7F\x80\x00\x00\x00\x00\x00\x00\x01", 10);
        QTest::addRow("length-top-bit") << topBit << int(ws::closecode::protocolError);
    }
    void refusesWhatAClientMustRefuse()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(int, code);
        ws::FrameReader reader(1024);
        reader.feed(bytes);
        int errorCode = -1;
        QString error;
        while (auto e = reader.next()) {
            if (e->kind == Kind::Error) {
                errorCode = e->code;
                error = e->error;
                break;
            }
        }
        QCOMPARE(errorCode, code);
        QVERIFY(!error.isEmpty());
        // Failed stays failed: nothing more comes out, whatever follows.
        reader.feed(serverFrame(0x2, "later"));
        QVERIFY(!reader.next());
    }

    void oversizedMessageIsRefusedOnItsHeader()
    {
        ws::FrameReader reader(1024);
        // Only the header of a 1 GiB frame: refused before any payload is buffered.
        QByteArray header("\x82\x7F", 2);
        char len[8];
        qToBigEndian(std::uint64_t(1) << 30, len);
        reader.feed(QByteArray(header + QByteArray(len, 8)));
        auto e = reader.next();
        QVERIFY(e);
        QCOMPARE(e->kind, Kind::Error);
        QCOMPARE(e->code, ws::closecode::tooBig);
    }

    void acceptTokenMatchesRfcExample()
    {
        // RFC 6455 §1.3.
        QCOMPARE(ws::acceptFor("dGhlIHNhbXBsZSBub25jZQ=="), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        QCOMPARE(QByteArray::fromBase64(ws::newKey()).size(), 16);
        QVERIFY(ws::newKey() != ws::newKey());
    }

    void requestNamesHostPortAndPath()
    {
        const QByteArray r = ws::handshakeRequest(QUrl(QStringLiteral("ws://[::1]:8675/agents?x=1")), "KEY");
        QVERIFY(r.startsWith("GET /agents?x=1 HTTP/1.1\r\n"));
        QVERIFY(r.contains("\r\nHost: [::1]:8675\r\n"));
        QVERIFY(r.contains("\r\nSec-WebSocket-Key: KEY\r\n"));
        QVERIFY(r.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        QVERIFY(r.endsWith("\r\n\r\n"));
        const QByteArray plain = ws::handshakeRequest(QUrl(QStringLiteral("wss://monitor.example")), "K");
        QVERIFY(plain.startsWith("GET / HTTP/1.1\r\n"));
        QVERIFY(plain.contains("\r\nHost: monitor.example\r\n"));
    }

    void judgesTheServersAnswer_data()
    {
        const QByteArray key = "dGhlIHNhbXBsZSBub25jZQ==";
        const QByteArray good = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        QTest::addColumn<QByteArray>("answer");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("error");
        using S = ws::HandshakeResponse::Status;
        QTest::addRow("accepted") << good << int(S::Accepted) << QString();
        QTest::addRow("accepted-mixed-case")
            << QByteArray("HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
                          "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
            << int(S::Accepted) << QString();
        QTest::addRow("incomplete") << good.first(good.size() - 2) << int(S::Incomplete) << QString();
        QTest::addRow("http-400") << QByteArray("HTTP/1.1 400 Bad Request\r\n\r\n") << int(S::Refused)
                                  << QStringLiteral("400");
        QTest::addRow("not-http") << QByteArray("SSH-2.0-OpenSSH\r\n\r\n") << int(S::Refused)
                                  << QStringLiteral("not an HTTP answer");
        QByteArray wrongAccept = good;
        wrongAccept.replace("s3pP", "AAAA");
        QTest::addRow("wrong-accept") << wrongAccept << int(S::Refused) << QStringLiteral("does not match");
        QByteArray noUpgrade = good;
        noUpgrade.replace("Upgrade: websocket\r\n", "");
        QTest::addRow("no-upgrade") << noUpgrade << int(S::Refused) << QStringLiteral("Upgrade");
        QByteArray extension = good;
        extension.replace("\r\n\r\n", "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
        QTest::addRow("unoffered-extension") << extension << int(S::Refused) << QStringLiteral("not offered");
        QTest::addRow("endless-header") << QByteArray("HTTP/1.1 101 OK\r\n") + QByteArray(20000, 'x')
                                        << int(S::Refused) << QStringLiteral("longer than");
    }
    void judgesTheServersAnswer()
    {
        QFETCH(QByteArray, answer);
        QFETCH(int, status);
        QFETCH(QString, error);
        const QByteArray received = answer + "FRAMES";
        const ws::HandshakeResponse r = ws::parseHandshakeResponse(received, "dGhlIHNhbXBsZSBub25jZQ==");
        if (status == int(ws::HandshakeResponse::Status::Incomplete)) {
            QCOMPARE(int(ws::parseHandshakeResponse(answer, "dGhlIHNhbXBsZSBub25jZQ==").status), status);
            return;
        }
        QCOMPARE(int(r.status), status);
        QVERIFY2(r.error.contains(error), qPrintable(r.error));
        if (r.status == ws::HandshakeResponse::Status::Accepted)
            QCOMPARE(received.sliced(r.headerBytes), QByteArray("FRAMES"));
    }
};

QTEST_GUILESS_MAIN(TestWsFrame)
#include "tst_wsframe.moc"
