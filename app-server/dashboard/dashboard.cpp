// SPDX-License-Identifier: MIT
#include "dashboard.h"

#include "mainwindow.h"
#include "servercore.h"

#include <QApplication>

// Q_INIT_RESOURCE must be used outside any namespace.
static void initIconResource()
{
    Q_INIT_RESOURCE(autofactory);
}

namespace autofact::dashboard {

QIcon applicationIcon()
{
    static const bool registered = [] {
        initIconResource();
        return true;
    }();
    Q_UNUSED(registered);
    QIcon icon;
    for (const int size : {16, 22, 24, 32, 48, 64, 128, 256})
        icon.addFile(QStringLiteral(":/icons/autofactory-%1.png").arg(size), QSize(size, size));
    return icon;
}

std::unique_ptr<QCoreApplication> createDashboardApplication(int &argc, char **argv)
{
    auto app = std::make_unique<QApplication>(argc, argv);
    QApplication::setApplicationDisplayName(QStringLiteral("autofactory"));
    QApplication::setWindowIcon(applicationIcon());
    // Wayland and task bars match the window to the installed .desktop file (and its icon).
    QGuiApplication::setDesktopFileName(QStringLiteral("io.github.autofact.autofactory"));
    return app;
}

int runDashboard(server::ServerCore &core)
{
    // The window may hide in the tray: closing a dialog then must not end the server. The window
    // quits the application itself when its close is final (MainWindow::closeEvent).
    QApplication::setQuitOnLastWindowClosed(false);
    MainWindow window(core);
    window.show();
    return QApplication::exec();
}

} // namespace autofact::dashboard
