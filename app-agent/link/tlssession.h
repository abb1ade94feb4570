// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

#include <memory>

namespace autofact::agent {

/**
 * A TLS client session over a connected, non-blocking socket, for wss://.
 *
 * OpenSSL is loaded at run time, on the first wss:// connection, and never before: linking it
 * (or Qt Network's TLS plugins) costs every agent about 2–4 MiB of resident memory, and most
 * agents talk plain ws:// on a trusted network. The peer is verified against the system's
 * trust store, or only the configured PEM file when there is one, and its certificate must
 * name the host (DNS name or IP address) the agent dialled.
 */
class TlsSession
{
public:
    enum class Io {
        Done,      ///< the call finished (handshake complete, or bytes moved)
        WantRead,  ///< call again when the socket is readable
        WantWrite, ///< call again when the socket is writable
        Closed,    ///< the peer closed the TLS session
        Failed,    ///< see errorString()
    };

    TlsSession();
    ~TlsSession();
    TlsSession(const TlsSession &) = delete;
    TlsSession &operator=(const TlsSession &) = delete;

    /** True when OpenSSL can be loaded; @p error says why not otherwise. */
    static bool available(QString *error = nullptr);

    /** Prepares the session on @p fd for @p host, trusting @p caFile (PEM) if given, else the system store. */
    bool start(int fd, const QString &host, const QString &caFile, QString *error);
    Io handshake();
    Io read(char *buffer, qsizetype size, qsizetype *done);
    Io write(const char *buffer, qsizetype size, qsizetype *done);
    /** Sends close_notify if it can without blocking; the socket is the caller's to close. */
    void shutdown();
    QString errorString() const { return m_error; }

private:
    Io result(int ret, const char *what);

    struct Handles;
    std::unique_ptr<Handles> m_handles;
    QString m_error;
};

} // namespace autofact::agent
