// SPDX-License-Identifier: MIT
#include "clientdetailview.h"

#include <tuple>

#include "dashboardlogging.h"
#include "devicechartsview.h"
#include "historychartview.h"
#include "storereader.h"

#include <QCheckBox>
#include <QChart>
#include <QComboBox>
#include <QDateTime>
#include <QDateTimeEdit>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLocale>
#include <QMenu>
#include <QPushButton>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSplitter>
#include <QStackedWidget>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>

namespace autofact::dashboard {


namespace {
constexpr qint64 kMinute = 60 * 1000;
constexpr qint64 kHour = 60 * kMinute;
constexpr qint64 kDay = 24 * kHour;

QString bytesText(quint64 bytes)
{
    // IEC units: the kernel counts in KiB and the charts say GiB; "GB" would be 7 % off.
    return QLocale().formattedDataSize(qint64(bytes), 1, QLocale::DataSizeIecFormat);
}

QString whenText(qint64 ms)
{
    if (ms <= 0)
        return QStringLiteral("—");
    return QLocale().toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::ShortFormat);
}
} // namespace

ClientDetailView::ClientDetailView(StoreReader *reader, QWidget *parent)
    : QWidget(parent)
    , m_reader(reader)
{
    m_title = new QLabel(this);
    // Hostnames and the other facts are the agent's words: shown as text, never as markup.
    m_title->setTextFormat(Qt::PlainText);
    QFont titleFont = m_title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.3);
    titleFont.setBold(true);
    m_title->setFont(titleFont);

    m_rangeBox = new QComboBox(this);
    m_rangeBox->addItem(tr("Live: last 5 min"), int(Range::Live5Min));
    m_rangeBox->addItem(tr("Last hour"), int(Range::Hour));
    m_rangeBox->addItem(tr("Last 24 hours"), int(Range::Day));
    m_rangeBox->addItem(tr("Last 7 days"), int(Range::Week));
    m_rangeBox->addItem(tr("Custom"), int(Range::Custom));
    m_rangeBox->setCurrentIndex(int(m_range));
    m_rangeBox->setToolTip(tr("Time range (wheel on a chart zooms, drag pans, double-click resets)"));

    m_fromEdit = new QDateTimeEdit(this);
    m_toEdit = new QDateTimeEdit(this);
    for (QDateTimeEdit *edit : {m_fromEdit, m_toEdit}) {
        edit->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm"));
        edit->setCalendarPopup(true);
    }

    m_coresBox = new QCheckBox(tr("Per-core lines"), this);
    m_coresMenu = new QMenu(this);
    m_coresButton = new QToolButton(this);
    m_coresButton->setText(tr("Cores"));
    m_coresButton->setPopupMode(QToolButton::InstantPopup);
    m_coresButton->setMenu(m_coresMenu);
    m_coresButton->setToolTip(tr("Choose which per-core lines are drawn"));

    m_exportButton = new QPushButton(tr("Export…"), this);
    m_exportButton->setToolTip(tr("Export this client's samples in the shown range as CSV"));
    m_statusLabel = new QLabel(this);
    m_statusLabel->setForegroundRole(QPalette::PlaceholderText);

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_title);
    m_state = new QLabel(this);
    m_state->setObjectName(QStringLiteral("detailState"));
    m_state->setTextFormat(Qt::PlainText);
    bar->addWidget(m_state);
    bar->addStretch(1);
    bar->addWidget(m_rangeBox);
    bar->addWidget(m_fromEdit);
    bar->addWidget(new QLabel(QStringLiteral("–"), this));
    bar->addWidget(m_toEdit);
    bar->addWidget(m_coresBox);
    bar->addWidget(m_coresButton);
    bar->addWidget(m_exportButton);

    m_cpuChart = new HistoryChartView(tr("CPU"), tr("%"), this);
    m_cpuChart->addSeries(tr("user"), QColor(0x1f, 0x77, 0xb4));
    m_cpuChart->addSeries(tr("system"), QColor(0xd6, 0x27, 0x28));
    m_cpuChart->addSeries(tr("iowait"), QColor(0xff, 0x7f, 0x0e));
    m_cpuChart->addSeries(tr("steal"), QColor(0x94, 0x67, 0xbd));
    m_cpuChart->setYRange(0, 100);

    m_memoryChart = new HistoryChartView(tr("Memory"), tr("GiB"), this);
    m_memoryChart->addSeries(tr("used"), QColor(0x2c, 0xa0, 0x2c));
    m_memoryChart->addSeries(tr("cache/buffers"), QColor(0x17, 0xbe, 0xcf));
    m_memoryChart->addSeries(tr("available"), QColor(0x7f, 0x7f, 0x7f));
    m_memoryChart->addSeries(tr("swap used"), QColor(0xe3, 0x77, 0xc2));

    // One time axis for both charts: their plot areas must start at the same x, whatever the
    // width of each chart's value labels ("100" vs "8").
    connect(m_cpuChart->chart(), &QChart::plotAreaChanged, this, &ClientDetailView::alignPlotAreas);
    connect(m_memoryChart->chart(), &QChart::plotAreaChanged, this, &ClientDetailView::alignPlotAreas);

    auto *charts = new QWidget(this);
    auto *chartsLayout = new QVBoxLayout(charts);
    chartsLayout->setContentsMargins(0, 0, 0, 0);
    chartsLayout->addWidget(m_cpuChart, 1);
    chartsLayout->addWidget(m_memoryChart, 1);

    auto *factsWidget = new QWidget;
    m_facts = new QFormLayout(factsWidget);
    m_facts->setRowWrapPolicy(QFormLayout::WrapLongRows);
    auto *factsScroll = new QScrollArea(this);
    factsScroll->setWidget(factsWidget);
    factsScroll->setWidgetResizable(true);
    factsScroll->setMinimumWidth(220);

    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_splitter->setObjectName(QStringLiteral("detailSplitter"));
    // Device charts on a tab of their own: four more charts under CPU and memory would squeeze
    // all six below readability on a laptop screen.
    m_deviceCharts = new DeviceChartsView(this);
    m_chartTabs = new QTabWidget(this);
    m_chartTabs->setObjectName(QStringLiteral("detailChartTabs"));
    m_chartTabs->setDocumentMode(true);
    m_chartTabs->addTab(charts, tr("CPU and memory"));
    m_chartTabs->addTab(m_deviceCharts, tr("Devices"));
    m_chartTabs->setTabToolTip(1, tr("Filesystems, disks, network interfaces and temperature sensors"));
    m_splitter->addWidget(m_chartTabs);
    m_splitter->addWidget(factsScroll);
    m_splitter->setStretchFactor(0, 4);
    m_splitter->setStretchFactor(1, 1);

    // Charts first: the facts column is a side panel, not half the window.
    m_splitter->setSizes({900, 260});

    // Until a client is chosen, say how to choose one instead of showing empty charts.
    m_placeholder = new QLabel(tr("No client chosen.\nOpen one from the Clients or Overview tab: "
                                  "double-click it or press Enter."),
                               this);
    m_placeholder->setObjectName(QStringLiteral("detailPlaceholder"));
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setTextFormat(Qt::PlainText);
    m_pages = new QStackedWidget(this);
    auto *chartsPage = new QWidget;
    auto *chartsPageLayout = new QVBoxLayout(chartsPage);
    chartsPageLayout->setContentsMargins(0, 0, 0, 0);
    chartsPageLayout->addLayout(bar);
    chartsPageLayout->addWidget(m_splitter, 1);
    chartsPageLayout->addWidget(m_statusLabel);
    m_pages->addWidget(m_placeholder);
    m_pages->addWidget(chartsPage);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_pages);

    connect(m_rangeBox, &QComboBox::activated, this, [this](int index) {
        setRange(Range(m_rangeBox->itemData(index).toInt()));
    });
    auto customEdited = [this] {
        if (m_range == Range::Custom)
            setCustomRange(m_fromEdit->dateTime().toMSecsSinceEpoch(),
                           m_toEdit->dateTime().toMSecsSinceEpoch());
    };
    connect(m_fromEdit, &QDateTimeEdit::editingFinished, this, customEdited);
    connect(m_toEdit, &QDateTimeEdit::editingFinished, this, customEdited);
    // A changed custom time applies by itself after a pause, not only after Enter.
    m_customEdit.setSingleShot(true);
    m_customEdit.setInterval(600);
    connect(&m_customEdit, &QTimer::timeout, this, customEdited);
    for (QDateTimeEdit *edit : {m_fromEdit, m_toEdit})
        connect(edit, &QDateTimeEdit::dateTimeChanged, this, [this] { m_customEdit.start(); });
    connect(m_coresBox, &QCheckBox::toggled, this, &ClientDetailView::setCoreLinesVisible);
    connect(m_exportButton, &QPushButton::clicked, this, [this] {
        Q_EMIT exportRequested(m_clientId, m_fromMs, m_toMs);
    });
    for (HistoryChartView *chart : {m_cpuChart, m_memoryChart}) {
        connect(chart, &HistoryChartView::userRangeChanged, this, &ClientDetailView::onUserRange);
        // Double-click: back to the range chosen before zooming or panning (Live by default).
        connect(chart, &HistoryChartView::resetRequested, this, [this] { setRange(m_rangeBeforeZoom); });
    }
    connect(m_reader, &StoreReader::historyLoaded, this, &ClientDetailView::showHistory);
    connect(m_reader, &StoreReader::devicesLoaded, this, &ClientDetailView::showDevices);
    connect(m_deviceCharts, &DeviceChartsView::userRangeChanged, this, &ClientDetailView::onUserRange);
    connect(m_deviceCharts, &DeviceChartsView::resetRequested, this, [this] { setRange(m_rangeBeforeZoom); });
    connect(m_chartTabs, &QTabWidget::currentChanged, this, [this] {
        // Device readings are read while their tab is shown only; coming back, the range has moved on.
        if (showsDevices())
            reloadDevices();
    });

    m_liveTimer.setInterval(2000);
    connect(&m_liveTimer, &QTimer::timeout, this, &ClientDetailView::reload);
    // Zooming sends many wheel events; read the database once the user pauses.
    m_zoomReload.setSingleShot(true);
    m_zoomReload.setInterval(250);
    connect(&m_zoomReload, &QTimer::timeout, this, &ClientDetailView::reload);

    computeRange();
    m_rangeBeforeZoom = m_range;
    setCoreLinesVisible(false);
}

bool ClientDetailView::showsPlaceholder() const
{
    return m_pages->currentIndex() == 0;
}

void ClientDetailView::setClient(const server::ClientInfo &info)
{
    const bool changed = info.id != m_clientId;
    m_clientId = info.id;
    m_pages->setCurrentIndex(m_clientId.isEmpty() ? 0 : 1);
    updateFacts(info);
    if (changed) {
        m_data = HistoryData();
        for (HistoryChartView *chart : {m_cpuChart, m_memoryChart}) {
            for (QLineSeries *series : chart->series())
                series->clear();
            chart->setGaps({});
        }
        m_deviceCharts->clear();
        m_coreVisible.clear();
        m_cpuChart->truncateSeries(HistoryData::CpuSeriesCount);
        rebuildCoreMenu(0);
    }
    computeRange();
    reload();
}

void ClientDetailView::setState(const QString &text, const QColor &color)
{
    m_state->setText(text.isEmpty() ? QString() : QStringLiteral("● ") + text);
    QPalette pal = m_state->palette();
    pal.setColor(QPalette::WindowText, color.isValid() ? color : palette().color(QPalette::WindowText));
    m_state->setPalette(pal);
}

QString ClientDetailView::stateText() const
{
    return m_state->text();
}

void ClientDetailView::updateFacts(const server::ClientInfo &info)
{
    if (info.id != m_clientId)
        return;
    m_title->setText(info.hostname.isEmpty() ? info.id : info.hostname);
    while (m_facts->rowCount() > 0)
        m_facts->removeRow(0);
    auto add = [this](const QString &label, const QString &value) {
        auto *valueLabel = new QLabel(value.isEmpty() ? QStringLiteral("—") : value);
        valueLabel->setTextFormat(Qt::PlainText);
        valueLabel->setWordWrap(true);
        valueLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
        m_facts->addRow(label, valueLabel);
    };
    add(tr("Hostname"), info.hostname);
    add(tr("ID"), info.id);
    add(tr("OS"), info.osName + u' ' + info.osVersion);
    add(tr("Kernel"), info.kernel);
    add(tr("Architecture"), info.arch);
    add(tr("CPU"), info.cpuModel);
    add(tr("Cores"), info.cpuCount > 0 ? QString::number(info.cpuCount) : QString());
    add(tr("Memory"), info.memTotal > 0 ? bytesText(info.memTotal) : QString());
    add(tr("Agent"), info.agentVersion);
    add(tr("Booted"), whenText(info.bootTimeMs));
    add(tr("First seen"), whenText(info.firstSeenMs));
    add(tr("Last seen"), whenText(info.lastSeenMs));
    add(tr("Connections"), QString::number(info.connectionCount));
    add(tr("Samples"), QLocale().toString(info.sampleCount));
    add(tr("Dropped"), QLocale().toString(qulonglong(info.droppedTotal)));
    add(tr("Config"), tr("r%1 (applied r%2)%3")
                          .arg(info.configRevision)
                          .arg(info.appliedRevision)
                          .arg(info.hasOverride ? tr(", override") : QString()));
}

void ClientDetailView::setRange(Range range)
{
    m_range = range;
    if (range != Range::Custom)
        m_rangeBeforeZoom = range;
    m_rangeBox->setCurrentIndex(m_rangeBox->findData(int(range)));
    computeRange();
    reload();
    Q_EMIT rangeChanged(range);
}

int ClientDetailView::followIntervalMs(Range range)
{
    // How often a "last …" range moves on: about a pixel column's worth of time or less.
    switch (range) {
    case Range::Live5Min: return 2000;
    case Range::Hour: return 10'000;
    case Range::Day: return 60'000;
    case Range::Week: return 300'000;
    case Range::Custom: return 0;
    }
    return 0;
}

int ClientDetailView::followingEveryMs() const
{
    return m_liveTimer.isActive() ? m_liveTimer.interval() : 0;
}

void ClientDetailView::setCustomRange(qint64 fromMs, qint64 toMs)
{
    if (toMs <= fromMs)
        return;
    m_range = Range::Custom;
    m_rangeBox->setCurrentIndex(m_rangeBox->findData(int(Range::Custom)));
    m_fromMs = fromMs;
    m_toMs = toMs;
    computeRange();
    reload();
}

std::pair<qint64, qint64> ClientDetailView::fixedRange(Range range, qint64 nowMs)
{
    // Fixed ranges end on a round time and start a whole number of tick steps before it, so
    // ticks fall at 10:20, 10:30 … and stay there as the range follows the clock.
    // In local time: a 4-hour tick at 00:00, 04:00 … and a day at midnight where the user is.
    const qint64 offset = qint64(QDateTime::fromMSecsSinceEpoch(nowMs).offsetFromUtc()) * 1000;
    const auto aligned = [&](qint64 span, qint64 step) {
        const qint64 to = ((nowMs + offset) / step + 1) * step - offset;
        return std::pair{to - ((span + step - 1) / step + 1) * step, to};
    };
    switch (range) {
    case Range::Live5Min:
        return {nowMs - 5 * kMinute, nowMs + 1000}; // the newest sample must fall inside [from, to)
    case Range::Hour:
        return aligned(kHour, 10 * kMinute);
    case Range::Day:
        return aligned(kDay, 4 * kHour);
    case Range::Week:
        return aligned(7 * kDay, kDay);
    case Range::Custom:
        break;
    }
    return {nowMs - kHour, nowMs};
}

void ClientDetailView::computeRange()
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (m_range != Range::Custom || m_toMs <= m_fromMs)
        std::tie(m_fromMs, m_toMs) = fixedRange(m_range, now);
    const bool custom = m_range == Range::Custom;
    m_fromEdit->setEnabled(custom);
    m_toEdit->setEnabled(custom);
    {
        // Programmatic: not the user's edit that applies a custom range.
        const QSignalBlocker blockFrom(m_fromEdit);
        const QSignalBlocker blockTo(m_toEdit);
        m_fromEdit->setDateTime(QDateTime::fromMSecsSinceEpoch(m_fromMs));
        m_toEdit->setDateTime(QDateTime::fromMSecsSinceEpoch(m_toMs));
    }
    m_cpuChart->setXRange(m_fromMs, m_toMs);
    m_memoryChart->setXRange(m_fromMs, m_toMs);
    m_deviceCharts->setXRange(m_fromMs, m_toMs);
    if (followIntervalMs(m_range) > 0 && isVisible())
        m_liveTimer.start(followIntervalMs(m_range));
    else
        m_liveTimer.stop();
}

void ClientDetailView::reload()
{
    if (m_clientId.isEmpty())
        return;
    if (m_range != Range::Custom)
        computeRange();
    HistoryRequest request;
    request.id = ++m_requestId;
    request.clientId = m_clientId;
    request.fromMs = m_fromMs;
    request.toMs = m_toMs;
    // Physical pixels: on a 2x screen a column per device pixel keeps lines crisp.
    request.columns = int(m_cpuChart->plotWidth() * devicePixelRatioF());
    request.withCores = m_coreLines;
    m_requestClock.start();
    // Request IDs are per view; the reader only compares them, so one detail view per reader.
    m_reader->setLatestHistoryRequest(request.id);
    QMetaObject::invokeMethod(m_reader, [reader = m_reader, request] { reader->loadHistory(request); });
    if (m_data.clientId != m_clientId)
        m_statusLabel->setText(tr("Loading history…"));
    if (showsDevices())
        reloadDevices();
}

bool ClientDetailView::showsDevices() const
{
    return m_chartTabs->currentWidget() == m_deviceCharts;
}

void ClientDetailView::setDevicesShown(bool shown)
{
    m_chartTabs->setCurrentWidget(shown ? static_cast<QWidget *>(m_deviceCharts) : m_chartTabs->widget(0));
}

void ClientDetailView::reloadDevices()
{
    if (m_clientId.isEmpty())
        return;
    DeviceRequest request;
    request.id = ++m_deviceRequestId;
    request.clientId = m_clientId;
    request.fromMs = m_fromMs;
    request.toMs = m_toMs;
    request.columns = int(m_deviceCharts->plotWidth() * devicePixelRatioF());
    m_deviceClock.start();
    m_reader->setLatestDeviceRequest(request.id);
    QMetaObject::invokeMethod(m_reader, [reader = m_reader, request] { reader->loadDevices(request); });
    if (m_deviceCharts->shownData().clientId != m_clientId)
        m_deviceCharts->setStatus(tr("Loading device readings…"));
}

void ClientDetailView::showDevices(const DeviceData &data)
{
    if (data.requestId != m_deviceRequestId || data.clientId != m_clientId)
        return;
    m_deviceCharts->showDevices(data);
    Q_EMIT devicesShown(data.readings, m_deviceClock.elapsed());
}

void ClientDetailView::onUserRange(qint64 fromMs, qint64 toMs)
{
    // Keep both charts on the same time axis.
    m_cpuChart->setXRange(fromMs, toMs);
    m_memoryChart->setXRange(fromMs, toMs);
    m_deviceCharts->setXRange(fromMs, toMs);
    m_range = Range::Custom;
    m_rangeBox->setCurrentIndex(m_rangeBox->findData(int(Range::Custom)));
    m_fromMs = fromMs;
    m_toMs = toMs;
    m_liveTimer.stop();
    m_fromEdit->setEnabled(true);
    m_toEdit->setEnabled(true);
    {
        const QSignalBlocker blockFrom(m_fromEdit);
        const QSignalBlocker blockTo(m_toEdit);
        m_fromEdit->setDateTime(QDateTime::fromMSecsSinceEpoch(fromMs));
        m_toEdit->setDateTime(QDateTime::fromMSecsSinceEpoch(toMs));
    }
    m_zoomReload.start();
}

void ClientDetailView::showHistory(const HistoryData &data)
{
    if (data.requestId != m_requestId || data.clientId != m_clientId)
        return; // an older answer, or one for another client
    m_data = data;
    const QList<QLineSeries *> cpu = m_cpuChart->series();
    for (int i = 0; i < HistoryData::CpuSeriesCount && i < data.cpu.size(); ++i)
        HistoryChartView::replacePoints(cpu[i], data.cpu[i]);
    if (data.cores.size() != m_cpuChart->series().size() - HistoryData::CpuSeriesCount) {
        m_cpuChart->truncateSeries(HistoryData::CpuSeriesCount);
        for (int i = 0; i < data.cores.size(); ++i) {
            const QColor color = QColor::fromHsv((i * 360 / std::max<qsizetype>(1, data.cores.size())) % 360, 90, 200);
            QLineSeries *series = m_cpuChart->addSeries(tr("core %1").arg(i), color, false);
            QPen pen = series->pen();
            pen.setWidthF(1.0);
            series->setPen(pen);
        }
        rebuildCoreMenu(int(data.cores.size()));
    }
    const QList<QLineSeries *> all = m_cpuChart->series();
    for (int i = 0; i < data.cores.size(); ++i)
        HistoryChartView::replacePoints(all[HistoryData::CpuSeriesCount + i], data.cores[i]);
    applyCoreVisibility();

    const QList<QLineSeries *> memory = m_memoryChart->series();
    for (int i = 0; i < HistoryData::MemSeriesCount && i < data.memory.size(); ++i)
        HistoryChartView::replacePoints(memory[i], data.memory[i]);
    m_memoryChart->setYRange(0, data.memoryMaxGiB > 0 ? data.memoryMaxGiB : 1);
    m_cpuChart->setGaps(data.gaps);
    m_memoryChart->setGaps(data.gaps);
    m_deviceCharts->setGaps(data.gaps);

    const qint64 elapsed = m_requestClock.elapsed();
    if (!data.error.isEmpty()) {
        m_statusLabel->setText(tr("Could not read history: %1").arg(data.error));
    } else {
        const QString samples = data.samples == 1 ? tr("1 sample") : tr("%1 samples").arg(QLocale().toString(data.samples));
        const QString gaps = data.gaps.size() == 1 ? tr("1 gap") : tr("%1 gaps").arg(data.gaps.size());
        m_statusLabel->setText(tr("%1%2, %3 · read in %4 ms, shown in %5 ms")
                                   .arg(samples)
                                   .arg(data.fromRollups ? tr(" (as per-minute min/max)") : QString())
                                   .arg(gaps)
                                   .arg(data.readMs)
                                   .arg(elapsed));
    }
    Q_EMIT historyShown(data.samples, elapsed);
}

void ClientDetailView::alignPlotAreas()
{
    // Where each plot area would start with the base margin: independent of the margins we
    // set, so this converges after one layout instead of oscillating.
    constexpr int baseMargin = 4;
    QChart *charts[] = {m_cpuChart->chart(), m_memoryChart->chart()};
    qreal natural[2];
    for (int i = 0; i < 2; ++i)
        natural[i] = charts[i]->plotArea().left() - (charts[i]->margins().left() - baseMargin);
    const qreal target = std::max(natural[0], natural[1]);
    for (int i = 0; i < 2; ++i) {
        QMargins m = charts[i]->margins();
        const int left = baseMargin + int(std::lround(target - natural[i]));
        if (m.left() != left) {
            m.setLeft(left);
            charts[i]->setMargins(m);
        }
    }
}

void ClientDetailView::setCoreLinesVisible(bool visible)
{
    const bool needsCores = visible && !m_coreLines && m_data.cores.isEmpty();
    m_coreLines = visible;
    // Per-core values are read only on demand (long ranges otherwise come from rollups).
    if (needsCores)
        reload();
    if (m_coresBox->isChecked() != visible)
        m_coresBox->setChecked(visible);
    m_coresButton->setEnabled(visible);
    applyCoreVisibility();
}

void ClientDetailView::rebuildCoreMenu(int cores)
{
    m_coresMenu->clear();
    m_coreVisible.resize(cores, true);
    // The menu is rebuilt later, not inside the handler: clear() would delete the very
    // action whose trigger is still running.
    m_coresMenu->addAction(tr("Show all"), this, [this] {
        m_coreVisible.fill(true);
        applyCoreVisibility();
        QMetaObject::invokeMethod(this, [this] { rebuildCoreMenu(int(m_coreVisible.size())); },
                                  Qt::QueuedConnection);
    });
    m_coresMenu->addAction(tr("Hide all"), this, [this] {
        m_coreVisible.fill(false);
        applyCoreVisibility();
        QMetaObject::invokeMethod(this, [this] { rebuildCoreMenu(int(m_coreVisible.size())); },
                                  Qt::QueuedConnection);
    });
    m_coresMenu->addSeparator();
    for (int i = 0; i < cores; ++i) {
        QAction *action = m_coresMenu->addAction(tr("Core %1").arg(i));
        action->setCheckable(true);
        action->setChecked(m_coreVisible[i]);
        connect(action, &QAction::toggled, this, [this, i](bool on) {
            m_coreVisible[i] = on;
            applyCoreVisibility();
        });
    }
}

void ClientDetailView::applyCoreVisibility()
{
    const QList<QLineSeries *> all = m_cpuChart->series();
    for (int i = HistoryData::CpuSeriesCount; i < all.size(); ++i) {
        const int core = i - HistoryData::CpuSeriesCount;
        all[i]->setVisible(m_coreLines && core < m_coreVisible.size() && m_coreVisible[core]);
        // Markers follow their series' visibility; dozens of "core N" entries would bury
        // the legend, so they stay hidden.
        for (QLegendMarker *marker : m_cpuChart->chart()->legend()->markers(all[i]))
            marker->setVisible(false);
    }
}

void ClientDetailView::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (followIntervalMs(m_range) > 0) {
        m_liveTimer.start(followIntervalMs(m_range));
        reload(); // back on the tab (or from the tray): the range has moved on meanwhile
    }
}

void ClientDetailView::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_liveTimer.stop();
}

} // namespace autofact::dashboard
