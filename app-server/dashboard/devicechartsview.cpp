// SPDX-License-Identifier: MIT
#include "devicechartsview.h"

#include "historychartview.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLocale>
#include <QStackedWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace autofact::dashboard {

namespace {

struct KindText {
    const char *title;    ///< above the chart
    const char *selector; ///< before the selector
    const char *none;     ///< the selector's text when the range holds none of the kind
};
// The words each kind is known by; translated where they are shown.
constexpr KindText kindTexts[deviceKindCount] = {
    {QT_TRANSLATE_NOOP("DeviceChartsView", "Filesystem use"), QT_TRANSLATE_NOOP("DeviceChartsView", "Mount point:"),
     QT_TRANSLATE_NOOP("DeviceChartsView", "no filesystems in this range")},
    {QT_TRANSLATE_NOOP("DeviceChartsView", "Disk I/O"), QT_TRANSLATE_NOOP("DeviceChartsView", "Disk:"),
     QT_TRANSLATE_NOOP("DeviceChartsView", "no disks in this range")},
    {QT_TRANSLATE_NOOP("DeviceChartsView", "Network"), QT_TRANSLATE_NOOP("DeviceChartsView", "Interface:"),
     QT_TRANSLATE_NOOP("DeviceChartsView", "no interfaces in this range")},
    {QT_TRANSLATE_NOOP("DeviceChartsView", "Temperatures"), QT_TRANSLATE_NOOP("DeviceChartsView", "Sensor:"),
     QT_TRANSLATE_NOOP("DeviceChartsView", "no sensors in this range")},
};

/** The SI unit bytes/s values up to @p peak read best in (10 or more of it), and its size. */
std::pair<QString, double> rateUnit(double peak)
{
    static const char *const units[] = {"B/s", "kB/s", "MB/s", "GB/s"};
    std::size_t unit = 0;
    double scale = 1;
    while (unit + 1 < std::size(units) && peak / (scale * 1000) >= 10) {
        scale *= 1000;
        ++unit;
    }
    return {QLatin1StringView(units[unit]), scale};
}

QList<QPointF> scaled(const QList<QPointF> &points, double scale)
{
    if (scale == 1)
        return points;
    QList<QPointF> out;
    out.reserve(points.size());
    for (const QPointF &p : points)
        out.append(QPointF(p.x(), p.y() / scale));
    return out;
}

} // namespace

DeviceChartsView::DeviceChartsView(QWidget *parent)
    : QWidget(parent)
{
    auto *grid = new QGridLayout;
    grid->setContentsMargins(0, 0, 0, 0);
    for (int k = 0; k < deviceKindCount; ++k) {
        const DeviceKind kind = DeviceKind(k);
        // The title sits in the header row beside the selector; the chart carries none.
        auto *chart = new HistoryChartView(QString(), QString(), this);
        chart->setObjectName(QStringLiteral("deviceChart%1").arg(k));
        m_charts[k] = chart;
        switch (kind) {
        case DeviceKind::Filesystems:
            chart->setUnit(QStringLiteral("%"));
            chart->addSeries(tr("used"), QColor(0x1f, 0x77, 0xb4));
            chart->addSeries(tr("inodes used"), QColor(0x9e, 0xc6, 0xe3));
            chart->setYRange(0, 100);
            break;
        case DeviceKind::Disks:
            chart->setUnit(QStringLiteral("B/s"));
            chart->addSeries(tr("read"), QColor(0x2c, 0xa0, 0x2c));
            chart->addSeries(tr("write"), QColor(0xd6, 0x27, 0x28));
            chart->addRightAxisSeries(tr("busy"), QColor(0x7f, 0x7f, 0x7f), QStringLiteral("%"), 0, 100);
            break;
        case DeviceKind::Networks:
            chart->setUnit(QStringLiteral("B/s"));
            chart->addSeries(tr("received"), QColor(0x17, 0xbe, 0xcf));
            chart->addSeries(tr("sent"), QColor(0xff, 0x7f, 0x0e));
            break;
        case DeviceKind::Temperatures: {
            chart->setUnit(QStringLiteral("°C"));
            chart->addSeries(tr("temperature"), QColor(0xd6, 0x27, 0x28));
            QLineSeries *critical = chart->addSeries(tr("critical"), QColor(0xc0, 0x30, 0x30));
            QPen pen = critical->pen();
            pen.setStyle(Qt::DashLine);
            pen.setWidthF(1.2);
            critical->setPen(pen);
            break;
        }
        }
        connect(chart, &HistoryChartView::userRangeChanged, this, &DeviceChartsView::userRangeChanged);
        connect(chart, &HistoryChartView::resetRequested, this, &DeviceChartsView::resetRequested);

        auto *title = new QLabel(tr(kindTexts[k].title), this);
        QFont bold = title->font();
        bold.setBold(true);
        title->setFont(bold);
        auto *selector = new QComboBox(this);
        selector->setObjectName(QStringLiteral("deviceSelector%1").arg(k));
        // Mount points can be long ("/var/lib/docker/overlay2/…"): the box grows up to a limit.
        selector->setSizeAdjustPolicy(QComboBox::AdjustToContents);
        selector->setMinimumContentsLength(12);
        selector->setMaximumWidth(320);
        m_selectors[k] = selector;
        connect(selector, &QComboBox::activated, this, [this, kind](int index) {
            selectDevice(kind, m_selectors[int(kind)]->itemData(index).toString());
        });
        auto *selectorLabel = new QLabel(tr(kindTexts[k].selector), this);
        selectorLabel->setBuddy(selector);

        auto *header = new QHBoxLayout;
        header->addWidget(title);
        header->addStretch(1);
        header->addWidget(selectorLabel);
        header->addWidget(selector);
        auto *cell = new QVBoxLayout;
        cell->setSpacing(2);
        cell->addLayout(header);
        cell->addWidget(chart, 1);
        grid->addLayout(cell, k / 2, k % 2);
    }
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);
    grid->setColumnStretch(0, 1);
    grid->setColumnStretch(1, 1);

    auto *chartsPage = new QWidget;
    chartsPage->setLayout(grid);
    m_noReadings = new QLabel(tr("No device readings from this agent.\n"
                                 "Agents before filesystems, disks, network and temperatures were collected "
                                 "(and samplers without those collectors) send only CPU and memory."),
                              this);
    m_noReadings->setObjectName(QStringLiteral("noDeviceReadings"));
    m_noReadings->setAlignment(Qt::AlignCenter);
    m_noReadings->setWordWrap(true);
    m_noReadings->setTextFormat(Qt::PlainText);
    m_pages = new QStackedWidget(this);
    m_pages->addWidget(chartsPage);
    m_pages->addWidget(m_noReadings);

    m_status = new QLabel(this);
    m_status->setForegroundRole(QPalette::PlaceholderText);
    m_status->setTextFormat(Qt::PlainText);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_pages, 1);
    layout->addWidget(m_status);
    clear();
}

void DeviceChartsView::clear()
{
    m_data = DeviceData();
    for (int k = 0; k < deviceKindCount; ++k) {
        m_chosen[k].clear();
        fillSelector(DeviceKind(k));
        drawDevice(DeviceKind(k));
        m_charts[k]->setGaps({});
    }
    m_pages->setCurrentIndex(0);
    m_status->clear();
}

void DeviceChartsView::showDevices(const DeviceData &data)
{
    m_data = data;
    m_pages->setCurrentIndex(data.hasReadings || !data.error.isEmpty() ? 0 : 1);
    for (int k = 0; k < deviceKindCount; ++k) {
        fillSelector(DeviceKind(k));
        drawDevice(DeviceKind(k));
    }
    if (!data.error.isEmpty())
        m_status->setText(tr("Could not read device readings: %1").arg(data.error));
    else if (data.hasReadings)
        m_status->setText(tr("%1 device readings · read in %2 ms")
                              .arg(QLocale().toString(data.readings))
                              .arg(data.readMs));
    else
        m_status->clear();
}

void DeviceChartsView::setXRange(qint64 fromMs, qint64 toMs)
{
    for (HistoryChartView *chart : m_charts)
        chart->setXRange(fromMs, toMs);
    // The critical threshold spans whatever range is shown.
    drawDevice(DeviceKind::Temperatures);
}

void DeviceChartsView::setGaps(const QList<server::Gap> &gaps)
{
    for (HistoryChartView *chart : m_charts)
        chart->setGaps(gaps);
}

void DeviceChartsView::setStatus(const QString &text)
{
    m_status->setText(text);
}

QString DeviceChartsView::selectedDevice(DeviceKind kind) const
{
    return m_selectors[int(kind)]->currentData().toString();
}

void DeviceChartsView::selectDevice(DeviceKind kind, const QString &name)
{
    QComboBox *box = m_selectors[int(kind)];
    const int index = box->findData(name);
    if (index < 0)
        return;
    m_chosen[int(kind)] = name;
    box->setCurrentIndex(index);
    drawDevice(kind);
}

bool DeviceChartsView::showsNoReadings() const
{
    return m_pages->currentIndex() == 1;
}

int DeviceChartsView::plotWidth() const
{
    return m_charts[0]->plotWidth();
}

void DeviceChartsView::fillSelector(DeviceKind kind)
{
    QComboBox *box = m_selectors[int(kind)];
    const QList<DeviceLines> &devices = m_data.devices(kind);
    box->clear();
    if (devices.isEmpty()) {
        box->addItem(tr(kindTexts[int(kind)].none));
        box->setEnabled(false);
        return;
    }
    box->setEnabled(true);
    for (const DeviceLines &d : devices)
        box->addItem(d.name, d.name); // QComboBox draws plain text: the agent's names are safe here
    // The user's choice while it is there; otherwise the one most worth a look: the fullest
    // filesystem now, the busiest disk or interface and the hottest sensor of the range.
    int index = m_chosen[int(kind)].isEmpty() ? -1 : box->findData(m_chosen[int(kind)]);
    if (index < 0) {
        const auto score = [kind](const DeviceLines &d) { return kind == DeviceKind::Filesystems ? d.last : d.peak; };
        const auto best = std::max_element(devices.cbegin(), devices.cend(), [&](const DeviceLines &a, const DeviceLines &b) {
            return score(a) < score(b);
        });
        index = int(best - devices.cbegin());
    }
    box->setCurrentIndex(index);
}

void DeviceChartsView::drawDevice(DeviceKind kind)
{
    HistoryChartView *chart = m_charts[int(kind)];
    const QList<QLineSeries *> series = chart->series();
    const QList<DeviceLines> &devices = m_data.devices(kind);
    const QString name = selectedDevice(kind);
    const auto it = std::find_if(devices.cbegin(), devices.cend(), [&](const DeviceLines &d) { return d.name == name; });
    const DeviceLines *device = it == devices.cend() ? nullptr : &*it;
    const int count = DeviceData::seriesCount(kind);
    double scale = 1;
    if (kind == DeviceKind::Disks || kind == DeviceKind::Networks) {
        const auto [unit, size] = rateUnit(device ? device->peak : 0);
        scale = size;
        chart->setUnit(unit);
        // "%g": ticks of 2.5 read as such, and 1500 kB/s not as 1.5e+03. At least 0 to 10 of
        // the unit: an idle interface's axis is not "0 0 0 1 1 1".
        chart->setLabelFormat(QStringLiteral("%g"));
        chart->setYRange(0, std::max(10.0, device ? device->peak / scale * 1.1 : 0.0));
    }
    for (int i = 0; i < count; ++i) {
        // Busy % has its own axis: only the byte rates are scaled.
        const bool rate = (kind == DeviceKind::Disks && i != DeviceData::DiskBusy) || kind == DeviceKind::Networks;
        HistoryChartView::replacePoints(series[i], device && i < device->series.size()
                                                       ? scaled(device->series[i], rate ? scale : 1)
                                                       : QList<QPointF>());
    }
    if (kind == DeviceKind::Temperatures) {
        QLineSeries *critical = series[DeviceData::TempSeriesCount];
        const bool known = device && device->hasCritical;
        // Renamed rather than hidden: a legend marker hidden and shown again in Qt Charts 6.4
        // keeps its hidden layout (a bare square without its name), and "none" is worth saying.
        critical->setName(known ? tr("critical %1 °C").arg(QLocale().toString(device->criticalCelsius, 'f', 0))
                                : tr("no critical threshold reported"));
        HistoryChartView::replacePoints(critical, known ? QList<QPointF>{QPointF(double(chart->xFrom()), device->criticalCelsius),
                                                                         QPointF(double(chart->xTo()), device->criticalCelsius)}
                                                        : QList<QPointF>());
        const double top = std::max(device ? device->peak : 0.0, known ? device->criticalCelsius : 0.0);
        chart->setYRange(0, top > 0 ? top * 1.1 : 100);
    }
}

} // namespace autofact::dashboard
