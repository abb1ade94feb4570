// SPDX-License-Identifier: MIT
#pragma once

#include "historydata.h"
#include "store/storetypes.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QStackedWidget;

namespace autofact::dashboard {

class HistoryChartView;

/**
 * The detail view's Devices tab: one chart per kind of device reading (filesystem use, disk
 * I/O, network, temperatures), each with a selector of the devices the agent reported in the
 * range. A client that never sent device readings (an old agent, a sampler without
 * collectors) gets a plain sentence instead of empty charts.
 *
 * Shows what the StoreReader read and decimated (DeviceData); switching device only replaces
 * series, it reads nothing. The choice of device is kept across reloads by name.
 */
class DeviceChartsView : public QWidget
{
    Q_OBJECT
public:
    explicit DeviceChartsView(QWidget *parent = nullptr);

    /** Shows an answer: fills each selector and draws the chosen device of each kind. */
    void showDevices(const DeviceData &data);
    /** Empties every chart and forgets the chosen devices (another client). */
    void clear();
    void setXRange(qint64 fromMs, qint64 toMs);
    /** The history's gaps, shaded as on the CPU and memory charts. */
    void setGaps(const QList<server::Gap> &gaps);
    /** A line under the charts ("Loading…", the read's figures, or an error). */
    void setStatus(const QString &text);

    HistoryChartView *chart(DeviceKind kind) const { return m_charts[int(kind)]; }
    QComboBox *selector(DeviceKind kind) const { return m_selectors[int(kind)]; }
    /** The device drawn for @p kind (empty: none). */
    QString selectedDevice(DeviceKind kind) const;
    /** Chooses @p name for @p kind, as the user does with the selector. */
    void selectDevice(DeviceKind kind, const QString &name);
    /** True while the "no device readings from this agent" sentence is shown. */
    bool showsNoReadings() const;
    const DeviceData &shownData() const { return m_data; }
    /** Plot width of the charts, for the decimation target. */
    int plotWidth() const;

Q_SIGNALS:
    /** The user zoomed or panned a chart. */
    void userRangeChanged(qint64 fromMs, qint64 toMs);
    /** Double-click on a chart: back to the chosen range. */
    void resetRequested();

private:
    void fillSelector(DeviceKind kind);
    void drawDevice(DeviceKind kind);

    DeviceData m_data;
    QString m_chosen[deviceKindCount]; ///< the user's choice per kind (empty: the default)
    HistoryChartView *m_charts[deviceKindCount] = {};
    QComboBox *m_selectors[deviceKindCount] = {};
    QStackedWidget *m_pages = nullptr;
    QLabel *m_noReadings = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace autofact::dashboard
