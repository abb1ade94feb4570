// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

/**
 * @file messages.h
 * Plain C++ mirrors of the wire protocol v1 messages (schema/autofact.fbs). Nothing outside
 * shared/ sees generated FlatBuffers code; everything else speaks these types.
 */
namespace autofact {

/** Protocol constants shared by agent and server. */
namespace protocol {
inline constexpr std::uint16_t version = 1;
/// Hard cap on any message accepted from the network, checked before verification.
inline constexpr qsizetype maxMessageBytes = 1024 * 1024;
/// Upper bounds that value checks enforce on decoded messages.
inline constexpr std::size_t maxSamplesPerBatch = 4096;
inline constexpr std::size_t maxCoresPerSample = 4096;
inline constexpr std::size_t maxAckRanges = 1024;
inline constexpr qsizetype maxStringBytes = 1024;
/// Messages before authentication: a Hello with every string at its cap fits (11 KiB).
inline constexpr qsizetype maxUnauthenticatedMessageBytes = 16 * 1024;
/// Sequences, drop counts, backlog and memory byte figures are u64 in the schema but valid only
/// up to 2^53: exact in doubles and JSON, storable as SQLite's signed integers without overflow,
/// and more than any agent reaches (a batch a second for 285 million years; 8 PiB). Larger
/// values are refused as malformed.
inline constexpr std::uint64_t maxCounter = std::uint64_t(1) << 53;
/// Sample timestamps: after 1970, up to the last millisecond of 9999-12-31 UTC (what ISO 8601
/// dates in exports and charts can show).
inline constexpr std::int64_t maxTimestampMs = 253402300799999;
} // namespace protocol

/** Error codes carried by ErrorMessage; values match the schema. */
enum class ErrorCode : std::uint16_t {
    None = 0,
    Malformed = 1,
    UnsupportedVersion = 2,
    BadSecret = 3,
    UnexpectedMessage = 4,
    TooLarge = 5,
    RateLimited = 6,
    HelloTimeout = 7,
    IdleTimeout = 8,
    ServerShutdown = 9,
    Internal = 10,
    ServerBusy = 11, ///< not a close: batches after the last ack were dropped, resend later
    EnrolmentRefused = 12, ///< unknown agent without a valid enrolment token
    Revoked = 13,          ///< the client was revoked on the server
};

/** What an agent says about its machine: sent in every Hello, kept in the server's inventory. */
struct SystemFacts {
    QString hostname;
    QString osName;
    QString osVersion;
    QString kernel;
    QString arch;
    QString cpuModel;
    std::uint16_t cpuCount = 0;
    std::uint64_t memTotal = 0;  ///< bytes
    std::int64_t bootTimeMs = 0; ///< UTC ms since the epoch
    QString agentVersion;
    bool operator==(const SystemFacts &) const = default;
};

/** Agent → server, first message on every connection: who it is and its SystemFacts. */
struct Hello : SystemFacts {
    std::uint16_t protocolVersion = protocol::version;
    QString agentId; ///< empty for a new agent
    QString secret;  ///< empty for a new agent
    QString token;   ///< enrolment token: only sent while the agent has no ID
    bool operator==(const Hello &) const = default;
};

/** Server → agent, answer to Hello. */
struct Welcome {
    std::uint16_t protocolVersion = protocol::version;
    QString agentId;
    QString secret;        ///< set only when a new secret was issued
    bool returning = false;
    std::int64_t serverTimeMs = 0;
    std::uint64_t lastAckedSequence = 0;
    bool operator==(const Welcome &) const = default;
};

/** Server → agent: how the agent behaves. All durations in milliseconds. */
struct AgentConfig {
    std::uint32_t revision = 0;
    std::uint32_t sampleIntervalMs = 1000;
    std::uint32_t sendIntervalMs = 5000;
    std::uint32_t heartbeatIntervalMs = 15000;
    std::uint32_t reconnectBaseMs = 5000;
    std::uint32_t reconnectMaxMs = 300000;
    std::uint64_t giveUpMs = 15 * 60 * 1000;
    std::uint64_t spoolMaxBytes = 64ull * 1024 * 1024;
    std::uint64_t spoolMaxAgeMs = 7ull * 24 * 3600 * 1000;
    bool operator==(const AgentConfig &) const = default;
};

/** Agent → server: the config revision now in force. */
struct ConfigApplied {
    std::uint32_t revision = 0;
    bool operator==(const ConfigApplied &) const = default;
};

/** CPU time split over the interval since the previous sample, in percent (0..100). */
struct CpuTimes {
    float user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0,
          guest = 0;
    /// Everything but idle and iowait.
    float busy() const { return user + nice + system + irq + softirq + steal; }
    bool operator==(const CpuTimes &) const = default;
};

/** Memory and swap, bytes. */
struct Memory {
    std::uint64_t total = 0, free = 0, available = 0, buffers = 0, cached = 0, used = 0,
                  swapTotal = 0, swapFree = 0;
    bool operator==(const Memory &) const = default;
};

/** Bits of Sample::flags. */
enum SampleFlag : std::uint16_t {
    MemAvailableEstimated = 1, ///< kernel without MemAvailable
    FirstAfterStart = 2,       ///< first sample after the agent started
};

/** One sample. Per-core values live in SampleBatch::coreBusy (coreCount entries). */
struct Sample {
    std::int64_t timestampMs = 0;
    CpuTimes cpu;
    Memory memory;
    float load1 = 0, load5 = 0, load15 = 0;
    std::uint16_t coreCount = 0;
    std::uint16_t flags = 0;
    bool operator==(const Sample &) const = default;
};

/** Agent → server: a batch of samples under one sequence number. */
struct SampleBatch {
    std::uint64_t sequence = 0;
    std::uint64_t droppedTotal = 0;
    std::vector<Sample> samples;
    std::vector<float> coreBusy; ///< samples[0]'s cores, then samples[1]'s, ...
    bool operator==(const SampleBatch &) const = default;
};

/** Inclusive range of sequence numbers. */
struct SequenceRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    bool operator==(const SequenceRange &) const = default;
};

/** Server → agent: what is durably stored. */
struct Ack {
    std::uint64_t cumulative = 0; ///< every sequence <= this is stored or recorded as a gap
    std::vector<SequenceRange> ranges;
    bool operator==(const Ack &) const = default;
};

/** Agent → server when idle. */
struct Heartbeat {
    std::int64_t sentMs = 0;
    std::uint32_t backlogBatches = 0;
    std::uint64_t backlogBytes = 0;
    std::uint64_t droppedTotal = 0;
    bool operator==(const Heartbeat &) const = default;
};

/** Server → agent, answer to Heartbeat. */
struct Pong {
    std::int64_t echoMs = 0;
    std::int64_t serverTimeMs = 0;
    bool operator==(const Pong &) const = default;
};

/** Server → agent before a close. */
struct ErrorMessage {
    ErrorCode code = ErrorCode::None;
    QString reason;
    bool operator==(const ErrorMessage &) const = default;
};

using Message = std::variant<Hello, Welcome, AgentConfig, ConfigApplied, SampleBatch, Ack,
                             Heartbeat, Pong, ErrorMessage>;

/** Human-readable name of a message's type, for logs and errors. */
QString messageTypeName(const Message &message);
/** Human-readable name of an error code. */
QString errorCodeName(ErrorCode code);

} // namespace autofact
