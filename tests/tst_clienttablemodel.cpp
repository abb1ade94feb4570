// SPDX-License-Identifier: MIT
// ClientTableModel + ClientFilterProxy: inventory merge, live updates, status, sort, filter.
#include "clientfilterproxy.h"
#include "clienttablemodel.h"
#include "testdata.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace autofact;
using namespace autofact::dashboard;
using server::HubActivity;
using server::ClientInfo;

namespace {
constexpr qint64 kNow = 1'700'000'000'000;

ClientInfo info(const QString &id, const QString &host, const QString &os, bool online,
                       qint64 lastSampleMs)
{
    ClientInfo c;
    c.id = id;
    c.hostname = host;
    c.osName = os;
    c.online = online;
    c.lastSampleMs = lastSampleMs;
    c.lastSeenMs = lastSampleMs ? lastSampleMs : kNow - 60000;
    c.configRevision = 3;
    c.appliedRevision = 3;
    return c;
}

Sample sample(qint64 ts, float user, quint64 used)
{
    Sample s;
    s.timestampMs = ts;
    s.cpu.user = user;
    s.cpu.idle = 100 - user;
    s.memory.total = 1000;
    s.memory.used = used;
    s.memory.swapTotal = 100;
    s.memory.swapFree = 75;
    s.load1 = 1.5f;
    return s;
}

/** Figures as an agent sends them: a filesystem @p percent full at @p mount, rx and tx B/s. */
metrics::DeviceSummary devices(qint64 ts, double percent, const QString &mount, double rx, double tx)
{
    metrics::DeviceSummary d;
    d.filesystemsMs = ts;
    d.fullestPercent = percent;
    d.fullestMount = mount;
    d.networkMs = ts;
    d.rxBytesPerSec = rx;
    d.txBytesPerSec = tx;
    return d;
}

QString cell(const QAbstractItemModel &m, int row, int column)
{
    return m.index(row, column).data().toString();
}
} // namespace

class TestClientTableModel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init()
    {
        m_model = std::make_unique<ClientTableModel>();
        m_proxy = std::make_unique<ClientFilterProxy>();
        m_proxy->setSourceModel(m_model.get());
        m_modelTester = std::make_unique<QAbstractItemModelTester>(
            m_model.get(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        m_proxyTester = std::make_unique<QAbstractItemModelTester>(
            m_proxy.get(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        m_model->setNow(kNow);
        m_model->setInventory({info(QStringLiteral("id-a"), QStringLiteral("alpha"), QStringLiteral("Debian"), false, kNow - 120000),
                               info(QStringLiteral("id-b"), QStringLiteral("bravo"), QStringLiteral("Fedora"), true, kNow - 1000),
                               info(QStringLiteral("id-c"), QStringLiteral("charlie"), QStringLiteral("Debian"), false, 0)});
    }

    void cleanup()
    {
        m_proxyTester.reset();
        m_modelTester.reset();
        m_proxy.reset();
        m_model.reset();
    }

    void inventoryRowsAndStatus()
    {
        QCOMPARE(m_model->rowCount(), 3);
        QCOMPARE(m_model->columnCount(), int(ClientTableModel::ColumnCount));
        const int a = m_model->rowOf(QStringLiteral("id-a"));
        const int b = m_model->rowOf(QStringLiteral("id-b"));
        const int c = m_model->rowOf(QStringLiteral("id-c"));
        QCOMPARE(cell(*m_model, a, ClientTableModel::StatusColumn), QStringLiteral("down"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::StatusColumn), QStringLiteral("up"));
        QCOMPARE(cell(*m_model, c, ClientTableModel::StatusColumn), QStringLiteral("never seen data"));
        QCOMPARE(m_model->index(c, 0).data(ClientTableModel::StatusRole).toInt(),
                 int(ClientTableModel::Status::NoData));
        // Offline clients say when they left.
        QCOMPARE(cell(*m_model, a, ClientTableModel::LastSeenColumn), QStringLiteral("left 2 min ago"));
        QCOMPARE(cell(*m_model, c, ClientTableModel::ConfigColumn), QStringLiteral("r3 applied"));
    }

    void activityUpdatesLiveColumns()
    {
        QSignalSpy live(m_model.get(), &ClientTableModel::liveSample);
        QSignalSpy changed(m_model.get(), &QAbstractItemModel::dataChanged);
        HubActivity activity;
        activity.latest.insert(QStringLiteral("id-b"), sample(kNow, 42.5f, 250));
        activity.backlog.insert(QStringLiteral("id-b"), 7);
        m_model->applyActivity(activity);
        QCOMPARE(live.count(), 1);
        QVERIFY(changed.count() >= 1);
        const int b = m_model->rowOf(QStringLiteral("id-b"));
        QCOMPARE(m_model->index(b, ClientTableModel::CpuColumn).data(ClientTableModel::SortRole).toDouble(), 42.5);
        QCOMPARE(cell(*m_model, b, ClientTableModel::MemoryColumn), QStringLiteral("25.0 %"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::SwapColumn), QStringLiteral("25.0 %"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::BacklogColumn), QStringLiteral("7"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::LastSeenColumn), QStringLiteral("now"));
    }

    void deviceColumnsFillFromActivity()
    {
        const int b = m_model->rowOf(QStringLiteral("id-b"));
        // Nothing until a reading arrives (an old agent never sends one).
        QCOMPARE(cell(*m_model, b, ClientTableModel::DiskColumn), QStringLiteral("—"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::NetworkColumn), QStringLiteral("—"));
        QCOMPARE(m_model->index(b, ClientTableModel::DiskColumn).data(ClientTableModel::SortRole).toDouble(), -1.0);
        QVERIFY(m_model->index(b, ClientTableModel::DiskColumn).data(Qt::ToolTipRole).isNull());

        // The summary the hub makes of a real batch: "/srv/my data" is the fullest at 53.2 %,
        // eth0 and wlp2s0 receive 128 kB/s and send 9 kB/s together.
        SampleBatch batch = testdata::makeBatch(1, 3, 2, kNow - 2000);
        testdata::addDevices(batch);
        metrics::DeviceSummary summary;
        summary.update(batch);
        QSignalSpy live(m_model.get(), &ClientTableModel::liveDevices);
        QSignalSpy changed(m_model.get(), &QAbstractItemModel::dataChanged);
        HubActivity activity;
        activity.devices.insert(QStringLiteral("id-b"), summary);
        m_model->applyActivity(activity);
        QCOMPARE(live.count(), 1);
        QCOMPARE(live.at(0).at(0).toString(), QStringLiteral("id-b"));
        QCOMPARE(live.at(0).at(1).value<metrics::DeviceSummary>(), summary);
        QVERIFY(changed.count() >= 1);
        QCOMPARE(changed.last().at(0).value<QModelIndex>().column(), int(ClientTableModel::DiskColumn));
        QCOMPARE(changed.last().at(1).value<QModelIndex>().column(), int(ClientTableModel::NetworkColumn));
        QCOMPARE(cell(*m_model, b, ClientTableModel::DiskColumn), QStringLiteral("53.2 %"));
        QCOMPARE(m_model->index(b, ClientTableModel::DiskColumn).data(ClientTableModel::SortRole).toDouble(),
                 summary.fullestPercent);
        QVERIFY(m_model->index(b, ClientTableModel::DiskColumn).data(Qt::ToolTipRole).toString().contains(QStringLiteral("/srv/my data")));
        QCOMPARE(cell(*m_model, b, ClientTableModel::NetworkColumn), QStringLiteral("↓128 kB/s ↑9.0 kB/s"));
        QCOMPARE(m_model->index(b, ClientTableModel::NetworkColumn).data(ClientTableModel::SortRole).toDouble(), 128'000.0 + 9'002.0);
        QCOMPARE(m_model->index(b, ClientTableModel::DiskColumn).data(Qt::TextAlignmentRole).toInt(),
                 int(Qt::AlignRight | Qt::AlignVCenter));

        // A report with network figures only (filesystems are read once a minute) keeps the disk.
        metrics::DeviceSummary networkOnly;
        networkOnly.networkMs = kNow;
        networkOnly.rxBytesPerSec = 1'234'567;
        networkOnly.txBytesPerSec = 80'000;
        HubActivity later;
        later.devices.insert(QStringLiteral("id-b"), networkOnly);
        m_model->applyActivity(later);
        QCOMPARE(cell(*m_model, b, ClientTableModel::DiskColumn), QStringLiteral("53.2 %"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::NetworkColumn), QStringLiteral("↓1.2 MB/s ↑80 kB/s"));
        QCOMPARE(live.count(), 2);
        QCOMPARE(live.last().at(1).value<metrics::DeviceSummary>().fullestMount, QStringLiteral("/srv/my data"));

        // The mount point is the agent's word: the tooltip shows it as text, never as markup.
        HubActivity odd;
        odd.devices.insert(QStringLiteral("id-b"), devices(kNow + 1000, 99, QStringLiteral("/mnt/<b>x</b>"), 0, 0));
        m_model->applyActivity(odd);
        const QString tip = m_model->index(b, ClientTableModel::DiskColumn).data(Qt::ToolTipRole).toString();
        QVERIFY2(tip.contains(QStringLiteral("/mnt/&lt;b&gt;x&lt;/b&gt;")) && tip.startsWith(QStringLiteral("<qt>")), qPrintable(tip));

        // Down: old figures are not shown as current ones. A rate is no longer true, like CPU;
        // the fill level is the last known one, greyed, its tooltip saying when it was read.
        QVERIFY(!m_model->index(b, ClientTableModel::DiskColumn).data(Qt::ForegroundRole).isValid());
        m_model->clientDisconnected(QStringLiteral("id-b"), QString());
        QCOMPARE(cell(*m_model, b, ClientTableModel::DiskColumn), QStringLiteral("99.0 %"));
        QCOMPARE(m_model->index(b, ClientTableModel::DiskColumn).data(Qt::ForegroundRole).value<QColor>(), QColor(0x8a, 0x8a, 0x8a));
        const QString offlineTip = m_model->index(b, ClientTableModel::DiskColumn).data(Qt::ToolTipRole).toString();
        QVERIFY2(offlineTip.contains(QStringLiteral("last read")) && offlineTip.contains(QStringLiteral("offline")), qPrintable(offlineTip));
        QCOMPARE(m_model->index(b, ClientTableModel::DiskColumn).data(ClientTableModel::SortRole).toDouble(), 99.0);
        QCOMPARE(cell(*m_model, b, ClientTableModel::NetworkColumn), QStringLiteral("—"));
        QCOMPARE(m_model->index(b, ClientTableModel::NetworkColumn).data(ClientTableModel::SortRole).toDouble(), -1.0);
        QVERIFY(m_model->index(b, ClientTableModel::NetworkColumn).data(Qt::ToolTipRole).isNull());
        // Back: current again.
        m_model->clientConnected(QStringLiteral("id-b"));
        QVERIFY(!m_model->index(b, ClientTableModel::DiskColumn).data(Qt::ForegroundRole).isValid());
        QCOMPARE(cell(*m_model, b, ClientTableModel::NetworkColumn), QStringLiteral("↓0 B/s ↑0 B/s"));
    }

    void storedDevicesFillRowsAndLiveReadingsWin()
    {
        const int a = m_model->rowOf(QStringLiteral("id-a")); // offline
        const int b = m_model->rowOf(QStringLiteral("id-b")); // online
        // b's live network reading came before the stored figures were read: it stays.
        HubActivity activity;
        metrics::DeviceSummary live;
        live.networkMs = kNow;
        live.rxBytesPerSec = 2'000'000;
        activity.devices.insert(QStringLiteral("id-b"), live);
        m_model->applyActivity(activity);
        QSignalSpy liveDevices(m_model.get(), &ClientTableModel::liveDevices);
        QSignalSpy changed(m_model.get(), &QAbstractItemModel::dataChanged);
        m_model->setStoredDevices({{QStringLiteral("id-a"), devices(kNow - 120'000, 87.5, QStringLiteral("/var"), 5000, 5000)},
                                   {QStringLiteral("id-b"), devices(kNow - 30'000, 40, QStringLiteral("/"), 10, 10)},
                                   {QStringLiteral("id-gone"), devices(kNow, 1, QStringLiteral("/"), 1, 1)}});
        QCOMPARE(m_model->rowCount(), 3); // a client the table no longer has gets no row
        QCOMPARE(liveDevices.count(), 2);
        QCOMPARE(changed.count(), 2);
        QCOMPARE(cell(*m_model, b, ClientTableModel::DiskColumn), QStringLiteral("40.0 %"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::NetworkColumn), QStringLiteral("↓2.0 MB/s ↑0 B/s"));
        QCOMPARE(cell(*m_model, a, ClientTableModel::DiskColumn), QStringLiteral("87.5 %"));
        QCOMPARE(cell(*m_model, a, ClientTableModel::NetworkColumn), QStringLiteral("—"));
        // The same figures again (an inventory refresh): nothing changes, nothing is said.
        m_model->setStoredDevices({{QStringLiteral("id-a"), devices(kNow - 120'000, 87.5, QStringLiteral("/var"), 5000, 5000)}});
        QCOMPARE(liveDevices.count(), 2);
        // Older stored figures never overwrite newer live ones.
        m_model->setStoredDevices({{QStringLiteral("id-b"), devices(kNow - 60'000, 10, QStringLiteral("/old"), 1, 1)}});
        QCOMPARE(cell(*m_model, b, ClientTableModel::DiskColumn), QStringLiteral("40.0 %"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::NetworkColumn), QStringLiteral("↓2.0 MB/s ↑0 B/s"));
    }

    void deviceColumnsSortNumerically()
    {
        for (const char *id : {"id-a", "id-c"})
            m_model->clientConnected(QString::fromLatin1(id));
        HubActivity activity;
        // As text "100.0 %" < "53.2 %" < "9.5 %", and "↓9 B/s" after "↓2.0 MB/s".
        activity.devices.insert(QStringLiteral("id-a"), devices(kNow, 100.0, QStringLiteral("/"), 9, 0));
        activity.devices.insert(QStringLiteral("id-b"), devices(kNow, 53.2, QStringLiteral("/home"), 500'000, 600'000));
        activity.devices.insert(QStringLiteral("id-c"), devices(kNow, 9.5, QStringLiteral("/var"), 2'000'000, 0));
        m_model->applyActivity(activity);
        const auto hosts = [this] {
            QStringList out;
            for (int row = 0; row < m_proxy->rowCount(); ++row)
                out << cell(*m_proxy, row, ClientTableModel::HostnameColumn);
            return out;
        };
        m_proxy->sort(ClientTableModel::DiskColumn, Qt::DescendingOrder);
        QCOMPARE(hosts(), (QStringList{QStringLiteral("alpha"), QStringLiteral("bravo"), QStringLiteral("charlie")}));
        // By the sum of both directions: 2 MB/s, 1.1 MB/s, 9 B/s.
        m_proxy->sort(ClientTableModel::NetworkColumn, Qt::DescendingOrder);
        QCOMPARE(hosts(), (QStringList{QStringLiteral("charlie"), QStringLiteral("bravo"), QStringLiteral("alpha")}));
        // Without readings a client sorts below every client with some.
        m_model->clientDisconnected(QStringLiteral("id-c"), QString());
        QCOMPARE(hosts(), (QStringList{QStringLiteral("bravo"), QStringLiteral("alpha"), QStringLiteral("charlie")}));
        QVERIFY(ClientTableModel::isNumeric(ClientTableModel::DiskColumn));
        QVERIFY(ClientTableModel::isNumeric(ClientTableModel::NetworkColumn));
    }

    void rateText_data()
    {
        QTest::addColumn<double>("bytesPerSecond");
        QTest::addColumn<QString>("text");
        QTest::addRow("idle") << 0.0 << QStringLiteral("0 B/s");
        QTest::addRow("bytes") << 999.0 << QStringLiteral("999 B/s");
        QTest::addRow("rounds up to a kilobyte") << 999.7 << QStringLiteral("1.0 kB/s");
        QTest::addRow("kilobytes") << 80'000.0 << QStringLiteral("80 kB/s");
        QTest::addRow("one decimal below ten") << 1'234'567.0 << QStringLiteral("1.2 MB/s");
        QTest::addRow("none from ten") << 12'345'678.0 << QStringLiteral("12 MB/s");
        QTest::addRow("gigabytes") << 2.5e9 << QStringLiteral("2.5 GB/s");
        QTest::addRow("negative is none") << -5.0 << QStringLiteral("0 B/s");
    }

    void rateText()
    {
        QFETCH(double, bytesPerSecond);
        QFETCH(QString, text);
        QCOMPARE(ClientTableModel::rateText(bytesPerSecond), text);
    }

    void statusChanges()
    {
        const int c = m_model->rowOf(QStringLiteral("id-c"));
        m_model->clientConnected(QStringLiteral("id-c"));
        QCOMPARE(cell(*m_model, c, ClientTableModel::StatusColumn), QStringLiteral("never seen data"));
        HubActivity first;
        first.latest.insert(QStringLiteral("id-c"), sample(kNow, 10, 100));
        m_model->applyActivity(first);
        QCOMPARE(m_model->index(c, 0).data(ClientTableModel::StatusRole).toInt(),
                 int(ClientTableModel::Status::Online));

        m_model->setNow(kNow + 30000);
        m_model->clientDisconnected(QStringLiteral("id-c"), QStringLiteral("idle timeout"));
        QCOMPARE(cell(*m_model, c, ClientTableModel::StatusColumn), QStringLiteral("down"));
        QCOMPARE(cell(*m_model, c, ClientTableModel::CpuColumn), QStringLiteral("—"));
        QVERIFY(m_model->index(c, ClientTableModel::LastSeenColumn).data(Qt::ToolTipRole)
                    .toString().contains(QStringLiteral("idle timeout")));
        m_model->setNow(kNow + 30000 + 5 * 60000);
        QCOMPARE(cell(*m_model, c, ClientTableModel::LastSeenColumn), QStringLiteral("left 5 min ago"));
        // A later inventory snapshot does not overrule what the hub said.
        ClientInfo stale = info(QStringLiteral("id-c"), QStringLiteral("charlie"), QStringLiteral("Debian"), true, kNow);
        m_model->setInventory({m_model->rowAt(0).info, m_model->rowAt(1).info, stale});
        QCOMPARE(cell(*m_model, c, ClientTableModel::StatusColumn), QStringLiteral("down"));
    }

    void staleClientsSayStaleAndAreCounted()
    {
        // The hub's verdict: connected, but no data for too long (a hung agent or host).
        const int b = m_model->rowOf(QStringLiteral("id-b"));
        QCOMPARE(m_model->healthSummary(), QStringLiteral("1 up · 1 down · 1 never seen data"));
        HubActivity hung;
        hung.staleNow.insert(QStringLiteral("id-b"), true);
        m_model->applyActivity(hung);
        QCOMPARE(cell(*m_model, b, ClientTableModel::StatusColumn), QStringLiteral("stale"));
        QCOMPARE(m_model->index(b, 0).data(ClientTableModel::StatusRole).toInt(),
                 int(ClientTableModel::Status::Stale));
        QCOMPARE(m_model->healthSummary(), QStringLiteral("0 up · 1 stale · 1 down · 1 never seen data"));
        HubActivity back;
        back.staleNow.insert(QStringLiteral("id-b"), false);
        m_model->applyActivity(back);
        QCOMPARE(cell(*m_model, b, ClientTableModel::StatusColumn), QStringLiteral("up"));
        // A client that leaves is down, not stale, and not stale when it comes back either.
        m_model->applyActivity(hung);
        m_model->clientDisconnected(QStringLiteral("id-b"), QStringLiteral("idle timeout"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::StatusColumn), QStringLiteral("down"));
        m_model->clientConnected(QStringLiteral("id-b"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::StatusColumn), QStringLiteral("up"));
    }

    void lateSampleDoesNotBringAStoppedAgentBack()
    {
        // Regression: an agent's last batch commits after its socket closed; the report that
        // carries that sample must not mark it online again.
        const int c = m_model->rowOf(QStringLiteral("id-c"));
        m_model->clientConnected(QStringLiteral("id-c"));
        m_model->clientDisconnected(QStringLiteral("id-c"), QStringLiteral("agent stopping"));
        HubActivity report;
        report.connected.append(QStringLiteral("id-c"));    // connected and left within the
        report.disconnected.append(QStringLiteral("id-c")); // same 250 ms period
        report.onlineNow.insert(QStringLiteral("id-c"), false);
        report.latest.insert(QStringLiteral("id-c"), sample(kNow, 10, 100));
        m_model->applyActivity(report);
        QCOMPARE(cell(*m_model, c, ClientTableModel::StatusColumn), QStringLiteral("down"));
        // And the hub's verdict brings it back when it did reconnect.
        HubActivity back;
        back.onlineNow.insert(QStringLiteral("id-c"), true);
        m_model->applyActivity(back);
        QCOMPARE(cell(*m_model, c, ClientTableModel::StatusColumn), QStringLiteral("up"));
    }

    void inventoryOfManyClientsIsOneInsertion()
    {
        QSignalSpy inserted(m_model.get(), &QAbstractItemModel::rowsInserted);
        QList<ClientInfo> many = {m_model->rowAt(0).info, m_model->rowAt(1).info, m_model->rowAt(2).info};
        for (int i = 0; i < 500; ++i)
            many.append(info(QStringLiteral("bulk-%1").arg(i), QStringLiteral("host-%1").arg(i), QStringLiteral("Debian"), false, kNow));
        m_model->setInventory(many);
        QCOMPARE(m_model->rowCount(), 503);
        QCOMPARE(inserted.count(), 1);
        QCOMPARE(m_model->rowOf(QStringLiteral("bulk-499")), 502);
    }

    void configApplied()
    {
        const int a = m_model->rowOf(QStringLiteral("id-a"));
        m_model->configApplied(QStringLiteral("id-a"), 5);
        QCOMPARE(cell(*m_model, a, ClientTableModel::ConfigColumn), QStringLiteral("r5 applied"));
    }

    void unknownClientAddsRowAndAsksForInventory()
    {
        QSignalSpy stale(m_model.get(), &ClientTableModel::inventoryStale);
        HubActivity activity;
        activity.connected.append(QStringLiteral("id-new"));
        activity.onlineNow.insert(QStringLiteral("id-new"), true);
        activity.latest.insert(QStringLiteral("id-new"), sample(kNow, 1, 1));
        m_model->applyActivity(activity);
        QCOMPARE(m_model->rowCount(), 4);
        QVERIFY(stale.count() >= 1);
        // Not in the next inventory yet (read before it enrolled), but online: kept.
        m_model->setInventory({m_model->rowAt(0).info, m_model->rowAt(1).info, m_model->rowAt(2).info});
        QCOMPARE(m_model->rowCount(), 4);
    }

    void forgottenClientsDisappear()
    {
        m_model->setInventory({info(QStringLiteral("id-b"), QStringLiteral("bravo"), QStringLiteral("Fedora"), true, kNow)});
        QCOMPARE(m_model->rowCount(), 1);
        QCOMPARE(m_model->clientIds(), QStringList{QStringLiteral("id-b")});
    }

    void blockedClientsSayBlocked()
    {
        // Revoked while still connected: the hub ends the session within a second, and the
        // table must not show "online" meanwhile.
        ClientInfo blocked = info(QStringLiteral("id-b"), QStringLiteral("bravo"), QStringLiteral("Fedora"), true, kNow);
        blocked.blockedMs = kNow;
        m_model->setInventory({blocked});
        const int b = m_model->rowOf(QStringLiteral("id-b"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::StatusColumn), QStringLiteral("blocked"));
        QCOMPARE(m_model->index(b, 0).data(ClientTableModel::StatusRole).toInt(),
                 int(ClientTableModel::Status::Blocked));
        m_model->clientDisconnected(QStringLiteral("id-b"), QStringLiteral("revoked"));
        QCOMPARE(cell(*m_model, b, ClientTableModel::StatusColumn), QStringLiteral("blocked"));
    }

    void alertBadgesFollowTheClientsEvenBeforeTheyAreListed()
    {
        QSignalSpy changed(m_model.get(), &QAbstractItemModel::dataChanged);
        m_model->setAlerts({{QStringLiteral("id-a"), {QStringLiteral("CPU busy"), QStringLiteral("Host stale")}},
                            {QStringLiteral("id-new"), {QStringLiteral("Host down")}}});
        const int a = m_model->rowOf(QStringLiteral("id-a"));
        QCOMPARE(cell(*m_model, a, ClientTableModel::AlertsColumn), QStringLiteral("2"));
        QVERIFY(m_model->index(a, ClientTableModel::HostnameColumn).data(Qt::ToolTipRole).toString().contains(QStringLiteral("CPU busy, Host stale")));
        QVERIFY(m_model->index(a, ClientTableModel::HostnameColumn).data(Qt::DecorationRole).isValid());
        QCOMPARE(m_model->index(a, ClientTableModel::AlertsColumn).data(ClientTableModel::SortRole).toInt(), 2);
        QCOMPARE(changed.size(), 1); // only the row that changed
        // A client the inventory brings later gets its badge when its row appears.
        m_model->setInventory({m_model->rowAt(0).info, m_model->rowAt(1).info, m_model->rowAt(2).info,
                               info(QStringLiteral("id-new"), QStringLiteral("newbie"), QStringLiteral("Debian"), false, kNow)});
        QCOMPARE(cell(*m_model, m_model->rowOf(QStringLiteral("id-new")), ClientTableModel::AlertsColumn), QStringLiteral("1"));
        m_model->setAlerts({});
        QCOMPARE(cell(*m_model, a, ClientTableModel::AlertsColumn), QString());
        QVERIFY(!m_model->index(a, ClientTableModel::HostnameColumn).data(Qt::DecorationRole).isValid());
    }

    void sortByCpuNumerically()
    {
        m_model->clientConnected(QStringLiteral("id-a"));
        m_model->clientConnected(QStringLiteral("id-c"));
        HubActivity activity;
        activity.latest.insert(QStringLiteral("id-a"), sample(kNow, 9, 1));
        activity.latest.insert(QStringLiteral("id-b"), sample(kNow, 80, 1));
        activity.latest.insert(QStringLiteral("id-c"), sample(kNow, 10, 1)); // "10" < "9" as text
        m_model->applyActivity(activity);
        m_proxy->sort(ClientTableModel::CpuColumn, Qt::DescendingOrder);
        QCOMPARE(cell(*m_proxy, 0, ClientTableModel::HostnameColumn), QStringLiteral("bravo"));
        QCOMPARE(cell(*m_proxy, 1, ClientTableModel::HostnameColumn), QStringLiteral("charlie"));
        QCOMPARE(cell(*m_proxy, 2, ClientTableModel::HostnameColumn), QStringLiteral("alpha"));
        // Dynamic: a new sample re-sorts.
        HubActivity later;
        later.latest.insert(QStringLiteral("id-a"), sample(kNow + 1000, 99, 1));
        m_model->applyActivity(later);
        QCOMPARE(cell(*m_proxy, 0, ClientTableModel::HostnameColumn), QStringLiteral("alpha"));
    }

    void filter_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("expected");
        QTest::addRow("empty") << QString() << QStringList{QStringLiteral("alpha"), QStringLiteral("bravo"), QStringLiteral("charlie")};
        QTest::addRow("hostname") << QStringLiteral("rav") << QStringList{QStringLiteral("bravo")};
        QTest::addRow("id, case") << QStringLiteral("ID-C") << QStringList{QStringLiteral("charlie")};
        QTest::addRow("os") << QStringLiteral("debian") << QStringList{QStringLiteral("alpha"), QStringLiteral("charlie")};
        QTest::addRow("nothing") << QStringLiteral("zzz") << QStringList{};
        QTest::addRow("state word") << QStringLiteral("up") << QStringList{QStringLiteral("bravo")};
        QTest::addRow("online, as people say") << QStringLiteral("Online") << QStringList{QStringLiteral("bravo")};
        QTest::addRow("offline") << QStringLiteral("offline") << QStringList{QStringLiteral("alpha")};
        QTest::addRow("never seen") << QStringLiteral("never") << QStringList{QStringLiteral("charlie")};
    }

    void filter()
    {
        QFETCH(QString, text);
        QFETCH(QStringList, expected);
        m_proxy->sort(ClientTableModel::HostnameColumn, Qt::AscendingOrder);
        m_proxy->setSearchText(text);
        QStringList hosts;
        for (int row = 0; row < m_proxy->rowCount(); ++row)
            hosts.append(cell(*m_proxy, row, ClientTableModel::HostnameColumn));
        QCOMPARE(hosts, expected);
    }

    void stateFilter_data()
    {
        QTest::addColumn<int>("filter");
        QTest::addColumn<QStringList>("expected");
        using F = ClientFilterProxy::StateFilter;
        QTest::addRow("all") << int(F::All) << QStringList{QStringLiteral("alpha"), QStringLiteral("bravo"), QStringLiteral("charlie")};
        QTest::addRow("up") << int(F::Up) << QStringList{QStringLiteral("bravo")};
        QTest::addRow("down") << int(F::Down) << QStringList{QStringLiteral("alpha")};
        QTest::addRow("never seen") << int(F::NeverSeen) << QStringList{QStringLiteral("charlie")};
        QTest::addRow("stale") << int(F::Stale) << QStringList{};
        QTest::addRow("blocked") << int(F::Blocked) << QStringList{};
        QTest::addRow("with alerts") << int(F::WithAlerts) << QStringList{QStringLiteral("charlie")};
    }

    void stateFilter()
    {
        QFETCH(int, filter);
        QFETCH(QStringList, expected);
        m_model->setAlerts({{QStringLiteral("id-c"), {QStringLiteral("Host down")}}});
        m_proxy->sort(ClientTableModel::HostnameColumn, Qt::AscendingOrder);
        m_proxy->setStateFilter(ClientFilterProxy::StateFilter(filter));
        QStringList hosts;
        for (int row = 0; row < m_proxy->rowCount(); ++row)
            hosts.append(cell(*m_proxy, row, ClientTableModel::HostnameColumn));
        QCOMPARE(hosts, expected);
    }

    void headersExplainThemselvesAndForgottenRowsLookDifferent()
    {
        for (int c : {ClientTableModel::BacklogColumn, ClientTableModel::DroppedColumn, ClientTableModel::CpuColumn,
                      ClientTableModel::StatusColumn, ClientTableModel::AlertsColumn, ClientTableModel::DiskColumn,
                      ClientTableModel::NetworkColumn})
            QVERIFY2(!m_model->headerData(c, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty(), qPrintable(QString::number(c)));
        ClientInfo gone = info(QStringLiteral("id-a"), QStringLiteral("alpha"), QStringLiteral("Debian"), false, kNow - 120000);
        gone.forgotten = true;
        const int a = m_model->rowOf(QStringLiteral("id-a"));
        const QColor down = m_model->index(a, ClientTableModel::StatusColumn).data(Qt::DecorationRole).value<QColor>();
        m_model->setInventory({gone, m_model->rowAt(1).info, m_model->rowAt(2).info});
        QCOMPARE(cell(*m_model, a, ClientTableModel::StatusColumn), QStringLiteral("forgotten"));
        QVERIFY(m_model->index(a, ClientTableModel::StatusColumn).data(Qt::DecorationRole).value<QColor>() != down);
    }

    void formatAgo()
    {
        QCOMPARE(ClientTableModel::formatAgo(5000), QStringLiteral("5 s ago"));
        QCOMPARE(ClientTableModel::formatAgo(3 * 3600 * 1000), QStringLiteral("3 h ago"));
        QCOMPARE(ClientTableModel::formatAgo(-5), QStringLiteral("0 s ago"));
    }

private:
    std::unique_ptr<ClientTableModel> m_model;
    std::unique_ptr<ClientFilterProxy> m_proxy;
    std::unique_ptr<QAbstractItemModelTester> m_modelTester;
    std::unique_ptr<QAbstractItemModelTester> m_proxyTester;
};

QTEST_GUILESS_MAIN(TestClientTableModel)
#include "tst_clienttablemodel.moc"
