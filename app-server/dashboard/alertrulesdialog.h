// SPDX-License-Identifier: MIT
#pragma once

#include "alerts/alertrules.h"

#include <QDialog>
#include <QList>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace autofact::server {
class ServerCore;
}

namespace autofact::dashboard {

class ClientTableModel;

/**
 * The rule editor: every rule's switch, threshold, hold time ("fire after") and resolve time,
 * for every client (the fleet defaults over the shipped ones), as a group's override or as one
 * client's.
 * Save sends only what changed, through ServerCore; the server applies it at once.
 */
class AlertRulesDialog : public QDialog
{
    Q_OBJECT
public:
    AlertRulesDialog(server::ServerCore *core, const ClientTableModel *clients,
                     const QList<server::AlertRuleRow> &rows, QWidget *parent = nullptr);

    /** Shows the defaults (empty ID), a group's (server::groupRuleScope()) or a client's rules. */
    void selectScope(const QString &clientId);
    QString scope() const;
    /** The edited settings of @p rule in the current scope; nullopt when the form is invalid. */
    std::optional<server::AlertRuleSettings> edited(server::AlertRule rule) const;
    /** For a client scope: whether @p rule is overridden for it. */
    bool overridden(server::AlertRule rule) const;
    void setEdited(server::AlertRule rule, const server::AlertRuleSettings &settings, bool override = true);
    /** What save() would send: (rule key, client, settings or nullopt to remove). */
    struct Change {
        QString rule;
        QString clientId;
        std::optional<server::AlertRuleSettings> settings;
    };
    QList<Change> changes() const;

public Q_SLOTS:
    void save();

private:
    struct RowWidgets {
        QCheckBox *override = nullptr;
        QCheckBox *enabled = nullptr;
        QDoubleSpinBox *threshold = nullptr;
        QLineEdit *holdFor = nullptr;
        QLineEdit *resolveAfter = nullptr;
    };
    void load(const QString &clientId);
    /** What @p scope gets where it has no override: a client its group's, a group the defaults. */
    server::RuleSettingsArray inherited(const QString &scope) const;
    void captureScope();
    void validate();

    server::ServerCore *m_core;
    server::AlertRuleSet m_stored;
    QComboBox *m_scope = nullptr;
    QTableWidget *m_table = nullptr;
    QLabel *m_error = nullptr;
    QPushButton *m_saveButton = nullptr;
    std::array<RowWidgets, server::alertRuleCount> m_rows;
    /// Edits per scope (client ID, "" for defaults): kept when the scope changes.
    QHash<QString, std::array<std::optional<server::AlertRuleSettings>, server::alertRuleCount>> m_edits;
    QString m_current;
    bool m_loading = false;
};

} // namespace autofact::dashboard
