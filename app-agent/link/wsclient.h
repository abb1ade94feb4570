// SPDX-License-Identifier: MIT
#pragma once

#include "link/wsframe.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QTimer>
#include <QUrl>

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include <sys/socket.h>

class QSocketNotifier;

namespace autofact::agent {

class TlsSession;

/**
 * A lean RFC 6455 WebSocket client for the agent: non-blocking sockets on the Qt event loop,
 * binary messages, ping answered with pong, the close handshake, a size cap on incoming
 * messages. wss:// runs over TlsSession (OpenSSL, loaded only when first needed).
 *
 * Why not QWebSocket: it pulls in Qt Network, Kerberos, libproxy and, through the default TLS
 * configuration every QWebSocket creates, Qt's TLS plugins with OpenSSL — about 9 MiB of the
 * agent's resident memory even for plain ws:// (measured in docs/BENCHMARKS.md). The agent
 * needs a small part of it; the server keeps QWebSocketServer.
 *
 * Signals never fire from inside a call to this class: disconnected() is always queued, so a
 * caller may send, close or abort from any slot without re-entering its own code.
 */
class WsClient : public QObject
{
    Q_OBJECT
public:
    enum class State {
        Unconnected, ///< nothing open (also after abort())
        Connecting,  ///< resolving, connecting, TLS or WebSocket handshake
        Open,        ///< messages flow both ways
        Closing,     ///< close frame sent or received; waiting for the other side
    };
    Q_ENUM(State)

    explicit WsClient(QObject *parent = nullptr);
    ~WsClient() override;

    /** Incoming messages above this size fail the connection with close code 1009. */
    void setMaxMessageBytes(qsizetype bytes) { m_maxMessageBytes = bytes; }
    /** PEM certificates trusted for wss:// instead of the system's store. */
    void setCaFile(const QString &path) { m_caFile = path; }
    /** Time allowed for one TCP connect, and again for the TLS and WebSocket handshakes. */
    void setConnectTimeoutMs(int ms) { m_connectTimeoutMs = ms; }

    /** Starts connecting to ws://host:port/path or wss://...; ends in connected() or disconnected(). */
    void open(const QUrl &url);
    /** Queues one binary message; false (and nothing queued) unless the connection is open. */
    bool sendBinary(QByteArrayView payload);
    /** Starts the close handshake; disconnected() follows. Not open yet: same as abort(). */
    void close(std::uint16_t code = ws::closecode::normal, const QString &reason = QString());
    /** Drops the connection at once, without a close frame and without disconnected(). */
    void abort();

    State state() const;
    QUrl url() const { return m_url; }
    /** Why the last connection failed or ended abnormally; empty after a clean close. */
    QString errorString() const { return m_error; }
    /** The close code the server sent (0 if it sent none). */
    std::uint16_t closeCode() const { return m_closeCode; }
    QString closeReason() const { return m_closeReason; }
    /** Queued bytes not yet handed to the socket. */
    qsizetype bytesToWrite() const { return m_outBytes; }

Q_SIGNALS:
    void connected();
    void binaryMessageReceived(const QByteArray &message);
    void textMessageReceived(const QByteArray &utf8);
    /** The connection could not be made, or it ended (not after abort()). */
    void disconnected();

private:
    enum class Phase { Idle, Resolving, TcpConnecting, TlsHandshake, WsHandshake, Open, Closing };
    struct Address {
        sockaddr_storage addr{};
        socklen_t length = 0;
    };
    struct Resolution {
        std::vector<Address> addresses;
        QString error;
    };
    static Resolution resolve(const QByteArray &host, int port, bool numericOnly);

    void onResolved(std::uint64_t generation, const Resolution &resolution);
    void connectNext();
    void onTcpConnected();
    void driveTls();
    void startWsHandshake();
    void onReadable();
    void onWritable();
    void onTimeout();
    bool consume(const char *data, qsizetype size);
    bool processFrames();
    void queueFrame(ws::Opcode opcode, QByteArrayView payload);
    void flushOut();
    void sendCloseAndFail(std::uint16_t code, const QString &why);
    /** Ends the connection; queues disconnected(). */
    void finish(const QString &error);
    void closeSocket();
    void reset();
    void setWriteInterest(bool on);

    QUrl m_url;
    QString m_caFile;
    qsizetype m_maxMessageBytes = 1024 * 1024;
    int m_connectTimeoutMs = 10000;

    Phase m_phase = Phase::Idle;
    std::uint64_t m_generation = 0;
    int m_fd = -1;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    QObject *m_resolveWatcher = nullptr;
    std::unique_ptr<TlsSession> m_tls;
    bool m_readWantsWrite = false; ///< TLS: a read needs the socket writable first
    bool m_writeWantsRead = false; ///< TLS: a write needs the socket readable first
    std::vector<Address> m_addresses;
    std::size_t m_nextAddress = 0;
    QTimer m_timer;

    QByteArray m_key;
    QByteArray m_handshake; ///< the server's answer until its header is complete
    ws::FrameReader m_reader{m_maxMessageBytes};
    std::deque<QByteArray> m_out;
    qsizetype m_outOffset = 0; ///< bytes of m_out.front() already written
    qsizetype m_outBytes = 0;
    bool m_closeSent = false;
    bool m_finishWhenFlushed = false;

    QString m_error;
    std::uint16_t m_closeCode = 0;
    QString m_closeReason;
};

} // namespace autofact::agent
