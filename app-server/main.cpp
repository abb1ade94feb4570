// SPDX-License-Identifier: MIT
// autofactory: the server. Headless, as a dashboard, or a one-shot clients/export command.
#include "serveroptions.h"
#include "servercore.h"
#include "signalwatcher.h"
#include "store/storelocation.h"

#ifdef AUTOFACT_HAVE_GUI
#include "dashboard.h"
#endif

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QTextStream>

#include <memory>

using namespace autofact;
using namespace autofact::server;

namespace {
void setAppNames()
{
    QCoreApplication::setApplicationName(QStringLiteral("autofactory"));
    QCoreApplication::setOrganizationName(QStringLiteral("autofact"));
    QCoreApplication::setApplicationVersion(QStringLiteral(AUTOFACT_VERSION));
}

/** The store's URI as it may be shown (never with a password). */
QString watchedStore(const QString &databasePath)
{
    QString why;
    const auto location = StoreLocation::parse(databasePath, &why);
    return location ? location->display() : databasePath;
}
} // namespace

int main(int argc, char *argv[])
{
    // Debug chatter stays off unless QT_LOGGING_RULES (which wins over this) asks for it.
    QLoggingCategory::setFilterRules(QStringLiteral("autofact.*.debug=false"));
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    const QString first = arguments.value(1);
    if (isSubcommand(first)) {
        // A command's own lines say what happened; the store's info chatter would repeat it.
        QLoggingCategory::setFilterRules(QStringLiteral("autofact.*.debug=false\nautofact.*.info=false"));
        QCoreApplication app(argc, argv);
        setAppNames();
        return runSubcommand(arguments);
    }

    // Help, version and argument errors must work without a display: only a real dashboard
    // run creates the QApplication (which aborts when no display can be reached).
    const bool helpOrVersion = arguments.contains(QStringLiteral("--help"))
                               || arguments.contains(QStringLiteral("-h"))
                               || arguments.contains(QStringLiteral("--help-all"))
                               || arguments.contains(QStringLiteral("--version"))
                               || arguments.contains(QStringLiteral("-v"));
    const bool headless = arguments.contains(QStringLiteral("--headless"));
    // Headless, Qt's plain Unix event dispatcher serves thousands of sockets with about 20 %
    // less CPU than the GLib one (docs/BENCHMARKS.md, fleet run); nothing needs GLib without
    // a window. An explicit QT_NO_GLIB setting wins.
    if (headless && !qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    std::unique_ptr<QCoreApplication> app;
#ifdef AUTOFACT_HAVE_GUI
    if (!headless && !helpOrVersion) {
#if defined(Q_OS_LINUX)
        const bool platformGiven = arguments.contains(QStringLiteral("-platform"))
                                   || !qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
        if (!platformGiven && qEnvironmentVariableIsEmpty("DISPLAY")
            && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
            QTextStream(stderr) << "autofactory: no display found (DISPLAY and WAYLAND_DISPLAY are "
                                   "unset); run with --headless, or set QT_QPA_PLATFORM"
                                << Qt::endl;
            return 2;
        }
#endif
        app = dashboard::createDashboardApplication(argc, argv);
    }
#endif
    if (!app)
        app = std::make_unique<QCoreApplication>(argc, argv);
    setAppNames();

    QTextStream err(stderr);
    QString error;
    bool exitNow = false;
    std::optional<ServeCommand> cmd = parseServeCommand(arguments, &error, &exitNow);
    if (exitNow)
        return 0;
    if (!cmd) {
        err << "autofactory: " << error << Qt::endl;
        return 2;
    }
#ifndef AUTOFACT_HAVE_GUI
    if (!cmd->headless) {
        err << "autofactory: built without the dashboard; use --headless" << Qt::endl;
        return 2;
    }
#endif

    if (!prepareTls(*cmd, &error)) {
        err << "autofactory: " << error << Qt::endl;
        return 1;
    }
    if (cmd->insecure)
        err << "autofactory: warning: serving plain ws:// (--insecure-ws): agents' secrets and data "
               "cross the network unencrypted; use it only behind a TLS-terminating proxy or in a lab"
            << Qt::endl;
    else if (!cmd->createdIdentity.isEmpty())
        err << "autofactory: created a TLS key and self-signed certificate: " << cmd->createdIdentity
            << Qt::endl;

    // Before "listening on" is printed: a script that reads that line and sends SIGTERM at
    // once must get a clean stop, not the default action of the signal (exit by signal 15).
    SignalWatcher signals_;
    QObject::connect(&signals_, &SignalWatcher::terminationRequested, app.get(), [&](int) {
        QCoreApplication::quit();
    });
    ServerCore core(cmd->core);
    if (!core.start(&error)) {
        err << "autofactory: " << error << Qt::endl;
        return 1;
    }
    {
        QTextStream out(stdout);
        if (cmd->core.noListen)
            out << "watching the fleet on " << watchedStore(cmd->core.databasePath) << ", not serving agents" << Qt::endl;
        else
            out << "listening on " << core.url().toString() << Qt::endl;
        if (!cmd->core.certificateFingerprint.isEmpty())
            out << "certificate " << cmd->core.certificateFingerprint << Qt::endl;
        if (const QUrl metrics = core.metricsUrl(); metrics.isValid())
            out << "metrics on " << metrics.toString() << Qt::endl;
    }
    int code = 0;
#ifdef AUTOFACT_HAVE_GUI
    if (!cmd->headless)
        code = dashboard::runDashboard(core);
    else
#endif
        code = app->exec();
    core.stop();
    return code;
}
