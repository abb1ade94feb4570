// SPDX-License-Identifier: MIT
// autofact-agent: samples this machine and streams it to an autofactory server.
#include "agent.h"
#include "agentsettings.h"
#include "sampling/sampler.h"
#include "signalwatcher.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QLoggingCategory>
#include <QTextStream>

#include <cstdio>
#include <cstdlib>

using namespace autofact;
using namespace autofact::agent;

int main(int argc, char *argv[])
{
    // Qt's plain Unix event dispatcher instead of GLib's: nothing in the agent needs GLib, and
    // leaving it idle keeps ≈ 0.2 MiB of its pages out of the resident set (docs/BENCHMARKS.md).
    // An explicit QT_NO_GLIB setting wins.
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    // Debug chatter stays off unless QT_LOGGING_RULES (which wins over this) asks for it.
    QLoggingCategory::setFilterRules(QStringLiteral("autofact.*.debug=false"));
    QCoreApplication::setApplicationName(QStringLiteral("autofact-agent"));
    QCoreApplication::setOrganizationName(QStringLiteral("autofact"));
    QCoreApplication::setApplicationVersion(QStringLiteral(AUTOFACT_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Samples CPU and memory and streams them to an autofactory server.\n"
        "Behaviour (intervals, limits) is pushed by the server.\n"
        "First run: autofact-agent --server wss://HOST:PORT --token TOKEN --fingerprint sha256:HEX\n"
        "(the token from autofactory token create, the fingerprint autofactory prints); the\n"
        "options are written into the config, the token only until the server enrols the agent.\n"
        "As a system service: the same options with --config /etc/autofact/autofact-agent.json\n"
        "--write-config, then systemctl enable --now autofact-agent.\n"
        "Exit codes: 0 stopped by SIGINT/SIGTERM, 2 bad config or arguments, 3 gave up\n"
        "reconnecting, 4 refused by the server (no valid token, revoked, bad secret,\n"
        "unsupported version)."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption configOption(
        QStringLiteral("config"),
        QStringLiteral("Config file (default: $AUTOFACT_PATH/autofact-agent.json, else %1).")
            .arg(AgentSettings::defaultPath()),
        QStringLiteral("PATH"));
    const QCommandLineOption serverOption(
        QStringLiteral("server"),
        QStringLiteral("Server URL, wss://host:port (ws:// only with --insecure); written into the config."),
        QStringLiteral("URL"));
    const QCommandLineOption tokenOption(
        QStringLiteral("token"),
        QStringLiteral("Enrolment token for the first connection (autofactory token create); "
                       "removed from the config when the server enrols this agent (with --state-dir "
                       "it stays there and is never sent again; --token \"\" removes it)."),
        QStringLiteral("TOKEN"));
    const QCommandLineOption fingerprintOption(
        QStringLiteral("fingerprint"),
        QStringLiteral("The server's certificate fingerprint, sha256:HEX as autofactory prints it; "
                       "from then on the agent talks to no other server. Without it, the config's "
                       "\"ca\" file or the platform's trust store must accept the server's certificate."),
        QStringLiteral("sha256:HEX"));
    const QCommandLineOption insecureOption(
        QStringLiteral("insecure"),
        QStringLiteral("Allow a plain ws:// server URL (secrets in clear); written into the config."));
    const QCommandLineOption stateDirOption(
        QStringLiteral("state-dir"),
        QStringLiteral("Keep the identity (identity.json, mode 0600) and the spool (unless the config "
                       "sets \"spool\") in DIR, created if missing, instead of in and beside the "
                       "config, which a running agent then only reads (the system service: "
                       "/etc/autofact/autofact-agent.json and /var/lib/autofact-agent)."),
        QStringLiteral("DIR"));
    const QCommandLineOption writeConfigOption(
        QStringLiteral("write-config"),
        QStringLiteral("Write --server, --token, --fingerprint and --insecure into the config "
                       "(an existing file keeps its owner, group and mode, minus any access for "
                       "others) and exit without connecting."));
    parser.addOptions({configOption, serverOption, tokenOption, fingerprintOption, insecureOption,
                       stateDirOption, writeConfigOption});
    // parse(), not process(): a bad argument is exit 2 like every other config error.
    if (!parser.parse(QCoreApplication::arguments())) {
        QTextStream(stderr) << "autofact-agent: " << parser.errorText() << Qt::endl;
        return 2;
    }
    if (parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("help-all"))) {
        // The usage line names the program, not the path it was started by.
        QString help = parser.helpText();
        if (const qsizetype options = help.indexOf(QStringLiteral(" [options]")); options > 0)
            help.replace(0, options, QStringLiteral("Usage: autofact-agent"));
        QTextStream(stdout) << help;
        return 0;
    }
    if (parser.isSet(QStringLiteral("version")))
        parser.showVersion();

    QTextStream err(stderr);
    const QString configPath =
        parser.isSet(configOption) ? parser.value(configOption) : AgentSettings::defaultPath();
    QString error;
    std::optional<AgentSettings> settings = AgentSettings::load(configPath, &error);
    if (!settings) {
        err << "autofact-agent: " << error << Qt::endl;
        return 2;
    }
    bool changed = false;
    if (parser.isSet(serverOption)) {
        const QUrl url(parser.value(serverOption), QUrl::StrictMode);
        if (const QString bad = AgentSettings::checkServerUrl(url); !bad.isEmpty()) {
            err << "autofact-agent: " << bad << Qt::endl;
            return 2;
        }
        changed |= url != settings->server;
        settings->server = url;
    }
    if (parser.isSet(fingerprintOption)) {
        const QString pin = AgentSettings::normaliseFingerprint(parser.value(fingerprintOption));
        if (pin.isEmpty()) {
            err << "autofact-agent: --fingerprint: expected sha256: and 64 hex digits, as autofactory prints it"
                << Qt::endl;
            return 2;
        }
        changed |= pin != settings->fingerprint;
        settings->fingerprint = pin;
    }
    if (parser.isSet(insecureOption)) {
        changed |= !settings->insecure;
        settings->insecure = true;
    }
    if (parser.isSet(tokenOption)) {
        // Enrolled is enrolled, whether the identity is in the config or in the state folder.
        QString enrolledAs = settings->id;
        if (enrolledAs.isEmpty() && parser.isSet(stateDirOption))
            enrolledAs = AgentSettings::enrolledIdIn(parser.value(stateDirOption));
        if (parser.value(tokenOption).isEmpty()) {
            // --token "": remove a token left in the config (the service cannot).
            changed |= !settings->token.isEmpty();
            settings->token.clear();
        } else if (!enrolledAs.isEmpty()) {
            err << "autofact-agent: already enrolled as " << enrolledAs
                << "; --token is not needed and not kept (to enrol anew, remove "
                << (settings->id.isEmpty() ? QDir(parser.value(stateDirOption)).filePath(QStringLiteral("identity.json"))
                                           : QStringLiteral("\"id\" and \"secret\" from ") + configPath)
                << ")" << Qt::endl;
        } else {
            changed |= parser.value(tokenOption) != settings->token;
            settings->token = parser.value(tokenOption);
        }
    }
    if (const QString bad = settings->checkTransport(); !bad.isEmpty() && !settings->server.isEmpty()) {
        err << "autofact-agent: " << bad << Qt::endl;
        return 2;
    }
    if (changed || parser.isSet(writeConfigOption)) {
        if (const QString saveError = settings->save(); !saveError.isEmpty()) {
            err << "autofact-agent: " << saveError << Qt::endl;
            return 2;
        }
    }
    if (parser.isSet(writeConfigOption)) {
        QTextStream(stdout) << "wrote " << configPath << Qt::endl;
        return 0;
    }
    if (parser.isSet(stateDirOption) && !settings->useStateDir(parser.value(stateDirOption), &error)) {
        err << "autofact-agent: " << error << Qt::endl;
        return 2;
    }

    int exitCode = 0;
    bool lookupInFlight = false;
    {
        Agent agent(*settings, createPlatformSampler());
        SignalWatcher signals_;
        QObject::connect(&signals_, &SignalWatcher::terminationRequested, &agent, &Agent::stop);
        QObject::connect(&agent, &Agent::finished, &app, &QCoreApplication::exit, Qt::QueuedConnection);
        if (!agent.start(&error)) {
            err << "autofact-agent: " << error << Qt::endl;
            return 2;
        }
        exitCode = app.exec();
        lookupInFlight = agent.link().mayHoldNameLookup();
    } // the spool is closed here: everything the agent owns is on disk
    // Sockets the link let go are deleted later; "later" is now, with the event loop over.
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    if (lookupInFlight) {
        // Qt joins its name-lookup threads when the application object goes away; with the
        // network down a getaddrinfo() there can take the resolver's whole timeout (tens of
        // seconds), and a service manager would wait for it. Nothing is left to save.
        std::fflush(nullptr);
        std::_Exit(exitCode);
    }
    return exitCode;
}
