// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <optional>

namespace autofact {

/** Result of decoding untrusted bytes: a message, or a reason it was refused. */
struct DecodeResult {
    std::optional<Message> message;
    ErrorCode error = ErrorCode::None; ///< Malformed or TooLarge when message is empty
    QString reason;                    ///< one line, for logs and Error messages
    bool ok() const { return message.has_value(); }
};

/**
 * Encodes and decodes protocol messages. Decoding takes untrusted bytes: size cap first,
 * then the FlatBuffers verifier with tight limits, then value checks.
 */
namespace codec {

/** Serialises @p message into one binary WebSocket payload. */
QByteArray encode(const Message &message);

/** Verifies and decodes @p bytes; never throws, never reads out of bounds. */
DecodeResult decode(QByteArrayView bytes, qsizetype maxBytes = protocol::maxMessageBytes);

/** Value checks alone (finite numbers, ranges, counts); empty string when valid. */
QString validate(const Message &message);

} // namespace codec
} // namespace autofact
