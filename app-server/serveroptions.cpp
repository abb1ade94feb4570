// SPDX-License-Identifier: MIT
#include "serveroptions.h"

#include "duration.h"
#include "servercommands.h"
#include "tlsidentity.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QStandardPaths>
#include <QTextStream>

namespace autofact::server {

namespace {

QCommandLineOption dbOption()
{
    return QCommandLineOption(QStringLiteral("db"),
                              QStringLiteral("SQLite database (default: %1).").arg(defaultDatabasePath()),
                              QStringLiteral("PATH"));
}

std::optional<quint32> parseInterval(const QCommandLineParser &parser, const QString &name,
                                     QString *error)
{
    if (!parser.isSet(name))
        return std::nullopt;
    const auto d = duration::parse(parser.value(name));
    if (!d || d->count() < 100 || d->count() > 3600 * 1000) {
        *error = QStringLiteral("--%1 \"%2\": expected a duration from 100ms to 1h, like 250ms, 5s, 1m")
                     .arg(name, parser.value(name));
        return std::nullopt;
    }
    return quint32(d->count());
}

} // namespace

QString defaultDatabasePath()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))
        .filePath(QStringLiteral("autofactory.db"));
}

std::optional<ServeCommand> parseServeCommand(const QStringList &arguments, QString *error,
                                              bool *exitNow)
{
    *exitNow = false;
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "autofactory: collects samples from autofact agents and shows them.\n\n"
        "Sub-commands:\n"
        "  autofactory clients [--db PATH] [--json]\n"
        "  autofactory export [--db PATH] [--client ID|HOSTNAME]... [--from TIME] [--to TIME] [--out FILE]\n"
        "Run a sub-command with --help for its options."));
    const QCommandLineOption help = parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    const QCommandLineOption listen(QStringLiteral("listen"),
                                    QStringLiteral("Address and port to listen on (default 0.0.0.0:8675; port 0 picks a free one)."),
                                    QStringLiteral("ADDR:PORT"), QStringLiteral("0.0.0.0:8675"));
    const QCommandLineOption headless(QStringLiteral("headless"),
                                      QStringLiteral("No window: serve until SIGINT/SIGTERM."));
    const QCommandLineOption cert(QStringLiteral("tls-cert"), QStringLiteral("PEM certificate: serve wss://."), QStringLiteral("FILE"));
    const QCommandLineOption key(QStringLiteral("tls-key"), QStringLiteral("PEM private key for --tls-cert."), QStringLiteral("FILE"));
    const QCommandLineOption sample(QStringLiteral("sample-interval"), QStringLiteral("Default agent sampling interval, e.g. 1s (stored in the database)."), QStringLiteral("D"));
    const QCommandLineOption send(QStringLiteral("send-interval"), QStringLiteral("Default agent send interval, e.g. 5s (stored)."), QStringLiteral("D"));
    const QCommandLineOption heartbeat(QStringLiteral("heartbeat-interval"), QStringLiteral("Default agent heartbeat interval, e.g. 15s (stored)."), QStringLiteral("D"));
    parser.addOptions({dbOption(), listen, headless, cert, key, sample, send, heartbeat});
    if (!parser.parse(arguments)) {
        *error = parser.errorText();
        return std::nullopt;
    }
    if (parser.isSet(help) || parser.isSet(version)) {
        QTextStream out(stdout);
        if (parser.isSet(help))
            out << parser.helpText();
        else
            out << "autofactory " << QCoreApplication::applicationVersion() << Qt::endl;
        *exitNow = true;
        return std::nullopt;
    }
    if (!parser.positionalArguments().isEmpty()) {
        *error = QStringLiteral("unknown command \"%1\" (try --help)").arg(parser.positionalArguments().first());
        return std::nullopt;
    }

    ServeCommand cmd;
    cmd.headless = parser.isSet(headless);
    cmd.core.databasePath = parser.isSet(QStringLiteral("db")) ? parser.value(QStringLiteral("db")) : defaultDatabasePath();

    const QString listenValue = parser.value(listen);
    const qsizetype colon = listenValue.lastIndexOf(u':');
    bool portOk = false;
    const uint port = colon > 0 ? listenValue.mid(colon + 1).toUInt(&portOk) : 0;
    QString host = colon > 0 ? listenValue.left(colon) : QString();
    if (host.startsWith(u'[') && host.endsWith(u']'))
        host = host.mid(1, host.size() - 2);
    QHostAddress address;
    if (!portOk || port > 65535 || !address.setAddress(host)) {
        *error = QStringLiteral("--listen \"%1\": expected ADDR:PORT, like 0.0.0.0:8675 or 127.0.0.1:0").arg(listenValue);
        return std::nullopt;
    }
    cmd.core.network.address = address;
    cmd.core.network.port = quint16(port);

    if (parser.isSet(cert) != parser.isSet(key)) {
        *error = QStringLiteral("--tls-cert and --tls-key go together");
        return std::nullopt;
    }
    if (parser.isSet(cert)) {
        const auto identity = loadTlsIdentity(parser.value(cert), parser.value(key), error,
                                              {QStringLiteral("--tls-cert"), QStringLiteral("--tls-key")});
        if (!identity)
            return std::nullopt;
        cmd.core.network.tls = serverTlsConfiguration(*identity);
    }

    cmd.core.defaults.sampleIntervalMs = parseInterval(parser, sample.names().first(), error);
    if (!error->isEmpty())
        return std::nullopt;
    cmd.core.defaults.sendIntervalMs = parseInterval(parser, send.names().first(), error);
    if (!error->isEmpty())
        return std::nullopt;
    cmd.core.defaults.heartbeatIntervalMs = parseInterval(parser, heartbeat.names().first(), error);
    if (!error->isEmpty())
        return std::nullopt;
    return cmd;
}

int runSubcommand(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    const QString command = arguments.value(1);
    QCommandLineParser parser;
    parser.addHelpOption();
    parser.addOption(dbOption());
    QCommandLineOption json(QStringLiteral("json"), QStringLiteral("JSON array instead of a table."));
    QCommandLineOption client(QStringLiteral("client"), QStringLiteral("Client ID or hostname; repeat for several (default: all)."), QStringLiteral("ID|HOSTNAME"));
    QCommandLineOption from(QStringLiteral("from"), QStringLiteral("Start, inclusive: ISO 8601 (2026-11-29T04:00:00Z) or relative (-1h, -7d)."), QStringLiteral("TIME"));
    QCommandLineOption to(QStringLiteral("to"), QStringLiteral("End, exclusive: ISO 8601 or relative."), QStringLiteral("TIME"));
    QCommandLineOption outFile(QStringLiteral("out"), QStringLiteral("CSV file to write; - or absent: stdout."), QStringLiteral("FILE"));
    if (command == u"clients") {
        parser.setApplicationDescription(QStringLiteral("autofactory clients: the client inventory."));
        parser.addOption(json);
    } else {
        parser.setApplicationDescription(QStringLiteral("autofactory export: client history as RFC 4180 CSV (docs/STORAGE.md)."));
        parser.addOptions({client, from, to, outFile});
    }
    QStringList args = arguments;
    args.removeAt(1);
    if (!parser.parse(args)) {
        err << "autofactory " << command << ": " << parser.errorText() << Qt::endl;
        return 2;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        out << parser.helpText();
        return 0;
    }
    if (!parser.positionalArguments().isEmpty()) {
        err << "autofactory " << command << ": unexpected argument " << parser.positionalArguments().first() << Qt::endl;
        return 2;
    }
    const QString db = parser.isSet(QStringLiteral("db")) ? parser.value(QStringLiteral("db")) : defaultDatabasePath();
    if (command == u"clients")
        return runClientsCommand(db, parser.isSet(json), out, err);
    return runExportCommand(db, parser.values(client), parser.value(from), parser.value(to),
                            parser.value(outFile), err);
}

} // namespace autofact::server
