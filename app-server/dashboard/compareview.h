// SPDX-License-Identifier: MIT
#pragma once

#include "clientdetailview.h"
#include "historydata.h"

#include <QElapsedTimer>
#include <QHash>
#include <QTimer>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QListWidgetItem;

namespace autofact::dashboard {

class ClientTableModel;
class HistoryChartView;
class StoreReader;

/**
 * One metric (CPU busy, memory used, load per core, iowait) for many hosts on one time axis,
 * with the detail view's ranges, zoom and pan, and lines broken where a host has a gap.
 * Hosts are checked in a list beside the chart (or set from the clients table); at most
 * maxHosts. History is read and decimated per host on the StoreReader's thread, from the
 * minute rollups when a pixel column spans two minutes or more.
 */
class CompareView : public QWidget
{
    Q_OBJECT
public:
    using Range = ClientDetailView::Range;
    static constexpr int maxHosts = 100;
    /** More hosts than this: no legend (the list's colour marks say which line is which). */
    static constexpr int legendHosts = 12;

    CompareView(StoreReader *reader, const ClientTableModel *clients, QWidget *parent = nullptr);

    /** Compares these clients (in this order; unknown ones and those past maxHosts are left out). */
    void setClients(const QStringList &clientIds);
    QStringList clients() const { return m_checked; }
    void setMetric(CompareMetric metric);
    CompareMetric metric() const { return m_metric; }
    void setRange(Range range);
    Range range() const { return m_range; }
    qint64 fromMs() const { return m_fromMs; }
    qint64 toMs() const { return m_toMs; }
    HistoryChartView *chart() const { return m_chart; }
    /** The last answer shown (tests, benchmarks). */
    const CompareData &shownData() const { return m_data; }
    /** @p oldId's history now belongs to @p newId (a merge): compare that one instead. */
    void replaceClient(const QString &oldId, const QString &newId);
    /** The colour of @p clientId's line (invalid when it is not compared); kept while compared. */
    QColor colorOf(const QString &clientId) const;
    /** The reload period running now (0: none; hidden, or a custom range). */
    int followingEveryMs() const;
    /**
     * Cuts a host's line where it has a gap: between two neighbouring points when a gap starts
     * at or after the first (less @p slackMs, for points that stand for a whole minute) and
     * ends at or before the second (plus @p slackMs). Nothing was measured there; a line
     * across would invent values.
     */
    static QList<QList<QPointF>> splitAtGaps(const QList<QPointF> &points, const QList<server::Gap> &gaps,
                                             qint64 slackMs);

public Q_SLOTS:
    /** Asks the reader for the current range again. */
    void reload();

Q_SIGNALS:
    /** An answer reached the chart: @p samples read, @p elapsedMs since it was asked for. */
    void compareShown(qint64 samples, qint64 elapsedMs);
    /** The compared clients or the metric changed (the window keeps them in its settings). */
    void selectionChanged();

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    void syncHostList();
    void onItemChanged(QListWidgetItem *item);
    void showData(const CompareData &data);
    void computeRange();
    void updateFollowing();
    void updateMarks();
    /** Gives every compared host a colour slot; hosts keep theirs while compared. */
    void assignSlots();

    StoreReader *m_reader;
    const ClientTableModel *m_clients;
    QStringList m_checked;
    QHash<QString, int> m_slots; ///< colour slot of each compared host
    CompareMetric m_metric = CompareMetric::CpuBusy;
    Range m_range = Range::Hour;
    Range m_rangeBeforeZoom = Range::Hour;
    qint64 m_fromMs = 0;
    qint64 m_toMs = 0;
    quint64 m_requestId = 0;
    QElapsedTimer m_requestClock;
    CompareData m_data;
    bool m_syncing = false;

    QComboBox *m_metricBox = nullptr;
    QComboBox *m_rangeBox = nullptr;
    QLineEdit *m_find = nullptr;
    QListWidget *m_hosts = nullptr;
    QLabel *m_hint = nullptr;
    QLabel *m_status = nullptr;
    HistoryChartView *m_chart = nullptr;
    QTimer m_follow;
    QTimer m_zoomReload;
    QTimer m_listSync; ///< inventory changes coalesced
};

} // namespace autofact::dashboard
