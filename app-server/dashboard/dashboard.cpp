// SPDX-License-Identifier: MIT
#include "dashboard.h"

#include "servercore.h"

#include <QApplication>
#include <QLabel>
#include <QMainWindow>

namespace autofact::server {

std::unique_ptr<QCoreApplication> createDashboardApplication(int &argc, char **argv)
{
    return std::make_unique<QApplication>(argc, argv);
}

int runDashboard(ServerCore &core)
{
    QMainWindow window;
    window.setWindowTitle(QStringLiteral("autofactory"));
    window.setCentralWidget(new QLabel(QStringLiteral("listening on ") + core.url().toString()));
    window.resize(1200, 800);
    window.show();
    return QApplication::exec();
}

} // namespace autofact::server
