// SPDX-License-Identifier: MIT
// The server's own TLS identity: created once with safe modes whatever the umask, reused on later
// starts, refused (and left alone) when half a pair, corrupt or mismatched, and accepted by a real
// Qt TLS client that trusts only this certificate. Linux only, like the server.
#include "tlsidentity.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QProcess>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QSslCertificateExtension>
#include <QSslSocket>
#include <QStandardPaths>
#include <QSysInfo>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>
#include <unistd.h>

using namespace autofact::server;

namespace {

const QString kKey = QStringLiteral("autofactory-tls.key");
const QString kCertificate = QStringLiteral("autofactory-tls.crt");

int modeOf(const QString &path)
{
    struct stat st = {};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return -1;
    return int(st.st_mode & 07777);
}

QByteArray contents(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

void writeFile(const QString &path, const QByteArray &bytes)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
}

/** Inode, mode, modification time and content: equal snapshots mean the file was not touched. */
QString snapshot(const QString &path)
{
    struct stat st = {};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return QStringLiteral("absent");
    return QStringLiteral("ino %1 mode %2 mtime %3.%4 sha256 %5")
        .arg(st.st_ino)
        .arg(st.st_mode & 07777, 0, 8)
        .arg(st.st_mtim.tv_sec)
        .arg(st.st_mtim.tv_nsec)
        .arg(QString::fromLatin1(QCryptographicHash::hash(contents(path), QCryptographicHash::Sha256).toHex()));
}

/** Every name in @p directory, hidden ones too: a leftover temporary file shows here. */
QStringList entries(const QString &directory)
{
    return QDir(directory).entryList(QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                                     QDir::Name);
}

/** The machine name as the server puts it in subjectAltName, or empty when it cannot. */
QString dnsHostName()
{
    static const QRegularExpression name(QStringLiteral(
        "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"));
    const QString host = QSysInfo::machineHostName();
    if (host.size() > 253 || !name.match(host).hasMatch() || host.compare(QStringLiteral("localhost"), Qt::CaseInsensitive) == 0)
        return {};
    return host;
}

struct ToolRun {
    int code = -1;
    QByteArray out;
    QByteArray err;
};

ToolRun openssl(const QStringList &arguments)
{
    QProcess p;
    p.start(QStringLiteral("openssl"), arguments);
    ToolRun r;
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished();
        return r;
    }
    r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

bool haveOpenssl()
{
    return !QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty();
}

/** Hands each connection to a QSslSocket in server mode, as QWebSocketServer does for wss://. */
class TlsTestServer : public QTcpServer
{
public:
    explicit TlsTestServer(const QSslConfiguration &tls, QObject *parent = nullptr)
        : QTcpServer(parent)
        , m_tls(tls)
    {
    }
    QStringList sslErrors() const { return m_sslErrors; }

protected:
    void incomingConnection(qintptr descriptor) override
    {
        auto *socket = new QSslSocket(this);
        if (!socket->setSocketDescriptor(descriptor)) {
            m_sslErrors << socket->errorString();
            delete socket;
            return;
        }
        socket->setSslConfiguration(m_tls);
        connect(socket, &QSslSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
            for (const QSslError &e : errors)
                m_sslErrors << e.errorString();
        });
        socket->startServerEncryption();
    }

private:
    QSslConfiguration m_tls;
    QStringList m_sslErrors;
};

} // namespace

class TestTlsIdentity : public QObject
{
    Q_OBJECT
private:
    enum File { CertificateA, KeyA, KeyB, Absent };

    /** A fresh identity in its own directory; the directory lives as long as the test. */
    TlsIdentity makeIdentity(QTemporaryDir &dir)
    {
        QString error;
        const auto identity = loadOrCreateTlsIdentity(dir.path(), &error);
        if (!identity)
            qFatal("cannot create a TLS identity: %s", qPrintable(error));
        return *identity;
    }

private slots:
    void initTestCase()
    {
        // Not a skip: without a TLS backend the server cannot serve wss:// at all.
        QVERIFY2(QSslSocket::supportsSsl(), "Qt has no TLS backend");
    }

    void createsOnceThenReuses_data()
    {
        QTest::addColumn<int>("umask");
        QTest::addRow("umask 022") << 0022;
        QTest::addRow("umask 077") << 0077;
        QTest::addRow("umask 000") << 0000;
        QTest::addRow("umask 277") << 0277; // mkdir/open modes alone would give 0500 and 0400
    }
    void createsOnceThenReuses()
    {
        QFETCH(int, umask);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        // Neither the directory nor its parent exists yet.
        const QString parent = tmp.filePath(QStringLiteral("state"));
        const QString directory = parent + QStringLiteral("/tls");
        const mode_t previous = ::umask(mode_t(umask));
        auto restore = qScopeGuard([previous] { ::umask(previous); });

        QString error;
        const auto first = loadOrCreateTlsIdentity(directory, &error);
        QVERIFY2(first, qPrintable(error));
        QVERIFY(first->created);
        QCOMPARE(first->keyPath, directory + u'/' + kKey);
        QCOMPARE(first->certificatePath, directory + u'/' + kCertificate);
        QCOMPARE(entries(directory), (QStringList{kCertificate, kKey})); // no temporary left
        QCOMPARE(modeOf(first->keyPath), 0600);
        QCOMPARE(modeOf(first->certificatePath), 0644);
        QCOMPARE(modeOf(directory), 0700);
        QCOMPARE(modeOf(parent), 0700);
        QVERIFY(error.isEmpty());

        const QString keyBefore = snapshot(first->keyPath);
        const QString certificateBefore = snapshot(first->certificatePath);
        const auto second = loadOrCreateTlsIdentity(directory, &error);
        QVERIFY2(second, qPrintable(error));
        QVERIFY(!second->created);
        QCOMPARE(certificateFingerprint(second->certificate), certificateFingerprint(first->certificate));
        QCOMPARE(second->certificate, first->certificate);
        QCOMPARE(second->key.toDer(), first->key.toDer());
        QCOMPARE(snapshot(second->keyPath), keyBefore);
        QCOMPARE(snapshot(second->certificatePath), certificateBefore);
        QCOMPARE(entries(directory), (QStringList{kCertificate, kKey}));
    }

    void keyAndCertificateContents()
    {
        QTemporaryDir tmp;
        const QDateTime before = QDateTime::currentDateTimeUtc();
        const TlsIdentity identity = makeIdentity(tmp);
        const QDateTime after = QDateTime::currentDateTimeUtc();

        QCOMPARE(identity.key.algorithm(), QSsl::Ec);
        QCOMPARE(identity.key.length(), 256);
        QCOMPARE(identity.key.type(), QSsl::PrivateKey);
        QVERIFY(contents(identity.keyPath).startsWith("-----BEGIN PRIVATE KEY-----\n"));
        QVERIFY(contents(identity.certificatePath).startsWith("-----BEGIN CERTIFICATE-----\n"));
        QVERIFY(identity.intermediates.isEmpty());

        const QSslCertificate &cert = identity.certificate;
        QVERIFY(cert.isSelfSigned());
        QCOMPARE(cert.version(), QByteArray("3"));
        QCOMPARE(cert.issuerDisplayName(), cert.subjectDisplayName());
        const QString host = QSysInfo::machineHostName();
        if (!host.isEmpty() && host.size() <= 49)
            QCOMPARE(cert.subjectInfo(QSslCertificate::CommonName), QStringList{QStringLiteral("autofactory on ") + host});

        // Valid from an hour ago (clients with slow clocks) for 20 years.
        QVERIFY2(cert.effectiveDate() >= before.addSecs(-3600 - 1) && cert.effectiveDate() <= after.addSecs(-3600 + 1),
                 qPrintable(cert.effectiveDate().toString(Qt::ISODate)));
        QCOMPARE(cert.expiryDate(), cert.effectiveDate().addDays(20 * 365 + 5));

        const auto names = cert.subjectAlternativeNames();
        QStringList dns = names.values(QSsl::DnsEntry);
        dns.sort();
        QStringList expectedDns{QStringLiteral("localhost")};
        if (!dnsHostName().isEmpty())
            expectedDns << dnsHostName();
        expectedDns.sort();
        QCOMPARE(dns, expectedDns);
        QList<QHostAddress> ips;
        for (const QString &ip : names.values(QSsl::IpAddressEntry))
            ips << QHostAddress(ip);
        QCOMPARE(ips.size(), 2);
        QVERIFY(ips.contains(QHostAddress(QHostAddress::LocalHost)));
        QVERIFY(ips.contains(QHostAddress(QHostAddress::LocalHostIPv6)));

        bool sawBasicConstraints = false;
        QStringList extensionNames;
        for (const QSslCertificateExtension &extension : cert.extensions()) {
            extensionNames << extension.name();
            if (extension.name() == u"basicConstraints") {
                sawBasicConstraints = true;
                QVERIFY(extension.isCritical());
                QCOMPARE(extension.value().toMap().value(QStringLiteral("ca")), QVariant(false));
            }
        }
        QVERIFY2(sawBasicConstraints, qPrintable(extensionNames.join(u' ')));
        QVERIFY2(extensionNames.contains(QStringLiteral("extendedKeyUsage")), qPrintable(extensionNames.join(u' ')));
        QVERIFY2(!extensionNames.contains(QStringLiteral("keyUsage")), qPrintable(extensionNames.join(u' ')));

        // 128 random bits: two certificates never share a serial; DER adds at most one zero octet.
        QByteArray serial = QByteArray::fromHex(cert.serialNumber().replace(':', QByteArray()));
        while (serial.startsWith('\0'))
            serial.remove(0, 1);
        QVERIFY2(serial.size() > 8 && serial.size() <= 16, cert.serialNumber().constData());
        QTemporaryDir other;
        QVERIFY(makeIdentity(other).certificate.serialNumber() != cert.serialNumber());
    }

    void fingerprint()
    {
        QTemporaryDir tmp;
        const TlsIdentity identity = makeIdentity(tmp);
        const QString fingerprint = certificateFingerprint(identity.certificate);
        static const QRegularExpression format(QStringLiteral("^sha256:[0-9a-f]{64}$"));
        QVERIFY2(format.match(fingerprint).hasMatch(), qPrintable(fingerprint));
        QCOMPARE(fingerprint, QStringLiteral("sha256:")
                     + QString::fromLatin1(QCryptographicHash::hash(identity.certificate.toDer(), QCryptographicHash::Sha256).toHex()));
        QTemporaryDir other;
        QVERIFY(certificateFingerprint(makeIdentity(other).certificate) != fingerprint);
        QVERIFY(certificateFingerprint(QSslCertificate()).isEmpty());

        // What an administrator computes by hand from the file on disk.
        if (!haveOpenssl())
            QSKIP("openssl is not installed");
        const ToolRun der = openssl({QStringLiteral("x509"), QStringLiteral("-in"), identity.certificatePath,
                                     QStringLiteral("-outform"), QStringLiteral("DER")});
        QVERIFY2(der.code == 0, der.err.constData());
        QCOMPARE(fingerprint, QStringLiteral("sha256:")
                     + QString::fromLatin1(QCryptographicHash::hash(der.out, QCryptographicHash::Sha256).toHex()));
        const ToolRun digest = openssl({QStringLiteral("x509"), QStringLiteral("-in"), identity.certificatePath,
                                        QStringLiteral("-noout"), QStringLiteral("-fingerprint"), QStringLiteral("-sha256")});
        QVERIFY2(digest.code == 0, digest.err.constData());
        const QString line = QString::fromLatin1(digest.out.trimmed());
        QCOMPARE(QStringLiteral("sha256:") + line.section(u'=', 1).remove(u':').toLower(), fingerprint);
    }

    void opensslVerifiesItAsItsOwnTrustAnchor()
    {
        if (!haveOpenssl())
            QSKIP("openssl is not installed");
        QTemporaryDir tmp;
        const TlsIdentity identity = makeIdentity(tmp);
        // The CA file case, checked by OpenSSL itself, for every name an agent may dial.
        for (const QStringList &name : {QStringList{QStringLiteral("-verify_hostname"), QStringLiteral("localhost")},
                                        QStringList{QStringLiteral("-verify_ip"), QStringLiteral("127.0.0.1")},
                                        QStringList{QStringLiteral("-verify_ip"), QStringLiteral("::1")}}) {
            const ToolRun r = openssl(QStringList{QStringLiteral("verify"), QStringLiteral("-purpose"), QStringLiteral("sslserver"),
                                                  QStringLiteral("-x509_strict"), QStringLiteral("-CAfile"), identity.certificatePath}
                                      + name + QStringList{identity.certificatePath});
            QVERIFY2(r.code == 0, qPrintable(name.join(u' ') + u' ' + QString::fromUtf8(r.out + r.err)));
        }
        const ToolRun wrong = openssl({QStringLiteral("verify"), QStringLiteral("-CAfile"), identity.certificatePath,
                                       QStringLiteral("-verify_hostname"), QStringLiteral("example.invalid"), identity.certificatePath});
        QVERIFY(wrong.code != 0);
    }

    void handshake_data()
    {
        QTest::addColumn<QString>("listenAddress");
        QTest::addColumn<QString>("peerName");
        QTest::addColumn<bool>("trustOnlyThisCertificate");
        QTest::addColumn<int>("expectedError"); // QSslError::NoError: the handshake completes

        QTest::addRow("localhost") << QStringLiteral("127.0.0.1") << QStringLiteral("localhost") << true << int(QSslError::NoError);
        QTest::addRow("127.0.0.1") << QStringLiteral("127.0.0.1") << QStringLiteral("127.0.0.1") << true << int(QSslError::NoError);
        QTest::addRow("::1") << QStringLiteral("::1") << QStringLiteral("::1") << true << int(QSslError::NoError);
        QTest::addRow("machine host name") << QStringLiteral("127.0.0.1") << dnsHostName() << true << int(QSslError::NoError);
        // The two cases below prove the client really checks, so the rows above mean something.
        QTest::addRow("another name is refused") << QStringLiteral("127.0.0.1") << QStringLiteral("example.invalid") << true
                                                 << int(QSslError::HostNameMismatch);
        QTest::addRow("untrusted without the certificate") << QStringLiteral("127.0.0.1") << QStringLiteral("localhost") << false
                                                           << int(QSslError::SelfSignedCertificate);
    }
    void handshake()
    {
        QFETCH(QString, listenAddress);
        QFETCH(QString, peerName);
        QFETCH(bool, trustOnlyThisCertificate);
        QFETCH(int, expectedError);
        if (peerName.isEmpty())
            QSKIP("this machine's host name is not a DNS name, so it is not in the certificate");

        QTemporaryDir tmp;
        const TlsIdentity identity = makeIdentity(tmp);
        TlsTestServer server(serverTlsConfiguration(identity));
        if (!server.listen(QHostAddress(listenAddress), 0)) {
            if (listenAddress.contains(u':'))
                QSKIP("no IPv6 loopback here");
            QFAIL(qPrintable(server.errorString()));
        }

        QSslSocket client;
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        if (trustOnlyThisCertificate)
            tls.setCaCertificates({identity.certificate});
        client.setSslConfiguration(tls);
        QList<QSslError> errors;
        connect(&client, &QSslSocket::sslErrors, this, [&errors](const QList<QSslError> &e) { errors += e; });
        QSignalSpy encrypted(&client, &QSslSocket::encrypted);
        QSignalSpy failed(&client, &QAbstractSocket::errorOccurred);
        client.connectToHostEncrypted(listenAddress, server.serverPort(), peerName);

        const auto describe = [&] {
            QStringList texts{client.errorString()};
            for (const QSslError &e : errors)
                texts << e.errorString();
            return texts.join(QStringLiteral("; "));
        };
        if (expectedError == QSslError::NoError) {
            QVERIFY2(encrypted.wait(15000), qPrintable(describe()));
            QVERIFY2(errors.isEmpty(), qPrintable(describe()));
            // What a pinning agent compares.
            QCOMPARE(certificateFingerprint(client.peerCertificate()), certificateFingerprint(identity.certificate));
            QVERIFY2(server.sslErrors().isEmpty(), qPrintable(server.sslErrors().join(u'\n')));
        } else {
            QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty() || !encrypted.isEmpty(), 15000);
            QCOMPARE(encrypted.size(), 0);
            bool sawExpected = false;
            for (const QSslError &e : std::as_const(errors))
                sawExpected = sawExpected || int(e.error()) == expectedError;
            QVERIFY2(sawExpected, qPrintable(describe()));
        }
    }

    void halfPairRefused_data()
    {
        QTest::addColumn<QString>("present");
        QTest::addColumn<QString>("missing");
        QTest::addRow("only the key") << kKey << kCertificate;
        QTest::addRow("only the certificate") << kCertificate << kKey;
    }
    void halfPairRefused()
    {
        QFETCH(QString, present);
        QFETCH(QString, missing);
        QTemporaryDir source;
        makeIdentity(source);
        QTemporaryDir tmp;
        QVERIFY(QFile::copy(source.filePath(present), tmp.filePath(present)));
        const QString before = snapshot(tmp.filePath(present));

        QString error;
        QVERIFY(!loadOrCreateTlsIdentity(tmp.path(), &error));
        QVERIFY2(error.contains(tmp.filePath(missing) + QStringLiteral(" is missing")), qPrintable(error));
        QVERIFY2(!error.contains(u'\n'), qPrintable(error));
        QCOMPARE(entries(tmp.path()), QStringList{present}); // nothing written
        QCOMPARE(snapshot(tmp.filePath(present)), before);
    }

    void danglingSymlinkIsNotWrittenThrough()
    {
        QTemporaryDir tmp;
        const QString target = tmp.filePath(QStringLiteral("elsewhere.key"));
        QVERIFY(QFile::link(target, tmp.filePath(kKey)));
        QString error;
        QVERIFY(!loadOrCreateTlsIdentity(tmp.path(), &error));
        QVERIFY2(error.contains(tmp.filePath(kCertificate) + QStringLiteral(" is missing")), qPrintable(error));
        QVERIFY(!QFile::exists(target));
        QCOMPARE(QFileInfo(tmp.filePath(kKey)).symLinkTarget(), target);
        QCOMPARE(entries(tmp.path()), QStringList{kKey});
    }

    void corruptFileRefused_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("bytes");
        QTest::addRow("garbage key") << kKey << QByteArray("not a key\n\x01\x02");
        QTest::addRow("empty key") << kKey << QByteArray();
        QTest::addRow("truncated key") << kKey << QByteArray("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n");
        QTest::addRow("garbage certificate") << kCertificate << QByteArray("not a certificate\n");
        QTest::addRow("empty certificate") << kCertificate << QByteArray();
    }
    void corruptFileRefused()
    {
        QFETCH(QString, file);
        QFETCH(QByteArray, bytes);
        QTemporaryDir tmp;
        makeIdentity(tmp);
        writeFile(tmp.filePath(file), bytes);
        const QString keyBefore = snapshot(tmp.filePath(kKey));
        const QString certificateBefore = snapshot(tmp.filePath(kCertificate));

        QString error;
        QVERIFY(!loadOrCreateTlsIdentity(tmp.path(), &error));
        QVERIFY2(error.contains(tmp.filePath(file)), qPrintable(error));
        QVERIFY2(!error.contains(u'\n'), qPrintable(error));
        QCOMPARE(snapshot(tmp.filePath(kKey)), keyBefore);
        QCOMPARE(snapshot(tmp.filePath(kCertificate)), certificateBefore);
        QCOMPARE(entries(tmp.path()), (QStringList{kCertificate, kKey}));
    }

    void unreadableFileRefused()
    {
        QTemporaryDir tmp;
        makeIdentity(tmp);
        QVERIFY(QFile::remove(tmp.filePath(kCertificate)));
        QVERIFY(QDir(tmp.path()).mkdir(kCertificate)); // a directory: unreadable as a file, even for root
        QString error;
        QVERIFY(!loadOrCreateTlsIdentity(tmp.path(), &error));
        QVERIFY2(error.contains(tmp.filePath(kCertificate)), qPrintable(error));
    }

    void mismatchedPairRefused()
    {
        QTemporaryDir a;
        QTemporaryDir b;
        makeIdentity(a);
        makeIdentity(b);
        // Swap the certificates: each key now sits beside the other's certificate.
        const QByteArray certificateA = contents(a.filePath(kCertificate));
        writeFile(a.filePath(kCertificate), contents(b.filePath(kCertificate)));
        writeFile(b.filePath(kCertificate), certificateA);
        const QString keyBefore = snapshot(a.filePath(kKey));
        const QString certificateBefore = snapshot(a.filePath(kCertificate));

        QString error;
        QVERIFY(!loadOrCreateTlsIdentity(a.path(), &error));
        QVERIFY2(error.contains(a.filePath(kKey)) && error.contains(QStringLiteral("does not belong")), qPrintable(error));
        QVERIFY(!loadOrCreateTlsIdentity(b.path(), &error));
        QCOMPARE(snapshot(a.filePath(kKey)), keyBefore);
        QCOMPARE(snapshot(a.filePath(kCertificate)), certificateBefore);
    }

    void directoryCannotBeCreatedOrWritten_data()
    {
        QTest::addColumn<QString>("subPath"); // inside the temporary directory
        QTest::addColumn<bool>("readOnlyDirectory");
        QTest::addRow("parent is a regular file") << QStringLiteral("file/tls") << false;
        QTest::addRow("directory is a regular file") << QStringLiteral("file") << false;
        QTest::addRow("read-only directory") << QStringLiteral("readonly") << true;
    }
    void directoryCannotBeCreatedOrWritten()
    {
        QFETCH(QString, subPath);
        QFETCH(bool, readOnlyDirectory);
        QTemporaryDir tmp;
        writeFile(tmp.filePath(QStringLiteral("file")), "a file, not a directory\n");
        const QString directory = tmp.filePath(subPath);
        if (readOnlyDirectory) {
            QVERIFY(QDir(tmp.path()).mkdir(subPath));
            QVERIFY(QFile::setPermissions(directory, QFile::ReadOwner | QFile::ExeOwner));
            // root ignores the mode: see whether this process can still write there.
            QFile probe(directory + QStringLiteral("/probe"));
            if (probe.open(QIODevice::WriteOnly)) {
                probe.remove();
                QSKIP("this user can write into a mode 0500 directory (root)");
            }
        }
        auto restore = qScopeGuard([&] {
            if (readOnlyDirectory)
                QFile::setPermissions(directory, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        });
        const QStringList before = entries(tmp.path());

        QString error;
        QVERIFY(!loadOrCreateTlsIdentity(directory, &error));
        QVERIFY2(error.contains(tmp.path()), qPrintable(error));
        QVERIFY2(!error.contains(u'\n'), qPrintable(error));
        QCOMPARE(entries(tmp.path()), before);
        if (readOnlyDirectory)
            QCOMPARE(entries(directory), QStringList());
        QCOMPARE(contents(tmp.filePath(QStringLiteral("file"))), QByteArray("a file, not a directory\n"));
    }

    void loadUserSuppliedPair()
    {
        QTemporaryDir a;
        const TlsIdentity generated = makeIdentity(a);
        QString error;
        const auto loaded = loadTlsIdentity(generated.certificatePath, generated.keyPath, &error);
        QVERIFY2(loaded, qPrintable(error));
        QVERIFY(!loaded->created);
        QCOMPARE(loaded->certificate, generated.certificate);
        QCOMPARE(loaded->key.toDer(), generated.key.toDer());
        QCOMPARE(loaded->certificatePath, generated.certificatePath);
        QCOMPARE(loaded->keyPath, generated.keyPath);

        const QSslConfiguration tls = serverTlsConfiguration(*loaded);
        QCOMPARE(tls.localCertificateChain(), QList<QSslCertificate>{generated.certificate});
        QCOMPARE(tls.privateKey(), generated.key);
        QCOMPARE(tls.peerVerifyMode(), QSslSocket::VerifyNone);

        // A chain file: the leaf first, then what it would send as intermediates.
        QTemporaryDir b;
        const TlsIdentity other = makeIdentity(b);
        const QString chainPath = a.filePath(QStringLiteral("chain.pem"));
        writeFile(chainPath, contents(generated.certificatePath) + contents(other.certificatePath));
        const auto chained = loadTlsIdentity(chainPath, generated.keyPath, &error);
        QVERIFY2(chained, qPrintable(error));
        QCOMPARE(chained->certificate, generated.certificate);
        QCOMPARE(chained->intermediates, QList<QSslCertificate>{other.certificate});
        QCOMPARE(serverTlsConfiguration(*chained).localCertificateChain(),
                 (QList<QSslCertificate>{generated.certificate, other.certificate}));

        // Key and certificate in one file, as some tools write them.
        const QString combinedPath = a.filePath(QStringLiteral("combined.pem"));
        writeFile(combinedPath, contents(generated.certificatePath) + contents(generated.keyPath));
        const auto combined = loadTlsIdentity(combinedPath, combinedPath, &error);
        QVERIFY2(combined, qPrintable(error));
        QCOMPARE(combined->key.toDer(), generated.key.toDer());
    }

    void loadUserSuppliedPairRefused_data()
    {
        QTest::addColumn<int>("certificateFile"); // a File
        QTest::addColumn<int>("keyFile");
        QTest::addColumn<QString>("namedFlag");   // the error starts with this flag and file
        QTest::addColumn<int>("namedFile");
        QTest::addColumn<QString>("expectedText");
        const QString cert = QStringLiteral("--tls-cert");
        const QString key = QStringLiteral("--tls-key");
        QTest::addRow("key of another certificate") << int(CertificateA) << int(KeyB) << key << int(KeyB)
                                                    << QStringLiteral("does not belong to the certificate in");
        QTest::addRow("missing certificate") << int(Absent) << int(KeyA) << cert << int(Absent) << QStringLiteral("No such file");
        QTest::addRow("missing key") << int(CertificateA) << int(Absent) << key << int(Absent) << QStringLiteral("No such file");
        QTest::addRow("key file as certificate") << int(KeyA) << int(KeyA) << cert << int(KeyA) << QStringLiteral("no PEM certificate");
        QTest::addRow("certificate file as key") << int(CertificateA) << int(CertificateA) << key << int(CertificateA)
                                                 << QStringLiteral("not an unencrypted PEM RSA or EC private key");
    }
    void loadUserSuppliedPairRefused()
    {
        QFETCH(int, certificateFile);
        QFETCH(int, keyFile);
        QFETCH(QString, namedFlag);
        QFETCH(int, namedFile);
        QFETCH(QString, expectedText);
        QTemporaryDir a;
        QTemporaryDir b;
        const TlsIdentity identityA = makeIdentity(a);
        const TlsIdentity identityB = makeIdentity(b);
        const QString paths[] = {identityA.certificatePath, identityA.keyPath, identityB.keyPath,
                                 a.filePath(QStringLiteral("absent.pem"))};

        QString error;
        QVERIFY(!loadTlsIdentity(paths[certificateFile], paths[keyFile], &error,
                                 {QStringLiteral("--tls-cert"), QStringLiteral("--tls-key")}));
        QVERIFY2(error.startsWith(namedFlag + u' ' + paths[namedFile] + u':'), qPrintable(error));
        QVERIFY2(error.contains(expectedText), qPrintable(error));
        QVERIFY2(!error.contains(u'\n'), qPrintable(error));
        if (namedFile == KeyB) // and says which certificate it was checked against
            QVERIFY2(error.contains(identityA.certificatePath), qPrintable(error));
    }

    void loadOpensslMadePairs_data()
    {
        QTest::addColumn<QStringList>("newkey");
        QTest::addColumn<int>("algorithm");
        QTest::addRow("RSA 2048") << QStringList{QStringLiteral("-newkey"), QStringLiteral("rsa:2048")} << int(QSsl::Rsa);
        QTest::addRow("EC P-384") << QStringList{QStringLiteral("-newkey"), QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
                                                 QStringLiteral("ec_paramgen_curve:P-384")}
                                  << int(QSsl::Ec);
    }
    void loadOpensslMadePairs()
    {
        QFETCH(QStringList, newkey);
        QFETCH(int, algorithm);
        if (!haveOpenssl())
            QSKIP("openssl is not installed");
        QTemporaryDir tmp;
        const QString certificatePath = tmp.filePath(QStringLiteral("cert.pem"));
        const QString keyPath = tmp.filePath(QStringLiteral("key.pem"));
        const ToolRun made = openssl(QStringList{QStringLiteral("req"), QStringLiteral("-x509")} + newkey
                                     + QStringList{QStringLiteral("-nodes"), QStringLiteral("-days"), QStringLiteral("1"),
                                                   QStringLiteral("-subj"), QStringLiteral("/CN=localhost"),
                                                   QStringLiteral("-keyout"), keyPath, QStringLiteral("-out"), certificatePath});
        QVERIFY2(made.code == 0, made.err.constData());
        QString error;
        const auto identity = loadTlsIdentity(certificatePath, keyPath, &error);
        QVERIFY2(identity, qPrintable(error));
        QCOMPARE(int(identity->key.algorithm()), algorithm);

        // An encrypted key is refused at once: nobody is there to type a passphrase.
        const QString encryptedPath = tmp.filePath(QStringLiteral("encrypted.pem"));
        const ToolRun encrypted = openssl({QStringLiteral("pkey"), QStringLiteral("-in"), keyPath, QStringLiteral("-aes-256-cbc"),
                                           QStringLiteral("-passout"), QStringLiteral("pass:secret"), QStringLiteral("-out"), encryptedPath});
        QVERIFY2(encrypted.code == 0, encrypted.err.constData());
        QVERIFY(!loadTlsIdentity(certificatePath, encryptedPath, &error));
        QVERIFY2(error.startsWith(QStringLiteral("key ") + encryptedPath + u':'), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestTlsIdentity)
#include "tst_tlsidentity.moc"
