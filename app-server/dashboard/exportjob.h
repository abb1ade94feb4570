// SPDX-License-Identifier: MIT
#pragma once

#include "csvexporter.h"

#include <QObject>
#include <QPointer>
#include <QThread>

#include <atomic>
#include <memory>

namespace autofact::dashboard {

/**
 * One CSV export on a thread of its own, through the same CsvExporter as
 * `autofactory export`: its own read-only Store, a QSaveFile (the file is complete or not
 * there), progress and cancellation.
 */
class ExportJob : public QObject
{
    Q_OBJECT
public:
    ExportJob(QString databasePath, server::CsvExporter::Options options, QString outputPath,
              QObject *parent = nullptr);
    /** Cancels and waits for the thread, so the file and the database are closed. */
    ~ExportJob() override;

    /** Starts the thread; emits progress() and then finished() once. */
    void start();
    /** Asks the export to stop; finished() follows with cancelled set. */
    void cancel() { m_cancel.store(true); }
    bool isRunning() const { return m_thread && m_thread->isRunning(); }

Q_SIGNALS:
    /** @p estimatedTotal is -1 while unknown. */
    void progress(qint64 rowsWritten, qint64 estimatedTotal);
    void finished(bool ok, bool cancelled, qint64 rows, const QString &error);

private:
    void run();

    QString m_path;
    server::CsvExporter::Options m_options;
    QString m_output;
    std::atomic<bool> m_cancel{false};
    std::unique_ptr<QThread> m_thread;
};

} // namespace autofact::dashboard
