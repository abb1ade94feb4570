// SPDX-License-Identifier: MIT
#pragma once

#include "historydata.h"
#include "store/storetypes.h"

#include <QElapsedTimer>
#include <QTimer>
#include <QWidget>

#include <utility>

class QCheckBox;
class QComboBox;
class QDateTimeEdit;
class QFormLayout;
class QLabel;
class QStackedWidget;
class QMenu;
class QPushButton;
class QSplitter;
class QTabWidget;
class QToolButton;

namespace autofact::dashboard {

class DeviceChartsView;
class HistoryChartView;
class StoreReader;

/**
 * One client in depth: CPU and memory history charts over a chosen range (live 5 min, 1 h,
 * 24 h, 7 d, custom), gap bands, per-core lines, and the client's Hello facts in a side panel.
 * A Devices tab charts filesystems, disks, network and temperatures over the same range.
 *
 * History is read and decimated on the StoreReader's thread for the current plot width; this
 * widget only replaces whole series. Zooming or panning a chart reloads that range at full
 * resolution a moment after the user stops.
 */
class ClientDetailView : public QWidget
{
    Q_OBJECT
public:
    enum class Range { Live5Min, Hour, Day, Week, Custom };
    Q_ENUM(Range)

    explicit ClientDetailView(StoreReader *reader, QWidget *parent = nullptr);

    /** Shows @p info's client (facts now, history as soon as it is read). */
    void setClient(const server::ClientInfo &info);
    /** Refreshes the side panel without reloading history (inventory refresh). */
    void updateFacts(const server::ClientInfo &info);
    /** The client's health as the table shows it ("up", "stale", …), beside the title. */
    void setState(const QString &text, const QColor &color);
    QString stateText() const;
    QString clientId() const { return m_clientId; }
    /** True while no client is chosen (a hint shows instead of empty charts). */
    bool showsPlaceholder() const;

    void setRange(Range range);
    Range range() const { return m_range; }
    /** How often a fixed range moves on with the clock (0: it does not, Custom). */
    static int followIntervalMs(Range range);
    /** [from, to) of a fixed range at @p nowMs, aligned to round local times (Custom: the last hour). */
    static std::pair<qint64, qint64> fixedRange(Range range, qint64 nowMs);
    /** The reload period running now (0: none; hidden, or a custom range). */
    int followingEveryMs() const;
    void setCustomRange(qint64 fromMs, qint64 toMs);
    /** The range being shown, in ms since the epoch. */
    qint64 fromMs() const { return m_fromMs; }
    qint64 toMs() const { return m_toMs; }

    HistoryChartView *cpuChart() const { return m_cpuChart; }
    HistoryChartView *memoryChart() const { return m_memoryChart; }
    DeviceChartsView *deviceCharts() const { return m_deviceCharts; }
    /** Shows the Devices tab (true) or the CPU and memory charts. */
    void setDevicesShown(bool shown);
    bool showsDevices() const;
    QSplitter *splitter() const { return m_splitter; }
    /** The last history shown (tests). */
    const HistoryData &shownData() const { return m_data; }
    void setCoreLinesVisible(bool visible);

public Q_SLOTS:
    /** Asks the reader for the current range again. */
    void reload();

Q_SIGNALS:
    /** "Export…" pressed: the main window opens its export dialog preset to this. */
    void exportRequested(const QString &clientId, qint64 fromMs, qint64 toMs);
    /** A history answer reached the charts; @p elapsedMs since it was requested. */
    void historyShown(qint64 samples, qint64 elapsedMs);
    /** A device answer reached the Devices tab. */
    void devicesShown(qint64 readings, qint64 elapsedMs);
    void rangeChanged(autofact::dashboard::ClientDetailView::Range range);

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    void showHistory(const HistoryData &data);
    void showDevices(const DeviceData &data);
    /** Asks the reader for the device readings of the current range (Devices tab shown). */
    void reloadDevices();
    void alignPlotAreas();
    void computeRange();
    void onUserRange(qint64 fromMs, qint64 toMs);
    void rebuildCoreMenu(int cores);
    void applyCoreVisibility();

    StoreReader *m_reader;
    QString m_clientId;
    Range m_rangeBeforeZoom = Range::Live5Min; ///< where a double-click goes back to
    QTimer m_customEdit; ///< applies a typed custom range after a pause
    QStackedWidget *m_pages = nullptr;
    QLabel *m_placeholder = nullptr;
    Range m_range = Range::Hour;
    qint64 m_fromMs = 0;
    qint64 m_toMs = 0;
    quint64 m_requestId = 0;
    quint64 m_deviceRequestId = 0;
    QElapsedTimer m_requestClock;
    QElapsedTimer m_deviceClock;
    HistoryData m_data;
    QList<bool> m_coreVisible;
    bool m_coreLines = false;

    QLabel *m_title = nullptr;
    QLabel *m_state = nullptr;
    QComboBox *m_rangeBox = nullptr;
    QDateTimeEdit *m_fromEdit = nullptr;
    QDateTimeEdit *m_toEdit = nullptr;
    QCheckBox *m_coresBox = nullptr;
    QToolButton *m_coresButton = nullptr;
    QMenu *m_coresMenu = nullptr;
    QPushButton *m_exportButton = nullptr;
    QLabel *m_statusLabel = nullptr;
    HistoryChartView *m_cpuChart = nullptr;
    HistoryChartView *m_memoryChart = nullptr;
    QTabWidget *m_chartTabs = nullptr;
    DeviceChartsView *m_deviceCharts = nullptr;
    QSplitter *m_splitter = nullptr;
    QFormLayout *m_facts = nullptr;
    QTimer m_liveTimer;
    QTimer m_zoomReload;
};

} // namespace autofact::dashboard
