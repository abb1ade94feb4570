// SPDX-License-Identifier: MIT
#pragma once

#include "historydata.h"

#include <QHash>
#include <QSet>
#include <QTimer>
#include <QWidget>

#include <optional>

class QComboBox;
class QGridLayout;
class QScrollArea;

namespace autofact::dashboard {

class ClientTableModel;
class ClientTile;

/**
 * A grid of ClientTiles, one per client of a ClientTableModel, sortable by hostname, CPU or
 * memory so the busy machines come first. Connected clients always come before those that
 * are down or never sent data (their last values are old). While the pointer is over the
 * grid, tiles keep their places (a click must open the host that was under it); the order
 * catches up when the pointer leaves. Activating a tile asks for its detail view.
 */
class OverviewWidget : public QWidget
{
    Q_OBJECT
public:
    enum class SortKey { Hostname, Cpu, Memory };
    Q_ENUM(SortKey)

    explicit OverviewWidget(ClientTableModel *model, QWidget *parent = nullptr);

    void setSortKey(SortKey key);
    /** Fills sparklines that have no live points yet with recent history. */
    void seed(const RecentHistory &recent);
    SortKey sortKey() const { return m_sortKey; }
    /** Tiles in display order (tests, screenshots). */
    QList<ClientTile *> orderedTiles() const { return m_order; }
    /** Re-sorts now, as the 2 s timer does after live updates (tiles under the pointer stay). */
    void refreshOrder() { relayout(false); }
    /** Pinned clients come first, whatever the sort (right-click a tile; kept in the settings). */
    void setPinned(const QString &clientId, bool pinned);
    QStringList pinned() const;
    void setPinnedList(const QStringList &clientIds);
    /** Tiles of one group only (nullopt: all; empty name: clients in no group). */
    void setGroupFilter(const std::optional<QString> &group);
    std::optional<QString> groupFilter() const { return m_groupFilter; }

Q_SIGNALS:
    void clientActivated(const QString &clientId);
    /** The user picked a group in the overview's own filter box. */
    void groupFilterChanged(const std::optional<QString> &group);

protected:
    void resizeEvent(QResizeEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void syncTiles();
    void updateStates();
    /** @p force: re-place tiles even under the pointer (the user asked for it). */
    void relayout(bool force = false);

    ClientTableModel *m_model;
    SortKey m_sortKey = SortKey::Cpu;
    QComboBox *m_sortBox = nullptr;
    QComboBox *m_groupBox = nullptr;
    std::optional<QString> m_groupFilter;
    void fillGroupBox();
    QScrollArea *m_scroll = nullptr;
    QWidget *m_container = nullptr;
    QGridLayout *m_grid = nullptr;
    QHash<QString, ClientTile *> m_tiles;
    QList<ClientTile *> m_order;
    int m_columns = 0;
    bool m_pointerInside = false; ///< over the grid: keep tiles where they are
    QSet<QString> m_pinned;
    QTimer m_relayout; ///< re-sorting coalesced: live values must not shuffle tiles each sample
};

} // namespace autofact::dashboard
