// SPDX-License-Identifier: MIT
#pragma once

#include <QDialog>

#include <memory>

class QCheckBox;
class QDateTimeEdit;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QRadioButton;

namespace autofact::dashboard {

class ClientTableModel;
class ExportJob;

/**
 * Export CSV from the dashboard: which clients (chosen or all), which time range, which file.
 * The export itself is an ExportJob (CsvExporter, same format as `autofactory export`) on a
 * worker thread; the dialog shows its progress and can cancel it.
 */
class ExportDialog : public QDialog
{
    Q_OBJECT
public:
    ExportDialog(QString databasePath, const ClientTableModel *clients, QWidget *parent = nullptr);
    ~ExportDialog() override;

    /** Checks exactly @p clientIds; an empty list selects "all clients". */
    void setSelectedClients(const QStringList &clientIds);
    QStringList selectedClients() const;
    /** [fromMs, toMs); use setWholeHistory(true) for no bounds. */
    void setRange(qint64 fromMs, qint64 toMs);
    void setWholeHistory(bool whole);
    void setOutputPath(const QString &path);
    QString outputPath() const;

    bool isRunning() const;
    QProgressBar *progressBar() const { return m_progress; }
    QString statusText() const;

public Q_SLOTS:
    /** What the Export button does: validates and starts the job. */
    void startExport();
    /** Cancels a running export (the file is not written), or closes the dialog. */
    void cancelOrClose();

Q_SIGNALS:
    void exportFinished(bool ok, qint64 rows, const QString &error);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void onProgress(qint64 rows, qint64 total);
    void onFinished(bool ok, bool cancelled, qint64 rows, const QString &error);
    void setRunning(bool running);
    void browse();

    QString m_databasePath;
    std::unique_ptr<ExportJob> m_job;
    bool m_running = false; ///< until finished() arrives here (the thread ends a moment later)
    QRadioButton *m_allClients = nullptr;
    QRadioButton *m_chosenClients = nullptr;
    QListWidget *m_clientList = nullptr;
    QLineEdit *m_clientFilter = nullptr;
    QString m_replaceConfirmed; ///< an existing file the user agreed to replace
    QCheckBox *m_wholeHistory = nullptr;
    QDateTimeEdit *m_from = nullptr;
    QDateTimeEdit *m_to = nullptr;
    QLineEdit *m_path = nullptr;
    QPushButton *m_browse = nullptr;
    QProgressBar *m_progress = nullptr;
    QLabel *m_status = nullptr;
    QPushButton *m_exportButton = nullptr;
    QPushButton *m_cancelButton = nullptr;
};

} // namespace autofact::dashboard
