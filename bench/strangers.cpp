// SPDX-License-Identifier: MIT
// platform: linux (TCP_INFO and SIOCOUTQ tell a reset from a FIN and what the server took)
// Strangers before authentication: N connections that each do a real WebSocket upgrade, announce
// one masked binary frame of --frame-bytes, send only --fill of its payload and then hold the
// connection without sending anything more. That is all a stranger needs to make a server buffer
// a half-received frame before it has said who it is (the issue: 300 such connections took
// autofactory from 22 MiB to 332 MiB in 4 s). The tool prints what happened to the connections,
// phase by phase, and one JSON line with the counts; bench/scale-strangers.sh measures the
// server's memory around it.
//
//   bench_strangers --url ws://HOST:PORT|wss://HOST:PORT [--connections 300]
//                   [--frame-bytes 1048576] [--fill 0.5] [--hold 10s] [--insecure-tls]
//                   [--sources N] [--setup-timeout 30s]
//
// One thread, event-driven, no sleeps. The hold starts once every connection has sent its part
// of the frame (or failed, or --setup-timeout passed) and ends after --hold, or earlier when the
// server has closed every connection.
#include "codec.h"
#include "duration.h"
#include "messages.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QRandomGenerator>
#include <QSocketNotifier>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTextStream>
#include <QTimer>
#include <QUrl>

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

using namespace autofact;

namespace {

struct Options {
    QUrl url;
    int connections = 300;
    qint64 frameBytes = 1024 * 1024;
    double fill = 0.5;
    std::chrono::milliseconds hold{10000};
    std::chrono::milliseconds setupTimeout{30000};
    bool insecureTls = false;
    int sources = 1;
    qint64 fillBytes() const { return qint64(double(frameBytes) * fill); }
};

/// Where a connection is; it moves forward only. Ended is reached from any stage.
enum class Stage { Connecting, Encrypting, Upgrading, Sending, Holding, Ended };

QString stageName(Stage stage)
{
    switch (stage) {
    case Stage::Connecting: return QStringLiteral("connect");
    case Stage::Encrypting: return QStringLiteral("tls");
    case Stage::Upgrading: return QStringLiteral("upgrade");
    case Stage::Sending: return QStringLiteral("send");
    case Stage::Holding: return QStringLiteral("hold");
    case Stage::Ended: return QStringLiteral("ended");
    }
    return {};
}

// Chunks of the partial payload are written as the kernel takes them, so the tool never holds
// more than one chunk per connection (300 × 512 KiB queued at once would be 150 MiB here).
constexpr qsizetype kChunk = 64 * 1024;
constexpr qsizetype kMaxResponseHeader = 16 * 1024;
constexpr qsizetype kMaxInbound = 4 * 1024 * 1024;

/**
 * One stranger: connects, upgrades, sends a frame header and part of its payload, then only
 * listens. Records when each step happened and how the server ended it (close frame, FIN or
 * reset). The socket's descriptor is duplicated once connected: Qt maps both a FIN and a reset
 * to RemoteHostClosedError and closes its own descriptor at once, so TCP_INFO is read on the
 * duplicate to tell them apart (a reset leaves the socket CLOSE, a FIN leaves it CLOSE_WAIT).
 */
class Stranger : public QObject
{
public:
    Stranger(int index, const Options &options, const QByteArray &randomBlock,
             const QElapsedTimer &clock, std::function<void()> changed, QObject *parent = nullptr)
        : QObject(parent)
        , m_index(index)
        , m_options(options)
        , m_block(randomBlock)
        , m_clock(clock)
        , m_changed(std::move(changed))
    {
    }

    ~Stranger() override { closeWatch(); }

    void start()
    {
        const bool tls = m_options.url.scheme() == u"wss";
        if (tls) {
            auto *ssl = new QSslSocket(this);
            if (m_options.insecureTls)
                ssl->setPeerVerifyMode(QSslSocket::VerifyNone);
            connect(ssl, &QSslSocket::encrypted, this, [this] {
                m_tls = true;
                sendUpgrade();
            });
            connect(ssl, &QSslSocket::encryptedBytesWritten, this, [this] { pump(); });
            m_socket = ssl;
        } else {
            m_socket = new QTcpSocket(this);
        }
        connect(m_socket, &QAbstractSocket::connected, this, [this] {
            m_tConnected = now();
            // The duplicate keeps the kernel socket alive after Qt closes its descriptor; it is
            // closed as soon as the end has been read from it.
            m_watchFd = fcntl(int(m_socket->socketDescriptor()), F_DUPFD_CLOEXEC, 0);
            if (m_options.url.scheme() == u"wss") {
                m_stage = Stage::Encrypting;
                m_changed();
            } else {
                sendUpgrade();
            }
        });
        connect(m_socket, &QAbstractSocket::readyRead, this, [this] { readIncoming(); });
        connect(m_socket, &QAbstractSocket::bytesWritten, this, [this] { pump(); });
        connect(m_socket, &QAbstractSocket::errorOccurred, this,
                [this](QAbstractSocket::SocketError) { onSocketEnded(); });
        connect(m_socket, &QAbstractSocket::disconnected, this, [this] { onSocketEnded(); });

        if (m_options.sources > 1) {
            const QHostAddress source(QStringLiteral("127.0.0.%1").arg(1 + m_index % m_options.sources));
            if (!m_socket->bind(source, 0)) {
                endByUs(QStringLiteral("connect"), QStringLiteral("cannot bind to %1: %2").arg(source.toString(), m_socket->errorString()));
                return;
            }
        }
        const quint16 port = quint16(m_options.url.port(tls ? 443 : 80));
        if (tls)
            static_cast<QSslSocket *>(m_socket)->connectToHostEncrypted(m_options.url.host(), port);
        else
            m_socket->connectToHost(m_options.url.host(), port);
    }

    /// Ends the hold: the tool closes what the server left open.
    void finish()
    {
        if (m_stage == Stage::Ended)
            return;
        if (m_resolving) {
            finishEnd(QStringLiteral("open"), QStringLiteral("TCP end not seen before the hold ended"));
            return;
        }
        m_openAtEnd = true;
        m_endedIn = m_stage;
        m_stage = Stage::Ended;
        m_socket->disconnect(this);
        m_socket->abort();
        closeWatch();
    }

    /// Bytes written but not yet acknowledged by the server's kernel (SIOCOUTQ), 0 when closed.
    qint64 unacknowledgedBytes() const
    {
        int queued = 0;
        if (m_stage == Stage::Ended || m_watchFd < 0 || ioctl(m_watchFd, SIOCOUTQ, &queued) != 0)
            return 0;
        return queued;
    }

    Stage stage() const { return m_stage; }
    Stage endedIn() const { return m_endedIn; }
    bool openAtEnd() const { return m_openAtEnd; }
    bool connected() const { return m_tConnected >= 0; }
    bool encrypted() const { return m_tls; }
    bool upgraded() const { return m_tUpgraded >= 0; }
    bool sent() const { return m_tSent >= 0; }
    qint64 sentMs() const { return m_tSent; }
    qint64 upgradedMs() const { return m_tUpgraded; }
    qint64 endedMs() const { return m_tEnded; }
    /// Payload bytes handed to the kernel (the last chunk may still have been in Qt's buffer).
    qint64 payloadWritten() const { return m_payloadWritten; }
    /// One line: how the connection ended ("close frame 1001 "…" then FIN", "HTTP 503 …").
    QString how() const { return m_how; }
    /// What kind of end: connect, tls, http, accept, close-frame, fin, reset, ours.
    QString endKind() const { return m_endKind; }

private:
    qint64 now() const { return m_clock.elapsed(); }
    qint64 pending() const
    {
        qint64 n = m_socket->bytesToWrite();
        if (auto *ssl = qobject_cast<QSslSocket *>(m_socket))
            n += ssl->encryptedBytesToWrite();
        return n;
    }

    void sendUpgrade()
    {
        QByteArray nonce(16, Qt::Uninitialized);
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(nonce.data()), 4);
        m_key = nonce.toBase64();
        QByteArray path = m_options.url.path(QUrl::FullyEncoded).toLatin1();
        if (path.isEmpty())
            path = "/";
        if (m_options.url.hasQuery())
            path += '?' + m_options.url.query(QUrl::FullyEncoded).toLatin1();
        const QByteArray request = "GET " + path + " HTTP/1.1\r\n"
                                   "Host: " + m_options.url.authority(QUrl::FullyEncoded).toLatin1() + "\r\n"
                                   "Upgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: " + m_key + "\r\n"
                                   "Sec-WebSocket-Version: 13\r\n"
                                   "User-Agent: bench_strangers\r\n"
                                   "\r\n";
        m_stage = Stage::Upgrading;
        m_socket->write(request);
        m_changed();
    }

    void readIncoming()
    {
        if (m_stage == Stage::Ended)
            return;
        const QByteArray bytes = m_socket->readAll();
        if (m_in.size() < kMaxInbound)
            m_in += bytes;
        if (m_stage == Stage::Upgrading || m_stage == Stage::Encrypting) {
            const qsizetype end = m_in.indexOf("\r\n\r\n");
            if (end < 0) {
                if (m_in.size() > kMaxResponseHeader)
                    endByUs(QStringLiteral("http"), QStringLiteral("upgrade response over 16 KiB without its end"));
                return;
            }
            const QByteArray header = m_in.left(end);
            m_in.remove(0, end + 4);
            if (!checkUpgrade(header))
                return;
            m_tUpgraded = now();
            startSending();
        }
        parseFrames();
    }

    bool checkUpgrade(const QByteArray &header)
    {
        const QList<QByteArray> lines = header.split('\n');
        const QByteArray status = lines.value(0).trimmed();
        if (!status.startsWith("HTTP/1.1 101")) {
            endByUs(QStringLiteral("http"), QStringLiteral("HTTP refused: ") + QString::fromLatin1(status.left(120)));
            return false;
        }
        const QByteArray expected =
            QCryptographicHash::hash(QByteArray(m_key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"), QCryptographicHash::Sha1).toBase64();
        for (const QByteArray &raw : lines) {
            const QByteArray line = raw.trimmed();
            const qsizetype colon = line.indexOf(':');
            if (colon > 0 && line.left(colon).trimmed().toLower() == "sec-websocket-accept") {
                if (line.mid(colon + 1).trimmed() == expected)
                    return true;
                endByUs(QStringLiteral("accept"), QStringLiteral("101 with a wrong Sec-WebSocket-Accept"));
                return false;
            }
        }
        endByUs(QStringLiteral("accept"), QStringLiteral("101 without Sec-WebSocket-Accept"));
        return false;
    }

    void startSending()
    {
        m_stage = Stage::Sending;
        m_mask = QRandomGenerator::global()->generate();
        // FIN + binary, masked (RFC 6455 5.3: every client frame is), then the shortest length form.
        QByteArray header;
        header.append(char(0x82));
        const quint64 length = quint64(m_options.frameBytes);
        if (length < 126) {
            header.append(char(0x80 | length));
        } else if (length <= 0xFFFF) {
            header.append(char(0x80 | 126));
            for (int shift = 8; shift >= 0; shift -= 8)
                header.append(char((length >> shift) & 0xFF));
        } else {
            header.append(char(0x80 | 127));
            for (int shift = 56; shift >= 0; shift -= 8)
                header.append(char((length >> shift) & 0xFF));
        }
        for (int shift = 24; shift >= 0; shift -= 8)
            header.append(char((m_mask >> shift) & 0xFF));
        m_socket->write(header);
        m_payloadLeft = m_options.fillBytes();
        m_changed();
        pump();
    }

    /// Queues the next chunks of the partial payload while the socket's queue is short.
    void pump()
    {
        if (m_stage != Stage::Sending)
            return;
        // The frame header (at most 14 bytes) is counted as payload here: close enough.
        m_payloadWritten = std::max<qint64>(m_payloadWritten, m_payloadQueued - pending());
        while (m_payloadLeft > 0 && pending() < kChunk) {
            const qsizetype n = qsizetype(std::min<qint64>(kChunk, m_payloadLeft));
            QByteArray chunk(n, Qt::Uninitialized);
            const char mask[4] = {char(m_mask >> 24), char(m_mask >> 16), char(m_mask >> 8), char(m_mask)};
            for (qsizetype i = 0; i < n; ++i) {
                const qint64 at = m_payloadQueued + i;
                chunk[i] = char(m_block[qsizetype(at % m_block.size())] ^ mask[at % 4]);
            }
            m_socket->write(chunk);
            m_payloadQueued += n;
            m_payloadLeft -= n;
        }
        if (m_payloadLeft == 0 && pending() == 0) {
            m_payloadWritten = m_payloadQueued;
            m_tSent = now();
            m_stage = Stage::Holding;
            m_changed();
        }
    }

    /// Frames from the server (unmasked per RFC 6455, but a mask is undone if present).
    void parseFrames()
    {
        for (;;) {
            if (m_in.size() < 2)
                return;
            const auto b0 = quint8(m_in[0]);
            const auto b1 = quint8(m_in[1]);
            const bool masked = b1 & 0x80;
            quint64 length = b1 & 0x7F;
            qsizetype at = 2;
            const int extra = length == 126 ? 2 : length == 127 ? 8 : 0;
            if (m_in.size() < at + extra + (masked ? 4 : 0))
                return;
            if (extra) {
                length = 0;
                for (int i = 0; i < extra; ++i)
                    length = (length << 8) | quint8(m_in[at + i]);
                at += extra;
            }
            char mask[4] = {};
            if (masked) {
                for (int i = 0; i < 4; ++i)
                    mask[i] = m_in[at + i];
                at += 4;
            }
            if (length > quint64(kMaxInbound) || quint64(m_in.size() - at) < length)
                return;
            QByteArray payload = m_in.mid(at, qsizetype(length));
            m_in.remove(0, at + qsizetype(length));
            if (masked)
                for (qsizetype i = 0; i < payload.size(); ++i)
                    payload[i] = char(payload[i] ^ mask[i % 4]);
            onFrame(b0 & 0x0F, payload);
        }
    }

    void onFrame(int opcode, const QByteArray &payload)
    {
        if (opcode == 0x8) {
            m_closeCode = payload.size() >= 2 ? (quint8(payload[0]) << 8) | quint8(payload[1]) : 1005;
            m_closeReason = QString::fromUtf8(payload.mid(2));
        } else if (opcode == 0x2 || opcode == 0x0) {
            // The server's protocol error before it closes, if it sends one.
            const DecodeResult r = codec::decode(payload);
            if (r.ok()) {
                if (const auto *e = std::get_if<ErrorMessage>(&*r.message))
                    m_said.append(QStringLiteral("Error %1 \"%2\"").arg(errorCodeName(e->code), e->reason));
                else
                    m_said.append(messageTypeName(*r.message));
            } else {
                m_said.append(QStringLiteral("binary message of %1 bytes").arg(payload.size()));
            }
        } else if (opcode == 0x1) {
            m_said.append(QStringLiteral("text message of %1 bytes").arg(payload.size()));
        } else if (opcode == 0x9) {
            m_said.append(QStringLiteral("ping")); // not answered: a stranger that holds sends nothing
        }
    }

    /// The server (or the network) ended the connection: Qt has seen it; TCP tells how.
    void onSocketEnded()
    {
        if (m_stage == Stage::Ended || m_resolving)
            return;
        if (m_socket->state() != QAbstractSocket::UnconnectedState
            && m_socket->error() != QAbstractSocket::RemoteHostClosedError)
            return; // e.g. a TLS error that Qt follows with its own close: wait for it
        const QByteArray rest = m_socket->readAll();
        if (!rest.isEmpty() && m_in.size() < kMaxInbound) {
            m_in += rest;
            if (m_stage >= Stage::Sending)
                parseFrames();
        }
        m_tEnded = now();
        if (!connected()) {
            finishEnd(QStringLiteral("connect"), QStringLiteral("connect failed: ") + m_socket->errorString());
            return;
        }
        if (m_stage == Stage::Encrypting && m_socket->error() != QAbstractSocket::RemoteHostClosedError) {
            finishEnd(QStringLiteral("tls"), QStringLiteral("TLS failed: ") + m_socket->errorString());
            return;
        }
        m_resolving = true;
        resolveTcp();
    }

    /// Reads the kernel's state of the duplicate: a reset leaves it CLOSE, a FIN CLOSE_WAIT. Over
    /// TLS, Qt reports the end at the server's close_notify, which may come just before its FIN:
    /// then the duplicate is watched until the FIN or a reset arrives (at most 3 s).
    void resolveTcp()
    {
        tcp_info info{};
        socklen_t size = sizeof info;
        const bool known = m_watchFd >= 0 && getsockopt(m_watchFd, IPPROTO_TCP, TCP_INFO, &info, &size) == 0;
        if (known && info.tcpi_state == TCP_CLOSE) {
            finishEnd(QStringLiteral("reset"), QStringLiteral("reset"));
            return;
        }
        if (known && info.tcpi_state == TCP_CLOSE_WAIT) {
            finishEnd(QStringLiteral("fin"), QStringLiteral("FIN"));
            return;
        }
        if (!known || m_notifier) {
            finishEnd(QStringLiteral("other"),
                      QStringLiteral("closed (%1, TCP state %2)").arg(m_socket->errorString()).arg(known ? int(info.tcpi_state) : -1));
            return;
        }
        m_notifier = new QSocketNotifier(qintptr(m_watchFd), QSocketNotifier::Read, this);
        connect(m_notifier, &QSocketNotifier::activated, this, [this] {
            char buffer[4096];
            const ssize_t r = ::recv(m_watchFd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (r < 0 && errno == ECONNRESET)
                finishEnd(QStringLiteral("reset"), QStringLiteral("reset"));
            else if (r == 0)
                resolveTcp();
            // r > 0: TLS records after close_notify are nobody's business; keep watching.
        });
        QTimer::singleShot(3000, this, [this] {
            if (m_stage != Stage::Ended)
                finishEnd(QStringLiteral("open"), QStringLiteral("TCP still open 3 s after the close"));
        });
    }

    void finishEnd(QString kind, const QString &tcp)
    {
        QStringList parts = m_said;
        if (m_closeCode >= 0) {
            parts.append(QStringLiteral("close frame %1 \"%2\"").arg(m_closeCode).arg(m_closeReason));
            kind = QStringLiteral("close-frame+") + kind;
        }
        parts.append((parts.isEmpty() ? QString() : QStringLiteral("then ")) + tcp);
        m_how = parts.join(QStringLiteral(", "));
        m_endKind = kind;
        if (m_tEnded < 0)
            m_tEnded = now();
        m_endedIn = m_stage;
        m_stage = Stage::Ended;
        closeWatch();
        m_changed();
    }

    void endByUs(const QString &kind, const QString &how)
    {
        m_how = how;
        m_endKind = kind;
        m_tEnded = now();
        m_endedIn = m_stage;
        m_stage = Stage::Ended;
        m_socket->disconnect(this);
        m_socket->abort();
        closeWatch();
        m_changed();
    }

    void closeWatch()
    {
        delete m_notifier;
        m_notifier = nullptr;
        if (m_watchFd >= 0)
            ::close(m_watchFd);
        m_watchFd = -1;
    }

    const int m_index;
    const Options &m_options;
    const QByteArray &m_block;
    const QElapsedTimer &m_clock;
    std::function<void()> m_changed;
    QAbstractSocket *m_socket = nullptr;
    int m_watchFd = -1;
    QSocketNotifier *m_notifier = nullptr;
    bool m_resolving = false;
    Stage m_stage = Stage::Connecting;
    Stage m_endedIn = Stage::Connecting;
    bool m_openAtEnd = false;
    bool m_tls = false;
    QByteArray m_key;
    QByteArray m_in;
    quint32 m_mask = 0;
    qint64 m_payloadLeft = 0;
    qint64 m_payloadQueued = 0;
    qint64 m_payloadWritten = 0;
    qint64 m_tConnected = -1;
    qint64 m_tUpgraded = -1;
    qint64 m_tSent = -1;
    qint64 m_tEnded = -1;
    int m_closeCode = -1;
    QString m_closeReason;
    QStringList m_said;
    QString m_how;
    QString m_endKind;
};

struct Spread {
    double min = 0, median = 0, max = 0;
};

std::optional<Spread> spread(std::vector<double> values)
{
    if (values.empty())
        return std::nullopt;
    std::sort(values.begin(), values.end());
    return Spread{values.front(), values[values.size() / 2], values.back()};
}

QJsonValue spreadJson(const std::optional<Spread> &s)
{
    if (!s)
        return QJsonValue::Null;
    return QJsonObject{{QStringLiteral("min"), s->min}, {QStringLiteral("median"), s->median}, {QStringLiteral("max"), s->max}};
}

QString secondsText(const std::optional<Spread> &s)
{
    if (!s)
        return QStringLiteral("-");
    if (s->max - s->min < 0.05)
        return QStringLiteral("%1 s").arg(s->median, 0, 'f', 2);
    return QStringLiteral("%1–%2 s (median %3)").arg(s->min, 0, 'f', 2).arg(s->max, 0, 'f', 2).arg(s->median, 0, 'f', 2);
}

/** The run: starts every stranger, announces each phase once all have passed it, holds, reports. */
class StrangerRun : public QObject
{
public:
    explicit StrangerRun(Options options, QObject *parent = nullptr)
        : QObject(parent)
        , m_options(std::move(options))
        , m_out(stdout)
    {
        m_block.resize(kChunk);
        QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(m_block.data()), kChunk / 4);
        // Precise: a coarse 10 s timer may fire up to 5 % early, and the hold is a measured figure.
        for (QTimer *t : {&m_tick, &m_setupTimer, &m_holdTimer})
            t->setTimerType(Qt::PreciseTimer);
        m_tick.setInterval(1000);
        connect(&m_tick, &QTimer::timeout, this, [this] { onTick(); });
        m_setupTimer.setSingleShot(true);
        connect(&m_setupTimer, &QTimer::timeout, this, [this] {
            line(QStringLiteral("setup timeout (%1): %2 still connecting, %3 in TLS, %4 upgrading, %5 sending; holding anyway")
                     .arg(duration::format(m_options.setupTimeout))
                     .arg(count(Stage::Connecting))
                     .arg(count(Stage::Encrypting))
                     .arg(count(Stage::Upgrading))
                     .arg(count(Stage::Sending)));
            startHold();
        });
        m_holdTimer.setSingleShot(true);
        connect(&m_holdTimer, &QTimer::timeout, this, [this] { endHold(false); });
    }

    void start()
    {
        m_clock.start();
        line(QStringLiteral("%1 strangers to %2%3: frame of %4 bytes announced, %5 bytes of it sent (fill %6), then hold %7")
                 .arg(m_options.connections)
                 .arg(m_options.url.toString())
                 .arg(m_options.sources > 1 ? QStringLiteral(" from %1 loopback addresses").arg(m_options.sources) : QString())
                 .arg(m_options.frameBytes)
                 .arg(m_options.fillBytes())
                 .arg(m_options.fill)
                 .arg(duration::format(m_options.hold)));
        m_strangers.reserve(std::size_t(m_options.connections));
        for (int i = 0; i < m_options.connections; ++i)
            m_strangers.push_back(std::make_unique<Stranger>(i, m_options, m_block, m_clock, [this] { onChanged(); }, this));
        for (auto &s : m_strangers)
            s->start();
        m_setupTimer.start(m_options.setupTimeout);
    }

private:
    int count(Stage stage) const
    {
        return int(std::count_if(m_strangers.begin(), m_strangers.end(), [stage](const auto &s) { return s->stage() == stage; }));
    }
    int countIf(const std::function<bool(const Stranger &)> &pred) const
    {
        return int(std::count_if(m_strangers.begin(), m_strangers.end(), [&](const auto &s) { return pred(*s); }));
    }
    int endedBefore(Stage stage) const
    {
        return countIf([stage](const Stranger &s) { return s.stage() == Stage::Ended && s.endedIn() <= stage; });
    }

    void line(const QString &text)
    {
        m_out << QStringLiteral("[%1s] ").arg(double(m_clock.elapsed()) / 1000.0, 7, 'f', 3) << text << Qt::endl;
    }

    void onChanged()
    {
        if (m_finished)
            return;
        // A phase is over when no stranger is still in it or before it.
        auto passed = [this](Stage stage) {
            return std::none_of(m_strangers.begin(), m_strangers.end(),
                                [stage](const auto &s) { return s->stage() <= stage; });
        };
        const bool tls = m_options.url.scheme() == u"wss";
        if (!m_announced[0] && passed(Stage::Connecting)) {
            m_announced[0] = true;
            line(QStringLiteral("open:    %1/%2 TCP connected, %3 failed to connect")
                     .arg(countIf([](const Stranger &s) { return s.connected(); }))
                     .arg(m_options.connections)
                     .arg(countIf([](const Stranger &s) { return !s.connected(); })));
        }
        if (tls && !m_announced[1] && passed(Stage::Encrypting)) {
            m_announced[1] = true;
            line(QStringLiteral("tls:     %1/%2 TLS established, %3 ended before")
                     .arg(countIf([](const Stranger &s) { return s.encrypted(); }))
                     .arg(m_options.connections)
                     .arg(endedBefore(Stage::Encrypting)));
        }
        if (!m_announced[2] && passed(Stage::Upgrading)) {
            m_announced[2] = true;
            line(QStringLiteral("upgrade: %1/%2 upgraded (101 with the right Sec-WebSocket-Accept); %3 ended before or instead")
                     .arg(countIf([](const Stranger &s) { return s.upgraded(); }))
                     .arg(m_options.connections)
                     .arg(endedBefore(Stage::Upgrading)));
        }
        if (!m_announced[3] && passed(Stage::Sending)) {
            m_announced[3] = true;
            line(QStringLiteral("send:    %1/%2 sent the frame header and %3 of %4 payload bytes; %5 ended before")
                     .arg(countIf([](const Stranger &s) { return s.sent(); }))
                     .arg(m_options.connections)
                     .arg(m_options.fillBytes())
                     .arg(m_options.frameBytes)
                     .arg(endedBefore(Stage::Sending)));
            startHold();
        }
        if (m_holding && count(Stage::Ended) == m_options.connections)
            endHold(true);
    }

    void startHold()
    {
        if (m_holding)
            return;
        m_holding = true;
        m_setupTimer.stop();
        m_holdStartMs = m_clock.elapsed();
        m_unackedAtHold = unacknowledged();
        line(QStringLiteral("hold:    %1 open; %2 bytes still unacknowledged by the server's kernel")
                 .arg(m_options.connections - count(Stage::Ended))
                 .arg(m_unackedAtHold));
        m_holdTimer.start(m_options.hold);
        m_tick.start();
        if (count(Stage::Ended) == m_options.connections)
            endHold(true);
    }

    qint64 unacknowledged() const
    {
        qint64 sum = 0;
        for (const auto &s : m_strangers)
            sum += s->unacknowledgedBytes();
        return sum;
    }

    void onTick()
    {
        const int ended = count(Stage::Ended);
        line(QStringLiteral("hold %1s: %2 open, %3 ended (%4 closed by the server since the last line)")
                 .arg(double(m_clock.elapsed() - m_holdStartMs) / 1000.0, 0, 'f', 1)
                 .arg(m_options.connections - ended)
                 .arg(ended)
                 .arg(ended - m_endedAtLastTick));
        m_endedAtLastTick = ended;
    }

    void endHold(bool early)
    {
        if (m_finished)
            return;
        m_finished = true;
        m_tick.stop();
        m_holdTimer.stop();
        m_setupTimer.stop();
        const qint64 held = m_clock.elapsed() - m_holdStartMs;
        const qint64 unackedAtEnd = unacknowledged();
        if (early)
            line(QStringLiteral("hold over after %1 s: the server closed every connection").arg(double(held) / 1000.0, 0, 'f', 1));
        else
            line(QStringLiteral("hold over after %1 s: %2 still open, closing them").arg(double(held) / 1000.0, 0, 'f', 1)
                     .arg(m_options.connections - count(Stage::Ended)));
        for (auto &s : m_strangers)
            s->finish();
        report(held, unackedAtEnd);
        QTimer::singleShot(0, qApp, [] { QCoreApplication::exit(0); });
    }

    void report(qint64 heldMs, qint64 unackedAtEnd)
    {
        // Group the ends by stage and manner; times are on this tool's clock, and for strangers
        // that sent their part, also since their last byte (Qt's and the server's timers run
        // from about then).
        struct Group {
            QString stage, how, kind;
            int count = 0;
            std::vector<double> at, afterUpgrade, afterLastByte;
        };
        QMap<QString, Group> groups;
        int byServer = 0, refused = 0, closedAfterUpgrade = 0, openAtEnd = 0;
        QMap<QString, int> kinds;
        QMap<QString, int> during;
        for (const auto &s : m_strangers) {
            if (s->openAtEnd()) {
                ++openAtEnd;
                continue;
            }
            const QString stage = stageName(s->endedIn());
            Group &g = groups[stage + u'|' + s->how()];
            g.stage = stage;
            g.how = s->how();
            g.kind = s->endKind();
            ++g.count;
            g.at.push_back(double(s->endedMs()) / 1000.0);
            if (s->upgraded())
                g.afterUpgrade.push_back(double(s->endedMs() - s->upgradedMs()) / 1000.0);
            if (s->sent())
                g.afterLastByte.push_back(double(s->endedMs() - s->sentMs()) / 1000.0);
            ++byServer;
            ++kinds[s->endKind()];
            ++during[stage];
            if (s->upgraded())
                ++closedAfterUpgrade;
            else
                ++refused;
        }
        m_out << Qt::endl << "how the connections ended:" << Qt::endl;
        QJsonArray ends;
        for (const Group &g : std::as_const(groups)) {
            const auto at = spread(g.at);
            const auto afterUpgrade = spread(g.afterUpgrade);
            const auto after = spread(g.afterLastByte);
            m_out << QStringLiteral("  %1 × during %2: %3\n        at %4 on this tool's clock%5%6")
                         .arg(g.count, 3)
                         .arg(g.stage, g.how, secondsText(at),
                              afterUpgrade ? QStringLiteral(", %1 after their upgrade").arg(secondsText(afterUpgrade)) : QString(),
                              after ? QStringLiteral(", %1 after their last byte").arg(secondsText(after)) : QString())
                  << Qt::endl;
            ends.append(QJsonObject{{QStringLiteral("stage"), g.stage},
                                    {QStringLiteral("how"), g.how},
                                    {QStringLiteral("kind"), g.kind},
                                    {QStringLiteral("count"), g.count},
                                    {QStringLiteral("at_s"), spreadJson(at)},
                                    {QStringLiteral("after_upgrade_s"), spreadJson(afterUpgrade)},
                                    {QStringLiteral("after_last_byte_s"), spreadJson(after)}});
        }
        if (openAtEnd > 0)
            m_out << QStringLiteral("  %1 × still open when the hold ended (closed by this tool)").arg(openAtEnd, 3) << Qt::endl;

        QJsonObject kindsJson;
        for (auto it = kinds.cbegin(); it != kinds.cend(); ++it)
            kindsJson.insert(it.key(), it.value());
        QJsonObject duringJson;
        for (auto it = during.cbegin(); it != during.cend(); ++it)
            duringJson.insert(it.key(), it.value());
        qint64 payloadBytes = 0;
        for (const auto &s : m_strangers)
            payloadBytes += s->payloadWritten();
        const QJsonObject summary{
            {QStringLiteral("url"), m_options.url.toString()},
            {QStringLiteral("connections"), m_options.connections},
            {QStringLiteral("sources"), m_options.sources},
            {QStringLiteral("frame_bytes"), m_options.frameBytes},
            {QStringLiteral("fill_bytes"), m_options.fillBytes()},
            {QStringLiteral("hold_s"), double(m_options.hold.count()) / 1000.0},
            {QStringLiteral("held_s"), double(heldMs) / 1000.0},
            {QStringLiteral("tcp_connected"), countIf([](const Stranger &s) { return s.connected(); })},
            {QStringLiteral("tls_established"), countIf([](const Stranger &s) { return s.encrypted(); })},
            {QStringLiteral("upgraded"), countIf([](const Stranger &s) { return s.upgraded(); })},
            {QStringLiteral("sent"), countIf([](const Stranger &s) { return s.sent(); })},
            {QStringLiteral("payload_bytes_written"), payloadBytes},
            {QStringLiteral("ended_by_server"), byServer},
            {QStringLiteral("refused_before_upgrade"), refused},
            {QStringLiteral("closed_after_upgrade"), closedAfterUpgrade},
            {QStringLiteral("closed_during"), duringJson},
            {QStringLiteral("end_kinds"), kindsJson},
            {QStringLiteral("open_at_end"), openAtEnd},
            {QStringLiteral("unacked_bytes_at_hold_start"), m_unackedAtHold},
            {QStringLiteral("unacked_bytes_at_hold_end"), unackedAtEnd},
            {QStringLiteral("ends"), ends},
            {QStringLiteral("elapsed_s"), double(m_clock.elapsed()) / 1000.0},
        };
        m_out << QString::fromUtf8(QJsonDocument(summary).toJson(QJsonDocument::Compact)) << Qt::endl;
    }

    Options m_options;
    QTextStream m_out;
    QElapsedTimer m_clock;
    QByteArray m_block;
    std::vector<std::unique_ptr<Stranger>> m_strangers;
    QTimer m_setupTimer;
    QTimer m_holdTimer;
    QTimer m_tick;
    bool m_announced[4] = {};
    bool m_holding = false;
    bool m_finished = false;
    qint64 m_holdStartMs = 0;
    qint64 m_unackedAtHold = 0;
    int m_endedAtLastTick = 0;
};

std::optional<Options> parseOptions(const QCoreApplication &app, QString *error)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Opens N WebSocket connections that each send one frame header and part of its payload, then hold.\n"
        "Prints what the server did with them, phase by phase, and a JSON line with the counts."));
    parser.addHelpOption();
    const QCommandLineOption url(QStringLiteral("url"), QStringLiteral("ws://HOST:PORT or wss://HOST:PORT"), QStringLiteral("URL"));
    const QCommandLineOption connections(QStringLiteral("connections"), QStringLiteral("connections (default 300)"), QStringLiteral("N"), QStringLiteral("300"));
    const QCommandLineOption frameBytes(QStringLiteral("frame-bytes"), QStringLiteral("payload length the frame header announces (default 1048576)"), QStringLiteral("BYTES"), QStringLiteral("1048576"));
    const QCommandLineOption fill(QStringLiteral("fill"), QStringLiteral("part of that payload sent, 0..1 (default 0.5)"), QStringLiteral("F"), QStringLiteral("0.5"));
    const QCommandLineOption hold(QStringLiteral("hold"), QStringLiteral("how long to hold once every connection has sent (default 10s)"), QStringLiteral("D"), QStringLiteral("10s"));
    const QCommandLineOption insecure(QStringLiteral("insecure-tls"), QStringLiteral("wss: accept any server certificate (self-signed test servers)"));
    const QCommandLineOption sources(QStringLiteral("sources"), QStringLiteral("spread the connections over 127.0.0.1..127.0.0.N (loopback URL only; default 1)"), QStringLiteral("N"), QStringLiteral("1"));
    const QCommandLineOption setup(QStringLiteral("setup-timeout"), QStringLiteral("longest wait for connect, upgrade and send before holding anyway (default 30s)"), QStringLiteral("D"), QStringLiteral("30s"));
    parser.addOptions({url, connections, frameBytes, fill, hold, insecure, sources, setup});
    parser.process(app);

    Options o;
    o.url = QUrl(parser.value(url), QUrl::StrictMode);
    if (!o.url.isValid() || o.url.host().isEmpty() || (o.url.scheme() != u"ws" && o.url.scheme() != u"wss")
        || o.url.port() <= 0) {
        *error = QStringLiteral("--url must be ws://HOST:PORT or wss://HOST:PORT");
        return std::nullopt;
    }
    bool ok = false;
    o.connections = parser.value(connections).toInt(&ok);
    if (!ok || o.connections < 1 || o.connections > 100000) {
        *error = QStringLiteral("--connections must be 1..100000");
        return std::nullopt;
    }
    o.frameBytes = parser.value(frameBytes).toLongLong(&ok);
    if (!ok || o.frameBytes < 1 || o.frameBytes > (qint64(1) << 40)) {
        *error = QStringLiteral("--frame-bytes must be 1..2^40");
        return std::nullopt;
    }
    o.fill = parser.value(fill).toDouble(&ok);
    if (!ok || o.fill < 0 || o.fill > 1) {
        *error = QStringLiteral("--fill must be between 0 and 1");
        return std::nullopt;
    }
    const auto holdValue = duration::parse(parser.value(hold));
    const auto setupValue = duration::parse(parser.value(setup));
    if (!holdValue || !setupValue) {
        *error = QStringLiteral("--hold and --setup-timeout take durations such as 10s or 500ms");
        return std::nullopt;
    }
    o.hold = *holdValue;
    o.setupTimeout = *setupValue;
    o.insecureTls = parser.isSet(insecure);
    o.sources = parser.value(sources).toInt(&ok);
    if (!ok || o.sources < 1 || o.sources > 254) {
        *error = QStringLiteral("--sources must be 1..254");
        return std::nullopt;
    }
    const QHostAddress host(o.url.host());
    if (o.sources > 1 && (host.protocol() != QAbstractSocket::IPv4Protocol || !host.isLoopback())) {
        *error = QStringLiteral("--sources needs a URL on an IPv4 loopback address (127.x.x.x)");
        return std::nullopt;
    }
    return o;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("bench_strangers"));
    QString error;
    const std::optional<Options> options = parseOptions(app, &error);
    if (!options) {
        QTextStream(stderr) << "bench_strangers: " << error << Qt::endl;
        return 2;
    }
    StrangerRun run(*options);
    QTimer::singleShot(0, &run, [&run] { run.start(); });
    return app.exec();
}
