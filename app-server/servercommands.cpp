// SPDX-License-Identifier: MIT
#include "servercommands.h"

#include "alerts/alertrules.h"
#include "alerts/notificationsender.h"
#include "clienthealth.h"
#include "bytesize.h"
#include "csvexporter.h"
#include "duration.h"
#include "store/store.h"
#include "timeargument.h"

#include <QDateTime>
#include <QEventLoop>
#include <QFile>
#include <QSysInfo>
#include <QUrl>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QTextStream>

#include <cstdio>
#include <memory>
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

/**
 * An aligned table: columns two spaces apart, the last one not padded; @p rightAligned says
 * which columns (numbers) align right (missing entries: left).
 */
void printTable(QTextStream &out, const QStringList &headers, const QList<QStringList> &rows,
                const QList<bool> &rightAligned)
{
    QList<qsizetype> widths;
    for (const QString &h : headers)
        widths.append(h.size());
    for (const QStringList &r : rows)
        for (qsizetype i = 0; i < r.size(); ++i)
            widths[i] = std::max(widths[i], r[i].size());
    const auto printRow = [&](const QStringList &r) {
        QString line;
        for (qsizetype i = 0; i < r.size(); ++i) {
            if (i)
                line += QStringLiteral("  ");
            const bool last = i == r.size() - 1;
            line += rightAligned.value(i) ? r[i].rightJustified(widths[i])
                                          : (last ? r[i] : r[i].leftJustified(widths[i]));
        }
        out << line << '\n';
    };
    printRow(headers);
    for (const QStringList &r : rows)
        printRow(r);
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
    // Health from what the store knows: connected (an open connection row), data arriving
    // (last_seen_ms moves with every stored batch and every connect), the send interval.
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    QHash<QString, QString> states;
    for (const ClientInfo &c : clients) {
        HealthInputs in;
        in.blocked = c.blockedMs > 0;
        in.connected = c.online;
        in.hasData = c.sampleCount > 0;
        in.lastDataMs = c.lastSeenMs;
        if (auto config = store.configs().effectiveConfig(c.id))
            in.sendIntervalMs = config->sendIntervalMs;
        states.insert(c.id, healthName(classifyHealth(in, nowMs)));
    }

    if (json) {
        QJsonArray array;
        for (const ClientInfo &c : clients) {
            array.append(QJsonObject{
                    {QStringLiteral("id"), c.id},
                    {QStringLiteral("hostname"), c.hostname},
                    {QStringLiteral("state"), states.value(c.id)},
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
                    {QStringLiteral("revoked"), c.blockedMs > 0},
                    {QStringLiteral("revoked_at"), c.blockedMs > 0 ? QJsonValue(formatUtc(c.blockedMs)) : QJsonValue()},
                    {QStringLiteral("config_revision"), qint64(c.configRevision)},
                    {QStringLiteral("applied_revision"), qint64(c.appliedRevision)},
                    {QStringLiteral("dropped_total"), qint64(c.droppedTotal)},
                    {QStringLiteral("last_sequence"), qint64(c.lastSequence)},
                    {QStringLiteral("group"), c.groupName},
                    {QStringLiteral("previous_id"), c.previousId.isEmpty() ? QJsonValue() : QJsonValue(c.previousId)},
            });
        }
        out << QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Indented));
        out.flush();
        return 0;
    }

    const QStringList headers = {QStringLiteral("ID"),          QStringLiteral("HOSTNAME"),
                                 QStringLiteral("OS"),          QStringLiteral("FIRST SEEN"),
                                 QStringLiteral("LAST SEEN"),   QStringLiteral("CONNECTIONS"),
                                 QStringLiteral("SAMPLES"),     QStringLiteral("STATE"),
                                 QStringLiteral("STATUS")};
    QList<QStringList> rows;
    for (const ClientInfo &c : clients) {
        const QString os = QString(c.osName + u' ' + c.osVersion).trimmed();
        rows.append({c.id, printable(c.hostname), printable(os), formatUtc(c.firstSeenMs),
                     formatUtc(c.lastSeenMs), QString::number(c.connectionCount),
                     QString::number(c.sampleCount), states.value(c.id),
                     c.blockedMs > 0 ? QStringLiteral("revoked")
                     : c.forgotten   ? QStringLiteral("forgotten")
                     : c.online      ? QStringLiteral("online")
                                     : QStringLiteral("offline")});
    }
    printTable(out, headers, rows, {false, false, false, false, false, true, true, false, false});
    out.flush();
    return 0;
}

namespace {

/** Opens the database for a writing command (created if missing, as the server would). */
std::unique_ptr<Store> openForWriting(const QString &dbPath, const QString &command, QTextStream &err)
{
    auto store = std::make_unique<Store>(dbPath);
    if (auto opened = store->open(); !opened) {
        err << "autofactory " << command << ": " << oneLine(opened.error().message) << Qt::endl;
        return nullptr;
    }
    return store;
}

} // namespace

int runTokenCreateCommand(const QString &dbPath, int uses, qint64 validForMs, const QString &label,
                          QTextStream &out, QTextStream &err)
{
    auto store = openForWriting(dbPath, QStringLiteral("token create"), err);
    if (!store)
        return kExitError;
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    const std::optional<qint64> expires = validForMs > 0 ? std::optional<qint64>(nowMs + validForMs) : std::nullopt;
    auto created = store->tokens().create(uses, expires, label, nowMs);
    if (!created) {
        err << "autofactory token create: " << oneLine(created.error().message) << Qt::endl;
        return kExitError;
    }
    // The token alone on stdout (for scripts); what it allows on stderr (for people).
    out << created->token << Qt::endl;
    err << "token " << created->id << ": " << uses << (uses == 1 ? " enrolment" : " enrolments") << ", "
        << (expires ? QStringLiteral("expires ") + formatUtc(*expires) : QStringLiteral("never expires"))
        << Qt::endl;
    return 0;
}

int runTokenListCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err)
{
    Store store(dbPath, {StoreOptions::Mode::ReadOnly});
    auto opened = store.open();
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    auto read = opened ? store.tokens().list(nowMs) : StoreResult<QList<TokenInfo>>(opened.error());
    if (!read) {
        err << "autofactory token list: " << oneLine(read.error().message) << Qt::endl;
        return kExitError;
    }
    if (json) {
        QJsonArray array;
        for (const TokenInfo &t : std::as_const(*read)) {
            array.append(QJsonObject{
                {QStringLiteral("id"), t.id},
                {QStringLiteral("label"), t.label},
                {QStringLiteral("state"), tokenStateName(t.state)},
                {QStringLiteral("uses"), t.uses},
                {QStringLiteral("max_uses"), t.maxUses},
                {QStringLiteral("created"), formatUtc(t.createdMs)},
                {QStringLiteral("expires"), t.expiresMs ? QJsonValue(formatUtc(*t.expiresMs)) : QJsonValue()},
                {QStringLiteral("revoked"), t.revokedMs ? QJsonValue(formatUtc(*t.revokedMs)) : QJsonValue()},
                {QStringLiteral("last_used"), t.lastUsedMs ? QJsonValue(formatUtc(*t.lastUsedMs)) : QJsonValue()},
            });
        }
        out << QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Indented));
        out.flush();
        return 0;
    }
    const QStringList headers = {QStringLiteral("ID"), QStringLiteral("STATE"), QStringLiteral("USES"),
                                 QStringLiteral("CREATED"), QStringLiteral("EXPIRES"), QStringLiteral("LABEL")};
    QList<QStringList> rows;
    for (const TokenInfo &t : std::as_const(*read))
        rows.append({t.id, tokenStateName(t.state), QStringLiteral("%1/%2").arg(t.uses).arg(t.maxUses),
                     formatUtc(t.createdMs), t.expiresMs ? formatUtc(*t.expiresMs) : QStringLiteral("never"),
                     printable(oneLine(t.label))});
    printTable(out, headers, rows, {});
    out.flush();
    return 0;
}

int runTokenRevokeCommand(const QString &dbPath, const QString &tokenId, QTextStream &out, QTextStream &err)
{
    auto store = openForWriting(dbPath, QStringLiteral("token revoke"), err);
    if (!store)
        return kExitError;
    if (auto revoked = store->tokens().revoke(tokenId, QDateTime::currentMSecsSinceEpoch()); !revoked) {
        err << "autofactory token revoke: " << oneLine(printable(revoked.error().message)) << Qt::endl;
        return kExitError;
    }
    out << "revoked token " << tokenId << "; agents it enrolled stay enrolled" << Qt::endl;
    return 0;
}

int runRevokeCommand(const QString &dbPath, const QString &client, QTextStream &out, QTextStream &err)
{
    auto store = openForWriting(dbPath, QStringLiteral("revoke"), err);
    if (!store)
        return kExitError;
    auto ids = store->inventory().resolveClients({client});
    StoreResult<ClientInfo> info = ids ? store->inventory().client(ids->first()) : StoreResult<ClientInfo>(ids.error());
    if (!info) {
        err << "autofactory revoke: " << oneLine(printable(info.error().message)) << Qt::endl;
        return kExitError;
    }
    if (auto revoked = store->enrolment().revoke(info->id, QDateTime::currentMSecsSinceEpoch()); !revoked) {
        err << "autofactory revoke: " << oneLine(revoked.error().message) << Qt::endl;
        return kExitError;
    }
    out << "revoked " << info->id << " (" << printable(info->hostname)
        << "); a running server ends its session within 5 s" << Qt::endl;
    return 0;
}

namespace {

QString keepText(qint64 ms)
{
    return ms == 0 ? QStringLiteral("forever") : duration::format(std::chrono::milliseconds(ms));
}

} // namespace

int runStorageCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err)
{
    Store store(dbPath, {StoreOptions::Mode::ReadOnly});
    auto opened = store.open();
    auto stats = opened ? store.retention().stats() : StoreResult<StorageStats>(opened.error());
    auto keep = stats ? store.retention().settings() : StoreResult<RetentionSettings>(stats.error());
    if (!keep) {
        err << "autofactory storage: " << oneLine(keep.error().message) << Qt::endl;
        return kExitError;
    }
    const auto iso = [](qint64 ms) { return ms == 0 ? QJsonValue() : QJsonValue(formatUtc(ms)); };
    if (json) {
        QJsonArray tiers;
        for (const TierStats &t : std::as_const(stats->tiers))
            tiers.append(QJsonObject{{QStringLiteral("name"), t.name},
                                     {QStringLiteral("rows"), t.rows},
                                     {QStringLiteral("bytes"), t.bytes},
                                     {QStringLiteral("oldest"), iso(t.oldestMs)},
                                     {QStringLiteral("newest"), iso(t.newestMs)}});
        const QJsonObject doc{
                {QStringLiteral("file_bytes"), stats->fileBytes},
                {QStringLiteral("used_bytes"), stats->usedBytes},
                {QStringLiteral("tiers"), tiers},
                {QStringLiteral("retention"),
                 QJsonObject{{QStringLiteral("keep_raw_ms"), keep->keepRawMs},
                             {QStringLiteral("keep_minutes_ms"), keep->keepMinutesMs},
                             {QStringLiteral("keep_hours_ms"), keep->keepHoursMs},
                             {QStringLiteral("max_db_bytes"), keep->maxDbBytes}}},
        };
        out << QString::fromUtf8(QJsonDocument(doc).toJson(QJsonDocument::Indented));
        out.flush();
        return 0;
    }
    out << "file " << bytesize::format(stats->fileBytes) << " (pages in use " << bytesize::format(stats->usedBytes) << "); keeps raw "
        << keepText(keep->keepRawMs) << ", minutes " << keepText(keep->keepMinutesMs) << ", hours "
        << keepText(keep->keepHoursMs) << "; "
        << (keep->maxDbBytes > 0 ? QStringLiteral("size cap ") + bytesize::format(keep->maxDbBytes) : QStringLiteral("no size cap"))
        << "\n";
    QList<QStringList> rows;
    for (const TierStats &t : std::as_const(stats->tiers))
        rows.append({t.name, QString::number(t.rows), bytesize::format(t.bytes), formatUtc(t.oldestMs), formatUtc(t.newestMs)});
    printTable(out, {QStringLiteral("TIER"), QStringLiteral("ROWS"), QStringLiteral("BYTES"), QStringLiteral("OLDEST"),
                     QStringLiteral("NEWEST")},
               rows, {false, true, true, false, false});
    out.flush();
    return 0;
}

int runGroupSetCommand(const QString &dbPath, const QString &group, const QStringList &clients, QTextStream &out,
                       QTextStream &err)
{
    const QString name = group.isEmpty() ? QStringLiteral("group clear") : QStringLiteral("group set");
    if (!group.isEmpty())
        if (const QString problem = ConfigStore::groupNameProblem(group); !problem.isEmpty()) {
            err << "autofactory " << name << ": " << problem << Qt::endl;
            return kExitError;
        }
    auto store = openForWriting(dbPath, name, err);
    if (!store)
        return kExitError;
    auto ids = store->inventory().resolveClients(clients);
    if (!ids) {
        err << "autofactory " << name << ": " << oneLine(printable(ids.error().message)) << Qt::endl;
        return kExitError;
    }
    if (auto set = store->configs().setClientGroup(*ids, group); !set) {
        err << "autofactory " << name << ": " << oneLine(set.error().message) << Qt::endl;
        return kExitError;
    }
    const QString what = ids->size() == 1 ? QStringLiteral("1 client") : QStringLiteral("%1 clients").arg(ids->size());
    if (group.isEmpty())
        out << what << " now in no group";
    else
        out << what << " now in group " << group;
    out << "; a running server applies it within 5 s" << Qt::endl;
    return 0;
}

int runGroupListCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err)
{
    Store store(dbPath, {StoreOptions::Mode::ReadOnly});
    auto opened = store.open();
    auto groups = opened ? store.inventory().groups() : StoreResult<QList<GroupInfo>>(opened.error());
    auto rules = groups ? store.alerts().rules() : StoreResult<QList<AlertRuleRow>>(groups.error());
    if (!rules) {
        err << "autofactory group list: " << oneLine(rules.error().message) << Qt::endl;
        return kExitError;
    }
    QHash<QString, int> ruleCounts;
    for (const AlertRuleRow &r : std::as_const(*rules))
        if (r.clientId.startsWith(u'@'))
            ++ruleCounts[r.clientId.mid(1)];
    if (json) {
        QJsonArray array;
        for (const GroupInfo &g : std::as_const(*groups))
            array.append(QJsonObject{{QStringLiteral("name"), g.name},
                                     {QStringLiteral("members"), g.members},
                                     {QStringLiteral("behaviour_override"), g.hasConfigOverride},
                                     {QStringLiteral("alert_overrides"), ruleCounts.value(g.name)}});
        out << QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Indented));
        out.flush();
        return 0;
    }
    QList<QStringList> rows;
    for (const GroupInfo &g : std::as_const(*groups))
        rows.append({printable(g.name), QString::number(g.members),
                     g.hasConfigOverride ? QStringLiteral("own") : QStringLiteral("default"),
                     QString::number(ruleCounts.value(g.name))});
    printTable(out, {QStringLiteral("GROUP"), QStringLiteral("MEMBERS"), QStringLiteral("BEHAVIOUR"),
                     QStringLiteral("ALERT OVERRIDES")},
               rows, {false, true, false, true});
    out.flush();
    return 0;
}

int runMergeCommand(const QString &dbPath, const QString &oldClient, const QString &newClient, QTextStream &out,
                    QTextStream &err)
{
    auto store = openForWriting(dbPath, QStringLiteral("merge"), err);
    if (!store)
        return kExitError;
    // By ID only: hostnames are the agents' words, and the two identities often share one.
    for (const QString &id : {oldClient, newClient})
        if (auto known = store->inventory().clientNum(id); !known) {
            err << "autofactory merge: " << oneLine(printable(known.error().message)) << " (name clients by ID)"
                << Qt::endl;
            return kExitError;
        }
    auto oldInfo = store->inventory().client(oldClient);
    auto merged = store->inventory().mergeClients(oldClient, newClient, QDateTime::currentMSecsSinceEpoch());
    if (!merged) {
        err << "autofactory merge: " << oneLine(printable(merged.error().message)) << Qt::endl;
        return kExitError;
    }
    out << "merged " << oldClient << " (" << (oldInfo ? printable(oldInfo->hostname) : QString()) << ") into "
        << newClient << ": " << merged->samplesMoved << " samples, " << merged->batchesMoved << " batches, "
        << merged->gapsMoved << " gaps, " << merged->alertsMoved << " alerts moved";
    if (merged->duplicateSamples > 0)
        out << "; " << merged->duplicateSamples << " samples both identities stored were kept once";
    if (merged->gapRecorded)
        out << "; the time between them is recorded as a gap (re-enrolled)";
    out << Qt::endl;
    return 0;
}

int runExportCommand(const QString &dbPath, const QStringList &clients, const QString &from,
                     const QString &to, const QString &outPath, const QString &table, QTextStream &err)
{
    auto fail = [&err](const QString &message) {
        err << "autofactory export: " << oneLine(message) << Qt::endl;
        return kExitError;
    };
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    CsvExporter::Options options;
    if (const auto t = CsvExporter::tableFromName(table.isEmpty() ? QStringLiteral("samples") : table))
        options.table = *t;
    else
        return fail(QStringLiteral("--table: expected samples, filesystems, disks, network or temperatures, not %1")
                        .arg(table.left(64)));
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

namespace {

QString alertState(const AlertRecord &a, qint64 nowMs)
{
    if (!a.active())
        return QStringLiteral("resolved");
    if (a.silenced(nowMs))
        return QStringLiteral("silenced");
    return a.ackedMs > 0 ? QStringLiteral("acknowledged") : QStringLiteral("firing");
}

QString ruleValue(const AlertRecord &a, double value)
{
    const auto rule = alertRuleFromKey(a.rule);
    return rule ? formatRuleValue(*rule, value) : QString::number(value);
}

} // namespace

int runAlertsCommand(const QString &dbPath, bool json, bool all, QTextStream &out, QTextStream &err)
{
    Store store(dbPath, {StoreOptions::Mode::ReadOnly});
    auto opened = store.open();
    auto read = opened ? store.alerts().alerts(all) : StoreResult<QList<AlertRecord>>(opened.error());
    if (!read) {
        err << "autofactory alerts: " << oneLine(read.error().message) << Qt::endl;
        return kExitError;
    }
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    if (json) {
        QJsonArray array;
        for (const AlertRecord &a : std::as_const(*read)) {
            const auto rule = alertRuleFromKey(a.rule);
            array.append(QJsonObject{
                    {QStringLiteral("id"), a.id},
                    {QStringLiteral("state"), alertState(a, nowMs)},
                    {QStringLiteral("rule"), a.rule},
                    {QStringLiteral("rule_title"), rule ? QString::fromLatin1(alertRuleInfo(*rule).title) : a.rule},
                    {QStringLiteral("client_id"), a.clientId},
                    {QStringLiteral("hostname"), a.hostname},
                    {QStringLiteral("value"), a.value},
                    {QStringLiteral("threshold"), a.threshold},
                    {QStringLiteral("unit"), rule ? QString::fromLatin1(alertRuleInfo(*rule).unit) : QString()},
                    {QStringLiteral("started_at"), formatUtc(a.startedMs)},
                    {QStringLiteral("fired_at"), formatUtc(a.firedMs)},
                    {QStringLiteral("resolved_at"), a.resolvedMs > 0 ? QJsonValue(formatUtc(a.resolvedMs)) : QJsonValue()},
                    {QStringLiteral("resolution"), a.resolution},
                    {QStringLiteral("acknowledged_at"), a.ackedMs > 0 ? QJsonValue(formatUtc(a.ackedMs)) : QJsonValue()},
                    {QStringLiteral("silenced_until"),
                     a.silencedUntilMs > 0 ? QJsonValue(formatUtc(a.silencedUntilMs)) : QJsonValue()},
                    {QStringLiteral("silence_reason"), a.silenceReason},
            });
        }
        out << QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Indented));
        out.flush();
        return 0;
    }
    const QStringList headers = {QStringLiteral("ID"), QStringLiteral("STATE"), QStringLiteral("RULE"),
                                 QStringLiteral("CLIENT"), QStringLiteral("HOSTNAME"), QStringLiteral("VALUE"),
                                 QStringLiteral("THRESHOLD"), QStringLiteral("STARTED"), QStringLiteral("RESOLVED")};
    QList<QStringList> rows;
    for (const AlertRecord &a : std::as_const(*read))
        rows.append({QString::number(a.id), alertState(a, nowMs), a.rule, a.clientId, printable(oneLine(a.hostname)),
                     ruleValue(a, a.value), ruleValue(a, a.threshold), formatUtc(a.startedMs),
                     a.resolvedMs > 0 ? formatUtc(a.resolvedMs) : QStringLiteral("-")});
    if (rows.isEmpty()) {
        out << (all ? "no alerts recorded" : "no alerts firing") << Qt::endl;
        return 0;
    }
    printTable(out, headers, rows, {true, false, false, false, false, true, true});
    out.flush();
    return 0;
}

int runNotifyAddCommand(const QString &dbPath, const QString &kind, const QString &target, QTextStream &out,
                        QTextStream &err)
{
    NotifierInfo::Kind k;
    if (kind == u"webhook") {
        const QUrl url(target, QUrl::StrictMode);
        if (!url.isValid() || (url.scheme() != u"http" && url.scheme() != u"https") || url.host().isEmpty()) {
            err << "autofactory notify add webhook: expected an http:// or https:// URL" << Qt::endl;
            return kExitError;
        }
        k = NotifierInfo::Kind::Webhook;
    } else if (kind == u"command") {
        if (target.trimmed().isEmpty()) {
            err << "autofactory notify add command: the command is empty" << Qt::endl;
            return kExitError;
        }
        k = NotifierInfo::Kind::Command;
    } else {
        err << "autofactory notify add: expected webhook URL or command CMD" << Qt::endl;
        return kExitError;
    }
    auto store = openForWriting(dbPath, QStringLiteral("notify add"), err);
    if (!store)
        return kExitError;
    auto id = store->alerts().addNotifier(k, target, QDateTime::currentMSecsSinceEpoch());
    if (!id) {
        err << "autofactory notify add: " << oneLine(id.error().message) << Qt::endl;
        return kExitError;
    }
    out << "added " << kind << " notifier " << *id << "; a running server uses it within 5 s"
        << " (try: autofactory notify test " << *id << ")" << Qt::endl;
    return 0;
}

int runNotifyListCommand(const QString &dbPath, bool json, QTextStream &out, QTextStream &err)
{
    Store store(dbPath, {StoreOptions::Mode::ReadOnly});
    auto opened = store.open();
    auto read = opened ? store.alerts().notifiers() : StoreResult<QList<NotifierInfo>>(opened.error());
    if (!read) {
        err << "autofactory notify list: " << oneLine(read.error().message) << Qt::endl;
        return kExitError;
    }
    if (json) {
        QJsonArray array;
        for (const NotifierInfo &n : std::as_const(*read))
            array.append(QJsonObject{
                    {QStringLiteral("id"), n.id},
                    {QStringLiteral("kind"), notifierKindName(n.kind)},
                    {QStringLiteral("target"), n.target},
                    {QStringLiteral("enabled"), n.enabled},
                    {QStringLiteral("created"), formatUtc(n.createdMs)},
                    {QStringLiteral("sent"), qint64(n.sent)},
                    {QStringLiteral("failed_attempts"), qint64(n.failed)},
                    {QStringLiteral("dead_letters"), qint64(n.deadLetters)},
                    {QStringLiteral("last_ok"), n.lastOkMs > 0 ? QJsonValue(formatUtc(n.lastOkMs)) : QJsonValue()},
                    {QStringLiteral("last_error"), n.lastError},
                    {QStringLiteral("last_error_at"), n.lastErrorMs > 0 ? QJsonValue(formatUtc(n.lastErrorMs)) : QJsonValue()},
            });
        out << QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Indented));
        out.flush();
        return 0;
    }
    if (read->isEmpty()) {
        out << "no notifiers (add one: autofactory notify add webhook URL | command CMD)" << Qt::endl;
        return 0;
    }
    const QStringList headers = {QStringLiteral("ID"), QStringLiteral("KIND"), QStringLiteral("SENT"),
                                 QStringLiteral("FAILED"), QStringLiteral("DEAD"), QStringLiteral("LAST ERROR"),
                                 QStringLiteral("TARGET")};
    QList<QStringList> rows;
    for (const NotifierInfo &n : std::as_const(*read))
        rows.append({QString::number(n.id), notifierKindName(n.kind), QString::number(n.sent),
                     QString::number(n.failed), QString::number(n.deadLetters),
                     n.lastError.isEmpty() ? QStringLiteral("-") : printable(oneLine(n.lastError)).left(60),
                     printable(oneLine(n.target))});
    printTable(out, headers, rows, {true, false, true, true, true});
    out.flush();
    return 0;
}

int runNotifyRemoveCommand(const QString &dbPath, qint64 id, QTextStream &out, QTextStream &err)
{
    auto store = openForWriting(dbPath, QStringLiteral("notify remove"), err);
    if (!store)
        return kExitError;
    if (auto removed = store->alerts().removeNotifier(id); !removed) {
        err << "autofactory notify remove: " << oneLine(removed.error().message) << Qt::endl;
        return kExitError;
    }
    out << "removed notifier " << id << Qt::endl;
    return 0;
}

int runNotifyTestCommand(const QString &dbPath, std::optional<qint64> id, QTextStream &out, QTextStream &err)
{
    Store store(dbPath, {StoreOptions::Mode::ReadOnly});
    auto opened = store.open();
    auto read = opened ? store.alerts().notifiers() : StoreResult<QList<NotifierInfo>>(opened.error());
    if (!read) {
        err << "autofactory notify test: " << oneLine(read.error().message) << Qt::endl;
        return kExitError;
    }
    QList<NotifierInfo> targets;
    for (const NotifierInfo &n : std::as_const(*read))
        if (!id || n.id == *id)
            targets.append(n);
    if (targets.isEmpty()) {
        err << "autofactory notify test: "
            << (id ? QStringLiteral("no notifier with ID %1").arg(*id)
                   : QStringLiteral("no notifiers (add one: autofactory notify add webhook URL | command CMD)"))
            << Qt::endl;
        return kExitError;
    }
    // One attempt each: the answer is for a person waiting at the terminal.
    NotificationSender::Policy policy;
    policy.attempts = 1;
    NotificationSender sender(policy);
    QEventLoop loop;
    int waiting = int(targets.size());
    int failed = 0;
    QObject::connect(&sender, &NotificationSender::delivered, &loop,
                     [&](qint64 notifierId, const AlertNotice &, bool ok, const QString &error) {
                         if (ok)
                             out << "notifier " << notifierId << ": delivered" << Qt::endl;
                         else
                             out << "notifier " << notifierId << ": failed: " << printable(oneLine(error)) << Qt::endl;
                         failed += ok ? 0 : 1;
                         if (--waiting == 0)
                             loop.quit();
                     });
    const AlertNotice notice = NotificationSender::testNotice(QSysInfo::machineHostName());
    for (const NotifierInfo &n : std::as_const(targets))
        sender.sendToChannel(n, notice);
    if (waiting > 0)
        loop.exec();
    return failed == 0 ? 0 : kExitError;
}

} // namespace autofact::server
