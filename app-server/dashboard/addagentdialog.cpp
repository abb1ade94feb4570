// SPDX-License-Identifier: MIT
#include "addagentdialog.h"

#include "servercore.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHostAddress>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSysInfo>
#include <QVBoxLayout>

#include <algorithm>

namespace autofact::dashboard {

namespace {
constexpr qint64 kHourMs = 60 * 60 * 1000;
}

AddAgentDialog::AddAgentDialog(server::ServerCore *core, QWidget *parent)
    : QDialog(parent)
    , m_core(core)
    , m_bound(core->url())
    , m_fingerprint(core->options().certificateFingerprint)
{
    setWindowTitle(tr("Add agent"));

    m_uses = new QSpinBox;
    m_uses->setRange(1, 10000);
    m_uses->setValue(1);
    m_uses->setToolTip(tr("How many agents may enrol with this token"));
    m_validity = new QComboBox;
    // In Validity's order: the index is the value.
    m_validity->addItem(tr("1 hour"));
    m_validity->addItem(tr("24 hours"));
    m_validity->addItem(tr("7 days"));
    m_validity->addItem(tr("Never expires"));
    m_validity->setCurrentIndex(int(Validity::OneDay));
    m_label = new QLineEdit;
    m_label->setPlaceholderText(tr("e.g. rack 3 web servers"));
    m_label->setMaxLength(200);
    m_create = new QPushButton(tr("Create token"));
    m_create->setObjectName(QStringLiteral("createTokenButton"));
    m_create->setDefault(true);

    const auto plain = [](const QString &text) {
        auto *label = new QLabel(text);
        label->setTextFormat(Qt::PlainText);
        return label;
    };
    auto *form = new QFormLayout;
    form->addRow(plain(tr("Agents that may use it:")), m_uses);
    form->addRow(plain(tr("Valid for:")), m_validity);
    form->addRow(plain(tr("Label:")), m_label);
    form->addRow(m_create);

    // The bound address may be a wildcard or a name the nodes cannot resolve: let the user fix it.
    m_host = new QLineEdit(defaultHost(m_bound));
    m_host->setToolTip(tr("The name or address the nodes use to reach this server"));
    form->addRow(plain(tr("Server host for nodes:")), m_host);
    m_install = new QComboBox;
    m_install->setObjectName(QStringLiteral("installCombo"));
    m_install->addItem(tr("A program you start (a build or a copied binary)"));
    m_install->addItem(tr("The Debian package (a systemd service)"));
    form->addRow(plain(tr("The node runs the agent as:")), m_install);

    m_command = new QPlainTextEdit;
    m_command->setReadOnly(true);
    m_command->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_command->setPlaceholderText(tr("The command for a node appears here once the token exists."));
    m_command->setMaximumHeight(m_command->fontMetrics().lineSpacing() * 5);
    m_copy = new QPushButton(tr("&Copy"));
    m_copy->setEnabled(false);

    m_note = new QLabel;
    m_note->setTextFormat(Qt::PlainText);
    m_note->setWordWrap(true);
    m_note->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status = new QLabel;
    m_status->setTextFormat(Qt::PlainText); // store errors may quote the label
    m_status->setWordWrap(true);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    buttons->addButton(m_copy, QDialogButtonBox::ActionRole);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(plain(tr("Run on the node:")));
    layout->addWidget(m_command);
    layout->addWidget(m_note);
    layout->addWidget(m_status);
    layout->addStretch(1);
    layout->addWidget(buttons);

    connect(m_create, &QPushButton::clicked, this, &AddAgentDialog::createToken);
    connect(m_copy, &QPushButton::clicked, this, &AddAgentDialog::copyCommand);
    connect(m_host, &QLineEdit::textChanged, this, &AddAgentDialog::updateCommand);
    connect(m_install, &QComboBox::currentIndexChanged, this, &AddAgentDialog::updateCommand);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    // The worker lives on the store thread; with this dialog as receiver the calls are queued.
    if (server::StoreWorker *worker = core->worker()) {
        connect(worker, &server::StoreWorker::tokenCreated, this, &AddAgentDialog::onTokenCreated);
        connect(worker, &server::StoreWorker::storeError, this, &AddAgentDialog::onStoreError);
    }
    resize(620, sizeHint().height());
}

void AddAgentDialog::setMaxUses(int uses)
{
    m_uses->setValue(uses);
}

int AddAgentDialog::maxUses() const
{
    return m_uses->value();
}

void AddAgentDialog::setValidity(Validity validity)
{
    m_validity->setCurrentIndex(int(validity));
}

AddAgentDialog::Validity AddAgentDialog::validity() const
{
    return Validity(std::max(0, m_validity->currentIndex()));
}

void AddAgentDialog::setLabel(const QString &label)
{
    m_label->setText(label);
}

void AddAgentDialog::setHost(const QString &host)
{
    m_host->setText(host);
}

QString AddAgentDialog::host() const
{
    return m_host->text().trimmed();
}

void AddAgentDialog::setInstall(Install install)
{
    m_install->setCurrentIndex(int(install));
}

AddAgentDialog::Install AddAgentDialog::install() const
{
    return Install(std::max(0, m_install->currentIndex()));
}

QString AddAgentDialog::command() const
{
    if (m_token.isEmpty())
        return {};
    return agentCommand(m_bound, host(), m_token, m_fingerprint, install());
}

QString AddAgentDialog::statusText() const
{
    return m_status->text();
}

qint64 AddAgentDialog::validForMs(Validity validity)
{
    switch (validity) {
    case Validity::OneHour:
        return kHourMs;
    case Validity::OneDay:
        return 24 * kHourMs;
    case Validity::OneWeek:
        return 7 * 24 * kHourMs;
    case Validity::Never:
        return 0;
    }
    return 24 * kHourMs;
}

QString AddAgentDialog::defaultHost(const QUrl &bound)
{
    const QHostAddress address(bound.host());
    if (address.isNull() || address == QHostAddress::Any || address == QHostAddress::AnyIPv4
        || address == QHostAddress::AnyIPv6)
        return QSysInfo::machineHostName();
    return bound.host();
}

QString AddAgentDialog::agentCommand(const QUrl &bound, const QString &host, const QString &token,
                                     const QString &fingerprint, Install install)
{
    QString h = host.trimmed();
    // Users paste IPv6 addresses as they appear in URLs; QUrl wants them bare.
    if (h.startsWith(u'[') && h.endsWith(u']'))
        h = h.mid(1, h.size() - 2);
    QUrl server;
    server.setScheme(bound.scheme());
    server.setHost(h, QUrl::StrictMode);
    server.setPort(bound.port());
    // The command goes into a shell: only a host QUrl accepts, nothing that could split words.
    if (h.isEmpty() || !server.isValid() || server.host().isEmpty() || h.contains(u' '))
        return {};
    QString command = install == Install::Package
                          ? QStringLiteral("sudo autofact-agent --config /etc/autofact/autofact-agent.json "
                                           "--state-dir /var/lib/autofact-agent --write-config")
                          : QStringLiteral("autofact-agent");
    command += u" --server " + server.toString() + u" --token " + token;
    if (fingerprint.isEmpty())
        command += u" --insecure";
    else
        command += u" --fingerprint " + fingerprint;
    if (install == Install::Package)
        command += u" && sudo systemctl enable --now autofact-agent";
    return command;
}

void AddAgentDialog::createToken()
{
    if (m_waiting || !m_token.isEmpty())
        return;
    if (!m_core->worker()) {
        setStatus(tr("The server is not running."));
        return;
    }
    m_waiting = true;
    m_create->setEnabled(false);
    setStatus(tr("Creating token…"));
    m_core->createToken(maxUses(), validForMs(validity()), m_label->text().trimmed());
}

void AddAgentDialog::onTokenCreated(const QString &token, const QString &, qint64 expiresMs)
{
    // Another dialog may have asked too: the first answer goes to whoever waits first, and a
    // dialog that already shows its token keeps it.
    if (!m_waiting)
        return;
    m_waiting = false;
    m_token = token;
    m_uses->setEnabled(false);
    m_validity->setEnabled(false);
    m_label->setEnabled(false);
    const QString expiry = expiresMs > 0
                               ? tr("It expires %1.").arg(QLocale().toString(
                                     QDateTime::fromMSecsSinceEpoch(expiresMs), QLocale::LongFormat))
                               : tr("It does not expire.");
    m_note->setText(tr("This token is shown only once: copy the command now. It can enrol %n "
                       "agent(s). ", nullptr, maxUses())
                    + expiry
                    + (m_fingerprint.isEmpty() && m_bound.isValid()
                           ? u' ' + tr("This server speaks plain ws://: the agent's secret "
                                       "travels unencrypted.")
                           : QString()));
    setStatus(tr("Token created."));
    updateCommand();
    Q_EMIT tokenReady();
}

void AddAgentDialog::onStoreError(const QString &message)
{
    // Errors about other writes are the main window's business.
    if (!m_waiting)
        return;
    m_waiting = false;
    m_create->setEnabled(true);
    setStatus(tr("Could not create a token: %1").arg(message));
}

void AddAgentDialog::updateCommand()
{
    if (m_token.isEmpty())
        return;
    if (!m_bound.isValid()) {
        // autofactory --no-listen: the agent connects to an ingest node, whose address and
        // certificate this process does not know.
        m_command->setPlainText(tr("Token: %1\n\nThis dashboard serves no agents: give the agent an ingest "
                                   "node's address and certificate fingerprint, e.g.\n"
                                   "autofact-agent --server wss://NODE:8675 --token %1 --fingerprint sha256:HEX")
                                    .arg(m_token));
        m_copy->setEnabled(false);
        return;
    }
    const QString command = this->command();
    m_command->setPlainText(command.isEmpty() ? tr("(enter a host name or address)") : command);
    m_copy->setEnabled(!command.isEmpty());
}

void AddAgentDialog::copyCommand()
{
    const QString text = command();
    if (text.isEmpty())
        return;
    QApplication::clipboard()->setText(text);
    setStatus(tr("Command copied."));
}

void AddAgentDialog::setStatus(const QString &text)
{
    m_status->setText(text);
}

} // namespace autofact::dashboard
