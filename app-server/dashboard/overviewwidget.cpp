// SPDX-License-Identifier: MIT
#include "overviewwidget.h"

#include "clientfilterproxy.h"

#include "clienttablemodel.h"
#include "metrics.h"
#include "clienttile.h"

#include <QComboBox>
#include <QCursor>
#include <QEvent>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QScrollBar>
#include <QSet>
#include <QVBoxLayout>

#include <algorithm>

namespace autofact::dashboard {

OverviewWidget::OverviewWidget(ClientTableModel *model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
{
    m_sortBox = new QComboBox(this);
    m_sortBox->addItem(tr("Busiest CPU first"), int(SortKey::Cpu));
    m_sortBox->addItem(tr("Most memory used first"), int(SortKey::Memory));
    m_sortBox->addItem(tr("Hostname"), int(SortKey::Hostname));
    m_groupBox = new QComboBox(this);
    m_groupBox->setObjectName(QStringLiteral("overviewGroupFilter"));
    m_groupBox->setToolTip(tr("Show only the clients of one group"));
    m_groupBox->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    auto *bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Sort:"), this));
    bar->addWidget(m_sortBox);
    bar->addSpacing(12);
    bar->addWidget(m_groupBox);
    bar->addStretch(1);

    m_container = new QWidget;
    m_grid = new QGridLayout(m_container);
    m_grid->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_grid->setSpacing(8);
    m_scroll = new QScrollArea(this);
    m_scroll->setWidget(m_container);
    m_scroll->setWidgetResizable(true);
    m_scroll->viewport()->installEventFilter(this);
    m_scroll->setFrameShape(QFrame::NoFrame);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(m_scroll, 1);

    connect(m_sortBox, &QComboBox::activated, this, [this](int index) {
        setSortKey(SortKey(m_sortBox->itemData(index).toInt()));
    });
    connect(m_groupBox, &QComboBox::activated, this, [this](int index) {
        const QVariant data = m_groupBox->itemData(index);
        const std::optional<QString> group = data.isNull() ? std::nullopt : std::optional(data.toString());
        setGroupFilter(group);
        Q_EMIT groupFilterChanged(group);
    });
    fillGroupBox();
    connect(m_model, &QAbstractItemModel::rowsInserted, this, &OverviewWidget::syncTiles);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, &OverviewWidget::syncTiles);
    connect(m_model, &QAbstractItemModel::modelReset, this, &OverviewWidget::syncTiles);
    connect(m_model, &QAbstractItemModel::dataChanged, this, [this] {
        if (!m_relayout.isActive())
            m_relayout.start();
    });
    connect(m_model, &ClientTableModel::liveSample, this,
            [this](const QString &id, const Sample &sample) {
                if (ClientTile *tile = m_tiles.value(id))
                    tile->addSample(sample.timestampMs, metrics::cpuPercent(sample), metrics::memoryPercent(sample));
            });
    connect(m_model, &ClientTableModel::liveDevices, this,
            [this](const QString &id, const metrics::DeviceSummary &summary) {
                if (ClientTile *tile = m_tiles.value(id))
                    tile->setDevices(summary);
            });
    m_relayout.setSingleShot(true);
    m_relayout.setInterval(2000);
    connect(&m_relayout, &QTimer::timeout, this, [this] {
        updateStates();
        relayout();
    });
    syncTiles();
}

void OverviewWidget::setSortKey(SortKey key)
{
    m_sortKey = key;
    m_sortBox->setCurrentIndex(m_sortBox->findData(int(key)));
    relayout(true); // the user chose a new order
}

void OverviewWidget::seed(const RecentHistory &recent)
{
    for (auto it = recent.cbegin(); it != recent.cend(); ++it) {
        ClientTile *tile = m_tiles.value(it.key());
        // Live points are fresher: a tile that already has some keeps them.
        if (!tile || tile->cpu() >= 0)
            continue;
        for (const SparkPoint &p : it.value())
            tile->addSample(p.timestampMs, p.cpuPercent, p.memoryPercent);
    }
}

void OverviewWidget::syncTiles()
{
    const QStringList list = m_model->clientIds();
    const QSet<QString> ids(list.cbegin(), list.cend());
    for (auto it = m_tiles.begin(); it != m_tiles.end();) {
        if (!ids.contains(it.key())) {
            delete it.value();
            it = m_tiles.erase(it);
        } else {
            ++it;
        }
    }
    for (const QString &id : list) {
        if (m_tiles.contains(id))
            continue;
        auto *tile = new ClientTile(id, m_container);
        tile->setPinned(m_pinned.contains(id));
        connect(tile, &ClientTile::activated, this, &OverviewWidget::clientActivated);
        connect(tile, &ClientTile::pinToggled, this, [this, id](bool on) { setPinned(id, on); });
        m_tiles.insert(id, tile);
    }
    updateStates();
    relayout();
}

void OverviewWidget::fillGroupBox()
{
    // Rebuilt only when the groups change: a popup open under the user must not be reset.
    QStringList wanted = m_model->groups();
    if (m_groupFilter && !m_groupFilter->isEmpty() && !wanted.contains(*m_groupFilter))
        wanted.append(*m_groupFilter);
    QStringList have;
    for (int i = 2; i < m_groupBox->count(); ++i)
        have.append(m_groupBox->itemData(i).toString());
    if (m_groupBox->count() >= 2 && have == wanted)
        return;
    m_groupBox->clear();
    m_groupBox->addItem(tr("All groups"), QVariant());
    m_groupBox->addItem(tr("In no group"), QStringLiteral(""));
    for (const QString &g : std::as_const(wanted))
        m_groupBox->addItem(g, g);
    const int index = m_groupFilter ? m_groupBox->findData(*m_groupFilter) : 0;
    m_groupBox->setCurrentIndex(std::max(0, index));
}

void OverviewWidget::setGroupFilter(const std::optional<QString> &group)
{
    if (group == m_groupFilter)
        return;
    m_groupFilter = group;
    updateStates(); // tiles learn their groups on the next timer otherwise
    {
        // The box says what is shown, also when the filter came from the clients table.
        const QSignalBlocker block(m_groupBox);
        m_groupBox->setCurrentIndex(std::max(0, group ? m_groupBox->findData(*group) : 0));
    }
    relayout(true);
}

void OverviewWidget::updateStates()
{
    fillGroupBox();
    for (int row = 0; row < m_model->rowCount(); ++row) {
        const ClientTableModel::Row &r = m_model->rowAt(row);
        if (ClientTile *tile = m_tiles.value(r.info.id)) {
            tile->setHostname(r.info.hostname);
            tile->setGroup(r.info.groupName);
            tile->setOnline(r.online);
            tile->setStale(r.online && r.stale);
            tile->setNeverSentData(r.info.sampleCount == 0 && !r.latest);
            tile->setAlerts(r.alerts);
            tile->setDevices(r.devices);
        }
    }
}

void OverviewWidget::setPinned(const QString &clientId, bool pinned)
{
    if (pinned)
        m_pinned.insert(clientId);
    else
        m_pinned.remove(clientId);
    if (ClientTile *tile = m_tiles.value(clientId))
        tile->setPinned(pinned);
    relayout(true);
}

QStringList OverviewWidget::pinned() const
{
    QStringList ids(m_pinned.cbegin(), m_pinned.cend());
    ids.sort();
    return ids;
}

void OverviewWidget::setPinnedList(const QStringList &clientIds)
{
    m_pinned = QSet<QString>(clientIds.cbegin(), clientIds.cend());
    for (ClientTile *tile : std::as_const(m_tiles))
        tile->setPinned(m_pinned.contains(tile->clientId()));
    relayout(true);
}

void OverviewWidget::relayout(bool force)
{
    QList<ClientTile *> order;
    for (ClientTile *tile : std::as_const(m_tiles)) {
        const bool shown = ClientFilterProxy::groupMatches(m_groupFilter, tile->group());
        if (shown)
            order.append(tile);
        else
            tile->hide();
    }
    const SortKey key = m_sortKey;
    // Connected first, then down, then never seen: a down host's last CPU is history, and
    // "CPU —" must never rank above a live value.
    const auto rank = [](const ClientTile *t) {
        return (t->isPinned() ? 0 : 3) + (t->isOnline() ? 0 : t->neverSentData() ? 2 : 1);
    };
    std::sort(order.begin(), order.end(), [key, rank](const ClientTile *a, const ClientTile *b) {
        if (rank(a) != rank(b))
            return rank(a) < rank(b);
        if (rank(a) % 3 == 0) {
            switch (key) {
            case SortKey::Cpu:
                if (a->cpu() != b->cpu())
                    return a->cpu() > b->cpu();
                break;
            case SortKey::Memory:
                if (a->memory() != b->memory())
                    return a->memory() > b->memory();
                break;
            case SortKey::Hostname:
                break;
            }
        }
        const int byName = a->hostname().compare(b->hostname(), Qt::CaseInsensitive);
        return byName != 0 ? byName < 0 : a->clientId() < b->clientId();
    });
    const int tileWidth = order.isEmpty() ? 240 : order.first()->sizeHint().width();
    const int available = m_scroll->viewport()->width() - 2 * m_grid->contentsMargins().left();
    const int columns = std::max(1, (available + m_grid->spacing()) / (tileWidth + m_grid->spacing()));
    if (order == m_order && columns == m_columns)
        return;
    // Under the pointer only a new or removed tile (or a new width) may move tiles.
    // Qt sends no Leave when the page is hidden under the pointer: check the pointer is really
    // over the visible grid.
    if (m_pointerInside
        && (!isVisible() || !m_scroll->viewport()->rect().contains(m_scroll->viewport()->mapFromGlobal(QCursor::pos()))))
        m_pointerInside = false;
    if (!force && m_pointerInside && columns == m_columns && order.size() == m_order.size()
        && QSet<ClientTile *>(order.cbegin(), order.cend()) == QSet<ClientTile *>(m_order.cbegin(), m_order.cend()))
        return;
    m_order = order;
    m_columns = columns;
    while (m_grid->count() > 0)
        delete m_grid->takeAt(0);
    for (int i = 0; i < order.size(); ++i) {
        ClientTile *tile = order[i];
        tile->setFixedSize(tile->sizeHint());
        m_grid->addWidget(tile, i / columns, i % columns);
        tile->show();
    }
}

bool OverviewWidget::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_scroll->viewport()) {
        if (event->type() == QEvent::Enter) {
            m_pointerInside = true;
        } else if (event->type() == QEvent::Leave) {
            m_pointerInside = false;
            relayout();
        }
    }
    return QWidget::eventFilter(watched, event);
}

void OverviewWidget::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    relayout();
}

} // namespace autofact::dashboard
