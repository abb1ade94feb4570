// SPDX-License-Identifier: MIT
#include "notifiersdialog.h"

#include "duration.h"
#include "servercore.h"

#include <QDateTime>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>

namespace autofact::dashboard {

using server::NotifierInfo;

namespace {
enum Col { IdCol, KindCol, SentCol, FailedCol, DeadCol, ErrorCol, TargetCol, ColCount };

QTableWidgetItem *item(const QString &text, bool number = false)
{
    auto *i = new QTableWidgetItem(text);
    i->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    if (number)
        i->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return i;
}
} // namespace

NotifiersDialog::NotifiersDialog(server::ServerCore *core, const QList<NotifierInfo> &notifiers, qint64 repeatMs,
                                 QWidget *parent)
    : QDialog(parent)
    , m_core(core)
{
    setWindowTitle(tr("Notifications"));
    m_table = new QTableWidget(0, ColCount);
    m_table->setObjectName(QStringLiteral("notifiers"));
    m_table->setHorizontalHeaderLabels({tr("ID"), tr("Kind"), tr("Sent"), tr("Failed"), tr("Dead letters"),
                                        tr("Last error"), tr("Target")});
    m_table->horizontalHeaderItem(FailedCol)->setToolTip(tr("Attempts that failed; most were retried"));
    m_table->horizontalHeaderItem(DeadCol)->setToolTip(tr("Notifications given up on after every retry"));
    m_table->verticalHeader()->hide();
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->horizontalHeader()->setStretchLastSection(true);

    auto *addWebhook = new QPushButton(tr("Add &webhook…"));
    auto *addCommand = new QPushButton(tr("Add &command…"));
    m_remove = new QPushButton(tr("&Remove"));
    m_test = new QPushButton(tr("&Test"));
    m_test->setObjectName(QStringLiteral("testNotifier"));
    m_test->setToolTip(tr("Send a test notification to the selected channel now"));
    auto *buttons = new QHBoxLayout;
    for (QPushButton *b : {addWebhook, addCommand, m_remove, m_test})
        buttons->addWidget(b);
    buttons->addStretch(1);

    m_result = new QLabel;
    m_result->setTextFormat(Qt::PlainText); // errors quote what receivers answered
    m_result->setWordWrap(true);

    m_repeat = new QLineEdit;
    m_repeat->setToolTip(tr("Like 30m, 4h, 1d; 0 never repeats. Acknowledged and silenced alerts are not repeated."));
    auto *applyButton = new QPushButton(tr("&Apply"));
    auto *repeatRow = new QHBoxLayout;
    repeatRow->addWidget(new QLabel(tr("Send a firing alert again every")));
    repeatRow->addWidget(m_repeat);
    repeatRow->addWidget(applyButton);
    repeatRow->addStretch(1);

    auto *close = new QDialogButtonBox(QDialogButtonBox::Close);
    connect(close, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    auto *hint = new QLabel(tr("Webhooks get an HTTP POST of the alert as JSON; commands run with /bin/sh -c and the "
                               "alert in AUTOFACT_* variables (see autofactory(1)). A failed delivery is tried 4 times "
                               "in all, then counted as a dead letter."));
    hint->setWordWrap(true);
    layout->addWidget(hint);
    layout->addWidget(m_table, 1);
    layout->addLayout(buttons);
    layout->addWidget(m_result);
    layout->addLayout(repeatRow);
    layout->addWidget(close);

    connect(addWebhook, &QPushButton::clicked, this, [this] { askAdd(NotifierInfo::Kind::Webhook); });
    connect(addCommand, &QPushButton::clicked, this, [this] { askAdd(NotifierInfo::Kind::Command); });
    connect(m_remove, &QPushButton::clicked, this, [this] {
        if (QMessageBox::question(this, tr("Remove channel"), tr("Remove channel %1?").arg(selectedId()))
            == QMessageBox::Yes)
            removeSelected();
    });
    connect(m_test, &QPushButton::clicked, this, &NotifiersDialog::testSelected);
    connect(applyButton, &QPushButton::clicked, this, [this] { applyRepeat(m_repeat->text()); });
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &NotifiersDialog::updateButtons);
    setNotifiers(notifiers);
    setRepeatInterval(repeatMs);
    resize(860, 380);
}

void NotifiersDialog::setNotifiers(const QList<NotifierInfo> &notifiers)
{
    const qint64 selected = selectedId();
    m_notifiers = notifiers;
    m_table->setRowCount(int(notifiers.size()));
    for (int r = 0; r < notifiers.size(); ++r) {
        const NotifierInfo &n = notifiers[r];
        m_table->setItem(r, IdCol, item(QString::number(n.id), true));
        m_table->setItem(r, KindCol, item(server::notifierKindName(n.kind)));
        m_table->setItem(r, SentCol, item(QString::number(n.sent), true));
        m_table->setItem(r, FailedCol, item(QString::number(n.failed), true));
        m_table->setItem(r, DeadCol, item(QString::number(n.deadLetters), true));
        m_table->setItem(r, ErrorCol, item(n.lastError.isEmpty() ? QStringLiteral("—") : n.lastError));
        m_table->setItem(r, TargetCol, item(n.target));
    }
    m_table->resizeColumnsToContents();
    selectId(selected);
    updateButtons();
}

void NotifiersDialog::setRepeatInterval(qint64 ms)
{
    m_repeat->setText(ms == 0 ? QStringLiteral("0") : duration::format(std::chrono::milliseconds(ms)));
}

qint64 NotifiersDialog::selectedId() const
{
    const auto rows = m_table->selectionModel()->selectedRows();
    return rows.isEmpty() ? 0 : m_table->item(rows.first().row(), IdCol)->text().toLongLong();
}

void NotifiersDialog::selectId(qint64 id)
{
    for (int r = 0; r < m_table->rowCount(); ++r)
        if (m_table->item(r, IdCol)->text().toLongLong() == id)
            m_table->selectRow(r);
}

QString NotifiersDialog::testResult() const
{
    return m_result->text();
}

void NotifiersDialog::updateButtons()
{
    m_remove->setEnabled(selectedId() > 0);
    m_test->setEnabled(selectedId() > 0);
}

void NotifiersDialog::askAdd(NotifierInfo::Kind kind)
{
    const bool webhook = kind == NotifierInfo::Kind::Webhook;
    bool ok = false;
    const QString target = QInputDialog::getText(
            this, webhook ? tr("Add webhook") : tr("Add command"),
            webhook ? tr("URL to POST alerts to (http:// or https://):")
                    : tr("Command, run with /bin/sh -c (e.g. mail with msmtp, ntfy, a chat tool's CLI):"),
            QLineEdit::Normal, QString(), &ok);
    if (ok)
        addChannel(kind, target.trimmed());
}

void NotifiersDialog::addChannel(NotifierInfo::Kind kind, const QString &target)
{
    if (kind == NotifierInfo::Kind::Webhook) {
        const QUrl url(target, QUrl::StrictMode);
        if (!url.isValid() || (url.scheme() != u"http" && url.scheme() != u"https") || url.host().isEmpty()) {
            m_result->setText(tr("Not added: a webhook needs an http:// or https:// URL."));
            return;
        }
    } else if (target.isEmpty()) {
        m_result->setText(tr("Not added: the command is empty."));
        return;
    }
    m_core->addNotifier(kind, target);
    m_result->setText(tr("Adding…"));
}

void NotifiersDialog::removeSelected()
{
    if (const qint64 id = selectedId(); id > 0) {
        m_core->removeNotifier(id);
        m_result->setText(tr("Removing channel %1…").arg(id));
    }
}

void NotifiersDialog::testSelected()
{
    const qint64 id = selectedId();
    if (id <= 0)
        return;
    m_testing.insert(id);
    m_result->setText(tr("Testing channel %1…").arg(id));
    m_core->testNotifier(id);
}

void NotifiersDialog::onDelivered(qint64 notifierId, const server::AlertNotice &notice, bool ok, const QString &error)
{
    if (!notice.test || !m_testing.remove(notifierId))
        return;
    m_result->setText(ok ? tr("Channel %1: test delivered.").arg(notifierId)
                         : tr("Channel %1: test failed: %2").arg(notifierId).arg(error));
}

void NotifiersDialog::applyRepeat(const QString &text)
{
    qint64 ms = 0;
    if (text.trimmed() != u"0") {
        const auto d = duration::parse(text.trimmed());
        if (!d || d->count() < 60'000) {
            m_result->setText(tr("Repeat: expected a duration of at least 1m (like 30m, 4h), or 0 for never."));
            return;
        }
        ms = d->count();
    }
    m_core->setAlertRepeatInterval(ms);
    m_result->setText(ms == 0 ? tr("Firing alerts are not repeated.")
                              : tr("Firing alerts are repeated every %1.").arg(duration::format(std::chrono::milliseconds(ms))));
}

} // namespace autofact::dashboard
