// SPDX-License-Identifier: MIT
#pragma once

#include "alerts/alertnotice.h"

#include <QObject>
#include <QTimer>

class QMenu;
class QSystemTrayIcon;

namespace autofact::dashboard {

/**
 * The dashboard's tray icon: its menu (open the window, quit, which stops the server) and
 * desktop notifications for alerts (QSystemTrayIcon): one message per
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
    ~AlertTray() override;

    /** A tray exists (or a test says so): closing the window may leave the server running. */
    bool available() const { return m_icon != nullptr || m_assumeAvailable; }
    /** Tests and platforms without a tray API: behave as if there were one. */
    void assumeAvailable(bool on) { m_assumeAvailable = on; }
    /** One message now, outside the alert gathering ("still running in the tray"). */
    void showInfo(const QString &title, const QString &text);
    /** Messages shown so far (tests read them; the tray may not exist). */
    const QStringList &shown() const { return m_shown; }

    /** Queues @p notices; they are shown together once no more arrive for a moment. */
    void notify(const QList<server::AlertNotice> &notices);
    /** Shows what is queued now. */
    void flush();
    void setFiringCount(int firing);

Q_SIGNALS:
    void activated();
    /** The tray menu's Quit: the window asks and stops the server. */
    void quitRequested();

private:
    QSystemTrayIcon *m_icon = nullptr;
    QMenu *m_menu = nullptr; ///< the tray's context menu (QSystemTrayIcon does not own it)
    bool m_assumeAvailable = false;
    QStringList m_shown;
    QList<server::AlertNotice> m_pending;
    qsizetype m_overflow = 0;
    QTimer m_gather;
};

} // namespace autofact::dashboard
