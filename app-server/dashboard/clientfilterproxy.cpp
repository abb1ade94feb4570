// SPDX-License-Identifier: MIT
#include "clientfilterproxy.h"

#include "clienttablemodel.h"

namespace autofact::dashboard {

ClientFilterProxy::ClientFilterProxy(QObject *parent)
    : QSortFilterProxyModel(parent)
{
    setSortRole(ClientTableModel::SortRole);
    setSortCaseSensitivity(Qt::CaseInsensitive);
    // Live updates change CPU and memory values several times a second; re-sorting on each
    // keeps the order honest when sorted by those columns.
    setDynamicSortFilter(true);
}

void ClientFilterProxy::setSearchText(const QString &text)
{
    const QString trimmed = text.trimmed();
    if (trimmed == m_search)
        return;
    m_search = trimmed;
    invalidateFilter();
}

void ClientFilterProxy::setStateFilter(StateFilter filter)
{
    if (filter == m_state)
        return;
    m_state = filter;
    invalidateFilter();
}

void ClientFilterProxy::setGroupFilter(const std::optional<QString> &group)
{
    if (group == m_group)
        return;
    m_group = group;
    invalidateFilter();
}

bool ClientFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QAbstractItemModel *model = sourceModel();
    if (m_group
        && !groupMatches(m_group, model->index(sourceRow, ClientTableModel::GroupColumn, sourceParent).data().toString()))
        return false;
    if (m_state != StateFilter::All) {
        using Status = ClientTableModel::Status;
        const auto status = Status(model->index(sourceRow, 0, sourceParent).data(ClientTableModel::StatusRole).toInt());
        bool keep = false;
        switch (m_state) {
        case StateFilter::All: keep = true; break;
        case StateFilter::Up: keep = status == Status::Online; break;
        case StateFilter::Stale: keep = status == Status::Stale; break;
        case StateFilter::Down: keep = status == Status::Offline; break;
        case StateFilter::NeverSeen: keep = status == Status::NoData; break;
        case StateFilter::Blocked: keep = status == Status::Blocked; break;
        case StateFilter::WithAlerts:
            keep = model->index(sourceRow, ClientTableModel::AlertsColumn, sourceParent).data(ClientTableModel::SortRole).toInt() > 0;
            break;
        }
        if (!keep)
            return false;
    }
    if (m_search.isEmpty())
        return true;
    for (int column : {ClientTableModel::HostnameColumn, ClientTableModel::IdColumn,
                       ClientTableModel::OsColumn, ClientTableModel::StatusColumn, ClientTableModel::GroupColumn}) {
        const QString text = model->index(sourceRow, column, sourceParent).data().toString();
        if (text.contains(m_search, Qt::CaseInsensitive))
            return true;
    }
    // The words people use for the states ("online", "offline") find them too.
    const QString status = model->index(sourceRow, ClientTableModel::StatusColumn, sourceParent).data().toString();
    if (m_search.compare(QStringLiteral("online"), Qt::CaseInsensitive) == 0)
        return status == tr("up") || status == tr("stale");
    if (m_search.compare(QStringLiteral("offline"), Qt::CaseInsensitive) == 0)
        return status == tr("down") || status == tr("forgotten");
    return false;
}

} // namespace autofact::dashboard
