// SPDX-License-Identifier: MIT
#include "link/wsclient.h"

#include "link/linklogging.h"
#include "link/tlssession.h"
#include "link/wshandshake.h"

#include <QFutureWatcher>
#include <QPromise>
#include <QRandomGenerator>
#include <QSocketNotifier>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <thread>
#include <unistd.h>

namespace autofact::agent {

namespace {
// A server has this long to answer our close frame before the socket is dropped.
constexpr int closeTimeoutMs = 2000;
// Reads per readiness event before yielding to the event loop (one read is up to 64 KiB).
constexpr int readsPerEvent = 16;
// Pongs are not queued behind more than this: a server that pings without reading gets no
// unbounded queue out of it.
constexpr qsizetype maxQueuedForPong = 4 * 1024 * 1024;

QString describe(const sockaddr_storage &addr)
{
    char text[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
        const auto &in = reinterpret_cast<const sockaddr_in &>(addr);
        inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
        return QStringLiteral("%1:%2").arg(QLatin1String(text)).arg(ntohs(in.sin_port));
    }
    const auto &in6 = reinterpret_cast<const sockaddr_in6 &>(addr);
    inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    return QStringLiteral("[%1]:%2").arg(QLatin1String(text)).arg(ntohs(in6.sin6_port));
}

char *scratch()
{
    // One read buffer per thread, not per connection: the load generator runs thousands.
    thread_local char buffer[64 * 1024];
    return buffer;
}
} // namespace

WsClient::WsClient(QObject *parent)
    : QObject(parent)
{
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &WsClient::onTimeout);
}

WsClient::~WsClient()
{
    closeSocket();
}

WsClient::State WsClient::state() const
{
    switch (m_phase) {
    case Phase::Idle:
        return State::Unconnected;
    case Phase::Open:
        return State::Open;
    case Phase::Closing:
        return State::Closing;
    default:
        return State::Connecting;
    }
}

WsClient::Resolution WsClient::resolve(const QByteArray &host, int port, bool numericOnly)
{
    Resolution r;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (numericOnly ? AI_NUMERICHOST : AI_ADDRCONFIG);
    addrinfo *list = nullptr;
    const QByteArray service = QByteArray::number(port);
    const int rc = getaddrinfo(host.constData(), service.constData(), &hints, &list);
    if (rc != 0) {
        r.error = QStringLiteral("cannot resolve %1: %2").arg(QString::fromUtf8(host), QString::fromLocal8Bit(gai_strerror(rc)));
        return r;
    }
    for (addrinfo *a = list; a; a = a->ai_next) {
        if (a->ai_addrlen > sizeof(sockaddr_storage))
            continue;
        Address address;
        std::memcpy(&address.addr, a->ai_addr, a->ai_addrlen);
        address.length = socklen_t(a->ai_addrlen);
        r.addresses.push_back(address);
    }
    freeaddrinfo(list);
    if (r.addresses.empty())
        r.error = QStringLiteral("no address for %1").arg(QString::fromUtf8(host));
    return r;
}

void WsClient::open(const QUrl &url)
{
    abort();
    m_url = url;
    m_error.clear();
    m_closeCode = 0;
    m_closeReason.clear();
    m_reader = ws::FrameReader(m_maxMessageBytes);
    m_phase = Phase::Resolving;
    const std::uint64_t generation = m_generation;

    const QString scheme = url.scheme();
    const QByteArray host = url.host(QUrl::FullyEncoded).toUtf8();
    Resolution immediate;
    if (scheme != QLatin1String("ws") && scheme != QLatin1String("wss")) {
        immediate.error = QStringLiteral("%1 is not a ws:// or wss:// URL").arg(url.toString());
    } else if (host.isEmpty()) {
        immediate.error = QStringLiteral("%1 has no host").arg(url.toString());
    } else {
        const int port = url.port(scheme == QLatin1String("wss") ? 443 : 80);
        immediate = resolve(host, port, true);
        if (immediate.addresses.empty()) {
            // A name needs DNS, which may block for seconds: ask on a pool thread so sampling
            // and the rest of the event loop keep their pace.
            auto promise = std::make_shared<QPromise<Resolution>>();
            auto *watcher = new QFutureWatcher<Resolution>(this);
            m_resolveWatcher = watcher;
            connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, generation] {
                const Resolution r = watcher->future().resultCount() > 0 ? watcher->result() : Resolution{};
                onResolved(generation, r.addresses.empty() && r.error.isEmpty()
                                           ? Resolution{{}, QStringLiteral("name lookup abandoned")}
                                           : r);
            });
            watcher->setFuture(promise->future());
            // A detached thread, not Qt's global pool: QCoreApplication waits for that pool at
            // exit, and a lookup stuck on a dead DNS server must not hold up a stopping agent.
            std::thread([promise, host, port] {
                promise->start();
                if (!promise->isCanceled())
                    promise->addResult(resolve(host, port, false));
                promise->finish();
            }).detach();
            m_timer.start(m_connectTimeoutMs);
            return;
        }
    }
    // Deliver on the event loop like every other outcome: open() itself never signals.
    QMetaObject::invokeMethod(
        this, [this, generation, immediate] { onResolved(generation, immediate); }, Qt::QueuedConnection);
}

void WsClient::onResolved(std::uint64_t generation, const Resolution &resolution)
{
    if (generation != m_generation || m_phase != Phase::Resolving)
        return;
    if (m_resolveWatcher) {
        m_resolveWatcher->deleteLater();
        m_resolveWatcher = nullptr;
    }
    if (resolution.addresses.empty()) {
        finish(resolution.error);
        return;
    }
    m_addresses = resolution.addresses;
    m_nextAddress = 0;
    connectNext();
}

void WsClient::connectNext()
{
    closeSocket();
    while (m_nextAddress < m_addresses.size()) {
        const Address &a = m_addresses[m_nextAddress++];
#ifdef SOCK_CLOEXEC
        // Atomically: another thread may fork and exec between socket() and fcntl().
        const int fd = ::socket(a.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
        const int fd = ::socket(a.addr.ss_family, SOCK_STREAM, 0);
#endif
        if (fd < 0) {
            m_error = QStringLiteral("socket: %1").arg(qt_error_string(errno));
            continue;
        }
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
#ifdef SO_NOSIGPIPE
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        int rc;
        do {
            rc = ::connect(fd, reinterpret_cast<const sockaddr *>(&a.addr), a.length);
        } while (rc != 0 && errno == EINTR);
        if (rc != 0 && errno != EINPROGRESS) {
            m_error = QStringLiteral("cannot connect to %1: %2").arg(describe(a.addr), qt_error_string(errno));
            ::close(fd);
            continue;
        }
        m_fd = fd;
        m_phase = Phase::TcpConnecting;
        m_readNotifier = new QSocketNotifier(qintptr(fd), QSocketNotifier::Read, this);
        m_readNotifier->setEnabled(false);
        connect(m_readNotifier, &QSocketNotifier::activated, this, &WsClient::onReadable);
        m_writeNotifier = new QSocketNotifier(qintptr(fd), QSocketNotifier::Write, this);
        connect(m_writeNotifier, &QSocketNotifier::activated, this, &WsClient::onWritable);
        m_timer.start(m_connectTimeoutMs);
        return;
    }
    finish(m_error.isEmpty() ? QStringLiteral("no address to connect to") : m_error);
}

void WsClient::onTcpConnected()
{
    const int one = 1;
    // Acks and heartbeats are small and latency matters more than packet count.
    ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    m_readNotifier->setEnabled(true);
    setWriteInterest(false);
    m_timer.start(m_connectTimeoutMs);
    if (m_url.scheme() == QLatin1String("wss")) {
        m_tls = std::make_unique<TlsSession>();
        QString error;
        // The ASCII (punycode) form: certificates name hosts that way.
        if (!m_tls->start(m_fd, m_url.host(QUrl::FullyEncoded), m_caFile, &error)) {
            finish(error);
            return;
        }
        m_phase = Phase::TlsHandshake;
        driveTls();
        return;
    }
    startWsHandshake();
}

void WsClient::driveTls()
{
    switch (m_tls->handshake()) {
    case TlsSession::Io::Done:
        setWriteInterest(false);
        startWsHandshake();
        return;
    case TlsSession::Io::WantRead:
        setWriteInterest(false);
        return;
    case TlsSession::Io::WantWrite:
        setWriteInterest(true);
        return;
    case TlsSession::Io::Closed:
    case TlsSession::Io::Failed:
        finish(m_tls->errorString().isEmpty() ? QStringLiteral("TLS handshake failed") : m_tls->errorString());
        return;
    }
}

void WsClient::startWsHandshake()
{
    m_phase = Phase::WsHandshake;
    m_key = ws::newKey();
    const QByteArray request = ws::handshakeRequest(m_url, m_key);
    m_outBytes += request.size();
    m_out.push_back(request);
    flushOut();
}

void WsClient::setWriteInterest(bool on)
{
    if (m_writeNotifier)
        m_writeNotifier->setEnabled(on);
}

void WsClient::onWritable()
{
    if (m_phase == Phase::TcpConnecting) {
        int error = 0;
        socklen_t length = sizeof error;
        if (::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
            error = errno;
        if (error != 0) {
            m_error = QStringLiteral("cannot connect to %1: %2")
                          .arg(describe(m_addresses[m_nextAddress - 1].addr), qt_error_string(error));
            connectNext();
            return;
        }
        onTcpConnected();
        return;
    }
    if (m_phase == Phase::TlsHandshake) {
        driveTls();
        return;
    }
    const std::uint64_t generation = m_generation;
    if (m_readWantsWrite) {
        m_readWantsWrite = false;
        if (m_readNotifier)
            m_readNotifier->setEnabled(true);
        onReadable();
        if (generation != m_generation)
            return;
    }
    flushOut();
}

void WsClient::onReadable()
{
    if (m_phase == Phase::TlsHandshake) {
        driveTls();
        return;
    }
    if (m_phase != Phase::WsHandshake && m_phase != Phase::Open && m_phase != Phase::Closing)
        return;
    const std::uint64_t generation = m_generation;
    if (m_writeWantsRead) {
        m_writeWantsRead = false;
        flushOut();
        if (generation != m_generation)
            return;
    }
    char *buffer = scratch();
    constexpr qsizetype bufferSize = 64 * 1024;
    for (int i = 0; i < readsPerEvent; ++i) {
        qsizetype n = 0;
        if (m_tls) {
            switch (m_tls->read(buffer, bufferSize, &n)) {
            case TlsSession::Io::Done:
                break;
            case TlsSession::Io::WantRead:
                // A write that waited for incoming records may go now.
                if (m_writeWantsRead) {
                    m_writeWantsRead = false;
                    flushOut();
                }
                return;
            case TlsSession::Io::WantWrite:
                // Wait for writability only: a readable socket would wake us for nothing.
                m_readWantsWrite = true;
                m_readNotifier->setEnabled(false);
                setWriteInterest(true);
                return;
            case TlsSession::Io::Closed:
                n = 0;
                break;
            case TlsSession::Io::Failed:
                finish(m_tls->errorString());
                return;
            }
        } else {
            do {
                n = ::recv(m_fd, buffer, bufferSize, 0);
            } while (n < 0 && errno == EINTR);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return;
                finish(QStringLiteral("read: %1").arg(qt_error_string(errno)));
                return;
            }
        }
        if (n == 0) {
            if (m_phase == Phase::Closing)
                finish(QString());
            else if (m_phase == Phase::WsHandshake)
                finish(QStringLiteral("server closed the connection during the WebSocket handshake"));
            else
                finish(QStringLiteral("server closed the connection without a close frame"));
            return;
        }
        if (!consume(buffer, n))
            return;
    }
    // More may be waiting (TLS can hold decrypted bytes the socket no longer signals):
    // come back after other events have had their turn.
    QMetaObject::invokeMethod(
        this, [this, generation] {
            if (generation == m_generation)
                onReadable();
        },
        Qt::QueuedConnection);
}

bool WsClient::consume(const char *data, qsizetype size)
{
    const std::uint64_t generation = m_generation;
    if (m_phase == Phase::WsHandshake) {
        m_handshake.append(data, size);
        const ws::HandshakeResponse r = ws::parseHandshakeResponse(m_handshake, m_key);
        if (r.status == ws::HandshakeResponse::Status::Incomplete)
            return true;
        if (r.status == ws::HandshakeResponse::Status::Refused) {
            finish(r.error);
            return false;
        }
        const QByteArray rest = m_handshake.sliced(r.headerBytes);
        m_handshake = QByteArray();
        m_phase = Phase::Open;
        m_timer.stop();
        Q_EMIT connected();
        if (generation != m_generation)
            return false;
        m_reader.feed(rest);
        return processFrames();
    }
    m_reader.feed(QByteArrayView(data, size));
    return processFrames();
}

bool WsClient::processFrames()
{
    const std::uint64_t generation = m_generation;
    while (auto event = m_reader.next()) {
        using Kind = ws::FrameReader::Event::Kind;
        switch (event->kind) {
        case Kind::Message:
            if (event->text)
                Q_EMIT textMessageReceived(event->payload);
            else
                Q_EMIT binaryMessageReceived(event->payload);
            if (generation != m_generation || m_phase == Phase::Idle)
                return false;
            break;
        case Kind::Ping:
            if (m_phase == Phase::Open && m_outBytes < maxQueuedForPong) {
                queueFrame(ws::Opcode::Pong, event->payload);
                flushOut();
                if (generation != m_generation)
                    return false;
            }
            break;
        case Kind::Pong:
            break;
        case Kind::Close:
            m_closeCode = event->code == ws::closecode::noStatus ? 0 : event->code;
            m_closeReason = QString::fromUtf8(event->payload);
            if (!m_closeSent) {
                // Echo the code, as RFC 6455 §5.5.1 asks; an empty close answers an empty one.
                queueFrame(ws::Opcode::Close, event->code == ws::closecode::noStatus
                                                  ? QByteArray()
                                                  : ws::closePayload(event->code, QString()));
                m_closeSent = true;
            }
            m_phase = Phase::Closing;
            m_finishWhenFlushed = true;
            m_timer.start(closeTimeoutMs); // a server that stops reading cannot keep us here
            flushOut();
            return false;
        case Kind::Error:
            sendCloseAndFail(event->code, QStringLiteral("protocol error from the server: %1").arg(event->error));
            return false;
        }
    }
    return true;
}

void WsClient::queueFrame(ws::Opcode opcode, QByteArrayView payload)
{
    QByteArray frame = ws::encodeClientFrame(opcode, payload, QRandomGenerator::global()->generate());
    m_outBytes += frame.size();
    m_out.push_back(std::move(frame));
}

bool WsClient::sendBinary(QByteArrayView payload)
{
    if (m_phase != Phase::Open)
        return false;
    queueFrame(ws::Opcode::Binary, payload);
    flushOut();
    return true;
}

void WsClient::flushOut()
{
    if (m_fd < 0)
        return;
    while (!m_out.empty()) {
        const QByteArray &front = m_out.front();
        const char *data = front.constData() + m_outOffset;
        const qsizetype remaining = front.size() - m_outOffset;
        qsizetype n = 0;
        if (m_tls) {
            switch (m_tls->write(data, remaining, &n)) {
            case TlsSession::Io::Done:
                break;
            case TlsSession::Io::WantWrite:
                setWriteInterest(true);
                return;
            case TlsSession::Io::WantRead:
                // Retried from onReadable(); a writable socket would wake us for nothing.
                m_writeWantsRead = true;
                setWriteInterest(m_readWantsWrite);
                return;
            case TlsSession::Io::Closed:
            case TlsSession::Io::Failed:
                finish(m_tls->errorString());
                return;
            }
        } else {
#ifdef MSG_NOSIGNAL
            constexpr int flags = MSG_NOSIGNAL;
#else
            constexpr int flags = 0;
#endif
            do {
                n = ::send(m_fd, data, std::size_t(remaining), flags);
            } while (n < 0 && errno == EINTR);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    setWriteInterest(true);
                    return;
                }
                finish(QStringLiteral("write: %1").arg(qt_error_string(errno)));
                return;
            }
        }
        m_outOffset += n;
        m_outBytes -= n;
        if (m_outOffset == front.size()) {
            m_out.pop_front();
            m_outOffset = 0;
        }
    }
    setWriteInterest(m_readWantsWrite);
    if (m_finishWhenFlushed)
        finish(QString());
}

void WsClient::sendCloseAndFail(std::uint16_t code, const QString &why)
{
    // Best effort: tell the server why before dropping the socket.
    if (!m_closeSent && (m_phase == Phase::Open || m_phase == Phase::Closing)) {
        queueFrame(ws::Opcode::Close, ws::closePayload(code, why));
        m_closeSent = true;
        const std::uint64_t generation = m_generation;
        flushOut();
        if (generation != m_generation)
            return;
    }
    finish(why);
}

void WsClient::close(std::uint16_t code, const QString &reason)
{
    if (m_phase != Phase::Open) {
        if (m_phase != Phase::Closing)
            abort();
        return;
    }
    queueFrame(ws::Opcode::Close, ws::closePayload(code, reason));
    m_closeSent = true;
    m_phase = Phase::Closing;
    m_timer.start(closeTimeoutMs);
    flushOut();
}

void WsClient::onTimeout()
{
    switch (m_phase) {
    case Phase::Resolving:
        finish(QStringLiteral("looking up %1 timed out").arg(m_url.host()));
        return;
    case Phase::TcpConnecting:
        m_error = QStringLiteral("connecting to %1 timed out")
                      .arg(describe(m_addresses[m_nextAddress - 1].addr));
        connectNext();
        return;
    case Phase::TlsHandshake:
    case Phase::WsHandshake:
        finish(QStringLiteral("handshake with %1 timed out").arg(m_url.toString()));
        return;
    case Phase::Closing:
        finish(QString());
        return;
    default:
        return;
    }
}

void WsClient::abort()
{
    closeSocket();
    reset();
}

void WsClient::finish(const QString &error)
{
    if (m_phase == Phase::Idle)
        return;
    if (!error.isEmpty()) {
        m_error = error;
        qCDebug(lcLink).noquote() << "websocket to" << m_url.toString() << "ended:" << error;
    }
    if (m_tls && error.isEmpty())
        m_tls->shutdown();
    closeSocket();
    reset();
    const std::uint64_t generation = m_generation;
    QMetaObject::invokeMethod(
        this, [this, generation] {
            if (generation == m_generation)
                Q_EMIT disconnected();
        },
        Qt::QueuedConnection);
}

void WsClient::closeSocket()
{
    // The notifiers may be the very objects whose signal got us here: retire them later.
    for (QSocketNotifier *n : {m_readNotifier, m_writeNotifier}) {
        if (n) {
            n->setEnabled(false);
            n->disconnect(this);
            n->deleteLater();
        }
    }
    m_readNotifier = nullptr;
    m_writeNotifier = nullptr;
    m_tls.reset();
    if (m_fd >= 0) {
        ::close(m_fd);
        m_fd = -1;
    }
}

void WsClient::reset()
{
    ++m_generation;
    m_phase = Phase::Idle;
    m_timer.stop();
    if (m_resolveWatcher) {
        m_resolveWatcher->disconnect(this);
        static_cast<QFutureWatcher<Resolution> *>(m_resolveWatcher)->future().cancel();
        m_resolveWatcher->deleteLater();
        m_resolveWatcher = nullptr;
    }
    m_readWantsWrite = false;
    m_writeWantsRead = false;
    m_addresses.clear();
    m_nextAddress = 0;
    m_handshake = QByteArray();
    m_reader.reset();
    m_out.clear();
    m_outOffset = 0;
    m_outBytes = 0;
    m_closeSent = false;
    m_finishWhenFlushed = false;
}

} // namespace autofact::agent
