// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <QDialog>
#include <QHash>
#include <QSet>

#include <optional>

class QCheckBox;
class QDoubleSpinBox;
class QLineEdit;
class QLabel;
class QListWidget;
class QPushButton;
class QSpinBox;

namespace autofact::server {
class ServerCore;
}

namespace autofact::dashboard {

class ClientTableModel;
class StoreReader;

/**
 * Agent behaviour: the default sample/send/heartbeat intervals, reconnect policy, spool
 * limits and device collector intervals (0 shown as "off"), per-group overrides (entries keyed
 * "@" and the group name) and per-client overrides. Current values are read on the reader
 * thread; Save goes through ServerCore, which stores the change and pushes it to connected
 * agents at once.
 */
class AgentConfigDialog : public QDialog
{
    Q_OBJECT
public:
    AgentConfigDialog(server::ServerCore *core, StoreReader *reader, const ClientTableModel *clients,
                      QWidget *parent = nullptr);

    /** Selects the default (empty ID), a group's ("@NAME") or a client's entry. */
    void selectClient(const QString &clientId);
    /** Values as currently edited: the default, or a client's override (nullopt: none). */
    AgentConfig editedDefault() const { return m_default; }
    std::optional<AgentConfig> editedOverride(const QString &clientId) const;
    void setEditedDefault(const AgentConfig &config);
    void setEditedOverride(const QString &clientId, const std::optional<AgentConfig> &config);
    bool isLoaded() const { return m_loaded; }
    /** The duration fields by label ("Sample every:", "Disks every:" …), for tests that type into them. */
    QLineEdit *durationField(const QString &label) const;
    /** An error shown under the form (empty when every field is valid). */
    QString formError() const;

public Q_SLOTS:
    /** Pushes every change through ServerCore and closes. */
    void save();

Q_SIGNALS:
    void loaded();

private:
    void onLoaded(const AgentConfig &defaults, const QHash<QString, AgentConfig> &overrides);
    void showEntry(int row);
    void formToConfig();
    void configToForm(const AgentConfig &config);
    QString currentId() const;
    /** Every duration field, the collectors' included. */
    QList<QLineEdit *> durationEdits() const;
    /** A group's entry, after the default and the other groups. */
    void addGroupItem(const QString &group);
    /** What @p id shows without an override: its group's behaviour, or the default. */
    AgentConfig inherited(const QString &id) const;

    server::ServerCore *m_core;
    bool m_loaded = false;
    bool m_updatingForm = false;
    AgentConfig m_default;
    AgentConfig m_loadedDefault;
    QHash<QString, AgentConfig> m_overrides;
    QHash<QString, AgentConfig> m_loadedOverrides;
    QHash<QString, QString> m_groupOf; ///< client ID -> group, for clients in one

    QListWidget *m_list = nullptr;
    QCheckBox *m_override = nullptr;
    QLineEdit *m_sample = nullptr;
    QLineEdit *m_send = nullptr;
    QLineEdit *m_heartbeat = nullptr;
    QLineEdit *m_reconnectBase = nullptr;
    QLineEdit *m_reconnectMax = nullptr;
    QLineEdit *m_giveUp = nullptr;
    QSpinBox *m_spoolMiB = nullptr;
    QLineEdit *m_spoolAgeH = nullptr;
    QLineEdit *m_filesystems = nullptr;
    QLineEdit *m_disks = nullptr;
    QLineEdit *m_network = nullptr;
    QLineEdit *m_temperatures = nullptr;
    QLabel *m_note = nullptr;
    QLabel *m_formError = nullptr;
    QLineEdit *m_find = nullptr;
    QSet<QString> m_invalidEntries; ///< entries (client IDs, "" the default) left with a wrong field
    QPushButton *m_saveButton = nullptr;
};

} // namespace autofact::dashboard
