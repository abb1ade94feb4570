// SPDX-License-Identifier: MIT
#include "link/wsframe.h"

#include <QStringDecoder>
#include <QtEndian>

namespace autofact::agent::ws {

namespace {
constexpr qsizetype maxControlPayload = 125;

bool isControl(std::uint8_t opcode) { return opcode & 0x8; }

bool isValidUtf8(QByteArrayView bytes)
{
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QString ignored = decoder.decode(bytes);
    return !decoder.hasError();
}

// RFC 6455 §7.4: codes a peer may send. 1004–1006 and 1015 are reserved for local use,
// 1016–2999 for future protocol use; 3000–4999 belong to libraries and applications.
bool isSendableCloseCode(std::uint16_t code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}
} // namespace

QByteArray encodeClientFrame(Opcode opcode, QByteArrayView payload, std::uint32_t maskKey)
{
    const auto size = std::uint64_t(payload.size());
    const int lengthBytes = size < 126 ? 0 : size <= 0xFFFF ? 2 : 8;
    QByteArray frame(2 + lengthBytes + 4 + payload.size(), Qt::Uninitialized);
    auto *out = reinterpret_cast<uchar *>(frame.data());
    out[0] = uchar(0x80 | std::uint8_t(opcode));
    if (lengthBytes == 0) {
        out[1] = uchar(0x80 | size);
    } else if (lengthBytes == 2) {
        out[1] = 0x80 | 126;
        qToBigEndian(std::uint16_t(size), out + 2);
    } else {
        out[1] = 0x80 | 127;
        qToBigEndian(size, out + 2);
    }
    uchar *mask = out + 2 + lengthBytes;
    qToBigEndian(maskKey, mask);
    uchar *body = mask + 4;
    const auto *in = reinterpret_cast<const uchar *>(payload.data());
    for (qsizetype i = 0; i < payload.size(); ++i)
        body[i] = in[i] ^ mask[i & 3];
    return frame;
}

QByteArray closePayload(std::uint16_t code, const QString &reason)
{
    QByteArray out(2, Qt::Uninitialized);
    qToBigEndian(code, out.data());
    QByteArray text = reason.toUtf8();
    // Cut on a character boundary: the reason must stay valid UTF-8.
    if (text.size() > maxControlPayload - 2) {
        qsizetype cut = maxControlPayload - 2;
        while (cut > 0 && (uchar(text[cut]) & 0xC0) == 0x80)
            --cut;
        text.truncate(cut);
    }
    return out + text;
}

void FrameReader::reset()
{
    m_buffer.clear();
    m_offset = 0;
    m_message.clear();
    m_inMessage = false;
    m_messageIsText = false;
    m_failed = false;
}

void FrameReader::feed(QByteArrayView bytes)
{
    if (m_failed || bytes.isEmpty())
        return;
    // Drop what was handed out before growing: the buffer never holds more than one frame
    // plus the bytes of the next read.
    if (m_offset > 0) {
        m_buffer.remove(0, m_offset);
        m_offset = 0;
    }
    m_buffer.append(bytes);
}

std::optional<FrameReader::Event> FrameReader::fail(std::uint16_t code, QString why)
{
    m_failed = true;
    m_buffer.clear();
    m_offset = 0;
    m_message.clear();
    Event e;
    e.kind = Event::Kind::Error;
    e.code = code;
    e.error = std::move(why);
    return e;
}

std::optional<FrameReader::Event> FrameReader::next()
{
    while (!m_failed) {
        const auto *p = reinterpret_cast<const uchar *>(m_buffer.constData()) + m_offset;
        const qsizetype available = m_buffer.size() - m_offset;
        if (available < 2)
            return std::nullopt;
        const bool fin = p[0] & 0x80;
        const std::uint8_t opcode = p[0] & 0x0F;
        if (p[0] & 0x70)
            return fail(closecode::protocolError, QStringLiteral("frame with reserved bits set"));
        if (p[1] & 0x80)
            return fail(closecode::protocolError, QStringLiteral("masked frame from the server"));
        std::uint64_t length = p[1] & 0x7F;
        qsizetype header = 2;
        if (length == 126) {
            if (available < 4)
                return std::nullopt;
            length = qFromBigEndian<std::uint16_t>(p + 2);
            header = 4;
        } else if (length == 127) {
            if (available < 10)
                return std::nullopt;
            length = qFromBigEndian<std::uint64_t>(p + 2);
            header = 10;
            if (length >> 63)
                return fail(closecode::protocolError, QStringLiteral("frame length with the top bit set"));
        }

        if (isControl(opcode)) {
            if (opcode != std::uint8_t(Opcode::Close) && opcode != std::uint8_t(Opcode::Ping)
                && opcode != std::uint8_t(Opcode::Pong))
                return fail(closecode::protocolError, QStringLiteral("unknown control opcode %1").arg(opcode));
            if (!fin)
                return fail(closecode::protocolError, QStringLiteral("fragmented control frame"));
            if (length > maxControlPayload)
                return fail(closecode::protocolError, QStringLiteral("control frame over 125 bytes"));
        } else {
            if (opcode != std::uint8_t(Opcode::Continuation) && opcode != std::uint8_t(Opcode::Text)
                && opcode != std::uint8_t(Opcode::Binary))
                return fail(closecode::protocolError, QStringLiteral("unknown data opcode %1").arg(opcode));
            if (opcode == std::uint8_t(Opcode::Continuation) && !m_inMessage)
                return fail(closecode::protocolError, QStringLiteral("continuation frame outside a message"));
            if (opcode != std::uint8_t(Opcode::Continuation) && m_inMessage)
                return fail(closecode::protocolError, QStringLiteral("new message inside a fragmented one"));
            // Refuse on the header: an oversized message is never buffered.
            if (length > std::uint64_t(m_maxMessageBytes - m_message.size()))
                return fail(closecode::tooBig, QStringLiteral("message over %1 bytes").arg(m_maxMessageBytes));
        }

        if (std::uint64_t(available - header) < length)
            return std::nullopt;
        const QByteArrayView payload(reinterpret_cast<const char *>(p + header), qsizetype(length));
        m_offset += header + qsizetype(length);

        Event e;
        switch (Opcode(opcode)) {
        case Opcode::Ping:
            e.kind = Event::Kind::Ping;
            e.payload = payload.toByteArray();
            return e;
        case Opcode::Pong:
            e.kind = Event::Kind::Pong;
            e.payload = payload.toByteArray();
            return e;
        case Opcode::Close:
            if (length == 1)
                return fail(closecode::protocolError, QStringLiteral("close frame with a 1-byte body"));
            e.kind = Event::Kind::Close;
            e.code = length >= 2 ? qFromBigEndian<std::uint16_t>(payload.data()) : closecode::noStatus;
            if (length >= 2 && !isSendableCloseCode(e.code))
                return fail(closecode::protocolError, QStringLiteral("close code %1 is not allowed on the wire").arg(e.code));
            if (length > 2)
                e.payload = payload.sliced(2).toByteArray();
            if (!isValidUtf8(e.payload))
                return fail(closecode::invalidData, QStringLiteral("close reason is not UTF-8"));
            // Nothing may follow a close frame (RFC 6455 §5.5.1): whatever does is not read.
            m_failed = true;
            m_buffer.clear();
            m_offset = 0;
            return e;
        case Opcode::Text:
        case Opcode::Binary:
            m_inMessage = true;
            m_messageIsText = opcode == std::uint8_t(Opcode::Text);
            [[fallthrough]];
        case Opcode::Continuation:
            m_message.append(payload);
            if (!fin)
                continue;
            if (m_messageIsText && !isValidUtf8(m_message))
                return fail(closecode::invalidData, QStringLiteral("text message is not UTF-8"));
            e.kind = Event::Kind::Message;
            e.text = m_messageIsText;
            e.payload = std::move(m_message);
            m_message = QByteArray();
            m_inMessage = false;
            return e;
        }
    }
    return std::nullopt;
}

} // namespace autofact::agent::ws
