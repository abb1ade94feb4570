// SPDX-License-Identifier: MIT
#include "agentconfigdialog.h"

#include "clienttablemodel.h"
#include "servercore.h"
#include "storereader.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace autofact::dashboard {

namespace {
QDoubleSpinBox *secondsBox(double min, double max, const QString &suffix, QWidget *parent)
{
    auto *box = new QDoubleSpinBox(parent);
    box->setRange(min, max);
    box->setDecimals(1);
    box->setSuffix(suffix);
    box->setMinimumWidth(120);
    return box;
}
} // namespace

AgentConfigDialog::AgentConfigDialog(server::ServerCore *core, StoreReader *reader,
                                     const ClientTableModel *clients, QWidget *parent)
    : QDialog(parent)
    , m_core(core)
{
    setWindowTitle(tr("Agent behaviour"));
    m_list = new QListWidget(this);
    m_list->setMinimumWidth(220);
    auto *defaults = new QListWidgetItem(tr("Default (all clients)"), m_list);
    defaults->setData(Qt::UserRole, QString());
    QFont bold = defaults->font();
    bold.setBold(true);
    defaults->setFont(bold);
    if (clients) {
        for (int row = 0; row < clients->rowCount(); ++row) {
            const ClientTableModel::Row &r = clients->rowAt(row);
            auto *item = new QListWidgetItem(r.info.hostname.isEmpty() ? r.info.id : r.info.hostname, m_list);
            item->setData(Qt::UserRole, r.info.id);
            item->setToolTip(r.info.id);
        }
    }

    auto *form = new QGroupBox(tr("Behaviour"), this);
    m_override = new QCheckBox(tr("Override the default for this client"), form);
    const QString s = tr(" s");
    m_sample = secondsBox(0.1, 3600, s, form);
    m_send = secondsBox(0.1, 3600, s, form);
    m_heartbeat = secondsBox(1, 3600, s, form);
    m_reconnectBase = secondsBox(0.5, 3600, s, form);
    m_reconnectMax = secondsBox(1, 86400, s, form);
    m_giveUp = secondsBox(1, 7 * 24 * 60, tr(" min"), form);
    m_spoolMiB = new QSpinBox(form);
    m_spoolMiB->setRange(1, 1024 * 1024);
    m_spoolMiB->setSuffix(tr(" MiB"));
    m_spoolAgeH = secondsBox(1, 24 * 365, tr(" h"), form);
    auto *formLayout = new QFormLayout(form);
    formLayout->addRow(m_override);
    formLayout->addRow(tr("Sample every:"), m_sample);
    formLayout->addRow(tr("Send every:"), m_send);
    formLayout->addRow(tr("Heartbeat every:"), m_heartbeat);
    formLayout->addRow(tr("Reconnect after:"), m_reconnectBase);
    formLayout->addRow(tr("Reconnect at most every:"), m_reconnectMax);
    formLayout->addRow(tr("Give up after offline:"), m_giveUp);
    formLayout->addRow(tr("Spool at most:"), m_spoolMiB);
    formLayout->addRow(tr("Keep spooled samples:"), m_spoolAgeH);

    m_note = new QLabel(tr("Loading…"), this);
    m_note->setWordWrap(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    m_saveButton = buttons->button(QDialogButtonBox::Save);
    m_saveButton->setEnabled(false);
    connect(buttons, &QDialogButtonBox::accepted, this, &AgentConfigDialog::save);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *top = new QHBoxLayout;
    top->addWidget(m_list);
    top->addWidget(form, 1);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_note);
    layout->addWidget(buttons);

    connect(m_list, &QListWidget::currentRowChanged, this, &AgentConfigDialog::showEntry);
    for (QDoubleSpinBox *box : {m_sample, m_send, m_heartbeat, m_reconnectBase, m_reconnectMax,
                                m_giveUp, m_spoolAgeH})
        connect(box, &QDoubleSpinBox::valueChanged, this, &AgentConfigDialog::formToConfig);
    connect(m_spoolMiB, &QSpinBox::valueChanged, this, &AgentConfigDialog::formToConfig);
    connect(m_override, &QCheckBox::toggled, this, [this](bool on) {
        if (m_updatingForm)
            return;
        const QString id = currentId();
        if (on)
            m_overrides.insert(id, m_overrides.value(id, m_default));
        else
            m_overrides.remove(id);
        showEntry(m_list->currentRow());
    });

    connect(reader, &StoreReader::configsLoaded, this, &AgentConfigDialog::onLoaded,
            Qt::SingleShotConnection);
    QMetaObject::invokeMethod(reader, [reader] { reader->loadConfigs(); });
}

QString AgentConfigDialog::currentId() const
{
    const QListWidgetItem *item = m_list->currentItem();
    return item ? item->data(Qt::UserRole).toString() : QString();
}

void AgentConfigDialog::onLoaded(const AgentConfig &defaults, const QHash<QString, AgentConfig> &overrides)
{
    m_default = m_loadedDefault = defaults;
    m_overrides = m_loadedOverrides = overrides;
    m_loaded = true;
    m_saveButton->setEnabled(true);
    m_note->setText(tr("Default revision %1. Saving pushes the change to connected agents at once; "
                       "the Config column of the clients table shows when each has applied it.")
                        .arg(defaults.revision));
    for (int i = 0; i < m_list->count(); ++i) {
        QListWidgetItem *item = m_list->item(i);
        if (overrides.contains(item->data(Qt::UserRole).toString()))
            item->setText(item->text() + tr(" (override)"));
    }
    if (m_list->currentRow() < 0)
        m_list->setCurrentRow(0);
    else
        showEntry(m_list->currentRow());
    Q_EMIT loaded();
}

void AgentConfigDialog::selectClient(const QString &clientId)
{
    for (int i = 0; i < m_list->count(); ++i) {
        if (m_list->item(i)->data(Qt::UserRole).toString() == clientId) {
            m_list->setCurrentRow(i);
            return;
        }
    }
}

void AgentConfigDialog::showEntry(int row)
{
    if (row < 0 || !m_loaded)
        return;
    const QString id = m_list->item(row)->data(Qt::UserRole).toString();
    m_updatingForm = true;
    const bool isDefault = id.isEmpty();
    m_override->setVisible(!isDefault);
    m_override->setChecked(!isDefault && m_overrides.contains(id));
    const bool editable = isDefault || m_overrides.contains(id);
    const AgentConfig shown = isDefault ? m_default : m_overrides.value(id, m_default);
    configToForm(shown);
    for (QWidget *w : std::initializer_list<QWidget *>{m_sample, m_send, m_heartbeat, m_reconnectBase,
                                                       m_reconnectMax, m_giveUp, m_spoolMiB, m_spoolAgeH})
        w->setEnabled(editable);
    m_updatingForm = false;
}

void AgentConfigDialog::configToForm(const AgentConfig &c)
{
    m_sample->setValue(c.sampleIntervalMs / 1000.0);
    m_send->setValue(c.sendIntervalMs / 1000.0);
    m_heartbeat->setValue(c.heartbeatIntervalMs / 1000.0);
    m_reconnectBase->setValue(c.reconnectBaseMs / 1000.0);
    m_reconnectMax->setValue(c.reconnectMaxMs / 1000.0);
    m_giveUp->setValue(double(c.giveUpMs) / 60000.0);
    m_spoolMiB->setValue(int(c.spoolMaxBytes / (1024 * 1024)));
    m_spoolAgeH->setValue(double(c.spoolMaxAgeMs) / 3600000.0);
}

void AgentConfigDialog::formToConfig()
{
    if (m_updatingForm || !m_loaded)
        return;
    const QString id = currentId();
    AgentConfig *target = id.isEmpty() ? &m_default : (m_overrides.contains(id) ? &m_overrides[id] : nullptr);
    if (!target)
        return;
    target->sampleIntervalMs = quint32(m_sample->value() * 1000);
    target->sendIntervalMs = quint32(m_send->value() * 1000);
    target->heartbeatIntervalMs = quint32(m_heartbeat->value() * 1000);
    target->reconnectBaseMs = quint32(m_reconnectBase->value() * 1000);
    target->reconnectMaxMs = quint32(m_reconnectMax->value() * 1000);
    target->giveUpMs = quint64(m_giveUp->value() * 60000);
    target->spoolMaxBytes = quint64(m_spoolMiB->value()) * 1024 * 1024;
    target->spoolMaxAgeMs = quint64(m_spoolAgeH->value() * 3600000);
}

std::optional<AgentConfig> AgentConfigDialog::editedOverride(const QString &clientId) const
{
    if (auto it = m_overrides.constFind(clientId); it != m_overrides.constEnd())
        return *it;
    return std::nullopt;
}

void AgentConfigDialog::setEditedDefault(const AgentConfig &config)
{
    m_default = config;
    showEntry(m_list->currentRow());
}

void AgentConfigDialog::setEditedOverride(const QString &clientId, const std::optional<AgentConfig> &config)
{
    if (config)
        m_overrides.insert(clientId, *config);
    else
        m_overrides.remove(clientId);
    showEntry(m_list->currentRow());
}

void AgentConfigDialog::save()
{
    if (!m_loaded)
        return;
    auto check = [this](const AgentConfig &c) {
        // An agent that sends more often than it samples would send empty batches.
        if (c.sendIntervalMs < c.sampleIntervalMs)
            return tr("“Send every” must not be shorter than “Sample every”.");
        if (c.reconnectMaxMs < c.reconnectBaseMs)
            return tr("“Reconnect at most every” must not be shorter than “Reconnect after”.");
        return QString();
    };
    QString problem = check(m_default);
    for (auto it = m_overrides.cbegin(); problem.isEmpty() && it != m_overrides.cend(); ++it)
        problem = check(*it);
    if (!problem.isEmpty()) {
        m_note->setText(problem);
        return;
    }
    // Revisions are assigned by the store; compare what the user can change.
    auto same = [](AgentConfig a, AgentConfig b) {
        a.revision = b.revision = 0;
        return a == b;
    };
    if (!same(m_default, m_loadedDefault))
        m_core->setDefaultConfig(m_default);
    QSet<QString> ids;
    for (auto it = m_overrides.cbegin(); it != m_overrides.cend(); ++it)
        ids.insert(it.key());
    for (auto it = m_loadedOverrides.cbegin(); it != m_loadedOverrides.cend(); ++it)
        ids.insert(it.key());
    for (const QString &id : std::as_const(ids)) {
        const std::optional<AgentConfig> now = editedOverride(id);
        const auto before = m_loadedOverrides.constFind(id);
        const bool had = before != m_loadedOverrides.constEnd();
        if (!now && had)
            m_core->setClientOverride(id, std::nullopt);
        else if (now && (!had || !same(*now, *before)))
            m_core->setClientOverride(id, now);
    }
    accept();
}

} // namespace autofact::dashboard
