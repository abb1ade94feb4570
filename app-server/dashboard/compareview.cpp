// SPDX-License-Identifier: MIT
#include "compareview.h"

#include "clienttablemodel.h"
#include "historychartview.h"
#include "storereader.h"

#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegendMarker>
#include <QLineEdit>
#include <QLineSeries>
#include <QListWidget>
#include <QLocale>
#include <QPainter>
#include <QPixmap>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>

namespace autofact::dashboard {

namespace {

QString metricTitle(CompareMetric metric)
{
    switch (metric) {
    case CompareMetric::CpuBusy: return CompareView::tr("CPU busy");
    case CompareMetric::MemoryUsed: return CompareView::tr("Memory used");
    case CompareMetric::LoadPerCore: return CompareView::tr("Load per core");
    case CompareMetric::CpuIowait: return CompareView::tr("CPU iowait");
    }
    return {};
}

QString metricUnit(CompareMetric metric)
{
    return metric == CompareMetric::LoadPerCore ? QString() : QStringLiteral("%");
}

/** Well-separated hues (the golden angle), the same for a host wherever it sits in the list. */
QColor hostColor(int index)
{
    return QColor::fromHsv((index * 137 + 210) % 360, 190, 200);
}

QIcon swatch(const QColor &color)
{
    QPixmap pixmap(12, 12);
    pixmap.fill(Qt::transparent);
    if (color.isValid()) {
        QPainter p(&pixmap);
        p.setPen(Qt::NoPen);
        p.setBrush(color);
        p.drawRoundedRect(QRectF(1, 1, 10, 10), 2, 2);
    }
    return QIcon(pixmap);
}

} // namespace

CompareView::CompareView(StoreReader *reader, const ClientTableModel *clients, QWidget *parent)
    : QWidget(parent)
    , m_reader(reader)
    , m_clients(clients)
{
    m_metricBox = new QComboBox(this);
    m_metricBox->setObjectName(QStringLiteral("compareMetric"));
    for (CompareMetric m : {CompareMetric::CpuBusy, CompareMetric::MemoryUsed, CompareMetric::LoadPerCore,
                            CompareMetric::CpuIowait})
        m_metricBox->addItem(metricTitle(m), int(m));
    m_metricBox->setToolTip(tr("What to compare: CPU busy (all but idle and iowait), memory used in % of "
                               "total, the 1-minute load divided by the core count, or time waiting for I/O"));
    m_rangeBox = new QComboBox(this);
    m_rangeBox->setObjectName(QStringLiteral("compareRange"));
    m_rangeBox->addItem(tr("Live: last 5 min"), int(Range::Live5Min));
    m_rangeBox->addItem(tr("Last hour"), int(Range::Hour));
    m_rangeBox->addItem(tr("Last 24 hours"), int(Range::Day));
    m_rangeBox->addItem(tr("Last 7 days"), int(Range::Week));
    m_rangeBox->addItem(tr("Custom"), int(Range::Custom));
    m_rangeBox->setCurrentIndex(m_rangeBox->findData(int(m_range)));
    m_rangeBox->setToolTip(tr("Time range (wheel on the chart zooms, drag pans, double-click resets)"));

    m_find = new QLineEdit(this);
    m_find->setPlaceholderText(tr("Find hosts"));
    m_find->setClearButtonEnabled(true);
    m_hosts = new QListWidget(this);
    m_hosts->setObjectName(QStringLiteral("compareHosts"));
    m_hosts->setToolTip(tr("Check up to %1 hosts to compare").arg(maxHosts));
    auto *left = new QWidget(this);
    auto *leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(m_find);
    leftLayout->addWidget(m_hosts, 1);

    m_chart = new HistoryChartView(metricTitle(m_metric), metricUnit(m_metric), this);
    m_chart->setCrosshairTop(10);
    m_hint = new QLabel(tr("Check hosts on the left, or select them in the Clients table and choose Compare."), this);
    m_hint->setObjectName(QStringLiteral("compareHint"));
    m_hint->setAlignment(Qt::AlignCenter);
    m_hint->setTextFormat(Qt::PlainText);
    auto *right = new QWidget(this);
    auto *rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(m_hint);
    rightLayout->addWidget(m_chart, 1);

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 5);
    splitter->setSizes({220, 980});

    m_status = new QLabel(this);
    m_status->setForegroundRole(QPalette::PlaceholderText);
    auto *bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Compare:"), this));
    bar->addWidget(m_metricBox);
    bar->addStretch(1);
    bar->addWidget(m_rangeBox);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(bar);
    layout->addWidget(splitter, 1);
    layout->addWidget(m_status);

    connect(m_metricBox, &QComboBox::activated, this,
            [this](int index) { setMetric(CompareMetric(m_metricBox->itemData(index).toInt())); });
    connect(m_rangeBox, &QComboBox::activated, this,
            [this](int index) { setRange(Range(m_rangeBox->itemData(index).toInt())); });
    connect(m_find, &QLineEdit::textChanged, this, [this](const QString &text) {
        for (int i = 0; i < m_hosts->count(); ++i) {
            QListWidgetItem *item = m_hosts->item(i);
            item->setHidden(!item->text().contains(text.trimmed(), Qt::CaseInsensitive)
                            && !item->data(Qt::UserRole).toString().contains(text.trimmed()));
        }
    });
    connect(m_hosts, &QListWidget::itemChanged, this, &CompareView::onItemChanged);
    connect(m_chart, &HistoryChartView::userRangeChanged, this, [this](qint64 fromMs, qint64 toMs) {
        m_range = Range::Custom;
        m_rangeBox->setCurrentIndex(m_rangeBox->findData(int(Range::Custom)));
        m_fromMs = fromMs;
        m_toMs = toMs;
        updateFollowing();
        m_zoomReload.start();
    });
    connect(m_chart, &HistoryChartView::resetRequested, this, [this] { setRange(m_rangeBeforeZoom); });
    connect(m_reader, &StoreReader::compareLoaded, this, &CompareView::showData);
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(m_clients, signal, this, [this] { m_listSync.start(); });
    connect(m_clients, &QAbstractItemModel::modelReset, this, [this] { m_listSync.start(); });
    connect(m_clients, &QAbstractItemModel::dataChanged, this, [this] {
        if (!m_listSync.isActive())
            m_listSync.start();
    });
    m_listSync.setSingleShot(true);
    m_listSync.setInterval(500);
    connect(&m_listSync, &QTimer::timeout, this, &CompareView::syncHostList);
    connect(&m_follow, &QTimer::timeout, this, &CompareView::reload);
    // Zooming sends many wheel events; read once the user pauses.
    m_zoomReload.setSingleShot(true);
    m_zoomReload.setInterval(250);
    connect(&m_zoomReload, &QTimer::timeout, this, &CompareView::reload);

    computeRange();
    syncHostList();
    m_chart->setVisible(false);
}

void CompareView::syncHostList()
{
    // Sorted by hostname: the list a person scans. Rebuilt only when the clients change.
    QList<std::pair<QString, QString>> hosts;
    for (int r = 0; r < m_clients->rowCount(); ++r) {
        const server::ClientInfo &info = m_clients->rowAt(r).info;
        hosts.append({info.hostname.isEmpty() ? info.id : info.hostname, info.id});
    }
    std::sort(hosts.begin(), hosts.end(), [](const auto &a, const auto &b) {
        const int c = a.first.compare(b.first, Qt::CaseInsensitive);
        return c != 0 ? c < 0 : a.second < b.second;
    });
    // A client that is gone (forgotten with its history, merged away) leaves the comparison.
    if (m_clients->rowCount() > 0) {
        const qsizetype before = m_checked.size();
        m_checked.removeIf([this](const QString &id) { return !m_clients->row(id); });
        if (m_checked.size() != before) {
            assignSlots();
            Q_EMIT selectionChanged();
            reload();
        }
    }
    bool same = hosts.size() == m_hosts->count();
    for (int i = 0; same && i < hosts.size(); ++i)
        same = m_hosts->item(i)->data(Qt::UserRole).toString() == hosts[i].second
               && m_hosts->item(i)->text() == hosts[i].first;
    if (same)
        return;
    m_syncing = true;
    m_hosts->clear();
    for (const auto &[name, id] : hosts) {
        auto *item = new QListWidgetItem(name, m_hosts);
        item->setData(Qt::UserRole, id);
        item->setToolTip(id);
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsSelectable);
        item->setCheckState(m_checked.contains(id) ? Qt::Checked : Qt::Unchecked);
    }
    m_syncing = false;
    updateMarks();
    const QString find = m_find->text();
    if (!find.isEmpty())
        Q_EMIT m_find->textChanged(find);
}

void CompareView::onItemChanged(QListWidgetItem *item)
{
    if (m_syncing)
        return;
    const QString id = item->data(Qt::UserRole).toString();
    const bool on = item->checkState() == Qt::Checked;
    if (on && !m_checked.contains(id)) {
        if (m_checked.size() >= maxHosts) {
            const QSignalBlocker block(m_hosts);
            item->setCheckState(Qt::Unchecked);
            m_status->setText(tr("At most %1 hosts at once").arg(maxHosts));
            return;
        }
        m_checked.append(id);
    } else if (!on) {
        m_checked.removeAll(id);
    }
    assignSlots();
    updateMarks();
    Q_EMIT selectionChanged();
    reload();
}

void CompareView::updateMarks()
{
    const QSignalBlocker block(m_hosts);
    for (int i = 0; i < m_hosts->count(); ++i) {
        QListWidgetItem *item = m_hosts->item(i);
        item->setIcon(swatch(colorOf(item->data(Qt::UserRole).toString())));
    }
}

QColor CompareView::colorOf(const QString &clientId) const
{
    const auto it = m_slots.constFind(clientId);
    return it == m_slots.cend() ? QColor() : hostColor(*it);
}

void CompareView::assignSlots()
{
    // A host keeps its colour while it stays compared: unchecking another must not repaint it.
    for (auto it = m_slots.begin(); it != m_slots.end();) {
        if (!m_checked.contains(it.key()))
            it = m_slots.erase(it);
        else
            ++it;
    }
    for (const QString &id : std::as_const(m_checked)) {
        if (m_slots.contains(id))
            continue;
        int slot = 0;
        const QList<int> taken = m_slots.values();
        while (taken.contains(slot))
            ++slot;
        m_slots.insert(id, slot);
    }
}

void CompareView::replaceClient(const QString &oldId, const QString &newId)
{
    const qsizetype at = m_checked.indexOf(oldId);
    if (at < 0)
        return;
    if (m_checked.contains(newId))
        m_checked.removeAt(at);
    else
        m_checked[at] = newId;
    if (m_slots.contains(oldId) && !m_slots.contains(newId))
        m_slots.insert(newId, m_slots.value(oldId));
    m_slots.remove(oldId);
    syncHostList();
    updateMarks();
    Q_EMIT selectionChanged();
    reload();
}

void CompareView::setClients(const QStringList &clientIds)
{
    QStringList wanted;
    for (const QString &id : clientIds)
        if (!wanted.contains(id) && wanted.size() < maxHosts && m_clients->row(id))
            wanted.append(id);
    m_checked = wanted;
    assignSlots();
    m_syncing = true;
    for (int i = 0; i < m_hosts->count(); ++i)
        m_hosts->item(i)->setCheckState(m_checked.contains(m_hosts->item(i)->data(Qt::UserRole).toString())
                                                ? Qt::Checked
                                                : Qt::Unchecked);
    m_syncing = false;
    updateMarks();
    Q_EMIT selectionChanged();
    reload();
}

void CompareView::setMetric(CompareMetric metric)
{
    m_metric = metric;
    m_metricBox->setCurrentIndex(m_metricBox->findData(int(metric)));
    m_chart->chart()->setTitle(metricTitle(metric));
    m_chart->setUnit(metricUnit(metric));
    Q_EMIT selectionChanged();
    reload();
}

void CompareView::setRange(Range range)
{
    m_range = range;
    if (range != Range::Custom)
        m_rangeBeforeZoom = range;
    m_rangeBox->setCurrentIndex(m_rangeBox->findData(int(range)));
    computeRange();
    reload();
}

void CompareView::computeRange()
{
    if (m_range != Range::Custom || m_toMs <= m_fromMs)
        std::tie(m_fromMs, m_toMs) = ClientDetailView::fixedRange(m_range, QDateTime::currentMSecsSinceEpoch());
    m_chart->setXRange(m_fromMs, m_toMs);
    updateFollowing();
}

void CompareView::updateFollowing()
{
    const int every = ClientDetailView::followIntervalMs(m_range);
    if (every > 0 && isVisible() && !m_checked.isEmpty())
        m_follow.start(every);
    else
        m_follow.stop();
}

int CompareView::followingEveryMs() const
{
    return m_follow.isActive() ? m_follow.interval() : 0;
}

void CompareView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    computeRange();
    reload();
}

void CompareView::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_follow.stop();
}

void CompareView::reload()
{
    m_hint->setVisible(m_checked.isEmpty());
    m_chart->setVisible(!m_checked.isEmpty());
    updateFollowing();
    if (m_checked.isEmpty()) {
        m_chart->truncateSeries(0);
        m_status->clear();
        return;
    }
    if (m_range != Range::Custom)
        computeRange();
    CompareRequest request;
    request.id = ++m_requestId;
    request.clientIds = m_checked;
    request.metric = m_metric;
    request.fromMs = m_fromMs;
    request.toMs = m_toMs;
    request.columns = m_chart->plotWidth();
    m_requestClock.start();
    m_reader->setLatestCompareRequest(request.id);
    QMetaObject::invokeMethod(m_reader, [reader = m_reader, request] { reader->loadCompare(request); });
}

QList<QList<QPointF>> CompareView::splitAtGaps(const QList<QPointF> &points, const QList<server::Gap> &gaps,
                                               qint64 slackMs)
{
    QList<QList<QPointF>> out;
    if (points.isEmpty())
        return out;
    out.append({points.first()});
    for (qsizetype i = 1; i < points.size(); ++i) {
        const double a = points[i - 1].x();
        const double b = points[i].x();
        const bool cut = std::any_of(gaps.cbegin(), gaps.cend(), [&](const server::Gap &g) {
            return g.endMs > g.startMs && double(g.startMs) >= a - double(slackMs)
                   && double(g.endMs) <= b + double(slackMs) && double(g.endMs) > a && double(g.startMs) < b;
        });
        if (cut)
            out.append(QList<QPointF>());
        out.last().append(points[i]);
    }
    return out;
}

void CompareView::showData(const CompareData &data)
{
    if (data.requestId != m_requestId)
        return; // an older answer
    m_data = data;
    struct Segment {
        QString name;
        QString clientId;
        QColor color;
        QList<QPointF> points;
        bool first;
    };
    std::vector<Segment> segments;
    double yMax = 0;
    const qint64 slack = data.fromRollups ? 60'000 : 0;
    QHash<QString, int> hostnames; // two identities of one machine share a hostname
    for (const CompareSeries &s : data.series)
        ++hostnames[s.hostname];
    for (const CompareSeries &s : data.series) {
        bool first = true;
        const QString name = hostnames.value(s.hostname) > 1 ? tr("%1 (%2)").arg(s.hostname, s.clientId) : s.hostname;
        for (QList<QPointF> &part : splitAtGaps(s.points, s.gaps, slack)) {
            for (const QPointF &p : std::as_const(part))
                yMax = std::max(yMax, p.y());
            segments.push_back({name, s.clientId, colorOf(s.clientId), std::move(part), first});
            first = false;
        }
    }
    // Series are reused from one answer to the next: a live range reloads every 2 s.
    QList<QLineSeries *> have = m_chart->series();
    if (have.size() > qsizetype(segments.size()))
        m_chart->truncateSeries(int(segments.size()));
    const bool legend = data.series.size() <= legendHosts;
    m_chart->chart()->legend()->setVisible(legend);
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const Segment &seg = segments[i];
        QLineSeries *series = i < std::size_t(have.size()) ? have[qsizetype(i)] : m_chart->addSeries(QString(), seg.color);
        // The legend draws names as rich text; hostnames are the agents' words.
        series->setName(seg.name.toHtmlEscaped());
        series->setProperty(HistoryChartView::plainNameProperty, seg.name);
        series->setProperty(HistoryChartView::keyProperty, seg.clientId);
        QPen pen = series->pen();
        pen.setColor(seg.color);
        pen.setWidthF(1.5);
        series->setPen(pen);
        HistoryChartView::replacePoints(series, seg.points);
        for (QLegendMarker *marker : m_chart->chart()->legend()->markers(series))
            marker->setVisible(seg.first);
    }
    if (m_metric == CompareMetric::LoadPerCore)
        m_chart->setYRange(0, std::max(1.0, yMax * 1.1));
    else
        m_chart->setYRange(0, 100);
    m_chart->setXRange(data.fromMs, data.toMs);

    const qint64 elapsed = m_requestClock.elapsed();
    if (!data.error.isEmpty()) {
        m_status->setText(tr("Could not read history: %1").arg(data.error));
    } else {
        const QString hosts = data.series.size() == 1 ? tr("1 host") : tr("%1 hosts").arg(data.series.size());
        const QString samples = data.samples == 1 ? tr("1 sample") : tr("%1 samples").arg(QLocale().toString(data.samples));
        m_status->setText(tr("%1 · %2%3 · read in %4 ms, shown in %5 ms")
                                  .arg(hosts, samples,
                                       data.fromRollups ? tr(" (as per-minute min/max)") : QString())
                                  .arg(data.readMs)
                                  .arg(elapsed));
    }
    Q_EMIT compareShown(data.samples, elapsed);
}

} // namespace autofact::dashboard
