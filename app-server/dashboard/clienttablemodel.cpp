// SPDX-License-Identifier: MIT
#include "clienttablemodel.h"

#include "metrics.h"

#include <QColor>
#include <QDateTime>
#include <QLocale>
#include <QSet>

namespace autofact::dashboard {

using metrics::cpuPercent;
using metrics::memoryPercent;
using metrics::swapPercent;

ClientTableModel::ClientTableModel(QObject *parent)
    : QAbstractTableModel(parent)
    , m_nowMs(QDateTime::currentMSecsSinceEpoch())
{
}

int ClientTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ClientTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

ClientTableModel::Status ClientTableModel::status(const Row &row) const
{
    // Blocked wins over online: the hub needs up to a second to end the revoked session.
    if (row.info.blockedMs > 0)
        return Status::Blocked;
    if (row.info.lastSampleMs == 0 && !row.latest)
        return Status::NoData;
    if (row.online)
        return row.stale ? Status::Stale : Status::Online;
    return Status::Offline;
}

QString ClientTableModel::healthSummary() const
{
    int counts[5] = {};
    for (const Row &row : m_rows)
        ++counts[int(status(row))];
    // The words of ClientHealth (server/clienthealth.h), as `autofactory clients` prints them.
    QStringList parts{tr("%1 up").arg(counts[int(Status::Online)])};
    if (counts[int(Status::Stale)] > 0)
        parts << tr("%1 stale").arg(counts[int(Status::Stale)]);
    parts << tr("%1 down").arg(counts[int(Status::Offline)]);
    if (counts[int(Status::NoData)] > 0)
        parts << tr("%1 never seen data").arg(counts[int(Status::NoData)]);
    if (counts[int(Status::Blocked)] > 0)
        parts << tr("%1 blocked").arg(counts[int(Status::Blocked)]);
    return parts.join(QStringLiteral(" · "));
}

QString ClientTableModel::formatAgo(qint64 deltaMs)
{
    const qint64 s = std::max<qint64>(0, deltaMs / 1000);
    if (s < 60)
        return tr("%1 s ago").arg(s);
    if (s < 3600)
        return tr("%1 min ago").arg(s / 60);
    if (s < 86400)
        return tr("%1 h ago").arg(s / 3600);
    return tr("%1 d ago").arg(s / 86400);
}

namespace {
QString percentText(double value)
{
    if (value < 0)
        return QStringLiteral("—");
    return QLocale().toString(value, 'f', 1) + QLatin1StringView(" %");
}

QString dateTimeText(qint64 ms)
{
    return QLocale().toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::ShortFormat);
}
} // namespace

QString ClientTableModel::rateText(double bytesPerSecond)
{
    // SI units, as network tools show rates; below 10 of a unit one decimal, else none.
    static const char *const units[] = {"B/s", "kB/s", "MB/s", "GB/s", "TB/s"};
    double value = std::max(0.0, bytesPerSecond);
    std::size_t unit = 0;
    while (value >= 999.5 && unit + 1 < std::size(units)) {
        value /= 1000.0;
        ++unit;
    }
    const int decimals = unit > 0 && value < 9.95 ? 1 : 0;
    return QLocale().toString(value, 'f', decimals) + u' ' + QLatin1StringView(units[unit]);
}

QVariant ClientTableModel::displayData(const Row &row, int column) const
{
    const Sample *s = row.latest ? &*row.latest : nullptr;
    switch (column) {
    case StatusColumn:
        switch (status(row)) {
        case Status::Online:
            return tr("up");
        case Status::Stale:
            return tr("stale");
        case Status::Offline:
            return row.info.forgotten ? tr("forgotten") : tr("down");
        case Status::NoData:
            return tr("never seen data");
        case Status::Blocked:
            return tr("blocked");
        }
        return {};
    case HostnameColumn:
        return row.info.hostname.isEmpty() ? tr("(unknown)") : row.info.hostname;
    case IdColumn:
        return row.info.id;
    case OsColumn:
        return row.info.osVersion.isEmpty() ? row.info.osName
                                            : row.info.osName + u' ' + row.info.osVersion;
    case CpuColumn:
        return s && row.online ? percentText(cpuPercent(*s)) : QStringLiteral("—");
    case MemoryColumn:
        return s && row.online ? percentText(memoryPercent(*s)) : QStringLiteral("—");
    case SwapColumn:
        return s && row.online ? percentText(swapPercent(*s)) : QStringLiteral("—");
    case LoadColumn:
        if (!s || !row.online)
            return QStringLiteral("—");
        return QStringLiteral("%1 %2 %3")
            .arg(s->load1, 0, 'f', 2)
            .arg(s->load5, 0, 'f', 2)
            .arg(s->load15, 0, 'f', 2);
    case LastSeenColumn:
        if (row.online)
            return m_nowMs - row.lastSeenMs < 10000 ? tr("now") : formatAgo(m_nowMs - row.lastSeenMs);
        if (row.leftMs > 0)
            return tr("left %1").arg(formatAgo(m_nowMs - row.leftMs));
        if (row.lastSeenMs > 0)
            return formatAgo(m_nowMs - row.lastSeenMs);
        return tr("never");
    case BacklogColumn:
        return row.online ? QString::number(row.backlog) : QStringLiteral("—");
    case DroppedColumn:
        return QString::number(row.info.droppedTotal);
    case ConfigColumn:
        if (row.info.appliedRevision == 0)
            return tr("r%1 (pending)").arg(row.info.configRevision);
        if (row.info.appliedRevision >= row.info.configRevision)
            return tr("r%1 applied").arg(row.info.appliedRevision);
        return tr("r%1 → r%2 pending").arg(row.info.appliedRevision).arg(row.info.configRevision);
    case AlertsColumn:
        return row.alerts.isEmpty() ? QString() : QString::number(row.alerts.size());
    case GroupColumn:
        return row.info.groupName;
    case DiskColumn:
        // A fill level outlives the connection (a full disk may be why a host is down), so an
        // offline row keeps its last one, greyed with its time; rates below, like CPU, do not.
        if (!row.devices.filesystemsMs || row.devices.fullestPercent < 0)
            return QStringLiteral("—");
        return percentText(row.devices.fullestPercent);
    case NetworkColumn:
        if (!row.online || !row.devices.networkMs)
            return QStringLiteral("—");
        return QStringLiteral("↓%1 ↑%2").arg(rateText(row.devices.rxBytesPerSec), rateText(row.devices.txBytesPerSec));
    }
    return {};
}

bool ClientTableModel::isNumeric(int column)
{
    return column >= CpuColumn && column != LastSeenColumn && column != ConfigColumn && column != GroupColumn;
}

QStringList ClientTableModel::groups() const
{
    QStringList out;
    for (const Row &r : m_rows)
        if (!r.info.groupName.isEmpty() && !out.contains(r.info.groupName))
            out.append(r.info.groupName);
    out.sort(Qt::CaseInsensitive);
    return out;
}

QVariant ClientTableModel::sortData(const Row &row, int column) const
{
    const Sample *s = row.latest && row.online ? &*row.latest : nullptr;
    switch (column) {
    case StatusColumn:
        return int(status(row));
    case CpuColumn:
        return s ? cpuPercent(*s) : -1.0;
    case MemoryColumn:
        return s ? memoryPercent(*s) : -1.0;
    case SwapColumn:
        return s ? swapPercent(*s) : -1.0;
    case LoadColumn:
        return s ? double(s->load1) : -1.0;
    case LastSeenColumn:
        return row.online ? m_nowMs : std::max(row.leftMs, row.lastSeenMs);
    case BacklogColumn:
        return row.online ? qint64(row.backlog) : qint64(-1);
    case DroppedColumn:
        return qulonglong(row.info.droppedTotal);
    case ConfigColumn:
        return qulonglong(row.info.appliedRevision);
    case AlertsColumn:
        return int(row.alerts.size());
    case DiskColumn:
        return row.devices.filesystemsMs ? row.devices.fullestPercent : -1.0;
    case NetworkColumn:
        return row.online && row.devices.networkMs ? row.devices.rxBytesPerSec + row.devices.txBytesPerSec : -1.0;
    default:
        return displayData(row, column).toString().toLower();
    }
}

QVariant ClientTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows[std::size_t(index.row())];
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        return displayData(row, column);
    case SortRole:
        return sortData(row, column);
    case ClientIdRole:
        return row.info.id;
    case StatusRole:
        return int(status(row));
    case Qt::TextAlignmentRole:
        if (isNumeric(column))
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
    case Qt::ForegroundRole:
        if (column == AlertsColumn && !row.alerts.isEmpty())
            return QColor(0xc0, 0x30, 0x30);
        if (column == DiskColumn && !row.online && row.devices.filesystemsMs)
            return QColor(0x8a, 0x8a, 0x8a); // a last known value, as grey as the "down" dot
        return {};
    case Qt::DecorationRole:
        if (column == HostnameColumn && !row.alerts.isEmpty())
            return QColor(0xc0, 0x30, 0x30); // the badge: a red square before the name
        if (column == StatusColumn) {
            switch (status(row)) {
            case Status::Online:
                return QColor(0x2e, 0xa0, 0x43);
            case Status::Stale:
                return QColor(0xd3, 0x6b, 0x00);
            case Status::Offline:
                // Forgotten rows are history only: paler than a host that is merely down.
                return row.info.forgotten ? QColor(0xd4, 0xd4, 0xd4) : QColor(0x8a, 0x8a, 0x8a);
            case Status::NoData:
                return QColor(0xd0, 0x8c, 0x00);
            case Status::Blocked:
                return QColor(0xc0, 0x30, 0x30);
            }
        }
        return {};
    case Qt::ToolTipRole:
        if (column == LastSeenColumn) {
            if (!row.online && row.leftMs > 0)
                // Tooltips guess at rich text; the reason may quote the agent's close reason.
                return QStringLiteral("<qt>%1</qt>")
                    .arg(tr("Left %1: %2")
                             .arg(dateTimeText(row.leftMs),
                                  row.leftReason.isEmpty() ? tr("disconnected") : row.leftReason)
                             .toHtmlEscaped());
            if (row.lastSeenMs > 0)
                return tr("Last seen %1").arg(dateTimeText(row.lastSeenMs));
        }
        if (column == ConfigColumn && row.info.appliedMs > 0)
            return tr("Revision %1 applied %2%3")
                .arg(row.info.appliedRevision)
                .arg(dateTimeText(row.info.appliedMs),
                     row.info.hasOverride ? tr(" (client override)") : QString());
        if (column == BacklogColumn)
            return tr("Batches waiting in the agent's spool");
        if (column == DiskColumn && row.devices.filesystemsMs) {
            // The mount point is the agent's word: escaped, as tooltips guess at rich text.
            const QString tip = row.online ? tr("Fullest filesystem: %1").arg(row.devices.fullestMount)
                                           : tr("Fullest filesystem: %1, last read %2 (the client is offline)")
                                                     .arg(row.devices.fullestMount, dateTimeText(row.devices.filesystemsMs));
            return QStringLiteral("<qt>%1</qt>").arg(tip.toHtmlEscaped());
        }
        if (column == NetworkColumn && row.online && row.devices.networkMs)
            return tr("Received %1, sent %2 (all reported interfaces)")
                .arg(rateText(row.devices.rxBytesPerSec), rateText(row.devices.txBytesPerSec));
        if ((column == HostnameColumn || column == AlertsColumn) && !row.alerts.isEmpty())
            return QStringLiteral("<qt>%1</qt>").arg(tr("Alerts firing: %1").arg(row.alerts.join(QStringLiteral(", "))).toHtmlEscaped());
        return {};
    default:
        return {};
    }
}

QVariant ClientTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole) {
        switch (section) {
        case StatusColumn: return tr("up, stale (connected, no data), down, never seen data, blocked");
        case CpuColumn: return tr("CPU busy: all but idle and iowait, % of all cores");
        case MemoryColumn: return tr("Memory used, % of total");
        case SwapColumn: return tr("Swap used, % of swap");
        case LoadColumn: return tr("Load averages over 1, 5 and 15 minutes");
        case LastSeenColumn: return tr("When data or a connection last arrived");
        case BacklogColumn: return tr("Batches waiting in the agent's spool, as its last heartbeat said");
        case DroppedColumn: return tr("Samples the agent dropped because its spool was full (in all)");
        case ConfigColumn: return tr("Behaviour revision the agent runs, and whether a newer one is pending");
        case AlertsColumn: return tr("Alerts firing for this client");
        case GroupColumn: return tr("The client's group: it shares the group's behaviour and alert rules");
        case DiskColumn: return tr("The fullest filesystem's use, % (used / (used + available), as df shows it)");
        case NetworkColumn: return tr("Received (↓) and sent (↑) per second, all reported interfaces together");
        default: return {};
        }
    }
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case StatusColumn:
        return tr("Status");
    case AlertsColumn:
        return tr("Alerts");
    case HostnameColumn:
        return tr("Hostname");
    case IdColumn:
        return tr("ID");
    case OsColumn:
        return tr("OS");
    case CpuColumn:
        return tr("CPU");
    case MemoryColumn:
        return tr("Memory");
    case SwapColumn:
        return tr("Swap");
    case LoadColumn:
        return tr("Load (1/5/15)");
    case LastSeenColumn:
        return tr("Last seen");
    case BacklogColumn:
        return tr("Backlog");
    case DroppedColumn:
        return tr("Dropped");
    case ConfigColumn:
        return tr("Config");
    case GroupColumn:
        return tr("Group");
    case DiskColumn:
        return tr("Disk");
    case NetworkColumn:
        return tr("Network");
    }
    return {};
}

int ClientTableModel::ensureRow(const QString &clientId)
{
    if (auto it = m_index.constFind(clientId); it != m_index.constEnd())
        return *it;
    const int row = int(m_rows.size());
    beginInsertRows({}, row, row);
    Row r;
    r.info.id = clientId;
    r.alerts = m_alertsByClient.value(clientId); // alerts may be known before the row
    m_rows.push_back(std::move(r));
    m_index.insert(clientId, row);
    endInsertRows();
    return row;
}

void ClientTableModel::rowChanged(int row)
{
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void ClientTableModel::setInventory(const QList<server::ClientInfo> &clients)
{
    QSet<QString> seen;
    std::vector<Row> added;
    for (const server::ClientInfo &info : clients) {
        seen.insert(info.id);
        const int known = rowOf(info.id);
        if (known < 0) {
            // First sight: the stored connection state is all there is. Afterwards the
            // hub's events are fresher than any snapshot.
            Row r;
            r.info = info;
            r.online = info.online;
            if (!info.online)
                r.leftMs = info.lastSeenMs;
            r.lastSeenMs = std::max(info.lastSeenMs, info.lastSampleMs);
            r.alerts = m_alertsByClient.value(info.id);
            added.push_back(std::move(r));
            continue;
        }
        Row &r = m_rows[std::size_t(known)];
        r.info = info;
        r.lastSeenMs = std::max({r.lastSeenMs, info.lastSeenMs, info.lastSampleMs});
    }
    if (!m_rows.empty())
        Q_EMIT dataChanged(index(0, 0), index(int(m_rows.size()) - 1, ColumnCount - 1));
    // New clients arrive as one insertion: views react once, not once per client.
    if (!added.empty()) {
        const int first = int(m_rows.size());
        beginInsertRows({}, first, first + int(added.size()) - 1);
        for (Row &r : added) {
            m_index.insert(r.info.id, int(m_rows.size()));
            m_rows.push_back(std::move(r));
        }
        endInsertRows();
    }
    for (int row = int(m_rows.size()) - 1; row >= 0; --row) {
        const Row &r = m_rows[std::size_t(row)];
        if (!seen.contains(r.info.id) && !r.online)
            removeClient(r.info.id);
    }
}

void ClientTableModel::removeClient(const QString &clientId)
{
    const int row = rowOf(clientId);
    if (row < 0)
        return;
    beginRemoveRows({}, row, row);
    m_rows.erase(m_rows.begin() + row);
    m_index.clear();
    for (int i = 0; i < int(m_rows.size()); ++i)
        m_index.insert(m_rows[std::size_t(i)].info.id, i);
    endRemoveRows();
}

void ClientTableModel::setStoredDevices(const QHash<QString, metrics::DeviceSummary> &summaries)
{
    for (auto it = summaries.constBegin(); it != summaries.constEnd(); ++it) {
        const int row = rowOf(it.key());
        if (row < 0)
            continue; // forgotten meanwhile: no row to fill
        Row &r = m_rows[std::size_t(row)];
        const metrics::DeviceSummary before = r.devices;
        r.devices.merge(it.value());
        if (r.devices == before)
            continue;
        Q_EMIT dataChanged(index(row, DiskColumn), index(row, NetworkColumn));
        Q_EMIT liveDevices(it.key(), r.devices);
    }
}

void ClientTableModel::applyActivity(const server::HubActivity &activity)
{
    bool stale = false;
    // The hub's verdict at report time decides; the connect/disconnect lists alone lose order.
    for (auto it = activity.onlineNow.constBegin(); it != activity.onlineNow.constEnd(); ++it) {
        if (it.value()) {
            stale = stale || !m_index.contains(it.key());
            if (rowOf(it.key()) < 0 || !m_rows[std::size_t(rowOf(it.key()))].online)
                clientConnected(it.key());
        } else if (const int row = rowOf(it.key()); row >= 0 && m_rows[std::size_t(row)].online) {
            clientDisconnected(it.key(), QString());
        }
    }
    for (auto it = activity.latest.constBegin(); it != activity.latest.constEnd(); ++it) {
        stale = stale || !m_index.contains(it.key());
        const int row = ensureRow(it.key());
        Row &r = m_rows[std::size_t(row)];
        r.latest = it.value();
        r.lastSeenMs = std::max<qint64>(r.lastSeenMs, it.value().timestampMs);
        r.info.lastSampleMs = std::max<qint64>(r.info.lastSampleMs, it.value().timestampMs);
        // A sample says nothing about now: its batch may commit after the agent left.
        rowChanged(row);
        Q_EMIT liveSample(it.key(), it.value());
    }
    for (auto it = activity.devices.constBegin(); it != activity.devices.constEnd(); ++it) {
        stale = stale || !m_index.contains(it.key());
        const int row = ensureRow(it.key());
        Row &r = m_rows[std::size_t(row)];
        r.devices.merge(it.value());
        Q_EMIT dataChanged(index(row, DiskColumn), index(row, NetworkColumn));
        Q_EMIT liveDevices(it.key(), r.devices);
    }
    for (auto it = activity.staleNow.constBegin(); it != activity.staleNow.constEnd(); ++it) {
        const int row = rowOf(it.key());
        if (row < 0)
            continue;
        m_rows[std::size_t(row)].stale = it.value() && m_rows[std::size_t(row)].online;
        rowChanged(row);
    }
    for (auto it = activity.backlog.constBegin(); it != activity.backlog.constEnd(); ++it) {
        const int row = rowOf(it.key());
        if (row < 0)
            continue;
        m_rows[std::size_t(row)].backlog = it.value();
        rowChanged(row);
    }
    if (stale)
        Q_EMIT inventoryStale();
}

void ClientTableModel::clientConnected(const QString &clientId)
{
    const bool known = m_index.contains(clientId);
    const int row = ensureRow(clientId);
    Row &r = m_rows[std::size_t(row)];
    r.online = true;
    r.stale = false;
    r.leftMs = 0;
    r.leftReason.clear();
    r.lastSeenMs = std::max(r.lastSeenMs, m_nowMs);
    rowChanged(row);
    if (!known)
        Q_EMIT inventoryStale();
}

void ClientTableModel::clientDisconnected(const QString &clientId, const QString &reason)
{
    const int row = rowOf(clientId);
    if (row < 0)
        return;
    Row &r = m_rows[std::size_t(row)];
    if (r.online || r.leftMs == 0)
        r.leftMs = m_nowMs;
    r.online = false;
    r.stale = false;
    if (!reason.isEmpty() || r.leftReason.isEmpty())
        r.leftReason = reason;
    r.backlog = 0;
    rowChanged(row);
}

void ClientTableModel::configApplied(const QString &clientId, quint32 revision)
{
    const int row = rowOf(clientId);
    if (row < 0)
        return;
    Row &r = m_rows[std::size_t(row)];
    r.info.appliedRevision = revision;
    r.info.appliedMs = m_nowMs;
    r.info.configRevision = std::max(r.info.configRevision, revision);
    Q_EMIT dataChanged(index(row, ConfigColumn), index(row, ConfigColumn));
}

void ClientTableModel::setNow(qint64 nowMs)
{
    m_nowMs = nowMs;
    if (!m_rows.empty())
        Q_EMIT dataChanged(index(0, LastSeenColumn), index(int(m_rows.size()) - 1, LastSeenColumn));
}

int ClientTableModel::rowOf(const QString &clientId) const
{
    return m_index.value(clientId, -1);
}

const ClientTableModel::Row *ClientTableModel::row(const QString &clientId) const
{
    const int r = rowOf(clientId);
    return r < 0 ? nullptr : &m_rows[std::size_t(r)];
}

QStringList ClientTableModel::clientIds() const
{
    QStringList ids;
    ids.reserve(qsizetype(m_rows.size()));
    for (const Row &r : m_rows)
        ids.append(r.info.id);
    return ids;
}

void ClientTableModel::setAlerts(const QHash<QString, QStringList> &alertsByClient)
{
    m_alertsByClient = alertsByClient;
    for (std::size_t i = 0; i < m_rows.size(); ++i) {
        Row &r = m_rows[i];
        QStringList titles = alertsByClient.value(r.info.id);
        if (titles == r.alerts)
            continue;
        r.alerts = std::move(titles);
        rowChanged(int(i));
    }
}

} // namespace autofact::dashboard
