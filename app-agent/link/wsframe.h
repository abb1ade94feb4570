// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include <cstdint>
#include <optional>

namespace autofact::agent::ws {

/** RFC 6455 opcodes the client understands. */
enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

/** RFC 6455 close codes the client sends or interprets. */
namespace closecode {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t protocolError = 1002;
inline constexpr std::uint16_t unsupportedData = 1003;
inline constexpr std::uint16_t invalidData = 1007; ///< e.g. text that is not UTF-8
inline constexpr std::uint16_t noStatus = 1005; ///< never on the wire: the close frame had no code
inline constexpr std::uint16_t tooBig = 1009;
} // namespace closecode

/**
 * One client-to-server frame: FIN set, masked with @p maskKey as RFC 6455 requires of clients.
 * Control frames (close, ping, pong) must carry at most 125 bytes; the caller keeps to that.
 */
QByteArray encodeClientFrame(Opcode opcode, QByteArrayView payload, std::uint32_t maskKey);

/** Close frame payload: the code in network order, then the UTF-8 reason (cut to fit 125 bytes). */
QByteArray closePayload(std::uint16_t code, const QString &reason);

/**
 * Incremental parser of server-to-client frames. Bytes go in as they arrive, in any split;
 * next() hands out complete messages (fragments joined) and control frames, or the first
 * protocol violation; after a violation or a close frame it hands out nothing more.
 *
 * It enforces what a client must: unmasked frames, no reserved bits (no extension was
 * negotiated), control frames unfragmented and ≤ 125 bytes, continuation only inside a
 * fragmented message, close codes allowed on the wire, UTF-8 in text messages and close
 * reasons, and a cap on the size of one message — checked against the length
 * header before the payload arrives, so an oversized message is refused without buffering it.
 */
class FrameReader
{
public:
    struct Event {
        enum class Kind { Message, Ping, Pong, Close, Error } kind = Kind::Error;
        bool text = false;      ///< Message: a text message (else binary)
        QByteArray payload;     ///< Message, Ping, Pong: the data; Close: the reason
        std::uint16_t code = 0; ///< Close: the peer's code (noStatus if none); Error: the code to close with
        QString error;          ///< Error: what was wrong
    };

    explicit FrameReader(qsizetype maxMessageBytes) : m_maxMessageBytes(maxMessageBytes) {}

    void feed(QByteArrayView bytes);
    /** The next complete event, or nothing until more bytes arrive. */
    std::optional<Event> next();
    /** Bytes received and not yet handed out. */
    qsizetype buffered() const { return m_buffer.size() - m_offset + m_message.size(); }
    void reset();

private:
    std::optional<Event> fail(std::uint16_t code, QString why);

    qsizetype m_maxMessageBytes;
    QByteArray m_buffer;
    qsizetype m_offset = 0;
    QByteArray m_message;    ///< fragments of the message being assembled
    bool m_inMessage = false;
    bool m_messageIsText = false;
    bool m_failed = false;
};

} // namespace autofact::agent::ws
