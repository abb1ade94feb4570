// SPDX-License-Identifier: MIT
#pragma once

#include "alerts/alertnotice.h"
#include "store/alertstore.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace autofact::server {
class ServerCore;
}

namespace autofact::dashboard {

/**
 * Notification settings: the channels (webhooks and commands) with their delivery counts and
 * last error, Add / Remove / Test, and how often a firing alert is sent again. Every change
 * goes through ServerCore; the lists come back through the store worker's signals, and a Test
 * answer from the notification thread, so nothing here waits on the network.
 */
class NotifiersDialog : public QDialog
{
    Q_OBJECT
public:
    NotifiersDialog(server::ServerCore *core, const QList<server::NotifierInfo> &notifiers, qint64 repeatMs,
                    QWidget *parent = nullptr);

    void setNotifiers(const QList<server::NotifierInfo> &notifiers);
    void setRepeatInterval(qint64 ms);
    /** A delivery finished; shown when it was this dialog's test. */
    void onDelivered(qint64 notifierId, const server::AlertNotice &notice, bool ok, const QString &error);

    QTableWidget *table() const { return m_table; }
    QString testResult() const;
    qint64 selectedId() const;
    void selectId(qint64 id);
    /** Adds a channel without asking (the buttons ask first). */
    void addChannel(server::NotifierInfo::Kind kind, const QString &target);
    void testSelected();
    void removeSelected();
    void applyRepeat(const QString &text);

private:
    void askAdd(server::NotifierInfo::Kind kind);
    void updateButtons();

    server::ServerCore *m_core;
    QList<server::NotifierInfo> m_notifiers;
    QTableWidget *m_table = nullptr;
    QLabel *m_result = nullptr;
    QLineEdit *m_repeat = nullptr;
    QPushButton *m_remove = nullptr;
    QPushButton *m_test = nullptr;
    QSet<qint64> m_testing;
};

} // namespace autofact::dashboard
