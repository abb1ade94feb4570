// SPDX-License-Identifier: MIT
#include "serveroptions.h"

#include "store/storelocation.h"

#include "bytesize.h"

#include <cmath>
#include <QRegularExpression>

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
                              QStringLiteral("SQLite database file (default: %1), or a PostgreSQL server shared by "
                                             "several nodes: postgresql://USER@HOST:PORT/DBNAME, HOST:PORT may be a "
                                             "list h1:5432,h2:5432 (the password from PGPASSWORD or ~/.pgpass, never "
                                             "in the URI).")
                                      .arg(defaultDatabasePath()),
                              QStringLiteral("PATH|URI"));
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

/**
 * The parser's help with its usage line naming @p command ("autofactory token create")
 * instead of however the program was started (a build path, a symlink).
 */
QString helpFor(const QCommandLineParser &parser, const QString &command)
{
    QString text = parser.helpText();
    const qsizetype options = text.indexOf(QStringLiteral(" [options]"));
    if (text.startsWith(QStringLiteral("Usage: ")) && options > 0)
        text.replace(0, options, QStringLiteral("Usage: ") + command);
    return text;
}

bool helpRequested(const QCommandLineParser &parser)
{
    return parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("help-all"));
}

/** "ADDR:PORT", "[v6]:PORT" or "v6:PORT" (the last colon separates the port); port 0 allowed. */
bool parseAddressPort(const QString &value, QHostAddress *address, quint16 *port)
{
    const qsizetype colon = value.lastIndexOf(u':');
    bool portOk = false;
    const uint number = colon > 0 ? value.mid(colon + 1).toUInt(&portOk) : 0;
    QString host = colon > 0 ? value.left(colon) : QString();
    if (host.startsWith(u'[') && host.endsWith(u']'))
        host = host.mid(1, host.size() - 2);
    if (!portOk || number > 65535 || !address->setAddress(host))
        return false;
    *port = quint16(number);
    return true;
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
        "Without --tls-cert/--tls-key it serves wss:// with its own key and self-signed\n"
        "certificate, created once beside the database (autofactory-tls.key, mode 0600), and\n"
        "prints the certificate's fingerprint for agents to pin (autofact-agent --fingerprint).\n\n"
        "Sub-commands:\n"
        "  autofactory clients [--db PATH] [--json]\n"
        "  autofactory export [--db PATH] [--client ID|HOSTNAME]... [--from TIME] [--to TIME] [--out FILE]\n"
        "                     [--table samples|filesystems|disks|network|temperatures]\n"
        "  autofactory token create [--db PATH] [--uses N] [--expires D] [--label TEXT]\n"
        "  autofactory token list [--db PATH] [--json]\n"
        "  autofactory token revoke TOKEN-ID [--db PATH]\n"
        "  autofactory revoke CLIENT [--db PATH]\n"
        "  autofactory group set NAME CLIENT... [--db PATH]\n"
        "  autofactory group clear CLIENT... [--db PATH]\n"
        "  autofactory group list [--db PATH] [--json]\n"
        "  autofactory merge OLD-CLIENT NEW-CLIENT [--db PATH]\n"
        "  autofactory storage [--db PATH] [--json]\n"
        "  autofactory alerts [--db PATH] [--json] [--all]\n"
        "  autofactory notify add webhook URL [--db PATH]\n"
        "  autofactory notify add command CMD [--db PATH]\n"
        "  autofactory notify list [--db PATH] [--json]\n"
        "  autofactory notify remove ID [--db PATH]\n"
        "  autofactory notify test [ID] [--db PATH]\n"
        "Run a sub-command with --help for its options."));
    parser.addHelpOption();
    const QCommandLineOption version = parser.addVersionOption();
    const QCommandLineOption listen(QStringLiteral("listen"),
                                    QStringLiteral("Address and port to listen on (default 0.0.0.0:8675; port 0 picks a free one)."),
                                    QStringLiteral("ADDR:PORT"), QStringLiteral("0.0.0.0:8675"));
    const QCommandLineOption headless(QStringLiteral("headless"),
                                      QStringLiteral("No window: serve until SIGINT/SIGTERM."));
    const QCommandLineOption cert(QStringLiteral("tls-cert"), QStringLiteral("PEM certificate (chain) to serve wss:// with, instead of the server's own."), QStringLiteral("FILE"));
    const QCommandLineOption insecure(QStringLiteral("insecure-ws"), QStringLiteral("Serve plain ws:// (behind a TLS-terminating proxy, or in a lab): secrets cross the network in clear."));
    const QCommandLineOption key(QStringLiteral("tls-key"), QStringLiteral("PEM private key for --tls-cert."), QStringLiteral("FILE"));
    const QCommandLineOption sample(QStringLiteral("sample-interval"), QStringLiteral("Default agent sampling interval, e.g. 1s (stored in the database)."), QStringLiteral("D"));
    const QCommandLineOption send(QStringLiteral("send-interval"), QStringLiteral("Default agent send interval, e.g. 5s (stored)."), QStringLiteral("D"));
    const QCommandLineOption heartbeat(QStringLiteral("heartbeat-interval"), QStringLiteral("Default agent heartbeat interval, e.g. 15s (stored)."), QStringLiteral("D"));
    const QCommandLineOption keepRaw(QStringLiteral("keep-raw"), QStringLiteral("Keep raw samples this long, e.g. 30d; 0 = forever (stored; default 30d)."), QStringLiteral("D"));
    const QCommandLineOption keepMinutes(QStringLiteral("keep-minutes"), QStringLiteral("Keep per-minute rollups this long, e.g. 365d; 0 = forever (stored; default 365d)."), QStringLiteral("D"));
    const QCommandLineOption keepHours(QStringLiteral("keep-hours"), QStringLiteral("Keep per-hour rollups this long; 0 = forever (stored; the default)."), QStringLiteral("D"));
    const QCommandLineOption maxSize(QStringLiteral("max-db-size"), QStringLiteral("Disk budget for the database, e.g. 500MiB, 20GiB; oldest raw samples go first; 0 = no cap (stored; the default)."), QStringLiteral("SIZE"));
    const QCommandLineOption filesystems(QStringLiteral("filesystems-interval"), QStringLiteral("How often agents read their filesystems' use, e.g. 60s; 0 = off (default 60s; stored)."), QStringLiteral("D"));
    const QCommandLineOption disks(QStringLiteral("disks-interval"), QStringLiteral("How often agents read disk I/O, e.g. 5s; 0 = off (default 5s; stored)."), QStringLiteral("D"));
    const QCommandLineOption network(QStringLiteral("network-interval"), QStringLiteral("How often agents read network traffic, e.g. 5s; 0 = off (default 5s; stored)."), QStringLiteral("D"));
    const QCommandLineOption temperatures(QStringLiteral("temperatures-interval"), QStringLiteral("How often agents read temperature sensors, e.g. 30s; 0 = off (default 30s; stored)."), QStringLiteral("D"));
    const QCommandLineOption metrics(QStringLiteral("metrics"), QStringLiteral("Serve Prometheus metrics at http://ADDR:PORT/metrics, e.g. 127.0.0.1:9120 or [::1]:9120 (default: not served)."), QStringLiteral("ADDR:PORT"));
    const QCommandLineOption noListen(QStringLiteral("no-listen"),
                                      QStringLiteral("Serve no agents: show the fleet of a shared PostgreSQL --db, live from what its "
                                                     "ingest nodes store (the dashboard only; not with --headless)."));
    parser.addOption(metrics);
    parser.addOption(noListen);
    parser.addOptions({filesystems, disks, network, temperatures});
    parser.addOptions({dbOption(), listen, headless, cert, key, insecure, sample, send, heartbeat, keepRaw, keepMinutes,
                       keepHours, maxSize});
    if (!parser.parse(arguments)) {
        *error = parser.errorText();
        return std::nullopt;
    }
    if (helpRequested(parser) || parser.isSet(version)) {
        QTextStream out(stdout);
        if (helpRequested(parser))
            out << helpFor(parser, QStringLiteral("autofactory"));
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
    if (QString why; !StoreLocation::parse(cmd.core.databasePath, &why)) {
        *error = QStringLiteral("--db: %1").arg(why);
        return std::nullopt;
    }

    const QString listenValue = parser.value(listen);
    if (!parseAddressPort(listenValue, &cmd.core.network.address, &cmd.core.network.port)) {
        *error = QStringLiteral("--listen \"%1\": expected ADDR:PORT, like 0.0.0.0:8675 or 127.0.0.1:0").arg(listenValue);
        return std::nullopt;
    }
    if (parser.isSet(metrics)) {
        MetricsEndpoint::Options endpoint;
        if (!parseAddressPort(parser.value(metrics), &endpoint.address, &endpoint.port)) {
            *error = QStringLiteral("--metrics \"%1\": expected ADDR:PORT, like 127.0.0.1:9120 or [::1]:9120")
                         .arg(parser.value(metrics));
            return std::nullopt;
        }
        cmd.core.metrics = endpoint;
    }

    if (parser.isSet(noListen)) {
        if (cmd.headless) {
            *error = QStringLiteral("--no-listen with --headless would serve no agents and show nothing; "
                                    "--no-listen is for a dashboard watching a shared store");
            return std::nullopt;
        }
        if (!StoreLocation::looksLikePostgres(cmd.core.databasePath)) {
            *error = QStringLiteral("--no-listen needs a shared PostgreSQL store (--db postgresql://USER@HOST:PORT/DBNAME): "
                                    "with SQLite no other node serves the agents");
            return std::nullopt;
        }
        for (const QCommandLineOption *serving : {&listen, &cert, &key, &insecure}) {
            if (parser.isSet(*serving)) {
                *error = QStringLiteral("--no-listen serves no agents; --%1 does not go with it").arg(serving->names().first());
                return std::nullopt;
            }
        }
        cmd.core.noListen = true;
    }
    if (parser.isSet(insecure) && parser.isSet(cert)) {
        *error = QStringLiteral("--insecure-ws serves plain ws://; it does not go with --tls-cert");
        return std::nullopt;
    }
    cmd.insecure = parser.isSet(insecure);
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
        cmd.core.certificateFingerprint = certificateFingerprint(identity->certificate);
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
    for (const auto &[option, field] : {std::pair{&filesystems, &StoreWorker::DefaultChanges::filesystemsIntervalMs},
                                         std::pair{&disks, &StoreWorker::DefaultChanges::disksIntervalMs},
                                         std::pair{&network, &StoreWorker::DefaultChanges::networkIntervalMs},
                                         std::pair{&temperatures, &StoreWorker::DefaultChanges::temperaturesIntervalMs}}) {
        if (!parser.isSet(*option))
            continue;
        const QString value = parser.value(*option);
        const auto d = value == u"0" ? std::optional(std::chrono::milliseconds(0)) : duration::parse(value);
        if (!d || (d->count() != 0 && (d->count() < 1000 || d->count() > 3600 * 1000))) {
            *error = QStringLiteral("--%1 \"%2\": expected a duration from 1s to 1h, like 5s or 1m, or 0 for off")
                             .arg(option->names().first(), value);
            return std::nullopt;
        }
        cmd.core.defaults.*field = quint32(d->count());
    }
    for (const auto &[option, field] : {std::pair{&keepRaw, &StoreWorker::DefaultChanges::keepRawMs},
                                         std::pair{&keepMinutes, &StoreWorker::DefaultChanges::keepMinutesMs},
                                         std::pair{&keepHours, &StoreWorker::DefaultChanges::keepHoursMs}}) {
        if (!parser.isSet(*option))
            continue;
        const QString value = parser.value(*option);
        const auto d = value == u"0" ? std::optional(std::chrono::milliseconds(0)) : duration::parse(value);
        if (!d || (d->count() != 0 && d->count() < 60'000)) {
            *error = QStringLiteral("--%1 \"%2\": expected a duration of at least 1m, like 30d or 12h, or 0 for forever")
                             .arg(option->names().first(), value);
            return std::nullopt;
        }
        cmd.core.defaults.*field = d->count();
    }
    if (parser.isSet(maxSize)) {
        const auto bytes = bytesize::parse(parser.value(maxSize));
        if (!bytes || (*bytes != 0 && *bytes < 1024 * 1024)) {
            *error = QStringLiteral("--max-db-size \"%1\": expected a size of at least 1MiB, like 500MiB or 20GiB, or 0 for no cap")
                             .arg(parser.value(maxSize));
            return std::nullopt;
        }
        cmd.core.defaults.maxDbBytes = *bytes;
    }
    return cmd;
}

bool prepareTls(ServeCommand &command, QString *error)
{
    if (command.insecure || command.core.noListen)
        return true;
    // Checked at start-up: without it every agent's handshake would fail, one log line each.
    if (!QSslSocket::supportsSsl()) {
        *error = QStringLiteral("TLS is not available: Qt found no TLS backend (%1; built against %2). "
                                "Install Qt's OpenSSL backend, or serve plain ws:// with --insecure-ws")
                     .arg(QSslSocket::activeBackend().isEmpty() ? QStringLiteral("none loaded") : QSslSocket::activeBackend(),
                          QSslSocket::sslLibraryBuildVersionString());
        return false;
    }
    if (command.core.network.tls)
        return true;
    // Beside the database: the key belongs to this server's data, is backed up with it, and a
    // second server with its own --db gets its own identity.
    // On a shared PostgreSQL store the identity stays in this machine's data folder; nodes
    // behind one name should be given the same --cert and --key, as agents pin one certificate.
    const QString directory = QFileInfo(StoreLocation::looksLikePostgres(command.core.databasePath)
                                                ? defaultDatabasePath()
                                                : command.core.databasePath)
                                      .absolutePath();
    const auto identity = loadOrCreateTlsIdentity(directory, error);
    if (!identity)
        return false;
    command.core.network.tls = serverTlsConfiguration(*identity);
    command.core.certificateFingerprint = certificateFingerprint(identity->certificate);
    command.createdIdentity = identity->created ? identity->keyPath : QString();
    return true;
}

bool isSubcommand(const QString &name)
{
    return name == u"clients" || name == u"export" || name == u"token" || name == u"revoke"
           || name == u"alerts" || name == u"notify" || name == u"group" || name == u"merge"
           || name == u"storage";
}

int runSubcommand(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    QString command = arguments.value(1);
    QStringList args = arguments;
    args.removeAt(1);
    // `token create|list|revoke`: the action is part of the command's name.
    if (command == u"token") {
        const QString action = args.value(1);
        if (action != u"create" && action != u"list" && action != u"revoke") {
            if (action == u"--help" || action == u"-h") {
                out << "Usage: autofactory token create|list|revoke [options]\n"
                       "Enrolment tokens: an unknown agent enrols only with a valid one.\n"
                       "Run autofactory token ACTION --help for its options.\n";
                return 0;
            }
            err << "autofactory token: expected create, list or revoke (try autofactory token --help)" << Qt::endl;
            return 2;
        }
        command += u' ' + action;
        args.removeAt(1);
    }
    // `notify add|list|remove|test`: likewise.
    if (command == u"notify") {
        const QString action = args.value(1);
        if (action != u"add" && action != u"list" && action != u"remove" && action != u"test") {
            if (action == u"--help" || action == u"-h") {
                out << "Usage: autofactory notify add|list|remove|test [options]\n"
                       "Notification channels for alerts: webhooks and commands.\n"
                       "Run autofactory notify ACTION --help for its options.\n";
                return 0;
            }
            err << "autofactory notify: expected add, list, remove or test (try autofactory notify --help)" << Qt::endl;
            return 2;
        }
        command += u' ' + action;
        args.removeAt(1);
    }
    // `group set|clear|list`: likewise.
    if (command == u"group") {
        const QString action = args.value(1);
        if (action != u"set" && action != u"clear" && action != u"list") {
            if (action == u"--help" || action == u"-h") {
                out << "Usage: autofactory group set|clear|list [options]\n"
                       "Groups of clients: filters in the dashboard, shared behaviour and alert rules.\n"
                       "Run autofactory group ACTION --help for its options.\n";
                return 0;
            }
            err << "autofactory group: expected set, clear or list (try autofactory group --help)" << Qt::endl;
            return 2;
        }
        command += u' ' + action;
        args.removeAt(1);
    }
    QCommandLineParser parser;
    parser.addHelpOption();
    parser.addOption(dbOption());
    QCommandLineOption json(QStringLiteral("json"), QStringLiteral("JSON array instead of a table."));
    QCommandLineOption client(QStringLiteral("client"), QStringLiteral("Client ID or hostname; repeat for several (default: all)."), QStringLiteral("ID|HOSTNAME"));
    QCommandLineOption from(QStringLiteral("from"), QStringLiteral("Start, inclusive: ISO 8601 (2026-11-29T04:00:00Z) or relative (-1h, -7d)."), QStringLiteral("TIME"));
    QCommandLineOption to(QStringLiteral("to"), QStringLiteral("End, exclusive: ISO 8601 or relative."), QStringLiteral("TIME"));
    QCommandLineOption outFile(QStringLiteral("out"), QStringLiteral("CSV file to write; - or absent: stdout."), QStringLiteral("FILE"));
    QCommandLineOption uses(QStringLiteral("uses"), QStringLiteral("How many agents may enrol with it (default 1)."), QStringLiteral("N"), QStringLiteral("1"));
    QCommandLineOption expires(QStringLiteral("expires"), QStringLiteral("Valid for this long, like 30m, 24h, 7d; 0 = never (default 24h)."), QStringLiteral("D"), QStringLiteral("24h"));
    QCommandLineOption label(QStringLiteral("label"), QStringLiteral("A note for token list, e.g. where it is used."), QStringLiteral("TEXT"));
    QCommandLineOption table(QStringLiteral("table"),
                             QStringLiteral("Which rows: samples (default; one per sample), or one per sample and device:"
                                            " filesystems, disks, network, temperatures."),
                             QStringLiteral("TABLE"), QStringLiteral("samples"));
    QCommandLineOption allAlerts(QStringLiteral("all"), QStringLiteral("Every alert recorded (the history), not only the active ones."));
    if (command == u"clients") {
        parser.setApplicationDescription(QStringLiteral("autofactory clients: the client inventory."));
        parser.addOption(json);
    } else if (command == u"export") {
        parser.setApplicationDescription(QStringLiteral("autofactory export: client history as RFC 4180 CSV (columns: autofactory(1))."));
        parser.addOptions({client, from, to, outFile, table});
    } else if (command == u"token create") {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory token create: a new enrolment token, printed alone on one line.\n"
            "Give it to an agent once: autofact-agent --server wss://HOST:PORT --token TOKEN --fingerprint sha256:HEX\n"
            "(a packaged agent: add --config /etc/autofact/autofact-agent.json --write-config)."));
        parser.addOptions({uses, expires, label});
    } else if (command == u"token list") {
        parser.setApplicationDescription(QStringLiteral("autofactory token list: every enrolment token (never its secret)."));
        parser.addOption(json);
    } else if (command == u"token revoke") {
        parser.setApplicationDescription(QStringLiteral("autofactory token revoke TOKEN-ID: the token enrols no one any more."));
        parser.addPositionalArgument(QStringLiteral("TOKEN-ID"), QStringLiteral("The token's ID, as autofactory token list shows it."));
    } else if (command == u"alerts") {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory alerts: alerts firing now (state firing, acknowledged or silenced), or with --all\n"
            "every firing and resolution recorded. Rules and channels: autofactory(1), docs/ALERTS.md."));
        parser.addOptions({json, allAlerts});
    } else if (command == u"notify add") {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory notify add webhook URL: POST each alert as JSON to URL.\n"
            "autofactory notify add command CMD: run CMD with /bin/sh -c for each alert, with the alert in\n"
            "AUTOFACT_* environment variables and as JSON on standard input. Quote CMD as one argument.\n"
            "A running server uses the new channel within 5 s."));
        parser.addPositionalArgument(QStringLiteral("KIND"), QStringLiteral("webhook or command."));
        parser.addPositionalArgument(QStringLiteral("TARGET"), QStringLiteral("The URL, or the command."));
    } else if (command == u"notify list") {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory notify list: the notification channels with their delivery counts."));
        parser.addOption(json);
    } else if (command == u"notify remove") {
        parser.setApplicationDescription(QStringLiteral("autofactory notify remove ID: a running server stops using it within 5 s."));
        parser.addPositionalArgument(QStringLiteral("ID"), QStringLiteral("The notifier's ID, as autofactory notify list shows it."));
    } else if (command == u"notify test") {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory notify test [ID]: sends a test notification to one channel, or to all, once each,\n"
            "from this process, and says what happened. Exit status 2 if any failed."));
        parser.addPositionalArgument(QStringLiteral("ID"), QStringLiteral("The notifier's ID (default: all)."), QStringLiteral("[ID]"));
    } else if (command == u"group set") {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory group set NAME CLIENT...: puts clients (IDs or hostnames) into group NAME, out of\n"
            "any other: a client is in one group at most. Its behaviour and alert rules are the group's\n"
            "unless it has its own. A running server pushes the change to connected agents within 5 s."));
        parser.addPositionalArgument(QStringLiteral("NAME"), QStringLiteral("The group, up to 64 characters."));
        parser.addPositionalArgument(QStringLiteral("CLIENT"), QStringLiteral("Client IDs or hostnames."), QStringLiteral("CLIENT..."));
    } else if (command == u"group clear") {
        parser.setApplicationDescription(QStringLiteral("autofactory group clear CLIENT...: takes clients out of their group."));
        parser.addPositionalArgument(QStringLiteral("CLIENT"), QStringLiteral("Client IDs or hostnames."), QStringLiteral("CLIENT..."));
    } else if (command == u"group list") {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory group list: every group with its member count, whether it sets its own agent\n"
            "behaviour, and how many alert rules it overrides."));
        parser.addOption(json);
    } else if (command == u"storage") {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory storage: the database's size and, per tier (raw samples, per-minute and per-hour\n"
            "rollups), rows, bytes, oldest and newest, with how long each is kept (--keep-raw, --keep-minutes,\n"
            "--keep-hours, --max-db-size on the server)."));
        parser.addOption(json);
    } else if (command == u"merge") {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory merge OLD-CLIENT NEW-CLIENT: joins the history of a forgotten client to\n"
            "the identity its machine enrolled under since (autofactory clients --json: previous_id).\n"
            "Samples, gaps, alerts and overrides move; samples both stored are kept once; the time between\n"
            "them becomes a gap. OLD-CLIENT is gone afterwards. Name both by ID."));
        parser.addPositionalArgument(QStringLiteral("OLD-CLIENT"), QStringLiteral("The retired client's ID."));
        parser.addPositionalArgument(QStringLiteral("NEW-CLIENT"), QStringLiteral("The current client's ID."));
    } else {
        parser.setApplicationDescription(QStringLiteral(
            "autofactory revoke CLIENT: the client's secret stops working; a running server ends\n"
            "its session within 5 s and the agent exits with code 4. History is kept."));
        parser.addPositionalArgument(QStringLiteral("CLIENT"), QStringLiteral("Client ID or hostname."));
    }
    if (!parser.parse(args)) {
        err << "autofactory " << command << ": " << parser.errorText() << Qt::endl;
        return 2;
    }
    if (helpRequested(parser)) {
        out << helpFor(parser, QStringLiteral("autofactory ") + command);
        return 0;
    }
    const bool takesOne = command == u"token revoke" || command == u"revoke" || command == u"notify remove";
    const QStringList positional = parser.positionalArguments();
    const QString db = parser.isSet(QStringLiteral("db")) ? parser.value(QStringLiteral("db")) : defaultDatabasePath();
    if (command == u"notify add") {
        if (positional.size() != 2) {
            err << "autofactory notify add: expected webhook URL or command CMD"
                << (positional.size() > 2 ? " (quote the command as one argument)" : "") << Qt::endl;
            return 2;
        }
        return runNotifyAddCommand(db, positional.at(0), positional.at(1), out, err);
    }
    if (command == u"group set" || command == u"group clear") {
        const bool set = command == u"group set";
        if (positional.size() < (set ? 2 : 1)) {
            err << "autofactory " << command << ": expected " << (set ? "NAME CLIENT..." : "CLIENT...") << Qt::endl;
            return 2;
        }
        return runGroupSetCommand(db, set ? positional.first() : QString(), set ? positional.mid(1) : positional,
                                  out, err);
    }
    if (command == u"merge") {
        if (positional.size() != 2) {
            err << "autofactory merge: expected OLD-CLIENT NEW-CLIENT" << Qt::endl;
            return 2;
        }
        return runMergeCommand(db, positional.at(0), positional.at(1), out, err);
    }
    if (command == u"notify test") {
        if (positional.size() > 1) {
            err << "autofactory notify test: one ID at most" << Qt::endl;
            return 2;
        }
        std::optional<qint64> id;
        if (!positional.isEmpty()) {
            bool ok = false;
            id = positional.first().toLongLong(&ok);
            if (!ok || *id <= 0) {
                err << "autofactory notify test: expected a notifier ID (autofactory notify list)" << Qt::endl;
                return 2;
            }
        }
        return runNotifyTestCommand(db, id, out, err);
    }
    if (takesOne ? positional.size() != 1 : !positional.isEmpty()) {
        err << "autofactory " << command << ": "
            << (takesOne ? (positional.isEmpty() ? QStringLiteral("missing argument (try --help)")
                                                 : QStringLiteral("one argument only"))
                         : QStringLiteral("unexpected argument ") + positional.first())
            << Qt::endl;
        return 2;
    }
    if (command == u"clients")
        return runClientsCommand(db, parser.isSet(json), out, err);
    if (command == u"export")
        return runExportCommand(db, parser.values(client), parser.value(from), parser.value(to),
                                parser.value(outFile), parser.value(table), err);
    if (command == u"token create") {
        bool ok = false;
        const int n = parser.value(uses).toInt(&ok);
        if (!ok || n < 1 || n > 1000000) {
            err << "autofactory token create: --uses: expected a number from 1 to 1000000" << Qt::endl;
            return 2;
        }
        qint64 validMs = 0;
        if (const QString e = parser.value(expires); e != u"0") {
            const auto d = duration::parse(e);
            if (!d || d->count() < 60 * 1000) {
                err << "autofactory token create: --expires: expected a duration of at least 1m, like 30m, 24h, 7d, or 0 for never"
                    << Qt::endl;
                return 2;
            }
            validMs = d->count();
        }
        return runTokenCreateCommand(db, n, validMs, parser.value(label), out, err);
    }
    if (command == u"token list")
        return runTokenListCommand(db, parser.isSet(json), out, err);
    if (command == u"alerts")
        return runAlertsCommand(db, parser.isSet(json), parser.isSet(allAlerts), out, err);
    if (command == u"storage")
        return runStorageCommand(db, parser.isSet(json), out, err);
    if (command == u"group list")
        return runGroupListCommand(db, parser.isSet(json), out, err);
    if (command == u"notify list")
        return runNotifyListCommand(db, parser.isSet(json), out, err);
    if (command == u"notify remove") {
        bool ok = false;
        const qint64 id = positional.first().toLongLong(&ok);
        if (!ok || id <= 0) {
            err << "autofactory notify remove: expected a notifier ID (autofactory notify list)" << Qt::endl;
            return 2;
        }
        return runNotifyRemoveCommand(db, id, out, err);
    }
    if (command == u"token revoke")
        return runTokenRevokeCommand(db, positional.first(), out, err);
    return runRevokeCommand(db, positional.first(), out, err);
}

} // namespace autofact::server
