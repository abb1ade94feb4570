// SPDX-License-Identifier: MIT
#include "csvexporter.h"

#include "serverlogging.h"
#include "metrics.h"
#include "store/gapdetector.h"
#include "store/store.h"

#include <QIODevice>

#include <charconv>
#include <cmath>
#include <type_traits>

namespace autofact::server {

namespace {

constexpr qsizetype kFlushBytes = 256 * 1024;

constexpr char kHeader[] =
        "client_id,hostname,timestamp,sequence,"
        "cpu_user,cpu_nice,cpu_system,cpu_idle,cpu_iowait,cpu_irq,cpu_softirq,cpu_steal,"
        "cpu_guest,cpu_busy,"
        "mem_total,mem_free,mem_available,mem_buffers,mem_cached,mem_used,swap_total,swap_free,"
        "load1,load5,load15,cores,gap_before,gap_reason,averaged_over_s,"
        "source,samples,cpu_busy_min,cpu_busy_max,mem_used_min,mem_used_max,load1_min,load1_max\r\n";

template<typename T>
void appendNumber(QByteArray &out, T value)
{
    char buf[32];
    if constexpr (std::is_floating_point_v<T>) {
        if (value == T(0))
            value = T(0); // -0.0 (allowed on the wire) is written "0", not "-0"
    }
    // std::to_chars gives the shortest text that reads back to the same float: "12.5", "0.1".
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, r.ptr - buf);
}

void append2(char *p, int v)
{
    p[0] = char('0' + v / 10);
    p[1] = char('0' + v % 10);
}

// ISO 8601 UTC with milliseconds. QDateTime costs about a microsecond per call, which alone
// would halve the export rate; days-to-civil is Howard Hinnant's public-domain algorithm.
void appendTimestamp(QByteArray &out, qint64 ms)
{
    qint64 days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
    qint64 msOfDay = ms - days * 86400000;
    days += 719468;
    const qint64 era = (days >= 0 ? days : days - 146096) / 146097;
    const qint64 doe = days - era * 146097;
    const qint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    qint64 y = yoe + era * 400;
    const qint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const qint64 mp = (5 * doy + 2) / 153;
    const int d = int(doy - (153 * mp + 2) / 5 + 1);
    const int m = int(mp < 10 ? mp + 3 : mp - 9);
    if (m <= 2)
        ++y;
    if (y < 0 || y > 9999) {
        appendNumber(out, ms); // outside ISO 8601's four-digit years: raw ms, never wrong
        return;
    }
    char b[24];
    b[0] = char('0' + y / 1000);
    b[1] = char('0' + y / 100 % 10);
    b[2] = char('0' + y / 10 % 10);
    b[3] = char('0' + y % 10);
    b[4] = '-';
    append2(b + 5, m);
    b[7] = '-';
    append2(b + 8, d);
    b[10] = 'T';
    const int msec = int(msOfDay % 1000);
    const int secs = int(msOfDay / 1000);
    append2(b + 11, secs / 3600);
    b[13] = ':';
    append2(b + 14, secs / 60 % 60);
    b[16] = ':';
    append2(b + 17, secs % 60);
    b[19] = '.';
    b[20] = char('0' + msec / 100);
    b[21] = char('0' + msec / 10 % 10);
    b[22] = char('0' + msec % 10);
    b[23] = 'Z';
    out.append(b, 24);
}

} // namespace

CsvExporter::CsvExporter(Store &store) : m_store(store) {}

void CsvExporter::setProgressCallback(ProgressCallback callback, qint64 progressInterval)
{
    m_progress = std::move(callback);
    m_progressInterval = std::max<qint64>(1, progressInterval);
}

std::optional<CsvExporter::Table> CsvExporter::tableFromName(QStringView name)
{
    if (name == u"samples")
        return Table::Samples;
    if (name == u"filesystems")
        return Table::Filesystems;
    if (name == u"disks")
        return Table::Disks;
    if (name == u"network")
        return Table::Network;
    if (name == u"temperatures")
        return Table::Temperatures;
    return std::nullopt;
}

QByteArray CsvExporter::headerLine(Table table)
{
    switch (table) {
    case Table::Samples: break;
    case Table::Filesystems:
        return QByteArrayLiteral("client_id,hostname,timestamp,mount,size_bytes,used_bytes,available_bytes,"
                                 "use_percent,inodes_used,inodes_total\r\n");
    case Table::Disks:
        return QByteArrayLiteral("client_id,hostname,timestamp,disk,interval_s,read_bytes,write_bytes,reads,writes,"
                                 "read_bytes_per_s,write_bytes_per_s,reads_per_s,writes_per_s,busy_percent\r\n");
    case Table::Network:
        return QByteArrayLiteral("client_id,hostname,timestamp,interface,interval_s,rx_bytes,tx_bytes,rx_packets,"
                                 "tx_packets,rx_errors,tx_errors,rx_drops,tx_drops,rx_bytes_per_s,tx_bytes_per_s,"
                                 "rx_packets_per_s,tx_packets_per_s\r\n");
    case Table::Temperatures:
        return QByteArrayLiteral("client_id,hostname,timestamp,sensor,celsius,critical_celsius\r\n");
    }
    return QByteArray(kHeader);
}

CsvExporter::Result CsvExporter::exportDevices(QIODevice *device, const Options &options, const QStringList &ids)
{
    Result result;
    QByteArray buf;
    buf.reserve(kFlushBytes + 64 * 1024);
    auto flush = [&]() {
        if (buf.isEmpty())
            return true;
        if (device->write(buf) != buf.size()) {
            result.error = QStringLiteral("write failed: %1").arg(device->errorString());
            return false;
        }
        buf.clear();
        return true;
    };
    const auto seconds = [](std::uint32_t ms) { return double(ms) / 1000.0; };
    buf.append(headerLine(options.table));
    constexpr qint64 dayMs = 24 * 3600 * 1000;
    for (const QString &id : ids) {
        auto info = m_store.inventory().client(id);
        if (!info) {
            result.error = info.error().message;
            return result;
        }
        auto span = m_store.devices().span(id);
        if (!span) {
            result.error = span.error().message;
            return result;
        }
        if (!span->has_value())
            continue;
        QByteArray prefix;
        appendField(prefix, info->id);
        prefix.append(',');
        appendField(prefix, info->hostname);
        prefix.append(',');
        // toMs is exclusive; reads are inclusive.
        const qint64 from = std::max(options.fromMs, (*span)->first);
        const qint64 to = std::min(options.toMs == std::numeric_limits<qint64>::max() ? options.toMs : options.toMs - 1,
                                   (*span)->second);
        for (qint64 dayFrom = from; dayFrom <= to; dayFrom = dayFrom > to - dayMs ? to + 1 : dayFrom + dayMs) {
            const qint64 dayTo = std::min(to, dayFrom > to - dayMs ? to : dayFrom + dayMs - 1);
            auto series = m_store.devices().read(id, dayFrom, dayTo);
            if (!series) {
                result.error = series.error().message;
                return result;
            }
            const DeviceTables &d = series->tables;
            const auto row = [&](std::uint32_t sample, std::uint16_t dev) {
                buf.append(prefix);
                appendTimestamp(buf, series->timestamps[sample]);
                buf.append(',');
                appendField(buf, d.names[dev]);
            };
            const auto number = [&buf](auto v) {
                buf.append(',');
                appendNumber(buf, v);
            };
            const auto endRow = [&]() -> bool {
                buf.append("\r\n");
                ++result.rows;
                if (m_cancel && m_cancel->load(std::memory_order_relaxed)) {
                    result.cancelled = true;
                    result.error = QStringLiteral("cancelled");
                    return false;
                }
                if (m_progress && result.rows % m_progressInterval == 0)
                    m_progress(result.rows, -1);
                return buf.size() < kFlushBytes || flush();
            };
            switch (options.table) {
            case Table::Samples: break;
            case Table::Filesystems:
                for (const FilesystemUsage &f : d.filesystems) {
                    row(f.sample, f.device);
                    for (std::uint64_t v : {f.sizeBytes, f.usedBytes, f.availableBytes})
                        number(v);
                    if (const double p = metrics::filesystemPercent(f); p >= 0)
                        number(std::round(p * 100) / 100);
                    else
                        buf.append(',');
                    number(f.inodesUsed);
                    number(f.inodesTotal);
                    if (!endRow())
                        return result;
                }
                break;
            case Table::Disks:
                for (const DiskIo &k : d.disks) {
                    row(k.sample, k.device);
                    number(seconds(k.intervalMs));
                    for (std::uint64_t v : {k.readBytes, k.writeBytes, k.reads, k.writes})
                        number(v);
                    for (std::uint64_t v : {k.readBytes, k.writeBytes, k.reads, k.writes})
                        number(std::round(metrics::perSecond(v, k.intervalMs) * 100) / 100);
                    number(std::round(metrics::diskBusyPercent(k) * 100) / 100);
                    if (!endRow())
                        return result;
                }
                break;
            case Table::Network:
                for (const NetworkIo &n : d.networks) {
                    row(n.sample, n.device);
                    number(seconds(n.intervalMs));
                    for (std::uint64_t v : {n.rxBytes, n.txBytes, n.rxPackets, n.txPackets, n.rxErrors, n.txErrors,
                                            n.rxDrops, n.txDrops})
                        number(v);
                    for (std::uint64_t v : {n.rxBytes, n.txBytes, n.rxPackets, n.txPackets})
                        number(std::round(metrics::perSecond(v, n.intervalMs) * 100) / 100);
                    if (!endRow())
                        return result;
                }
                break;
            case Table::Temperatures:
                for (const Temperature &t : d.temperatures) {
                    row(t.sample, t.device);
                    number(double(t.milliCelsius) / 1000.0);
                    if (t.criticalMilliCelsius != noCriticalTemperature)
                        number(double(t.criticalMilliCelsius) / 1000.0);
                    else
                        buf.append(',');
                    if (!endRow())
                        return result;
                }
                break;
            }
        }
    }
    if (!flush())
        return result;
    if (m_progress)
        m_progress(result.rows, result.rows);
    result.ok = true;
    return result;
}

void CsvExporter::appendField(QByteArray &out, QStringView text)
{
    const QByteArray utf8 = text.toUtf8();
    // A text cell that starts like a formula is run by spreadsheets (OWASP "CSV injection"):
    // hostnames and IDs come from agents, so such a cell gets a leading apostrophe, which
    // spreadsheets show as text, and quotes around it. Numeric columns never come here.
    const bool formula = !utf8.isEmpty()
                         && (utf8.front() == '=' || utf8.front() == '+' || utf8.front() == '-'
                             || utf8.front() == '@' || utf8.front() == '\t' || utf8.front() == '\r');
    bool quote = formula;
    for (char c : utf8) {
        if (c == ',' || c == '"' || c == '\r' || c == '\n') {
            quote = true;
            break;
        }
    }
    if (!quote) {
        out.append(utf8);
        return;
    }
    out.append('"');
    if (formula)
        out.append('\'');
    for (char c : utf8) {
        if (c == '"')
            out.append('"');
        out.append(c);
    }
    out.append('"');
}

CsvExporter::Result CsvExporter::exportTo(QIODevice *device, const Options &options)
{
    Result result;
    if (!device || !device->isWritable()) {
        result.error = QStringLiteral("output is not open for writing");
        return result;
    }
    QStringList ids = options.clientIds;
    if (ids.isEmpty()) {
        auto clients = m_store.inventory().clients();
        if (!clients) {
            result.error = clients.error().message;
            return result;
        }
        for (const ClientInfo &c : *clients)
            ids.append(c.id);
    }
    if (options.table != Table::Samples)
        return exportDevices(device, options, ids);
    // For progress only: the rollup estimate costs 1/60 of an exact count.
    auto estimate = m_store.history().estimateSamples(ids, options.fromMs, options.toMs);
    if (!estimate) {
        result.error = estimate.error().message;
        return result;
    }
    const qint64 total = *estimate;

    QByteArray buf;
    buf.reserve(kFlushBytes + 64 * 1024);
    bool writeFailed = false;
    auto flush = [&]() {
        if (buf.isEmpty())
            return true;
        if (device->write(buf) != buf.size()) {
            writeFailed = true;
            result.error = QStringLiteral("write failed: %1").arg(device->errorString());
            return false;
        }
        buf.clear(); // keeps the capacity: no reallocation for the next chunk
        return true;
    };

    buf.append(kHeader);
    for (const QString &id : ids) {
        auto info = m_store.inventory().client(id);
        if (!info) {
            result.error = info.error().message;
            return result;
        }
        // Per client, computed once: the quoted ID and hostname prefix every row.
        QByteArray prefix;
        appendField(prefix, info->id);
        prefix.append(',');
        appendField(prefix, info->hostname);
        prefix.append(',');
        auto gapsRead = m_store.history().gaps(id, options.fromMs, options.toMs);
        if (!gapsRead) {
            result.error = gapsRead.error().message;
            return result;
        }
        const QList<Gap> &gaps = *gapsRead;
        qsizetype nextGap = 0;
        QByteArray gapReason;

        // Where raw samples expired, the range comes from the rollups, one row a minute (or an
        // hour, where minutes expired too), said so in the source column, before the raw rows.
        auto starts = m_store.history().tierStarts(id);
        if (!starts) {
            result.error = starts.error().message;
            return result;
        }
        const auto [rawStart, minuteStart] = *starts;
        if (rawStart > options.fromMs) {
            const qint64 rollTo = std::min(options.toMs, rawStart);
            const qint64 minutesFrom = minuteStart == std::numeric_limits<qint64>::min()
                                               ? std::numeric_limits<qint64>::max() // no minute rows left
                                               : minuteStart;
            const auto rollupRow = [&](const char *source) {
                return [&, source](const MinuteRollup &r) {
                    if (m_cancel && m_cancel->load(std::memory_order_relaxed)) {
                        result.cancelled = true;
                        return false;
                    }
                    while (nextGap < gaps.size() && gaps[nextGap].endMs <= r.minuteMs)
                        ++nextGap; // a gap inside a rollup's range is the rollup's; the raw rows' start after
                    buf.append(prefix);
                    appendTimestamp(buf, r.minuteMs);
                    buf.append(QByteArray(23, ',')); // no raw values: sequence to cores empty
                    buf.append(",0,,,");
                    buf.append(source);
                    buf.append(',');
                    appendNumber(buf, r.count);
                    for (double v : {r.min(MinuteRollup::Series::CpuBusy), r.max(MinuteRollup::Series::CpuBusy),
                                     r.min(MinuteRollup::Series::MemUsed), r.max(MinuteRollup::Series::MemUsed),
                                     r.min(MinuteRollup::Series::Load1), r.max(MinuteRollup::Series::Load1)}) {
                        buf.append(',');
                        appendNumber(buf, v);
                    }
                    buf.append("\r\n");
                    ++result.rollupRows;
                    if (buf.size() >= kFlushBytes && !flush())
                        return false;
                    return true;
                };
            };
            if (minutesFrom > options.fromMs) {
                auto hours = m_store.history().forEachHour(id, options.fromMs, std::min(rollTo, minutesFrom),
                                                           rollupRow("hours"));
                if (!hours) {
                    result.error = hours.error().message;
                    return result;
                }
            }
            if (!writeFailed && !result.cancelled && minutesFrom < rollTo) {
                auto minutes = m_store.history().forEachMinute(id, std::max(options.fromMs, minutesFrom), rollTo,
                                                               rollupRow("minutes"));
                if (!minutes) {
                    result.error = minutes.error().message;
                    return result;
                }
            }
            if (writeFailed)
                return result;
            if (result.cancelled) {
                result.error = QStringLiteral("cancelled");
                return result;
            }
        }

        // Raw rows start at the horizon when rollups stood in before it: a late row older than
        // it is in those rollups already.
        auto read = m_store.history().forEachSample(
                {id}, rawStart > options.fromMs ? rawStart : options.fromMs, options.toMs,
                [&](const StoredSample &row) {
                    if (m_cancel && m_cancel->load(std::memory_order_relaxed)) {
                        result.cancelled = true;
                        return false;
                    }
                    const Sample &s = row.sample;
                    gapReason.clear();
                    bool gapBefore = false;
                    qint64 averagedMs = 0;
                    while (nextGap < gaps.size() && gaps[nextGap].endMs <= s.timestampMs) {
                        const Gap &gap = gaps[nextGap];
                        if (gapBefore)
                            gapReason.append("; ");
                        gapReason.append(gap.reason.toUtf8());
                        gapBefore = true;
                        if (gap.endMs == s.timestampMs && GapDetector::averagesTheSampleAfter(gap.reason))
                            averagedMs = std::max(averagedMs, gap.endMs - gap.startMs);
                        ++nextGap;
                    }
                    buf.append(prefix);
                    appendTimestamp(buf, s.timestampMs);
                    buf.append(',');
                    appendNumber(buf, row.sequence);
                    for (float v : {s.cpu.user, s.cpu.nice, s.cpu.system, s.cpu.idle,
                                    s.cpu.iowait, s.cpu.irq, s.cpu.softirq, s.cpu.steal,
                                    s.cpu.guest, float(metrics::cpuPercent(s))}) {
                        buf.append(',');
                        appendNumber(buf, v);
                    }
                    for (quint64 v : {s.memory.total, s.memory.free, s.memory.available,
                                      s.memory.buffers, s.memory.cached, s.memory.used,
                                      s.memory.swapTotal, s.memory.swapFree}) {
                        buf.append(',');
                        appendNumber(buf, v);
                    }
                    for (float v : {s.load1, s.load5, s.load15}) {
                        buf.append(',');
                        appendNumber(buf, v);
                    }
                    buf.append(',');
                    for (int i = 0; i < s.coreCount; ++i) {
                        if (i)
                            buf.append(';');
                        appendNumber(buf, row.core(i));
                    }
                    buf.append(gapBefore ? ",1," : ",0,");
                    if (gapBefore)
                        appendField(buf, QString::fromUtf8(gapReason));
                    buf.append(',');
                    if (averagedMs > 0)
                        appendNumber(buf, double(averagedMs) / 1000.0);
                    buf.append(",raw,1,,,,,,\r\n");
                    ++result.rows;
                    if (buf.size() >= kFlushBytes && !flush())
                        return false;
                    if (m_progress && result.rows % m_progressInterval == 0)
                        m_progress(result.rows, total);
                    return true;
                });
        if (!read) {
            result.error = read.error().message;
            return result;
        }
        if (writeFailed)
            return result;
        if (result.cancelled) {
            result.error = QStringLiteral("cancelled");
            qCInfo(lcExport) << "export cancelled after" << result.rows << "rows";
            return result;
        }
    }
    if (!flush())
        return result;
    if (m_progress)
        m_progress(result.rows, total);
    result.ok = true;
    qCDebug(lcExport) << "exported" << result.rows << "rows from" << ids.size() << "clients";
    return result;
}

} // namespace autofact::server
