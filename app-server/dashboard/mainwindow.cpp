// SPDX-License-Identifier: MIT
#include "mainwindow.h"

#include "clienttile.h"

#include "aboutdialog.h"
#include "addagentdialog.h"
#include "agentconfigdialog.h"
#include "alertrulesdialog.h"
#include "alertsview.h"
#include "alerttray.h"
#include "alerts/alertrules.h"
#include "notifiersdialog.h"
#include "clientdetailview.h"
#include "compareview.h"
#include "storagedialog.h"
#include "clientfilterproxy.h"
#include "dashboard.h"
#include "clienttablemodel.h"
#include "dashboardlogging.h"
#include "exportdialog.h"
#include "overviewwidget.h"
#include "servercore.h"
#include "storereader.h"
#include "store/storelocation.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QHBoxLayout>
#include <QDateTime>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QInputDialog>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPointer>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace autofact::dashboard {

using server::HubActivity;
using server::IngestServer;

namespace {

/**
 * QInputDialog::getItem with a plain-text label: the label names hosts, the agents' words,
 * and a QLabel would guess at rich text. nullopt when cancelled.
 */
std::optional<QString> askItem(QWidget *parent, const QString &title, const QString &label, const QStringList &items,
                               int current, bool editable)
{
    QInputDialog dialog(parent);
    dialog.setWindowTitle(title);
    dialog.setLabelText(label);
    dialog.setComboBoxItems(items);
    dialog.setComboBoxEditable(editable);
    if (current >= 0 && current < items.size())
        dialog.setTextValue(items.at(current));
    for (QLabel *l : dialog.findChildren<QLabel *>())
        l->setTextFormat(Qt::PlainText);
    if (dialog.exec() != QDialog::Accepted)
        return std::nullopt;
    return dialog.textValue();
}
constexpr qint64 kRateWindowMs = 5000;

/** The shared store's URI as it may be shown (never with a password). */
QString watchedStore(const QString &databasePath)
{
    QString why;
    const auto location = server::StoreLocation::parse(databasePath, &why);
    return location ? location->display() : databasePath;
}
}

MainWindow::MainWindow(server::ServerCore &core, QWidget *parent)
    : QMainWindow(parent)
    , m_core(core)
{
    setWindowTitle(tr("autofactory"));
    setWindowIcon(applicationIcon());
    m_monotonic.start();

    m_readerThread.setObjectName(QStringLiteral("autofact-dashboard-reader"));
    m_reader = new StoreReader(core.options().databasePath);
    m_reader->moveToThread(&m_readerThread);
    connect(&m_readerThread, &QThread::finished, m_reader, &QObject::deleteLater);
    m_readerThread.start();

    m_model = new ClientTableModel(this);
    m_proxy = new ClientFilterProxy(this);
    m_proxy->setSourceModel(m_model);

    // Clients tab.
    m_search = new QLineEdit;
    m_search->setPlaceholderText(tr("Search hostname, ID or OS  (Ctrl+F)"));
    m_search->setClearButtonEnabled(true);
    m_table = new QTableView;
    m_table->setObjectName(QStringLiteral("clientsTable"));
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    // The group is the model's last column (saved header states keep their meaning) but reads
    // best beside the hostname; a restored header state puts it where the user left it.
    m_table->horizontalHeader()->moveSection(ClientTableModel::GroupColumn, ClientTableModel::HostnameColumn + 1);
    // Disk and network readings (appended to the model for the same reason) read best after swap.
    {
        QHeaderView *header = m_table->horizontalHeader();
        header->moveSection(header->visualIndex(ClientTableModel::DiskColumn), header->visualIndex(ClientTableModel::SwapColumn) + 1);
        header->moveSection(header->visualIndex(ClientTableModel::NetworkColumn), header->visualIndex(ClientTableModel::DiskColumn) + 1);
    }
    m_table->sortByColumn(ClientTableModel::HostnameColumn, Qt::AscendingOrder);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_table->setColumnWidth(ClientTableModel::StatusColumn, 130); // "never seen data" in full
    m_table->setColumnWidth(ClientTableModel::HostnameColumn, 160);
    m_table->setColumnWidth(ClientTableModel::IdColumn, 150);
    m_table->setColumnWidth(ClientTableModel::OsColumn, 150);
    m_table->setColumnWidth(ClientTableModel::LoadColumn, 120);
    m_table->setColumnWidth(ClientTableModel::LastSeenColumn, 120);
    m_table->setColumnWidth(ClientTableModel::NetworkColumn, 150); // "↓12.3 MB/s ↑456 kB/s"
    // Compact rows: a 300-machine fleet should not need a page per 22 hosts.
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    // Numbers sort busiest first on the first click; text sorts A to Z.
    connect(m_table->horizontalHeader(), &QHeaderView::sortIndicatorChanged, this,
            [this](int section, Qt::SortOrder order) {
                const bool numeric = ClientTableModel::isNumeric(section);
                if (m_restoringHeader)
                    return;
                const bool firstClick = section != m_sortSection;
                m_sortSection = section;
                if (numeric && firstClick && order == Qt::AscendingOrder)
                    m_table->sortByColumn(section, Qt::DescendingOrder);
            });
    m_sortSection = ClientTableModel::HostnameColumn;
    // Right-click on the header: show or hide columns (kept with the header's state).
    m_table->horizontalHeader()->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_table->horizontalHeader(), &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        columnsMenu()->popup(m_table->horizontalHeader()->viewport()->mapToGlobal(pos));
    });
    m_table->setContextMenuPolicy(Qt::ActionsContextMenu);
    auto *clientsPage = new QWidget;
    auto *clientsLayout = new QVBoxLayout(clientsPage);
    m_stateFilter = new QComboBox;
    m_stateFilter->setObjectName(QStringLiteral("stateFilter"));
    m_stateFilter->setToolTip(tr("Show only clients in this state"));
    const QList<std::pair<QString, ClientFilterProxy::StateFilter>> states = {
            {tr("All states"), ClientFilterProxy::StateFilter::All},
            {tr("Up"), ClientFilterProxy::StateFilter::Up},
            {tr("Stale"), ClientFilterProxy::StateFilter::Stale},
            {tr("Down"), ClientFilterProxy::StateFilter::Down},
            {tr("Never seen data"), ClientFilterProxy::StateFilter::NeverSeen},
            {tr("Blocked"), ClientFilterProxy::StateFilter::Blocked},
            {tr("With alerts"), ClientFilterProxy::StateFilter::WithAlerts}};
    for (const auto &[text, filter] : states)
        m_stateFilter->addItem(text, int(filter));
    connect(m_stateFilter, &QComboBox::currentIndexChanged, this, [this](int index) {
        m_proxy->setStateFilter(ClientFilterProxy::StateFilter(m_stateFilter->itemData(index).toInt()));
    });
    m_groupFilter = new QComboBox;
    m_groupFilter->setObjectName(QStringLiteral("groupFilter"));
    m_groupFilter->setToolTip(tr("Show only the clients of one group"));
    m_groupFilter->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    connect(m_groupFilter, &QComboBox::activated, this, [this](int index) {
        const QVariant data = m_groupFilter->itemData(index);
        setGroupFilter(data.isNull() ? std::nullopt : std::optional(data.toString()));
    });
    auto *searchRow = new QHBoxLayout;
    searchRow->addWidget(m_search, 1);
    searchRow->addWidget(m_stateFilter);
    searchRow->addWidget(m_groupFilter);
    clientsLayout->addLayout(searchRow);
    // First start: say what to do instead of showing an empty table.
    auto *emptyPage = new QWidget;
    auto *emptyLayout = new QVBoxLayout(emptyPage);
    auto *emptyText = new QLabel(tr("No agents yet.\nAn agent on each machine sends its samples here. "
                                    "Add one: you get a token and the command to paste on the node."));
    emptyText->setObjectName(QStringLiteral("emptyHint"));
    emptyText->setAlignment(Qt::AlignCenter);
    emptyText->setTextFormat(Qt::PlainText);
    auto *emptyAdd = new QPushButton(tr("Add agent…"));
    emptyAdd->setObjectName(QStringLiteral("emptyAddAgent"));
    connect(emptyAdd, &QPushButton::clicked, this, &MainWindow::showAddAgentDialog);
    emptyLayout->addStretch(1);
    emptyLayout->addWidget(emptyText);
    emptyLayout->addWidget(emptyAdd, 0, Qt::AlignHCenter);
    emptyLayout->addStretch(2);
    m_clientsPages = new QStackedWidget;
    m_clientsPages->addWidget(emptyPage);
    m_clientsPages->addWidget(m_table);
    clientsLayout->addWidget(m_clientsPages, 1);
    const auto showEmpty = [this] { m_clientsPages->setCurrentIndex(m_model->rowCount() == 0 ? 0 : 1); };
    connect(m_model, &QAbstractItemModel::rowsInserted, this, showEmpty);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, showEmpty);
    connect(m_model, &QAbstractItemModel::modelReset, this, showEmpty);

    m_overview = new OverviewWidget(m_model);
    connect(m_overview, &OverviewWidget::groupFilterChanged, this, &MainWindow::setGroupFilter);
    m_detail = new ClientDetailView(m_reader);

    m_tabs = new QTabWidget;
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(clientsPage, tr("&Clients"));
    m_tabs->addTab(m_overview, tr("&Overview"));
    m_tabs->addTab(m_detail, tr("&Detail"));
    m_alerts = new AlertsView;
    m_tabs->addTab(m_alerts, tr("&Alerts"));
    m_compare = new CompareView(m_reader, m_model);
    m_tabs->addTab(m_compare, tr("Co&mpare"));
    m_tray = new AlertTray(this);
    setCentralWidget(m_tabs);

    m_urlLabel = new QLabel;
    m_urlLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_onlineLabel = new QLabel;
    m_rateLabel = new QLabel;
    m_sizeLabel = new QLabel;
    m_alertLabel = new QLabel;
    m_alertLabel->setObjectName(QStringLiteral("alertStatus"));
    statusBar()->addWidget(m_urlLabel, 1);
    statusBar()->addPermanentWidget(m_alertLabel);
    statusBar()->addPermanentWidget(m_onlineLabel);
    statusBar()->addPermanentWidget(m_rateLabel);
    statusBar()->addPermanentWidget(m_sizeLabel);

    createActions();

    connect(m_search, &QLineEdit::textChanged, m_proxy, &ClientFilterProxy::setSearchText);
    connect(m_table, &QTableView::activated, this, [this](const QModelIndex &index) {
        openDetail(index.data(ClientTableModel::ClientIdRole).toString());
    });
    connect(m_overview, &OverviewWidget::clientActivated, this, &MainWindow::openDetail);
    connect(m_detail, &ClientDetailView::exportRequested, this,
            [this](const QString &id, qint64 from, qint64 to) { showExportDialog({id}, from, to); });

    // The hub lives on the network thread: these connections are queued.
    if (IngestServer *hub = core.hub()) {
        connect(hub, &IngestServer::activity, this, &MainWindow::onActivity);
        connect(hub, &IngestServer::clientConnected, m_model,
                [this](const QString &id, const QString &, bool) { m_model->clientConnected(id); });
        connect(hub, &IngestServer::clientDisconnected, m_model, &ClientTableModel::clientDisconnected);
        connect(hub, &IngestServer::configApplied, m_model, &ClientTableModel::configApplied);
    } else if (server::FleetFeed *feed = core.feed()) {
        // --no-listen: the ingest nodes' stored samples, read on the feed's thread, stand in
        // for the hub's reports; config changes and acks still go through the store worker.
        connect(feed, &server::FleetFeed::activity, this, &MainWindow::onActivity);
        connect(feed, &server::FleetFeed::readError, this,
                [this](const QString &message) { statusBar()->showMessage(message, 10000); });
        // Its first report went out before this window existed.
        QMetaObject::invokeMethod(feed, &server::FleetFeed::restate);
        setWindowTitle(tr("autofactory — watching the fleet"));
    }
    // Only the store worker writes: the window asks it and hears back here, failures included.
    if (server::StoreWorker *worker = core.worker()) {
        connect(worker, &server::StoreWorker::storeError, this, &MainWindow::onStoreError);
        connect(worker, &server::StoreWorker::configStored, this, [this] {
            m_pendingAction.clear();
            statusBar()->showMessage(tr("Behaviour saved and pushed to connected agents"), 5000);
            refreshInventory();
        });
        connect(worker, &server::StoreWorker::clientForgotten, this,
                [this](const QString &id, bool historyDeleted) {
                    m_pendingAction.clear();
                    if (historyDeleted)
                        m_model->removeClient(id);
                    refreshInventory();
                    statusBar()->showMessage(tr("Forgot %1").arg(id), 5000);
                });
        connect(worker, &server::StoreWorker::clientsMerged, this,
                [this](const QString &oldId, const QString &newId, const server::MergeResult &r) {
                    m_pendingAction.clear();
                    m_model->removeClient(oldId);
                    refreshInventory();
                    m_compare->replaceClient(oldId, newId);
                    if (m_detail->clientId() == oldId) {
                        // Showing the old identity: show the one its history now belongs to.
                        server::ClientInfo info;
                        info.id = newId;
                        if (const ClientTableModel::Row *row = m_model->row(newId))
                            info = row->info;
                        m_detail->setClient(info);
                    } else if (m_detail->clientId() == newId)
                        m_detail->reload();
                    QString text = tr("Merged %1 into %2: %3 samples moved").arg(oldId, newId).arg(r.samplesMoved);
                    if (r.duplicateSamples > 0)
                        text += tr(", %1 stored by both kept once").arg(r.duplicateSamples);
                    statusBar()->showMessage(text, 10000);
                });
        // Also emitted for clients blocked by another process (`autofactory revoke`).
        connect(worker, &server::StoreWorker::clientRevoked, this, [this](const QString &id) {
            m_pendingAction.clear();
            refreshInventory();
            statusBar()->showMessage(tr("Blocked %1").arg(id), 5000);
        });
    }
    // Alerts: the store worker evaluates and stores them; the window shows and asks.
    if (server::StoreWorker *worker = core.worker()) {
        connect(worker, &server::StoreWorker::alertsChanged, this, &MainWindow::onAlerts);
        connect(worker, &server::StoreWorker::alertHistory, m_alerts, &AlertsView::setHistory);
        connect(worker, &server::StoreWorker::alertNotices, this, [this](const QList<server::AlertNotice> &notices) {
            m_tray->notify(notices);
        });
        connect(worker, &server::StoreWorker::alertSettingsChanged, this,
                [this](const QList<server::AlertRuleRow> &rows, qint64 repeatMs) {
                    m_ruleRows = rows;
                    m_repeatMs = repeatMs;
                    if (m_notifiersDialog)
                        m_notifiersDialog->setRepeatInterval(repeatMs);
                });
        connect(worker, &server::StoreWorker::notifiersChanged, this,
                [this](const QList<server::NotifierInfo> &notifiers) {
                    m_notifierList = notifiers;
                    if (m_notifiersDialog)
                        m_notifiersDialog->setNotifiers(notifiers);
                });
    }
    if (server::NotificationSender *sender = core.sender())
        connect(sender, &server::NotificationSender::delivered, this,
                [this](qint64 id, const server::AlertNotice &notice, bool ok, const QString &error) {
                    if (m_notifiersDialog)
                        m_notifiersDialog->onDelivered(id, notice, ok, error);
                });
    connect(m_alerts, &AlertsView::acknowledgeRequested, this,
            [this](qint64 id, bool on) { m_core.acknowledgeAlert(id, on); });
    connect(m_alerts, &AlertsView::silenceRequested, this,
            [this](qint64 id, qint64 until, const QString &reason) { m_core.silenceAlert(id, until, reason); });
    connect(m_alerts, &AlertsView::historyRequested, this, [this] { m_core.requestAlertHistory(1000); });
    connect(m_alerts, &AlertsView::clientActivated, this, &MainWindow::openDetail);
    connect(m_alerts, &AlertsView::rulesRequested, this, [this] { showAlertRules(); });
    connect(m_alerts, &AlertsView::notifiersRequested, this, &MainWindow::showNotifiers);
    connect(m_tray, &AlertTray::quitRequested, this, &MainWindow::quit);
    connect(m_tray, &AlertTray::activated, this, [this] {
        showNormal();
        raise();
        activateWindow();
        m_tabs->setCurrentIndex(AlertsTab);
    });
    connect(m_reader, &StoreReader::inventoryLoaded, this, &MainWindow::onInventory);
    // Stored device figures follow the first inventory: the Disk and Network columns are filled
    // at start-up rather than at each agent's next filesystem reading, and offline clients
    // show their last fill level rather than nothing.
    connect(m_reader, &StoreReader::deviceSummariesLoaded, m_model, &ClientTableModel::setStoredDevices);
    connect(m_reader, &StoreReader::recentLoaded, m_overview, &OverviewWidget::seed);
    connect(m_reader, &StoreReader::readError, this, [this](const QString &message) {
        m_inventoryPending = false; // the next refresh tries again
        m_inventoryAgain = false;
        statusBar()->showMessage(tr("Database read error: %1").arg(message), 10000);
    });
    connect(m_model, &ClientTableModel::inventoryStale, this, &MainWindow::refreshInventory);

    m_clock.setInterval(1000);
    connect(&m_clock, &QTimer::timeout, this, [this] {
        m_model->setNow(QDateTime::currentMSecsSinceEpoch());
        m_alerts->setNow(QDateTime::currentMSecsSinceEpoch());
        updateStatusBar();
    });
    m_clock.start();
    // Dropped counts, applied revisions and the database size only live in the store.
    m_inventoryTimer.setInterval(5000);
    connect(&m_inventoryTimer, &QTimer::timeout, this, &MainWindow::refreshInventory);
    m_inventoryTimer.start();

    resize(1280, 800);
    qApp->installEventFilter(this);
    connect(qApp, &QGuiApplication::commitDataRequest, this, [this] { m_quitting = true; });
    restoreSettings();
    if (auto *keep = findChild<QAction *>(QStringLiteral("keepRunningAction")))
        keep->setChecked(m_keepRunning);
    if (auto *chosen = findChild<QAction *>(QStringLiteral("theme%1").arg(int(m_theme))))
        chosen->setChecked(true);
    updateStatusBar();
    refreshInventory();
    core.publishAlertState();
}

MainWindow::~MainWindow()
{
    m_readerThread.quit();
    m_readerThread.wait();
}

void MainWindow::createActions()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    QAction *exportAction = file->addAction(tr("&Export CSV…"), this, [this] {
        showExportDialog(selectedClientIds());
    });
    exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    file->addSeparator();
    QAction *quit = file->addAction(tr("&Quit"), this, &MainWindow::quit);
    quit->setObjectName(QStringLiteral("quitAction"));
    quit->setShortcut(QKeySequence::Quit);

    QMenu *clients = menuBar()->addMenu(tr("&Clients"));
    QAction *open = clients->addAction(tr("Open &detail"), this, [this] {
        const QStringList ids = selectedClientIds();
        if (!ids.isEmpty())
            openDetail(ids.first());
    });
    open->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
    QAction *add = clients->addAction(tr("&Add agent…"), this, &MainWindow::showAddAgentDialog);
    add->setObjectName(QStringLiteral("addAgentAction"));
    add->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_N));
    clients->addSeparator();
    QAction *behaviour = clients->addAction(tr("Agent &behaviour…"), this, &MainWindow::showAgentConfig);
    behaviour->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    QAction *block = clients->addAction(tr("B&lock client…"), this, &MainWindow::blockSelectedClients);
    block->setObjectName(QStringLiteral("blockClientAction"));
    QAction *forget = clients->addAction(tr("&Forget client…"), this, &MainWindow::forgetSelectedClient);
    forget->setObjectName(QStringLiteral("forgetClientAction"));
    forget->setShortcut(QKeySequence::Delete);
    forget->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    QAction *find = clients->addAction(tr("&Search"), this, [this] {
        m_tabs->setCurrentIndex(ClientsTab);
        m_search->setFocus();
        m_search->selectAll();
    });
    find->setShortcut(QKeySequence::Find);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    const QList<std::pair<QString, Tab>> tabs = {
        {tr("&Clients"), ClientsTab}, {tr("&Overview"), OverviewTab}, {tr("&Detail"), DetailTab},
        {tr("&Alerts"), AlertsTab}, {tr("Co&mpare"), CompareTab}};
    for (const auto &[name, tab] : tabs) {
        QAction *a = view->addAction(name, this, [this, t = tab] { m_tabs->setCurrentIndex(t); });
        a->setShortcut(QKeySequence(Qt::CTRL | (Qt::Key_1 + int(tab))));
    }
    view->addSeparator();
    QMenu *themes = view->addMenu(tr("&Theme"));
    auto *themeGroup = new QActionGroup(this);
    for (const auto &[text, theme] : {std::pair{tr("&System"), Theme::System}, std::pair{tr("&Light"), Theme::Light},
                                      std::pair{tr("&Dark"), Theme::Dark}}) {
        QAction *a = themes->addAction(text, this, [this, t = theme] { setTheme(t); });
        a->setCheckable(true);
        a->setData(int(theme));
        a->setObjectName(QStringLiteral("theme%1").arg(int(theme)));
        themeGroup->addAction(a);
    }
    QAction *keep = view->addAction(tr("&Keep running in the tray when closed"));
    keep->setObjectName(QStringLiteral("keepRunningAction"));
    keep->setCheckable(true);
    keep->setChecked(m_keepRunning);
    keep->setEnabled(m_tray->available());
    keep->setToolTip(m_tray->available() ? QString() : tr("No system tray here: closing the window stops the server"));
    connect(keep, &QAction::toggled, this, &MainWindow::setKeepRunningOnClose);
    view->addSeparator();
    QAction *storage = view->addAction(tr("&Storage…"), this, &MainWindow::showStorage);
    storage->setObjectName(QStringLiteral("storageAction"));
    QAction *refresh = view->addAction(tr("&Refresh"), this, [this] {
        refreshInventory();
        m_detail->reload();
    });
    refresh->setShortcut(QKeySequence::Refresh);

    QMenu *alerts = menuBar()->addMenu(tr("&Alerts"));
    QAction *rules = alerts->addAction(tr("Alert &rules…"), this, [this] {
        const QStringList ids = selectedClientIds();
        showAlertRules(m_tabs->currentIndex() == ClientsTab && ids.size() == 1 ? ids.first() : QString());
    });
    rules->setObjectName(QStringLiteral("alertRulesAction"));
    QAction *channels = alerts->addAction(tr("&Notifications…"), this, &MainWindow::showNotifiers);
    channels->setObjectName(QStringLiteral("notifiersAction"));

    clients->addSeparator();
    QAction *setGroup = clients->addAction(tr("Set &group…"), this, &MainWindow::askGroupOfSelected);
    setGroup->setObjectName(QStringLiteral("setGroupAction"));
    setGroup->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_G));
    QAction *leaveGroup = clients->addAction(tr("Remove from group"), this, [this] { setGroupOfSelected(QString()); });
    leaveGroup->setObjectName(QStringLiteral("leaveGroupAction"));
    QAction *compare = clients->addAction(tr("&Compare"), this, &MainWindow::compareSelected);
    compare->setObjectName(QStringLiteral("compareAction"));
    compare->setToolTip(tr("One metric of the selected clients on one time axis"));
    QAction *merge = clients->addAction(tr("&Merge earlier history…"), this, &MainWindow::askMergeIntoSelected);
    merge->setObjectName(QStringLiteral("mergeHistoryAction"));
    merge->setToolTip(tr("Join the history of this machine's forgotten identity to this client"));

    // The table's context menu: what can be done to the selected clients.
    auto *exportSelected = new QAction(tr("&Export history…"), this);
    connect(exportSelected, &QAction::triggered, this, [this] { showExportDialog(selectedClientIds()); });
    auto *separator = new QAction(this);
    separator->setSeparator(true);
    auto *separator2 = new QAction(this);
    separator2->setSeparator(true);
    m_table->addActions({open, compare, exportSelected, behaviour, rules, separator, setGroup, leaveGroup, merge,
                         separator2, block, forget});

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    QAction *about = help->addAction(tr("&About autofactory"), this, &MainWindow::showAbout);
    about->setObjectName(QStringLiteral("aboutAction"));
    about->setMenuRole(QAction::AboutRole);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt)->setMenuRole(QAction::AboutQtRole);
}

void MainWindow::showAbout()
{
    auto *dialog = new AboutDialog({m_core.url(), m_core.options().certificateFingerprint,
                                    m_core.options().databasePath},
                                   this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

QString MainWindow::statusText() const
{
    return m_urlLabel->text() + u" | " + m_onlineLabel->text() + u" | " + m_rateLabel->text()
           + u" | " + m_sizeLabel->text();
}

void MainWindow::refreshInventory()
{
    if (m_inventoryPending) {
        m_inventoryAgain = true;
        return;
    }
    m_inventoryPending = true;
    QMetaObject::invokeMethod(m_reader, [reader = m_reader] { reader->loadInventory(); });
}

void MainWindow::onInventory(const QList<server::ClientInfo> &clients, qint64 databaseBytes)
{
    m_inventoryPending = false;
    if (m_inventoryAgain) {
        // A write (block, forget) was answered while this read ran: read once more after it.
        m_inventoryAgain = false;
        refreshInventory();
    }
    m_databaseBytes = databaseBytes;
    m_model->setInventory(clients);
    fillGroupFilter();
    if (!m_compareRestored) {
        // The compared hosts come back once the inventory knows them.
        m_compareRestored = true;
        if (!m_compareSettings.first.isEmpty())
            m_compare->setClients(m_compareSettings.first);
    }
    if (!m_seeded) {
        // Once, after the first inventory built the tiles: their last five minutes.
        m_seeded = true;
        const qint64 since = QDateTime::currentMSecsSinceEpoch() - 5 * 60 * 1000;
        QMetaObject::invokeMethod(m_reader, [reader = m_reader, since] {
            reader->loadRecent(since, int(ClientTile::historyLength));
        });
    }
    for (const server::ClientInfo &info : clients) {
        if (info.id == m_detail->clientId())
            m_detail->updateFacts(info);
    }
    updateStatusBar();
}

void MainWindow::onActivity(const HubActivity &activity)
{
    m_model->applyActivity(activity);
    m_rateWindow.emplace_back(m_monotonic.elapsed(), activity.samplesStored);
}

void MainWindow::updateStatusBar()
{
    const qint64 now = m_monotonic.elapsed();
    while (!m_rateWindow.empty() && now - m_rateWindow.front().first > kRateWindowMs)
        m_rateWindow.pop_front();
    quint64 samples = 0;
    for (const auto &entry : m_rateWindow)
        samples += entry.second;
    const double seconds = double(std::min<qint64>(std::max<qint64>(now, 1000), kRateWindowMs)) / 1000.0;
    const QLocale locale;
    m_urlLabel->setText(m_core.hub() || !m_core.feed()
                            ? tr("Listening on %1").arg(m_core.url().toString())
                            : tr("Watching the fleet on %1, not serving agents").arg(watchedStore(m_core.options().databasePath)));
    m_onlineLabel->setText(m_model->healthSummary());
    if (const int row = m_model->rowOf(m_detail->clientId()); row >= 0) {
        const QModelIndex status = m_model->index(row, ClientTableModel::StatusColumn);
        m_detail->setState(status.data().toString(), status.data(Qt::DecorationRole).value<QColor>());
    }
    m_rateLabel->setText(tr("%1 samples/s").arg(locale.toString(double(samples) / seconds, 'f', 1)));
    m_sizeLabel->setText(m_databaseBytes < 0
                             ? tr("Database: …")
                             : tr("Database: %1").arg(locale.formattedDataSize(m_databaseBytes, 1,
                                                                               QLocale::DataSizeIecFormat)));
}

QStringList MainWindow::selectedClientIds() const
{
    QStringList ids;
    if (m_tabs->currentIndex() == DetailTab && !m_detail->clientId().isEmpty())
        return {m_detail->clientId()};
    for (const QModelIndex &index : m_table->selectionModel()->selectedRows())
        ids.append(index.data(ClientTableModel::ClientIdRole).toString());
    return ids;
}

void MainWindow::openDetail(const QString &clientId)
{
    if (clientId.isEmpty())
        return;
    server::ClientInfo info;
    info.id = clientId;
    if (const ClientTableModel::Row *row = m_model->row(clientId))
        info = row->info;
    m_detail->setClient(info);
    m_tabs->setCurrentIndex(DetailTab);
}

ExportDialog *MainWindow::showExportDialog(const QStringList &clientIds, qint64 fromMs, qint64 toMs)
{
    auto *dialog = new ExportDialog(m_core.options().databasePath, m_model, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setSelectedClients(clientIds);
    if (toMs > fromMs)
        dialog->setRange(fromMs, toMs);
    dialog->show();
    return dialog;
}

AddAgentDialog *MainWindow::showAddAgentDialog()
{
    auto *dialog = new AddAgentDialog(&m_core, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    return dialog;
}

void MainWindow::showAgentConfig()
{
    auto *dialog = new AgentConfigDialog(&m_core, m_reader, m_model, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    const QStringList ids = selectedClientIds();
    connect(dialog, &AgentConfigDialog::loaded, dialog, [dialog, ids] {
        if (!ids.isEmpty())
            dialog->selectClient(ids.first());
    });
    connect(dialog, &QDialog::accepted, this, [this] {
        // The store worker answers with configStored or storeError.
        m_pendingAction = tr("Agent behaviour");
        statusBar()->showMessage(tr("Saving agent behaviour…"));
    });
    dialog->show();
}

void MainWindow::forgetSelectedClient()
{
    const QStringList ids = selectedClientIds();
    if (ids.isEmpty())
        return;
    // Every selected client is named (up to ten, then a count) and forgotten.
    QStringList names;
    bool anyOnline = false;
    for (const QString &id : ids) {
        const ClientTableModel::Row *row = m_model->row(id);
        anyOnline = anyOnline || (row && row->online);
        if (names.size() < 10)
            names.append(row && !row->info.hostname.isEmpty() ? tr("%1 (%2)").arg(row->info.hostname, id) : id);
    }
    if (ids.size() > names.size())
        names.append(tr("… and %1 more").arg(ids.size() - names.size()));
    QString question = ids.size() == 1 ? tr("Forget %1?").arg(names.first())
                                       : tr("Forget these %1 clients?").arg(ids.size()) + u"\n\n" + names.join(u'\n');
    question += u"\n\n" + tr("Credentials are wiped: an agent must enrol again (with a token) and gets a new ID.");
    if (anyOnline)
        question += u"\n" + tr("Connected agents are disconnected now. To stop a machine from sending, Block it instead.");
    QMessageBox box(QMessageBox::Warning, tr("Forget client"), question, QMessageBox::Cancel, this);
    box.setTextFormat(Qt::PlainText); // the hostname is the agent's text
    QPushButton *keep = box.addButton(tr("Forget, keep history"), QMessageBox::AcceptRole);
    QPushButton *drop = box.addButton(tr("Forget and delete history"), QMessageBox::DestructiveRole);
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    if (box.clickedButton() != keep && box.clickedButton() != drop)
        return;
    const bool deleteHistory = box.clickedButton() == drop;
    // Writes go through the store worker; the dashboard's own connection is read-only.
    m_pendingAction = tr("Forget client");
    for (const QString &id : ids)
        m_core.forgetClient(id, deleteHistory);
}

void MainWindow::compareSelected()
{
    const QStringList ids = selectedClientIds();
    if (!ids.isEmpty())
        m_compare->setClients(ids);
    m_tabs->setCurrentIndex(CompareTab);
    if (ids.size() > CompareView::maxHosts)
        statusBar()->showMessage(tr("Comparing the first %1 of %2 selected clients").arg(CompareView::maxHosts).arg(ids.size()),
                                 8000);
}

void MainWindow::fillGroupFilter()
{
    // Rebuilt only when the groups change: an open popup must not be reset under the user.
    QStringList wanted = m_model->groups();
    const std::optional<QString> current = m_proxy->groupFilter();
    if (current && !current->isEmpty() && !wanted.contains(*current))
        wanted.append(*current);
    QStringList have;
    for (int i = 2; i < m_groupFilter->count(); ++i)
        have.append(m_groupFilter->itemData(i).toString());
    if (m_groupFilter->count() >= 2 && have == wanted)
        return;
    m_groupFilter->clear();
    m_groupFilter->addItem(tr("All groups"), QVariant());
    m_groupFilter->addItem(tr("In no group"), QStringLiteral(""));
    for (const QString &g : std::as_const(wanted))
        m_groupFilter->addItem(g, g);
    m_groupFilter->setCurrentIndex(std::max(0, current ? m_groupFilter->findData(*current) : 0));
}

void MainWindow::setGroupFilter(const std::optional<QString> &group)
{
    m_proxy->setGroupFilter(group);
    m_overview->setGroupFilter(group);
    fillGroupFilter();
    m_groupFilter->setCurrentIndex(std::max(0, group ? m_groupFilter->findData(*group) : 0));
}

void MainWindow::askGroupOfSelected()
{
    const QStringList ids = selectedClientIds();
    if (ids.isEmpty())
        return;
    const ClientTableModel::Row *first = m_model->row(ids.first());
    QStringList groups = m_model->groups();
    const QString current = first ? first->info.groupName : QString();
    const QString label = ids.size() == 1 ? tr("Group of %1 (a client is in one group at most):")
                                                    .arg(first && !first->info.hostname.isEmpty() ? first->info.hostname : ids.first())
                                          : tr("Group of these %1 clients (a client is in one group at most):").arg(ids.size());
    const std::optional<QString> answer = askItem(this, tr("Set group"), label, groups,
                                                  std::max(0, int(groups.indexOf(current))), true);
    if (!answer)
        return;
    const QString name = answer->trimmed();
    if (name.isEmpty()) {
        setGroupOfSelected(QString());
        return;
    }
    if (const QString problem = server::ConfigStore::groupNameProblem(name); !problem.isEmpty()) {
        QMessageBox box(QMessageBox::Warning, tr("Set group"), problem, QMessageBox::Ok, this);
        box.setTextFormat(Qt::PlainText);
        box.exec();
        return;
    }
    setGroupOfSelected(name);
}

void MainWindow::setGroupOfSelected(const QString &group)
{
    const QStringList ids = selectedClientIds();
    if (ids.isEmpty())
        return;
    m_pendingAction = tr("Set group");
    m_core.setClientGroup(ids, group);
}

QStringList MainWindow::mergeCandidates(const QString &clientId) const
{
    const ClientTableModel::Row *target = m_model->row(clientId);
    if (!target)
        return {};
    QList<std::pair<int, QString>> ranked;
    for (int r = 0; r < m_model->rowCount(); ++r) {
        const ClientTableModel::Row &row = m_model->rowAt(r);
        const server::ClientInfo &c = row.info;
        if (c.id == clientId || row.online || !c.forgotten)
            continue;
        // Its own predecessor first, then the same hostname, then the rest by hostname.
        const int rank = c.id == target->info.previousId ? 0 : c.hostname == target->info.hostname ? 1 : 2;
        ranked.append({rank, c.id});
    }
    std::sort(ranked.begin(), ranked.end(), [this](const auto &a, const auto &b) {
        if (a.first != b.first)
            return a.first < b.first;
        return m_model->row(a.second)->info.hostname.compare(m_model->row(b.second)->info.hostname, Qt::CaseInsensitive) < 0;
    });
    QStringList out;
    for (const auto &[rank, id] : ranked)
        out.append(id);
    return out;
}

void MainWindow::askMergeIntoSelected()
{
    const QStringList ids = selectedClientIds();
    if (ids.size() != 1) {
        statusBar()->showMessage(tr("Select the one client that should receive the history"), 5000);
        return;
    }
    const QString target = ids.first();
    const QStringList candidates = mergeCandidates(target);
    const auto describe = [this](const QString &id) {
        const ClientTableModel::Row *r = m_model->row(id);
        if (!r)
            return id;
        return tr("%1 (%2), %3, %4 samples")
                .arg(r->info.hostname, id,
                     r->info.forgotten ? tr("forgotten") : r->info.online ? tr("connected") : tr("can connect"))
                .arg(r->info.sampleCount);
    };
    if (candidates.isEmpty()) {
        QMessageBox box(QMessageBox::Information, tr("Merge earlier history"),
                        tr("No forgotten client to merge into %1. Forget the old identity first (Forget, keep "
                           "history); its history is kept until merged.")
                                .arg(describe(target)),
                        QMessageBox::Ok, this);
        box.setTextFormat(Qt::PlainText);
        box.exec();
        return;
    }
    QStringList labels;
    for (const QString &id : candidates)
        labels.append(describe(id));
    const std::optional<QString> chosen = askItem(this, tr("Merge earlier history"),
                                                  tr("History to join to %1:").arg(describe(target)), labels, 0, false);
    if (!chosen)
        return;
    const QString oldId = candidates.value(labels.indexOf(*chosen));
    QMessageBox box(QMessageBox::Question, tr("Merge earlier history"),
                    tr("Move every sample, gap and alert of %1 to %2?\n\nSamples both stored are kept once, the "
                       "time between them becomes a gap, and %3 disappears from the list. This cannot be undone.")
                            .arg(describe(oldId), describe(target), oldId),
                    QMessageBox::Cancel, this);
    box.setTextFormat(Qt::PlainText); // hostnames are the agents' text
    QPushButton *go = box.addButton(tr("Merge"), QMessageBox::AcceptRole);
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    if (box.clickedButton() != go)
        return;
    m_pendingAction = tr("Merge earlier history");
    m_core.mergeClients(oldId, target);
}

void MainWindow::blockSelectedClients()
{
    const QStringList ids = selectedClientIds();
    if (ids.isEmpty())
        return;
    QStringList names;
    for (const QString &id : ids) {
        const ClientTableModel::Row *row = m_model->row(id);
        names.append(row && !row->info.hostname.isEmpty() ? tr("%1 (%2)").arg(row->info.hostname, id) : id);
    }
    const QString question = ids.size() == 1
                                 ? tr("Block %1?").arg(names.first())
                                 : tr("Block these %1 clients?").arg(ids.size()) + u"\n\n"
                                       + names.join(u'\n');
    QMessageBox box(QMessageBox::Warning, tr("Block client"),
                    question + u"\n\n"
                        + tr("Its secret stops working at once; the agent is disconnected and "
                             "exits. History is kept."),
                    QMessageBox::Cancel, this);
    box.setTextFormat(Qt::PlainText); // the hostname is the agent's text
    QPushButton *block = box.addButton(tr("Block"), QMessageBox::DestructiveRole);
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    if (box.clickedButton() != block)
        return;
    // Writes go through the store worker; the dashboard's own connection is read-only.
    m_pendingAction = tr("Block client");
    for (const QString &id : ids)
        m_core.revokeClient(id);
}

void MainWindow::onStoreError(const QString &message)
{
    statusBar()->showMessage(tr("Database write error: %1").arg(message), 15000);
    if (m_pendingAction.isEmpty())
        return;
    // The user is waiting for this answer: a status line could go unseen.
    auto *box = new QMessageBox(QMessageBox::Warning, m_pendingAction,
                                tr("Could not save: %1").arg(message), QMessageBox::Ok, this);
    box->setTextFormat(Qt::PlainText); // the message may quote agent-supplied text
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
    m_pendingAction.clear();
}

void MainWindow::restoreSettings()
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("dashboard"));
    restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("windowState")).toByteArray());
    m_restoringHeader = true; // a restored sort is the user's, not a first click
    m_table->horizontalHeader()->restoreState(settings.value(QStringLiteral("clientsHeader")).toByteArray());
    m_sortSection = m_table->horizontalHeader()->sortIndicatorSection();
    m_restoringHeader = false;
    m_detail->splitter()->restoreState(settings.value(QStringLiteral("detailSplitter")).toByteArray());
    const int range = settings.value(QStringLiteral("detailRange"), int(ClientDetailView::Range::Hour)).toInt();
    if (range >= 0 && range < int(ClientDetailView::Range::Custom))
        m_detail->setRange(ClientDetailView::Range(range));
    m_keepRunning = settings.value(QStringLiteral("keepRunningInTray"), true).toBool();
    if (const int theme = settings.value(QStringLiteral("theme"), 0).toInt(); theme > 0 && theme <= int(Theme::Dark))
        setTheme(Theme(theme));
    m_overview->setPinnedList(settings.value(QStringLiteral("pinnedClients")).toStringList());
    const int sort = settings.value(QStringLiteral("overviewSort"), int(OverviewWidget::SortKey::Cpu)).toInt();
    m_overview->setSortKey(OverviewWidget::SortKey(std::clamp(sort, 0, 2)));
    m_tabs->setCurrentIndex(std::clamp(settings.value(QStringLiteral("tab"), 0).toInt(), 0, int(OverviewTab)));
    m_compareSettings = {settings.value(QStringLiteral("compareClients")).toStringList(),
                         settings.value(QStringLiteral("compareMetric"), 0).toInt()};
    settings.endGroup();
    m_compare->setMetric(CompareMetric(std::clamp(m_compareSettings.second, 0, int(CompareMetric::CpuIowait))));
}

void MainWindow::saveSettings()
{
    QSettings settings;
    settings.beginGroup(QStringLiteral("dashboard"));
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("windowState"), saveState());
    settings.setValue(QStringLiteral("clientsHeader"), m_table->horizontalHeader()->saveState());
    settings.setValue(QStringLiteral("detailSplitter"), m_detail->splitter()->saveState());
    if (m_detail->range() != ClientDetailView::Range::Custom)
        settings.setValue(QStringLiteral("detailRange"), int(m_detail->range()));
    settings.setValue(QStringLiteral("overviewSort"), int(m_overview->sortKey()));
    settings.setValue(QStringLiteral("keepRunningInTray"), m_keepRunning);
    settings.setValue(QStringLiteral("theme"), int(m_theme));
    settings.setValue(QStringLiteral("pinnedClients"), m_overview->pinned());
    if (m_compareRestored) // before the first inventory, the restored list is not applied yet
        settings.setValue(QStringLiteral("compareClients"), m_compare->clients());
    settings.setValue(QStringLiteral("compareMetric"), int(m_compare->metric()));
    settings.setValue(QStringLiteral("tab"), std::min(m_tabs->currentIndex(), int(OverviewTab)));
    settings.endGroup();
}

bool MainWindow::showsEmptyHint() const
{
    return m_clientsPages->currentIndex() == 0;
}

QMenu *MainWindow::columnsMenu()
{
    auto *menu = new QMenu(this);
    menu->setAttribute(Qt::WA_DeleteOnClose);
    QHeaderView *header = m_table->horizontalHeader();
    for (int column = 0; column < ClientTableModel::ColumnCount; ++column) {
        QAction *a = menu->addAction(m_model->headerData(column, Qt::Horizontal).toString());
        a->setCheckable(true);
        a->setChecked(!header->isSectionHidden(column));
        // The hostname is how a row is known: it stays.
        a->setEnabled(column != ClientTableModel::HostnameColumn);
        connect(a, &QAction::toggled, this, [this, column](bool on) { m_table->setColumnHidden(column, !on); });
    }
    return menu;
}

bool MainWindow::confirmQuit()
{
    if (!m_core.hub())
        return true; // watching only: the agents' sessions are the ingest nodes'
    const int online = m_model->rowCount() > 0 ? [this] {
        int n = 0;
        for (int r = 0; r < m_model->rowCount(); ++r)
            n += m_model->rowAt(r).online ? 1 : 0;
        return n;
    }() : 0;
    if (online == 0)
        return true;
    QMessageBox box(QMessageBox::Warning, tr("Quit autofactory"),
                    online == 1 ? tr("Quitting stops the server: 1 connected agent loses its connection and keeps "
                                     "its samples in its spool until a server is back.")
                                : tr("Quitting stops the server: %1 connected agents lose their connection and keep "
                                     "their samples in their spools until a server is back.").arg(online),
                    QMessageBox::Cancel, this);
    box.setTextFormat(Qt::PlainText);
    QPushButton *quit = box.addButton(tr("Stop server and quit"), QMessageBox::DestructiveRole);
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    return box.clickedButton() == quit;
}

void MainWindow::quit()
{
    if (!confirmQuit())
        return;
    m_quitting = true;
    close();
    // A window hidden in the tray is not "the last window closed": quit explicitly.
    QCoreApplication::quit();
}

void MainWindow::setTheme(Theme theme)
{
    // The system's palette as the application started with it: what "System" goes back to.
    static const QPalette system = QApplication::palette();
    m_theme = theme;
    QPalette pal;
    switch (theme) {
    case Theme::System:
        pal = system;
        break;
    case Theme::Light:
        pal = QApplication::style()->standardPalette();
        break;
    case Theme::Dark: {
        const QColor window(0x2b, 0x2b, 0x2b), base(0x1e, 0x1e, 0x1e), text(0xe6, 0xe6, 0xe6);
        pal = QPalette(window);
        pal.setColor(QPalette::Window, window);
        pal.setColor(QPalette::WindowText, text);
        pal.setColor(QPalette::Base, base);
        pal.setColor(QPalette::AlternateBase, QColor(0x26, 0x26, 0x26));
        pal.setColor(QPalette::Text, text);
        pal.setColor(QPalette::Button, window);
        pal.setColor(QPalette::ButtonText, text);
        pal.setColor(QPalette::ToolTipBase, QColor(0x3a, 0x3a, 0x3a));
        pal.setColor(QPalette::ToolTipText, text);
        pal.setColor(QPalette::Highlight, QColor(0x2f, 0x6f, 0xb3));
        pal.setColor(QPalette::HighlightedText, Qt::white);
        pal.setColor(QPalette::Mid, QColor(0x55, 0x55, 0x55));
        pal.setColor(QPalette::Midlight, QColor(0x44, 0x44, 0x44));
        pal.setColor(QPalette::PlaceholderText, QColor(0x90, 0x90, 0x90));
        for (QPalette::ColorRole role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
            pal.setColor(QPalette::Disabled, role, QColor(0x80, 0x80, 0x80));
        break;
    }
    }
    QApplication::setPalette(pal);
}

void MainWindow::setKeepRunningOnClose(bool on)
{
    m_keepRunning = on;
}

bool MainWindow::keepsRunningOnClose() const
{
    return m_keepRunning && m_tray->available();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    if (!m_quitting && keepsRunningOnClose()) {
        // The server keeps serving the fleet; the window comes back from the tray icon.
        event->ignore();
        hide();
        if (!m_toldStillRunning) {
            m_toldStillRunning = true;
            m_tray->showInfo(tr("autofactory is still running"),
                             tr("Agents keep sending and alerts keep coming. Open the dashboard from the tray "
                                "icon; its Quit stops the server."));
        }
        return;
    }
    QMainWindow::closeEvent(event);
    // The window's close is final: the application ends (dialogs closing never end it).
    if (QGuiApplication::quitOnLastWindowClosed() == false)
        QCoreApplication::quit();
}

bool MainWindow::eventFilter(QObject *watched, QEvent *event)
{
    // A quit from outside (SIGTERM through QCoreApplication::quit, the session ending) closes
    // windows: that close is final, not a move to the tray.
    if (watched == qApp && event->type() == QEvent::Quit)
        m_quitting = true;
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::onAlerts(const QList<server::AlertRecord> &active)
{
    m_alerts->setActive(active);
    QHash<QString, QStringList> byClient;
    m_firing = 0;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (const server::AlertRecord &a : active) {
        const auto rule = server::alertRuleFromKey(a.rule);
        byClient[a.clientId].append(rule ? QString::fromLatin1(server::alertRuleInfo(*rule).title) : a.rule);
        if (a.ackedMs == 0 && !a.silenced(now))
            ++m_firing;
    }
    m_model->setAlerts(byClient);
    m_tray->setFiringCount(m_firing);
    m_tabs->setTabText(AlertsTab, active.isEmpty() ? tr("&Alerts") : tr("&Alerts (%1)").arg(active.size()));
    m_alertLabel->setText(m_firing == 0 ? QString() : m_firing == 1 ? tr("1 alert firing") : tr("%1 alerts firing").arg(m_firing));
    m_alertLabel->setStyleSheet(m_firing == 0 ? QString() : QStringLiteral("color: #c03030; font-weight: bold"));
}

AlertRulesDialog *MainWindow::showAlertRules(const QString &clientId)
{
    auto *dialog = new AlertRulesDialog(&m_core, m_model, m_ruleRows, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    if (!clientId.isEmpty())
        dialog->selectScope(clientId);
    connect(dialog, &QDialog::accepted, this, [this] { statusBar()->showMessage(tr("Alert rules saved"), 5000); });
    dialog->show();
    return dialog;
}

StorageDialog *MainWindow::showStorage()
{
    auto *dialog = new StorageDialog(&m_core, m_reader, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this] {
        statusBar()->showMessage(tr("Retention saved; the server purges by it now"), 5000);
    });
    dialog->show();
    return dialog;
}

NotifiersDialog *MainWindow::showNotifiers()
{
    if (!m_notifiersDialog) {
        m_notifiersDialog = new NotifiersDialog(&m_core, m_notifierList, m_repeatMs, this);
        m_notifiersDialog->setAttribute(Qt::WA_DeleteOnClose);
    }
    m_notifiersDialog->show();
    m_notifiersDialog->raise();
    return m_notifiersDialog;
}

} // namespace autofact::dashboard
