// SPDX-License-Identifier: MIT
#pragma once

#include <optional>

#include "alerts/alertnotice.h"
#include "store/alertstore.h"
#include "store/storetypes.h"

#include <QPointer>

#include <QElapsedTimer>
#include <QMainWindow>
#include <QThread>
#include <QTimer>

#include <deque>
#include <utility>

class QComboBox;
class QLabel;
class QMenu;
class QStackedWidget;
class QLineEdit;
class QTabWidget;
class QTableView;

namespace autofact::server {
class ServerCore;
struct HubActivity;
}

namespace autofact::dashboard {

class AddAgentDialog;
class AlertRulesDialog;
class AlertTray;
class AlertsView;
class CompareView;
class StorageDialog;
class NotifiersDialog;
class ClientDetailView;
class ClientFilterProxy;
class ClientTableModel;
class ExportDialog;
class OverviewWidget;
class StoreReader;

/**
 * The dashboard window over a running ServerCore: clients table, overview grid and client
 * detail as tabs, a status bar with the listening URL, online clients, ingest rate and
 * database size, and the Export / Add agent / Agent behaviour / Block / Forget actions.
 *
 * Owns the reader thread (a read-only Store): nothing here touches the database or the
 * network on the GUI thread.
 */
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    enum Tab { ClientsTab, OverviewTab, DetailTab, AlertsTab, CompareTab };

    explicit MainWindow(server::ServerCore &core, QWidget *parent = nullptr);
    ~MainWindow() override;

    ClientTableModel *model() const { return m_model; }
    ClientFilterProxy *proxy() const { return m_proxy; }
    QTableView *tableView() const { return m_table; }
    QLineEdit *searchBox() const { return m_search; }
    OverviewWidget *overview() const { return m_overview; }
    ClientDetailView *detailView() const { return m_detail; }
    QTabWidget *tabs() const { return m_tabs; }
    StoreReader *reader() const { return m_reader; }
    AlertsView *alertsView() const { return m_alerts; }
    CompareView *compareView() const { return m_compare; }
    /** Compares the selected clients (Clients → Compare), on the Compare tab. */
    void compareSelected();
    AlertTray *alertTray() const { return m_tray; }
    /** The rule editor (non-modal, deleted on close), on @p clientId's rules if given. */
    AlertRulesDialog *showAlertRules(const QString &clientId = QString());
    /** The Storage page: retention, size cap, tier figures (non-modal, deleted on close). */
    StorageDialog *showStorage();
    /** Notification settings (one at a time, non-modal). */
    NotifiersDialog *showNotifiers();
    QString statusText() const;

    /** Shows @p clientId in the detail tab. */
    void openDetail(const QString &clientId);
    /**
     * Creates the export dialog (non-modal, deleted on close), preset to @p clientIds (empty:
     * all) and [@p fromMs, @p toMs) when given, shows it and returns it.
     */
    ExportDialog *showExportDialog(const QStringList &clientIds = {}, qint64 fromMs = 0,
                                   qint64 toMs = 0);
    /** Creates the Add agent dialog (non-modal, deleted on close), shows it and returns it. */
    AddAgentDialog *showAddAgentDialog();
    /**
     * Asks to confirm, then revokes every selected client; the store answers with
     * clientRevoked (the table then shows it blocked) or storeError.
     */
    void blockSelectedClients();
    void showAbout();
    /** With agents connected, asks whether stopping the server is meant; true: go on. */
    bool confirmQuit();
    /** File → Quit and the tray's Quit: asks (confirmQuit), then closes for good and quits. */
    void quit();
    /**
     * Closing the window leaves the server running in the tray (when there is one and this is
     * on, the default); only Quit stops it. Kept in the settings.
     */
    void setKeepRunningOnClose(bool on);
    /** The colours: the system's (default), or a light or dark one chosen in View → Theme. */
    enum class Theme { System, Light, Dark };
    void setTheme(Theme theme);
    Theme theme() const { return m_theme; }
    bool keepsRunningOnClose() const;
    /** The header's menu: one checkable entry per column (a new menu each time). */
    QMenu *columnsMenu();
    QComboBox *stateFilter() const { return m_stateFilter; }
    QComboBox *groupFilter() const { return m_groupFilter; }
    /** Shows one group in the table and the overview (nullopt: all; empty: clients in no group). */
    void setGroupFilter(const std::optional<QString> &group);
    /** Asks for a group name (existing ones offered) for the selected clients. */
    void askGroupOfSelected();
    /** Puts the selected clients into @p group (empty: out of their group), through the store worker. */
    void setGroupOfSelected(const QString &group);
    /**
     * Offers the retired identities (forgotten, not connected) whose history can
     * be joined to the selected client, its own predecessor first; asks to confirm; merges.
     */
    void askMergeIntoSelected();
    /** Clients whose history can be merged into @p clientId, the likeliest first. */
    QStringList mergeCandidates(const QString &clientId) const;
    /** True while no client is known and the first-start hint shows. */
    bool showsEmptyHint() const;
    /** Re-reads the inventory now (it is also refreshed every few seconds). */
    void refreshInventory();

protected:
    void closeEvent(QCloseEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void createActions();
    void onActivity(const server::HubActivity &activity);
    void onInventory(const QList<server::ClientInfo> &clients, qint64 databaseBytes);
    void updateStatusBar();
    void onAlerts(const QList<server::AlertRecord> &active);
    QStringList selectedClientIds() const;
    void forgetSelectedClient();
    void onStoreError(const QString &message);
    void showAgentConfig();
    void restoreSettings();
    void saveSettings();

    server::ServerCore &m_core;
    QThread m_readerThread;
    StoreReader *m_reader = nullptr;
    ClientTableModel *m_model = nullptr;
    ClientFilterProxy *m_proxy = nullptr;
    QTabWidget *m_tabs = nullptr;
    QTableView *m_table = nullptr;
    QLineEdit *m_search = nullptr;
    QComboBox *m_stateFilter = nullptr;
    QComboBox *m_groupFilter = nullptr;
    void fillGroupFilter();
    QStackedWidget *m_clientsPages = nullptr; ///< the empty-state hint, or the table
    int m_sortSection = -1;
    bool m_restoringHeader = false;
    OverviewWidget *m_overview = nullptr;
    ClientDetailView *m_detail = nullptr;
    QLabel *m_urlLabel = nullptr;
    QLabel *m_onlineLabel = nullptr;
    QLabel *m_rateLabel = nullptr;
    QLabel *m_sizeLabel = nullptr;
    QLabel *m_alertLabel = nullptr;
    AlertsView *m_alerts = nullptr;
    CompareView *m_compare = nullptr;
    std::pair<QStringList, int> m_compareSettings; ///< saved hosts and metric, applied after the first inventory
    bool m_compareRestored = false;
    AlertTray *m_tray = nullptr;
    QPointer<NotifiersDialog> m_notifiersDialog;
    QList<server::AlertRuleRow> m_ruleRows;
    qint64 m_repeatMs = server::AlertStore::defaultRepeatIntervalMs;
    QList<server::NotifierInfo> m_notifierList;
    int m_firing = 0;
    bool m_keepRunning = true;
    Theme m_theme = Theme::System;
    bool m_quitting = false;
    bool m_toldStillRunning = false;
    QTimer m_clock;
    QTimer m_inventoryTimer;
    bool m_inventoryPending = false;
    bool m_inventoryAgain = false; ///< asked while a read ran: that read may predate a write
    QString m_pendingAction; ///< a write the user waits for (dialog title), until answered
    bool m_seeded = false; ///< overview sparklines filled from history once
    qint64 m_databaseBytes = -1;
    /// (monotonic ms, samples stored) over the last few seconds, for samples/s.
    std::deque<std::pair<qint64, quint64>> m_rateWindow;
    QElapsedTimer m_monotonic;
};

} // namespace autofact::dashboard
