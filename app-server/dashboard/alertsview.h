// SPDX-License-Identifier: MIT
#pragma once

#include "store/alertstore.h"

#include <QTimer>
#include <QWidget>

class QLabel;
class QPushButton;
class QSortFilterProxyModel;
class QTabWidget;
class QTableView;

namespace autofact::dashboard {

class AlertTableModel;

/**
 * The Alerts tab: alerts firing now and the history, with Acknowledge, Silence (for a while,
 * with a reason) and Lift silence on the selected active alerts, and the way to the rule
 * editor and the notification settings. It only asks (signals); the store worker answers
 * through alertsChanged / alertHistory, which MainWindow feeds in.
 */
class AlertsView : public QWidget
{
    Q_OBJECT
public:
    explicit AlertsView(QWidget *parent = nullptr);

    void setActive(const QList<server::AlertRecord> &active);
    void setHistory(const QList<server::AlertRecord> &history);
    void setNow(qint64 nowMs);

    AlertTableModel *activeModel() const { return m_active; }
    AlertTableModel *historyModel() const { return m_history; }
    QTableView *activeTable() const { return m_activeTable; }
    /** "2 firing · 1 acknowledged · 1 silenced", or "No alerts firing". */
    QString summary() const;
    /** IDs of the selected active alerts. */
    QList<qint64> selectedAlertIds() const;
    /** Silences the selected active alerts for @p forMs with @p reason (no dialog; tests). */
    void silenceSelected(qint64 forMs, const QString &reason);

Q_SIGNALS:
    void acknowledgeRequested(qint64 alertId, bool on);
    /** @p untilMs 0: lift the silence. */
    void silenceRequested(qint64 alertId, qint64 untilMs, const QString &reason);
    void historyRequested();
    void clientActivated(const QString &clientId);
    void rulesRequested();
    void notifiersRequested();

private:
    void updateButtons();
    void askSilence();

    AlertTableModel *m_active = nullptr;
    AlertTableModel *m_history = nullptr;
    QSortFilterProxyModel *m_activeProxy = nullptr;
    QSortFilterProxyModel *m_historyProxy = nullptr;
    QTabWidget *m_tabs = nullptr;
    QTableView *m_activeTable = nullptr;
    QTableView *m_historyTable = nullptr;
    QLabel *m_summary = nullptr;
    QPushButton *m_ack = nullptr;
    QPushButton *m_unack = nullptr;
    QPushButton *m_silence = nullptr;
    QPushButton *m_unsilence = nullptr;
    QTimer m_historyTimer;
};

} // namespace autofact::dashboard
