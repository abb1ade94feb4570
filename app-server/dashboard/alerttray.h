// SPDX-License-Identifier: MIT
#pragma once

#include "alerts/alertnotice.h"

#include <QObject>

class QSystemTrayIcon;

namespace autofact::dashboard {

/**
 * Desktop notifications for alerts through the system tray (QSystemTrayIcon): one message per
 * firing, repeat or resolution the server sends, the number firing in the icon's tooltip, and
 * a click that brings the window to its Alerts tab. Without a tray (no desktop, a headless
 * test) it does nothing and says so once in the log; the webhooks and commands still run.
 */
class AlertTray : public QObject
{
    Q_OBJECT
public:
    explicit AlertTray(QObject *parent = nullptr);

    bool available() const { return m_icon != nullptr; }
    /** Messages shown so far (tests read them; the tray may not exist). */
    const QStringList &shown() const { return m_shown; }

    void notify(const QList<server::AlertNotice> &notices);
    void setFiringCount(int firing);

Q_SIGNALS:
    void activated();

private:
    QSystemTrayIcon *m_icon = nullptr;
    QStringList m_shown;
};

} // namespace autofact::dashboard
