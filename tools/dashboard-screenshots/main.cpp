// SPDX-License-Identifier: MIT
// Renders the dashboard's main views offscreen to PNG for docs/screenshots/: a temporary
// database with fake clients (written through the real Store), a real ServerCore over it, and
// the real MainWindow grabbed with QWidget::grab(). Run through scripts/screenshots.
#include "clientdetailview.h"
#include "clienttablemodel.h"
#include "compareview.h"
#include "exportdialog.h"
#include "fakehistory.h"
#include "mainwindow.h"
#include "servercore.h"

#include <QApplication>
#include <QHash>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextStream>

using namespace autofact;

namespace {
void waitUntil(const std::function<bool()> &done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!done() && t.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
}

void settle(int ms)
{
    // Lets queued reader answers and layout passes land before a grab.
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
}

bool save(QWidget *w, const QDir &out, const QString &name)
{
    const QString path = out.filePath(name);
    const bool ok = w->grab().save(path);
    QTextStream(stdout) << (ok ? "wrote " : "FAILED ") << path << Qt::endl;
    return ok;
}
} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QTemporaryDir tmp;
    // Screenshots must not read or write the user's real dashboard settings.
    qputenv("XDG_CONFIG_HOME", tmp.filePath(QStringLiteral("config")).toLocal8Bit());
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName(QStringLiteral("autofact-screenshots"));
    QCoreApplication::setApplicationName(QStringLiteral("autofactory"));
    const QDir out(argc > 1 ? QString::fromLocal8Bit(argv[1]) : QStringLiteral("docs/screenshots"));
    QDir().mkpath(out.path());

    const QString dbPath = tmp.filePath(QStringLiteral("demo.db"));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 day = 86400000;
    QString firstId;
    {
        server::Store store(dbPath, {server::StoreOptions::Mode::ReadWrite,
                                     server::StoreOptions::Durability::Normal});
        if (auto opened = store.open(); !opened) {
            QTextStream(stderr) << "screenshots: " << opened.errorMessage() << Qt::endl;
            return 1;
        }
        const QList<tools::FakeMachine> machines = {
            {QStringLiteral("build-01"), QStringLiteral("Debian GNU/Linux"), QStringLiteral("12"), 16, 64ull << 30, 72, 20, 0.55},
            {QStringLiteral("web-frontend"), QStringLiteral("Ubuntu"), QStringLiteral("22.04"), 4, 8ull << 30, 18, 10, 0.62},
            {QStringLiteral("db-primary"), QStringLiteral("Debian GNU/Linux"), QStringLiteral("12"), 8, 32ull << 30, 35, 12, 0.81},
            {QStringLiteral("nas"), QStringLiteral("Fedora Linux"), QStringLiteral("39"), 2, 4ull << 30, 6, 4, 0.30},
            {QStringLiteral("ci-runner-3"), QStringLiteral("Debian GNU/Linux"), QStringLiteral("12"), 8, 16ull << 30, 55, 30, 0.45},
            {QStringLiteral("laptop-anna"), QStringLiteral("Arch Linux"), QStringLiteral("rolling"), 8, 16ull << 30, 12, 8, 0.50},
        };
        QHash<QString, QString> idOf;
        for (int i = 0; i < machines.size(); ++i) {
            const QString id = tools::enrolFake(store, machines[i], now - day);
            idOf.insert(machines[i].hostname, id);
            if (i == 0)
                firstId = id;
            // build-01: a day at 1 s with a 40-minute outage; the others: the last hour.
            const bool full = i == 0;
            const qint64 from = full ? now - day : now - 3600000;
            const quint64 count = quint64((now - from) / 1000);
            const qint64 gapFrom = full ? now - 9 * 3600000 : 0;
            if (!tools::ingestFake(store, id, machines[i], from, count, 1000, gapFrom, gapFrom + 2400000)) {
                QTextStream(stderr) << "screenshots: cannot write fake history" << Qt::endl;
                return 1;
            }
        }
        // One client that enrolled but never sent a sample.
        tools::enrolFake(store, {QStringLiteral("new-box")}, now - 60000);
        // Alerts as the server would have stored them: three firing (restored at start, as
        // after a restart), one resolved in the history.
        const auto alert = [&](const QString &rule, const QString &host, double value, double threshold,
                               qint64 startedMs, qint64 resolvedMs) {
            server::AlertRecord a;
            a.rule = rule;
            a.clientId = idOf.value(host);
            a.hostname = host;
            a.value = value;
            a.threshold = threshold;
            a.startedMs = startedMs;
            a.firedMs = startedMs + 300000;
            a.notifiedMs = a.firedMs;
            const auto id = store.alerts().insertFiring(a);
            if (id && resolvedMs > 0)
                (void)store.alerts().resolve(*id, resolvedMs, value - 20, QStringLiteral("condition cleared"));
            return id ? *id : 0;
        };
        alert(QStringLiteral("cpu_busy"), QStringLiteral("build-01"), 93.4, 90, now - 14 * 60000, 0);
        alert(QStringLiteral("host_down"), QStringLiteral("nas"), 600, 180, now - 40 * 60000, 0);
        const qint64 acked = alert(QStringLiteral("spool_backlog"), QStringLiteral("ci-runner-3"), 412, 100, now - 9 * 60000, 0);
        (void)store.alerts().acknowledge(acked, true, now - 5 * 60000);
        alert(QStringLiteral("memory_used"), QStringLiteral("db-primary"), 94.1, 90, now - 5 * 3600000, now - 4 * 3600000);
        // Groups, as `autofactory group set` would make them.
        (void)store.configs().setClientGroup({idOf.value(QStringLiteral("build-01")), idOf.value(QStringLiteral("ci-runner-3"))},
                                             QStringLiteral("build"));
        (void)store.configs().setClientGroup({idOf.value(QStringLiteral("web-frontend")), idOf.value(QStringLiteral("db-primary"))},
                                             QStringLiteral("production"));
    }

    server::ServerCore::Options options;
    options.databasePath = dbPath;
    options.network.address = QHostAddress::LocalHost;
    options.network.port = 0;
    server::ServerCore core(options);
    QString error;
    if (!core.start(&error)) {
        QTextStream(stderr) << "screenshots: " << error << Qt::endl;
        return 1;
    }
    dashboard::MainWindow window(core);
    window.resize(1400, 860);
    window.show();
    waitUntil([&] { return window.model()->rowCount() >= 7; }, 10000);
    // Fake live values so the table and the overview look like a running system.
    server::HubActivity activity;
    std::vector<float> cores;
    for (int row = 0; row < window.model()->rowCount(); ++row) {
        const auto &r = window.model()->rowAt(row);
        if (r.info.hostname == u"new-box" || r.info.hostname == u"nas")
            continue;
        activity.connected.append(r.info.id);
        activity.onlineNow.insert(r.info.id, true);
    }
    activity.onlineClients = int(activity.connected.size());
    // Through the hub's signal, as the network thread would (the connection is direct here).
    Q_EMIT core.hub()->activity(activity);
    const QList<tools::FakeMachine> live = {
        {QStringLiteral("build-01"), {}, {}, 16, 64ull << 30, 72, 20, 0.55},
        {QStringLiteral("web-frontend"), {}, {}, 4, 8ull << 30, 18, 10, 0.62},
        {QStringLiteral("db-primary"), {}, {}, 8, 32ull << 30, 35, 12, 0.81},
        {QStringLiteral("ci-runner-3"), {}, {}, 8, 16ull << 30, 55, 30, 0.45},
        {QStringLiteral("laptop-anna"), {}, {}, 8, 16ull << 30, 12, 8, 0.50},
    };
    for (int step = 0; step < 120; ++step) {
        server::HubActivity tick;
        for (int row = 0; row < window.model()->rowCount(); ++row) {
            const auto &r = window.model()->rowAt(row);
            for (const tools::FakeMachine &m : live) {
                if (m.hostname == r.info.hostname) {
                    cores.clear();
                    tick.latest.insert(r.info.id, tools::fakeSample(m, now - (120 - step) * 1000, quint64(step * 7 + row), cores));
                    tick.backlog.insert(r.info.id, m.hostname == u"ci-runner-3" ? 12 : 0);
                }
            }
        }
        tick.onlineClients = activity.onlineClients;
        tick.samplesStored = quint64(tick.latest.size());
        Q_EMIT core.hub()->activity(tick);
    }
    settle(300);

    bool ok = true;
    window.tabs()->setCurrentIndex(dashboard::MainWindow::ClientsTab);
    window.tableView()->sortByColumn(dashboard::ClientTableModel::CpuColumn, Qt::DescendingOrder);
    settle(1200); // one tick of the status bar's 1 s clock
    ok &= save(&window, out, QStringLiteral("clients.png"));

    window.tabs()->setCurrentIndex(dashboard::MainWindow::OverviewTab);
    settle(2500); // the overview re-sorts at most every 2 s
    ok &= save(&window, out, QStringLiteral("overview.png"));

    window.openDetail(firstId);
    window.detailView()->setRange(dashboard::ClientDetailView::Range::Day);
    waitUntil([&] { return window.detailView()->shownData().samples > 0; }, 20000);
    settle(300);
    ok &= save(&window, out, QStringLiteral("detail.png"));

    window.tabs()->setCurrentIndex(dashboard::MainWindow::AlertsTab);
    settle(300);
    ok &= save(&window, out, QStringLiteral("alerts.png"));

    dashboard::ExportDialog *dialog = window.showExportDialog({firstId}, now - day, now);
    dialog->setOutputPath(QStringLiteral("/home/user/build-01-last-day.csv"));
    dialog->adjustSize();
    settle(200);
    ok &= save(dialog, out, QStringLiteral("export.png"));
    dialog->close();

    // Compare: CPU busy of every host with data over the last hour.
    QStringList withData;
    for (int row = 0; row < window.model()->rowCount(); ++row)
        if (window.model()->rowAt(row).info.sampleCount > 0)
            withData.append(window.model()->rowAt(row).info.id);
    window.tabs()->setCurrentIndex(dashboard::MainWindow::CompareTab);
    window.compareView()->setRange(dashboard::ClientDetailView::Range::Hour);
    window.compareView()->setClients(withData);
    waitUntil([&] { return window.compareView()->shownData().series.size() == withData.size(); }, 20000);
    settle(300);
    ok &= save(&window, out, QStringLiteral("compare.png"));

    // Dark mode, on the detail view (its charts follow the palette).
    window.setTheme(dashboard::MainWindow::Theme::Dark);
    window.tabs()->setCurrentIndex(dashboard::MainWindow::DetailTab);
    settle(500);
    ok &= save(&window, out, QStringLiteral("dark.png"));
    window.setTheme(dashboard::MainWindow::Theme::System);

    window.close();
    core.stop();

    // First start: an empty database says what to do.
    server::ServerCore::Options emptyOptions = options;
    emptyOptions.databasePath = tmp.filePath(QStringLiteral("empty.db"));
    server::ServerCore emptyCore(emptyOptions);
    if (!emptyCore.start(&error)) {
        QTextStream(stderr) << "screenshots: " << error << Qt::endl;
        return 1;
    }
    {
        dashboard::MainWindow empty(emptyCore);
        empty.resize(1000, 600);
        empty.show();
        empty.tabs()->setCurrentIndex(dashboard::MainWindow::ClientsTab);
        settle(1200);
        ok &= save(&empty, out, QStringLiteral("empty.png"));
        empty.close();
    }
    emptyCore.stop();
    return ok ? 0 : 1;
}
