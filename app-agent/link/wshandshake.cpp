// SPDX-License-Identifier: MIT
#include "link/wshandshake.h"

#include <QCryptographicHash>
#include <QList>
#include <QRandomGenerator>

namespace autofact::agent::ws {

QByteArray newKey()
{
    QByteArray raw(16, Qt::Uninitialized);
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(raw.data()), 4);
    return raw.toBase64();
}

QByteArray acceptFor(QByteArrayView key)
{
    QCryptographicHash sha1(QCryptographicHash::Sha1);
    sha1.addData(key);
    sha1.addData(QByteArrayView("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
    return sha1.result().toBase64();
}

QByteArray handshakeRequest(const QUrl &url, QByteArrayView key)
{
    QByteArray target = url.path(QUrl::FullyEncoded).toLatin1();
    if (target.isEmpty())
        target = "/";
    if (url.hasQuery())
        target += '?' + url.query(QUrl::FullyEncoded).toLatin1();
    QByteArray host = url.host(QUrl::FullyEncoded).toLatin1();
    if (host.contains(':'))
        host = '[' + host + ']';
    const int defaultPort = url.scheme() == QLatin1String("wss") ? 443 : 80;
    if (url.port(defaultPort) != defaultPort)
        host += ':' + QByteArray::number(url.port());
    QByteArray request;
    request.reserve(256);
    request += "GET " + target + " HTTP/1.1\r\n";
    request += "Host: " + host + "\r\n";
    request += "Upgrade: websocket\r\n";
    request += "Connection: Upgrade\r\n";
    request += "Sec-WebSocket-Key: " + key.toByteArray() + "\r\n";
    request += "Sec-WebSocket-Version: 13\r\n";
    request += "\r\n";
    return request;
}

HandshakeResponse parseHandshakeResponse(QByteArrayView received, QByteArrayView key, qsizetype maxHeaderBytes)
{
    HandshakeResponse r;
    const qsizetype end = received.indexOf(QByteArrayView("\r\n\r\n"));
    if (end < 0) {
        if (received.size() > maxHeaderBytes) {
            r.status = HandshakeResponse::Status::Refused;
            r.error = QStringLiteral("handshake answer longer than %1 bytes").arg(maxHeaderBytes);
        }
        return r;
    }
    r.status = HandshakeResponse::Status::Refused;
    if (end > maxHeaderBytes) {
        r.error = QStringLiteral("handshake answer longer than %1 bytes").arg(maxHeaderBytes);
        return r;
    }
    const QList<QByteArray> lines = received.first(end).toByteArray().split('\n');
    const QByteArray status = lines.first().trimmed();
    // "HTTP/1.1 101 Switching Protocols"
    const QList<QByteArray> parts = status.split(' ');
    if (parts.size() < 2 || !parts[0].startsWith("HTTP/1.")) {
        r.error = QStringLiteral("not an HTTP answer: %1").arg(QString::fromLatin1(status.left(80)));
        return r;
    }
    if (parts[1] != "101") {
        r.error = QStringLiteral("server answered %1 instead of switching to WebSocket")
                      .arg(QString::fromLatin1(status.left(80)));
        return r;
    }
    bool upgrade = false, connection = false, accepted = false;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray &line = lines[i];
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            continue;
        const QByteArray name = line.first(colon).trimmed().toLower();
        const QByteArray value = line.sliced(colon + 1).trimmed();
        if (name == "upgrade") {
            upgrade = value.toLower() == "websocket";
        } else if (name == "connection") {
            for (const QByteArray &token : value.toLower().split(','))
                connection = connection || token.trimmed() == "upgrade";
        } else if (name == "sec-websocket-accept") {
            accepted = value == acceptFor(key);
        } else if (name == "sec-websocket-extensions" || name == "sec-websocket-protocol") {
            r.error = QStringLiteral("server chose %1, which was not offered").arg(QString::fromLatin1(name));
            return r;
        }
    }
    if (!upgrade || !connection) {
        r.error = QStringLiteral("server answered 101 without Upgrade: websocket / Connection: upgrade");
        return r;
    }
    if (!accepted) {
        r.error = QStringLiteral("server's Sec-WebSocket-Accept does not match the key");
        return r;
    }
    r.status = HandshakeResponse::Status::Accepted;
    r.headerBytes = end + 4;
    r.error.clear();
    return r;
}

} // namespace autofact::agent::ws
