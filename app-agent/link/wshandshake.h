// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QUrl>

namespace autofact::agent::ws {

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
QByteArray newKey();

/** The Sec-WebSocket-Accept a server must answer @p key with (RFC 6455 §4.2.2). */
QByteArray acceptFor(QByteArrayView key);

/** The HTTP/1.1 upgrade request for @p url (ws:// or wss://). */
QByteArray handshakeRequest(const QUrl &url, QByteArrayView key);

/** What the server's answer to the upgrade request says, judged on the bytes so far. */
struct HandshakeResponse {
    enum class Status { Incomplete, Accepted, Refused } status = Status::Incomplete;
    qsizetype headerBytes = 0; ///< Accepted: length of the HTTP header; frames follow it
    QString error;             ///< Refused: why, in words fit for a log line
};

/**
 * Judges @p received against the request made with @p key: status 101, `Upgrade: websocket`,
 * `Connection: upgrade`, the right accept token, and no extension or subprotocol (none was
 * offered). A header that grows past @p maxHeaderBytes without ending is refused.
 */
HandshakeResponse parseHandshakeResponse(QByteArrayView received, QByteArrayView key,
                                         qsizetype maxHeaderBytes = 16 * 1024);

} // namespace autofact::agent::ws
