// SPDX-License-Identifier: MIT
#include "dashboard.h"

#include "mainwindow.h"
#include "servercore.h"

#include <QApplication>

namespace autofact::dashboard {

std::unique_ptr<QCoreApplication> createDashboardApplication(int &argc, char **argv)
{
    auto app = std::make_unique<QApplication>(argc, argv);
    QApplication::setApplicationDisplayName(QStringLiteral("autofactory"));
    return app;
}

int runDashboard(server::ServerCore &core)
{
    MainWindow window(core);
    window.show();
    return QApplication::exec();
}

} // namespace autofact::dashboard
