// SPDX-License-Identifier: MIT
#pragma once

#include "alertnotice.h"
#include "store/alertstore.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QProcessEnvironment>

#include <deque>
#include <memory>

class QNetworkAccessManager;

namespace autofact::server {

/**
 * Delivers AlertNotices to the notification channels: webhooks (an HTTP POST of the JSON in
 * docs/ALERTS.md) and commands (`/bin/sh -c CMD` with the alert in AUTOFACT_* variables and
 * the same JSON on standard input). Runs on its own thread in the server, so a slow receiver
 * or a hung command never holds up ingest or the dashboard.
 *
 * A delivery that fails (no answer within the timeout, a refused connection, HTTP 5xx, 408 or
 * 429, a command exiting non-zero or running too long) is retried with doubling pauses; one
 * that fails every attempt, or gets an answer that retrying cannot change (HTTP 4xx), is a
 * dead letter. Queues are bounded: past maxQueued waiting deliveries, new ones are dead
 * letters at once, so a dead receiver cannot make memory grow.
 */
class NotificationSender : public QObject
{
    Q_OBJECT
public:
    struct Policy {
        int attempts = 4;          ///< first try included
        int firstRetryMs = 2000;   ///< then 4 s, 8 s, ...
        int timeoutMs = 10000;     ///< per webhook request
        int commandTimeoutMs = 30000;
        int maxConcurrent = 8;
        int maxQueued = 1000;
    };

    explicit NotificationSender(QObject *parent = nullptr);
    NotificationSender(Policy policy, QObject *parent = nullptr);
    ~NotificationSender() override;

    /** The channels to deliver to (enabled ones get send()). */
    void setNotifiers(const QList<NotifierInfo> &notifiers);
    /** Delivers @p notice to every enabled channel. */
    void send(const autofact::server::AlertNotice &notice);
    /** Delivers @p notice to channel @p notifierId only (tests; also when it is disabled). */
    void sendTo(qint64 notifierId, const autofact::server::AlertNotice &notice);
    /** Delivers @p notice to @p notifier, known to the store or not (`notify test`). */
    void sendToChannel(const NotifierInfo &notifier, const autofact::server::AlertNotice &notice);
    /** A test notice for @p serverName. */
    static AlertNotice testNotice(const QString &serverName);

    /** Deliveries waiting, running or waiting for a retry. */
    int pending() const { return int(m_queue.size()) + m_running + m_retrying; }

    /** The webhook body (docs/ALERTS.md). */
    static QByteArray webhookBody(const AlertNotice &notice);
    /** AUTOFACT_* variables for a command, over @p base. */
    static QProcessEnvironment commandEnvironment(const AlertNotice &notice,
                                                  const QProcessEnvironment &base = QProcessEnvironment::systemEnvironment());

Q_SIGNALS:
    /** One attempt ended: @p ok, or failed with @p error (@p deadLetter: it was the last). */
    void attemptFinished(qint64 notifierId, bool ok, bool deadLetter, const QString &error);
    /** A notice is done with one channel: delivered (@p ok) or given up on. */
    void delivered(qint64 notifierId, const autofact::server::AlertNotice &notice, bool ok,
                   const QString &error);

private:
    struct Delivery {
        NotifierInfo notifier;
        AlertNotice notice;
        QByteArray body;
        int attempt = 0;
        bool pinned = false; ///< sent to this channel by name: goes on even if it leaves the list
    };
    void enqueue(const NotifierInfo &notifier, const AlertNotice &notice, bool pinned);
    /** False (and the delivery ends) when its channel was removed or disabled meanwhile. */
    bool stillWanted(const std::shared_ptr<Delivery> &delivery);

    void pump();
    void start(std::shared_ptr<Delivery> delivery);
    void startWebhook(std::shared_ptr<Delivery> delivery);
    void startCommand(std::shared_ptr<Delivery> delivery);
    /** An attempt ended; @p retryable: trying again could help. */
    void finish(std::shared_ptr<Delivery> delivery, bool ok, bool retryable, const QString &error);

    Policy m_policy;
    QList<NotifierInfo> m_notifiers;
    std::deque<std::shared_ptr<Delivery>> m_queue;
    int m_running = 0;  ///< attempts in flight
    int m_retrying = 0; ///< deliveries waiting for their next attempt (they hold no slot)
    QNetworkAccessManager *m_network = nullptr;
};

} // namespace autofact::server
