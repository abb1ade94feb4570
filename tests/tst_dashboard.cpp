// SPDX-License-Identifier: MIT
// The dashboard end to end, offscreen: a real ServerCore on loopback, a real Agent (with a fake
// sampler), the main window's table, detail view, export dialog and agent behaviour dialog.
#include "aboutdialog.h"
#include "addagentdialog.h"
#include "agent.h"
#include "agentconfigdialog.h"
#include "alertrulesdialog.h"
#include "alertsview.h"
#include "alerttablemodel.h"
#include "alerttray.h"
#include "notifiersdialog.h"
#include "clientdetailview.h"
#include "clientfilterproxy.h"
#include "clienttablemodel.h"
#include "exportdialog.h"
#include "historychartview.h"
#include "mainwindow.h"
#include "overviewwidget.h"
#include "clienttile.h"
#include "compareview.h"
#include "storagedialog.h"
#include "alerts/alertrules.h"
#include "sampling/sampler.h"
#include "servercore.h"
#include "storereader.h"
#include "store/store.h"
#include "testdata.h"
#include "testpostgres.h"
#include "tlsidentity.h"

#include <QAction>
#include <QApplication>
#include <QElapsedTimer>
#include <QMessageBox>
#include <QPushButton>
#include <QSysInfo>
#include <QTableView>
#include <QTimer>
#include <QFile>
#include <QLineSeries>
#include <QProgressBar>
#include <QSignalSpy>
#include <QComboBox>
#include <QCursor>
#include <QDateTimeEdit>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QListWidget>
#include <QLineEdit>
#include <QMenu>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSplitter>
#include <QTableView>
#include <QStatusBar>
#include <QTableWidget>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QLabel>
#include <QTest>

using namespace autofact;
using namespace autofact::dashboard;

namespace {
/** Deterministic numbers so the CSV can be checked. */
class FakeSampler : public agent::Sampler
{
public:
    FakeSampler() = default;
    FakeSampler(int, QString hostname)
        : m_hostname(std::move(hostname))
    {
    }
    bool sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy, QString *) override
    {
        ++m_count;
        out = Sample();
        out.timestampMs = nowMs;
        out.cpu.user = 30;
        out.cpu.system = 10;
        out.cpu.idle = 60;
        out.memory.total = 8ull << 30;
        out.memory.used = 2ull << 30;
        out.memory.available = 6ull << 30;
        out.memory.free = 4ull << 30;
        out.load1 = 0.5f;
        out.coreCount = 2;
        coreBusy.push_back(35);
        coreBusy.push_back(45);
        return true;
    }
    Hello systemFacts() const override
    {
        Hello h;
        h.hostname = m_hostname;
        h.osName = QStringLiteral("TestOS");
        h.osVersion = QStringLiteral("1.0");
        h.kernel = QStringLiteral("6.1.0-test");
        h.arch = QStringLiteral("x86_64");
        h.cpuModel = QStringLiteral("Fake CPU");
        h.cpuCount = 2;
        h.memTotal = 8ull << 30;
        h.agentVersion = QStringLiteral("test");
        return h;
    }
    int m_count = 0;
    QString m_hostname = QStringLiteral("fake-host");
};
} // namespace

class TestDashboard : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QCoreApplication::setOrganizationName(QStringLiteral("autofact-test"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_dashboard"));
        // Keep the user's real dashboard settings out of (and untouched by) the test.
        qputenv("XDG_CONFIG_HOME", m_dir.filePath(QStringLiteral("config")).toLocal8Bit());
    }

    void watchingDashboardShowsTheFleet()
    {
        // autofactory --no-listen: an ingest node serves the agent; this window only watches.
        if (autofact::testing::postgresAdminUri().isEmpty())
            QSKIP("no PostgreSQL: run under tests/with-postgres.sh (ctest -R dashboard_postgres)");
        const QString uri = autofact::testing::newPostgresDatabase();
        QVERIFY(!uri.isEmpty());
        server::ServerCore::Options ingest;
        ingest.databasePath = uri;
        ingest.network.address = QHostAddress::LocalHost;
        ingest.network.port = 0;
        ingest.requireEnrolmentToken = false;
        ingest.defaults.sampleIntervalMs = 100;
        ingest.defaults.sendIntervalMs = 200;
        server::ServerCore node(ingest);
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        server::ServerCore::Options watch;
        watch.databasePath = uri;
        watch.noListen = true;
        server::ServerCore core(watch);
        QVERIFY2(core.start(&error), qPrintable(error));
        QCOMPARE(core.hub(), nullptr);

        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY2(window.windowTitle().contains(QStringLiteral("watching the fleet")), qPrintable(window.windowTitle()));
        QTRY_VERIFY2_WITH_TIMEOUT(window.statusText().contains(QStringLiteral("Watching the fleet on postgresql://"))
                                      && window.statusText().contains(QStringLiteral("not serving agents")),
                                  qPrintable(window.statusText()), 5000);

        agent::AgentSettings settings;
        settings.path = m_dir.filePath(QStringLiteral("watched-agent.json"));
        settings.server = node.url();
        settings.insecure = true;
        settings.spool = m_dir.filePath(QStringLiteral("watched-spool.db"));
        auto agent = std::make_unique<agent::Agent>(settings, std::make_unique<FakeSampler>());
        QVERIFY2(agent->start(&error), qPrintable(error));

        // The row appears, up, with live CPU read from what the node stored.
        ClientTableModel *model = window.model();
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::CpuColumn)
                                      .data(ClientTableModel::SortRole).toDouble(), 40.0, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::StatusColumn).data().toString(),
                                  QStringLiteral("up"), 5000);
        QTRY_VERIFY2_WITH_TIMEOUT(window.statusText().contains(QStringLiteral("1 up · 0 down")),
                                  qPrintable(window.statusText()), 5000);
        // Quitting a watching dashboard cuts no agent off: nothing to confirm.
        QVERIFY(window.confirmQuit());

        // A behaviour change saved in this dashboard reaches the agent on the node (the store
        // notifies the node; the dashboard serves nobody). The time is printed, not judged:
        // a loaded machine is no verdict on the 2 s the notification path is for.
        QSignalSpy applied(agent.get(), &agent::Agent::configApplied);
        AgentConfigDialog config(&core, window.reader(), model);
        QTRY_VERIFY_WITH_TIMEOUT(config.isLoaded(), 5000);
        AgentConfig changed = config.editedDefault();
        changed.sampleIntervalMs = 150; // under the 200 ms send interval the node set
        config.setEditedDefault(changed);
        QVERIFY2(config.formError().isEmpty(), qPrintable(config.formError()));
        QElapsedTimer pushed;
        pushed.start();
        config.save();
        QTRY_VERIFY_WITH_TIMEOUT(applied.count() >= 1 && agent->config().sampleIntervalMs == 150u, 5000);
        qInfo() << "behaviour saved in the watching dashboard reached the agent on the node in" << pushed.elapsed() << "ms";

        // The agent leaves the node: the window hears it from the store within a poll.
        QSignalSpy finished(agent.get(), &agent::Agent::finished);
        agent->stop();
        QVERIFY(finished.wait(10000));
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::StatusColumn).data().toString(),
                                  QStringLiteral("down"), 10000);
        agent.reset();
        window.close();
        core.stop();
        node.stop();
    }

    void liveClientDetailAndExport()
    {
        server::ServerCore::Options options = coreOptions(QStringLiteral("server.db"));
        options.defaults.sampleIntervalMs = 100;
        options.defaults.sendIntervalMs = 200;
        server::ServerCore core(options);
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));

        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QCOMPARE(window.model()->rowCount(), 0);

        agent::AgentSettings settings;
        settings.path = m_dir.filePath(QStringLiteral("agent.json"));
        settings.server = core.url();
        settings.insecure = true;
        settings.spool = m_dir.filePath(QStringLiteral("spool.db"));
        auto sampler = std::make_unique<FakeSampler>();
        agent::Agent agent(settings, std::move(sampler));
        QVERIFY2(agent.start(&error), qPrintable(error));

        // The row appears, online, with live CPU from the hub.
        QTRY_COMPARE_WITH_TIMEOUT(window.model()->rowCount(), 1, 10000);
        ClientTableModel *model = window.model();
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::CpuColumn)
                                      .data(ClientTableModel::SortRole).toDouble(), 40.0, 10000);
        QCOMPARE(model->index(0, ClientTableModel::StatusColumn).data().toString(), QStringLiteral("up"));
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::HostnameColumn).data().toString(),
                                  QStringLiteral("fake-host"), 10000);
        const QString id = model->rowAt(0).info.id;
        QVERIFY(!id.isEmpty());
        // The status bar's health summary, and the detail view's state, say the same.
        QTRY_VERIFY2_WITH_TIMEOUT(window.statusText().contains(QStringLiteral("1 up · 0 down")),
                                  qPrintable(window.statusText()), 5000);
        QVERIFY(window.statusText().contains(core.url().toString()));

        // The overview has a tile for it.
        QTRY_COMPARE_WITH_TIMEOUT(window.overview()->orderedTiles().size(), 1, 5000);
        QCOMPARE(window.overview()->orderedTiles().first()->clientId(), id);

        // Detail: history read on the reader thread reaches the charts.
        QTRY_VERIFY_WITH_TIMEOUT(model->rowAt(0).info.sampleCount >= 5, 10000);
        window.openDetail(id);
        QCOMPARE(window.tabs()->currentIndex(), int(MainWindow::DetailTab));
        ClientDetailView *detail = window.detailView();
        QCOMPARE(detail->clientId(), id);
        QTRY_COMPARE_WITH_TIMEOUT(detail->stateText(), QStringLiteral("● up"), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(detail->shownData().samples >= 5, 10000);
        QCOMPARE(detail->shownData().clientId, id);
        QCOMPARE(detail->shownData().cores.size(), 2);
        QLineSeries *user = detail->cpuChart()->series().first();
        QVERIFY(user->count() >= 2);
        QCOMPARE(user->at(0).y(), 30.0);
        QVERIFY(detail->cpuChart()->valuesAt(user->at(1).x()).contains(QStringLiteral("user: 30.0")));

        // Export through the dialog's own code path, then read the CSV back.
        const QString csvPath = m_dir.filePath(QStringLiteral("export.csv"));
        ExportDialog *dialog = window.showExportDialog({id});
        QCOMPARE(dialog->selectedClients(), QStringList{id});
        dialog->setWholeHistory(true);
        dialog->setOutputPath(csvPath);
        QSignalSpy finished(dialog, &ExportDialog::exportFinished);
        dialog->startExport();
        QVERIFY(dialog->isRunning());
        QVERIFY(finished.wait(20000));
        QCOMPARE(finished.first().at(0).toBool(), true);
        const qint64 rows = finished.first().at(1).toLongLong();
        QVERIFY(rows >= 5);
        QCOMPARE(dialog->progressBar()->value(), dialog->progressBar()->maximum());
        QFile csv(csvPath);
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = csv.readAll().split('\n');
        QVERIFY(lines.first().startsWith("client_id,hostname,timestamp,"));
        int dataLines = 0;
        for (qsizetype i = 1; i < lines.size(); ++i) {
            if (lines[i].trimmed().isEmpty())
                continue;
            ++dataLines;
            QVERIFY2(lines[i].startsWith(QByteArray(id.toUtf8() + ",fake-host,")), lines[i].constData());
            QVERIFY(lines[i].contains(",30,"));
        }
        QCOMPARE(dataLines, rows);
        dialog->close();

        // Agent behaviour: a new default is pushed and the table shows it applied. "Before" is
        // the revision the agent runs now, once the store and the table caught up with it (the
        // agent reports it, the store writes it, the table re-reads: all after the fact).
        QTRY_COMPARE_WITH_TIMEOUT(model->rowAt(0).info.appliedRevision, quint32(agent.config().revision), 10000);
        const quint32 before = model->rowAt(0).info.appliedRevision;
        QSignalSpy applied(&agent, &agent::Agent::configApplied);
        AgentConfigDialog config(&core, window.reader(), model);
        QTRY_VERIFY_WITH_TIMEOUT(config.isLoaded(), 5000);
        AgentConfig changed = config.editedDefault();
        changed.sampleIntervalMs = 250;
        changed.sendIntervalMs = 500;
        config.setEditedDefault(changed);
        // The collectors as typed: one slowed down, one off, both reach the agent.
        config.durationField(QStringLiteral("Filesystems every:"))->setText(QStringLiteral("2m"));
        config.durationField(QStringLiteral("Temperatures every:"))->setText(QStringLiteral("off"));
        QVERIFY2(config.formError().isEmpty(), qPrintable(config.formError()));
        config.save();
        QTRY_VERIFY_WITH_TIMEOUT(applied.count() >= 1, 10000);
        QCOMPARE(agent.config().sampleIntervalMs, 250u);
        QCOMPARE(agent.config().filesystemsIntervalMs, 120'000u);
        QCOMPARE(agent.config().temperaturesIntervalMs, 0u);
        QCOMPARE(agent.config().disksIntervalMs, 5000u);
        QVERIFY(agent.config().revision > before);
        QTRY_COMPARE_WITH_TIMEOUT(model->rowAt(0).info.appliedRevision, quint32(agent.config().revision), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(model->index(0, ClientTableModel::ConfigColumn).data().toString()
                                     .contains(QStringLiteral("applied")), 10000);

        // The agent leaves: the row stays, down.
        QSignalSpy agentDone(&agent, &agent::Agent::finished);
        agent.stop();
        QVERIFY(agentDone.count() > 0 || agentDone.wait(5000));
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::StatusColumn).data().toString(),
                                  QStringLiteral("down"), 10000);
        QCOMPARE(model->rowCount(), 1);
        window.close();
        core.stop();
    }

    void agentTextIsShownAsText()
    {
        // A hostname is whatever the agent says; rendered as rich text it could load files or
        // fill the screen.
        server::ServerCore core(coreOptions(QStringLiteral("markup.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        const QString hostile = QStringLiteral("<font size=7>big</font><img src=\"file:///etc/hostname\">");
        agent::AgentSettings settings;
        settings.path = m_dir.filePath(QStringLiteral("markup-agent.json"));
        settings.server = core.url();
        settings.spool = m_dir.filePath(QStringLiteral("markup-spool.db"));
        settings.insecure = true;
        agent::Agent agent(settings, std::make_unique<FakeSampler>(2, hostile));
        QVERIFY2(agent.start(&error), qPrintable(error));
        ClientTableModel *model = window.model();
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::HostnameColumn).data().toString(), hostile, 10000);
        window.openDetail(model->rowAt(0).info.id);
        ClientDetailView *detail = window.detailView();
        QList<QLabel *> showing;
        QTRY_VERIFY_WITH_TIMEOUT([&] {
            showing.clear();
            for (QLabel *label : detail->findChildren<QLabel *>())
                if (label->text() == hostile)
                    showing.append(label);
            return showing.size() >= 2; // the title and the Hostname fact
        }(), 10000);
        for (QLabel *label : showing)
            QCOMPARE(label->textFormat(), Qt::PlainText);
        // Memory in the units the kernel and the charts use (8 GiB, not "8.6 GB" or "8.0 GB").
        QStringList facts;
        for (QLabel *label : detail->findChildren<QLabel *>())
            facts << label->text();
        QVERIFY2(facts.contains(QStringLiteral("8.0 GiB")), qPrintable(facts.join(u'|')));
        // The compare legend draws series names as rich text: the hostname goes in escaped,
        // and the crosshair says it as it is.
        window.compareView()->setClients({model->rowAt(0).info.id});
        window.tabs()->setCurrentIndex(MainWindow::CompareTab);
        QTRY_VERIFY_WITH_TIMEOUT(!window.compareView()->chart()->series().isEmpty()
                                         && window.compareView()->chart()->series().first()->count() > 0,
                                 10000);
        QLineSeries *line = window.compareView()->chart()->series().first();
        QCOMPARE(line->name(), hostile.toHtmlEscaped());
        QVERIFY(window.compareView()->chart()->valuesAt(line->points().last().x()).contains(hostile));
    }

    void exportCancelWritesNothing()
    {
        // Cancel before the thread starts reading: the file must not appear.
        const QString db = m_dir.filePath(QStringLiteral("server.db"));
        QVERIFY(QFile::exists(db));
        ExportDialog dialog(db, nullptr);
        const QString out = m_dir.filePath(QStringLiteral("cancelled.csv"));
        dialog.setWholeHistory(true);
        dialog.setOutputPath(out);
        QSignalSpy finished(&dialog, &ExportDialog::exportFinished);
        dialog.startExport();
        dialog.cancelOrClose();
        QVERIFY(finished.wait(10000));
        const bool ok = finished.first().at(0).toBool();
        // A tiny database can finish before the flag is seen; either way the outcome is clean.
        QCOMPARE(QFile::exists(out), ok);
        if (!ok)
            QVERIFY(dialog.statusText().contains(QStringLiteral("Cancelled")));
    }

    void exportDialogAsksBeforeReplacingAndFindsClients()
    {
        const QString db = m_dir.filePath(QStringLiteral("server.db"));
        QVERIFY(QFile::exists(db));
        ClientTableModel model;
        const auto client = [](const QString &id, const QString &host) {
            server::ClientInfo c;
            c.id = id;
            c.hostname = host;
            return c;
        };
        model.setInventory({client(QStringLiteral("id3"), QStringLiteral("zulu")), client(QStringLiteral("id1"), QStringLiteral("alpha")),
                            client(QStringLiteral("id2"), QStringLiteral("mike"))});
        ExportDialog dialog(db, &model);
        auto *list = dialog.findChild<QListWidget *>();
        QVERIFY(list);
        QCOMPARE(list->item(0)->text(), QStringLiteral("alpha  (id1)"));
        QCOMPARE(list->item(2)->text(), QStringLiteral("zulu  (id3)"));
        QLineEdit *find = nullptr;
        for (QLineEdit *e : dialog.findChildren<QLineEdit *>())
            if (e->placeholderText() == QStringLiteral("Find a client"))
                find = e;
        QVERIFY(find);
        find->setText(QStringLiteral("MIK"));
        QVERIFY(list->item(0)->isHidden() && !list->item(1)->isHidden() && list->item(2)->isHidden());
        // A typed path to an existing file: nothing is written until Export is pressed again.
        const QString out = m_dir.filePath(QStringLiteral("existing.csv"));
        {
            QFile f(out);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("keep me\n");
        }
        dialog.setWholeHistory(true);
        dialog.setOutputPath(out);
        dialog.startExport();
        QVERIFY(!dialog.isRunning());
        QVERIFY2(dialog.statusText().contains(QStringLiteral("Press Export again to replace it")), qPrintable(dialog.statusText()));
        QFile kept(out);
        QVERIFY(kept.open(QIODevice::ReadOnly));
        QCOMPARE(kept.readAll(), QByteArray("keep me\n"));
        kept.close();
        QSignalSpy finished(&dialog, &ExportDialog::exportFinished);
        dialog.startExport();
        QVERIFY(finished.wait(10000));
        QVERIFY(finished.first().at(0).toBool());
        QVERIFY(kept.open(QIODevice::ReadOnly));
        QVERIFY(kept.readAll().startsWith("client_id,hostname,timestamp"));
    }

    void chartBreaksLinesAtGaps()
    {
        // 10 s of samples at 50 %, a 40 s stall, 10 s more: nothing may be drawn across the
        // stall, and the sample after it says what it is averaged over.
        constexpr qint64 t0 = 1'700'000'000'000;
        HistoryChartView view(QStringLiteral("CPU"), QStringLiteral("%"));
        view.resize(800, 400);
        QLineSeries *line = view.addSeries(QStringLiteral("busy"), QColor(0, 0, 255));
        QList<QPointF> points;
        for (int s = 0; s <= 10; ++s)
            points.append(QPointF(double(t0 + s * 1000), 50));
        for (int s = 50; s <= 60; ++s)
            points.append(QPointF(double(t0 + s * 1000), 50));
        HistoryChartView::replacePoints(line, points);
        view.setXRange(t0, t0 + 60'000);
        view.setYRange(0, 100);
        server::Gap stall;
        stall.startMs = t0 + 10'000;
        stall.endMs = t0 + 50'000;
        stall.reason = QStringLiteral("agent stalled (40 s)");
        view.setGaps({stall});
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        const QImage image = view.grab().toImage();
        const auto blueNear = [&](qint64 ms) {
            const QPoint at = view.mapFromScene(view.chart()->mapToPosition(QPointF(double(ms), 50), line));
            for (int dy = -3; dy <= 3; ++dy) {
                const QColor c = image.pixelColor(at.x(), at.y() + dy);
                if (c.blue() > c.red() + 80 && c.blue() > c.green() + 80)
                    return true;
            }
            return false;
        };
        QVERIFY(blueNear(t0 + 5000));   // the line where there are samples
        QVERIFY(blueNear(t0 + 55'000));
        QVERIFY(!blueNear(t0 + 30'000)); // and none across the stall
        QVERIFY(!blueNear(t0 + 20'000));
        QVERIFY2(view.valuesAt(double(t0 + 50'000)).contains(QStringLiteral("averaged over 40")),
                 qPrintable(view.valuesAt(double(t0 + 50'000))));
        QVERIFY(!view.valuesAt(double(t0 + 55'000)).contains(QStringLiteral("averaged")));
        // A gap the agent did not live through (it was not running) averages nothing.
        stall.reason = QStringLiteral("agent offline");
        view.setGaps({stall});
        QVERIFY(!view.valuesAt(double(t0 + 50'000)).contains(QStringLiteral("averaged")));
    }

    void iconAndAboutBox()
    {
        server::ServerCore core(coreOptions(QStringLiteral("about.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        // The window's icon is the shipped one, at the sizes a task bar and a menu ask for.
        const QIcon icon = window.windowIcon();
        QVERIFY(!icon.isNull());
        for (const int size : {16, 32, 48, 256}) {
            const QImage image = icon.pixmap(size, size).toImage();
            QCOMPARE(image.size(), QSize(size, size));
            // The icon's blue background above the factory's roof: not a blank or default image.
            const QColor c = image.pixelColor(size / 2, size * 15 / 100);
            QVERIFY2(c.blue() > c.red() + 40 && c.alpha() == 255,
                     qPrintable(QStringLiteral("%1 px: %2").arg(size).arg(c.name(QColor::HexArgb))));
        }

        auto *about = window.findChild<QAction *>(QStringLiteral("aboutAction"));
        QVERIFY(about);
        about->trigger();
        auto *dialog = window.findChild<AboutDialog *>();
        QVERIFY(dialog);
        QVERIFY(QTest::qWaitForWindowExposed(dialog));
        auto *title = dialog->findChild<QLabel *>(QStringLiteral("aboutTitle"));
        QVERIFY(title);
        QCOMPARE(title->text(), QStringLiteral("autofactory " AUTOFACT_VERSION));
        auto *iconLabel = dialog->findChild<QLabel *>(QStringLiteral("aboutIcon"));
        QVERIFY(iconLabel);
        QCOMPARE(iconLabel->pixmap().size(), QSize(96, 96));
        QStringList texts;
        for (const QLabel *label : dialog->findChildren<QLabel *>())
            texts << label->text();
        const QString all = texts.join(u'\n');
        QVERIFY2(all.contains(core.url().toString()), qPrintable(all));
        QVERIFY2(all.contains(core.options().databasePath), qPrintable(all));
        QVERIFY2(all.contains(QStringLiteral("MIT")), qPrintable(all));
        dialog->reject();
    }

    void storeAnswersReachTheWindow()
    {
        // Only the store worker writes; what it says (success or failure) reaches the window.
        server::ServerCore core(coreOptions(QStringLiteral("answers.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        // Counted on this thread (queued): a QSignalSpy would be appended to on the worker's.
        int stored = 0;
        int failed = 0;
        QObject context;
        connect(core.worker(), &server::StoreWorker::configStored, &context, [&] { ++stored; });
        connect(core.worker(), &server::StoreWorker::storeError, &context, [&] { ++failed; });

        // A write that fails: the status bar says so, with the store's reason.
        AgentConfig config;
        config.sampleIntervalMs = 2000;
        core.setClientOverride(QStringLiteral("nobody"), config);
        QTRY_COMPARE_WITH_TIMEOUT(failed, 1, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(window.statusBar()->currentMessage().contains(
                                         QStringLiteral("unknown client: nobody")),
                                 5000);
        QCOMPARE(stored, 0);
        core.forgetClient(QStringLiteral("nobody"), true);
        QTRY_COMPARE_WITH_TIMEOUT(failed, 2, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(window.statusBar()->currentMessage().contains(
                                         QStringLiteral("cannot forget nobody")),
                                 5000);

        // A write that succeeds: "saved" only once the store has stored it.
        core.setDefaultConfig(config);
        QTRY_COMPARE_WITH_TIMEOUT(stored, 1, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(window.statusBar()->currentMessage().contains(QStringLiteral("saved")),
                                 5000);
        QCOMPARE(failed, 2);
    }

    void addAgentCommand_data()
    {
        QTest::addColumn<QUrl>("bound");
        QTest::addColumn<QString>("host");
        QTest::addColumn<QString>("fingerprint");
        QTest::addColumn<QString>("expected");
        QTest::addColumn<AddAgentDialog::Install>("install");
        const QString fp = QStringLiteral("sha256:") + QString(64, u'a');
        // The packaged agent: the same options into the packaged config, then the unit enabled
        // (tests/packaging/install-test.sh runs exactly these two steps in a booted root).
        QTest::addRow("package") << QUrl(QStringLiteral("wss://10.0.0.5:8675")) << QStringLiteral("10.0.0.5") << fp
                                 << QStringLiteral("sudo autofact-agent --config /etc/autofact/autofact-agent.json"
                                                   " --state-dir /var/lib/autofact-agent --write-config"
                                                   " --server wss://10.0.0.5:8675 --token T.S --fingerprint ") + fp
                                        + QStringLiteral(" && sudo systemctl enable --now autofact-agent")
                                 << AddAgentDialog::Install::Package;
        QTest::addRow("wss pinned") << QUrl(QStringLiteral("wss://10.0.0.5:8675")) << QStringLiteral("10.0.0.5") << fp
                                    << QStringLiteral("autofact-agent --server wss://10.0.0.5:8675 --token T.S --fingerprint ") + fp << AddAgentDialog::Install::Program;
        QTest::addRow("ws insecure") << QUrl(QStringLiteral("ws://127.0.0.1:9000")) << QStringLiteral("127.0.0.1") << QString()
                                     << QStringLiteral("autofact-agent --server ws://127.0.0.1:9000 --token T.S --insecure") << AddAgentDialog::Install::Program;
        QTest::addRow("edited host") << QUrl(QStringLiteral("wss://0.0.0.0:8675")) << QStringLiteral(" server.example ") << fp
                                     << QStringLiteral("autofact-agent --server wss://server.example:8675 --token T.S --fingerprint ") + fp << AddAgentDialog::Install::Program;
        QTest::addRow("ipv6 in brackets") << QUrl(QStringLiteral("wss://[::]:8675")) << QStringLiteral("[fd00::1]") << fp
                                          << QStringLiteral("autofact-agent --server wss://[fd00::1]:8675 --token T.S --fingerprint ") + fp << AddAgentDialog::Install::Program;
        QTest::addRow("empty host") << QUrl(QStringLiteral("wss://0.0.0.0:8675")) << QString() << fp << QString() << AddAgentDialog::Install::Program;
        QTest::addRow("shell words") << QUrl(QStringLiteral("wss://0.0.0.0:8675")) << QStringLiteral("a; rm -rf ~") << fp << QString() << AddAgentDialog::Install::Program;
    }

    void addAgentCommand()
    {
        QFETCH(QUrl, bound);
        QFETCH(QString, host);
        QFETCH(QString, fingerprint);
        QFETCH(QString, expected);
        QFETCH(AddAgentDialog::Install, install);
        QCOMPARE(AddAgentDialog::agentCommand(bound, host, QStringLiteral("T.S"), fingerprint, install), expected);
    }

    void addAgentDefaultHost()
    {
        // A wildcard bind is reachable under the machine's name; a specific address as it is.
        QCOMPARE(AddAgentDialog::defaultHost(QUrl(QStringLiteral("wss://0.0.0.0:8675"))), QSysInfo::machineHostName());
        QCOMPARE(AddAgentDialog::defaultHost(QUrl(QStringLiteral("wss://[::]:8675"))), QSysInfo::machineHostName());
        QCOMPARE(AddAgentDialog::defaultHost(QUrl(QStringLiteral("wss://192.168.1.2:8675"))), QStringLiteral("192.168.1.2"));
    }

    void addAgentTokenEnrols_data()
    {
        QTest::addColumn<bool>("tls");
        QTest::addRow("ws") << false;
        QTest::addRow("wss") << true;
    }

    void addAgentTokenEnrols()
    {
        // The dialog's command, taken word by word, enrols a real agent with a server that
        // requires tokens: token, URL and fingerprint are all right.
        QFETCH(bool, tls);
        const QString tag = QString::fromLatin1(QTest::currentDataTag());
        server::ServerCore::Options options = coreOptions(u"tokens-" + tag + u".db");
        options.requireEnrolmentToken = true;
        if (tls) {
            QString error;
            const auto identity = server::loadOrCreateTlsIdentity(m_dir.filePath(QStringLiteral("tls")), &error);
            QVERIFY2(identity, qPrintable(error));
            options.network.tls = server::serverTlsConfiguration(*identity);
            options.certificateFingerprint = server::certificateFingerprint(identity->certificate);
        }
        server::ServerCore core(options);
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        auto *add = window.findChild<QAction *>(QStringLiteral("addAgentAction"));
        QVERIFY(add);
        add->trigger();
        auto *dialog = window.findChild<AddAgentDialog *>();
        QVERIFY(dialog);
        QCOMPARE(dialog->maxUses(), 1);
        QCOMPARE(dialog->validity(), AddAgentDialog::Validity::OneDay);
        QCOMPARE(dialog->host(), QStringLiteral("127.0.0.1")); // bound to a specific address
        QVERIFY(dialog->command().isEmpty());
        dialog->setLabel(QStringLiteral("test <b>node</b>"));
        auto *create = dialog->findChild<QPushButton *>(QStringLiteral("createTokenButton"));
        QVERIFY(create);
        QTest::mouseClick(create, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!dialog->command().isEmpty(), 5000);
        for (QLabel *label : dialog->findChildren<QLabel *>())
            QCOMPARE(label->textFormat(), Qt::PlainText);
        const QString command = dialog->command();

        const QStringList words = command.split(u' ');
        QCOMPARE(words.value(0), QStringLiteral("autofact-agent"));
        const auto valueOf = [&](const QString &option) {
            const qsizetype at = words.indexOf(option);
            return at < 0 ? QString() : words.value(at + 1);
        };
        const QString token = valueOf(QStringLiteral("--token"));
        QVERIFY2(!token.isEmpty(), qPrintable(command));
        QCOMPARE(QUrl(valueOf(QStringLiteral("--server"))), core.url());
        if (tls) {
            QCOMPARE(valueOf(QStringLiteral("--fingerprint")), options.certificateFingerprint);
            QVERIFY(!words.contains(QStringLiteral("--insecure")));
        } else {
            QVERIFY(words.contains(QStringLiteral("--insecure")));
            QVERIFY(!words.contains(QStringLiteral("--fingerprint")));
        }

        agent::AgentSettings settings;
        settings.path = m_dir.filePath(u"token-agent-" + tag + u".json");
        settings.server = QUrl(valueOf(QStringLiteral("--server")));
        settings.token = token;
        settings.fingerprint = valueOf(QStringLiteral("--fingerprint"));
        settings.insecure = words.contains(QStringLiteral("--insecure"));
        settings.spool = m_dir.filePath(u"token-spool-" + tag + u".db");
        agent::Agent agent(settings, std::make_unique<FakeSampler>());
        QVERIFY2(agent.start(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!agent.settings().id.isEmpty(), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(window.model()->rowCount(), 1, 10000);
        QCOMPARE(window.model()->rowAt(0).info.id, agent.settings().id);

        QSignalSpy agentDone(&agent, &agent::Agent::finished);
        agent.stop();
        QVERIFY(agentDone.count() > 0 || agentDone.wait(5000));
        dialog->close();
        window.close();
        core.stop();
    }

    void blockDisconnectsTheAgent()
    {
        server::ServerCore core(coreOptions(QStringLiteral("block.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.tabs()->setCurrentIndex(MainWindow::ClientsTab);

        const agent::AgentSettings settings = agentSettings(core, QStringLiteral("block"));
        agent::Agent agent(settings, std::make_unique<FakeSampler>(2, QStringLiteral("doomed-host")));
        QVERIFY2(agent.start(&error), qPrintable(error));
        ClientTableModel *model = window.model();
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::StatusColumn).data().toString(),
                                  QStringLiteral("up"), 10000);
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::HostnameColumn).data().toString(),
                                  QStringLiteral("doomed-host"), 10000);
        const QString id = model->rowAt(0).info.id;
        window.tableView()->selectRow(0);

        // Answer the confirmation as a user would: find the modal box and press Block.
        QString asked;
        Qt::TextFormat askedFormat = Qt::AutoText;
        QTimer answer;
        answer.setInterval(10);
        connect(&answer, &QTimer::timeout, this, [&] {
            auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
            if (!box)
                return;
            answer.stop();
            asked = box->text();
            askedFormat = box->textFormat();
            for (QAbstractButton *button : box->buttons())
                if (button->text() == QStringLiteral("Block"))
                    button->click();
        });
        answer.start();
        QSignalSpy finished(&agent, &agent::Agent::finished);
        auto *block = window.findChild<QAction *>(QStringLiteral("blockClientAction"));
        QVERIFY(block);
        block->trigger();
        QVERIFY(!answer.isActive());
        QVERIFY(asked.contains(id));
        QVERIFY(asked.contains(QStringLiteral("doomed-host")));
        QVERIFY(asked.contains(QStringLiteral("History is kept.")));
        QCOMPARE(askedFormat, Qt::PlainText);

        QVERIFY(finished.count() > 0 || finished.wait(2000));
        QCOMPARE(finished.first().at(0).toInt(), 4);
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::StatusColumn).data().toString(),
                                  QStringLiteral("blocked"), 5000);
        QCOMPARE(model->rowCount(), 1); // history is kept, so is the row
        window.close();
        core.stop();
    }

    void alertsReachTheWindowAndAreHandledThere()
    {
        server::ServerCore core(coreOptions(QStringLiteral("alerts.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        // CPU busy above 10 % (the fake host runs at 40 %) fires at once, resolves after 1 s.
        core.setAlertRule(QStringLiteral("cpu_busy"), QString(), server::AlertRuleSettings{true, 10, 0, 1000});
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        const agent::AgentSettings settings = agentSettings(core, QStringLiteral("alerts"));
        agent::Agent agent(settings, std::make_unique<FakeSampler>(2, QStringLiteral("busy-host")));
        QVERIFY2(agent.start(&error), qPrintable(error));

        AlertsView *view = window.alertsView();
        QTRY_COMPARE_WITH_TIMEOUT(view->activeModel()->rowCount(), 1, 10000);
        const QModelIndex first = view->activeModel()->index(0, AlertTableModel::RuleColumn);
        QCOMPARE(first.data().toString(), QStringLiteral("CPU busy"));
        QCOMPARE(view->activeModel()->index(0, AlertTableModel::HostColumn).data().toString(), QStringLiteral("busy-host"));
        QCOMPARE(view->activeModel()->index(0, AlertTableModel::StateColumn).data().toString(), QStringLiteral("firing"));
        // The badge on the client, the count in the status bar, the desktop notification.
        ClientTableModel *model = window.model();
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(model->index(0, ClientTableModel::AlertsColumn).data().toString(), QStringLiteral("1"), 5000);
        QVERIFY(model->index(0, ClientTableModel::HostnameColumn).data(Qt::ToolTipRole).toString().contains(QStringLiteral("CPU busy")));
        QCOMPARE(window.findChild<QLabel *>(QStringLiteral("alertStatus"))->text(), QStringLiteral("1 alert firing"));
        QTRY_COMPARE_WITH_TIMEOUT(window.alertTray()->shown().size(), 1, 5000);
        QVERIFY(window.alertTray()->shown().first().contains(QStringLiteral("busy-host: CPU busy")));
        window.tabs()->setCurrentIndex(MainWindow::OverviewTab);
        QTRY_VERIFY_WITH_TIMEOUT([&] {
            const auto tiles = window.overview()->findChildren<ClientTile *>();
            return tiles.size() == 1 && tiles.first()->alertCount() == 1;
        }(), 5000);

        // Acknowledge, as a user: select it on the Alerts tab and press the button.
        window.tabs()->setCurrentIndex(MainWindow::AlertsTab);
        view->activeTable()->selectRow(0);
        QPushButton *ack = nullptr;
        for (QPushButton *b : view->findChildren<QPushButton *>())
            if (b->text() == QStringLiteral("&Acknowledge"))
                ack = b;
        QVERIFY(ack && ack->isEnabled());
        ack->click();
        QTRY_COMPARE_WITH_TIMEOUT(view->activeModel()->index(0, AlertTableModel::StateColumn).data().toString(),
                                  QStringLiteral("acknowledged"), 5000);
        QCOMPARE(window.findChild<QLabel *>(QStringLiteral("alertStatus"))->text(), QString()); // nothing unhandled
        view->activeTable()->selectRow(0);
        view->silenceSelected(3600'000, QStringLiteral("kernel upgrade"));
        QTRY_COMPARE_WITH_TIMEOUT(view->activeModel()->index(0, AlertTableModel::StateColumn).data().toString(),
                                  QStringLiteral("silenced"), 5000);
        QVERIFY(view->activeModel()->index(0, AlertTableModel::NoteColumn).data().toString().contains(QStringLiteral("kernel upgrade")));

        // The rule editor: a per-client override above the host's 40 % resolves the alert.
        const QString id = model->rowAt(0).info.id;
        AlertRulesDialog *rules = window.showAlertRules(id);
        QCOMPARE(rules->scope(), id);
        QVERIFY(!rules->overridden(server::AlertRule::CpuBusy));
        rules->setEdited(server::AlertRule::CpuBusy, server::AlertRuleSettings{true, 95, 0, 1000});
        const auto changes = rules->changes();
        QCOMPARE(changes.size(), 1);
        QCOMPARE(changes.first().clientId, id);
        QCOMPARE(changes.first().settings->threshold, 95.0);
        rules->save();
        QTRY_COMPARE_WITH_TIMEOUT(view->activeModel()->rowCount(), 0, 10000);
        QCOMPARE(model->index(0, ClientTableModel::AlertsColumn).data().toString(), QString());
        // History: fired and resolved, silenced on the way.
        auto *tabs = view->findChild<QTabWidget *>();
        QVERIFY(tabs);
        tabs->setCurrentIndex(1);
        QTRY_COMPARE_WITH_TIMEOUT(view->historyModel()->rowCount(), 1, 5000);
        QCOMPARE(view->historyModel()->index(0, AlertTableModel::StateColumn).data().toString(), QStringLiteral("resolved"));

        // Notification settings: add a command channel and test it from the dialog.
        NotifiersDialog *notifiers = window.showNotifiers();
        notifiers->addChannel(server::NotifierInfo::Kind::Command, QStringLiteral("exit 0"));
        QTRY_COMPARE_WITH_TIMEOUT(notifiers->table()->rowCount(), 1, 5000);
        notifiers->table()->selectRow(0);
        notifiers->testSelected();
        QTRY_VERIFY_WITH_TIMEOUT(notifiers->testResult().contains(QStringLiteral("test delivered")), 10000);
        notifiers->addChannel(server::NotifierInfo::Kind::Webhook, QStringLiteral("ftp://nope"));
        QVERIFY(notifiers->testResult().startsWith(QStringLiteral("Not added")));
        window.close();
        core.stop();
    }

    void sparklinesAreLinesPlacedByTimeNotWedges()
    {
        // Regression: the line was drawn with the status dot's brush still set, which filled
        // it shut (solid green wedges), and points were placed one per slot whatever their
        // time, so a live tile (one point per 5 s batch) drew 25 minutes as "5 min".
        const auto render = [](const std::vector<std::pair<int, double>> &points) {
            ClientTile tile(QStringLiteral("c1"));
            tile.setHostname(QStringLiteral("h"));
            tile.setOnline(true);
            tile.resize(tile.sizeHint());
            for (const auto &[seconds, cpu] : points)
                tile.addSample(1'780'000'000'000 + seconds * 1000LL, cpu, -1);
            return tile.grab().toImage();
        };
        const auto sparkArea = [](const QImage &image) {
            const QFontMetrics fm(QApplication::font());
            // Under the name, the CPU and memory line and the device line.
            const qreal pad = 8, lineY = pad + fm.height() + 4, top = lineY + 2 * fm.height() + 6;
            return QRectF(pad, top, image.width() / image.devicePixelRatio() - 2 * pad,
                          image.height() / image.devicePixelRatio() - top - pad);
        };
        const auto pixel = [](const QImage &image, qreal x, qreal y) {
            return image.pixelColor(int(x * image.devicePixelRatio()), int(y * image.devicePixelRatio()));
        };
        // A peak over the last minute: 0 %, 100 %, 0 %.
        QImage image = render({{0, 0}, {30, 100}, {60, 0}});
        QRectF area = sparkArea(image);
        const qreal peakX = area.right() - area.width() * 30.0 / 300.0;
        const QColor inside = pixel(image, peakX, area.bottom() - area.height() * 0.3);
        QVERIFY2(inside.lightness() > 200, qPrintable(inside.name())); // a light tint, not a solid fill
        QVERIFY(inside != QColor(0x2e, 0xa0, 0x43));
        // Flat 50 % for 5 minutes, one point per 5 s: the line reaches the left edge ...
        std::vector<std::pair<int, double>> full;
        for (int s = 0; s <= 300; s += 5)
            full.push_back({s, 50});
        image = render(full);
        area = sparkArea(image);
        const auto lineAt = [&](qreal x) {
            for (qreal y = area.top() + area.height() * 0.4; y < area.top() + area.height() * 0.6; y += 0.5) {
                const QColor c = pixel(image, x, y);
                if (c.blue() > 120 && c.red() < 120)
                    return true;
            }
            return false;
        };
        QVERIFY(lineAt(area.left() + 4));
        // ... one minute of it covers the right fifth only.
        image = render(std::vector<std::pair<int, double>>(full.begin(), full.begin() + 13));
        QVERIFY(lineAt(area.right() - 4));
        QVERIFY(!lineAt(area.left() + area.width() * 0.5));
    }

    void tilesShowTheFullestDiskAndTheNetwork()
    {
        // The hub's device figures reach each tile: a full disk must be visible in the overview.
        ClientTableModel model;
        server::ClientInfo full, fine, old;
        for (auto [c, id] : {std::pair{&full, "full"}, std::pair{&fine, "fine"}, std::pair{&old, "old"}}) {
            c->id = QString::fromLatin1(id);
            c->hostname = c->id;
            c->online = true;
            c->sampleCount = 10;
            c->lastSeenMs = 1;
        }
        model.setInventory({full, fine, old});
        OverviewWidget overview(&model);
        overview.resize(1200, 600);
        overview.show();
        QVERIFY(QTest::qWaitForWindowExposed(&overview));
        const auto tileOf = [&](const QString &id) -> ClientTile * {
            for (ClientTile *t : overview.findChildren<ClientTile *>())
                if (t->clientId() == id)
                    return t;
            return nullptr;
        };
        server::HubActivity activity;
        metrics::DeviceSummary nearlyFull;
        nearlyFull.filesystemsMs = 1'780'000'000'000;
        nearlyFull.fullestPercent = 96.4;
        nearlyFull.fullestMount = QStringLiteral("/var/<lib>");
        nearlyFull.networkMs = nearlyFull.filesystemsMs;
        nearlyFull.rxBytesPerSec = 1'234'567;
        nearlyFull.txBytesPerSec = 80'000;
        activity.devices.insert(QStringLiteral("full"), nearlyFull);
        metrics::DeviceSummary roomy = nearlyFull;
        roomy.fullestPercent = 41;
        activity.devices.insert(QStringLiteral("fine"), roomy);
        model.applyActivity(activity);
        QCOMPARE(tileOf(QStringLiteral("full"))->deviceText(), QStringLiteral("Disk 96 % · ↓1.2 MB/s ↑80 kB/s"));
        QCOMPARE(tileOf(QStringLiteral("fine"))->deviceText(), QStringLiteral("Disk 41 % · ↓1.2 MB/s ↑80 kB/s"));
        QCOMPARE(tileOf(QStringLiteral("old"))->deviceText(), QString()); // no readings: no line
        // The mount point is in the tooltip, as text.
        QVERIFY2(tileOf(QStringLiteral("full"))->toolTip().contains(QStringLiteral("/var/&lt;lib&gt;")),
                 qPrintable(tileOf(QStringLiteral("full"))->toolTip()));
        // Drawn: the full disk's figure in red on its line, the roomy one's not.
        const auto redOnDeviceLine = [](ClientTile *tile) {
            const QImage image = tile->grab().toImage();
            const QFontMetrics fm(tile->font());
            const qreal top = 8 + fm.height() + 4 + fm.height() + 2;
            for (qreal y = top; y < top + fm.height(); y += 1)
                for (qreal x = 8; x < 8 + fm.horizontalAdvance(QStringLiteral("Disk 96 %")); x += 1) {
                    const QColor c = image.pixelColor(int(x * image.devicePixelRatio()), int(y * image.devicePixelRatio()));
                    if (c.red() > 150 && c.green() < 90 && c.blue() < 90)
                        return true;
                }
            return false;
        };
        QVERIFY(redOnDeviceLine(tileOf(QStringLiteral("full"))));
        QVERIFY(!redOnDeviceLine(tileOf(QStringLiteral("fine"))));
    }

    void overviewPutsLiveHostsFirstAndHoldsStillUnderThePointer()
    {
        ClientTableModel model;
        const auto client = [](const QString &id, bool online, qint64 samples) {
            server::ClientInfo c;
            c.id = id;
            c.hostname = id;
            c.online = online;
            c.sampleCount = samples;
            c.lastSeenMs = 1;
            return c;
        };
        model.setInventory({client(QStringLiteral("a-live"), true, 10), client(QStringLiteral("b-down"), false, 10),
                            client(QStringLiteral("c-never"), false, 0), client(QStringLiteral("d-live"), true, 10)});
        OverviewWidget overview(&model);
        overview.resize(1200, 600);
        overview.show();
        QVERIFY(QTest::qWaitForWindowExposed(&overview));
        const auto tileOf = [&](const QString &id) {
            for (ClientTile *t : overview.findChildren<ClientTile *>())
                if (t->clientId() == id)
                    return t;
            return static_cast<ClientTile *>(nullptr);
        };
        tileOf(QStringLiteral("a-live"))->addSample(1000, 10, 20);
        tileOf(QStringLiteral("d-live"))->addSample(1000, 20, 20);
        tileOf(QStringLiteral("b-down"))->addSample(1000, 95, 20); // its last value, before it left
        overview.setSortKey(OverviewWidget::SortKey::Cpu);
        const auto order = [&] {
            QStringList ids;
            for (const ClientTile *t : overview.orderedTiles())
                ids << t->clientId();
            return ids.join(u' ');
        };
        QCOMPARE(order(), QStringLiteral("d-live a-live b-down c-never"));
        // The pointer rests on the grid; a-live gets busier: nothing moves until it leaves.
        QWidget *viewport = overview.findChild<QScrollArea *>()->viewport();
        QCursor::setPos(viewport->mapToGlobal(QPoint(20, 20)));
        QEnterEvent enter(QPointF(20, 20), QPointF(20, 20), viewport->mapToGlobal(QPointF(20, 20)));
        QApplication::sendEvent(viewport, &enter);
        tileOf(QStringLiteral("a-live"))->addSample(2000, 60, 20);
        overview.refreshOrder();
        QCOMPARE(order(), QStringLiteral("d-live a-live b-down c-never"));
        QEvent leave(QEvent::Leave);
        QApplication::sendEvent(viewport, &leave);
        QCOMPARE(order(), QStringLiteral("a-live d-live b-down c-never"));
        // A pinned host goes first whatever the sort, even under the pointer (it was asked for).
        QApplication::sendEvent(viewport, &enter);
        Q_EMIT tileOf(QStringLiteral("c-never"))->pinToggled(true);
        QCOMPARE(order(), QStringLiteral("c-never a-live d-live b-down"));
        QVERIFY(tileOf(QStringLiteral("c-never"))->isPinned());
        QCOMPARE(overview.pinned(), QStringList{QStringLiteral("c-never")});
        overview.setPinned(QStringLiteral("c-never"), false);
        QCOMPARE(order(), QStringLiteral("a-live d-live b-down c-never"));
    }

    void agentBehaviourTakesDurationsAsTheCommandLineDoes()
    {
        server::ServerCore core(coreOptions(QStringLiteral("behaviour.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        ClientTableModel model;
        const auto client = [](const QString &id, const QString &host) {
            server::ClientInfo c;
            c.id = id;
            c.hostname = host;
            return c;
        };
        model.setInventory({client(QStringLiteral("id2"), QStringLiteral("zulu")), client(QStringLiteral("id1"), QStringLiteral("alpha"))});
        AgentConfigDialog dialog(&core, window.reader(), &model);
        QSignalSpy loaded(&dialog, &AgentConfigDialog::loaded);
        QVERIFY(dialog.isLoaded() || loaded.wait(5000));
        auto *list = dialog.findChild<QListWidget *>();
        QCOMPARE(list->item(1)->text(), QStringLiteral("alpha"));
        QCOMPARE(list->item(2)->text(), QStringLiteral("zulu"));
        // Retention reads as a duration, not "168.0 h".
        QCOMPARE(dialog.durationField(QStringLiteral("Keep spooled samples:"))->text(), QStringLiteral("7d"));
        QLineEdit *sample = dialog.durationField(QStringLiteral("Sample every:"));
        QVERIFY(!sample->toolTip().isEmpty());
        sample->setText(QStringLiteral("250ms"));
        QCOMPARE(dialog.editedDefault().sampleIntervalMs, 250u);
        QVERIFY(dialog.formError().isEmpty());
        // 0 is refused with a reason, not turned into something else.
        sample->setText(QStringLiteral("0"));
        QVERIFY2(dialog.formError().contains(QStringLiteral("Sample every: expected 100ms to 1h")), qPrintable(dialog.formError()));
        QCOMPARE(dialog.editedDefault().sampleIntervalMs, 250u);
        auto *buttons = dialog.findChild<QDialogButtonBox *>();
        QVERIFY(!buttons->button(QDialogButtonBox::Save)->isEnabled());
        sample->setText(QStringLiteral("1s"));
        QVERIFY(buttons->button(QDialogButtonBox::Save)->isEnabled());

        // Device collectors: the shipped intervals, a duration or off, and nothing under 1 s.
        QLineEdit *filesystems = dialog.durationField(QStringLiteral("Filesystems every:"));
        QLineEdit *disks = dialog.durationField(QStringLiteral("Disks every:"));
        QLineEdit *network = dialog.durationField(QStringLiteral("Network every:"));
        QLineEdit *temperatures = dialog.durationField(QStringLiteral("Temperatures every:"));
        QVERIFY(filesystems && disks && network && temperatures);
        QCOMPARE(filesystems->text(), QStringLiteral("1m"));
        QCOMPARE(disks->text(), QStringLiteral("5s"));
        QCOMPARE(network->text(), QStringLiteral("5s"));
        QCOMPARE(temperatures->text(), QStringLiteral("30s"));
        filesystems->setText(QStringLiteral("5m"));
        temperatures->setText(QStringLiteral("off"));
        network->setText(QStringLiteral("0"));
        QVERIFY2(dialog.formError().isEmpty(), qPrintable(dialog.formError()));
        QCOMPARE(dialog.editedDefault().filesystemsIntervalMs, 300'000u);
        QCOMPARE(dialog.editedDefault().temperaturesIntervalMs, 0u);
        QCOMPARE(dialog.editedDefault().networkIntervalMs, 0u);
        // 500 ms is refused (the codec would refuse it too), in red, and Save stays off.
        disks->setText(QStringLiteral("500ms"));
        QVERIFY2(dialog.formError().contains(QStringLiteral("Disks every: expected 1s to 1h, or off")),
                 qPrintable(dialog.formError()));
        QVERIFY(disks->styleSheet().contains(QStringLiteral("#c03030")));
        QCOMPARE(dialog.editedDefault().disksIntervalMs, 5000u);
        QVERIFY(!buttons->button(QDialogButtonBox::Save)->isEnabled());
        disks->setText(QStringLiteral("2h"));
        QVERIFY(dialog.formError().contains(QStringLiteral("Disks every:")));
        disks->setText(QStringLiteral("10s"));
        QVERIFY(dialog.formError().isEmpty());
        QVERIFY(disks->styleSheet().isEmpty());
        QVERIFY(buttons->button(QDialogButtonBox::Save)->isEnabled());
        // Saved: the store has it, and the dialog opened again shows off as "off".
        QTest::mouseClick(buttons->button(QDialogButtonBox::Save), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT([&] {
            server::Store reader(m_dir.filePath(QStringLiteral("behaviour.db")), {server::StoreOptions::Mode::ReadOnly});
            if (!reader.open())
                return false;
            const auto stored = reader.configs().defaultConfig();
            return stored && stored->filesystemsIntervalMs == 300'000 && stored->disksIntervalMs == 10'000
                    && stored->networkIntervalMs == 0 && stored->temperaturesIntervalMs == 0
                    && stored->sampleIntervalMs == 1000;
        }(), 10000);
        AgentConfigDialog again(&core, window.reader(), &model);
        QSignalSpy loadedAgain(&again, &AgentConfigDialog::loaded);
        QVERIFY(again.isLoaded() || loadedAgain.wait(5000));
        QCOMPARE(again.durationField(QStringLiteral("Filesystems every:"))->text(), QStringLiteral("5m"));
        QCOMPARE(again.durationField(QStringLiteral("Temperatures every:"))->text(), QStringLiteral("off"));
        QCOMPARE(again.durationField(QStringLiteral("Network every:"))->text(), QStringLiteral("off"));
        core.stop();
    }

    void diskColumnIsFilledFromTheStoreAtStartUp()
    {
        // A client that left with its disk half full: the table says so at once, not "—" until
        // it comes back and reads its filesystems again.
        const QString db = m_dir.filePath(QStringLiteral("startup-devices.db"));
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        QString id;
        {
            server::Store store(db);
            QVERIFY(store.open().ok());
            store.enrolment().setTokenRequired(false);
            Hello hello;
            hello.hostname = QStringLiteral("left");
            id = store.enrolment().authenticate(hello, QStringLiteral("127.0.0.1"), now - 600'000)->clientId;
            SampleBatch batch = testdata::makeBatch(1, 10, 0, now - 300'000);
            testdata::addDevices(batch);
            const server::Store::IngestItem item{id, &batch};
            QVERIFY(store.ingest().write(std::span(&item, 1), now - 290'000).ok());
            QVERIFY(store.enrolment().markAllOffline(now - 280'000, QStringLiteral("test")).ok());
        }
        server::ServerCore core(coreOptions(QStringLiteral("startup-devices.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        QTRY_COMPARE_WITH_TIMEOUT(window.model()->rowCount(), 1, 10000);
        const QModelIndex disk = window.model()->index(0, ClientTableModel::DiskColumn);
        QTRY_COMPARE_WITH_TIMEOUT(disk.data().toString(), QStringLiteral("53.2 %"), 10000);
        QCOMPARE(window.model()->index(0, ClientTableModel::StatusColumn).data().toString(), QStringLiteral("down"));
        QVERIFY(disk.data(Qt::ToolTipRole).toString().contains(QStringLiteral("/srv/my data")));
        QCOMPARE(window.model()->index(0, ClientTableModel::NetworkColumn).data().toString(), QStringLiteral("—"));
        core.stop();
    }

    void forgetActsOnEverySelectedClient()
    {
        const QString db = m_dir.filePath(QStringLiteral("forget-many.db"));
        {
            server::Store store(db);
            QVERIFY(store.open().ok());
            store.enrolment().setTokenRequired(false);
            for (const QString &host : {QStringLiteral("one"), QStringLiteral("two"), QStringLiteral("three")}) {
                Hello hello;
                hello.hostname = host;
                QVERIFY(store.enrolment().authenticate(hello, QStringLiteral("127.0.0.1"), 1'780'000'000'000).ok());
            }
        }
        server::ServerCore core(coreOptions(QStringLiteral("forget-many.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.tabs()->setCurrentIndex(MainWindow::ClientsTab);
        QTRY_COMPARE_WITH_TIMEOUT(window.model()->rowCount(), 3, 10000);
        window.tableView()->selectAll();
        QString asked;
        QTimer answer;
        answer.setInterval(10);
        connect(&answer, &QTimer::timeout, this, [&] {
            auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
            if (!box)
                return;
            answer.stop();
            asked = box->text();
            for (QAbstractButton *b : box->buttons())
                if (b->text() == QStringLiteral("Forget and delete history"))
                    b->click();
        });
        answer.start();
        window.findChild<QAction *>(QStringLiteral("forgetClientAction"))->trigger();
        QVERIFY2(asked.startsWith(QStringLiteral("Forget these 3 clients?")), qPrintable(asked));
        for (const QString &host : {QStringLiteral("one ("), QStringLiteral("two ("), QStringLiteral("three (")})
            QVERIFY2(asked.contains(host), qPrintable(asked));
        QTRY_COMPARE_WITH_TIMEOUT(window.model()->rowCount(), 0, 10000);
        window.close();
        core.stop();
    }

    void groupsFilterTheFleetAndShareBehaviour()
    {
        const QString db = m_dir.filePath(QStringLiteral("groups.db"));
        QString oldBox, box;
        {
            server::Store store(db);
            QVERIFY(store.open().ok());
            store.enrolment().setTokenRequired(false);
            for (const QString &host : {QStringLiteral("web-1"), QStringLiteral("web-2"), QStringLiteral("db-1")}) {
                Hello hello;
                hello.hostname = host;
                QVERIFY(store.enrolment().authenticate(hello, QStringLiteral("127.0.0.1"), 1'780'000'000'000).ok());
            }
            // A machine forgotten once and back under a new identity.
            Hello hello;
            hello.hostname = QStringLiteral("box");
            const auto first = store.enrolment().authenticate(hello, QStringLiteral("127.0.0.1"), 1'780'000'000'000);
            QVERIFY(first.ok());
            oldBox = first->clientId;
            QVERIFY(store.inventory().forgetClient(oldBox, false, 1'780'000'000'001).ok());
            hello.agentId = oldBox;
            hello.secret = first->issuedSecret;
            const auto again = store.enrolment().authenticate(hello, QStringLiteral("127.0.0.1"), 1'780'000'000'002);
            QVERIFY(again.ok());
            box = again->clientId;
            QVERIFY(store.enrolment().markAllOffline(1'780'000'000'003, QStringLiteral("test")).ok());
        }
        server::ServerCore core(coreOptions(QStringLiteral("groups.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.tabs()->setCurrentIndex(MainWindow::ClientsTab);
        QTRY_COMPARE_WITH_TIMEOUT(window.model()->rowCount(), 5, 10000);

        // Select the two web hosts and put them into one group.
        window.searchBox()->setText(QStringLiteral("web-"));
        QTRY_COMPARE(window.proxy()->rowCount(), 2);
        window.tableView()->selectAll();
        window.setGroupOfSelected(QStringLiteral("frontend"));
        const auto groupOf = [&](const QString &host) {
            for (int r = 0; r < window.model()->rowCount(); ++r)
                if (window.model()->rowAt(r).info.hostname == host)
                    return window.model()->rowAt(r).info.groupName;
            return QStringLiteral("?");
        };
        QTRY_COMPARE_WITH_TIMEOUT(groupOf(QStringLiteral("web-2")), QStringLiteral("frontend"), 10000);
        QCOMPARE(groupOf(QStringLiteral("web-1")), QStringLiteral("frontend"));
        QCOMPARE(groupOf(QStringLiteral("db-1")), QString());
        window.searchBox()->clear();

        // Shown in the table, searchable, filterable in the table and the overview alike.
        QCOMPARE(window.model()->headerData(ClientTableModel::GroupColumn, Qt::Horizontal).toString(), QStringLiteral("Group"));
        window.searchBox()->setText(QStringLiteral("frontend"));
        QTRY_COMPARE(window.proxy()->rowCount(), 2);
        window.searchBox()->clear();
        QTRY_VERIFY(window.groupFilter()->findData(QStringLiteral("frontend")) >= 0);
        window.setGroupFilter(QStringLiteral("frontend"));
        QCOMPARE(window.proxy()->rowCount(), 2);
        QCOMPARE(window.overview()->orderedTiles().size(), 2);
        for (ClientTile *tile : window.overview()->orderedTiles())
            QCOMPARE(tile->group(), QStringLiteral("frontend"));
        window.setGroupFilter(QStringLiteral(""));
        QCOMPARE(window.proxy()->rowCount(), 3); // db-1 and both box identities
        QCOMPARE(window.overview()->orderedTiles().size(), 3);
        // The table's filter shows in the overview's box, and the overview's box drives the table.
        auto *overviewCombo = window.overview()->findChild<QComboBox *>(QStringLiteral("overviewGroupFilter"));
        window.setGroupFilter(QStringLiteral("frontend"));
        QCOMPARE(overviewCombo->currentText(), QStringLiteral("frontend"));
        auto *overviewBox = window.overview()->findChild<QComboBox *>(QStringLiteral("overviewGroupFilter"));
        QVERIFY(overviewBox);
        overviewBox->setCurrentIndex(0);
        Q_EMIT overviewBox->activated(0);
        QCOMPARE(window.proxy()->rowCount(), 5);
        QCOMPARE(window.groupFilter()->currentIndex(), 0);

        // Alert rules and behaviour can be set for the group.
        AlertRulesDialog *rules = window.showAlertRules();
        QVERIFY(rules->findChild<QComboBox *>(QStringLiteral("ruleScope"))->findData(server::groupRuleScope(QStringLiteral("frontend"))) >= 0);
        rules->selectScope(server::groupRuleScope(QStringLiteral("frontend")));
        QCOMPARE(rules->scope(), server::groupRuleScope(QStringLiteral("frontend")));
        rules->close();
        window.tableView()->clearSelection();
        auto *behaviour = new AgentConfigDialog(&core, window.reader(), window.model(), &window);
        QTRY_VERIFY_WITH_TIMEOUT(behaviour->isLoaded(), 10000);
        behaviour->selectClient(server::groupRuleScope(QStringLiteral("frontend")));
        AgentConfig slow = behaviour->editedDefault();
        slow.sampleIntervalMs = 2000;
        slow.sendIntervalMs = 10'000;
        behaviour->setEditedOverride(server::groupRuleScope(QStringLiteral("frontend")), slow);
        behaviour->save();
        QString web1;
        for (int r = 0; r < window.model()->rowCount(); ++r)
            if (window.model()->rowAt(r).info.hostname == QStringLiteral("web-1"))
                web1 = window.model()->rowAt(r).info.id;
        QTRY_VERIFY_WITH_TIMEOUT([&] {
            server::Store reader(db, {server::StoreOptions::Mode::ReadOnly});
            if (!reader.open())
                return false;
            const auto effective = reader.configs().effectiveConfig(web1);
            return effective && effective->sampleIntervalMs == 2000;
        }(), 10000);
        delete behaviour;

        // Merge: the new identity's predecessor is offered first, and its row goes.
        QCOMPARE(window.mergeCandidates(box).value(0), oldBox);
        QCOMPARE(window.mergeCandidates(web1), QStringList{oldBox}); // only retired identities are offered
        core.mergeClients(oldBox, box);
        QTRY_COMPARE_WITH_TIMEOUT(window.model()->rowOf(oldBox), -1, 10000);
        QTRY_VERIFY(window.statusBar()->currentMessage().startsWith(QStringLiteral("Merged %1 into %2").arg(oldBox, box)));
        window.close();
        core.stop();
    }

    void storagePageEditsRetentionAndTheServerPurges()
    {
        const QString db = m_dir.filePath(QStringLiteral("storage.db"));
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        constexpr qint64 day = 86'400'000;
        QString id;
        {
            server::Store store(db);
            QVERIFY(store.open().ok());
            store.enrolment().setTokenRequired(false);
            AgentConfig minute = store.configs().defaultConfig().value();
            minute.sampleIntervalMs = 60'000;
            minute.sendIntervalMs = 3'600'000;
            QVERIFY(store.configs().setDefaultConfig(minute).ok());
            Hello hello;
            hello.hostname = QStringLiteral("archive");
            id = store.enrolment().authenticate(hello, QStringLiteral("127.0.0.1"), now - 3 * day)->clientId;
            // Two days at one sample a minute, an hour a batch.
            quint64 seq = 0;
            for (qint64 start = now - 2 * day; start < now - 3'600'000; start += 3'600'000) {
                SampleBatch batch;
                batch.sequence = ++seq;
                for (int i = 0; i < 60; ++i) {
                    Sample x;
                    x.timestampMs = start + i * 60'000;
                    x.cpu.user = 10;
                    x.cpu.idle = 90;
                    x.memory.total = 1ull << 30;
                    batch.samples.push_back(x);
                }
                const server::IngestItem item{id, &batch};
                QVERIFY(store.ingest().write(std::span(&item, 1), start + 3'600'000).ok());
            }
            QVERIFY(store.enrolment().markAllOffline(now - 1000, QStringLiteral("test")).ok());
        }
        server::ServerCore core(coreOptions(QStringLiteral("storage.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        StorageDialog *dialog = window.showStorage();
        QTRY_VERIFY_WITH_TIMEOUT(dialog->isLoaded(), 10000);
        // The defaults a small shop can leave alone, and what they cost a machine.
        QCOMPARE(dialog->field(0)->text(), QStringLiteral("30d"));
        QCOMPARE(dialog->field(1)->text(), QStringLiteral("365d"));
        QCOMPARE(dialog->field(2)->text(), QStringLiteral("0"));
        QCOMPARE(dialog->field(3)->text(), QStringLiteral("0"));
        QVERIFY2(dialog->costText().contains(QStringLiteral("a machine")), qPrintable(dialog->costText()));
        auto *tiers = dialog->findChild<QTableWidget *>(QStringLiteral("storageTiers"));
        QCOMPARE(tiers->item(0, 1)->text(), QLocale().toString(47 * 60)); // 47 hours of samples
        // Wrong values are said, and Save waits for them.
        dialog->field(0)->setText(QStringLiteral("10s"));
        QVERIFY(!dialog->edited());
        QVERIFY(dialog->error().contains(QStringLiteral("Keep raw samples")));
        dialog->field(0)->setText(QStringLiteral("1d"));
        dialog->field(3)->setText(QStringLiteral("5 gigs"));
        QVERIFY(!dialog->edited());
        dialog->field(3)->setText(QStringLiteral("1GiB"));
        QVERIFY(dialog->edited());
        dialog->save();
        // The server stores it and purges at once: a day of samples is left.
        QTRY_VERIFY_WITH_TIMEOUT([&] {
            server::Store reader(db, {server::StoreOptions::Mode::ReadOnly});
            if (!reader.open())
                return false;
            const auto keep = reader.retention().settings();
            const auto count = reader.history().countSamples({id}, 0, std::numeric_limits<qint64>::max());
            return keep && keep->keepRawMs == day && keep->maxDbBytes == 1024LL * 1024 * 1024 && count
                   && *count > 0 && *count <= 24 * 60;
        }(), 10000);
        window.close();
        core.stop();
    }

    void compareSplitsLinesAtGaps()
    {
        constexpr qint64 t0 = 1'700'000'000'000;
        QList<QPointF> points;
        for (int s = 0; s <= 10; ++s)
            points.append(QPointF(double(t0 + s * 1000), 50));
        for (int s = 50; s <= 60; ++s)
            points.append(QPointF(double(t0 + s * 1000), 50));
        server::Gap stall;
        stall.startMs = t0 + 10'000;
        stall.endMs = t0 + 50'000;
        QList<QList<QPointF>> parts = CompareView::splitAtGaps(points, {stall}, 0);
        QCOMPARE(parts.size(), 2);
        QCOMPARE(parts[0].size(), 11);
        QCOMPARE(parts[1].first().x(), double(t0 + 50'000));
        QCOMPARE(CompareView::splitAtGaps(points, {}, 0).size(), 1);
        // A gap somewhere else cuts nothing; minute points (rollups) cut with a minute's slack.
        server::Gap elsewhere = stall;
        elsewhere.startMs = t0 + 100'000;
        elsewhere.endMs = t0 + 200'000;
        QCOMPARE(CompareView::splitAtGaps(points, {elsewhere}, 0).size(), 1);
        const QList<QPointF> minutes = {QPointF(double(t0 + 30'000), 1), QPointF(double(t0 + 90'000), 1),
                                        QPointF(double(t0 + 630'000), 1)};
        server::Gap hour = stall;
        hour.startMs = t0 + 85'000; // before the point that stands for its minute
        hour.endMs = t0 + 610'000;
        QCOMPARE(CompareView::splitAtGaps(minutes, {hour}, 0).size(), 1);
        QCOMPARE(CompareView::splitAtGaps(minutes, {hour}, 60'000).size(), 2);
    }

    void compareShowsOneMetricForManyHosts()
    {
        const QString db = m_dir.filePath(QStringLiteral("compare.db"));
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        QStringList ids;
        {
            server::Store store(db);
            QVERIFY(store.open().ok());
            store.enrolment().setTokenRequired(false);
            // Three hosts over the last 20 minutes at 1 s; the third was silent for 5 minutes.
            for (int h = 0; h < 3; ++h) {
                Hello hello;
                hello.hostname = QStringLiteral("host-%1").arg(h);
                hello.cpuCount = 2;
                const auto auth = store.enrolment().authenticate(hello, QStringLiteral("127.0.0.1"), now - 1'300'000);
                QVERIFY(auth.ok());
                ids.append(auth->clientId);
                quint64 seq = 0;
                for (qint64 start = now - 1'200'000; start < now; start += 60'000) {
                    if (h == 2 && start >= now - 900'000 && start < now - 600'000)
                        continue;
                    SampleBatch batch;
                    batch.sequence = ++seq;
                    for (int i = 0; i < 60; ++i) {
                        Sample x;
                        x.timestampMs = start + i * 1000;
                        x.cpu.user = float(20 + 30 * h);
                        x.cpu.idle = 100 - x.cpu.user;
                        x.memory.total = 8ull << 30;
                        x.memory.used = quint64(h + 1) << 30;
                        x.load1 = float(h);
                        batch.samples.push_back(x);
                    }
                    const server::IngestItem item{auth->clientId, &batch};
                    QVERIFY(store.ingest().write(std::span(&item, 1), start + 60'000).ok());
                }
            }
        }
        server::ServerCore core(coreOptions(QStringLiteral("compare.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.resize(1300, 800);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QTRY_COMPARE_WITH_TIMEOUT(window.model()->rowCount(), 3, 10000);

        // From the table: select, Compare.
        window.tabs()->setCurrentIndex(MainWindow::ClientsTab);
        window.tableView()->selectAll();
        window.findChild<QAction *>(QStringLiteral("compareAction"))->trigger();
        QCOMPARE(window.tabs()->currentIndex(), int(MainWindow::CompareTab));
        CompareView *compare = window.compareView();
        QCOMPARE(QSet<QString>(compare->clients().cbegin(), compare->clients().cend()),
                 QSet<QString>(ids.cbegin(), ids.cend()));
        compare->setRange(CompareView::Range::Hour);
        QTRY_COMPARE_WITH_TIMEOUT(compare->shownData().series.size(), 3, 10000);
        QVERIFY(!compare->shownData().fromRollups);
        QCOMPARE(compare->followingEveryMs(), ClientDetailView::followIntervalMs(CompareView::Range::Hour));
        // One line per host, and the silent host's line is two: nothing drawn across its gap.
        QCOMPARE(compare->chart()->series().size(), 4);
        QVERIFY(compare->chart()->chart()->legend()->isVisible());
        QSet<QRgb> colors;
        for (const QString &id : ids)
            colors.insert(compare->colorOf(id).rgb());
        QCOMPARE(colors.size(), 3);
        // The crosshair lists the hosts with data there, highest first.
        const QString values = compare->chart()->valuesAt(double(now - 60'000));
        const qsizetype top = values.indexOf(QStringLiteral("host-2: 80"));
        const qsizetype bottom = values.indexOf(QStringLiteral("host-0: 20"));
        QVERIFY2(top > 0 && bottom > top, qPrintable(values));
        QVERIFY2(!compare->chart()->valuesAt(double(now - 750'000)).contains(QStringLiteral("host-2")),
                 qPrintable(compare->chart()->valuesAt(double(now - 750'000))));

        // Another metric: load per core, a ratio without a unit.
        compare->setMetric(CompareMetric::LoadPerCore);
        QTRY_COMPARE_WITH_TIMEOUT(compare->shownData().metric, CompareMetric::LoadPerCore, 10000);
        QVERIFY2(compare->chart()->valuesAt(double(now - 60'000)).contains(QStringLiteral("host-2: 1.00")),
                 qPrintable(compare->chart()->valuesAt(double(now - 60'000))));
        // A week reads the rollups; a zoom reads its range, a double-click goes back.
        compare->setRange(CompareView::Range::Week);
        QTRY_VERIFY_WITH_TIMEOUT(compare->shownData().fromRollups, 10000);
        QCOMPARE(compare->shownData().series.size(), 3);
        Q_EMIT compare->chart()->userRangeChanged(now - 600'000, now);
        QCOMPARE(compare->range(), CompareView::Range::Custom);
        QTRY_VERIFY_WITH_TIMEOUT(!compare->shownData().fromRollups && compare->shownData().fromMs == now - 600'000, 10000);
        Q_EMIT compare->chart()->resetRequested();
        QCOMPARE(compare->range(), CompareView::Range::Week);

        // Unchecking a host in the list drops its line.
        auto *list = compare->findChild<QListWidget *>(QStringLiteral("compareHosts"));
        QVERIFY(list);
        QTRY_COMPARE(list->count(), 3); // the list follows the inventory half a second later
        const QString kept = list->item(2)->data(Qt::UserRole).toString();
        const QColor keptColor = compare->colorOf(kept);
        list->item(0)->setCheckState(Qt::Unchecked);
        QCOMPARE(compare->clients().size(), 2);
        QCOMPARE(compare->colorOf(kept), keptColor); // the others keep their colours
        QTRY_COMPARE_WITH_TIMEOUT(compare->shownData().series.size(), 2, 10000);
        QVERIFY(!compare->colorOf(list->item(0)->data(Qt::UserRole).toString()).isValid());
        window.close();
        core.stop();
    }

    void timeRangesFollowTheClockWithRoundTicks()
    {
        StoreReader reader(m_dir.filePath(QStringLiteral("server.db")));
        ClientDetailView detail(&reader);
        detail.resize(1200, 700);
        detail.show();
        QVERIFY(QTest::qWaitForWindowExposed(&detail));
        // Fixed ranges move on with the clock, each at its own pace.
        detail.setRange(ClientDetailView::Range::Hour);
        QCOMPARE(detail.followingEveryMs(), 10'000);
        detail.setRange(ClientDetailView::Range::Day);
        QCOMPARE(detail.followingEveryMs(), 60'000);
        // Round ticks that do not drift: the day range ends on a 4-hour boundary, a tick per 4 h,
        // with dates in the labels.
        QCOMPARE(detail.toMs() % (4 * 3600'000), 0);
        QCOMPARE(detail.fromMs() % (4 * 3600'000), 0);
        QVERIFY(detail.toMs() > QDateTime::currentMSecsSinceEpoch());
        QCOMPARE(detail.cpuChart()->axisTicks(), int((detail.toMs() - detail.fromMs()) / (4 * 3600'000)) + 1);
        QVERIFY2(detail.cpuChart()->axisFormat().contains(QStringLiteral("MMM d")), qPrintable(detail.cpuChart()->axisFormat()));
        detail.setRange(ClientDetailView::Range::Hour);
        QCOMPARE(detail.fromMs() % (10 * 60'000), 0);
        QVERIFY(detail.toMs() - detail.fromMs() >= 3600'000);
        // Zoom, then double-click: back to the range chosen before, not to "last hour".
        detail.setRange(ClientDetailView::Range::Live5Min);
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        Q_EMIT detail.cpuChart()->userRangeChanged(now - 120'000, now - 60'000);
        QCOMPARE(detail.range(), ClientDetailView::Range::Custom);
        QCOMPARE(detail.followingEveryMs(), 0);
        Q_EMIT detail.cpuChart()->resetRequested();
        QCOMPARE(detail.range(), ClientDetailView::Range::Live5Min);
        // A custom time applies without Enter.
        detail.setCustomRange(now - 7200'000, now - 3600'000);
        auto edits = detail.findChildren<QDateTimeEdit *>();
        QVERIFY(edits.size() >= 2);
        QDateTimeEdit *from = edits[0]->dateTime().toMSecsSinceEpoch() < edits[1]->dateTime().toMSecsSinceEpoch() ? edits[0] : edits[1];
        const QDateTime wanted = QDateTime::fromMSecsSinceEpoch(now - 5400'000);
        from->setDateTime(wanted);
        QTRY_COMPARE_WITH_TIMEOUT(detail.fromMs() / 1000, wanted.toMSecsSinceEpoch() / 1000, 3000);
    }

    void forgettingAConnectedClientEndsItsSession()
    {
        // Regression: the session went on sending under wiped credentials (with the history
        // deleted every batch failed, "internal server error"), so the agent was stuck.
        server::ServerCore core(coreOptions(QStringLiteral("forget-live.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        const agent::AgentSettings settings = agentSettings(core, QStringLiteral("forget-live"));
        agent::Agent agent(settings, std::make_unique<FakeSampler>(2, QStringLiteral("forgotten-host")));
        QVERIFY2(agent.start(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(window.model()->rowCount() == 1 && window.model()->rowAt(0).online, 10000);
        const QString oldId = window.model()->rowAt(0).info.id;
        QTRY_VERIFY_WITH_TIMEOUT(window.model()->rowAt(0).info.sampleCount > 0, 10000);
        // Without the session ending, the next batch arrives for a client the store no longer
        // knows: the store warns and the agent is refused with an internal error.
        QTest::failOnWarning(QRegularExpression(QStringLiteral("batch for (unknown|forgotten) client")));
        QStringList storeErrors; // the worker's thread: a receiver here, not a QSignalSpy
        QObject receiver;
        connect(core.worker(), &server::StoreWorker::storeError, &receiver,
                [&](const QString &message) { storeErrors << message; });
        core.forgetClient(oldId, true);
        // The session ends, the agent reconnects as a new one (no token needed in this test's
        // server; a real one asks for a token) and its samples are stored again.
        QTRY_VERIFY_WITH_TIMEOUT([&] {
            for (int r = 0; r < window.model()->rowCount(); ++r) {
                const auto &row = window.model()->rowAt(r);
                if (row.info.id != oldId && row.online && row.info.sampleCount > 0)
                    return true;
            }
            return false;
        }(), 20000);
        QCOMPARE(window.model()->rowOf(oldId), -1);
        QVERIFY2(storeErrors.isEmpty(), qPrintable(storeErrors.join(u'\n')));
        core.stop();
    }

    void firstStartSaysWhatToDo()
    {
        server::ServerCore core(coreOptions(QStringLiteral("first.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.tabs()->setCurrentIndex(MainWindow::ClientsTab);
        QVERIFY(window.showsEmptyHint());
        QVERIFY(window.detailView()->showsPlaceholder());
        auto *add = window.findChild<QPushButton *>(QStringLiteral("emptyAddAgent"));
        QVERIFY(add && add->isVisible());
        add->click();
        QTRY_VERIFY(window.findChild<AddAgentDialog *>() && window.findChild<AddAgentDialog *>()->isVisible());
        window.findChild<AddAgentDialog *>()->close();
        const agent::AgentSettings settings = agentSettings(core, QStringLiteral("first"));
        agent::Agent agent(settings, std::make_unique<FakeSampler>(2, QStringLiteral("first-host")));
        QVERIFY2(agent.start(&error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!window.showsEmptyHint(), 10000);
        window.openDetail(window.model()->rowAt(0).info.id);
        QVERIFY(!window.detailView()->showsPlaceholder());
        // The charts get most of the width, the facts a side column.
        const QList<int> sizes = window.detailView()->splitter()->sizes();
        QVERIFY2(sizes.size() == 2 && sizes[0] > 2 * sizes[1], qPrintable(QStringLiteral("%1 %2").arg(sizes.value(0)).arg(sizes.value(1))));
        window.close();
        core.stop();
    }

    void clientsTableHandlesLikeAFleetTool()
    {
        server::ServerCore core(coreOptions(QStringLiteral("table.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.tabs()->setCurrentIndex(MainWindow::ClientsTab);
        QTableView *table = window.tableView();
        QHeaderView *header = table->horizontalHeader();
        // First click on a number column: busiest first. On a text column: A to Z.
        const auto click = [&](int column) {
            QTest::mouseClick(header->viewport(), Qt::LeftButton, {},
                              QPoint(header->sectionViewportPosition(column) + header->sectionSize(column) / 2, header->height() / 2));
        };
        click(ClientTableModel::CpuColumn);
        QCOMPARE(header->sortIndicatorSection(), int(ClientTableModel::CpuColumn));
        QCOMPARE(header->sortIndicatorOrder(), Qt::DescendingOrder);
        click(ClientTableModel::CpuColumn);
        QCOMPARE(header->sortIndicatorOrder(), Qt::AscendingOrder); // the second click turns it
        click(ClientTableModel::OsColumn);
        QCOMPARE(header->sortIndicatorOrder(), Qt::AscendingOrder);
        // Compact rows.
        QVERIFY2(table->verticalHeader()->defaultSectionSize() <= table->fontMetrics().height() + 8,
                 qPrintable(QString::number(table->verticalHeader()->defaultSectionSize())));
        // Columns can be hidden from the header's menu (the hostname stays).
        QMenu *menu = window.columnsMenu();
        QAction *backlog = nullptr, *hostname = nullptr;
        for (QAction *a : menu->actions()) {
            if (a->text() == QStringLiteral("Backlog"))
                backlog = a;
            if (a->text() == QStringLiteral("Hostname"))
                hostname = a;
        }
        QVERIFY(backlog && hostname);
        QVERIFY(!hostname->isEnabled());
        backlog->toggle();
        QVERIFY(table->isColumnHidden(ClientTableModel::BacklogColumn));
        delete menu;
        // The context menu acts on the selection.
        QStringList contextActions;
        for (QAction *a : table->actions())
            if (!a->isSeparator())
                contextActions << a->text().remove(u'&');
        for (const QString &want : {QStringLiteral("Open detail"), QStringLiteral("Export history…"),
                                    QStringLiteral("Agent behaviour…"), QStringLiteral("Alert rules…"),
                                    QStringLiteral("Block client…"), QStringLiteral("Forget client…")})
            QVERIFY2(contextActions.contains(want), qPrintable(contextActions.join(u',')));
        QCOMPARE(table->contextMenuPolicy(), Qt::ActionsContextMenu);
        // The state filter beside the search.
        window.stateFilter()->setCurrentIndex(window.stateFilter()->findText(QStringLiteral("Down")));
        QCOMPARE(window.proxy()->stateFilter(), ClientFilterProxy::StateFilter::Down);
        window.close();
        core.stop();
    }

    void quitAsksWhenAgentsWouldBeCutOff()
    {
        server::ServerCore core(coreOptions(QStringLiteral("quit.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.confirmQuit()); // nobody connected: nothing to ask
        const agent::AgentSettings settings = agentSettings(core, QStringLiteral("quit"));
        agent::Agent agent(settings, std::make_unique<FakeSampler>(2, QStringLiteral("kept-host")));
        QVERIFY2(agent.start(&error), qPrintable(error));
        QTRY_COMPARE_WITH_TIMEOUT(window.model()->rowCount(), 1, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(window.model()->rowAt(0).online, 10000);
        // Ctrl+Q: a question, and Cancel keeps everything running.
        QString asked;
        QTimer answer;
        answer.setInterval(10);
        QString press = QStringLiteral("Cancel");
        connect(&answer, &QTimer::timeout, this, [&] {
            auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget());
            if (!box)
                return;
            answer.stop();
            asked = box->text();
            for (QAbstractButton *b : box->buttons())
                if (b->text().remove(u'&') == press)
                    b->click();
        });
        answer.start();
        window.findChild<QAction *>(QStringLiteral("quitAction"))->trigger();
        QVERIFY2(asked.startsWith(QStringLiteral("Quitting stops the server: 1 connected agent loses its connection")), qPrintable(asked));
        QVERIFY(window.isVisible());
        press = QStringLiteral("Stop server and quit");
        answer.start();
        QVERIFY(window.confirmQuit());
        window.close();
        core.stop();
    }

    void closingTheWindowKeepsTheServerInTheTray()
    {
        server::ServerCore core(coreOptions(QStringLiteral("tray.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        // No tray offscreen: closing stops, as the View menu says.
        QVERIFY(!window.keepsRunningOnClose());
        QVERIFY(!window.findChild<QAction *>(QStringLiteral("keepRunningAction"))->isEnabled());
        // With a tray: closing hides the window, the server goes on, and the user is told once.
        window.alertTray()->assumeAvailable(true);
        QVERIFY(window.keepsRunningOnClose());
        QVERIFY(!window.close());
        QVERIFY(!window.isVisible());
        QCOMPARE(window.alertTray()->shown().size(), 1);
        QVERIFY(window.alertTray()->shown().first().startsWith(QStringLiteral("autofactory is still running")));
        QVERIFY(core.hub() != nullptr);
        // The user's choice: close means stop.
        window.show();
        window.setKeepRunningOnClose(false);
        QVERIFY(window.close());
        core.stop();
    }

    void aDarkThemeReachesTheCharts()
    {
        server::ServerCore core(coreOptions(QStringLiteral("theme.db")));
        QString error;
        QVERIFY2(core.start(&error), qPrintable(error));
        MainWindow window(core);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        const QColor systemWindow = QApplication::palette().color(QPalette::Window);
        window.findChild<QAction *>(QStringLiteral("theme2"))->trigger(); // View → Theme → Dark
        QCOMPARE(window.theme(), MainWindow::Theme::Dark);
        QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 80);
        QTRY_VERIFY(window.detailView()->cpuChart()->chart()->backgroundBrush().color().lightness() < 80);
        window.setTheme(MainWindow::Theme::System);
        QCOMPARE(QApplication::palette().color(QPalette::Window), systemWindow);
        QTRY_VERIFY(window.detailView()->cpuChart()->chart()->backgroundBrush().color().lightness() > 150);
        window.close();
        core.stop();
    }

    void aSteadyTrickleOfAlertsIsNotHeldBack()
    {
        AlertTray tray;
        int sent = 0;
        QTimer trickle;
        trickle.setInterval(300); // faster than the gathering window, for longer than it
        connect(&trickle, &QTimer::timeout, this, [&] {
            server::AlertNotice n;
            n.ruleTitle = QStringLiteral("CPU busy");
            n.summary = QStringLiteral("host-%1: CPU busy").arg(sent++);
            tray.notify({n});
        });
        trickle.start();
        QTRY_VERIFY_WITH_TIMEOUT(!tray.shown().isEmpty(), 4000);
        QVERIFY(trickle.isActive()); // shown while alerts still arrive
        trickle.stop();
    }

    void aBurstOfAlertsIsOneDesktopMessageWithoutMarkup()
    {
        AlertTray tray;
        QSignalSpy none(&tray, &AlertTray::activated);
        for (int i = 0; i < 7; ++i) {
            server::AlertNotice n;
            n.ruleTitle = QStringLiteral("Host down");
            n.summary = QStringLiteral("<b>host-%1</b> & co: host down").arg(i);
            tray.notify({n}); // one commit each, as agents send at their own moments
        }
        QVERIFY(tray.shown().isEmpty()); // gathered first
        QTRY_COMPARE_WITH_TIMEOUT(tray.shown().size(), 1, 5000);
        const QString message = tray.shown().first();
        QVERIFY2(message.startsWith(QStringLiteral("7 alerts firing, 0 resolved\n")), qPrintable(message));
        QVERIFY(message.contains(QStringLiteral("… and 2 more")));
        QVERIFY(!message.contains(u'<') && !message.contains(u'>') && !message.contains(u'&'));
        QVERIFY(message.contains(QStringLiteral("‹b›host-0‹/b› ＆ co")));
    }

private:
    /** An agent for one test, talking plain ws:// to @p core, its files named after @p name. */
    agent::AgentSettings agentSettings(const server::ServerCore &core, const QString &name) const
    {
        agent::AgentSettings settings;
        settings.path = m_dir.filePath(name + QStringLiteral("-agent.json"));
        settings.server = core.url();
        settings.insecure = true;
        settings.spool = m_dir.filePath(name + QStringLiteral("-spool.db"));
        return settings;
    }

    /** A server for one test: loopback, a free port, its database in the test's folder. */
    server::ServerCore::Options coreOptions(const QString &databaseName) const
    {
        server::ServerCore::Options options;
        options.databasePath = m_dir.filePath(databaseName);
        options.network.address = QHostAddress::LocalHost;
        options.network.port = 0;
        options.requireEnrolmentToken = false; // not about enrolment
        return options;
    }

    QTemporaryDir m_dir;
};

QTEST_MAIN(TestDashboard)
#include "tst_dashboard.moc"
