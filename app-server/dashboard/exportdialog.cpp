// SPDX-License-Identifier: MIT
#include "exportdialog.h"

#include "clienttablemodel.h"
#include "exportjob.h"

#include <QCheckBox>
#include <QCloseEvent>
#include <QDateTime>
#include <QDateTimeEdit>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QStandardPaths>
#include <QVBoxLayout>

namespace autofact::dashboard {

ExportDialog::ExportDialog(QString databasePath, const ClientTableModel *clients, QWidget *parent)
    : QDialog(parent)
    , m_databasePath(std::move(databasePath))
{
    setWindowTitle(tr("Export CSV"));

    auto *clientsBox = new QGroupBox(tr("Clients"), this);
    m_allClients = new QRadioButton(tr("All clients"), clientsBox);
    m_chosenClients = new QRadioButton(tr("These clients:"), clientsBox);
    m_clientList = new QListWidget(clientsBox);
    m_clientList->setMinimumHeight(120);
    m_clientFilter = new QLineEdit(clientsBox);
    m_clientFilter->setPlaceholderText(tr("Find a client"));
    m_clientFilter->setClearButtonEnabled(true);
    if (clients) {
        for (int row = 0; row < clients->rowCount(); ++row) {
            const ClientTableModel::Row &r = clients->rowAt(row);
            const QString label = r.info.hostname.isEmpty()
                                      ? r.info.id
                                      : r.info.hostname + QStringLiteral("  (") + r.info.id + u')';
            auto *item = new QListWidgetItem(label, m_clientList);
            item->setData(Qt::UserRole, r.info.id);
            item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
            item->setCheckState(Qt::Unchecked);
        }
        m_clientList->sortItems(); // by hostname, as a person scans a list
    }
    connect(m_clientFilter, &QLineEdit::textChanged, this, [this](const QString &text) {
        for (int i = 0; i < m_clientList->count(); ++i)
            m_clientList->item(i)->setHidden(!m_clientList->item(i)->text().contains(text.trimmed(), Qt::CaseInsensitive));
    });
    auto *clientsLayout = new QVBoxLayout(clientsBox);
    clientsLayout->addWidget(m_allClients);
    clientsLayout->addWidget(m_chosenClients);
    clientsLayout->addWidget(m_clientFilter);
    clientsLayout->addWidget(m_clientList);
    m_allClients->setChecked(true);
    m_clientList->setEnabled(false);
    connect(m_chosenClients, &QRadioButton::toggled, m_clientList, &QWidget::setEnabled);
    connect(m_chosenClients, &QRadioButton::toggled, m_clientFilter, &QWidget::setEnabled);
    m_clientFilter->setEnabled(false);

    auto *rangeBox = new QGroupBox(tr("Time range"), this);
    m_wholeHistory = new QCheckBox(tr("Whole history"), rangeBox);
    m_from = new QDateTimeEdit(rangeBox);
    m_to = new QDateTimeEdit(rangeBox);
    for (QDateTimeEdit *edit : {m_from, m_to}) {
        edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
        edit->setCalendarPopup(true);
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    setRange(now - 3600 * 1000, now);
    auto *rangeLayout = new QFormLayout(rangeBox);
    rangeLayout->addRow(m_wholeHistory);
    rangeLayout->addRow(tr("From:"), m_from);
    rangeLayout->addRow(tr("To:"), m_to);
    connect(m_wholeHistory, &QCheckBox::toggled, this, [this](bool whole) {
        m_from->setEnabled(!whole);
        m_to->setEnabled(!whole);
    });

    m_path = new QLineEdit(this);
    // Documents when the desktop has one; home otherwise (a server rarely has ~/Documents).
    const QString documents = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    m_path->setText(QDir(QDir(documents).exists() ? documents : QDir::homePath())
                        .filePath(QStringLiteral("autofact-export.csv")));
    m_path->setMinimumWidth(320);
    m_browse = new QPushButton(tr("Browse…"), this);
    auto *fileLayout = new QHBoxLayout;
    fileLayout->addWidget(new QLabel(tr("File:"), this));
    fileLayout->addWidget(m_path, 1);
    fileLayout->addWidget(m_browse);
    connect(m_browse, &QPushButton::clicked, this, &ExportDialog::browse);

    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 100);
    m_progress->setValue(0);
    m_status = new QLabel(tr("Same CSV format as “autofactory export”."), this);
    m_status->setWordWrap(true);

    auto *buttons = new QDialogButtonBox(this);
    m_exportButton = buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole);
    m_exportButton->setDefault(true);
    m_cancelButton = buttons->addButton(QDialogButtonBox::Close);
    // The button box would accept/reject the dialog; these buttons do their own thing.
    connect(m_exportButton, &QPushButton::clicked, this, &ExportDialog::startExport);
    connect(m_cancelButton, &QPushButton::clicked, this, &ExportDialog::cancelOrClose);

    auto *layout = new QVBoxLayout(this);
    auto *top = new QHBoxLayout;
    top->addWidget(clientsBox, 1);
    top->addWidget(rangeBox, 1);
    layout->addLayout(top);
    layout->addLayout(fileLayout);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(buttons);
}

ExportDialog::~ExportDialog() = default;

void ExportDialog::setSelectedClients(const QStringList &clientIds)
{
    m_allClients->setChecked(clientIds.isEmpty());
    m_chosenClients->setChecked(!clientIds.isEmpty());
    for (int i = 0; i < m_clientList->count(); ++i) {
        QListWidgetItem *item = m_clientList->item(i);
        item->setCheckState(clientIds.contains(item->data(Qt::UserRole).toString()) ? Qt::Checked
                                                                                    : Qt::Unchecked);
    }
}

QStringList ExportDialog::selectedClients() const
{
    QStringList ids;
    if (m_allClients->isChecked())
        return ids;
    for (int i = 0; i < m_clientList->count(); ++i) {
        const QListWidgetItem *item = m_clientList->item(i);
        if (item->checkState() == Qt::Checked)
            ids.append(item->data(Qt::UserRole).toString());
    }
    return ids;
}

void ExportDialog::setRange(qint64 fromMs, qint64 toMs)
{
    m_wholeHistory->setChecked(false);
    m_from->setDateTime(QDateTime::fromMSecsSinceEpoch(fromMs));
    m_to->setDateTime(QDateTime::fromMSecsSinceEpoch(toMs));
}

void ExportDialog::setWholeHistory(bool whole)
{
    m_wholeHistory->setChecked(whole);
}

void ExportDialog::setOutputPath(const QString &path)
{
    m_path->setText(path);
}

QString ExportDialog::outputPath() const
{
    return m_path->text().trimmed();
}

bool ExportDialog::isRunning() const
{
    return m_running;
}

QString ExportDialog::statusText() const
{
    return m_status->text();
}

void ExportDialog::browse()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export CSV"), outputPath(),
                                                      tr("CSV files (*.csv);;All files (*)"));
    if (!path.isEmpty()) {
        m_path->setText(path);
        m_replaceConfirmed = path; // the file dialog asked about replacing it already
    }
}

void ExportDialog::startExport()
{
    if (isRunning())
        return;
    if (outputPath().isEmpty()) {
        m_status->setText(tr("Choose a file to write."));
        return;
    }
    // A typed path that exists: say so, and replace it only when Export is pressed again.
    if (QFileInfo(outputPath()).isDir()) {
        m_status->setText(tr("%1 is a folder: choose a file name.").arg(outputPath()));
        return;
    }
    if (QFileInfo::exists(outputPath()) && m_replaceConfirmed != outputPath()) {
        m_replaceConfirmed = outputPath();
        m_status->setText(tr("%1 exists. Press Export again to replace it.").arg(outputPath()));
        return;
    }
    m_replaceConfirmed.clear(); // the next export to it asks again
    server::CsvExporter::Options options;
    options.clientIds = selectedClients();
    if (m_chosenClients->isChecked() && options.clientIds.isEmpty()) {
        m_status->setText(tr("Tick at least one client, or choose “All clients”."));
        return;
    }
    if (!m_wholeHistory->isChecked()) {
        options.fromMs = m_from->dateTime().toMSecsSinceEpoch();
        options.toMs = m_to->dateTime().toMSecsSinceEpoch();
        if (options.fromMs >= options.toMs) {
            m_status->setText(tr("“From” must be earlier than “To”."));
            return;
        }
    }
    m_job = std::make_unique<ExportJob>(m_databasePath, options, outputPath());
    connect(m_job.get(), &ExportJob::progress, this, &ExportDialog::onProgress);
    connect(m_job.get(), &ExportJob::finished, this, &ExportDialog::onFinished);
    m_progress->setRange(0, 0); // busy until the row count is known
    m_status->setText(tr("Counting samples…"));
    setRunning(true);
    m_job->start();
}

void ExportDialog::cancelOrClose()
{
    if (isRunning()) {
        m_job->cancel();
        m_status->setText(tr("Cancelling…"));
        return;
    }
    reject();
}

void ExportDialog::closeEvent(QCloseEvent *event)
{
    if (isRunning()) {
        m_job->cancel();
        event->ignore();
        return;
    }
    QDialog::closeEvent(event);
}

void ExportDialog::onProgress(qint64 rows, qint64 total)
{
    if (total > 0) {
        m_progress->setRange(0, 1000);
        m_progress->setValue(int(std::min<qint64>(1000, rows * 1000 / total)));
        m_status->setText(tr("%1 of %2 rows written…")
                              .arg(QLocale().toString(rows), QLocale().toString(total)));
    } else {
        m_progress->setRange(0, 0);
    }
}

void ExportDialog::onFinished(bool ok, bool cancelled, qint64 rows, const QString &error)
{
    setRunning(false);
    m_progress->setRange(0, 1000);
    if (ok) {
        m_progress->setValue(1000);
        m_status->setText(tr("Wrote %1 rows to %2.").arg(QLocale().toString(rows), outputPath()));
    } else if (cancelled) {
        m_progress->setValue(0);
        m_status->setText(tr("Cancelled; no file was written."));
    } else {
        m_progress->setValue(0);
        m_status->setText(tr("Export failed: %1").arg(error));
    }
    Q_EMIT exportFinished(ok, rows, ok ? QString() : (cancelled ? tr("cancelled") : error));
}

void ExportDialog::setRunning(bool running)
{
    m_running = running;
    m_exportButton->setEnabled(!running);
    m_browse->setEnabled(!running);
    m_path->setEnabled(!running);
    m_cancelButton->setText(running ? tr("Cancel") : tr("Close"));
}

} // namespace autofact::dashboard
