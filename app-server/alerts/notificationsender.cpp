// SPDX-License-Identifier: MIT
#include "notificationsender.h"

#include "alertslogging.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QProcess>
#include <QSysInfo>
#include <QTimer>
#include <QUrl>

namespace autofact::server {

namespace {

constexpr qsizetype kStderrKept = 300;

QString isoUtc(qint64 ms)
{
    return ms > 0 ? QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs) : QString();
}

// Qt's own error strings for a reply name the URL, and a webhook URL often carries its secret
// (a chat tool's token): say what went wrong in words that name nothing.
QString networkErrorText(QNetworkReply::NetworkError error)
{
    switch (error) {
    case QNetworkReply::ConnectionRefusedError: return QStringLiteral("connection refused");
    case QNetworkReply::RemoteHostClosedError: return QStringLiteral("connection closed by the receiver");
    case QNetworkReply::HostNotFoundError: return QStringLiteral("host not found");
    case QNetworkReply::TimeoutError:
    case QNetworkReply::OperationCanceledError: return QStringLiteral("no answer in time");
    case QNetworkReply::SslHandshakeFailedError: return QStringLiteral("TLS handshake failed");
    case QNetworkReply::TooManyRedirectsError: return QStringLiteral("too many redirects");
    case QNetworkReply::InsecureRedirectError: return QStringLiteral("redirected from https to http");
    case QNetworkReply::ProtocolUnknownError: return QStringLiteral("not an http or https URL");
    default: return QStringLiteral("network error %1").arg(int(error));
    }
}

QString printableLine(const QByteArray &bytes)
{
    QString text = QString::fromUtf8(bytes).simplified();
    for (QChar &c : text)
        if (c.category() == QChar::Other_Control || c.category() == QChar::Other_Format)
            c = u'?';
    return text;
}

} // namespace

NotificationSender::NotificationSender(QObject *parent)
    : NotificationSender(Policy{}, parent)
{
}

NotificationSender::NotificationSender(Policy policy, QObject *parent)
    : QObject(parent)
    , m_policy(policy)
{
    qRegisterMetaType<AlertNotice>();
}

NotificationSender::~NotificationSender() = default;

void NotificationSender::setNotifiers(const QList<NotifierInfo> &notifiers)
{
    m_notifiers = notifiers;
}

AlertNotice NotificationSender::testNotice(const QString &serverName)
{
    AlertNotice n;
    n.test = true;
    n.rule = QStringLiteral("test");
    n.ruleTitle = QStringLiteral("Test");
    n.hostname = serverName;
    n.startedMs = QDateTime::currentMSecsSinceEpoch();
    n.summary = QStringLiteral("%1: test notification from autofactory").arg(serverName);
    n.urlHint = QStringLiteral("autofact://%1/").arg(serverName);
    return n;
}

QByteArray NotificationSender::webhookBody(const AlertNotice &n)
{
    QJsonObject o{
            {QStringLiteral("status"), n.statusName()},
            {QStringLiteral("rule"), n.rule},
            {QStringLiteral("rule_title"), n.ruleTitle},
            {QStringLiteral("client_id"), n.clientId},
            {QStringLiteral("hostname"), n.hostname},
            {QStringLiteral("value"), n.value},
            {QStringLiteral("threshold"), n.threshold},
            {QStringLiteral("unit"), n.unit},
            {QStringLiteral("started_at"), isoUtc(n.startedMs)},
            {QStringLiteral("resolved_at"), n.resolvedMs > 0 ? QJsonValue(isoUtc(n.resolvedMs)) : QJsonValue()},
            {QStringLiteral("alert_id"), n.alertId},
            {QStringLiteral("summary"), n.summary},
            {QStringLiteral("url_hint"), n.urlHint},
            {QStringLiteral("repeat"), n.repeat},
            {QStringLiteral("test"), n.test},
    };
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QProcessEnvironment NotificationSender::commandEnvironment(const AlertNotice &n, const QProcessEnvironment &base)
{
    QProcessEnvironment env = base;
    env.insert(QStringLiteral("AUTOFACT_STATUS"), n.statusName());
    env.insert(QStringLiteral("AUTOFACT_RULE"), n.rule);
    env.insert(QStringLiteral("AUTOFACT_RULE_TITLE"), n.ruleTitle);
    env.insert(QStringLiteral("AUTOFACT_CLIENT_ID"), n.clientId);
    env.insert(QStringLiteral("AUTOFACT_HOSTNAME"), n.hostname);
    env.insert(QStringLiteral("AUTOFACT_VALUE"), QString::number(n.value));
    env.insert(QStringLiteral("AUTOFACT_THRESHOLD"), QString::number(n.threshold));
    env.insert(QStringLiteral("AUTOFACT_UNIT"), n.unit);
    env.insert(QStringLiteral("AUTOFACT_STARTED_AT"), isoUtc(n.startedMs));
    env.insert(QStringLiteral("AUTOFACT_RESOLVED_AT"), isoUtc(n.resolvedMs));
    env.insert(QStringLiteral("AUTOFACT_ALERT_ID"), QString::number(n.alertId));
    env.insert(QStringLiteral("AUTOFACT_SUMMARY"), n.summary);
    env.insert(QStringLiteral("AUTOFACT_URL_HINT"), n.urlHint);
    env.insert(QStringLiteral("AUTOFACT_REPEAT"), n.repeat ? QStringLiteral("1") : QStringLiteral("0"));
    env.insert(QStringLiteral("AUTOFACT_TEST"), n.test ? QStringLiteral("1") : QStringLiteral("0"));
    return env;
}

void NotificationSender::send(const AlertNotice &notice)
{
    for (const NotifierInfo &n : std::as_const(m_notifiers))
        if (n.enabled)
            enqueue(n, notice, false);
}

void NotificationSender::sendTo(qint64 notifierId, const AlertNotice &notice)
{
    for (const NotifierInfo &n : std::as_const(m_notifiers)) {
        if (n.id == notifierId) {
            enqueue(n, notice, true);
            return;
        }
    }
    Q_EMIT delivered(notifierId, notice, false, QStringLiteral("no notifier with ID %1").arg(notifierId));
}

void NotificationSender::sendToChannel(const NotifierInfo &notifier, const AlertNotice &notice)
{
    enqueue(notifier, notice, true);
}

bool NotificationSender::stillWanted(const std::shared_ptr<Delivery> &d)
{
    if (d->pinned)
        return true;
    for (const NotifierInfo &n : std::as_const(m_notifiers))
        if (n.sameChannel(d->notifier))
            return true;
    qCInfo(lcNotify).noquote() << QStringLiteral("notifier %1: removed or changed; alert %2 not sent to it")
                                          .arg(d->notifier.id)
                                          .arg(d->notice.alertId);
    Q_EMIT delivered(d->notifier.id, d->notice, false, QStringLiteral("channel removed"));
    return false;
}

void NotificationSender::enqueue(const NotifierInfo &notifier, const AlertNotice &notice, bool pinned)
{
    if (int(m_queue.size()) + m_retrying >= m_policy.maxQueued) {
        const QString error = QStringLiteral("queue full (%1 notifications waiting)").arg(m_policy.maxQueued);
        qCWarning(lcNotify).noquote() << QStringLiteral("notifier %1: dead letter:").arg(notifier.id) << error;
        Q_EMIT attemptFinished(notifier.id, false, true, error);
        Q_EMIT delivered(notifier.id, notice, false, error);
        return;
    }
    auto d = std::make_shared<Delivery>();
    d->notifier = notifier;
    d->notice = notice;
    d->body = webhookBody(notice);
    d->pinned = pinned;
    m_queue.push_back(std::move(d));
    pump();
}

void NotificationSender::pump()
{
    while (m_running < m_policy.maxConcurrent && !m_queue.empty()) {
        auto d = std::move(m_queue.front());
        m_queue.pop_front();
        if (stillWanted(d))
            start(std::move(d));
    }
}

void NotificationSender::start(std::shared_ptr<Delivery> d)
{
    ++m_running;
    ++d->attempt;
    if (d->notifier.kind == NotifierInfo::Kind::Webhook)
        startWebhook(std::move(d));
    else
        startCommand(std::move(d));
}

void NotificationSender::startWebhook(std::shared_ptr<Delivery> d)
{
    const QUrl url(d->notifier.target);
    if (!url.isValid() || (url.scheme() != u"http" && url.scheme() != u"https")) {
        // Deferred, so every outcome reaches the caller the same way (after it returned).
        QTimer::singleShot(0, this, [this, d] { finish(d, false, false, QStringLiteral("not an http or https URL")); });
        return;
    }
    if (!m_network)
        m_network = new QNetworkAccessManager(this);
    QNetworkRequest request(url);
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    request.setHeader(QNetworkRequest::UserAgentHeader,
                      QStringLiteral("autofactory/%1").arg(QCoreApplication::applicationVersion()));
    request.setTransferTimeout(m_policy.timeoutMs);
    QNetworkReply *reply = m_network->post(request, d->body);
    // The transfer timeout only measures silence: a receiver trickling a byte now and then
    // would hold the slot for ever. This is the whole attempt's deadline.
    QTimer::singleShot(m_policy.timeoutMs, reply, [reply] { reply->abort(); });
    // The answer's body is never used: drop it as it comes, so a receiver cannot fill memory.
    connect(reply, &QNetworkReply::readyRead, reply, [reply] { reply->skip(reply->bytesAvailable()); });
    connect(reply, &QNetworkReply::finished, this, [this, d, reply] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        if (status >= 200 && status < 300) {
            finish(d, true, false, QString());
        } else if (status > 0) {
            const QString reason = printableLine(reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute)
                                                         .toByteArray()
                                                         .left(80));
            // A 4xx other than "timeout" and "too many requests" will be the same next time.
            const bool retryable = status >= 500 || status == 408 || status == 429;
            finish(d, false, retryable, QStringLiteral("HTTP %1 %2").arg(status).arg(reason).trimmed());
        } else {
            finish(d, false, true, networkErrorText(reply->error()));
        }
    });
}

void NotificationSender::startCommand(std::shared_ptr<Delivery> d)
{
    auto *process = new QProcess(this);
#ifdef Q_OS_WIN
    process->setProgram(QStringLiteral("cmd.exe"));
    process->setArguments({QStringLiteral("/C"), d->notifier.target});
#else
    process->setProgram(QStringLiteral("/bin/sh"));
    process->setArguments({QStringLiteral("-c"), d->notifier.target});
#endif
    process->setProcessEnvironment(commandEnvironment(d->notice));
    // Output is not kept (a chatty command must not fill memory), except the start of its
    // error output, which goes into the notifier's last error.
    process->setStandardOutputFile(QProcess::nullDevice());
    auto stderrKept = std::make_shared<QByteArray>();
    connect(process, &QProcess::readyReadStandardError, process, [process, stderrKept] {
        const QByteArray chunk = process->readAllStandardError();
        if (stderrKept->size() < kStderrKept)
            stderrKept->append(chunk.left(kStderrKept - stderrKept->size()));
    });
    auto timedOut = std::make_shared<bool>(false);
    auto *timer = new QTimer(process);
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, process, [process, timedOut] {
        *timedOut = true;
        process->kill();
    });
    connect(process, &QProcess::errorOccurred, this, [this, d, process](QProcess::ProcessError error) {
        if (error != QProcess::FailedToStart)
            return; // the others end in finished()
        process->deleteLater();
        finish(d, false, true, QStringLiteral("cannot start the command: %1").arg(process->errorString()));
    });
    connect(process, &QProcess::finished, this,
            [this, d, process, stderrKept, timedOut](int exitCode, QProcess::ExitStatus status) {
                process->deleteLater();
                if (*timedOut) {
                    finish(d, false, true,
                           QStringLiteral("killed after %1 s").arg(m_policy.commandTimeoutMs / 1000.0));
                } else if (status != QProcess::NormalExit) {
                    finish(d, false, true, QStringLiteral("the command crashed"));
                } else if (exitCode != 0) {
                    const QString tail = printableLine(*stderrKept);
                    finish(d, false, true,
                           QStringLiteral("exit status %1%2").arg(exitCode).arg(tail.isEmpty() ? QString() : QStringLiteral(": ") + tail));
                } else {
                    finish(d, true, false, QString());
                }
            });
    connect(process, &QProcess::started, process, [process, d, timer, this] {
        timer->start(m_policy.commandTimeoutMs);
        process->write(d->body);
        process->write("\n");
        process->closeWriteChannel();
    });
    process->start();
}

void NotificationSender::finish(std::shared_ptr<Delivery> d, bool ok, bool retryable, const QString &error)
{
    --m_running;
    const bool last = ok || !retryable || d->attempt >= m_policy.attempts;
    const bool deadLetter = !ok && last;
    Q_EMIT attemptFinished(d->notifier.id, ok, deadLetter, error);
    if (ok) {
        qCDebug(lcNotify) << "notifier" << d->notifier.id << "delivered alert" << d->notice.alertId;
        Q_EMIT delivered(d->notifier.id, d->notice, true, QString());
    } else if (deadLetter) {
        qCWarning(lcNotify).noquote() << QStringLiteral("notifier %1: gave up on alert").arg(d->notifier.id) << d->notice.alertId
                                      << "after" << d->attempt << "attempt(s):" << error;
        Q_EMIT delivered(d->notifier.id, d->notice, false, error);
    } else {
        const int pause = m_policy.firstRetryMs * (1 << std::min(d->attempt - 1, 10));
        qCInfo(lcNotify).noquote() << QStringLiteral("notifier %1: attempt").arg(d->notifier.id) << d->attempt << "failed:" << error
                                   << "- retrying in" << pause << "ms";
        ++m_retrying;
        QTimer::singleShot(pause, this, [this, d] {
            --m_retrying;
            m_queue.push_front(d);
            pump();
        });
    }
    pump();
}

} // namespace autofact::server
