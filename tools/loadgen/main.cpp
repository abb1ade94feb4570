// SPDX-License-Identifier: MIT
#include "loadgenerator.h"
#include "loadgenoptions.h"
#include "signalwatcher.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QTextStream>

#include <sys/resource.h>

#include <cstdio>

using namespace autofact;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("autofact-loadgen"));
    QCoreApplication::setApplicationVersion(QStringLiteral(AUTOFACT_VERSION));

    QString error;
    bool exitNow = false;
    const auto options = loadgen::parseLoadgenOptions(app.arguments(), &error, &exitNow);
    if (!options) {
        if (exitNow)
            return 0;
        std::fprintf(stderr, "autofact-loadgen: %s\n", qPrintable(error));
        return 2;
    }
    if (!options->verbose && qEnvironmentVariableIsEmpty("QT_LOGGING_RULES")) {
        // The agent code logs every connect and loss; at 10,000 agents that drowns the report.
        QLoggingCategory::setFilterRules(QStringLiteral("autofact.agent*.debug=false\n"
                                                        "autofact.agent*.info=false\n"
                                                        "autofact.agent*.warning=false"));
    }
    // Every agent is a socket: lift the soft descriptor limit to the hard one.
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && rlim_t(options->agents) + 64 > files.rlim_cur)
        std::fprintf(stderr, "autofact-loadgen: warning: %d agents need ~%d descriptors, limit is %llu\n",
                     options->agents, options->agents + 64, (unsigned long long)files.rlim_cur);

    loadgen::LoadGenerator generator(*options);
    QTextStream out(stdout);
    QObject::connect(&generator, &loadgen::LoadGenerator::progress, &app, [&out](const QString &line) {
        out << line << Qt::endl;
    });
    QObject::connect(&generator, &loadgen::LoadGenerator::finished, &app, &QCoreApplication::exit);
    SignalWatcher signals_;
    QObject::connect(&signals_, &SignalWatcher::terminationRequested, &generator,
                     &loadgen::LoadGenerator::stop);
    if (!generator.start(&error)) {
        std::fprintf(stderr, "autofact-loadgen: %s\n", qPrintable(error));
        return 1;
    }
    return app.exec();
}
