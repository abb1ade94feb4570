// SPDX-License-Identifier: MIT
#include "alerttray.h"

#include "dashboard.h"
#include "dashboardlogging.h"

#include <QSystemTrayIcon>

namespace autofact::dashboard {

namespace {
constexpr int kMessageMs = 10000;
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
    if (!QSystemTrayIcon::isSystemTrayAvailable()) {
        qCInfo(lcDashboard) << "no system tray: alerts are not shown as desktop notifications";
        return;
    }
    m_icon = new QSystemTrayIcon(applicationIcon(), this);
    m_icon->setToolTip(tr("autofactory: no alerts firing"));
    connect(m_icon, &QSystemTrayIcon::activated, this, &AlertTray::activated);
    connect(m_icon, &QSystemTrayIcon::messageClicked, this, &AlertTray::activated);
    m_icon->show();
}

void AlertTray::notify(const QList<server::AlertNotice> &notices)
{
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
        title = tr("%1 alerts firing, %2 resolved").arg(firing).arg(notices.size() - firing);
        QStringList lines;
        for (qsizetype i = 0; i < notices.size() && i < 5; ++i)
            lines << notices[i].summary;
        if (notices.size() > 5)
            lines << tr("… and %1 more").arg(notices.size() - 5);
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

void AlertTray::setFiringCount(int firing)
{
    if (m_icon)
        m_icon->setToolTip(firing == 0 ? tr("autofactory: no alerts firing") : tr("autofactory: %1 alerts firing").arg(firing));
}

} // namespace autofact::dashboard
