// SPDX-License-Identifier: MIT
#pragma once

#include "store/alertstore.h"

#include <QAbstractTableModel>
#include <QList>

namespace autofact::dashboard {

/**
 * Alerts as rows (active ones, or the history): state, host, rule, value, threshold, when it
 * started, how long it lasted or has lasted, and the note (silence reason or resolution).
 * Filled from the store worker's alertsChanged / alertHistory signals; GUI thread only.
 */
class AlertTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { StateColumn, HostColumn, RuleColumn, ValueColumn, ThresholdColumn, StartedColumn,
                  DurationColumn, NoteColumn, ColumnCount };
    Q_ENUM(Column)
    enum Role {
        SortRole = Qt::UserRole + 1,
        AlertIdRole,
        ClientIdRole,
    };

    explicit AlertTableModel(QObject *parent = nullptr);

    void setAlerts(const QList<server::AlertRecord> &alerts);
    const QList<server::AlertRecord> &alerts() const { return m_alerts; }
    const server::AlertRecord *alert(qint64 id) const;
    /** Clock for durations and silences; tests set it. */
    void setNow(qint64 nowMs);

    /** "firing", "acknowledged", "silenced", "resolved". */
    static QString stateText(const server::AlertRecord &alert, qint64 nowMs);
    /** "2 h 5 min", "40 s". */
    static QString durationText(qint64 ms);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QList<server::AlertRecord> m_alerts;
    qint64 m_nowMs = 0;
};

} // namespace autofact::dashboard
