// SPDX-License-Identifier: MIT
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <QStringView>

#include <atomic>
#include <functional>
#include <limits>
#include <optional>

class QIODevice;

namespace autofact::server {

class Store;

/**
 * Writes stored samples as RFC 4180 CSV (comma-separated, CRLF line ends, fields with a
 * comma, quote, CR or LF quoted with quotes doubled). Format: docs/STORAGE.md.
 *
 * Streams: rows go from a forward-only SQLite statement through a fixed-size buffer to the
 * device, so memory stays flat whatever the row count. Runs on whatever thread owns the Store
 * passed in; progress is reported through a callback, cancellation through an atomic flag.
 */
class CsvExporter
{
public:
    /** Which rows: samples, or one row per sample and device of one kind. */
    enum class Table { Samples, Filesystems, Disks, Network, Temperatures };
    /** "samples", "filesystems", "disks", "network", "temperatures" (the --table names). */
    static std::optional<Table> tableFromName(QStringView name);

    struct Options {
        Table table = Table::Samples;
        QStringList clientIds; ///< resolved IDs (Store::resolveClients); empty: every client
        qint64 fromMs = std::numeric_limits<qint64>::min(); ///< inclusive
        qint64 toMs = std::numeric_limits<qint64>::max();   ///< exclusive
    };
    struct Result {
        bool ok = false;
        bool cancelled = false;
        qint64 rows = 0; ///< raw sample rows written (header excluded)
        qint64 rollupRows = 0; ///< rows from the minute or hour rollups where raw samples expired
        QString error;   ///< one line, when !ok
    };
    /** Called every progressInterval rows and once at the end; total is -1 if unknown. */
    using ProgressCallback = std::function<void(qint64 rowsWritten, qint64 estimatedTotal)>;

    explicit CsvExporter(Store &store);

    void setProgressCallback(ProgressCallback callback, qint64 progressInterval = 65536);
    /** Checked before every row; when it becomes true the export stops with cancelled set. */
    void setCancelFlag(const std::atomic<bool> *cancel) { m_cancel = cancel; }

    /** Writes the header and every matching sample to @p device (open for writing). */
    Result exportTo(QIODevice *device, const Options &options);

    /** The header row of @p table, CRLF included. */
    static QByteArray headerLine(Table table = Table::Samples);
    /**
     * Appends @p text to @p out as one CSV text field, quoted only when needed; a field a
     * spreadsheet would run as a formula (starting with = + - @, tab or CR) is neutralised
     * with a leading apostrophe.
     */
    static void appendField(QByteArray &out, QStringView text);

private:
    /** exportTo() for the device tables: read a day at a time, so memory stays bounded. */
    Result exportDevices(QIODevice *device, const Options &options, const QStringList &ids);

    Store &m_store;
    ProgressCallback m_progress;
    qint64 m_progressInterval = 65536;
    const std::atomic<bool> *m_cancel = nullptr;
};

} // namespace autofact::server
