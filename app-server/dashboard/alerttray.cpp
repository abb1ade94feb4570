// SPDX-License-Identifier: MIT
#include "alerttray.h"

#include "dashboard.h"
#include "dashboardlogging.h"

#include <QMenu>
#include <QSystemTrayIcon>

namespace autofact::dashboard {

namespace {
constexpr int kMessageMs = 10000;
// Alerts of one cause arrive over a send interval (agents send at their own moments): gather
// what arrives this long after the first one, then show it.
constexpr int kGatherMs = 2000;
constexpr qsizetype kMaxPending = 1000;
// Some notification servers render a subset of HTML in the body: the summary carries an
// agent's hostname, so markup characters are replaced by look-alikes, never interpreted.
QString plain(QString text)
{
    text.replace(u'&', u'＆');
    text.replace(u'<', u'‹');
    text.replace(u'>', u'›');
    return text;
}
} // namespace

AlertTray::AlertTray(QObject *parent)
    : QObject(parent)
{
    m_gather.setSingleShot(true);
    m_gather.setInterval(kGatherMs);
    connect(&m_gather, &QTimer::timeout, this, &AlertTray::flush);
    if (!QSystemTrayIcon::isSystemTrayAvailable()) {
        qCInfo(lcDashboard) << "no system tray: alerts are not shown as desktop notifications";
        return;
    }
    m_icon = new QSystemTrayIcon(applicationIcon(), this);
    m_icon->setToolTip(tr("autofactory: no alerts firing"));
    // Owned by the tray object; QSystemTrayIcon does not take ownership of its menu.
    m_menu = new QMenu;
    QMenu *menu = m_menu;
    menu->addAction(tr("Open dashboard"), this, &AlertTray::activated);
    menu->addSeparator();
    menu->addAction(tr("Quit (stops the server)…"), this, &AlertTray::quitRequested);
    m_icon->setContextMenu(menu);
    // A right-click opens the menu; only a click or a double-click opens the window.
    connect(m_icon, &QSystemTrayIcon::activated, this, [this](QSystemTrayIcon::ActivationReason reason) {
        if (reason == QSystemTrayIcon::Trigger || reason == QSystemTrayIcon::DoubleClick)
            Q_EMIT activated();
    });
    connect(m_icon, &QSystemTrayIcon::messageClicked, this, &AlertTray::activated);
    m_icon->show();
}

AlertTray::~AlertTray()
{
    delete m_icon; // before its menu, which it does not own
    delete m_menu;
}

void AlertTray::notify(const QList<server::AlertNotice> &notices)
{
    if (notices.isEmpty())
        return;
    // Past the cap only counted: the message shows five and says how many more there were.
    for (const server::AlertNotice &n : notices) {
        if (m_pending.size() < kMaxPending)
            m_pending.append(n);
        else
            ++m_overflow;
    }
    // A fixed window from the first notice: a steady trickle must not hold messages back.
    if (!m_gather.isActive())
        m_gather.start();
}

void AlertTray::flush()
{
    m_gather.stop();
    const QList<server::AlertNotice> notices = std::exchange(m_pending, {});
    const qsizetype overflow = std::exchange(m_overflow, 0);
    if (notices.isEmpty())
        return;
    // A burst (a rack losing power) is one message, not a hundred.
    QString title;
    QString body;
    if (notices.size() == 1) {
        const server::AlertNotice &n = notices.first();
        title = n.status == server::AlertNotice::Status::Firing ? tr("Alert: %1").arg(n.ruleTitle)
                                                                : tr("Resolved: %1").arg(n.ruleTitle);
        body = n.summary;
    } else {
        int firing = 0;
        for (const server::AlertNotice &n : notices)
            firing += n.status == server::AlertNotice::Status::Firing ? 1 : 0;
        title = overflow > 0 ? tr("%1 alert changes").arg(notices.size() + overflow)
                             : tr("%1 alerts firing, %2 resolved").arg(firing).arg(notices.size() - firing);
        QStringList lines;
        for (qsizetype i = 0; i < notices.size() && i < 5; ++i)
            lines << notices[i].summary;
        if (notices.size() + overflow > 5)
            lines << tr("… and %1 more").arg(notices.size() + overflow - 5);
        body = lines.join(u'\n');
    }
    body = plain(body);
    m_shown.append(title + u'\n' + body);
    if (m_icon)
        m_icon->showMessage(title, body,
                            notices.first().status == server::AlertNotice::Status::Firing ? QSystemTrayIcon::Warning
                                                                                          : QSystemTrayIcon::Information,
                            kMessageMs);
}

void AlertTray::showInfo(const QString &title, const QString &text)
{
    m_shown.append(title + u'\n' + text);
    if (m_icon)
        m_icon->showMessage(title, text, QSystemTrayIcon::Information, kMessageMs);
}

void AlertTray::setFiringCount(int firing)
{
    if (m_icon)
        m_icon->setToolTip(firing == 0 ? tr("autofactory: no alerts firing") : tr("autofactory: %1 alerts firing").arg(firing));
}

} // namespace autofact::dashboard
