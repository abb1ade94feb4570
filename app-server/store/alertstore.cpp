// SPDX-License-Identifier: MIT
#include "alertstore.h"

#include "database.h"
#include "storelogging.h"
#include "transaction.h"

namespace autofact::server {

namespace {

QVariant nullableMs(qint64 ms)
{
    return ms > 0 ? QVariant(ms) : QVariant(QMetaType(QMetaType::LongLong));
}

StoreError notFound(const QString &what, qint64 id)
{
    return storeError(StoreError::Kind::NotFound, QStringLiteral("no %1 with ID %2").arg(what).arg(id));
}

const QString kAlertColumns = QStringLiteral(
        "id, rule, client_id, hostname, value, threshold, started_ms, fired_ms, resolved_ms,"
        " acked_ms, silenced_until_ms, silence_reason, notified_ms, resolution");

} // namespace

AlertStore::AlertStore(Database &db)
    : m_db(db)
{
}

AlertStore::~AlertStore() = default;

StoreResult<void> AlertStore::beginBatch()
{
    m_batch = std::make_unique<Transaction>(m_db);
    if (auto b = m_batch->begin(); !b) {
        m_batch.reset();
        return b;
    }
    return {};
}

StoreResult<void> AlertStore::commitBatch()
{
    if (!m_batch)
        return {};
    auto done = m_batch->commit();
    m_batch.reset(); // rolls back if the commit failed
    return done;
}

QString notifierKindName(NotifierInfo::Kind kind)
{
    return kind == NotifierInfo::Kind::Webhook ? QStringLiteral("webhook") : QStringLiteral("command");
}

StoreResult<QList<AlertRuleRow>> AlertStore::rules()
{
    auto q = m_db.exec(QStringLiteral("SELECT rule, client_id, enabled, threshold, for_ms, resolve_ms"
                                      " FROM alert_rules ORDER BY client_id, rule"));
    if (!q)
        return q.error();
    QList<AlertRuleRow> rows;
    while (q->next()) {
        AlertRuleRow r;
        r.rule = q->value(0).toString();
        r.clientId = q->value(1).toString();
        r.settings.enabled = q->value(2).toBool();
        r.settings.threshold = q->value(3).toDouble();
        r.settings.forMs = q->value(4).toLongLong();
        r.settings.resolveMs = q->value(5).toLongLong();
        rows.append(r);
    }
    return rows;
}

StoreResult<void> AlertStore::setRule(const QString &rule, const QString &clientId,
                                      const std::optional<AlertRuleSettings> &settings)
{
    const QString client = clientId.isNull() ? QStringLiteral("") : clientId;
    if (!settings) {
        auto q = m_db.exec(QStringLiteral("DELETE FROM alert_rules WHERE rule = ? AND client_id = ?"),
                           {rule, client});
        return q ? StoreResult<void>() : StoreResult<void>(q.error());
    }
    if (settings->forMs < 0 || settings->resolveMs < 0)
        return storeError(StoreError::Kind::Invalid, QStringLiteral("rule durations cannot be negative"));
    auto q = m_db.exec(QStringLiteral("INSERT INTO alert_rules(rule, client_id, enabled, threshold, for_ms,"
                                      " resolve_ms) VALUES (?,?,?,?,?,?) ON CONFLICT(rule, client_id) DO UPDATE"
                                      " SET enabled = excluded.enabled, threshold = excluded.threshold,"
                                      " for_ms = excluded.for_ms, resolve_ms = excluded.resolve_ms"),
                       {rule, client, settings->enabled ? 1 : 0, settings->threshold, settings->forMs,
                        settings->resolveMs});
    return q ? StoreResult<void>() : StoreResult<void>(q.error());
}

namespace {

QList<AlertRecord> readAlerts(QSqlQuery &q)
{
    QList<AlertRecord> out;
    while (q.next()) {
        AlertRecord a;
        a.id = q.value(0).toLongLong();
        a.rule = q.value(1).toString();
        a.clientId = q.value(2).toString();
        a.hostname = q.value(3).toString();
        a.value = q.value(4).toDouble();
        a.threshold = q.value(5).toDouble();
        a.startedMs = q.value(6).toLongLong();
        a.firedMs = q.value(7).toLongLong();
        a.resolvedMs = q.value(8).toLongLong();
        a.ackedMs = q.value(9).toLongLong();
        a.silencedUntilMs = q.value(10).toLongLong();
        a.silenceReason = q.value(11).toString();
        a.notifiedMs = q.value(12).toLongLong();
        a.resolution = q.value(13).toString();
        out.append(a);
    }
    return out;
}

} // namespace

StoreResult<QList<AlertRecord>> AlertStore::alerts(bool all, int limit)
{
    auto q = m_db.exec(QStringLiteral("SELECT %1 FROM alerts %2 ORDER BY started_ms DESC, id DESC LIMIT ?")
                               .arg(kAlertColumns,
                                    all ? QString() : QStringLiteral("WHERE resolved_ms IS NULL")),
                       {limit});
    if (!q)
        return q.error();
    return readAlerts(*q);
}

StoreResult<QList<AlertRecord>> AlertStore::activeFor(const QString &clientId)
{
    auto q = m_db.exec(QStringLiteral("SELECT %1 FROM alerts WHERE client_id = ? AND resolved_ms IS NULL ORDER BY id")
                               .arg(kAlertColumns),
                       {clientId});
    if (!q)
        return q.error();
    return readAlerts(*q);
}

StoreResult<qint64> AlertStore::insertFiring(const AlertRecord &a, bool *existing)
{
    if (existing)
        *existing = false;
    // Twice at most: an active alert found in the way may be resolved by its node before it is
    // read back, and then the insert goes through.
    for (int attempt = 0; attempt < 2; ++attempt) {
        // DO NOTHING rather than an error: on PostgreSQL a unique violation would abort the
        // whole batch of transitions this insert is part of.
        auto q = m_db.exec(QStringLiteral("INSERT INTO alerts(rule, client_id, hostname, value, threshold,"
                                          " started_ms, fired_ms, notified_ms) VALUES (?,?,?,?,?,?,?,?)"
                                          " ON CONFLICT DO NOTHING RETURNING id"),
                           {a.rule, a.clientId, a.hostname.isNull() ? QStringLiteral("") : a.hostname, a.value,
                            a.threshold, a.startedMs, a.firedMs, nullableMs(a.notifiedMs)});
        if (!q)
            return q.error();
        if (q->next())
            return q->value(0).toLongLong();
        auto held = m_db.exec(QStringLiteral("SELECT id FROM alerts WHERE client_id = ? AND rule = ? AND resolved_ms IS NULL"),
                              {a.clientId, a.rule});
        if (!held)
            return held.error();
        if (held->next()) {
            if (existing)
                *existing = true;
            return held->value(0).toLongLong();
        }
    }
    return databaseError(QStringLiteral("the new alert was neither stored nor found active"));
}

StoreResult<bool> AlertStore::resolve(qint64 id, qint64 resolvedMs, double value, const QString &resolution)
{
    auto q = m_db.exec(QStringLiteral("UPDATE alerts SET resolved_ms = ?, value = ?, resolution = ?"
                                      " WHERE id = ? AND resolved_ms IS NULL"),
                       {resolvedMs, value, resolution, id});
    if (!q)
        return q.error();
    return q->numRowsAffected() > 0;
}

StoreResult<void> AlertStore::setNotified(qint64 id, qint64 nowMs)
{
    auto q = m_db.exec(QStringLiteral("UPDATE alerts SET notified_ms = ? WHERE id = ?"), {nowMs, id});
    return q ? StoreResult<void>() : StoreResult<void>(q.error());
}

StoreResult<void> AlertStore::acknowledge(qint64 id, bool on, qint64 nowMs)
{
    auto q = m_db.exec(QStringLiteral("UPDATE alerts SET acked_ms = ? WHERE id = ?"),
                       {on ? QVariant(nowMs) : nullableMs(0), id});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return notFound(QStringLiteral("alert"), id);
    return {};
}

StoreResult<void> AlertStore::silence(qint64 id, qint64 untilMs, const QString &reason)
{
    auto q = m_db.exec(QStringLiteral("UPDATE alerts SET silenced_until_ms = ?, silence_reason = ? WHERE id = ?"),
                       {nullableMs(untilMs), untilMs > 0 ? reason : QStringLiteral(""), id});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return notFound(QStringLiteral("alert"), id);
    return {};
}

StoreResult<QList<NotifierInfo>> AlertStore::notifiers()
{
    auto q = m_db.exec(QStringLiteral("SELECT id, kind, target, enabled, created_ms, sent, failed, dead_letters,"
                                      " last_ok_ms, last_error, last_error_ms FROM notifiers ORDER BY id"));
    if (!q)
        return q.error();
    QList<NotifierInfo> out;
    while (q->next()) {
        NotifierInfo n;
        n.id = q->value(0).toLongLong();
        n.kind = q->value(1).toString() == u"command" ? NotifierInfo::Kind::Command : NotifierInfo::Kind::Webhook;
        n.target = q->value(2).toString();
        n.enabled = q->value(3).toBool();
        n.createdMs = q->value(4).toLongLong();
        n.sent = q->value(5).toULongLong();
        n.failed = q->value(6).toULongLong();
        n.deadLetters = q->value(7).toULongLong();
        n.lastOkMs = q->value(8).toLongLong();
        n.lastError = q->value(9).toString();
        n.lastErrorMs = q->value(10).toLongLong();
        out.append(n);
    }
    return out;
}

StoreResult<qint64> AlertStore::addNotifier(NotifierInfo::Kind kind, const QString &target, qint64 nowMs)
{
    auto q = m_db.exec(QStringLiteral("INSERT INTO notifiers(kind, target, created_ms) VALUES (?,?,?) RETURNING id"),
                       {notifierKindName(kind), target, nowMs});
    if (!q)
        return q.error();
    if (!q->next())
        return databaseError(QStringLiteral("the new notifier has no ID"));
    const qint64 id = q->value(0).toLongLong();
    // The target may carry a secret (a token in a webhook URL): the log names the ID only.
    qCInfo(lcStore).noquote() << notifierKindName(kind) << "notifier" << id << "added";
    return id;
}

StoreResult<void> AlertStore::removeNotifier(qint64 id)
{
    auto q = m_db.exec(QStringLiteral("DELETE FROM notifiers WHERE id = ?"), {id});
    if (!q)
        return q.error();
    if (q->numRowsAffected() != 1)
        return notFound(QStringLiteral("notifier"), id);
    qCInfo(lcStore).noquote() << "notifier" << id << "removed";
    return {};
}

StoreResult<void> AlertStore::addDeliveries(qint64 id, const DeliveryCounts &c)
{
    auto q = m_db.exec(QStringLiteral("UPDATE notifiers SET sent = sent + ?, failed = failed + ?,"
                                      " dead_letters = dead_letters + ?,"
                                      " last_ok_ms = CASE WHEN ? > 0 THEN ? ELSE last_ok_ms END,"
                                      " last_error = CASE WHEN ? > 0 THEN ? ELSE last_error END,"
                                      " last_error_ms = CASE WHEN ? > 0 THEN ? ELSE last_error_ms END"
                                      " WHERE id = ?"),
                       {qint64(c.sent), qint64(c.failed), qint64(c.deadLetters), c.lastOkMs, c.lastOkMs,
                        c.lastErrorMs, c.lastError.left(500), c.lastErrorMs, c.lastErrorMs, id});
    return q ? StoreResult<void>() : StoreResult<void>(q.error());
}

StoreResult<qint64> AlertStore::repeatIntervalMs()
{
    auto q = m_db.exec(QStringLiteral("SELECT value FROM settings WHERE key = 'alert_repeat_ms'"));
    if (!q)
        return q.error();
    if (!q->next())
        return defaultRepeatIntervalMs;
    bool ok = false;
    const qint64 ms = q->value(0).toLongLong(&ok);
    return ok && ms >= 0 ? ms : defaultRepeatIntervalMs;
}

StoreResult<void> AlertStore::setRepeatIntervalMs(qint64 ms)
{
    if (ms < 0)
        return storeError(StoreError::Kind::Invalid, QStringLiteral("the repeat interval cannot be negative"));
    auto q = m_db.exec(QStringLiteral("INSERT INTO settings(key, value) VALUES ('alert_repeat_ms', ?)"
                                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
                       {QString::number(ms)});
    return q ? StoreResult<void>() : StoreResult<void>(q.error());
}

} // namespace autofact::server
