// SPDX-License-Identifier: MIT
#include "aboutdialog.h"

#include "dashboard.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <QtGlobal>

namespace autofact::dashboard {

namespace {

/** A label that shows @p text as it is (never as markup) and can be selected and copied. */
QLabel *plainLabel(const QString &text, QWidget *parent)
{
    auto *label = new QLabel(text, parent);
    label->setTextFormat(Qt::PlainText);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setWordWrap(true);
    return label;
}

} // namespace

QUrl AboutDialog::homepage()
{
    return QUrl(QStringLiteral("https://github.com/autofact/autofact"));
}

AboutDialog::AboutDialog(const Facts &facts, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("About autofactory"));
    setObjectName(QStringLiteral("aboutDialog"));

    auto *icon = new QLabel(this);
    icon->setObjectName(QStringLiteral("aboutIcon"));
    icon->setPixmap(applicationIcon().pixmap(96, 96));
    icon->setAlignment(Qt::AlignTop);

    auto *title = plainLabel(tr("autofactory %1").arg(QStringLiteral(AUTOFACT_VERSION)), this);
    title->setObjectName(QStringLiteral("aboutTitle"));
    QFont big = title->font();
    big.setPointSizeF(big.pointSizeF() * 1.5);
    big.setBold(true);
    title->setFont(big);

    auto *summary = plainLabel(
        tr("The dashboard and server of autofact: agents on your machines stream their CPU, "
           "memory, swap and load here; autofactory stores every sample once and shows the "
           "fleet live and its history."),
        this);

    auto *facts_ = new QFormLayout;
    facts_->addRow(tr("Agents connect to:"), plainLabel(facts.serverUrl.toString(), this));
    facts_->addRow(tr("Certificate:"),
                   plainLabel(facts.certificateFingerprint.isEmpty()
                                  ? tr("none (plain ws://)")
                                  : facts.certificateFingerprint,
                              this));
    facts_->addRow(tr("Database:"), plainLabel(facts.databasePath, this));
    facts_->addRow(tr("Licence:"), plainLabel(tr("MIT"), this));
    facts_->addRow(tr("Built with:"),
                   plainLabel(tr("Qt %1 (running on Qt %2)").arg(QStringLiteral(QT_VERSION_STR),
                                                                 QString::fromLatin1(qVersion())),
                              this));
    // The only markup here is our own constant link.
    auto *links = new QLabel(
        QStringLiteral("<a href=\"%1\">%1</a>").arg(homepage().toString().toHtmlEscaped()), this);
    links->setTextFormat(Qt::RichText);
    links->setOpenExternalLinks(true);
    facts_->addRow(tr("Home page:"), links);
    facts_->addRow(tr("Manual:"), plainLabel(tr("man autofactory, man autofact-agent"), this));

    auto *text = new QVBoxLayout;
    text->addWidget(title);
    text->addWidget(summary);
    text->addLayout(facts_);

    auto *top = new QHBoxLayout;
    top->addWidget(icon);
    top->addLayout(text, 1);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(buttons);
    resize(560, sizeHint().height());
}

} // namespace autofact::dashboard
