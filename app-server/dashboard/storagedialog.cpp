// SPDX-License-Identifier: MIT
#include "storagedialog.h"

#include "bytesize.h"
#include "duration.h"
#include "servercore.h"
#include "storereader.h"

#include <QDateTime>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace autofact::dashboard {

namespace {

constexpr qint64 kDay = 86'400'000;

QString keepText(qint64 ms)
{
    return ms == 0 ? QStringLiteral("0") : duration::format(std::chrono::milliseconds(ms));
}

std::optional<qint64> parseKeep(const QString &text)
{
    const QString t = text.trimmed();
    if (t == u"0")
        return 0;
    const auto d = duration::parse(t);
    if (!d || d->count() < 60'000)
        return std::nullopt;
    return d->count();
}

QString whenText(qint64 ms)
{
    return ms == 0 ? QStringLiteral("—") : QLocale().toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::ShortFormat);
}

} // namespace

StorageDialog::StorageDialog(server::ServerCore *core, StoreReader *reader, QWidget *parent)
    : QDialog(parent)
    , m_core(core)
    , m_reader(reader)
{
    setWindowTitle(tr("Storage"));
    const QString tips[] = {
            tr("Raw samples, every value as the agent sent it: like 30d; 0 keeps them forever"),
            tr("Per-minute minimum and maximum of each series (charts over days and weeks): like 365d; 0 = forever"),
            tr("Per-hour minimum, maximum and average (charts over months and years): 0 = forever"),
            tr("Disk budget, like 500MiB or 20GiB; over it the oldest raw samples go first, then minutes, then "
               "hours; 0 = no cap"),
    };
    const QString labels[] = {tr("Keep raw samples:"), tr("Keep minutes:"), tr("Keep hours:"), tr("Size cap:")};
    auto *form = new QFormLayout;
    for (int i = 0; i < 4; ++i) {
        m_fields[i] = new QLineEdit(this);
        m_fields[i]->setToolTip(tips[i]);
        m_fields[i]->setEnabled(false);
        connect(m_fields[i], &QLineEdit::textChanged, this, &StorageDialog::validate);
        form->addRow(labels[i], m_fields[i]);
    }
    m_table = new QTableWidget(3, 5, this);
    m_table->setObjectName(QStringLiteral("storageTiers"));
    m_table->setHorizontalHeaderLabels({tr("Tier"), tr("Rows"), tr("Size"), tr("Oldest"), tr("Newest")});
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_summary = new QLabel(this);
    m_summary->setTextFormat(Qt::PlainText);
    m_cost = new QLabel(this);
    m_cost->setObjectName(QStringLiteral("storageCost"));
    m_cost->setTextFormat(Qt::PlainText);
    m_cost->setWordWrap(true);
    m_error = new QLabel(this);
    m_error->setTextFormat(Qt::PlainText);
    m_error->setStyleSheet(QStringLiteral("color: #c03030"));
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Close, this);
    m_save = buttons->button(QDialogButtonBox::Save);
    m_save->setEnabled(false);
    connect(buttons, &QDialogButtonBox::accepted, this, &StorageDialog::save);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(m_summary);
    layout->addWidget(m_table, 1);
    layout->addWidget(m_cost);
    layout->addWidget(buttons);
    connect(m_reader, &StoreReader::storageLoaded, this, &StorageDialog::onLoaded);
    resize(720, 460);
    reload();
}

void StorageDialog::reload()
{
    QMetaObject::invokeMethod(m_reader, [reader = m_reader] { reader->loadStorage(); });
}

void StorageDialog::onLoaded(const server::StorageStats &stats, const server::RetentionSettings &settings)
{
    m_stats = stats;
    const bool first = !m_loaded;
    m_loaded = true;
    if (first) {
        m_settings = settings;
        m_fields[0]->setText(keepText(settings.keepRawMs));
        m_fields[1]->setText(keepText(settings.keepMinutesMs));
        m_fields[2]->setText(keepText(settings.keepHoursMs));
        m_fields[3]->setText(settings.maxDbBytes == 0 ? QStringLiteral("0") : server::bytesize::format(settings.maxDbBytes));
        for (QLineEdit *f : m_fields)
            f->setEnabled(true);
    }
    const QString names[] = {tr("raw samples"), tr("minutes"), tr("hours")};
    for (int r = 0; r < 3 && r < stats.tiers.size(); ++r) {
        const server::TierStats &t = stats.tiers[r];
        const QStringList cells = {names[r], QLocale().toString(t.rows), server::bytesize::format(t.bytes),
                                   whenText(t.oldestMs), whenText(t.newestMs)};
        for (int c = 0; c < cells.size(); ++c)
            m_table->setItem(r, c, new QTableWidgetItem(cells[c]));
    }
    m_table->resizeColumnsToContents();
    m_summary->setText(tr("Database file: %1 (pages in use: %2)")
                               .arg(server::bytesize::format(stats.fileBytes), server::bytesize::format(stats.usedBytes)));
    validate();
    Q_EMIT loaded();
}

std::optional<server::RetentionSettings> StorageDialog::edited() const
{
    server::RetentionSettings s;
    const auto raw = parseKeep(m_fields[0]->text());
    const auto minutes = parseKeep(m_fields[1]->text());
    const auto hours = parseKeep(m_fields[2]->text());
    const QString cap = m_fields[3]->text().trimmed();
    const auto bytes = cap == u"0" ? std::optional<qint64>(0) : server::bytesize::parse(cap);
    if (!raw || !minutes || !hours || !bytes || (*bytes != 0 && *bytes < 1024 * 1024))
        return std::nullopt;
    s.keepRawMs = *raw;
    s.keepMinutesMs = *minutes;
    s.keepHoursMs = *hours;
    s.maxDbBytes = *bytes;
    return s;
}

QString StorageDialog::error() const
{
    return m_error->text();
}

QString StorageDialog::costText() const
{
    return m_cost->text();
}

void StorageDialog::validate()
{
    const std::optional<server::RetentionSettings> s = edited();
    QStringList bad;
    const QString names[] = {tr("Keep raw samples"), tr("Keep minutes"), tr("Keep hours")};
    for (int i = 0; i < 3; ++i)
        if (!parseKeep(m_fields[i]->text()))
            bad << names[i];
    if (!s && bad.isEmpty())
        bad << tr("Size cap");
    m_error->setText(bad.isEmpty() ? QString()
                                   : tr("Not valid: %1 (durations of at least 1m like 30d, sizes like 20GiB; 0 = forever "
                                        "or no cap)")
                                             .arg(bad.join(QStringLiteral(", "))));
    m_save->setEnabled(m_loaded && s.has_value());
    if (!s || m_stats.tiers.size() < 3)
        return;
    // What one machine sampled every second costs, at the row sizes of this database (or the
    // sizes measured in docs/STORAGE.md while it is nearly empty).
    const auto perRow = [this](int tier, double fallback) {
        const server::TierStats &t = m_stats.tiers[tier];
        return t.rows >= 1000 ? double(t.bytes) / double(t.rows) : fallback;
    };
    const double rawDay = 86400 * perRow(0, 224);
    const double minuteDay = 1440 * perRow(1, 220);
    const double hourDay = 24 * perRow(2, 330);
    const auto kept = [](double perDay, qint64 keepMs) { return keepMs == 0 ? perDay * 365 : perDay * double(keepMs) / kDay; };
    const double total = kept(rawDay, s->keepRawMs) + kept(minuteDay, s->keepMinutesMs) + kept(hourDay, s->keepHoursMs);
    m_cost->setText(tr("One machine sampled every second: raw samples %1 a day, minutes %2 a day, hours %3 a day. "
                       "These settings hold about %4 a machine%5.")
                            .arg(server::bytesize::format(qint64(rawDay)), server::bytesize::format(qint64(minuteDay)),
                                 server::bytesize::format(qint64(hourDay)), server::bytesize::format(qint64(total)),
                                 s->keepRawMs == 0 || s->keepMinutesMs == 0 || s->keepHoursMs == 0
                                         ? tr(" after a year (a tier kept forever keeps growing)")
                                         : QString()));
}

void StorageDialog::save()
{
    const std::optional<server::RetentionSettings> s = edited();
    if (!s)
        return;
    if (!(*s == m_settings))
        m_core->setRetention(*s);
    accept();
}

} // namespace autofact::dashboard
