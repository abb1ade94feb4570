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

bool ClientFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    if (m_search.isEmpty())
        return true;
    const QAbstractItemModel *model = sourceModel();
    for (int column : {ClientTableModel::HostnameColumn, ClientTableModel::IdColumn,
                       ClientTableModel::OsColumn}) {
        const QString text = model->index(sourceRow, column, sourceParent).data().toString();
        if (text.contains(m_search, Qt::CaseInsensitive))
            return true;
    }
    return false;
}

} // namespace autofact::dashboard
