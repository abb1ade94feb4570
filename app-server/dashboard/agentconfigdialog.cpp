// SPDX-License-Identifier: MIT
#include "agentconfigdialog.h"

#include "alerts/alertrules.h"

#include "duration.h"

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
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace autofact::dashboard {

namespace {
/** A duration typed as the command line takes it ("250ms", "5s", "7d"), with its bounds. */
struct DurationLimits {
    qint64 minMs;
    qint64 maxMs;
    bool offAllowed = false; ///< "0" or "off" means the collector does not run
};

QLineEdit *durationEdit(const QString &tip, QWidget *parent)
{
    auto *edit = new QLineEdit(parent);
    edit->setToolTip(tip);
    edit->setMinimumWidth(120);
    return edit;
}

QString durationText(qint64 ms)
{
    return duration::format(std::chrono::milliseconds(ms));
}

/** A collector's interval: 0 reads "off", as the form takes it back. */
QString collectorText(qint64 ms)
{
    return ms == 0 ? QStringLiteral("off") : durationText(ms);
}

/** Parses a duration field; "0" and "off" are 0 where @p limits allow off (and not otherwise). */
std::optional<qint64> parseField(const QString &text, const DurationLimits &limits)
{
    const QString t = text.trimmed();
    if (limits.offAllowed && (t == u"0" || t.compare(u"off", Qt::CaseInsensitive) == 0))
        return 0;
    const auto d = duration::parse(t);
    if (!d)
        return std::nullopt;
    if (d->count() == 0 && limits.offAllowed)
        return 0;
    if (d->count() < limits.minMs || d->count() > limits.maxMs)
        return std::nullopt;
    return d->count();
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
        // Groups after the default, then clients sorted by hostname.
        QStringList groups;
        for (int row = 0; row < clients->rowCount(); ++row)
            if (const QString &g = clients->rowAt(row).info.groupName; !g.isEmpty()) {
                m_groupOf.insert(clients->rowAt(row).info.id, g);
                if (!groups.contains(g))
                    groups.append(g);
            }
        groups.sort(Qt::CaseInsensitive);
        for (const QString &g : std::as_const(groups))
            addGroupItem(g);
        QList<std::pair<QString, QString>> hosts;
        for (int row = 0; row < clients->rowCount(); ++row) {
            const ClientTableModel::Row &r = clients->rowAt(row);
            hosts.append({r.info.hostname.isEmpty() ? r.info.id : r.info.hostname, r.info.id});
        }
        std::sort(hosts.begin(), hosts.end(), [](const auto &a, const auto &b) {
            return a.first.compare(b.first, Qt::CaseInsensitive) < 0;
        });
        for (const auto &[host, id] : hosts) {
            auto *item = new QListWidgetItem(host, m_list);
            item->setData(Qt::UserRole, id);
            item->setToolTip(id);
        }
    }
    m_find = new QLineEdit(this);
    m_find->setPlaceholderText(tr("Find a client"));
    m_find->setClearButtonEnabled(true);
    connect(m_find, &QLineEdit::textChanged, this, [this](const QString &text) {
        for (int i = 1; i < m_list->count(); ++i)
            m_list->item(i)->setHidden(!m_list->item(i)->text().contains(text.trimmed(), Qt::CaseInsensitive)
                                       && !m_list->item(i)->data(Qt::UserRole).toString().contains(text.trimmed()));
    });

    auto *form = new QGroupBox(tr("Behaviour"), this);
    m_override = new QCheckBox(tr("Override the default for this client"), form);
    m_sample = durationEdit(tr("How often the agent samples: 100ms to 1h (250ms, 1s, 10s)"), form);
    m_send = durationEdit(tr("How often it sends what it sampled: 100ms to 1h"), form);
    m_heartbeat = durationEdit(tr("How often an idle agent says it is alive: 1s to 1h; the server ends a session "
                                  "after three missed"), form);
    m_reconnectBase = durationEdit(tr("First pause before reconnecting: 500ms to 1h"), form);
    m_reconnectMax = durationEdit(tr("Longest pause between reconnects (the pause doubles up to this): 1s to 1d"), form);
    m_giveUp = durationEdit(tr("An agent that cannot connect this long exits (systemd restarts it): 1m to 7d"), form);
    m_spoolMiB = new QSpinBox(form);
    m_spoolMiB->setRange(1, 1024 * 1024);
    m_spoolMiB->setSuffix(tr(" MiB"));
    m_spoolMiB->setToolTip(tr("Largest spool on the node's disk; past it the oldest unsent samples go (and are counted)"));
    m_spoolAgeH = durationEdit(tr("Unsent samples older than this are dropped (and counted): 1h to 365d"), form);
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

    // Slow-changing readings (filesystems) can be taken less often than fast ones; any can be off.
    auto *collectors = new QGroupBox(tr("Device collectors"), form);
    m_filesystems = durationEdit(tr("How often the agent reads its filesystems' use: 1s to 1h, or off"), collectors);
    m_disks = durationEdit(tr("How often it reads disk I/O: 1s to 1h, or off"), collectors);
    m_network = durationEdit(tr("How often it reads network traffic: 1s to 1h, or off"), collectors);
    m_temperatures = durationEdit(tr("How often it reads temperature sensors: 1s to 1h, or off"), collectors);
    auto *collectorLayout = new QFormLayout(collectors);
    collectorLayout->addRow(tr("Filesystems every:"), m_filesystems);
    collectorLayout->addRow(tr("Disks every:"), m_disks);
    collectorLayout->addRow(tr("Network every:"), m_network);
    collectorLayout->addRow(tr("Temperatures every:"), m_temperatures);
    formLayout->addRow(collectors);

    m_formError = new QLabel(this);
    m_formError->setTextFormat(Qt::PlainText);
    m_formError->setStyleSheet(QStringLiteral("color: #c03030"));
    formLayout->addRow(m_formError);

    m_note = new QLabel(tr("Loading…"), this);
    m_note->setWordWrap(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, this);
    m_saveButton = buttons->button(QDialogButtonBox::Save);
    m_saveButton->setEnabled(false);
    connect(buttons, &QDialogButtonBox::accepted, this, &AgentConfigDialog::save);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *listColumn = new QVBoxLayout;
    listColumn->addWidget(m_find);
    listColumn->addWidget(m_list, 1);
    auto *top = new QHBoxLayout;
    top->addLayout(listColumn);
    top->addWidget(form, 1);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_note);
    layout->addWidget(buttons);

    connect(m_list, &QListWidget::currentRowChanged, this, &AgentConfigDialog::showEntry);
    for (QLineEdit *edit : durationEdits())
        connect(edit, &QLineEdit::textChanged, this, &AgentConfigDialog::formToConfig);
    connect(m_spoolMiB, &QSpinBox::valueChanged, this, &AgentConfigDialog::formToConfig);
    connect(m_override, &QCheckBox::toggled, this, [this](bool on) {
        if (m_updatingForm)
            return;
        const QString id = currentId();
        if (on)
            m_overrides.insert(id, m_overrides.value(id, inherited(id)));
        else
            m_overrides.remove(id);
        showEntry(m_list->currentRow());
    });

    connect(reader, &StoreReader::configsLoaded, this, &AgentConfigDialog::onLoaded,
            Qt::SingleShotConnection);
    QMetaObject::invokeMethod(reader, [reader] { reader->loadConfigs(); });
}

void AgentConfigDialog::addGroupItem(const QString &group)
{
    int at = 1;
    while (at < m_list->count() && m_list->item(at)->data(Qt::UserRole).toString().startsWith(u'@'))
        ++at;
    auto *item = new QListWidgetItem(tr("Group %1").arg(group));
    item->setData(Qt::UserRole, server::groupRuleScope(group));
    item->setToolTip(tr("What members of %1 do unless they have their own").arg(group));
    QFont italic = item->font();
    italic.setItalic(true);
    item->setFont(italic);
    m_list->insertItem(at, item);
}

AgentConfig AgentConfigDialog::inherited(const QString &id) const
{
    if (id.isEmpty() || id.startsWith(u'@'))
        return m_default;
    const QString group = m_groupOf.value(id);
    return group.isEmpty() ? m_default : m_overrides.value(server::groupRuleScope(group), m_default);
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
    // A group with its own behaviour and no members yet still gets its entry.
    for (auto it = overrides.cbegin(); it != overrides.cend(); ++it) {
        if (!it.key().startsWith(u'@'))
            continue;
        bool listed = false;
        for (int i = 1; i < m_list->count() && !listed; ++i)
            listed = m_list->item(i)->data(Qt::UserRole).toString() == it.key();
        if (!listed)
            addGroupItem(it.key().mid(1));
    }
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
    m_override->setText(id.startsWith(u'@') ? tr("Own behaviour for this group (members without their own use it)")
                        : m_groupOf.contains(id)
                                ? tr("Override for this client (instead of group %1's)").arg(m_groupOf.value(id))
                                : tr("Override the default for this client"));
    m_override->setChecked(!isDefault && m_overrides.contains(id));
    const bool editable = isDefault || m_overrides.contains(id);
    const AgentConfig shown = isDefault ? m_default : m_overrides.value(id, inherited(id));
    configToForm(shown);
    // What is shown now is the entry's stored value: no field is wrong in it.
    for (QLineEdit *edit : durationEdits())
        edit->setStyleSheet(QString());
    m_formError->setText(m_invalidEntries.isEmpty() ? QString()
                                                    : tr("Another entry has a value to fix before saving."));
    m_invalidEntries.remove(id);
    m_saveButton->setEnabled(m_invalidEntries.isEmpty());
    for (QLineEdit *edit : durationEdits())
        edit->setEnabled(editable);
    m_spoolMiB->setEnabled(editable);
    m_updatingForm = false;
}

void AgentConfigDialog::configToForm(const AgentConfig &c)
{
    m_sample->setText(durationText(c.sampleIntervalMs));
    m_send->setText(durationText(c.sendIntervalMs));
    m_heartbeat->setText(durationText(c.heartbeatIntervalMs));
    m_reconnectBase->setText(durationText(c.reconnectBaseMs));
    m_reconnectMax->setText(durationText(c.reconnectMaxMs));
    m_giveUp->setText(durationText(qint64(c.giveUpMs)));
    m_spoolMiB->setValue(int(c.spoolMaxBytes / (1024 * 1024)));
    m_spoolAgeH->setText(durationText(qint64(c.spoolMaxAgeMs)));
    m_filesystems->setText(collectorText(c.filesystemsIntervalMs));
    m_disks->setText(collectorText(c.disksIntervalMs));
    m_network->setText(collectorText(c.networkIntervalMs));
    m_temperatures->setText(collectorText(c.temperaturesIntervalMs));
}

void AgentConfigDialog::formToConfig()
{
    if (m_updatingForm || !m_loaded)
        return;
    const QString id = currentId();
    AgentConfig *target = id.isEmpty() ? &m_default : (m_overrides.contains(id) ? &m_overrides[id] : nullptr);
    if (!target)
        return;
    // Every field is checked and said wrong rather than silently clamped: 0 is not 100 ms.
    struct Field {
        QLineEdit *edit;
        const char *name;
        DurationLimits limits;
        qint64 value = 0;
    };
    Field fields[] = {
            {m_sample, "Sample every", {100, 3600'000}},
            {m_send, "Send every", {100, 3600'000}},
            {m_heartbeat, "Heartbeat every", {1000, 3600'000}},
            {m_reconnectBase, "Reconnect after", {500, 3600'000}},
            {m_reconnectMax, "Reconnect at most every", {1000, 86400'000}},
            {m_giveUp, "Give up after offline", {60'000, 7 * 86400'000LL}},
            {m_spoolAgeH, "Keep spooled samples", {3600'000, 365 * 86400'000LL}},
            // The codec's checkConfig refuses anything else: 0 (off) or 1 s..1 h.
            {m_filesystems, "Filesystems every", {1000, protocol::maxCollectorIntervalMs, true}},
            {m_disks, "Disks every", {1000, protocol::maxCollectorIntervalMs, true}},
            {m_network, "Network every", {1000, protocol::maxCollectorIntervalMs, true}},
            {m_temperatures, "Temperatures every", {1000, protocol::maxCollectorIntervalMs, true}},
    };
    QStringList errors;
    for (Field &f : fields) {
        const std::optional<qint64> ms = parseField(f.edit->text(), f.limits);
        f.edit->setStyleSheet(ms ? QString() : QStringLiteral("color: #c03030"));
        if (!ms)
            errors << (f.limits.offAllowed
                               ? tr("%1: expected %2 to %3, or off")
                               : tr("%1: expected %2 to %3"))
                              .arg(tr(f.name), durationText(f.limits.minMs), durationText(f.limits.maxMs));
        else
            f.value = *ms;
    }
    m_formError->setText(errors.join(u'\n'));
    // An entry left with a wrong field keeps Save off until it is fixed: moving to another
    // entry must not save the last value that happened to parse while typing.
    if (errors.isEmpty())
        m_invalidEntries.remove(id);
    else
        m_invalidEntries.insert(id);
    m_saveButton->setEnabled(m_invalidEntries.isEmpty());
    if (!errors.isEmpty())
        return;
    target->sampleIntervalMs = quint32(fields[0].value);
    target->sendIntervalMs = quint32(fields[1].value);
    target->heartbeatIntervalMs = quint32(fields[2].value);
    target->reconnectBaseMs = quint32(fields[3].value);
    target->reconnectMaxMs = quint32(fields[4].value);
    target->giveUpMs = quint64(fields[5].value);
    target->spoolMaxBytes = quint64(m_spoolMiB->value()) * 1024 * 1024;
    target->spoolMaxAgeMs = quint64(fields[6].value);
    target->filesystemsIntervalMs = quint32(fields[7].value);
    target->disksIntervalMs = quint32(fields[8].value);
    target->networkIntervalMs = quint32(fields[9].value);
    target->temperaturesIntervalMs = quint32(fields[10].value);
}

QLineEdit *AgentConfigDialog::durationField(const QString &label) const
{
    const QList<std::pair<QString, QLineEdit *>> fields = {
            {tr("Sample every:"), m_sample}, {tr("Send every:"), m_send}, {tr("Heartbeat every:"), m_heartbeat},
            {tr("Reconnect after:"), m_reconnectBase}, {tr("Reconnect at most every:"), m_reconnectMax},
            {tr("Give up after offline:"), m_giveUp}, {tr("Keep spooled samples:"), m_spoolAgeH},
            {tr("Filesystems every:"), m_filesystems}, {tr("Disks every:"), m_disks},
            {tr("Network every:"), m_network}, {tr("Temperatures every:"), m_temperatures}};
    for (const auto &[name, edit] : fields)
        if (name == label)
            return edit;
    return nullptr;
}

QString AgentConfigDialog::formError() const
{
    return m_formError->text();
}

QList<QLineEdit *> AgentConfigDialog::durationEdits() const
{
    return {m_sample, m_send, m_heartbeat, m_reconnectBase, m_reconnectMax, m_giveUp, m_spoolAgeH,
            m_filesystems, m_disks, m_network, m_temperatures};
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
    if (!m_loaded || !m_invalidEntries.isEmpty())
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
        const bool changed = (!now && had) || (now && (!had || !same(*now, *before)));
        if (!changed)
            continue;
        if (id.startsWith(u'@'))
            m_core->setGroupOverride(id.mid(1), now);
        else
            m_core->setClientOverride(id, now);
    }
    accept();
}

} // namespace autofact::dashboard
