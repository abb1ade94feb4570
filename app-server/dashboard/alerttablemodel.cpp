// SPDX-License-Identifier: MIT
#include "alerttablemodel.h"

#include "alerts/alertrules.h"

#include <QColor>
#include <QDateTime>
#include <QLocale>

namespace autofact::dashboard {

using server::AlertRecord;

AlertTableModel::AlertTableModel(QObject *parent)
    : QAbstractTableModel(parent)
    , m_nowMs(QDateTime::currentMSecsSinceEpoch())
{
}

void AlertTableModel::setAlerts(const QList<AlertRecord> &alerts)
{
    beginResetModel();
    m_alerts = alerts;
    endResetModel();
}

const AlertRecord *AlertTableModel::alert(qint64 id) const
{
    for (const AlertRecord &a : m_alerts)
        if (a.id == id)
            return &a;
    return nullptr;
}

void AlertTableModel::setNow(qint64 nowMs)
{
    m_nowMs = nowMs;
    if (!m_alerts.isEmpty())
        Q_EMIT dataChanged(index(0, StateColumn), index(rowCount() - 1, DurationColumn));
}

QString AlertTableModel::stateText(const AlertRecord &a, qint64 nowMs)
{
    if (!a.active())
        return tr("resolved");
    if (a.silenced(nowMs))
        return tr("silenced");
    return a.ackedMs > 0 ? tr("acknowledged") : tr("firing");
}

QString AlertTableModel::durationText(qint64 ms)
{
    const qint64 s = std::max<qint64>(ms, 0) / 1000;
    if (s < 60)
        return tr("%1 s").arg(s);
    if (s < 3600)
        return tr("%1 min").arg(s / 60);
    if (s < 86400)
        return tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
    return tr("%1 d %2 h").arg(s / 86400).arg((s % 86400) / 3600);
}

int AlertTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_alerts.size());
}

int AlertTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant AlertTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const AlertRecord &a = m_alerts[index.row()];
    const auto rule = server::alertRuleFromKey(a.rule);
    const qint64 end = a.active() ? m_nowMs : a.resolvedMs;
    const QString time = QLocale().toString(QDateTime::fromMSecsSinceEpoch(a.startedMs), QLocale::ShortFormat);
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case StateColumn: return stateText(a, m_nowMs);
        case HostColumn: return a.hostname.isEmpty() ? a.clientId : a.hostname;
        case RuleColumn: return rule ? QString::fromLatin1(server::alertRuleInfo(*rule).title) : a.rule;
        case ValueColumn: return rule ? server::formatRuleValue(*rule, a.value) : QString::number(a.value);
        case ThresholdColumn:
            if (!rule)
                return QString::number(a.threshold);
            // Host rules have no threshold; what they hold to is a time.
            return server::alertRuleInfo(*rule).hasThreshold ? server::formatRuleValue(*rule, a.threshold)
                                                            : tr("for %1").arg(durationText(qint64(a.threshold * 1000)));
        case StartedColumn: return time;
        case DurationColumn: return durationText(end - a.startedMs);
        case NoteColumn:
            if (a.active() && a.silenced(m_nowMs))
                return tr("silenced until %1: %2")
                        .arg(QLocale().toString(QDateTime::fromMSecsSinceEpoch(a.silencedUntilMs), QLocale::ShortFormat),
                             a.silenceReason);
            return a.resolution;
        }
        return {};
    case SortRole:
        switch (index.column()) {
        case ValueColumn: return a.value;
        case ThresholdColumn: return a.threshold;
        case StartedColumn: return a.startedMs;
        case DurationColumn: return end - a.startedMs;
        default: return data(index, Qt::DisplayRole).toString().toLower();
        }
    case AlertIdRole: return a.id;
    case ClientIdRole: return a.clientId;
    case Qt::ForegroundRole:
        if (index.column() == StateColumn && a.active() && a.ackedMs == 0 && !a.silenced(m_nowMs))
            return QColor(0xc0, 0x30, 0x30);
        return {};
    case Qt::ToolTipRole:
        if (index.column() == HostColumn)
            return tr("Client %1").arg(a.clientId);
        return {};
    default:
        return {};
    }
}

QVariant AlertTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case StateColumn: return tr("State");
    case HostColumn: return tr("Host");
    case RuleColumn: return tr("Rule");
    case ValueColumn: return tr("Value");
    case ThresholdColumn: return tr("Threshold");
    case StartedColumn: return tr("Started");
    case DurationColumn: return tr("Lasted");
    case NoteColumn: return tr("Note");
    }
    return {};
}

} // namespace autofact::dashboard
