// SPDX-License-Identifier: MIT
#include "servercommands.h"

#include "csvexporter.h"
#include "store/store.h"
#include "timeargument.h"

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QTextStream>

#include <cstdio>
#include <limits>

namespace autofact::server {

namespace {

constexpr int kExitError = 2;

QString formatUtc(qint64 ms)
{
    if (ms <= 0)
        return QStringLiteral("-");
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODate);
}

// Hostnames and OS strings come from agents: keep terminal control sequences out of the table.
QString printable(const QString &text)
{
    QString out = text;
    for (QChar &c : out) {
        if (c.category() == QChar::Other_Control || c.category() == QChar::Other_Format)
            c = u'?';
    }
    return out;
}

QString oneLine(const QString &text)
{
    QString out = text;
    out.replace(u'\n', u' ');
    out.replace(u'\r', u' ');
    return out;
}

} // namespace

int runClientsCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err)
{
    Store store(dbPath, {StoreOptions::Mode::ReadOnly});
    auto opened = store.open();
    auto read = opened ? store.inventory().clients() : StoreResult<QList<ClientInfo>>(opened.error());
    if (!read) {
        err << "autofactory clients: " << oneLine(read.error().message) << Qt::endl;
        return kExitError;
    }
    const QList<ClientInfo> &clients = *read;

    if (json) {
        QJsonArray array;
        for (const ClientInfo &c : clients) {
            array.append(QJsonObject{
                    {QStringLiteral("id"), c.id},
                    {QStringLiteral("hostname"), c.hostname},
                    {QStringLiteral("os_name"), c.osName},
                    {QStringLiteral("os_version"), c.osVersion},
                    {QStringLiteral("kernel"), c.kernel},
                    {QStringLiteral("arch"), c.arch},
                    {QStringLiteral("cpu_model"), c.cpuModel},
                    {QStringLiteral("cpu_count"), c.cpuCount},
                    {QStringLiteral("mem_total"), qint64(c.memTotal)},
                    {QStringLiteral("agent_version"), c.agentVersion},
                    {QStringLiteral("first_seen"), formatUtc(c.firstSeenMs)},
                    {QStringLiteral("last_seen"), formatUtc(c.lastSeenMs)},
                    {QStringLiteral("first_seen_ms"), c.firstSeenMs},
                    {QStringLiteral("last_seen_ms"), c.lastSeenMs},
                    {QStringLiteral("connections"), c.connectionCount},
                    {QStringLiteral("samples"), c.sampleCount},
                    {QStringLiteral("online"), c.online},
                    {QStringLiteral("forgotten"), c.forgotten},
                    {QStringLiteral("config_revision"), qint64(c.configRevision)},
                    {QStringLiteral("applied_revision"), qint64(c.appliedRevision)},
                    {QStringLiteral("dropped_total"), qint64(c.droppedTotal)},
                    {QStringLiteral("last_sequence"), qint64(c.lastSequence)},
            });
        }
        out << QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Indented));
        out.flush();
        return 0;
    }

    const QStringList headers = {QStringLiteral("ID"),          QStringLiteral("HOSTNAME"),
                                 QStringLiteral("OS"),          QStringLiteral("FIRST SEEN"),
                                 QStringLiteral("LAST SEEN"),   QStringLiteral("CONNECTIONS"),
                                 QStringLiteral("SAMPLES"),     QStringLiteral("STATUS")};
    QList<QStringList> rows;
    for (const ClientInfo &c : clients) {
        const QString os = QString(c.osName + u' ' + c.osVersion).trimmed();
        rows.append({c.id, printable(c.hostname), printable(os), formatUtc(c.firstSeenMs),
                     formatUtc(c.lastSeenMs), QString::number(c.connectionCount),
                     QString::number(c.sampleCount),
                     c.forgotten ? QStringLiteral("forgotten")
                                 : (c.online ? QStringLiteral("online")
                                             : QStringLiteral("offline"))});
    }
    QList<qsizetype> widths;
    for (const QString &h : headers)
        widths.append(h.size());
    for (const QStringList &r : rows)
        for (qsizetype i = 0; i < r.size(); ++i)
            widths[i] = std::max(widths[i], r[i].size());
    const QList<bool> rightAligned = {false, false, false, false, false, true, true, false};
    auto printRow = [&](const QStringList &r) {
        QString line;
        for (qsizetype i = 0; i < r.size(); ++i) {
            if (i)
                line += QStringLiteral("  ");
            const bool last = i == r.size() - 1;
            line += rightAligned[i] ? r[i].rightJustified(widths[i])
                                    : (last ? r[i] : r[i].leftJustified(widths[i]));
        }
        out << line << '\n';
    };
    printRow(headers);
    for (const QStringList &r : rows)
        printRow(r);
    out.flush();
    return 0;
}

int runExportCommand(const QString &dbPath, const QStringList &clients, const QString &from,
                     const QString &to, const QString &outPath, QTextStream &err)
{
    auto fail = [&err](const QString &message) {
        err << "autofactory export: " << oneLine(message) << Qt::endl;
        return kExitError;
    };
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    CsvExporter::Options options;
    QString error;
    if (!from.isEmpty()) {
        const auto ms = parseTimeArgument(from, nowMs, &error);
        if (!ms)
            return fail(QStringLiteral("--from: %1").arg(error));
        options.fromMs = *ms;
    }
    if (!to.isEmpty()) {
        const auto ms = parseTimeArgument(to, nowMs, &error);
        if (!ms)
            return fail(QStringLiteral("--to: %1").arg(error));
        options.toMs = *ms;
    }
    if (options.fromMs > options.toMs)
        return fail(QStringLiteral("--from is later than --to"));

    Store store(dbPath, {StoreOptions::Mode::ReadOnly});
    if (auto opened = store.open(); !opened)
        return fail(opened.error().message);
    auto resolved = store.inventory().resolveClients(clients);
    if (!resolved)
        return fail(resolved.error().message);
    options.clientIds = *resolved;

    const bool toStdout = outPath.isEmpty() || outPath == u"-";
    QFile stdoutFile;
    QSaveFile saveFile(toStdout ? QString() : outPath);
    QIODevice *device = nullptr;
    if (toStdout) {
        if (!stdoutFile.open(stdout, QIODevice::WriteOnly))
            return fail(QStringLiteral("cannot write to stdout: %1").arg(stdoutFile.errorString()));
        device = &stdoutFile;
    } else {
        if (!saveFile.open(QIODevice::WriteOnly))
            return fail(QStringLiteral("cannot write %1: %2").arg(outPath, saveFile.errorString()));
        device = &saveFile;
    }

    CsvExporter exporter(store);
    const CsvExporter::Result result = exporter.exportTo(device, options);
    if (!result.ok) {
        if (!toStdout)
            saveFile.cancelWriting();
        return fail(result.error);
    }
    if (toStdout) {
        if (!stdoutFile.flush())
            return fail(QStringLiteral("cannot write to stdout: %1").arg(stdoutFile.errorString()));
    } else if (!saveFile.commit()) {
        return fail(QStringLiteral("cannot write %1: %2").arg(outPath, saveFile.errorString()));
    }
    return 0;
}

} // namespace autofact::server
