// SPDX-License-Identifier: MIT
#include "alertsview.h"

#include "alerttablemodel.h"

#include <QComboBox>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace autofact::dashboard {

namespace {

QTableView *makeTable(QSortFilterProxyModel *proxy)
{
    auto *t = new QTableView;
    t->setModel(proxy);
    t->setSortingEnabled(true);
    t->sortByColumn(AlertTableModel::StartedColumn, Qt::DescendingOrder);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    t->setSelectionMode(QAbstractItemView::ExtendedSelection);
    t->setAlternatingRowColors(true);
    t->setWordWrap(false);
    t->verticalHeader()->hide();
    t->horizontalHeader()->setStretchLastSection(true);
    t->setColumnWidth(AlertTableModel::StateColumn, 110);
    t->setColumnWidth(AlertTableModel::HostColumn, 160);
    t->setColumnWidth(AlertTableModel::RuleColumn, 170);
    t->setColumnWidth(AlertTableModel::StartedColumn, 140);
    return t;
}

QSortFilterProxyModel *makeProxy(AlertTableModel *model, QObject *parent)
{
    auto *proxy = new QSortFilterProxyModel(parent);
    proxy->setSourceModel(model);
    proxy->setSortRole(AlertTableModel::SortRole);
    return proxy;
}

} // namespace

AlertsView::AlertsView(QWidget *parent)
    : QWidget(parent)
{
    m_active = new AlertTableModel(this);
    m_history = new AlertTableModel(this);
    m_activeProxy = makeProxy(m_active, this);
    m_historyProxy = makeProxy(m_history, this);
    m_activeTable = makeTable(m_activeProxy);
    m_activeTable->setObjectName(QStringLiteral("activeAlerts"));
    m_historyTable = makeTable(m_historyProxy);
    m_historyTable->setObjectName(QStringLiteral("alertHistory"));

    m_summary = new QLabel;
    m_ack = new QPushButton(tr("&Acknowledge"));
    m_ack->setToolTip(tr("Someone is on it: no more repeats of these alerts"));
    m_unack = new QPushButton(tr("&Unacknowledge"));
    m_silence = new QPushButton(tr("&Silence…"));
    m_silence->setToolTip(tr("No notifications for these alerts for a while, with a reason"));
    m_unsilence = new QPushButton(tr("&Lift silence"));
    auto *rules = new QPushButton(tr("&Rules…"));
    rules->setToolTip(tr("Thresholds and hold times, for every client or one"));
    auto *notifiers = new QPushButton(tr("&Notifications…"));
    notifiers->setToolTip(tr("Webhooks and commands that hear about alerts"));

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_summary, 1);
    for (QPushButton *b : {m_ack, m_unack, m_silence, m_unsilence, rules, notifiers})
        buttons->addWidget(b);

    m_tabs = new QTabWidget;
    m_tabs->addTab(m_activeTable, tr("Active"));
    m_tabs->addTab(m_historyTable, tr("History"));

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(buttons);
    layout->addWidget(m_tabs, 1);

    connect(m_activeTable->selectionModel(), &QItemSelectionModel::selectionChanged, this, &AlertsView::updateButtons);
    connect(m_tabs, &QTabWidget::currentChanged, this, [this](int index) {
        if (index == 1)
            Q_EMIT historyRequested();
        updateButtons();
    });
    connect(m_ack, &QPushButton::clicked, this, [this] {
        for (qint64 id : selectedAlertIds())
            Q_EMIT acknowledgeRequested(id, true);
    });
    connect(m_unack, &QPushButton::clicked, this, [this] {
        for (qint64 id : selectedAlertIds())
            Q_EMIT acknowledgeRequested(id, false);
    });
    connect(m_silence, &QPushButton::clicked, this, &AlertsView::askSilence);
    connect(m_unsilence, &QPushButton::clicked, this, [this] {
        for (qint64 id : selectedAlertIds())
            Q_EMIT silenceRequested(id, 0, QString());
    });
    connect(rules, &QPushButton::clicked, this, &AlertsView::rulesRequested);
    connect(notifiers, &QPushButton::clicked, this, &AlertsView::notifiersRequested);
    for (QTableView *t : {m_activeTable, m_historyTable})
        connect(t, &QTableView::activated, this, [this](const QModelIndex &index) {
            Q_EMIT clientActivated(index.data(AlertTableModel::ClientIdRole).toString());
        });
    m_historyTimer.setSingleShot(true);
    m_historyTimer.setInterval(1000);
    connect(&m_historyTimer, &QTimer::timeout, this, [this] {
        if (m_tabs->currentIndex() == 1)
            Q_EMIT historyRequested();
    });
    setActive({});
}

void AlertsView::setActive(const QList<server::AlertRecord> &active)
{
    // Keep the selection across updates: alerts arrive while someone is choosing.
    const QList<qint64> selected = selectedAlertIds();
    m_active->setAlerts(active);
    for (int row = 0; row < m_activeProxy->rowCount(); ++row) {
        const QModelIndex index = m_activeProxy->index(row, 0);
        if (selected.contains(index.data(AlertTableModel::AlertIdRole).toLongLong()))
            m_activeTable->selectionModel()->select(index, QItemSelectionModel::Select | QItemSelectionModel::Rows);
    }
    m_summary->setText(summary());
    m_tabs->setTabText(0, active.isEmpty() ? tr("Active") : tr("Active (%1)").arg(active.size()));
    updateButtons();
    // While the history is open it follows, at most once a second: a storm is one read.
    if (m_tabs->currentIndex() == 1 && !m_historyTimer.isActive())
        m_historyTimer.start();
}

void AlertsView::setHistory(const QList<server::AlertRecord> &history)
{
    m_history->setAlerts(history);
}

void AlertsView::setNow(qint64 nowMs)
{
    m_active->setNow(nowMs);
    m_history->setNow(nowMs);
}

QString AlertsView::summary() const
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    int firing = 0, acked = 0, silenced = 0;
    for (const server::AlertRecord &a : m_active->alerts()) {
        if (a.silenced(now))
            ++silenced;
        else if (a.ackedMs > 0)
            ++acked;
        else
            ++firing;
    }
    if (firing + acked + silenced == 0)
        return tr("No alerts firing");
    QStringList parts;
    if (firing)
        parts << tr("%1 firing").arg(firing);
    if (acked)
        parts << tr("%1 acknowledged").arg(acked);
    if (silenced)
        parts << tr("%1 silenced").arg(silenced);
    return parts.join(QStringLiteral(" · "));
}

QList<qint64> AlertsView::selectedAlertIds() const
{
    QList<qint64> ids;
    for (const QModelIndex &index : m_activeTable->selectionModel()->selectedRows())
        ids.append(index.data(AlertTableModel::AlertIdRole).toLongLong());
    return ids;
}

void AlertsView::silenceSelected(qint64 forMs, const QString &reason)
{
    const qint64 until = QDateTime::currentMSecsSinceEpoch() + forMs;
    for (qint64 id : selectedAlertIds())
        Q_EMIT silenceRequested(id, until, reason);
}

void AlertsView::updateButtons()
{
    const bool activeTab = m_tabs->currentIndex() == 0;
    bool anyAcked = false, anyUnacked = false, anySilenced = false;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (qint64 id : selectedAlertIds()) {
        if (const server::AlertRecord *a = m_active->alert(id)) {
            (a->ackedMs > 0 ? anyAcked : anyUnacked) = true;
            anySilenced = anySilenced || a->silenced(now);
        }
    }
    m_ack->setEnabled(activeTab && anyUnacked);
    m_unack->setEnabled(activeTab && anyAcked);
    m_silence->setEnabled(activeTab && (anyAcked || anyUnacked));
    m_unsilence->setEnabled(activeTab && anySilenced);
}

void AlertsView::askSilence()
{
    if (selectedAlertIds().isEmpty())
        return;
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Silence alerts"));
    auto *length = new QComboBox;
    const QList<std::pair<QString, qint64>> choices = {
            {tr("1 hour"), 3600'000}, {tr("4 hours"), 4 * 3600'000}, {tr("1 day"), 86400'000},
            {tr("1 week"), 7 * 86400'000}};
    for (const auto &[text, ms] : choices)
        length->addItem(text, ms);
    auto *reason = new QLineEdit;
    reason->setPlaceholderText(tr("e.g. kernel upgrade, back at 14:00"));
    reason->setMaxLength(200);
    auto *box = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    box->button(QDialogButtonBox::Ok)->setText(tr("Silence"));
    box->button(QDialogButtonBox::Ok)->setEnabled(false);
    connect(reason, &QLineEdit::textChanged, box, [box](const QString &text) {
        box->button(QDialogButtonBox::Ok)->setEnabled(!text.trimmed().isEmpty());
    });
    connect(box, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(box, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto *form = new QFormLayout(&dialog);
    form->addRow(new QLabel(tr("No notifications for the selected alerts until the silence ends.\n"
                               "They stay listed, and are recorded when they resolve.")));
    form->addRow(tr("For:"), length);
    form->addRow(tr("Reason:"), reason);
    form->addRow(box);
    if (dialog.exec() == QDialog::Accepted)
        silenceSelected(length->currentData().toLongLong(), reason->text().trimmed());
}

} // namespace autofact::dashboard
