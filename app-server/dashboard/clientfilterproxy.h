// SPDX-License-Identifier: MIT
#pragma once

#include <QSortFilterProxyModel>

namespace autofact::dashboard {

/**
 * Sorts a ClientTableModel by its SortRole (numbers as numbers) and filters rows by a search
 * text matched, case-insensitively, against hostname, ID and OS.
 */
class ClientFilterProxy : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit ClientFilterProxy(QObject *parent = nullptr);

    /** Rows whose hostname, ID or OS contains @p text are kept; empty keeps all. */
    void setSearchText(const QString &text);
    QString searchText() const { return m_search; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_search;
};

} // namespace autofact::dashboard
