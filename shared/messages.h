// SPDX-License-Identifier: MIT
#pragma once

#include <QHash>
#include <QString>

#include <algorithm>

#include <climits>
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
/// Per-device tables of one batch (filesystems, disks, networks, temperatures): names and
/// entries of each kind. A sample from a machine with 64 mounts, 64 disks, 64 interfaces and
/// 128 sensors, 20 samples a batch, stays far below both.
inline constexpr std::size_t maxDeviceNames = 4096;
inline constexpr std::size_t maxDeviceEntries = 65536;
/// A device name (mount point, disk, interface, sensor) in bytes of UTF-8.
inline constexpr qsizetype maxDeviceNameBytes = 512;
/// The time a disk or network delta may cover (a suspended laptop's first reading after a
/// longer sleep is a new baseline, not a day-long average).
inline constexpr std::uint32_t maxDeviceIntervalMs = 24u * 3600 * 1000;
/// Collector intervals: 0 (off) or 1 s .. 1 h.
inline constexpr std::uint32_t maxCollectorIntervalMs = 3600 * 1000;
/// Temperatures outside -273.15 .. 1000 °C are sensor faults, not readings.
inline constexpr std::int32_t minMilliCelsius = -273150;
inline constexpr std::int32_t maxMilliCelsius = 1000000;
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
    /// Optional collectors: how often each runs (at the sample tick on or after the interval),
    /// 0 = off. An older server sends none of these, so an agent behind it collects nothing
    /// it could not store.
    std::uint32_t filesystemsIntervalMs = 60000;
    std::uint32_t disksIntervalMs = 5000;
    std::uint32_t networkIntervalMs = 5000;
    std::uint32_t temperaturesIntervalMs = 30000;
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

/** One filesystem's use at a sample (statvfs), bytes. `sample`/`device` as in DeviceTables. */
struct FilesystemUsage {
    std::uint32_t sample = 0;
    std::uint16_t device = 0; ///< the mount point
    std::uint64_t sizeBytes = 0, usedBytes = 0, availableBytes = 0, inodesUsed = 0, inodesTotal = 0;
    /** Values that can be true: used and available within the size, counters ≤ 2^53. */
    bool valid() const
    {
        return sizeBytes <= protocol::maxCounter && inodesTotal <= protocol::maxCounter && usedBytes <= sizeBytes
               && availableBytes <= sizeBytes && inodesUsed <= inodesTotal;
    }
    bool operator==(const FilesystemUsage &) const = default;
};

/** One whole disk's I/O over intervalMs before the sample (deltas of /proc/diskstats). */
struct DiskIo {
    std::uint32_t sample = 0;
    std::uint16_t device = 0;
    std::uint32_t intervalMs = 0;
    std::uint64_t readBytes = 0, writeBytes = 0, reads = 0, writes = 0;
    std::uint32_t busyMs = 0; ///< time with I/O in flight, at most intervalMs
    /** An interval of 1 ms to 24 h, busy within it, counters ≤ 2^53. */
    bool valid() const
    {
        return intervalMs > 0 && intervalMs <= protocol::maxDeviceIntervalMs && busyMs <= intervalMs
               && std::max({readBytes, writeBytes, reads, writes}) <= protocol::maxCounter;
    }
    bool operator==(const DiskIo &) const = default;
};

/** One interface's traffic over intervalMs before the sample (deltas of /proc/net/dev). */
struct NetworkIo {
    std::uint32_t sample = 0;
    std::uint16_t device = 0;
    std::uint32_t intervalMs = 0;
    std::uint64_t rxBytes = 0, txBytes = 0, rxPackets = 0, txPackets = 0, rxErrors = 0,
                  txErrors = 0, rxDrops = 0, txDrops = 0;
    /** An interval of 1 ms to 24 h, counters ≤ 2^53. */
    bool valid() const
    {
        return intervalMs > 0 && intervalMs <= protocol::maxDeviceIntervalMs
               && std::max({rxBytes, txBytes, rxPackets, txPackets, rxErrors, txErrors, rxDrops, txDrops})
                          <= protocol::maxCounter;
    }
    bool operator==(const NetworkIo &) const = default;
};

/** Marks Temperature::criticalMilliCelsius as absent (the kernel gives no threshold). */
inline constexpr std::int32_t noCriticalTemperature = INT32_MIN;

/** One sensor's reading, thousandths of a degree Celsius (the kernel's unit, kept exact). */
struct Temperature {
    std::uint32_t sample = 0;
    std::uint16_t device = 0; ///< "chip/label"
    std::int32_t milliCelsius = 0;
    std::int32_t criticalMilliCelsius = noCriticalTemperature;
    /** Within −273.15 … 1000 °C, the threshold too when there is one. */
    bool valid() const
    {
        const auto inRange = [](std::int32_t mc) {
            return mc >= protocol::minMilliCelsius && mc <= protocol::maxMilliCelsius;
        };
        return inRange(milliCelsius) && (criticalMilliCelsius == noCriticalTemperature || inRange(criticalMilliCelsius));
    }
    bool operator==(const Temperature &) const = default;
};

/**
 * The optional per-device readings: filesystems, disks, network interfaces and temperature
 * sensors. In a SampleBatch, `sample` indexes its samples and `device` indexes names (shared by
 * all four kinds); entries are in sample order. A sampler fills one for one sample (sample 0).
 */
struct DeviceTables {
    std::vector<QString> names;
    std::vector<FilesystemUsage> filesystems;
    std::vector<DiskIo> disks;
    std::vector<NetworkIo> networks;
    std::vector<Temperature> temperatures;

    bool empty() const
    {
        return filesystems.empty() && disks.empty() && networks.empty() && temperatures.empty();
    }
    /** Empties every table, keeping capacity (samplers reuse one between samples). */
    void clear();
    /** Index of @p name in names, appending it when new (a sampler's few names: a linear search). */
    std::uint16_t nameIndex(const QString &name);
    /**
     * Appends @p one's readings (one sample's) as those of sample @p sample. @p index, when
     * given, maps names to their index here and is kept up to date (callers appending many
     * samples keep one). Readings of a device beyond the 65,536th name are left out.
     */
    void append(const DeviceTables &one, std::uint32_t sample, QHash<QString, std::uint16_t> *index = nullptr);
    /**
     * Removes what a peer would refuse (valid() false, a name that is empty or over
     * protocol::maxDeviceNameBytes of UTF-8, a second reading of a device at one sample) and
     * names no entry uses; returns how many readings went.
     */
    std::size_t dropInvalid();
    /** The readings of sample @p sample alone, renumbered as sample 0 with their own names. */
    DeviceTables forSample(std::uint32_t sample) const;
    bool operator==(const DeviceTables &) const = default;
};

/** Agent → server: a batch of samples under one sequence number. */
struct SampleBatch {
    std::uint64_t sequence = 0;
    std::uint64_t droppedTotal = 0;
    std::vector<Sample> samples;
    std::vector<float> coreBusy; ///< samples[0]'s cores, then samples[1]'s, ...
    DeviceTables devices;        ///< optional: empty from agents before 0.7
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
