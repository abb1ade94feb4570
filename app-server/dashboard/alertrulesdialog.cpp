// SPDX-License-Identifier: MIT
#include "alertrulesdialog.h"

#include "clienttablemodel.h"
#include "duration.h"
#include "servercore.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <QMap>

#include <algorithm>
#include <ranges>

namespace autofact::dashboard {

using server::AlertRule;
using server::AlertRuleSettings;

namespace {

enum Col { RuleCol, OverrideCol, EnabledCol, ThresholdCol, HoldCol, ResolveCol, ColCount };

QString durationText(qint64 ms)
{
    return ms == 0 ? QStringLiteral("0") : duration::format(std::chrono::milliseconds(ms));
}

std::optional<qint64> parseDuration(const QString &text)
{
    if (text.trimmed() == u"0")
        return 0;
    const auto d = duration::parse(text.trimmed());
    if (!d || d->count() < 0 || d->count() > 365LL * 86400 * 1000)
        return std::nullopt;
    return d->count();
}

const char *ruleHelp(AlertRule rule)
{
    switch (rule) {
    case AlertRule::CpuBusy: return "CPU busy (all but idle and iowait) above the threshold";
    case AlertRule::MemoryUsed: return "Memory used above the threshold, in % of total";
    case AlertRule::SwapUsed: return "Swap used above the threshold; hosts without swap never fire it";
    case AlertRule::LoadPerCore: return "1-minute load average divided by the core count";
    case AlertRule::HostStale: return "Connected, but no data arrives (a hung agent or host)";
    case AlertRule::HostDown: return "Has sent data before and is not connected";
    case AlertRule::SamplesDropped: return "The agent dropped more samples than the threshold (its spool was full)";
    case AlertRule::SpoolBacklog: return "The agent reports more unsent batches than the threshold";
    case AlertRule::TemperatureHigh: return "The hottest sensor above the threshold, or at the critical point its kernel driver reports";
    case AlertRule::DiskUsed: return "The fullest filesystem's use (as df shows it: used / (used + available)) above the threshold";
    }
    return "";
}

QHash<QString, QString> groupsOf(const ClientTableModel *clients)
{
    QHash<QString, QString> out;
    for (int r = 0; r < clients->rowCount(); ++r)
        if (const server::ClientInfo &info = clients->rowAt(r).info; !info.groupName.isEmpty())
            out.insert(info.id, info.groupName);
    return out;
}

} // namespace

AlertRulesDialog::AlertRulesDialog(server::ServerCore *core, const ClientTableModel *clients,
                                   const QList<server::AlertRuleRow> &rows, QWidget *parent)
    : QDialog(parent)
    , m_core(core)
    , m_stored(rows, groupsOf(clients))
{
    setWindowTitle(tr("Alert rules"));
    m_scope = new QComboBox;
    m_scope->setObjectName(QStringLiteral("ruleScope"));
    m_scope->addItem(tr("Every client (defaults)"), QString());
    // Groups next: what a group sets applies to its members without their own setting.
    QMap<QString, int> groups;
    for (const QString &group : groupsOf(clients))
        ++groups[group];
    for (const QString &scope : std::as_const(rows) | std::views::transform(&server::AlertRuleRow::clientId))
        if (scope.startsWith(u'@'))
            groups.insert(scope.mid(1), groups.value(scope.mid(1)));
    for (auto it = groups.cbegin(); it != groups.cend(); ++it)
        m_scope->addItem(it.value() == 1 ? tr("Group %1 (1 client)").arg(it.key())
                                         : tr("Group %1 (%2 clients)").arg(it.key()).arg(it.value()),
                         server::groupRuleScope(it.key()));
    // Sorted by hostname: the list a person scans for a machine.
    QList<std::pair<QString, QString>> hosts;
    for (const QString &id : clients->clientIds()) {
        const ClientTableModel::Row *r = clients->row(id);
        hosts.append({r && !r->info.hostname.isEmpty() ? r->info.hostname : id, id});
    }
    std::sort(hosts.begin(), hosts.end(), [](const auto &a, const auto &b) {
        return a.first.compare(b.first, Qt::CaseInsensitive) < 0;
    });
    for (const auto &[host, id] : hosts)
        m_scope->addItem(tr("%1 (%2)").arg(host, id), id);

    m_table = new QTableWidget(server::alertRuleCount, ColCount);
    m_table->setHorizontalHeaderLabels({tr("Rule"), tr("Override"), tr("On"), tr("Threshold"), tr("Fire after"),
                                        tr("Resolve after")});
    m_table->horizontalHeaderItem(HoldCol)->setToolTip(tr("The condition must hold this long before the alert fires"));
    m_table->horizontalHeaderItem(ResolveCol)->setToolTip(
            tr("And must be false this long before it resolves: no flapping at the threshold"));
    m_table->horizontalHeaderItem(OverrideCol)->setToolTip(
            tr("This client's or group's own setting instead of the one it inherits (a client inherits its "
               "group's, a group the defaults)"));
    m_table->verticalHeader()->hide();
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    for (const server::AlertRuleInfo &info : server::alertRules()) {
        const int r = int(info.rule);
        auto *name = new QTableWidgetItem(QString::fromLatin1(info.title));
        name->setFlags(Qt::ItemIsEnabled);
        name->setToolTip(tr(ruleHelp(info.rule)));
        m_table->setItem(r, RuleCol, name);
        RowWidgets &w = m_rows[std::size_t(r)];
        w.override = new QCheckBox;
        w.enabled = new QCheckBox;
        w.threshold = new QDoubleSpinBox;
        w.threshold->setRange(info.minThreshold, info.maxThreshold);
        w.threshold->setDecimals(info.rule == AlertRule::LoadPerCore ? 2 : 0);
        w.threshold->setSuffix(*info.unit ? QStringLiteral(" ") + QString::fromLatin1(info.unit) : QString());
        w.threshold->setEnabled(info.hasThreshold);
        if (!info.hasThreshold)
            w.threshold->setSpecialValueText(QStringLiteral("—"));
        w.holdFor = new QLineEdit;
        w.holdFor->setToolTip(tr("Like 30s, 5m, 1h; 0 fires at once"));
        w.resolveAfter = new QLineEdit;
        w.resolveAfter->setToolTip(tr("Like 30s, 5m, 1h"));
        m_table->setCellWidget(r, OverrideCol, w.override);
        m_table->setCellWidget(r, EnabledCol, w.enabled);
        m_table->setCellWidget(r, ThresholdCol, w.threshold);
        m_table->setCellWidget(r, HoldCol, w.holdFor);
        m_table->setCellWidget(r, ResolveCol, w.resolveAfter);
        connect(w.override, &QCheckBox::toggled, this, [this, r](bool on) {
            const RowWidgets &rw = m_rows[std::size_t(r)];
            for (QWidget *e : {static_cast<QWidget *>(rw.enabled), static_cast<QWidget *>(rw.holdFor),
                               static_cast<QWidget *>(rw.resolveAfter)})
                e->setEnabled(on);
            rw.threshold->setEnabled(on && server::alertRuleInfo(AlertRule(r)).hasThreshold);
            if (!on && !m_loading) // back to what it inherits: show what applies
                setEdited(AlertRule(r), inherited(m_current)[std::size_t(r)], false);
            validate();
        });
        connect(w.holdFor, &QLineEdit::textChanged, this, &AlertRulesDialog::validate);
        connect(w.resolveAfter, &QLineEdit::textChanged, this, &AlertRulesDialog::validate);
    }
    m_table->resizeColumnsToContents();
    m_table->setColumnWidth(RuleCol, 190);
    m_table->setColumnWidth(ThresholdCol, 110);
    m_table->setColumnWidth(HoldCol, 90);
    m_table->horizontalHeader()->setStretchLastSection(true);

    m_error = new QLabel;
    m_error->setTextFormat(Qt::PlainText);
    m_error->setStyleSheet(QStringLiteral("color: #c03030"));
    auto *box = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel);
    m_saveButton = box->button(QDialogButtonBox::Save);
    connect(box, &QDialogButtonBox::accepted, this, &AlertRulesDialog::save);
    connect(box, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    auto *hint = new QLabel(tr("An alert fires once its condition has held for \"Fire after\", and resolves once "
                               "it has been false for \"Resolve after\"."));
    hint->setWordWrap(true);
    layout->addWidget(hint);
    layout->addWidget(m_scope);
    layout->addWidget(m_table, 1);
    layout->addWidget(m_error);
    layout->addWidget(box);
    connect(m_scope, &QComboBox::currentIndexChanged, this, [this](int) {
        captureScope();
        load(m_scope->currentData().toString());
    });
    load(QString());
    resize(820, 420);
}

QString AlertRulesDialog::scope() const
{
    return m_current;
}

void AlertRulesDialog::selectScope(const QString &clientId)
{
    const int index = m_scope->findData(clientId);
    if (index >= 0)
        m_scope->setCurrentIndex(index);
}

void AlertRulesDialog::load(const QString &clientId)
{
    m_loading = true;
    m_current = clientId;
    const bool client = !clientId.isEmpty();
    m_table->setColumnHidden(OverrideCol, !client);
    const server::RuleSettingsArray effective = !client                      ? m_stored.defaults()
                                                : clientId.startsWith(u'@') ? m_stored.forGroup(clientId.mid(1))
                                                                            : m_stored.forClient(clientId);
    const auto edits = m_edits.value(clientId);
    for (int r = 0; r < server::alertRuleCount; ++r) {
        const AlertRule rule = AlertRule(r);
        const bool stored = client && m_stored.override(clientId, rule).has_value();
        const std::optional<AlertRuleSettings> edit = edits[std::size_t(r)];
        const bool override = !client || (m_edits.contains(clientId) ? edit.has_value() : stored);
        setEdited(rule, edit.value_or(effective[std::size_t(r)]), override);
        m_rows[std::size_t(r)].override->setChecked(override);
        // setChecked does not emit when unchanged: apply the enabled states directly.
        const RowWidgets &w = m_rows[std::size_t(r)];
        for (QWidget *e : {static_cast<QWidget *>(w.enabled), static_cast<QWidget *>(w.holdFor),
                           static_cast<QWidget *>(w.resolveAfter)})
            e->setEnabled(override);
        w.threshold->setEnabled(override && server::alertRuleInfo(rule).hasThreshold);
    }
    m_loading = false;
    validate();
}

server::RuleSettingsArray AlertRulesDialog::inherited(const QString &scope) const
{
    if (scope.isEmpty() || scope.startsWith(u'@'))
        return m_stored.defaults();
    return m_stored.forGroup(m_stored.groupOf(scope));
}

void AlertRulesDialog::setEdited(AlertRule rule, const AlertRuleSettings &s, bool override)
{
    const RowWidgets &w = m_rows[std::size_t(rule)];
    w.enabled->setChecked(s.enabled);
    w.threshold->setValue(s.threshold);
    w.holdFor->setText(durationText(s.forMs));
    w.resolveAfter->setText(durationText(s.resolveMs));
    if (!m_current.isEmpty())
        w.override->setChecked(override);
}

std::optional<AlertRuleSettings> AlertRulesDialog::edited(AlertRule rule) const
{
    const RowWidgets &w = m_rows[std::size_t(rule)];
    const auto hold = parseDuration(w.holdFor->text());
    const auto resolve = parseDuration(w.resolveAfter->text());
    if (!hold || !resolve)
        return std::nullopt;
    return AlertRuleSettings{w.enabled->isChecked(),
                             server::alertRuleInfo(rule).hasThreshold ? w.threshold->value() : 0.0, *hold, *resolve};
}

bool AlertRulesDialog::overridden(AlertRule rule) const
{
    return m_current.isEmpty() || m_rows[std::size_t(rule)].override->isChecked();
}

void AlertRulesDialog::captureScope()
{
    std::array<std::optional<AlertRuleSettings>, server::alertRuleCount> edits;
    for (int r = 0; r < server::alertRuleCount; ++r)
        if (overridden(AlertRule(r)))
            edits[std::size_t(r)] = edited(AlertRule(r));
    m_edits.insert(m_current, edits);
}

void AlertRulesDialog::validate()
{
    QStringList bad;
    for (int r = 0; r < server::alertRuleCount; ++r)
        if (overridden(AlertRule(r)) && !edited(AlertRule(r)))
            bad << QString::fromLatin1(server::alertRuleInfo(AlertRule(r)).title);
    m_error->setText(bad.isEmpty() ? QString()
                                   : tr("Not a duration (like 30s, 5m, 1h) in: %1").arg(bad.join(QStringLiteral(", "))));
    m_saveButton->setEnabled(bad.isEmpty());
}

QList<AlertRulesDialog::Change> AlertRulesDialog::changes() const
{
    auto self = const_cast<AlertRulesDialog *>(this);
    self->captureScope();
    QList<Change> out;
    for (auto it = m_edits.cbegin(); it != m_edits.cend(); ++it) {
        const QString &client = it.key();
        for (int r = 0; r < server::alertRuleCount; ++r) {
            const AlertRule rule = AlertRule(r);
            const QString key = QString::fromLatin1(server::alertRuleInfo(rule).key);
            const std::optional<AlertRuleSettings> &want = (*it)[std::size_t(r)];
            if (client.isEmpty()) {
                if (want && !(*want == m_stored.defaults()[std::size_t(r)]))
                    out.append({key, client, want});
                continue;
            }
            const std::optional<AlertRuleSettings> have = m_stored.override(client, rule);
            if (want != have)
                out.append({key, client, want});
        }
    }
    return out;
}

void AlertRulesDialog::save()
{
    for (const Change &c : changes())
        m_core->setAlertRule(c.rule, c.clientId, c.settings);
    accept();
}

} // namespace autofact::dashboard
