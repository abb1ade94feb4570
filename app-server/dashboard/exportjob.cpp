// SPDX-License-Identifier: MIT
#include "exportjob.h"

#include "dashboardlogging.h"
#include "store/store.h"

#include <QSaveFile>

namespace autofact::dashboard {

using server::CsvExporter;
using server::Store;
using server::StoreOptions;

ExportJob::ExportJob(QString databasePath, CsvExporter::Options options, QString outputPath,
                     QObject *parent)
    : QObject(parent)
    , m_path(std::move(databasePath))
    , m_options(std::move(options))
    , m_output(std::move(outputPath))
{
}

ExportJob::~ExportJob()
{
    cancel();
    if (m_thread)
        m_thread->wait();
}

void ExportJob::start()
{
    if (m_thread)
        return;
    m_thread.reset(QThread::create([this] { run(); }));
    m_thread->setObjectName(QStringLiteral("autofact-export"));
    m_thread->start();
}

void ExportJob::run()
{
    // Signals emitted here reach GUI-thread receivers queued (auto connection across threads).
    auto finish = [this](bool ok, bool cancelled, qint64 rows, const QString &error) {
        Q_EMIT finished(ok, cancelled, rows, error);
    };
    Store store(m_path, StoreOptions{StoreOptions::Mode::ReadOnly});
    if (auto opened = store.open(); !opened)
        return finish(false, false, 0, opened.error().message);
    // An estimate from the minute rollups: an exact count of a long history would keep a
    // closing window waiting, and a progress bar needs no more.
    auto estimate = store.history().estimateSamples(m_options.clientIds, m_options.fromMs, m_options.toMs);
    if (!estimate)
        return finish(false, false, 0, estimate.error().message);
    const qint64 total = std::max<qint64>(0, *estimate);
    Q_EMIT progress(0, total);
    QSaveFile file(m_output);
    if (!file.open(QIODevice::WriteOnly))
        return finish(false, false, 0, tr("cannot write %1: %2").arg(m_output, file.errorString()));
    CsvExporter exporter(store);
    exporter.setCancelFlag(&m_cancel);
    // About 100 progress updates whatever the size, but not one per row.
    const qint64 interval = std::max<qint64>(1000, total / 100);
    exporter.setProgressCallback(
        [this, total](qint64 rows, qint64) { Q_EMIT progress(rows, std::max(rows, total)); }, interval);
    const CsvExporter::Result result = exporter.exportTo(&file, m_options);
    if (!result.ok || result.cancelled) {
        file.cancelWriting();
        return finish(false, result.cancelled, result.rows, result.error);
    }
    if (!file.commit())
        return finish(false, false, result.rows,
                      tr("cannot write %1: %2").arg(m_output, file.errorString()));
    qCInfo(lcDashboard).noquote() << "exported" << result.rows << "rows to" << m_output;
    finish(true, false, result.rows, QString());
}

} // namespace autofact::dashboard
