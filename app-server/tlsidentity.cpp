// SPDX-License-Identifier: MIT
#include "tlsidentity.h"

#include "serverlogging.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSslSocket>
#include <QSysInfo>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace autofact::server {

namespace {

const QString kKeyFileName = QStringLiteral("autofactory-tls.key");
const QString kCertificateFileName = QStringLiteral("autofactory-tls.crt");

// A PEM chain of a dozen RSA-4096 certificates is under 32 KiB; the cap keeps a path such as
// /dev/zero from being read until memory runs out.
constexpr qint64 kMaxPemBytes = 1 << 20;

// The certificate has no renewal path and agents pin it: if it expired, every agent would stop
// at once, so it outlives the machine. 20 years including 5 leap days.
constexpr int kValidityDays = 20 * 365 + 5;
// A client whose clock is a little behind ours would otherwise reject a fresh certificate as
// "not yet valid".
constexpr long kBackdateSeconds = 3600;

template <auto Free>
struct OpenSslDeleter {
    template <typename T>
    void operator()(T *p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;

/** Drains this thread's OpenSSL error queue into one line: libcrypto reports why only there. */
QString openSslErrors()
{
    QStringList parts;
    while (const unsigned long code = ERR_get_error()) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        parts << QString::fromLatin1(text);
    }
    return parts.isEmpty() ? QStringLiteral("no OpenSSL error reported") : parts.join(QStringLiteral("; "));
}

QString errnoText(int code)
{
    return qt_error_string(code);
}

/** Everything written to a memory BIO so far. */
QByteArray bioBytes(BIO *bio)
{
    char *data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return size > 0 && data ? QByteArray(data, qsizetype(size)) : QByteArray();
}

std::optional<QByteArray> encodeKeyPem(EVP_PKEY *key, QString *error)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    // PKCS#8 ("BEGIN PRIVATE KEY") for RSA and EC alike: what `openssl req` writes, and what
    // QSslKey reads for either algorithm.
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        *error = QStringLiteral("cannot encode the private key: ") + openSslErrors();
        return std::nullopt;
    }
    return bioBytes(bio.get());
}

std::optional<QByteArray> encodeCertificatePem(X509 *certificate, QString *error)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) {
        *error = QStringLiteral("cannot encode the certificate: ") + openSslErrors();
        return std::nullopt;
    }
    return bioBytes(bio.get());
}

PkeyPtr parsePrivateKey(const QByteArray &pem)
{
    BioPtr bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    if (!bio)
        return {};
    // With a null callback OpenSSL would prompt on the terminal for an encrypted key's
    // passphrase; a server has nobody to answer, so an encrypted key is refused instead.
    pem_password_cb *noPassphrase = [](char *, int, int, void *) { return 0; };
    return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
}

std::optional<QByteArray> readPemFile(const QString &path, const QString &label, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("%1 %2: %3").arg(label, path, file.errorString());
        return std::nullopt;
    }
    const QByteArray bytes = file.read(kMaxPemBytes + 1);
    if (file.error() != QFileDevice::NoError) {
        *error = QStringLiteral("%1 %2: %3").arg(label, path, file.errorString());
        return std::nullopt;
    }
    if (bytes.size() > kMaxPemBytes) {
        *error = QStringLiteral("%1 %2: larger than %3 bytes, not a PEM file").arg(label, path).arg(kMaxPemBytes);
        return std::nullopt;
    }
    return bytes;
}

/** The machine's name if it can go into a dNSName (ASCII letters, digits, hyphens, dots). */
QString dnsHostName()
{
    static const QRegularExpression label(QStringLiteral(
        "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"));
    const QString host = QSysInfo::machineHostName();
    if (host.size() > 253 || !label.match(host).hasMatch()) {
        qCDebug(lcHub) << "host name" << host << "is not a DNS name; the TLS certificate names localhost only";
        return {};
    }
    if (host.compare(QStringLiteral("localhost"), Qt::CaseInsensitive) == 0)
        return {};
    return host;
}

bool addExtension(X509 *certificate, int nid, const QByteArray &value, QString *error)
{
    X509V3_CTX context{};
    // Issuer and subject are the same certificate: it is self-signed.
    X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
    ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, &context, nid, value.constData()));
    if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
        *error = QStringLiteral("cannot add %1 = %2 to the certificate: %3")
                     .arg(QLatin1StringView(OBJ_nid2sn(nid)), QLatin1StringView(value), openSslErrors());
        return false;
    }
    return true;
}

X509Ptr makeSelfSignedCertificate(EVP_PKEY *key, QString *error)
{
    const auto fail = [error](const char *step) {
        *error = QStringLiteral("cannot build the certificate (%1): %2").arg(QLatin1StringView(step), openSslErrors());
        return X509Ptr();
    };
    X509Ptr certificate(X509_new());
    if (!certificate)
        return fail("X509_new");
    if (X509_set_version(certificate.get(), X509_VERSION_3) != 1)
        return fail("version");

    // RFC 5280 4.1.2.2: positive, unique per issuer, at most 20 octets. 128 random bits (the
    // lowest forced to 1, so never zero) tell a reinstall's certificate from the old one;
    // BN_to_ASN1_INTEGER adds the leading zero octet DER needs when the top bit is set.
    BignumPtr serial(BN_new());
    if (!serial || BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ODD) != 1
        || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())))
        return fail("serial number");

    time_t now = std::time(nullptr);
    if (!X509_time_adj_ex(X509_getm_notBefore(certificate.get()), 0, -kBackdateSeconds, &now)
        || !X509_time_adj_ex(X509_getm_notAfter(certificate.get()), kValidityDays, -kBackdateSeconds, &now))
        return fail("validity");

    const QString host = dnsHostName();
    const QString machine = QSysInfo::machineHostName();
    QString commonName = machine.isEmpty() ? QStringLiteral("autofactory") : QStringLiteral("autofactory on ") + machine;
    // X.520 ub-common-name: OpenSSL refuses a CN longer than 64 characters.
    if (commonName.size() > 64) {
        commonName.truncate(64);
        if (commonName.back().isHighSurrogate())
            commonName.chop(1);
    }
    const QByteArray cn = commonName.toUtf8();
    X509_NAME *name = X509_get_subject_name(certificate.get());
    if (!name
        || X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char *>(cn.constData()),
                                      int(cn.size()), -1, 0) != 1
        || X509_set_issuer_name(certificate.get(), name) != 1)
        return fail("subject name");
    if (X509_set_pubkey(certificate.get(), key) != 1)
        return fail("public key");

    // The extensions make one certificate work both ways agents may trust it:
    // - basicConstraints CA:FALSE: it is an end entity. Trusted through a CA file it is the
    //   whole chain, and OpenSSL applies no CA checks to the leaf, so it need not claim CA:TRUE;
    //   a CA:TRUE server certificate would be refused by some verifiers (Firefox:
    //   CA_CERT_USED_AS_END_ENTITY) and would let this key sign other certificates that anyone
    //   trusting this file would then accept.
    // - no keyUsage: a keyUsage without keyCertSign (which RFC 5280 4.2.1.3 forbids without
    //   CA:TRUE) makes OpenSSL 1.1 and LibreSSL stop treating the certificate as self-signed,
    //   and so as its own trust anchor; on OpenSSL 3.0 the handshake still works but
    //   QSslCertificate::isSelfSigned() turns false (tried with keyUsage=digitalSignature).
    //   keyUsage is optional for an end entity.
    // - extendedKeyUsage serverAuth: what it is for, and OpenSSL's "ssl server" purpose accepts it.
    // - subjectAltName: Qt checks the peer name against it (the CN is only a label).
    // - subjectKeyIdentifier: RFC 5280 SHOULD; a self-signed certificate MAY omit the AKID.
    QByteArray altNames = "DNS:localhost,IP:127.0.0.1,IP:::1";
    if (!host.isEmpty())
        altNames = "DNS:" + host.toLatin1() + ',' + altNames;
    if (!addExtension(certificate.get(), NID_basic_constraints, "critical,CA:FALSE", error)
        || !addExtension(certificate.get(), NID_subject_key_identifier, "hash", error)
        || !addExtension(certificate.get(), NID_ext_key_usage, "serverAuth", error)
        || !addExtension(certificate.get(), NID_subject_alt_name, altNames, error))
        return X509Ptr();

    if (X509_sign(certificate.get(), key, EVP_sha256()) <= 0)
        return fail("signature");
    return certificate;
}

/**
 * Creates @p path and any missing parents with mode 0700. Parents too: a fresh
 * ~/.local/share/... holds nothing others should list.
 */
bool makeDirectory(const QString &path, QString *error)
{
    const QFileInfo info(path);
    if (info.isDir())
        return true;
    const QString absolute = QDir::cleanPath(info.absoluteFilePath());
    const QString parent = QFileInfo(absolute).path();
    if (parent != absolute && !makeDirectory(parent, error))
        return false;
    const QByteArray native = QFile::encodeName(absolute);
    if (::mkdir(native.constData(), 0700) != 0) {
        const int code = errno;
        if (code == EEXIST && QFileInfo(absolute).isDir())
            return true; // created by someone else meanwhile
        *error = code == EEXIST ? QStringLiteral("cannot create directory %1: a file is in the way").arg(absolute)
                                : QStringLiteral("cannot create directory %1: %2").arg(absolute, errnoText(code));
        return false;
    }
    // mkdir's mode is masked by the umask; a umask such as 0277 would leave us unable to write.
    if (::chmod(native.constData(), 0700) != 0) {
        *error = QStringLiteral("cannot set mode 0700 on %1: %2").arg(absolute, errnoText(errno));
        return false;
    }
    return true;
}

/** A hidden file beside its destination, removed on destruction unless published. */
class TemporaryFile
{
public:
    TemporaryFile() = default;
    TemporaryFile(const TemporaryFile &) = delete;
    TemporaryFile &operator=(const TemporaryFile &) = delete;
    ~TemporaryFile()
    {
        if (!m_path.isEmpty() && ::unlink(m_path.constData()) != 0)
            qCWarning(lcHub) << "cannot remove" << QFile::decodeName(m_path) << errnoText(errno);
    }

    /** Writes @p bytes, durably, with exactly @p mode (whatever the umask). */
    bool write(const QString &destination, const QByteArray &bytes, mode_t mode, QString *error)
    {
        const QFileInfo info(destination);
        QByteArray pattern = QFile::encodeName(info.path() + QStringLiteral("/.") + info.fileName() + QStringLiteral(".XXXXXX"));
        // mkostemp creates the file with mode 0600 and O_EXCL, so the key is readable by nobody
        // else at any moment, and no existing file is reused.
        const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
        if (fd < 0) {
            *error = QStringLiteral("cannot write %1: %2").arg(destination, errnoText(errno));
            return false;
        }
        m_path = pattern;
        const auto fail = [&](const char *step, int code) {
            ::close(fd);
            *error = QStringLiteral("cannot write %1 (%2): %3").arg(destination, QLatin1StringView(step), errnoText(code));
            return false;
        };
        if (::fchmod(fd, mode) != 0)
            return fail("chmod", errno);
        for (qsizetype done = 0; done < bytes.size();) {
            const ssize_t n = ::write(fd, bytes.constData() + done, size_t(bytes.size() - done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return fail("write", n < 0 ? errno : EIO);
            done += n;
        }
        // The data must be on disk before the name is: after a crash, a file without content
        // under the final name would be "not a PEM key" at every start.
        if (::fsync(fd) != 0)
            return fail("fsync", errno);
        if (::close(fd) != 0) {
            *error = QStringLiteral("cannot write %1 (close): %2").arg(destination, errnoText(errno));
            return false;
        }
        return true;
    }

    /**
     * Gives the file its final name, failing if that name exists: never replaces a file. On
     * success the destination owns the content and this object forgets it.
     */
    bool publish(const QString &destination, QString *error)
    {
        const QByteArray target = QFile::encodeName(destination);
        int code = 0;
        if (::renameat2(AT_FDCWD, m_path.constData(), AT_FDCWD, target.constData(), RENAME_NOREPLACE) == 0) {
            m_path.clear();
            return true;
        }
        code = errno;
        // Some file systems (older kernels, NFS, FUSE) lack RENAME_NOREPLACE; link() gives the
        // same "fail if it exists" without it. The temporary name is then removed by the destructor.
        if (code == EINVAL || code == ENOSYS || code == EOPNOTSUPP) {
            if (::link(m_path.constData(), target.constData()) == 0)
                return true;
            code = errno;
        }
        *error = code == EEXIST
            ? QStringLiteral("%1 appeared while it was being created (another autofactory starting?); not replaced").arg(destination)
            : QStringLiteral("cannot create %1: %2").arg(destination, errnoText(code));
        return false;
    }

private:
    QByteArray m_path;
};

/** Makes the new directory entries durable: fsync on the files alone does not cover their names. */
void syncDirectory(const QString &directory)
{
    const int fd = ::open(QFile::encodeName(directory).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0)
        qCWarning(lcHub) << "cannot sync directory" << directory << errnoText(errno);
    if (fd >= 0)
        ::close(fd);
}

bool createTlsFiles(const QString &directory, const QString &keyPath, const QString &certificatePath, QString *error)
{
    if (!makeDirectory(directory, error))
        return false;
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) {
        *error = QStringLiteral("cannot generate an EC P-256 key for %1: %2").arg(keyPath, openSslErrors());
        return false;
    }
    X509Ptr certificate = makeSelfSignedCertificate(key.get(), error);
    if (!certificate) {
        *error = certificatePath + QStringLiteral(": ") + *error;
        return false;
    }
    const auto keyPem = encodeKeyPem(key.get(), error);
    const auto certificatePem = keyPem ? encodeCertificatePem(certificate.get(), error) : std::nullopt;
    if (!certificatePem)
        return false;

    TemporaryFile keyFile;
    TemporaryFile certificateFile;
    // The certificate is public (it is what agents are given to pin); the key is the server's secret.
    if (!keyFile.write(keyPath, *keyPem, 0600, error) || !certificateFile.write(certificatePath, *certificatePem, 0644, error))
        return false;
    if (!keyFile.publish(keyPath, error))
        return false;
    if (!certificateFile.publish(certificatePath, error)) {
        // Leave no lone key behind: the next start would refuse it as half a pair. It is ours:
        // publish() never replaces a file.
        if (::unlink(QFile::encodeName(keyPath).constData()) != 0)
            qCWarning(lcHub) << "cannot remove" << keyPath << errnoText(errno);
        return false;
    }
    syncDirectory(directory);
    return true;
}

bool fileExists(const QString &path)
{
    const QFileInfo info(path);
    // A dangling symlink is still a name we must not write through or replace.
    return info.exists() || info.isSymLink();
}

} // namespace

QString certificateFingerprint(const QSslCertificate &certificate)
{
    if (certificate.isNull())
        return {};
    return QStringLiteral("sha256:")
        + QString::fromLatin1(QCryptographicHash::hash(certificate.toDer(), QCryptographicHash::Sha256).toHex());
}

std::optional<TlsIdentity> loadTlsIdentity(const QString &certificatePath, const QString &keyPath,
                                           QString *error, const TlsFileLabels &labels)
{
    // Errors left by earlier callers (Qt's backend shares the thread's queue) would be
    // reported as ours.
    ERR_clear_error();
    const auto certificateBytes = readPemFile(certificatePath, labels.certificate, error);
    if (!certificateBytes)
        return std::nullopt;
    const auto keyBytes = readPemFile(keyPath, labels.key, error);
    if (!keyBytes)
        return std::nullopt;

    QList<QSslCertificate> chain = QSslCertificate::fromData(*certificateBytes, QSsl::Pem);
    if (chain.isEmpty() || chain.first().isNull()) {
        *error = QStringLiteral("%1 %2: no PEM certificate in it").arg(labels.certificate, certificatePath);
        return std::nullopt;
    }
    const QByteArray leafDer = chain.first().toDer();
    const auto *derBytes = reinterpret_cast<const unsigned char *>(leafDer.constData());
    X509Ptr leaf(d2i_X509(nullptr, &derBytes, long(leafDer.size())));
    if (!leaf) {
        *error = QStringLiteral("%1 %2: unreadable certificate: %3").arg(labels.certificate, certificatePath, openSslErrors());
        return std::nullopt;
    }

    PkeyPtr privateKey = parsePrivateKey(*keyBytes);
    if (!privateKey) {
        *error = QStringLiteral("%1 %2: not an unencrypted PEM RSA or EC private key (%3)")
                     .arg(labels.key, keyPath, openSslErrors());
        return std::nullopt;
    }
    QSsl::KeyAlgorithm algorithm = QSsl::Opaque;
    switch (EVP_PKEY_get_base_id(privateKey.get())) {
    case EVP_PKEY_RSA:
        algorithm = QSsl::Rsa;
        break;
    case EVP_PKEY_EC:
        algorithm = QSsl::Ec;
        break;
    default:
        *error = QStringLiteral("%1 %2: %3 key; only RSA and EC keys are supported")
                     .arg(labels.key, keyPath, QLatin1StringView(EVP_PKEY_get0_type_name(privateKey.get())));
        return std::nullopt;
    }
    // Without this check a mismatched pair starts fine and fails at every agent's handshake.
    if (X509_check_private_key(leaf.get(), privateKey.get()) != 1) {
        *error = QStringLiteral("%1 %2: does not belong to the certificate in %3 (%4)")
                     .arg(labels.key, keyPath, certificatePath, openSslErrors());
        return std::nullopt;
    }
    // Qt gets the key OpenSSL parsed and matched, re-encoded, so both read the same key even
    // when the file holds other PEM blocks too.
    const auto normalized = encodeKeyPem(privateKey.get(), error);
    if (!normalized) {
        *error = QStringLiteral("%1 %2: %3").arg(labels.key, keyPath, *error);
        return std::nullopt;
    }
    QSslKey key(*normalized, algorithm, QSsl::Pem, QSsl::PrivateKey);
    if (key.isNull()) {
        *error = QStringLiteral("%1 %2: Qt's TLS backend cannot use this key").arg(labels.key, keyPath);
        return std::nullopt;
    }

    TlsIdentity identity;
    identity.certificate = chain.takeFirst();
    identity.intermediates = chain;
    identity.key = key;
    identity.certificatePath = certificatePath;
    identity.keyPath = keyPath;
    return identity;
}

std::optional<TlsIdentity> loadOrCreateTlsIdentity(const QString &directory, QString *error)
{
    const QDir dir(directory);
    const QString keyPath = dir.filePath(kKeyFileName);
    const QString certificatePath = dir.filePath(kCertificateFileName);
    const bool haveKey = fileExists(keyPath);
    const bool haveCertificate = fileExists(certificatePath);
    if (haveKey != haveCertificate) {
        // Creating the missing half would need the key (for a certificate) or replace what
        // agents pinned (for a key): a person must decide.
        *error = haveKey
            ? QStringLiteral("certificate %1 is missing but its key %2 exists: restore the certificate, or remove the key to create a new pair")
                  .arg(certificatePath, keyPath)
            : QStringLiteral("key %1 is missing but its certificate %2 exists: restore the key, or remove the certificate to create a new pair")
                  .arg(keyPath, certificatePath);
        return std::nullopt;
    }
    bool created = false;
    if (!haveKey) {
        if (!createTlsFiles(directory, keyPath, certificatePath, error))
            return std::nullopt;
        created = true;
    }
    auto identity = loadTlsIdentity(certificatePath, keyPath, error);
    if (!identity)
        return std::nullopt;
    identity->created = created;
    if (created)
        qCDebug(lcHub) << "created TLS key" << keyPath << "and certificate" << certificatePath
                       << certificateFingerprint(identity->certificate);
    else if (QFileInfo(keyPath).permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther))
        qCWarning(lcHub) << "TLS key" << keyPath << "is readable by other users; chmod 600 it";
    return identity;
}

QSslConfiguration serverTlsConfiguration(const TlsIdentity &identity)
{
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setLocalCertificateChain(QList<QSslCertificate>{identity.certificate} + identity.intermediates);
    tls.setPrivateKey(identity.key);
    tls.setPeerVerifyMode(QSslSocket::VerifyNone);
    return tls;
}

} // namespace autofact::server
