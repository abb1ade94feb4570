// SPDX-License-Identifier: MIT
// Dashboard under load: the real MainWindow (offscreen) over a real ServerCore while
// autofact-loadgen streams N agents into it. Measures how late the GUI thread's event loop
// runs a 5 ms timer (its "stall"), while the views are cycled (clients, overview, detail,
// alerts). With --alerts N, a third of the way in, N clients get a rule that fires at once
// (memory used above 1 %): N alerts reach the window together, with their tray notification.
// With --compare N, the compare view (live range, CPU busy) shows the first N clients to connect
// and joins the cycle of views.
//
//   bench_dashboard_load --loadgen PATH [--agents N] [--duration SECONDS]
//                        [--sample-interval D] [--send-interval D] [--alerts N] [--compare N]
#include "alertsview.h"
#include "clientdetailview.h"
#include "compareview.h"
#include "alerttablemodel.h"
#include "alerttray.h"
#include "mainwindow.h"
#include "servercore.h"
#include "store/store.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDateTime>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QProcess>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTextStream>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace autofact;

int main(int argc, char *argv[])
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QLoggingCategory::setFilterRules(QStringLiteral("autofact.*.debug=false\nautofact.*.info=false"));
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    const QCommandLineOption loadgen(QStringLiteral("loadgen"), QStringLiteral("autofact-loadgen binary"), QStringLiteral("PATH"));
    const QCommandLineOption agents(QStringLiteral("agents"), QStringLiteral("agents (default 200)"), QStringLiteral("N"), QStringLiteral("200"));
    const QCommandLineOption duration(QStringLiteral("duration"), QStringLiteral("seconds of streaming (default 60)"), QStringLiteral("S"), QStringLiteral("60"));
    const QCommandLineOption sample(QStringLiteral("sample-interval"), QStringLiteral("agent sampling (default 1s)"), QStringLiteral("D"), QStringLiteral("1s"));
    const QCommandLineOption send(QStringLiteral("send-interval"), QStringLiteral("agent sending (default 1s)"), QStringLiteral("D"), QStringLiteral("1s"));
    const QCommandLineOption alerts(QStringLiteral("alerts"), QStringLiteral("alerts to fire at once (default 0)"), QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption compare(QStringLiteral("compare"), QStringLiteral("hosts in the compare view (default 0: not shown)"), QStringLiteral("N"), QStringLiteral("0"));
    parser.addOptions({loadgen, agents, duration, sample, send, alerts, compare});
    parser.process(app);
    QTextStream out(stdout);
    if (!parser.isSet(loadgen)) {
        out << "bench_dashboard_load: --loadgen PATH is required" << Qt::endl;
        return 2;
    }
    const int agentCount = parser.value(agents).toInt();
    const int seconds = parser.value(duration).toInt();

    QTemporaryDir dir;
    server::ServerCore::Options options;
    options.databasePath = dir.filePath(QStringLiteral("load.db"));
    options.network.address = QHostAddress::LocalHost;
    options.network.port = 0;
    server::ServerCore core(options);
    QString error;
    if (!core.start(&error)) {
        out << "cannot start the server core: " << error << Qt::endl;
        return 1;
    }
    // The load generator's agents enrol as real ones do: with a token (made as the CLI makes
    // it, through a second connection to the same file), over plain ws:// on loopback.
    QString token;
    {
        server::Store store(options.databasePath);
        const auto opened = store.open();
        const auto created = opened ? store.tokens().create(agentCount + 10, std::nullopt, QStringLiteral("bench"),
                                                            QDateTime::currentMSecsSinceEpoch())
                                    : server::StoreResult<server::EnrolmentTokens::Created>(opened.error());
        if (!created) {
            out << "cannot create an enrolment token: " << created.error().message << Qt::endl;
            return 1;
        }
        token = created->token;
    }
    dashboard::MainWindow window(core);
    window.resize(1280, 800);
    window.show();

    QString firstClient;
    QStringList clientIds;
    QObject::connect(core.hub(), &server::IngestServer::clientConnected, &window,
                     [&](const QString &id) {
                         if (firstClient.isEmpty())
                             firstClient = id;
                         if (!clientIds.contains(id))
                             clientIds.append(id);
                     });
    int online = 0;
    quint64 stored = 0;
    QObject::connect(core.hub(), &server::IngestServer::activity, &window,
                     [&](const server::HubActivity &a) {
                         online = a.onlineClients;
                         stored += a.samplesStored;
                     });

    // The stall meter: how late a 5 ms timer fires, once every agent is connected.
    constexpr int tickMs = 5;
    std::vector<double> lateness;
    lateness.reserve(std::size_t(seconds) * 1000 / tickMs + 1000);
    QElapsedTimer sinceTick;
    bool measuring = false;
    QTimer meter;
    meter.setTimerType(Qt::PreciseTimer);
    meter.setInterval(tickMs);
    const int alertCount = parser.value(alerts).toInt();
    qint64 alertsAskedMs = -1;
    qint64 alertsShownMs = -1;
    int alertsShown = 0;
    double worstAfterAlerts = 0;
    QElapsedTimer sinceStart;
    sinceStart.start();
    QStringList slow; // ticks over 16 ms: when, and which view was showing
    auto *tabs = window.findChild<QTabWidget *>();
    QObject::connect(&meter, &QTimer::timeout, &window, [&] {
        if (measuring) {
            lateness.push_back(std::max(0.0, double(sinceTick.nsecsElapsed()) / 1e6 - tickMs));
            if (lateness.back() > 16)
                slow.append(QStringLiteral("%1 ms at %2 s (%3)")
                                    .arg(lateness.back(), 0, 'f', 1)
                                    .arg(sinceStart.elapsed() / 1000.0, 0, 'f', 1)
                                    .arg(tabs ? tabs->tabText(tabs->currentIndex()).remove(u'&') : QString()));
            // The alert burst: from the rule change until 10 s after every alert is shown.
            const qint64 at = sinceStart.elapsed();
            if (alertsAskedMs >= 0 && (alertsShownMs < 0 || at <= alertsShownMs + 10000))
                worstAfterAlerts = std::max(worstAfterAlerts, lateness.back());
        }
        sinceTick.restart();
        if (!measuring && online >= agentCount)
            measuring = true;
    });
    sinceTick.start();
    meter.start();

    // A third of the way in: N clients get a rule that holds for every sample they send.
    QTimer fire;
    fire.setSingleShot(true);
    fire.setInterval(seconds * 1000 / 3);
    QObject::connect(&fire, &QTimer::timeout, &window, [&] {
        for (int i = 0; i < alertCount && i < clientIds.size(); ++i)
            core.setAlertRule(QStringLiteral("memory_used"), clientIds[i], server::AlertRuleSettings{true, 1, 0, 60000});
        alertsAskedMs = sinceStart.elapsed();
    });
    if (alertCount > 0)
        fire.start();
    QObject::connect(window.alertsView()->activeModel(), &QAbstractItemModel::modelReset, &window, [&] {
        alertsShown = window.alertsView()->activeModel()->rowCount();
        if (alertsShownMs < 0 && alertsShown >= alertCount && alertCount > 0)
            alertsShownMs = sinceStart.elapsed();
    });

    // The compare view on the first N clients, once they are connected.
    const int compareCount = parser.value(compare).toInt();
    bool compareSet = false;
    int compareAnswers = 0;
    qint64 compareWorstMs = 0;
    qint64 compareSamples = 0;
    QObject::connect(window.compareView(), &dashboard::CompareView::compareShown, &window,
                     [&](qint64 samples, qint64 elapsedMs) {
                         ++compareAnswers;
                         compareWorstMs = std::max(compareWorstMs, elapsedMs);
                         compareSamples = std::max(compareSamples, samples);
                     });
    window.compareView()->setRange(dashboard::ClientDetailView::Range::Live5Min);

    // Cycle the views so live updates repaint what a user would be looking at.
    int view = 0;
    QTimer cycle;
    cycle.setInterval(3000);
    QObject::connect(&cycle, &QTimer::timeout, &window, [&] {
        if (!tabs)
            return;
        if (compareCount > 0 && !compareSet && clientIds.size() >= compareCount) {
            window.compareView()->setClients(clientIds.mid(0, compareCount));
            compareSet = true;
        }
        view = (view + 1) % (compareCount > 0 ? 5 : 4);
        if (view == 2 && !firstClient.isEmpty())
            window.openDetail(firstClient);
        else
            tabs->setCurrentIndex(view);
    });
    cycle.start();

    QProcess load;
    load.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    load.start(parser.value(loadgen),
               {QStringLiteral("--server"), core.url().toString(), QStringLiteral("--insecure"),
                QStringLiteral("--token"), token, QStringLiteral("--agents"),
                QString::number(agentCount), QStringLiteral("--duration"), QStringLiteral("%1s").arg(seconds),
                QStringLiteral("--sample-interval"), parser.value(sample), QStringLiteral("--send-interval"),
                parser.value(send), QStringLiteral("--quiet")});
    QObject::connect(&load, &QProcess::finished, &app, &QCoreApplication::quit);
    QElapsedTimer wall;
    wall.start();
    app.exec();

    std::sort(lateness.begin(), lateness.end());
    const auto pct = [&](double p) {
        return lateness.empty() ? 0.0 : lateness[std::size_t(p * double(lateness.size() - 1))];
    };
    const auto over = [&](double ms) {
        return std::count_if(lateness.begin(), lateness.end(), [ms](double v) { return v > ms; });
    };
    out << "dashboard under load: " << agentCount << " agents, sampling " << parser.value(sample)
        << ", sending " << parser.value(send) << ", " << seconds << " s (loadgen exit "
        << load.exitCode() << ")\n";
    out << "  samples stored while the window was open: " << stored << "\n";
    out << "  GUI event loop: " << lateness.size() << " ticks of " << tickMs << " ms measured; lateness p50 "
        << QString::number(pct(0.5), 'f', 2) << " ms, p99 " << QString::number(pct(0.99), 'f', 2)
        << " ms, max " << QString::number(lateness.empty() ? 0.0 : lateness.back(), 'f', 2) << " ms; "
        << over(16) << " ticks over 16 ms, " << over(50) << " over 50 ms" << Qt::endl;
    if (!slow.isEmpty())
        out << "  ticks over 16 ms: " << slow.join(QStringLiteral(", ")) << "\n";
    if (alertCount > 0)
        out << "  alerts: " << alertCount << " fired at once; " << alertsShown << " shown in the Alerts tab"
            << (alertsShownMs >= 0 ? QStringLiteral(", all within %1 ms of the rule change").arg(alertsShownMs - alertsAskedMs)
                                   : QStringLiteral(", NOT all shown"))
            << " (at " << QString::number(alertsAskedMs / 1000.0, 'f', 1)
            << " s); GUI lateness max from then until 10 s after the last was shown: " << QString::number(worstAfterAlerts, 'f', 2) << " ms; "
            << window.alertTray()->shown().size() << " desktop notification(s)" << Qt::endl;
    if (compareCount > 0)
        out << "  compare view: " << window.compareView()->clients().size() << " hosts (CPU busy, live 5 min); "
            << compareAnswers << " answers shown, up to " << compareSamples << " samples each, slowest "
            << compareWorstMs << " ms from request to chart" << Qt::endl;
    core.stop();
    // Figures of a run whose load generator failed describe no load: the exit code says so.
    const bool loadOk = load.exitStatus() == QProcess::NormalExit && load.exitCode() == 0;
    return lateness.empty() || !loadOk || (alertCount > 0 && alertsShownMs < 0) ? 1 : 0;
}
