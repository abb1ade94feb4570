// SPDX-License-Identifier: MIT
// autofactory --metrics: the exposition text value by value, then the real server core with a
// real agent on 127.0.0.1, scraped over HTTP, checked by promtool and (when it runs here) by a
// real Prometheus.
#include "agent.h"
#include "fakesampler.h"
#include "metrics/metricsregistry.h"
#include "servercore.h"
#include "storeworker.h"

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QScopeGuard>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace autofact;
using namespace autofact::agent;
using namespace autofact::server;

namespace {

const QString promtool = QStringLiteral("/usr/bin/promtool");
const QString prometheus = QStringLiteral("/usr/bin/prometheus");

struct Fetched {
    int status = 0;
    QByteArray body;
    QByteArray contentType;
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
};

Fetched fetch(const QUrl &url, const QByteArray &verb = "GET")
{
    QNetworkAccessManager nam;
    QNetworkRequest request(url);
    std::unique_ptr<QNetworkReply> reply(nam.sendCustomRequest(request, verb));
    QSignalSpy finished(reply.get(), &QNetworkReply::finished);
    if (!reply->isFinished() && !finished.wait(15000))
        return {};
    return {reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll(),
            reply->header(QNetworkRequest::ContentTypeHeader).toByteArray(), reply->error()};
}

/** promtool check metrics on @p text: its exit code and what it said. */
std::pair<int, QString> promtoolCheck(const QByteArray &text)
{
    QProcess p;
    p.start(promtool, {QStringLiteral("check"), QStringLiteral("metrics")});
    if (!p.waitForStarted())
        return {-1, QStringLiteral("promtool did not start")};
    p.write(text);
    p.closeWriteChannel();
    if (!p.waitForFinished(30000)) {
        p.kill();
        p.waitForFinished();
        return {-1, QStringLiteral("promtool did not finish")};
    }
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError())};
}

Sample sampleAt(qint64 ms)
{
    Sample s;
    s.timestampMs = ms;
    s.cpu.user = 10.5f;
    s.cpu.system = 2.25f;
    s.cpu.steal = 0.25f;
    s.cpu.idle = 80;
    s.cpu.iowait = 7;
    s.memory.total = 8'000'000'000;
    s.memory.used = 3'000'000'000;
    s.memory.available = 4'500'000'000;
    s.memory.swapTotal = 2048;
    s.memory.swapFree = 1024;
    s.load1 = 0.5f;
    s.load5 = 1.25f;
    s.load15 = 3.1f;
    return s;
}

ClientInfo info(const QString &id, const QString &hostname, qint64 lastSampleMs = 0)
{
    ClientInfo c;
    c.id = id;
    c.hostname = hostname;
    c.lastSampleMs = lastSampleMs;
    return c;
}

/** Whether @p text has @p line as one of its lines. */
bool hasLine(const QByteArray &text, const QByteArray &line)
{
    return text.split('\n').contains(line);
}

/** Lines of @p text that start with @p prefix. */
QList<QByteArray> linesStarting(const QByteArray &text, const QByteArray &prefix)
{
    QList<QByteArray> out;
    for (const QByteArray &line : text.split('\n'))
        if (line.startsWith(prefix))
            out.append(line);
    return out;
}

} // namespace

class TestMetricsEndpoint : public QObject
{
    Q_OBJECT
private:
    std::unique_ptr<QTemporaryDir> m_dir;

    std::unique_ptr<ServerCore> startCore(bool metrics = true)
    {
        ServerCore::Options o;
        o.databasePath = m_dir->filePath(QStringLiteral("server.db"));
        o.network.address = QHostAddress::LocalHost;
        o.network.port = 0;
        o.requireEnrolmentToken = false;
        o.defaults.sampleIntervalMs = 100;
        o.defaults.sendIntervalMs = 300;
        o.defaults.heartbeatIntervalMs = 1000;
        if (metrics)
            o.metrics = MetricsEndpoint::Options{QHostAddress::LocalHost, 0, {}};
        auto core = std::make_unique<ServerCore>(o);
        QString error;
        if (!core->start(&error)) {
            qWarning() << error;
            return {};
        }
        return core;
    }

    AgentSettings agentSettings(const QUrl &server)
    {
        AgentSettings s;
        s.path = m_dir->filePath(QStringLiteral("agent.json"));
        s.server = server;
        s.insecure = true;
        return s;
    }

private slots:
    void init() { m_dir = std::make_unique<QTemporaryDir>(); }
    void cleanup() { m_dir.reset(); }

    void rendersSampleValuesExactly()
    {
        const qint64 now = 1'800'000'000'000;
        MetricsRegistry r;
        r.setInventory({info(QStringLiteral("c1"), QStringLiteral("web-1")),
                        info(QStringLiteral("c2"), QStringLiteral("db-1"), now - 60'000)});
        HubActivity a;
        a.connected = {QStringLiteral("c1")};
        a.onlineNow.insert(QStringLiteral("c1"), true);
        a.latest.insert(QStringLiteral("c1"), sampleAt(now - 2'500));
        a.ackLatencyUs = {30'000, 2'000'000};
        r.applyActivity(a);
        r.recordCommit({2, 40, 2'000});
        r.setQueuedSamples(17);
        AlertRecord cpu;
        cpu.rule = QStringLiteral("cpu_busy");
        AlertRecord unknown;
        unknown.rule = QStringLiteral("from_a_newer_server");
        r.setAlerts({cpu, cpu, unknown});

        const QByteArray text = r.render(now);
        const QByteArray c1 = "{client_id=\"c1\",hostname=\"web-1\"}";
        const QByteArray c2 = "{client_id=\"c2\",hostname=\"db-1\"}";
        const QList<QByteArray> expectedLines = {
                 "autofact_up" + c1 + " 1",
                 "autofact_up" + c2 + " 0",
                 // metrics::cpuPercent: user + nice + system + irq + softirq + steal.
                 "autofact_cpu_busy_percent" + c1 + " 13",
                 "autofact_memory_used_bytes" + c1 + " 3000000000",
                 "autofact_memory_total_bytes" + c1 + " 8000000000",
                 "autofact_memory_available_bytes" + c1 + " 4500000000",
                 "autofact_swap_used_bytes" + c1 + " 1024",
                 "autofact_swap_total_bytes" + c1 + " 2048",
                 "autofact_load1" + c1 + " 0.5",
                 "autofact_load5" + c1 + " 1.25",
                 "autofact_load15" + c1 + " 3.1",
                 "autofact_last_sample_age_seconds" + c1 + " 2.5",
                 "autofact_last_sample_age_seconds" + c2 + " 60",
                 QByteArray("autofact_known_clients 2"),
                 QByteArray("autofact_connected_clients 1"),
                 QByteArray("autofact_samples_stored_total 40"),
                 QByteArray("autofact_store_queue_samples 17"),
                 QByteArray("autofact_ack_latency_seconds_bucket{le=\"0.025\"} 0"),
                 QByteArray("autofact_ack_latency_seconds_bucket{le=\"0.05\"} 1"),
                 QByteArray("autofact_ack_latency_seconds_bucket{le=\"2.5\"} 2"),
                 QByteArray("autofact_ack_latency_seconds_bucket{le=\"+Inf\"} 2"),
                 QByteArray("autofact_ack_latency_seconds_sum 2.03"),
                 QByteArray("autofact_ack_latency_seconds_count 2"),
                 QByteArray("autofact_store_commit_seconds_bucket{le=\"0.001\"} 0"),
                 QByteArray("autofact_store_commit_seconds_bucket{le=\"0.0025\"} 1"),
                 QByteArray("autofact_store_commit_seconds_sum 0.002"),
                 QByteArray("autofact_store_commit_seconds_count 1"),
                 QByteArray("autofact_alerts_firing{rule=\"cpu_busy\"} 2"),
                 QByteArray("autofact_alerts_firing{rule=\"memory_used\"} 0"),
                 QByteArray("autofact_alerts_firing{rule=\"other\"} 1"),
        };
        for (const QByteArray &expected : expectedLines)
            QVERIFY2(hasLine(text, expected), expected.constData());
        // c2 has no session here: no sample gauges, whatever it last sent.
        QVERIFY(!text.contains(QByteArray("autofact_cpu_busy_percent" + c2)));
        QVERIFY(text.contains("# TYPE autofact_ack_latency_seconds histogram\n"));
        QVERIFY(text.contains("# TYPE autofact_samples_stored_total counter\n"));
        QVERIFY(text.endsWith('\n'));

        if (!QFile::exists(promtool))
            QSKIP("promtool is not installed (Debian: prometheus)");
        const auto [code, said] = promtoolCheck(text);
        QVERIFY2(code == 0, qPrintable(said));
    }

    void escapesLabelValues_data()
    {
        QTest::addColumn<QString>("value");
        QTest::addColumn<QByteArray>("escaped");
        QTest::addRow("plain") << QStringLiteral("web-1.example") << QByteArray("web-1.example");
        QTest::addRow("quote") << QStringLiteral("a\"b") << QByteArray("a\\\"b");
        QTest::addRow("backslash") << QStringLiteral("a\\b") << QByteArray("a\\\\b");
        QTest::addRow("newline") << QStringLiteral("a\nb") << QByteArray("a\\nb");
        QTest::addRow("all-and-closing-brace") << QStringLiteral("\\\"\n}") << QByteArray("\\\\\\\"\\n}");
        QTest::addRow("utf8") << QStringLiteral("größe-β") << QStringLiteral("größe-β").toUtf8();
        QTest::addRow("empty") << QString() << QByteArray();
    }
    void escapesLabelValues()
    {
        QFETCH(QString, value);
        QFETCH(QByteArray, escaped);
        QCOMPARE(MetricsRegistry::escapeLabelValue(value), escaped);
        // In a whole exposition too, as a hostile agent's hostname.
        MetricsRegistry r;
        r.setInventory({info(QStringLiteral("c1"), value)});
        const QByteArray text = r.render(0);
        QVERIFY2(hasLine(text, "autofact_up{client_id=\"c1\",hostname=\"" + escaped + "\"} 0"), text.constData());
        if (!QFile::exists(promtool))
            QSKIP("promtool is not installed (Debian: prometheus)");
        const auto [code, said] = promtoolCheck(text);
        QVERIFY2(code == 0, qPrintable(said));
    }

    void clientWaitsForItsHostname()
    {
        MetricsRegistry r;
        HubActivity a;
        a.connected = {QStringLiteral("new")};
        a.latest.insert(QStringLiteral("new"), sampleAt(1000));
        r.applyActivity(a);
        // Not rendered until the inventory names it: its labels never change after a first scrape.
        QVERIFY(r.needsInventory());
        QVERIFY(!r.render(2000).contains("client_id=\"new\""));
        r.setInventory({info(QStringLiteral("new"), QStringLiteral("fresh"))});
        QVERIFY(!r.needsInventory());
        QVERIFY(r.render(2000).contains("autofact_load1{client_id=\"new\",hostname=\"fresh\"} 0.5"));

        // Gone from the inventory and offline (forgotten with its history): gone here too.
        HubActivity gone;
        gone.disconnected = {QStringLiteral("new")};
        r.applyActivity(gone);
        r.setInventory({});
        QCOMPARE(r.clientCount(), 0);
        QVERIFY(!r.render(2000).contains("client_id=\"new\""));

        // An unreadable inventory: rendered without a hostname rather than never.
        r.applyActivity(a);
        r.giveUpOnInventory();
        QVERIFY(r.render(2000).contains("autofact_up{client_id=\"new\",hostname=\"\"} 1"));
    }

    void servesTheRealServerToPromtool()
    {
        auto core = startCore();
        QVERIFY(core);
        const QUrl url = core->metricsUrl();
        QVERIFY(url.isValid());
        QCOMPARE(url.host(), QStringLiteral("127.0.0.1"));
        QVERIFY(url.port() > 0);
        QCOMPARE(url.path(), QStringLiteral("/metrics"));

        Agent agent(agentSettings(core->url()),
                    std::make_unique<testdata::FakeSampler>(2, QStringLiteral("we\"ird\\host")));
        QString error;
        QVERIFY2(agent.start(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!agent.settings().id.isEmpty(), 10000);
        const QByteArray labels = "{client_id=\"" + agent.settings().id.toUtf8() + "\",hostname=\"we\\\"ird\\\\host\"}";

        Fetched f;
        // Up, with a sample, once the hub's news and the inventory reached the endpoint.
        QTRY_VERIFY_WITH_TIMEOUT((f = fetch(url)).body.contains(QByteArray("autofact_cpu_busy_percent" + labels)), 15000);
        QCOMPARE(f.status, 200);
        QCOMPARE(f.contentType, QByteArray("text/plain; version=0.0.4; charset=utf-8"));
        QVERIFY2(hasLine(f.body, "autofact_up" + labels + " 1"), f.body.constData());
        QVERIFY(hasLine(f.body, "autofact_connected_clients 1"));
        QTRY_VERIFY_WITH_TIMEOUT(!(f = fetch(url)).body.contains("\nautofact_ack_latency_seconds_count 0\n"), 10000);
        QVERIFY(!f.body.contains("\nautofact_samples_stored_total 0\n"));
        QVERIFY(!f.body.contains("\nautofact_store_commit_seconds_count 0\n"));

        if (!QFile::exists(promtool))
            QSKIP("promtool is not installed (Debian: prometheus)");
        const auto [code, said] = promtoolCheck(f.body);
        QVERIFY2(code == 0, qPrintable(said));
    }

    void onlyGetMetricsIsServed_data()
    {
        QTest::addColumn<QByteArray>("verb");
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("status");
        QTest::addRow("get-metrics") << QByteArray("GET") << QStringLiteral("/metrics") << 200;
        QTest::addRow("get-root") << QByteArray("GET") << QStringLiteral("/") << 404;
        QTest::addRow("get-other") << QByteArray("GET") << QStringLiteral("/api/v1/clients") << 404;
        QTest::addRow("get-metrics-suffix") << QByteArray("GET") << QStringLiteral("/metricsx") << 404;
        QTest::addRow("get-metrics-below") << QByteArray("GET") << QStringLiteral("/metrics/x") << 404;
        QTest::addRow("post-metrics") << QByteArray("POST") << QStringLiteral("/metrics") << 404;
        QTest::addRow("delete-metrics") << QByteArray("DELETE") << QStringLiteral("/metrics") << 404;
    }
    void onlyGetMetricsIsServed()
    {
        QFETCH(QByteArray, verb);
        QFETCH(QString, path);
        QFETCH(int, status);
        auto core = startCore();
        QVERIFY(core);
        QUrl url = core->metricsUrl();
        url.setPath(path);
        const Fetched f = fetch(url, verb);
        QCOMPARE(f.status, status);
        QCOMPARE(f.body.contains("# TYPE autofact_up gauge"), status == 200);
    }

    void clientsKnownToTheStoreAreDown()
    {
        QString id;
        {
            // A first run without metrics: the client is stored, then the server stops.
            auto core = startCore(false);
            QVERIFY(core);
            QVERIFY(!core->metricsUrl().isValid());
            Agent agent(agentSettings(core->url()), std::make_unique<testdata::FakeSampler>(2, QStringLiteral("old-host")));
            QString error;
            QVERIFY(agent.start(&error));
            QSignalSpy acks(&agent.link(), &AgentLink::acknowledged);
            QVERIFY(acks.wait(10000));
            id = agent.settings().id;
        }
        auto core = startCore();
        QVERIFY(core);
        const QByteArray labels = "{client_id=\"" + id.toUtf8() + "\",hostname=\"old-host\"}";
        Fetched f;
        QTRY_VERIFY_WITH_TIMEOUT((f = fetch(core->metricsUrl())).body.contains(QByteArray("autofact_up" + labels)), 10000);
        QVERIFY2(hasLine(f.body, "autofact_up" + labels + " 0"), f.body.constData());
        QVERIFY(!f.body.contains(QByteArray("autofact_cpu_busy_percent" + labels)));
        QCOMPARE(linesStarting(f.body, "autofact_last_sample_age_seconds" + labels).size(), 1);
        QVERIFY(hasLine(f.body, "autofact_connected_clients 0"));
    }

    void busyMetricsPortFailsStart()
    {
        QTcpServer squatter;
        QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
        ServerCore::Options o;
        o.databasePath = m_dir->filePath(QStringLiteral("server.db"));
        o.network.address = QHostAddress::LocalHost;
        o.network.port = 0;
        o.metrics = MetricsEndpoint::Options{QHostAddress::LocalHost, squatter.serverPort(), {}};
        ServerCore core(o);
        QString error;
        QVERIFY(!core.start(&error));
        QVERIFY2(error.startsWith(QStringLiteral("--metrics: cannot listen on 127.0.0.1 port")), qPrintable(error));
    }

    void limitsConnectionsAndRequestSize()
    {
        auto core = startCore();
        QVERIFY(core);
        const QUrl url = core->metricsUrl();
        const BoundedTcpServer::Limits limits;
        // Connections that never send a request: the ones over the limit are closed at once.
        std::vector<std::unique_ptr<QTcpSocket>> idle;
        for (int i = 0; i < limits.maxConnections; ++i) {
            idle.push_back(std::make_unique<QTcpSocket>());
            idle.back()->connectToHost(QHostAddress::LocalHost, quint16(url.port()));
            QVERIFY(idle.back()->waitForConnected(5000));
        }
        QTcpSocket extra;
        extra.connectToHost(QHostAddress::LocalHost, quint16(url.port()));
        QVERIFY(extra.waitForConnected(5000));
        QTRY_COMPARE_WITH_TIMEOUT(extra.state(), QAbstractSocket::UnconnectedState, 5000);
        idle.clear();
        // Room again once they are gone.
        QTRY_COMPARE_WITH_TIMEOUT(fetch(url).status, 200, 10000);

        // A request larger than the budget (a header of 64 KiB) is cut off, not buffered.
        QTcpSocket big;
        QByteArray answered;
        connect(&big, &QTcpSocket::readyRead, &big, [&] { answered += big.readAll(); });
        big.connectToHost(QHostAddress::LocalHost, quint16(url.port()));
        QVERIFY(big.waitForConnected(5000));
        big.write("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: " + QByteArray(64 * 1024, 'a') + "\r\n\r\n");
        QTRY_COMPARE_WITH_TIMEOUT(big.state(), QAbstractSocket::UnconnectedState, 5000);
        QVERIFY(!answered.contains("autofact_up"));
    }

    void realPrometheusScrapesIt()
    {
        if (!QFile::exists(prometheus))
            QSKIP("prometheus is not installed (Debian: prometheus)");
        auto core = startCore();
        QVERIFY(core);
        Agent agent(agentSettings(core->url()), std::make_unique<testdata::FakeSampler>(2, QStringLiteral("scraped-host")));
        QString error;
        QVERIFY(agent.start(&error));
        QTRY_VERIFY_WITH_TIMEOUT(!agent.settings().id.isEmpty(), 10000);

        quint16 webPort = 0;
        {
            QTcpServer probe; // a free port for Prometheus' own web listener
            QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
            webPort = probe.serverPort();
        }
        const QString config = m_dir->filePath(QStringLiteral("prometheus.yml"));
        QFile file(config);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QStringLiteral("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                  "scrape_configs:\n  - job_name: autofactory\n    static_configs:\n"
                                  "      - targets: ['127.0.0.1:%1']\n")
                       .arg(core->metricsUrl().port())
                       .toUtf8());
        file.close();
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(prometheus, {QStringLiteral("--config.file=") + config,
                             QStringLiteral("--storage.tsdb.path=") + m_dir->filePath(QStringLiteral("tsdb")),
                             QStringLiteral("--web.listen-address=127.0.0.1:%1").arg(webPort)});
        QVERIFY(p.waitForStarted());
        const auto stop = qScopeGuard([&p] {
            p.terminate();
            if (!p.waitForFinished(15000)) {
                p.kill();
                p.waitForFinished();
            }
        });

        QUrl query(QStringLiteral("http://127.0.0.1:%1/api/v1/query").arg(webPort));
        query.setQuery(QStringLiteral("query=autofact_up"));
        const auto upValue = [&]() -> QString {
            const Fetched f = fetch(query);
            const QJsonArray result = QJsonDocument::fromJson(f.body)[u"data"][u"result"].toArray();
            for (const QJsonValue &series : result) {
                if (series[u"metric"][u"client_id"].toString() == agent.settings().id
                    && series[u"metric"][u"hostname"].toString() == u"scraped-host")
                    return series[u"value"].toArray().at(1).toString();
            }
            return {};
        };
        QTRY_COMPARE_WITH_TIMEOUT(upValue(), QStringLiteral("1"), 60000);
        if (p.state() != QProcess::Running)
            qWarning().noquote() << p.readAll();
    }
};

QTEST_GUILESS_MAIN(TestMetricsEndpoint)
#include "tst_metricsendpoint.moc"
