// SPDX-License-Identifier: MIT
// Notification channels against real receivers: an HTTP server on 127.0.0.1 (port 0) that
// answers as told, or not at all, and real shell commands.
#include "alerts/notificationsender.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

using namespace autofact::server;

namespace {

/** A tiny HTTP/1.1 receiver: answers each POST with the next status of its script. */
class Receiver : public QObject
{
public:
    QList<int> statuses; ///< one per request; past the end: 200. 0: never answer. -1: trickle.
    QList<QByteArray> bodies;
    QList<QByteArray> heads;

    Receiver()
    {
        QVERIFY(m_server.listen(QHostAddress::LocalHost, 0));
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server.nextPendingConnection())
                connect(s, &QTcpSocket::readyRead, this, [this, s] { onData(s); });
        });
    }
    QString url() const { return QStringLiteral("http://127.0.0.1:%1/hook?token=s3cret").arg(m_server.serverPort()); }

private:
    void onData(QTcpSocket *s)
    {
        QByteArray &buf = m_buffers[s];
        buf += s->readAll();
        const qsizetype end = buf.indexOf("\r\n\r\n");
        if (end < 0)
            return;
        const QByteArray head = buf.left(end);
        qsizetype length = 0;
        for (const QByteArray &line : head.split('\n'))
            if (line.toLower().startsWith("content-length:"))
                length = line.mid(15).trimmed().toLongLong();
        if (buf.size() < end + 4 + length)
            return;
        heads.append(head);
        bodies.append(buf.mid(end + 4, length));
        buf.remove(0, end + 4 + length);
        const int status = statuses.value(bodies.size() - 1, 200);
        if (status == 0)
            return; // keep the connection open and say nothing
        if (status < 0) {
            // An answer that never ends: a header byte every 100 ms, never the blank line.
            s->write("HTTP/1.1 200 OK\r\nX-Slow: ");
            auto *drip = new QTimer(s);
            connect(drip, &QTimer::timeout, s, [s] { s->write("a"); });
            drip->start(100);
            return;
        }
        s->write(QStringLiteral("HTTP/1.1 %1 X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                         .arg(status)
                         .toLatin1());
        s->disconnectFromHost();
    }

    QTcpServer m_server;
    QHash<QTcpSocket *, QByteArray> m_buffers;
};

AlertNotice firing()
{
    AlertNotice n;
    n.alertId = 12;
    n.rule = QStringLiteral("cpu_busy");
    n.ruleTitle = QStringLiteral("CPU busy");
    n.clientId = QStringLiteral("0123abcd");
    n.hostname = QStringLiteral("web01");
    n.value = 97.5;
    n.threshold = 90;
    n.unit = QStringLiteral("%");
    n.startedMs = 1'780'000'000'000;
    n.summary = QStringLiteral("web01: CPU busy 97.5 % (above 90.0 %)");
    n.urlHint = QStringLiteral("autofact://srv/client/0123abcd/alert/12");
    return n;
}

NotifierInfo channel(qint64 id, NotifierInfo::Kind kind, const QString &target)
{
    NotifierInfo n;
    n.id = id;
    n.kind = kind;
    n.target = target;
    return n;
}

NotificationSender::Policy fast()
{
    NotificationSender::Policy p;
    p.attempts = 3;
    p.firstRetryMs = 50;
    p.timeoutMs = 500;
    p.commandTimeoutMs = 1000;
    return p;
}

struct Outcome {
    qint64 id = 0;
    bool ok = false;
    QString error;
};

} // namespace

class TestNotificationSender : public QObject
{
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    /** Sends @p notice to @p notifiers and waits for every delivered(). */
    static QList<Outcome> deliver(NotificationSender &sender, const QList<NotifierInfo> &notifiers,
                                  const AlertNotice &notice, QList<std::tuple<qint64, bool, bool>> *attempts = nullptr)
    {
        QList<Outcome> outcomes;
        QObject context;
        QObject::connect(&sender, &NotificationSender::delivered, &context,
                         [&](qint64 id, const AlertNotice &, bool ok, const QString &error) {
                             outcomes.append({id, ok, error});
                         });
        if (attempts)
            QObject::connect(&sender, &NotificationSender::attemptFinished, &context,
                             [attempts](qint64 id, bool ok, bool dead, const QString &) {
                                 attempts->append({id, ok, dead});
                             });
        sender.setNotifiers(notifiers);
        sender.send(notice);
        // The caller checks the size: an outcome missing after 15 s fails there, not by crashing.
        (void)QTest::qWaitFor([&] { return outcomes.size() >= notifiers.size(); }, 15000);
        return outcomes;
    }

private Q_SLOTS:
    void aWebhookGetsTheDocumentedJson()
    {
        Receiver receiver;
        NotificationSender sender(fast());
        const auto outcomes = deliver(sender, {channel(1, NotifierInfo::Kind::Webhook, receiver.url())}, firing());
        QCOMPARE(outcomes.size(), 1);
        QCOMPARE(outcomes.size(), 1);
        QVERIFY2(outcomes[0].ok, qPrintable(outcomes[0].error));
        QCOMPARE(receiver.bodies.size(), 1);
        QVERIFY(receiver.heads[0].startsWith("POST /hook?token=s3cret HTTP/1.1"));
        QVERIFY(receiver.heads[0].toLower().contains("content-type: application/json"));
        const QJsonObject o = QJsonDocument::fromJson(receiver.bodies[0]).object();
        QCOMPARE(o[QStringLiteral("status")].toString(), QStringLiteral("firing"));
        QCOMPARE(o[QStringLiteral("rule")].toString(), QStringLiteral("cpu_busy"));
        QCOMPARE(o[QStringLiteral("client_id")].toString(), QStringLiteral("0123abcd"));
        QCOMPARE(o[QStringLiteral("hostname")].toString(), QStringLiteral("web01"));
        QCOMPARE(o[QStringLiteral("value")].toDouble(), 97.5);
        QCOMPARE(o[QStringLiteral("threshold")].toDouble(), 90.0);
        QCOMPARE(o[QStringLiteral("started_at")].toString(), QStringLiteral("2026-05-28T20:26:40.000Z"));
        QCOMPARE(o[QStringLiteral("url_hint")].toString(), QStringLiteral("autofact://srv/client/0123abcd/alert/12"));
        QVERIFY(o[QStringLiteral("resolved_at")].isNull());
        QCOMPARE(o[QStringLiteral("test")].toBool(), false);
    }

    void aWebhookAnswering500IsRetriedUntilItTakesIt()
    {
        Receiver receiver;
        receiver.statuses = {500, 503, 200};
        NotificationSender sender(fast());
        QList<std::tuple<qint64, bool, bool>> attempts;
        const auto outcomes = deliver(sender, {channel(7, NotifierInfo::Kind::Webhook, receiver.url())}, firing(), &attempts);
        QCOMPARE(outcomes.size(), 1);
        QVERIFY2(outcomes[0].ok, qPrintable(outcomes[0].error));
        QCOMPARE(receiver.bodies.size(), 3);
        QCOMPARE(receiver.bodies[0], receiver.bodies[2]); // the same notice each time
        QCOMPARE(attempts.size(), 3);
        QCOMPARE(attempts[0], std::make_tuple(qint64(7), false, false));
        QCOMPARE(attempts[2], std::make_tuple(qint64(7), true, false));
        QCOMPARE(sender.pending(), 0);
    }

    void aReceiverThatNeverAnswersIsGivenUpCleanly()
    {
        Receiver receiver;
        receiver.statuses = {0, 0, 0};
        NotificationSender sender(fast());
        QList<std::tuple<qint64, bool, bool>> attempts;
        const auto outcomes = deliver(sender, {channel(3, NotifierInfo::Kind::Webhook, receiver.url())}, firing(), &attempts);
        QCOMPARE(outcomes.size(), 1);
        QVERIFY(!outcomes[0].ok);
        QCOMPARE(outcomes[0].error, QStringLiteral("no answer in time"));
        QCOMPARE(receiver.bodies.size(), 3);
        QCOMPARE(attempts.size(), 3);
        QCOMPARE(attempts.last(), std::make_tuple(qint64(3), false, true)); // one dead letter
        QCOMPARE(sender.pending(), 0);
    }

    void aClientErrorIsNotRetriedAndNoErrorNamesTheUrl()
    {
        Receiver receiver;
        receiver.statuses = {404};
        NotificationSender sender(fast());
        auto outcomes = deliver(sender, {channel(4, NotifierInfo::Kind::Webhook, receiver.url())}, firing());
        QCOMPARE(outcomes.size(), 1);
        QVERIFY(!outcomes[0].ok);
        QVERIFY2(outcomes[0].error.startsWith(QStringLiteral("HTTP 404")), qPrintable(outcomes[0].error));
        QCOMPARE(receiver.bodies.size(), 1);
        // A refused port: retried, and the error (kept in the database, shown) has no secret.
        outcomes = deliver(sender, {channel(5, NotifierInfo::Kind::Webhook, QStringLiteral("http://127.0.0.1:1/x?token=s3cret"))},
                           firing());
        QCOMPARE(outcomes.size(), 1);
        QCOMPARE(outcomes[0].error, QStringLiteral("connection refused"));
        QVERIFY(!outcomes[0].error.contains(QStringLiteral("s3cret")));
    }

    void aCommandRunsWithTheDocumentedEnvironmentAndTheJsonOnStdin()
    {
        const QString env = m_dir.filePath(QStringLiteral("env.txt"));
        const QString in = m_dir.filePath(QStringLiteral("in.json"));
        const QString cmd = QStringLiteral("env | grep '^AUTOFACT_' | sort > '%1'; cat > '%2'").arg(env, in);
        NotificationSender sender(fast());
        AlertNotice resolved = firing();
        resolved.status = AlertNotice::Status::Resolved;
        resolved.resolvedMs = resolved.startedMs + 90'000;
        const auto outcomes = deliver(sender, {channel(2, NotifierInfo::Kind::Command, cmd)}, resolved);
        QCOMPARE(outcomes.size(), 1);
        QVERIFY2(outcomes[0].ok, qPrintable(outcomes[0].error));
        QFile f(env);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString vars = QString::fromUtf8(f.readAll());
        for (const QString &line : {QStringLiteral("AUTOFACT_STATUS=resolved"), QStringLiteral("AUTOFACT_RULE=cpu_busy"),
                                    QStringLiteral("AUTOFACT_CLIENT_ID=0123abcd"), QStringLiteral("AUTOFACT_HOSTNAME=web01"),
                                    QStringLiteral("AUTOFACT_VALUE=97.5"), QStringLiteral("AUTOFACT_THRESHOLD=90"),
                                    QStringLiteral("AUTOFACT_STARTED_AT=2026-05-28T20:26:40.000Z"),
                                    QStringLiteral("AUTOFACT_RESOLVED_AT=2026-05-28T20:28:10.000Z"),
                                    QStringLiteral("AUTOFACT_SUMMARY=web01: CPU busy 97.5 % (above 90.0 %)"),
                                    QStringLiteral("AUTOFACT_ALERT_ID=12"), QStringLiteral("AUTOFACT_TEST=0")})
            QVERIFY2(vars.contains(line + u'\n'), qPrintable(line + QStringLiteral(" missing in:\n") + vars));
        QFile j(in);
        QVERIFY(j.open(QIODevice::ReadOnly));
        QCOMPARE(QJsonDocument::fromJson(j.readAll()).object()[QStringLiteral("status")].toString(), QStringLiteral("resolved"));
    }

    void aFailingOrHungCommandIsRetriedThenADeadLetter()
    {
        NotificationSender sender(fast());
        QList<std::tuple<qint64, bool, bool>> attempts;
        auto outcomes = deliver(sender, {channel(8, NotifierInfo::Kind::Command, QStringLiteral("echo 'smtp: no route' >&2; exit 3"))},
                                firing(), &attempts);
        QVERIFY(!outcomes[0].ok);
        QCOMPARE(outcomes[0].error, QStringLiteral("exit status 3: smtp: no route"));
        QCOMPARE(attempts.size(), 3);
        outcomes = deliver(sender, {channel(9, NotifierInfo::Kind::Command, QStringLiteral("sleep 30"))}, firing());
        QCOMPARE(outcomes.size(), 1);
        QVERIFY(!outcomes[0].ok);
        QVERIFY2(outcomes[0].error.startsWith(QStringLiteral("killed after")), qPrintable(outcomes[0].error));
    }

    void theQueueIsBounded()
    {
        NotificationSender::Policy p = fast();
        p.maxConcurrent = 1;
        p.maxQueued = 2;
        NotificationSender sender(p);
        QList<Outcome> outcomes;
        connect(&sender, &NotificationSender::delivered, this,
                [&](qint64 id, const AlertNotice &, bool ok, const QString &error) { outcomes.append({id, ok, error}); });
        sender.setNotifiers({channel(1, NotifierInfo::Kind::Command, QStringLiteral("true"))});
        for (int i = 0; i < 5; ++i)
            sender.send(firing());
        // One running, two waiting, two turned away at once.
        QCOMPARE(outcomes.size(), 2);
        QVERIFY(outcomes[0].error.startsWith(QStringLiteral("queue full")));
        QTRY_COMPARE(outcomes.size(), 5);
        int ok = 0;
        for (const Outcome &o : std::as_const(outcomes))
            ok += o.ok ? 1 : 0;
        QCOMPARE(ok, 3);
    }

    void aTricklingReceiverIsCutOffAtTheDeadline()
    {
        Receiver receiver;
        receiver.statuses = {-1, -1, -1};
        NotificationSender sender(fast());
        QElapsedTimer clock;
        clock.start();
        const auto outcomes = deliver(sender, {channel(6, NotifierInfo::Kind::Webhook, receiver.url())}, firing());
        QCOMPARE(outcomes.size(), 1);
        QVERIFY(!outcomes[0].ok);
        QCOMPARE(outcomes[0].error, QStringLiteral("no answer in time"));
        QCOMPARE(receiver.bodies.size(), 3);
        // Three 500 ms deadlines and two short pauses, not the receiver's pace.
        QVERIFY2(clock.elapsed() < 5000, qPrintable(QString::number(clock.elapsed())));
    }

    void aRemovedChannelGetsNoMoreRetries()
    {
        Receiver receiver;
        receiver.statuses = {500, 500, 500};
        NotificationSender::Policy p = fast();
        p.firstRetryMs = 300;
        NotificationSender sender(p);
        QList<Outcome> outcomes;
        connect(&sender, &NotificationSender::delivered, this,
                [&](qint64 id, const AlertNotice &, bool ok, const QString &error) { outcomes.append({id, ok, error}); });
        sender.setNotifiers({channel(1, NotifierInfo::Kind::Webhook, receiver.url())});
        sender.send(firing());
        QTRY_COMPARE(receiver.bodies.size(), 1); // the first attempt failed; a retry waits
        sender.setNotifiers({});                 // `notify remove 1`
        QTRY_COMPARE(outcomes.size(), 1);
        QCOMPARE(outcomes[0].error, QStringLiteral("channel removed"));
        QCOMPARE(receiver.bodies.size(), 1);
        QCOMPARE(sender.pending(), 0);
    }

    void disabledChannelsGetNothingAndUnknownIdsSaySo()
    {
        Receiver receiver;
        NotificationSender sender(fast());
        NotifierInfo off = channel(1, NotifierInfo::Kind::Webhook, receiver.url());
        off.enabled = false;
        sender.setNotifiers({off});
        QSignalSpy spy(&sender, &NotificationSender::delivered);
        sender.send(firing());
        QCOMPARE(sender.pending(), 0); // nothing was queued: enqueueing is synchronous
        QCOMPARE(spy.size(), 0);
        QCOMPARE(receiver.bodies.size(), 0);
        sender.sendTo(99, firing());
        QCOMPARE(spy.size(), 1);
        QCOMPARE(spy.first().at(2).toBool(), false);
    }
};

QTEST_GUILESS_MAIN(TestNotificationSender)
#include "tst_notificationsender.moc"
