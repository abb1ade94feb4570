// SPDX-License-Identifier: MIT
#pragma once

#include <QCoreApplication>
#include <QIcon>

#include <memory>

namespace autofact::server {
class ServerCore;
}

namespace autofact::dashboard {

/** The QApplication for the dashboard (Widgets); created before any QObject. */
std::unique_ptr<QCoreApplication> createDashboardApplication(int &argc, char **argv);

/** autofactory's icon at every size it ships (resources/autofactory.qrc). */
QIcon applicationIcon();

/** Shows the dashboard over a running @p core and runs the event loop; returns the exit code. */
int runDashboard(server::ServerCore &core);

} // namespace autofact::dashboard
