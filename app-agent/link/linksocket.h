// SPDX-License-Identifier: MIT
#pragma once

#include "link/proxysetting.h"

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QSslCertificate>
#include <QSslError>
#include <QString>
#include <QTimer>
#include <QUrl>
#include <QWebSocketProtocol>

#include <cstdint>
#include <memory>

class QWebSocket;

namespace autofact::agent {

/**
 * The agent's WebSocket to its server: a QWebSocket set up the agent's way — a cap on incoming
 * frames and messages (close code 1009 above it), the config's trust anchors or the platform's
 * trust store, the proxy setting, and a time limit on getting the connection up.
 *
 * Each open() gets a fresh QWebSocket; abort() disconnects and discards the old one, so
 * nothing of an aborted connection (a message still being parsed, its disconnected()) reaches
 * the caller. Signals are never emitted from inside a call: disconnected() is queued, so a
 * caller may send, close, abort or open again from any slot.
 */
class LinkSocket : public QObject
{
    Q_OBJECT
public:
    enum class State {
        Unconnected, ///< nothing open (also right after abort())
        Connecting,  ///< name lookup, proxy, TCP, TLS or WebSocket handshake
        Open,        ///< messages flow both ways
        Closing,     ///< close frame sent; disconnected() follows
    };
    Q_ENUM(State)

    explicit LinkSocket(QObject *parent = nullptr);
    ~LinkSocket() override;

    /** Incoming frames or messages above this size end the connection with close code 1009. */
    void setMaxMessageBytes(qint64 bytes) { m_maxMessageBytes = bytes; }
    /**
     * Trust only the certificates in the PEM file @p path for wss:// (as curl's --cacert);
     * an empty path trusts the platform's store. False with @p error if the file cannot be
     * read or holds no certificate.
     */
    bool setCaFile(const QString &path, QString *error);
    void setProxy(const ProxySetting &proxy) { m_proxy = proxy; }
    /**
     * Talk only to a server presenting the certificate with this fingerprint ("sha256:HEX" of
     * its DER form), whatever the trust store or host name say; empty: trust decides. A
     * mismatch ends the connection before connected(), so nothing (no secret) is sent.
     */
    void setPinnedFingerprint(const QString &fingerprint) { m_pin = fingerprint; }
    /** "sha256:" + 64 lowercase hex digits of @p certificate's DER form. */
    static QString fingerprintOf(const QSslCertificate &certificate);
    /** Time allowed from open() to an open WebSocket (lookup, TCP, TLS and upgrade). */
    void setConnectTimeoutMs(int ms) { m_connectTimeoutMs = ms; }

    /** Starts connecting to ws://… or wss://…; ends in connected() or disconnected(). */
    void open(const QUrl &url);
    /** Queues one binary message; false (nothing queued) unless the connection is open. */
    bool sendBinary(const QByteArray &payload);
    /**
     * Sends a close frame after what is queued and ends the connection; disconnected()
     * follows. Not open (still connecting, or already ending): same as abort(), silent.
     */
    void close(QWebSocketProtocol::CloseCode code, const QString &reason);
    /** Drops the connection at once, without a close frame and without disconnected(). */
    void abort();

    State state() const;
    QUrl url() const { return m_url; }
    /** Why the last connection failed or ended abnormally; empty after a clean close. */
    QString errorString() const { return m_error; }
    /** The close code of the last connection (0 if it ended without a close frame). */
    int closeCode() const { return m_closeCode; }
    QString closeReason() const { return m_closeReason; }
    /** The proxy the current (or last) connection goes through. */
    QNetworkProxy proxyInUse() const { return m_proxyInUse; }
    /** Queued bytes not yet written to the network. */
    qint64 bytesToWrite() const;
    /**
     * True if a host name lookup this socket started may still run in Qt's lookup threads.
     * Qt waits for them when the application ends, which can take the resolver's whole
     * timeout; the agent then ends its process without that wait (main.cpp).
     */
    bool mayHoldNameLookup() const { return m_lookupNow || m_lookupAbandoned; }

Q_SIGNALS:
    void connected();
    void binaryMessageReceived(const QByteArray &message);
    void textMessageReceived(const QString &message);
    /** The connection could not be made, or it ended (never after abort()). */
    void disconnected();

private:
    struct Deleter {
        void operator()(QWebSocket *socket) const;
    };
    void onConnected(QWebSocket *socket);
    void onError(QWebSocket *socket);
    void onSslErrors(QWebSocket *socket, const QList<QSslError> &errors);
    void onTimeout();
    /** Logs a TLS refusal at warning level the first time, at debug level while it repeats. */
    void warnTls(const QString &why);
    /** Queues disconnected() for the current connection, once. */
    void finishLater();
    void discard();

    std::unique_ptr<QWebSocket, Deleter> m_socket;
    std::uint64_t m_generation = 0;
    bool m_finishQueued = false;
    bool m_closing = false;
    bool m_wasOpen = false; ///< connected() was emitted for this connection
    QUrl m_url;
    qint64 m_maxMessageBytes = 1024 * 1024;
    int m_connectTimeoutMs = 30000;
    QList<QSslCertificate> m_ca; ///< empty: the platform's trust store
    ProxySetting m_proxy;
    QString m_pin;
    QNetworkProxy m_proxyInUse{QNetworkProxy::NoProxy};
    QTimer m_connectTimer;
    bool m_lookupNow = false;       ///< the current socket may still be resolving a name
    bool m_lookupAbandoned = false; ///< a socket was dropped while it may have been resolving

    QString m_lastTlsWarning; ///< logged at warning level once until it changes or a connection works
    QString m_error;
    int m_closeCode = 0;
    QString m_closeReason;
};

} // namespace autofact::agent
