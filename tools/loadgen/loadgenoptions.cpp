// SPDX-License-Identifier: MIT
#include "loadgenoptions.h"

#include "agentsettings.h"

#include "duration.h"

#include <QCommandLineParser>
#include <QThread>

namespace autofact::loadgen {

namespace {

std::optional<std::int64_t> parseDuration(const QString &text, bool allowZero)
{
    if (allowZero && (text == u"0" || text == u"off"))
        return 0;
    const auto d = duration::parse(text);
    if (!d || (d->count() <= 0 && !allowZero))
        return std::nullopt;
    return std::int64_t(d->count());
}

std::optional<double> parseRate(const QString &text)
{
    bool ok = false;
    const double v = text.toDouble(&ok);
    if (!ok || v < 0)
        return std::nullopt;
    return v;
}

} // namespace

std::optional<LoadgenOptions> parseLoadgenOptions(const QStringList &arguments, QString *error,
                                                  bool *exitNow)
{
    *exitNow = false;
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Simulates many autofact agents in one process, speaking the real protocol through the "
        "agent's own engine and link (with an in-memory store), and reports throughput and ack "
        "latency."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption server(QStringLiteral("server"), QStringLiteral("Server URL, ws://HOST:PORT or wss://HOST:PORT."), QStringLiteral("URL"));
    const QCommandLineOption agents(QStringLiteral("agents"), QStringLiteral("Number of simulated agents."), QStringLiteral("N"));
    const QCommandLineOption sample(QStringLiteral("sample-interval"), QStringLiteral("Sampling interval of every agent, overriding what the server pushes (0 = idle agents that only send heartbeats)."), QStringLiteral("D"));
    const QCommandLineOption send(QStringLiteral("send-interval"), QStringLiteral("Send (seal) interval of every agent, overriding what the server pushes."), QStringLiteral("D"));
    const QCommandLineOption dur(QStringLiteral("duration"), QStringLiteral("How long to run, ramp included (default 1m); then wait for acks and report."), QStringLiteral("D"));
    const QCommandLineOption ramp(QStringLiteral("ramp"), QStringLiteral("Spread agent start-ups evenly over D (default 0: all at once)."), QStringLiteral("D"));
    const QCommandLineOption report(QStringLiteral("report"), QStringLiteral("Write the final report as JSON to FILE."), QStringLiteral("FILE"));
    const QCommandLineOption state(QStringLiteral("state"), QStringLiteral("Keep each agent's ID, secret and last sequence in FILE, so reruns are \"welcome back\"."), QStringLiteral("FILE"));
    const QCommandLineOption threads(QStringLiteral("threads"), QStringLiteral("Event-loop threads the agents are spread over (default: CPU count)."), QStringLiteral("N"));
    const QCommandLineOption backlog(QStringLiteral("backlog"), QStringLiteral("Samples each agent has spooled before it first connects (throughput tests)."), QStringLiteral("N"));
    const QCommandLineOption interval(QStringLiteral("report-interval"), QStringLiteral("Period of the progress lines (default 5s)."), QStringLiteral("D"));
    const QCommandLineOption drain(QStringLiteral("drain-timeout"), QStringLiteral("After the duration, wait at most D for outstanding acks (default 15s)."), QStringLiteral("D"));
    const QCommandLineOption drop(QStringLiteral("drop-rate"), QStringLiteral("Abrupt connection drops per agent-minute."), QStringLiteral("R"));
    const QCommandLineOption resend(QStringLiteral("resend-rate"), QStringLiteral("Resends of an already acknowledged batch per agent-minute (on a side connection as that agent)."), QStringLiteral("R"));
    const QCommandLineOption malformed(QStringLiteral("malformed-rate"), QStringLiteral("Side connections sending a malformed message, per agent-minute."), QStringLiteral("R"));
    const QCommandLineOption token(QStringLiteral("token"), QStringLiteral("Enrolment token for every new simulated agent: one multi-use token (autofactory token create --uses N)."), QStringLiteral("TOKEN"));
    const QCommandLineOption fingerprint(QStringLiteral("fingerprint"), QStringLiteral("The server's certificate fingerprint (sha256:HEX), checked as an agent checks it; without it the platform's trust store decides."), QStringLiteral("sha256:HEX"));
    const QCommandLineOption insecure(QStringLiteral("insecure"), QStringLiteral("Allow a plain ws:// server URL, as an agent's --insecure does."));
    const QCommandLineOption seed(QStringLiteral("seed"), QStringLiteral("Random seed (default 1)."), QStringLiteral("N"));
    const QCommandLineOption quiet(QStringLiteral("quiet"), QStringLiteral("Only the final report."));
    const QCommandLineOption verbose(QStringLiteral("verbose"), QStringLiteral("Keep the agent link's own log lines (one per agent event)."));
    parser.addOptions({server, agents, sample, send, dur, ramp, report, state, threads, backlog,
                       interval, drain, drop, resend, malformed, token, fingerprint, insecure, seed, quiet,
                       verbose});
    if (!parser.parse(arguments)) {
        *error = parser.errorText();
        return std::nullopt;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        *exitNow = true;
        parser.showHelp(0);
    }
    if (parser.isSet(QStringLiteral("version"))) {
        *exitNow = true;
        parser.showVersion();
    }
    if (!parser.positionalArguments().isEmpty()) {
        *error = QStringLiteral("unexpected argument %1").arg(parser.positionalArguments().constFirst());
        return std::nullopt;
    }

    LoadgenOptions o;
    o.threads = std::max(1, QThread::idealThreadCount());
    const auto bad = [&](const QCommandLineOption &opt, const QString &why) {
        *error = QStringLiteral("--%1 %2: %3").arg(opt.names().constFirst(), parser.value(opt), why);
        return std::nullopt;
    };
    o.server = QUrl(parser.value(server));
    if (!parser.isSet(server) || !o.server.isValid() || o.server.host().isEmpty()
        || (o.server.scheme() != u"ws" && o.server.scheme() != u"wss")) {
        *error = QStringLiteral("--server URL is required (ws://HOST:PORT or wss://HOST:PORT)");
        return std::nullopt;
    }
    o.insecure = parser.isSet(insecure);
    if (o.server.scheme() == u"ws" && !o.insecure) {
        *error = QStringLiteral("--server %1 is plain ws://; add --insecure, as an agent would need").arg(o.server.toString());
        return std::nullopt;
    }
    o.token = parser.value(token);
    if (parser.isSet(fingerprint)) {
        o.fingerprint = agent::AgentSettings::normaliseFingerprint(parser.value(fingerprint));
        if (o.fingerprint.isEmpty())
            return bad(fingerprint, QStringLiteral("expected sha256: and 64 hex digits"));
    }
    bool ok = false;
    o.agents = parser.value(agents).toInt(&ok);
    if (!ok || o.agents < 1 || o.agents > 1000000)
        return bad(agents, QStringLiteral("need a count from 1 to 1000000"));
    if (parser.isSet(sample)) {
        const auto v = parseDuration(parser.value(sample), true);
        if (!v)
            return bad(sample, QStringLiteral("not a duration (e.g. 1s, 250ms, or 0 for idle)"));
        if (*v == 0)
            o.sampling = false;
        else
            o.sampleIntervalMs = int(*v);
    }
    const auto durationOf = [&](const QCommandLineOption &opt, std::int64_t &out, bool zero) {
        if (!parser.isSet(opt))
            return true;
        const auto v = parseDuration(parser.value(opt), zero);
        if (!v) {
            bad(opt, QStringLiteral("not a duration (e.g. 5s, 2m)"));
            return false;
        }
        out = *v;
        return true;
    };
    std::int64_t sendMs = 0;
    if (!durationOf(send, sendMs, false) || !durationOf(dur, o.durationMs, false)
        || !durationOf(ramp, o.rampMs, true) || !durationOf(interval, o.reportIntervalMs, false)
        || !durationOf(drain, o.drainTimeoutMs, true))
        return std::nullopt;
    if (parser.isSet(send))
        o.sendIntervalMs = int(sendMs);
    if (parser.isSet(threads)) {
        o.threads = parser.value(threads).toInt(&ok);
        if (!ok || o.threads < 1 || o.threads > 256)
            return bad(threads, QStringLiteral("need a count from 1 to 256"));
    }
    if (parser.isSet(backlog)) {
        o.backlogSamples = parser.value(backlog).toULongLong(&ok);
        if (!ok || o.backlogSamples > 10000000)
            return bad(backlog, QStringLiteral("need a count from 0 to 10000000"));
    }
    for (auto [opt, out] : {std::pair{&drop, &o.dropRate}, std::pair{&resend, &o.resendRate},
                            std::pair{&malformed, &o.malformedRate}}) {
        if (!parser.isSet(*opt))
            continue;
        const auto v = parseRate(parser.value(*opt));
        if (!v)
            return bad(*opt, QStringLiteral("need a rate >= 0 (events per agent-minute)"));
        *out = *v;
    }
    if (parser.isSet(seed)) {
        o.seed = parser.value(seed).toUInt(&ok);
        if (!ok)
            return bad(seed, QStringLiteral("need an unsigned number"));
    }
    o.reportPath = parser.value(report);
    o.statePath = parser.value(state);
    o.quiet = parser.isSet(quiet);
    o.verbose = parser.isSet(verbose);
    return o;
}

} // namespace autofact::loadgen
