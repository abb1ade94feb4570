// SPDX-License-Identifier: MIT
#pragma once

#include "alerts/alertnotice.h"

#include <QObject>
#include <QTimer>

class QSystemTrayIcon;

namespace autofact::dashboard {

/**
 * Desktop notifications for alerts through the system tray (QSystemTrayIcon): one message per
 * burst of firings, repeats and resolutions (gathered for a moment, so a rack losing power is
 * one message and not a hundred), the number firing in the icon's tooltip, and
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

    /** Queues @p notices; they are shown together once no more arrive for a moment. */
    void notify(const QList<server::AlertNotice> &notices);
    /** Shows what is queued now. */
    void flush();
    void setFiringCount(int firing);

Q_SIGNALS:
    void activated();

private:
    QSystemTrayIcon *m_icon = nullptr;
    QStringList m_shown;
    QList<server::AlertNotice> m_pending;
    qsizetype m_overflow = 0;
    QTimer m_gather;
};

} // namespace autofact::dashboard
