// SPDX-License-Identifier: MIT
#include "link/tlssession.h"

#include <QFile>
#include <QLibrary>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <map>
#include <mutex>
#include <pthread.h>

namespace autofact::agent {

namespace {

// Only the declarations of OpenSSL's headers are used; every function is resolved from the
// shared libraries when the first wss:// connection is made.
struct OpenSsl {
    decltype(&::TLS_client_method) TLS_client_method = nullptr;
    decltype(&::SSL_CTX_new) SSL_CTX_new = nullptr;
    decltype(&::SSL_CTX_free) SSL_CTX_free = nullptr;
    decltype(&::SSL_CTX_ctrl) SSL_CTX_ctrl = nullptr;
    decltype(&::SSL_CTX_set_verify) SSL_CTX_set_verify = nullptr;
    decltype(&::SSL_CTX_set_default_verify_paths) SSL_CTX_set_default_verify_paths = nullptr;
    decltype(&::SSL_CTX_load_verify_locations) SSL_CTX_load_verify_locations = nullptr;
    decltype(&::SSL_CTX_set_options) SSL_CTX_set_options = nullptr;
    decltype(&::SSL_CTX_get0_param) SSL_CTX_get0_param = nullptr;
    decltype(&::X509_VERIFY_PARAM_set_flags) X509_VERIFY_PARAM_set_flags = nullptr;
    decltype(&::SSL_new) SSL_new = nullptr;
    decltype(&::SSL_free) SSL_free = nullptr;
    decltype(&::SSL_set_fd) SSL_set_fd = nullptr;
    decltype(&::SSL_ctrl) SSL_ctrl = nullptr;
    decltype(&::SSL_set1_host) SSL_set1_host = nullptr;
    decltype(&::SSL_get0_param) SSL_get0_param = nullptr;
    decltype(&::SSL_connect) SSL_connect = nullptr;
    decltype(&::SSL_read) SSL_read = nullptr;
    decltype(&::SSL_write) SSL_write = nullptr;
    decltype(&::SSL_get_error) SSL_get_error = nullptr;
    decltype(&::SSL_shutdown) SSL_shutdown = nullptr;
    decltype(&::SSL_get_verify_result) SSL_get_verify_result = nullptr;
    decltype(&::ERR_get_error) ERR_get_error = nullptr;
    decltype(&::ERR_clear_error) ERR_clear_error = nullptr;
    decltype(&::ERR_error_string_n) ERR_error_string_n = nullptr;
    decltype(&::X509_VERIFY_PARAM_set1_ip_asc) X509_VERIFY_PARAM_set1_ip_asc = nullptr;
    decltype(&::X509_verify_cert_error_string) X509_verify_cert_error_string = nullptr;
    QString error;
};

template <typename F>
bool resolve(QLibrary &lib, const char *name, F &slot, QString &error)
{
    slot = reinterpret_cast<F>(lib.resolve(name));
    if (!slot && error.isEmpty())
        error = QStringLiteral("%1 has no %2").arg(lib.fileName(), QLatin1String(name));
    return slot != nullptr;
}

const OpenSsl &openSsl()
{
    static OpenSsl api;
    static std::once_flag once;
    std::call_once(once, [] {
        // Kept loaded for the life of the process: sessions may outlive any one owner.
        static QLibrary ssl(QStringLiteral("ssl"), 3);
        static QLibrary crypto(QStringLiteral("crypto"), 3);
        if (!ssl.load() || !crypto.load()) {
            api.error = QStringLiteral("cannot load OpenSSL 3 for wss:// (%1)")
                            .arg(ssl.isLoaded() ? crypto.errorString() : ssl.errorString());
            return;
        }
        QString &e = api.error;
        bool ok = true;
#define AUTOFACT_RESOLVE(lib, name) ok = resolve(lib, #name, api.name, e) && ok
        AUTOFACT_RESOLVE(ssl, TLS_client_method);
        AUTOFACT_RESOLVE(ssl, SSL_CTX_new);
        AUTOFACT_RESOLVE(ssl, SSL_CTX_free);
        AUTOFACT_RESOLVE(ssl, SSL_CTX_ctrl);
        AUTOFACT_RESOLVE(ssl, SSL_CTX_set_verify);
        AUTOFACT_RESOLVE(ssl, SSL_CTX_set_default_verify_paths);
        AUTOFACT_RESOLVE(ssl, SSL_CTX_load_verify_locations);
        AUTOFACT_RESOLVE(ssl, SSL_CTX_set_options);
        AUTOFACT_RESOLVE(ssl, SSL_CTX_get0_param);
        AUTOFACT_RESOLVE(crypto, X509_VERIFY_PARAM_set_flags);
        AUTOFACT_RESOLVE(ssl, SSL_new);
        AUTOFACT_RESOLVE(ssl, SSL_free);
        AUTOFACT_RESOLVE(ssl, SSL_set_fd);
        AUTOFACT_RESOLVE(ssl, SSL_ctrl);
        AUTOFACT_RESOLVE(ssl, SSL_set1_host);
        AUTOFACT_RESOLVE(ssl, SSL_get0_param);
        AUTOFACT_RESOLVE(ssl, SSL_connect);
        AUTOFACT_RESOLVE(ssl, SSL_read);
        AUTOFACT_RESOLVE(ssl, SSL_write);
        AUTOFACT_RESOLVE(ssl, SSL_get_error);
        AUTOFACT_RESOLVE(ssl, SSL_shutdown);
        AUTOFACT_RESOLVE(ssl, SSL_get_verify_result);
        AUTOFACT_RESOLVE(crypto, ERR_get_error);
        AUTOFACT_RESOLVE(crypto, ERR_clear_error);
        AUTOFACT_RESOLVE(crypto, ERR_error_string_n);
        AUTOFACT_RESOLVE(crypto, X509_VERIFY_PARAM_set1_ip_asc);
        AUTOFACT_RESOLVE(crypto, X509_verify_cert_error_string);
#undef AUTOFACT_RESOLVE
        if (!ok)
            e = QStringLiteral("cannot use OpenSSL for wss:// (%1)").arg(e);
    });
    return api;
}

QString lastSslError(const OpenSsl &api)
{
    QString out;
    while (const unsigned long code = api.ERR_get_error()) {
        char text[256];
        api.ERR_error_string_n(code, text, sizeof text);
        if (!out.isEmpty())
            out += QStringLiteral("; ");
        out += QString::fromLatin1(text);
    }
    return out;
}

#ifdef SO_NOSIGPIPE
// The socket itself never raises SIGPIPE (WsClient sets SO_NOSIGPIPE where it exists).
class SigpipeGuard
{
};
#else
// OpenSSL writes to the socket with write(2), which raises SIGPIPE when the peer has gone.
// Block it on this thread for the call and swallow one it caused, instead of changing the
// disposition for the whole process.
class SigpipeGuard
{
public:
    SigpipeGuard()
    {
        sigemptyset(&m_pipe);
        sigaddset(&m_pipe, SIGPIPE);
        sigset_t pending;
        sigemptyset(&pending);
        sigpending(&pending);
        m_wasPending = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &m_pipe, &m_old);
    }
    ~SigpipeGuard()
    {
        if (!m_wasPending) {
            sigset_t pending;
            sigemptyset(&pending);
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                const timespec zero{};
                while (sigtimedwait(&m_pipe, nullptr, &zero) == -1 && errno == EINTR) {
                }
            }
        }
        pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }
    SigpipeGuard(const SigpipeGuard &) = delete;
    SigpipeGuard &operator=(const SigpipeGuard &) = delete;

private:
    sigset_t m_pipe;
    sigset_t m_old;
    bool m_wasPending = false;
};
#endif

// One context per trust source for the whole process: building one parses the trust store
// (the system's is ~150 certificates, ≈ 1 MiB), and the load generator runs thousands of
// clients. SSL_new() on a shared context is thread-safe; contexts live as long as the process,
// so a "ca" file that changes on disk takes effect at the agent's next start.
SSL_CTX *sharedContext(const OpenSsl &api, const QString &caFile, QString *error)
{
    static std::mutex mutex;
    // Never destroyed: sessions may still be torn down during static destruction.
    static auto &contexts = *new std::map<QString, SSL_CTX *>;
    const std::lock_guard lock(mutex);
    if (const auto it = contexts.find(caFile); it != contexts.end())
        return it->second;
    api.ERR_clear_error();
    SSL_CTX *ctx = api.SSL_CTX_new(api.TLS_client_method());
    if (!ctx) {
        *error = QStringLiteral("TLS context: %1").arg(lastSslError(api));
        return nullptr;
    }
    api.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, nullptr);
    // Writes may complete partially and be retried from a moved buffer: the client's queue
    // hands OpenSSL whatever is at its front.
    api.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, nullptr);
    // WebSocket has its own close handshake: a TCP close without close_notify is an ordinary
    // end of stream, not a TLS error.
    api.SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    api.SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    // A "ca" file replaces the system store (as curl's --cacert does): an agent pointed at its
    // own server's certificate trusts nothing else, and does not parse system roots it will
    // never use. Any certificate in it may anchor the chain (a pinned leaf or intermediate too).
    if (caFile.isEmpty()) {
        if (api.SSL_CTX_set_default_verify_paths(ctx) != 1) {
            *error = QStringLiteral("TLS trust store: %1").arg(lastSslError(api));
            api.SSL_CTX_free(ctx);
            return nullptr;
        }
    } else {
        if (api.SSL_CTX_load_verify_locations(ctx, QFile::encodeName(caFile).constData(), nullptr) != 1) {
            *error = QStringLiteral("cannot load CA file %1: %2").arg(caFile, lastSslError(api));
            api.SSL_CTX_free(ctx);
            return nullptr; // not cached: the file may be fixed before the next attempt
        }
        api.X509_VERIFY_PARAM_set_flags(api.SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    }
    contexts.emplace(caFile, ctx);
    return ctx;
}

} // namespace

struct TlsSession::Handles {
    SSL *ssl = nullptr;
    bool fatal = false; ///< after a fatal error OpenSSL forbids SSL_shutdown()
};

TlsSession::TlsSession() = default;

TlsSession::~TlsSession()
{
    if (!m_handles)
        return;
    const OpenSsl &api = openSsl();
    if (m_handles->ssl)
        api.SSL_free(m_handles->ssl);
}

bool TlsSession::available(QString *error)
{
    const OpenSsl &api = openSsl();
    if (error)
        *error = api.error;
    return api.error.isEmpty();
}

bool TlsSession::start(int fd, const QString &host, const QString &caFile, QString *error)
{
    const auto failed = [&](const QString &why) {
        m_error = why;
        if (error)
            *error = why;
        return false;
    };
    if (!available(&m_error))
        return failed(m_error);
    const OpenSsl &api = openSsl();
    m_handles = std::make_unique<Handles>();
    QString contextError;
    SSL_CTX *ctx = sharedContext(api, caFile, &contextError);
    if (!ctx)
        return failed(contextError);
    api.ERR_clear_error();
    m_handles->ssl = api.SSL_new(ctx);
    if (!m_handles->ssl || api.SSL_set_fd(m_handles->ssl, fd) != 1)
        return failed(QStringLiteral("TLS session: %1").arg(lastSslError(api)));
    SSL *ssl = m_handles->ssl;
    const QByteArray name = host.toUtf8();
    unsigned char ip[16];
    const bool isIp = inet_pton(AF_INET, name.constData(), ip) == 1 || inet_pton(AF_INET6, name.constData(), ip) == 1;
    if (isIp) {
        if (api.X509_VERIFY_PARAM_set1_ip_asc(api.SSL_get0_param(ssl), name.constData()) != 1)
            return failed(QStringLiteral("TLS: cannot verify against address %1").arg(host));
    } else {
        // SNI, so a server hosting several names presents the right certificate.
        api.SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char *>(name.constData()));
        if (api.SSL_set1_host(ssl, name.constData()) != 1)
            return failed(QStringLiteral("TLS: cannot verify against host %1").arg(host));
    }
    return true;
}

TlsSession::Io TlsSession::result(int ret, const char *what)
{
    const OpenSsl &api = openSsl();
    switch (api.SSL_get_error(m_handles->ssl, ret)) {
    case SSL_ERROR_NONE:
        return Io::Done;
    case SSL_ERROR_WANT_READ:
        return Io::WantRead;
    case SSL_ERROR_WANT_WRITE:
        return Io::WantWrite;
    case SSL_ERROR_ZERO_RETURN:
        return Io::Closed;
    case SSL_ERROR_SYSCALL:
        m_handles->fatal = true;
        if (errno == 0 || errno == ECONNRESET || errno == EPIPE) {
            m_error = QStringLiteral("connection closed during TLS %1").arg(QLatin1String(what));
            return Io::Closed;
        }
        m_error = QStringLiteral("TLS %1: %2").arg(QLatin1String(what), qt_error_string(errno));
        return Io::Failed;
    default: {
        m_handles->fatal = true;
        const long verify = api.SSL_get_verify_result(m_handles->ssl);
        if (verify != X509_V_OK) {
            m_error = QStringLiteral("server certificate rejected: %1")
                          .arg(QString::fromLatin1(api.X509_verify_cert_error_string(verify)));
        } else {
            m_error = QStringLiteral("TLS %1 failed: %2").arg(QLatin1String(what), lastSslError(api));
        }
        return Io::Failed;
    }
    }
}

TlsSession::Io TlsSession::handshake()
{
    const OpenSsl &api = openSsl();
    SigpipeGuard guard;
    api.ERR_clear_error();
    errno = 0;
    const int ret = api.SSL_connect(m_handles->ssl);
    return ret == 1 ? Io::Done : result(ret, "handshake");
}

TlsSession::Io TlsSession::read(char *buffer, qsizetype size, qsizetype *done)
{
    const OpenSsl &api = openSsl();
    *done = 0;
    SigpipeGuard guard;
    api.ERR_clear_error();
    errno = 0;
    const int ret = api.SSL_read(m_handles->ssl, buffer, int(std::min<qsizetype>(size, 1 << 30)));
    if (ret > 0) {
        *done = ret;
        return Io::Done;
    }
    return result(ret, "read");
}

TlsSession::Io TlsSession::write(const char *buffer, qsizetype size, qsizetype *done)
{
    const OpenSsl &api = openSsl();
    *done = 0;
    SigpipeGuard guard;
    api.ERR_clear_error();
    errno = 0;
    const int ret = api.SSL_write(m_handles->ssl, buffer, int(std::min<qsizetype>(size, 1 << 30)));
    if (ret > 0) {
        *done = ret;
        return Io::Done;
    }
    return result(ret, "write");
}

void TlsSession::shutdown()
{
    if (!m_handles || !m_handles->ssl || m_handles->fatal)
        return;
    const OpenSsl &api = openSsl();
    SigpipeGuard guard;
    api.ERR_clear_error();
    api.SSL_shutdown(m_handles->ssl);
    api.ERR_clear_error();
}

} // namespace autofact::agent
