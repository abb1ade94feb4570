// SPDX-License-Identifier: MIT
#include "codec.h"

#include "untrustedtext.h"

#include "autofact_generated.h"

#include <QStringBuilder>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#include <type_traits>

namespace autofact {

namespace w = autofact::wire;

QString messageTypeName(const Message &message)
{
    static const char *const names[] = {"Hello", "Welcome", "AgentConfig", "ConfigApplied",
                                        "SampleBatch", "Ack", "Heartbeat", "Pong", "Error"};
    static_assert(std::size(names) == std::variant_size_v<Message>);
    return QString::fromLatin1(names[message.index()]);
}

QString errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::None: return QStringLiteral("none");
    case ErrorCode::Malformed: return QStringLiteral("malformed message");
    case ErrorCode::UnsupportedVersion: return QStringLiteral("unsupported protocol version");
    case ErrorCode::BadSecret: return QStringLiteral("bad secret");
    case ErrorCode::UnexpectedMessage: return QStringLiteral("unexpected message");
    case ErrorCode::TooLarge: return QStringLiteral("message too large");
    case ErrorCode::RateLimited: return QStringLiteral("rate limited");
    case ErrorCode::HelloTimeout: return QStringLiteral("no Hello in time");
    case ErrorCode::IdleTimeout: return QStringLiteral("idle timeout");
    case ErrorCode::ServerShutdown: return QStringLiteral("server shutting down");
    case ErrorCode::Internal: return QStringLiteral("internal server error");
    case ErrorCode::ServerBusy: return QStringLiteral("server busy");
    case ErrorCode::EnrolmentRefused: return QStringLiteral("enrolment refused");
    case ErrorCode::Revoked: return QStringLiteral("revoked");
    }
    return QStringLiteral("unknown error %1").arg(static_cast<int>(code));
}

namespace codec {
namespace {

using Builder = flatbuffers::FlatBufferBuilder;

// One builder per thread, reused: encoding allocates only the returned QByteArray.
Builder &scratchBuilder()
{
    thread_local Builder builder(16 * 1024);
    builder.Clear();
    return builder;
}

template<typename Wire, typename Entry, typename Convert>
flatbuffers::Offset<flatbuffers::Vector<const Wire *>> structVector(Builder &b,
                                                                    const std::vector<Entry> &in,
                                                                    Convert convert)
{
    if (in.empty())
        return 0;
    Wire *out = nullptr;
    const auto offset = b.CreateUninitializedVectorOfStructs(in.size(), &out);
    for (std::size_t i = 0; i < in.size(); ++i)
        out[i] = convert(in[i]);
    return offset;
}

flatbuffers::Offset<flatbuffers::String> str(Builder &b, const QString &s)
{
    const QByteArray utf8 = s.toUtf8();
    return b.CreateString(utf8.constData(), static_cast<size_t>(utf8.size()));
}

w::Sample toWire(const Sample &s)
{
    const CpuTimes &c = s.cpu;
    const Memory &m = s.memory;
    return w::Sample(s.timestampMs,
                     w::CpuTimes(c.user, c.nice, c.system, c.idle, c.iowait, c.irq, c.softirq,
                                 c.steal, c.guest),
                     w::Memory(m.total, m.free, m.available, m.buffers, m.cached, m.used,
                               m.swapTotal, m.swapFree),
                     s.load1, s.load5, s.load15, s.coreCount, s.flags);
}

Sample fromWire(const w::Sample &s)
{
    Sample out;
    out.timestampMs = s.timestamp_ms();
    const w::CpuTimes &c = s.cpu();
    out.cpu = {c.user(), c.nice(), c.system(), c.idle(), c.iowait(), c.irq(), c.softirq(),
               c.steal(), c.guest()};
    const w::Memory &m = s.memory();
    out.memory = {m.total(), m.free(), m.available(), m.buffers(), m.cached(), m.used(),
                  m.swap_total(), m.swap_free()};
    out.load1 = s.load1();
    out.load5 = s.load5();
    out.load15 = s.load15();
    out.coreCount = s.core_count();
    out.flags = s.flags();
    return out;
}

flatbuffers::Offset<void> encodePayload(Builder &b, const Hello &m)
{
    return w::CreateHello(b, m.protocolVersion, str(b, m.agentId), str(b, m.secret),
                          str(b, m.hostname), str(b, m.osName), str(b, m.osVersion),
                          str(b, m.kernel), str(b, m.arch), str(b, m.cpuModel), m.cpuCount,
                          m.memTotal, m.bootTimeMs, str(b, m.agentVersion), str(b, m.token))
        .Union();
}

flatbuffers::Offset<void> encodePayload(Builder &b, const Welcome &m)
{
    return w::CreateWelcome(b, m.protocolVersion, str(b, m.agentId), str(b, m.secret),
                            m.returning, m.serverTimeMs, m.lastAckedSequence)
        .Union();
}

flatbuffers::Offset<void> encodePayload(Builder &b, const AgentConfig &m)
{
    return w::CreateAgentConfig(b, m.revision, m.sampleIntervalMs, m.sendIntervalMs,
                                m.heartbeatIntervalMs, m.reconnectBaseMs, m.reconnectMaxMs,
                                m.giveUpMs, m.spoolMaxBytes, m.spoolMaxAgeMs,
                                m.filesystemsIntervalMs, m.disksIntervalMs, m.networkIntervalMs,
                                m.temperaturesIntervalMs)
        .Union();
}

flatbuffers::Offset<void> encodePayload(Builder &b, const ConfigApplied &m)
{
    return w::CreateConfigApplied(b, m.revision).Union();
}

flatbuffers::Offset<void> encodePayload(Builder &b, const SampleBatch &m)
{
    w::Sample *samples = nullptr;
    const auto samplesOffset = b.CreateUninitializedVectorOfStructs(m.samples.size(), &samples);
    for (std::size_t i = 0; i < m.samples.size(); ++i)
        samples[i] = toWire(m.samples[i]);
    const auto cores = b.CreateVector(m.coreBusy.data(), m.coreBusy.size());
    // Device tables only when there are readings: a batch without them is byte-identical to
    // what an agent before 0.7 sent.
    const DeviceTables &d = m.devices;
    if (d.empty() && d.names.empty())
        return w::CreateSampleBatch(b, m.sequence, m.droppedTotal, samplesOffset, cores).Union();
    std::vector<flatbuffers::Offset<flatbuffers::String>> names;
    names.reserve(d.names.size());
    for (const QString &name : d.names)
        names.push_back(str(b, name));
    const auto namesOffset = b.CreateVector(names);
    const auto fs = structVector<w::FilesystemUsage>(b, d.filesystems, [](const FilesystemUsage &e) {
        return w::FilesystemUsage(e.sample, e.device, e.sizeBytes, e.usedBytes, e.availableBytes,
                                  e.inodesUsed, e.inodesTotal);
    });
    const auto disks = structVector<w::DiskIo>(b, d.disks, [](const DiskIo &e) {
        return w::DiskIo(e.sample, e.device, e.intervalMs, e.readBytes, e.writeBytes, e.reads,
                         e.writes, e.busyMs);
    });
    const auto nets = structVector<w::NetworkIo>(b, d.networks, [](const NetworkIo &e) {
        return w::NetworkIo(e.sample, e.device, e.intervalMs, e.rxBytes, e.txBytes, e.rxPackets,
                            e.txPackets, e.rxErrors, e.txErrors, e.rxDrops, e.txDrops);
    });
    const auto temps = structVector<w::Temperature>(b, d.temperatures, [](const Temperature &e) {
        return w::Temperature(e.sample, e.device, e.milliCelsius, e.criticalMilliCelsius);
    });
    return w::CreateSampleBatch(b, m.sequence, m.droppedTotal, samplesOffset, cores, namesOffset,
                                fs, disks, nets, temps)
        .Union();
}

flatbuffers::Offset<void> encodePayload(Builder &b, const Ack &m)
{
    w::SequenceRange *ranges = nullptr;
    const auto rangesOffset = b.CreateUninitializedVectorOfStructs(m.ranges.size(), &ranges);
    for (std::size_t i = 0; i < m.ranges.size(); ++i)
        ranges[i] = w::SequenceRange(m.ranges[i].first, m.ranges[i].last);
    return w::CreateAck(b, m.cumulative, rangesOffset).Union();
}

flatbuffers::Offset<void> encodePayload(Builder &b, const Heartbeat &m)
{
    return w::CreateHeartbeat(b, m.sentMs, m.backlogBatches, m.backlogBytes, m.droppedTotal)
        .Union();
}

flatbuffers::Offset<void> encodePayload(Builder &b, const Pong &m)
{
    return w::CreatePong(b, m.echoMs, m.serverTimeMs).Union();
}

flatbuffers::Offset<void> encodePayload(Builder &b, const ErrorMessage &m)
{
    return w::CreateError(b, static_cast<w::ErrorCode>(m.code), str(b, m.reason)).Union();
}

template<typename T> constexpr w::Payload payloadType()
{
    if constexpr (std::is_same_v<T, Hello>) return w::Payload::Hello;
    else if constexpr (std::is_same_v<T, Welcome>) return w::Payload::Welcome;
    else if constexpr (std::is_same_v<T, AgentConfig>) return w::Payload::AgentConfig;
    else if constexpr (std::is_same_v<T, ConfigApplied>) return w::Payload::ConfigApplied;
    else if constexpr (std::is_same_v<T, SampleBatch>) return w::Payload::SampleBatch;
    else if constexpr (std::is_same_v<T, Ack>) return w::Payload::Ack;
    else if constexpr (std::is_same_v<T, Heartbeat>) return w::Payload::Heartbeat;
    else if constexpr (std::is_same_v<T, Pong>) return w::Payload::Pong;
    else return w::Payload::Error;
}

// --- decoding -------------------------------------------------------------------------------

struct Refusal {
    QString reason;
};

// Strings are bounded by the value checks; an absent string decodes as empty.
bool readString(const flatbuffers::String *s, QString &out, const char *field, QString &reason)
{
    if (!s) {
        out.clear();
        return true;
    }
    if (s->size() > static_cast<flatbuffers::uoffset_t>(protocol::maxStringBytes)) {
        reason = QStringLiteral("field %1 is %2 bytes, over the %3-byte limit")
                     .arg(QLatin1StringView(field))
                     .arg(s->size())
                     .arg(protocol::maxStringBytes);
        return false;
    }
    // Every string in the protocol comes from the other side: nothing that could forge a log
    // line, drive a terminal or reorder displayed text survives decoding.
    out = cleanUntrustedText(QString::fromUtf8(s->c_str(), static_cast<qsizetype>(s->size())));
    // Invalid UTF-8 decodes as U+FFFD (3 bytes a byte): cut the text back under the limit, so
    // what was accepted can be encoded and accepted again (regression, fuzz_codec).
    if (out.size() > protocol::maxStringBytes / 3) {
        qsizetype bytes = 0;
        for (qsizetype i = 0; i < out.size(); ++i) {
            const char16_t c = out[i].unicode();
            const bool pair = QChar::isHighSurrogate(c) && i + 1 < out.size() && out[i + 1].isLowSurrogate();
            const qsizetype n = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
            if (bytes + n > protocol::maxStringBytes) {
                out.truncate(i);
                break;
            }
            bytes += n;
            if (pair)
                ++i;
        }
    }
    return true;
}

/**
 * True when the elements of a vector of structs sit at their own alignment. FlatBuffers
 * 2.0.8's verifier checks only the vector's 4-byte length field, so a crafted buffer can put
 * 8-byte structs (Sample, SequenceRange) at 4 mod 8, and reading them in place is undefined
 * behaviour (found by fuzz_codec, docs/SECURITY.md). Every builder aligns them, so such a
 * vector is malformed. Offsets and addresses agree: decode() hands over an 8-aligned buffer.
 */
template<typename T>
bool structsAligned(const flatbuffers::Vector<const T *> *v, const char *field, QString &reason)
{
    if (reinterpret_cast<std::uintptr_t>(v->Data()) % alignof(T) == 0)
        return true;
    reason = QStringLiteral("%1 is not %2-byte aligned").arg(QLatin1StringView(field)).arg(alignof(T));
    return false;
}

/**
 * FlatBuffers' verifier (2.0.8) checks that a table's declared size and each field lie inside
 * the buffer, not that a field lies inside its own table, nor that the size is one a table
 * could need: a vtable may claim a 0xFFFF-byte table whose "fields" are other objects' bytes.
 * No field of ours is wider than 8 bytes (structs are only in vectors), so a table is at most
 * 4 + 8 bytes per vtable entry, and every present field must start inside it. Schema-agnostic,
 * so fields added by a newer peer still pass.
 */
bool tableShapeOk(const void *table, const char *name, QString &reason)
{
    // Only for tables the verifier has checked: it guarantees the whole vtable (vsize bytes)
    // lies in the buffer, nothing more — so nothing past vsize is read here.
    const auto *t = static_cast<const std::uint8_t *>(table);
    const std::uint8_t *vtable = t - flatbuffers::ReadScalar<flatbuffers::soffset_t>(t);
    const auto vsize = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vtable);
    if (vsize < 2 * sizeof(flatbuffers::voffset_t)) {
        reason = QStringLiteral("%1 vtable of %2 bytes has no table size").arg(QLatin1StringView(name)).arg(vsize);
        return false;
    }
    const auto tsize = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vtable + sizeof(flatbuffers::voffset_t));
    const int entries = (int(vsize) - 2 * int(sizeof(flatbuffers::voffset_t))) / int(sizeof(flatbuffers::voffset_t));
    if (tsize < sizeof(flatbuffers::soffset_t) || tsize > 4 + 8 * entries) {
        reason = QStringLiteral("%1 table claims %2 bytes for %3 fields")
                     .arg(QLatin1StringView(name))
                     .arg(tsize)
                     .arg(std::max(entries, 0));
        return false;
    }
    for (int i = 0; i < entries; ++i) {
        const auto off = flatbuffers::ReadScalar<flatbuffers::voffset_t>(
            vtable + (2 + i) * sizeof(flatbuffers::voffset_t));
        if (off != 0 && (off < sizeof(flatbuffers::soffset_t) || off >= tsize)) {
            reason = QStringLiteral("%1 field %2 lies outside its table").arg(QLatin1StringView(name)).arg(i);
            return false;
        }
    }
    return true;
}

std::optional<Message> decodeHello(const w::Hello *h, QString &reason)
{
    Hello m;
    m.protocolVersion = h->protocol_version();
    if (!readString(h->agent_id(), m.agentId, "agent_id", reason)
        || !readString(h->secret(), m.secret, "secret", reason)
        || !readString(h->hostname(), m.hostname, "hostname", reason)
        || !readString(h->os_name(), m.osName, "os_name", reason)
        || !readString(h->os_version(), m.osVersion, "os_version", reason)
        || !readString(h->kernel(), m.kernel, "kernel", reason)
        || !readString(h->arch(), m.arch, "arch", reason)
        || !readString(h->cpu_model(), m.cpuModel, "cpu_model", reason)
        || !readString(h->agent_version(), m.agentVersion, "agent_version", reason)
        || !readString(h->token(), m.token, "token", reason))
        return std::nullopt;
    m.cpuCount = h->cpu_count();
    m.memTotal = h->mem_total();
    m.bootTimeMs = h->boot_time_ms();
    return m;
}

std::optional<Message> decodeWelcome(const w::Welcome *h, QString &reason)
{
    Welcome m;
    m.protocolVersion = h->protocol_version();
    if (!readString(h->agent_id(), m.agentId, "agent_id", reason)
        || !readString(h->secret(), m.secret, "secret", reason))
        return std::nullopt;
    m.returning = h->returning();
    m.serverTimeMs = h->server_time_ms();
    m.lastAckedSequence = h->last_acked_sequence();
    return m;
}

template<typename Wire, typename Entry, typename Convert>
bool readEntries(const flatbuffers::Vector<const Wire *> *v, std::vector<Entry> &out,
                 const char *field, QString &reason, Convert convert)
{
    if (!v)
        return true;
    if (v->size() > protocol::maxDeviceEntries) {
        reason = QStringLiteral("batch has %1 %2 entries, over the limit of %3")
                     .arg(v->size())
                     .arg(QLatin1StringView(field))
                     .arg(protocol::maxDeviceEntries);
        return false;
    }
    if (!structsAligned(v, field, reason))
        return false;
    out.reserve(v->size());
    for (const Wire *e : *v)
        out.push_back(convert(*e));
    return true;
}

bool decodeDevices(const w::SampleBatch *b, DeviceTables &d, QString &reason)
{
    if (const auto *names = b->device_names()) {
        if (names->size() > protocol::maxDeviceNames) {
            reason = QStringLiteral("batch has %1 device names, over the limit of %2")
                         .arg(names->size())
                         .arg(protocol::maxDeviceNames);
            return false;
        }
        d.names.reserve(names->size());
        for (const flatbuffers::String *name : *names) {
            if (name && name->size() > flatbuffers::uoffset_t(protocol::maxDeviceNameBytes)) {
                reason = QStringLiteral("a device name is %1 bytes, over the %2-byte limit")
                             .arg(name->size())
                             .arg(protocol::maxDeviceNameBytes);
                return false;
            }
            QString text;
            if (!readString(name, text, "device_names", reason))
                return false;
            d.names.push_back(text);
        }
    }
    return readEntries(b->filesystems(), d.filesystems, "filesystems", reason,
                       [](const w::FilesystemUsage &e) {
                           return FilesystemUsage{e.sample(), e.device(), e.size_bytes(),
                                                  e.used_bytes(), e.available_bytes(),
                                                  e.inodes_used(), e.inodes_total()};
                       })
           && readEntries(b->disks(), d.disks, "disks", reason, [](const w::DiskIo &e) {
                  return DiskIo{e.sample(), e.device(), e.interval_ms(), e.read_bytes(),
                                e.write_bytes(), e.reads(), e.writes(), e.busy_ms()};
              })
           && readEntries(b->networks(), d.networks, "networks", reason, [](const w::NetworkIo &e) {
                  return NetworkIo{e.sample(),    e.device(),     e.interval_ms(),
                                   e.rx_bytes(),  e.tx_bytes(),   e.rx_packets(),
                                   e.tx_packets(), e.rx_errors(), e.tx_errors(),
                                   e.rx_drops(),  e.tx_drops()};
              })
           && readEntries(b->temperatures(), d.temperatures, "temperatures", reason,
                          [](const w::Temperature &e) {
                              return Temperature{e.sample(), e.device(), e.millicelsius(),
                                                 e.critical_millicelsius()};
                          });
}

std::optional<Message> decodeBatch(const w::SampleBatch *b, QString &reason)
{
    SampleBatch m;
    m.sequence = b->sequence();
    m.droppedTotal = b->dropped_total();
    // Size checks before any allocation: a verified buffer under the cap can still declare
    // more elements than we accept.
    if (const auto *samples = b->samples()) {
        if (samples->size() > protocol::maxSamplesPerBatch) {
            reason = QStringLiteral("batch has %1 samples, over the limit of %2")
                         .arg(samples->size())
                         .arg(protocol::maxSamplesPerBatch);
            return std::nullopt;
        }
        if (!structsAligned(samples, "samples", reason))
            return std::nullopt;
        m.samples.reserve(samples->size());
        for (const w::Sample *s : *samples)
            m.samples.push_back(fromWire(*s));
    }
    if (const auto *cores = b->core_busy()) {
        if (cores->size() > protocol::maxSamplesPerBatch * protocol::maxCoresPerSample) {
            reason = QStringLiteral("batch has %1 per-core values, over the limit")
                         .arg(cores->size());
            return std::nullopt;
        }
#if FLATBUFFERS_LITTLEENDIAN
        // Wire order is host order here: one bulk copy instead of an element-wise read.
        m.coreBusy.assign(cores->data(), cores->data() + cores->size());
#else
        m.coreBusy.assign(cores->begin(), cores->end());
#endif
    }
    if (!decodeDevices(b, m.devices, reason))
        return std::nullopt;
    return m;
}

std::optional<Message> decodeAck(const w::Ack *a, QString &reason)
{
    Ack m;
    m.cumulative = a->cumulative();
    if (const auto *ranges = a->ranges()) {
        if (ranges->size() > protocol::maxAckRanges) {
            reason = QStringLiteral("ack has %1 ranges, over the limit of %2")
                         .arg(ranges->size())
                         .arg(protocol::maxAckRanges);
            return std::nullopt;
        }
        if (!structsAligned(ranges, "ranges", reason))
            return std::nullopt;
        m.ranges.reserve(ranges->size());
        for (const w::SequenceRange *r : *ranges)
            m.ranges.push_back({r->first(), r->last()});
    }
    return m;
}

std::optional<Message> decodeEnvelope(const w::Envelope *env, QString &reason)
{
    // The verifier accepts a union type without its table (the field is optional): every
    // payload_as_X() below would then be null.
    if (env->payload() == nullptr) {
        reason = QStringLiteral("envelope names payload type %1 but carries no payload")
                     .arg(static_cast<int>(env->payload_type()));
        return std::nullopt;
    }
    // The verifier checks the payload table only for a payload type it knows: the shape of an
    // unknown one is never read (regression, fuzz_codec: an out-of-bounds read here).
    const auto type = static_cast<int>(env->payload_type());
    const bool known = type > static_cast<int>(w::Payload::NONE) && type <= static_cast<int>(w::Payload::MAX);
    if (!tableShapeOk(env, "envelope", reason) || (known && !tableShapeOk(env->payload(), "payload", reason)))
        return std::nullopt;
    switch (env->payload_type()) {
    case w::Payload::Hello: return decodeHello(env->payload_as_Hello(), reason);
    case w::Payload::Welcome: return decodeWelcome(env->payload_as_Welcome(), reason);
    case w::Payload::AgentConfig: {
        const auto *c = env->payload_as_AgentConfig();
        return AgentConfig{c->revision(),          c->sample_interval_ms(),
                           c->send_interval_ms(),  c->heartbeat_interval_ms(),
                           c->reconnect_base_ms(), c->reconnect_max_ms(),
                           c->give_up_ms(),        c->spool_max_bytes(),
                           c->spool_max_age_ms(),  c->filesystems_interval_ms(),
                           c->disks_interval_ms(), c->network_interval_ms(),
                           c->temperatures_interval_ms()};
    }
    case w::Payload::ConfigApplied:
        return ConfigApplied{env->payload_as_ConfigApplied()->revision()};
    case w::Payload::SampleBatch: return decodeBatch(env->payload_as_SampleBatch(), reason);
    case w::Payload::Ack: return decodeAck(env->payload_as_Ack(), reason);
    case w::Payload::Heartbeat: {
        const auto *h = env->payload_as_Heartbeat();
        return Heartbeat{h->sent_ms(), h->backlog_batches(), h->backlog_bytes(),
                         h->dropped_total()};
    }
    case w::Payload::Pong: {
        const auto *p = env->payload_as_Pong();
        return Pong{p->echo_ms(), p->server_time_ms()};
    }
    case w::Payload::Error: {
        const auto *e = env->payload_as_Error();
        ErrorMessage m;
        m.code = static_cast<ErrorCode>(e->code());
        if (!readString(e->reason(), m.reason, "reason", reason))
            return std::nullopt;
        return m;
    }
    case w::Payload::NONE: break;
    }
    reason = QStringLiteral("envelope has no payload or an unknown payload type %1")
                 .arg(static_cast<int>(env->payload_type()));
    return std::nullopt;
}

bool finitePercent(float v)
{
    return std::isfinite(v) && v >= 0.0f && v <= 100.0f;
}

QString checkCpu(const CpuTimes &c)
{
    const float fields[] = {c.user, c.nice,    c.system, c.idle, c.iowait,
                            c.irq,  c.softirq, c.steal,  c.guest};
    static const char *const names[] = {"user", "nice",    "system", "idle", "iowait",
                                        "irq",  "softirq", "steal",  "guest"};
    for (std::size_t i = 0; i < std::size(fields); ++i) {
        if (!finitePercent(fields[i]))
            return QStringLiteral("cpu.%1 is %2, outside 0..100")
                .arg(QLatin1StringView(names[i]))
                .arg(double(fields[i]));
    }
    return {};
}

QString checkSample(const Sample &s, std::size_t index)
{
    const auto where = [index](const QString &what) -> QString {
        return QStringLiteral("sample %1: ").arg(index) + what;
    };
    if (s.timestampMs <= 0)
        return where(QStringLiteral("timestamp %1 is not a positive UTC ms").arg(s.timestampMs));
    if (s.timestampMs > protocol::maxTimestampMs)
        return where(QStringLiteral("timestamp %1 is after the year 9999").arg(s.timestampMs));
    if (QString cpu = checkCpu(s.cpu); !cpu.isEmpty())
        return where(cpu);
    for (float load : {s.load1, s.load5, s.load15}) {
        if (!std::isfinite(load) || load < 0.0f)
            return where(QStringLiteral("load average %1 is not a finite, non-negative number")
                             .arg(double(load)));
    }
    const Memory &m = s.memory;
    if (m.total > protocol::maxCounter || m.swapTotal > protocol::maxCounter)
        return where(QStringLiteral("memory or swap total above the protocol's maximum of 2^53 bytes"));
    if (m.free > m.total || m.available > m.total || m.used > m.total || m.buffers > m.total
        || m.cached > m.total)
        return where(QStringLiteral("memory figures exceed the total of %1 bytes").arg(m.total));
    if (m.swapFree > m.swapTotal)
        return where(QStringLiteral("swap free %1 exceeds swap total %2")
                         .arg(m.swapFree)
                         .arg(m.swapTotal));
    if (s.coreCount > protocol::maxCoresPerSample)
        return where(QStringLiteral("core count %1 over the limit").arg(s.coreCount));
    return {};
}

QString checkBatch(const SampleBatch &b)
{
    if (b.sequence == 0)
        return QStringLiteral("batch sequence 0 is reserved");
    if (b.sequence > protocol::maxCounter)
        return QStringLiteral("batch sequence %1 above the protocol's maximum of 2^53").arg(b.sequence);
    if (b.droppedTotal > protocol::maxCounter)
        return QStringLiteral("dropped total %1 above the protocol's maximum of 2^53").arg(b.droppedTotal);
    if (b.samples.size() > protocol::maxSamplesPerBatch)
        return QStringLiteral("batch has %1 samples, over the limit of %2")
            .arg(b.samples.size())
            .arg(protocol::maxSamplesPerBatch);
    std::size_t cores = 0;
    for (std::size_t i = 0; i < b.samples.size(); ++i) {
        if (QString bad = checkSample(b.samples[i], i); !bad.isEmpty())
            return bad;
        cores += b.samples[i].coreCount;
    }
    if (cores != b.coreBusy.size())
        return QStringLiteral("samples declare %1 per-core values but the batch carries %2")
            .arg(cores)
            .arg(b.coreBusy.size());
    // The per-core vector is most of a batch on many-core machines, so the first pass looks at
    // bit patterns: a non-negative float's bits grow with its value, so every value in
    // [0, 100] has bits <= those of 100.0f (0x42C80000); negatives (sign bit), infinities and
    // NaNs are all above, except -0.0 (0x80000000), which is allowed. Fixed blocks of 8 let
    // the compiler vectorise at -O2.
    constexpr std::uint32_t hundredBits = 0x42C80000u;
    static_assert(std::bit_cast<std::uint32_t>(100.0f) == hundredBits);
    const float *values = b.coreBusy.data();
    const std::size_t n = b.coreBusy.size();
    std::uint32_t outside = 0;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (std::size_t k = 0; k < 8; ++k) {
            const std::uint32_t bits = std::bit_cast<std::uint32_t>(values[i + k]);
            outside |= std::uint32_t(bits > hundredBits) & std::uint32_t(bits != 0x80000000u);
        }
    }
    for (; i < n; ++i) {
        const std::uint32_t bits = std::bit_cast<std::uint32_t>(values[i]);
        outside |= std::uint32_t(bits > hundredBits) & std::uint32_t(bits != 0x80000000u);
    }
    if (!outside)
        return {};
    for (std::size_t i = 0; i < b.coreBusy.size(); ++i) {
        if (!finitePercent(b.coreBusy[i]))
            return QStringLiteral("per-core value %1 is %2, outside 0..100")
                .arg(i)
                .arg(double(b.coreBusy[i]));
    }
    return {};
}

QString checkDevices(const SampleBatch &b)
{
    const DeviceTables &d = b.devices;
    if (d.names.size() > protocol::maxDeviceNames)
        return QStringLiteral("batch has %1 device names, over the limit").arg(d.names.size());
    for (const QString &name : d.names) {
        if (name.isEmpty())
            return QStringLiteral("a device name is empty");
        if (name.toUtf8().size() > protocol::maxDeviceNameBytes)
            return QStringLiteral("a device name is over %1 bytes").arg(protocol::maxDeviceNameBytes);
    }
    // Every entry names a sample of this batch and a device of its names, in sample order,
    // each device once per sample, with values that can be true (the entry types' valid()).
    std::vector<std::uint32_t> seenAt(d.names.size(), UINT32_MAX);
    const auto check = [&](const char *kind, const auto &entries, const char *invalid) -> QString {
        const auto where = [kind](std::size_t i, const QString &what) {
            return QStringLiteral("%1 entry %2: %3").arg(QLatin1StringView(kind)).arg(i).arg(what);
        };
        std::fill(seenAt.begin(), seenAt.end(), UINT32_MAX);
        std::uint32_t previous = 0;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const auto &e = entries[i];
            if (e.sample >= b.samples.size())
                return where(i, QStringLiteral("sample %1 not in the batch").arg(e.sample));
            if (e.device >= d.names.size())
                return where(i, QStringLiteral("device %1 has no name").arg(e.device));
            if (e.sample < previous)
                return where(i, QStringLiteral("out of sample order"));
            previous = e.sample;
            if (seenAt[e.device] == e.sample)
                return where(i, QStringLiteral("a second reading of %1 at sample %2").arg(e.device).arg(e.sample));
            seenAt[e.device] = e.sample;
            if (!e.valid())
                return where(i, QLatin1StringView(invalid));
        }
        return {};
    };
    for (const QString &bad :
         {check("filesystems", d.filesystems, "used, available or inodes exceed the total, or a size above 2^53"),
          check("disks", d.disks, "interval outside 1 ms..24 h, busy longer than the interval, or a counter above 2^53"),
          check("networks", d.networks, "interval outside 1 ms..24 h, or a counter above 2^53"),
          check("temperatures", d.temperatures, "outside -273.15..1000 °C")})
        if (!bad.isEmpty())
            return bad;
    return {};
}

QString checkConfig(const AgentConfig &c)
{
    constexpr std::uint32_t hour = 3600 * 1000;
    if (c.sampleIntervalMs < 100 || c.sampleIntervalMs > hour)
        return QStringLiteral("sample interval %1 ms outside 100 ms..1 h").arg(c.sampleIntervalMs);
    if (c.sendIntervalMs < 100 || c.sendIntervalMs > hour)
        return QStringLiteral("send interval %1 ms outside 100 ms..1 h").arg(c.sendIntervalMs);
    if (c.heartbeatIntervalMs < 100 || c.heartbeatIntervalMs > hour)
        return QStringLiteral("heartbeat interval %1 ms outside 100 ms..1 h")
            .arg(c.heartbeatIntervalMs);
    // Upper bounds keep every duration within a QTimer's int milliseconds and every
    // timestamp arithmetic far from overflow.
    constexpr std::uint64_t year = 365ull * 24 * hour;
    if (c.reconnectBaseMs < 10 || c.reconnectMaxMs < c.reconnectBaseMs || c.reconnectMaxMs > 24 * hour)
        return QStringLiteral("reconnect base %1 ms / max %2 ms are inconsistent (max ≤ 24 h)")
            .arg(c.reconnectBaseMs)
            .arg(c.reconnectMaxMs);
    if (c.giveUpMs == 0 || c.giveUpMs > year)
        return QStringLiteral("give-up period %1 ms outside 1 ms..365 d").arg(c.giveUpMs);
    if (c.spoolMaxBytes < 64 * 1024 || c.spoolMaxBytes > (1ull << 40))
        return QStringLiteral("spool limit of %1 bytes outside 64 KiB..1 TiB").arg(c.spoolMaxBytes);
    if (c.spoolMaxAgeMs < 1000 || c.spoolMaxAgeMs > year)
        return QStringLiteral("spool age limit of %1 ms outside 1 s..365 d").arg(c.spoolMaxAgeMs);
    const std::pair<const char *, std::uint32_t> collectors[] = {
        {"filesystems", c.filesystemsIntervalMs},
        {"disks", c.disksIntervalMs},
        {"network", c.networkIntervalMs},
        {"temperatures", c.temperaturesIntervalMs},
    };
    for (const auto &[name, ms] : collectors) {
        if (ms != 0 && (ms < 1000 || ms > protocol::maxCollectorIntervalMs))
            return QStringLiteral("%1 interval %2 ms outside 1 s..1 h (0: off)")
                .arg(QLatin1StringView(name))
                .arg(ms);
    }
    return {};
}

QString checkAck(const Ack &a)
{
    if (a.ranges.size() > protocol::maxAckRanges)
        return QStringLiteral("ack has %1 ranges, over the limit").arg(a.ranges.size());
    for (const SequenceRange &r : a.ranges) {
        if (r.first == 0 || r.first > r.last)
            return QStringLiteral("ack range %1..%2 is empty or starts at 0")
                .arg(r.first)
                .arg(r.last);
        if (r.last > protocol::maxCounter)
            return QStringLiteral("ack range ends above the protocol's maximum of 2^53");
    }
    return {};
}

QString checkIdentity(const QString &id, const QString &secret)
{
    if (id.size() > 128 || secret.size() > 256)
        return QStringLiteral("agent ID or secret longer than allowed");
    return {};
}

QString checkHello(const Hello &h)
{
    if (QString bad = checkIdentity(h.agentId, h.secret); !bad.isEmpty())
        return bad;
    if (h.memTotal > protocol::maxCounter)
        return QStringLiteral("memory total %1 above the protocol's maximum of 2^53 bytes").arg(h.memTotal);
    return {};
}

QString checkHeartbeat(const Heartbeat &h)
{
    if (h.backlogBytes > protocol::maxCounter || h.droppedTotal > protocol::maxCounter)
        return QStringLiteral("heartbeat figures above the protocol's maximum of 2^53");
    return {};
}

} // namespace

QByteArray encode(const Message &message)
{
    Builder &b = scratchBuilder();
    const auto payload = std::visit([&b](const auto &m) { return encodePayload(b, m); }, message);
    const auto type = std::visit(
        [](const auto &m) { return payloadType<std::decay_t<decltype(m)>>(); }, message);
    const auto env = w::CreateEnvelope(b, type, payload);
    w::FinishEnvelopeBuffer(b, env);
    return QByteArray(reinterpret_cast<const char *>(b.GetBufferPointer()),
                      static_cast<qsizetype>(b.GetSize()));
}

QString validate(const Message &message)
{
    return std::visit(
        [](const auto &m) -> QString {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, SampleBatch>) {
                QString bad = checkBatch(m);
                return bad.isEmpty() ? checkDevices(m) : bad;
            }
            else if constexpr (std::is_same_v<T, AgentConfig>) return checkConfig(m);
            else if constexpr (std::is_same_v<T, Ack>) return checkAck(m);
            else if constexpr (std::is_same_v<T, Hello>) return checkHello(m);
            else if constexpr (std::is_same_v<T, Heartbeat>) return checkHeartbeat(m);
            else if constexpr (std::is_same_v<T, Welcome>) {
                if (m.lastAckedSequence > protocol::maxCounter)
                    return QStringLiteral("last acked sequence above the protocol's maximum of 2^53");
                return checkIdentity(m.agentId, m.secret);
            }
            else if constexpr (std::is_same_v<T, ErrorMessage>) {
                if (m.code > ErrorCode::Revoked)
                    return QStringLiteral("unknown error code %1").arg(static_cast<int>(m.code));
                return QString();
            } else
                return QString();
        },
        message);
}

DecodeResult decode(QByteArrayView bytes, qsizetype maxBytes)
{
    DecodeResult result;
    const auto refuse = [&result](ErrorCode code, QString reason) {
        result.error = code;
        result.reason = std::move(reason);
        return result;
    };
    // FlatBuffers 2.0.8's verifier has no size limit of its own.
    if (bytes.size() > maxBytes)
        return refuse(ErrorCode::TooLarge,
                      QStringLiteral("message of %1 bytes is over the %2-byte limit")
                          .arg(bytes.size())
                          .arg(maxBytes));
    if (bytes.size() < 8)
        return refuse(ErrorCode::Malformed,
                      QStringLiteral("message of %1 bytes is too short").arg(bytes.size()));
    const auto *data = reinterpret_cast<const std::uint8_t *>(bytes.data());
    // QWebSocket hands over payloads that can start at any address, but FlatBuffers reads
    // 8-byte fields in place: realign into a reused scratch buffer when needed.
    thread_local std::vector<std::uint64_t> aligned;
    if (reinterpret_cast<std::uintptr_t>(data) % alignof(std::uint64_t) != 0) {
        aligned.resize(std::size_t(bytes.size()) / sizeof(std::uint64_t) + 1);
        std::memcpy(aligned.data(), bytes.data(), std::size_t(bytes.size()));
        data = reinterpret_cast<const std::uint8_t *>(aligned.data());
    }
    if (!flatbuffers::BufferHasIdentifier(data, w::EnvelopeIdentifier()))
        return refuse(ErrorCode::Malformed,
                      QStringLiteral("wrong file identifier (expected %1)")
                          .arg(QLatin1StringView(w::EnvelopeIdentifier())));
    // Our messages nest at most three deep and hold a handful of tables.
    flatbuffers::Verifier verifier(data, static_cast<size_t>(bytes.size()), /*max_depth=*/8,
                                   /*max_tables=*/64);
    if (!w::VerifyEnvelopeBuffer(verifier))
        return refuse(ErrorCode::Malformed, QStringLiteral("FlatBuffers verification failed"));
    QString reason;
    std::optional<Message> message = decodeEnvelope(w::GetEnvelope(data), reason);
    if (!message)
        return refuse(ErrorCode::Malformed, reason);
    if (QString bad = validate(*message); !bad.isEmpty())
        return refuse(ErrorCode::Malformed, messageTypeName(*message) + QStringLiteral(": ") + bad);
    result.message = std::move(message);
    return result;
}

} // namespace codec
} // namespace autofact
