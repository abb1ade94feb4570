// SPDX-License-Identifier: MIT
#pragma once

#include <QSortFilterProxyModel>

namespace autofact::dashboard {

/**
 * Sorts a ClientTableModel by its SortRole (numbers as numbers) and filters rows by a search
 * text matched, case-insensitively, against hostname, ID, OS and the state's words ("down",
 * and "online"/"offline" as people say them), and by a state filter.
 */
class ClientFilterProxy : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit ClientFilterProxy(QObject *parent = nullptr);

    /** Rows whose hostname, ID or OS contains @p text are kept; empty keeps all. */
    void setSearchText(const QString &text);
    QString searchText() const { return m_search; }
    /** Which rows to keep by state. */
    enum class StateFilter { All, Up, Stale, Down, NeverSeen, Blocked, WithAlerts };
    void setStateFilter(StateFilter filter);
    StateFilter stateFilter() const { return m_state; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_search;
    StateFilter m_state = StateFilter::All;
};

} // namespace autofact::dashboard
