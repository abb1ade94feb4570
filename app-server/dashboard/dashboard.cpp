// SPDX-License-Identifier: MIT
#include "dashboard.h"

#include "mainwindow.h"
#include "servercore.h"

#include <QApplication>

namespace autofact::server {

std::unique_ptr<QCoreApplication> createDashboardApplication(int &argc, char **argv)
{
    auto app = std::make_unique<QApplication>(argc, argv);
    QApplication::setApplicationDisplayName(QStringLiteral("autofactory"));
    return app;
}

int runDashboard(ServerCore &core)
{
    dashboard::MainWindow window(core);
    window.show();
    return QApplication::exec();
}

} // namespace autofact::server
