// SPDX-License-Identifier: MIT
#pragma once

#include <QSortFilterProxyModel>

#include <optional>

namespace autofact::dashboard {

/**
 * Sorts a ClientTableModel by its SortRole (numbers as numbers) and filters rows by a search
 * text matched, case-insensitively, against hostname, ID, OS, group and the state's words
 * ("down", and "online"/"offline" as people say them), by a state filter and by a group.
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
    /** Rows of one group only: nullopt keeps all, an empty name keeps clients in no group. */
    void setGroupFilter(const std::optional<QString> &group);
    std::optional<QString> groupFilter() const { return m_group; }
    /** Whether a client in @p group passes @p filter (the overview applies the same rule). */
    static bool groupMatches(const std::optional<QString> &filter, const QString &group)
    {
        return !filter || *filter == group;
    }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;

private:
    QString m_search;
    StateFilter m_state = StateFilter::All;
    std::optional<QString> m_group;
};

} // namespace autofact::dashboard
