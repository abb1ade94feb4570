// SPDX-License-Identifier: MIT
#pragma once

#include <QStringList>
#include <QUrl>

#include <cstdint>
#include <optional>

namespace autofact::loadgen {

/** What `autofact-loadgen` was asked to do; see parseLoadgenOptions() for the flags. */
struct LoadgenOptions {
    QUrl server;
    QString token;       ///< enrolment token for agents without an identity (one multi-use token)
    QString fingerprint; ///< sha256:HEX the server must present, as an agent pins it
    bool insecure = false; ///< allow ws://
    int agents = 0;
    /// Local overrides of what the server pushes; unset = follow the server's config.
    std::optional<int> sampleIntervalMs;
    std::optional<int> sendIntervalMs;
    bool sampling = true; ///< false with --sample-interval 0: idle agents, heartbeats only
    std::int64_t durationMs = 60000; ///< from the first agent's start, ramp included
    std::int64_t rampMs = 0;
    std::int64_t reportIntervalMs = 5000;
    std::int64_t drainTimeoutMs = 15000; ///< after the duration: wait this long for acks
    QString reportPath;
    QString statePath;
    int threads = 2;
    std::uint64_t backlogSamples = 0;
    double dropRate = 0;      ///< per agent-minute
    double resendRate = 0;    ///< per agent-minute
    double malformedRate = 0; ///< per agent-minute
    quint32 seed = 1;
    bool quiet = false;   ///< no periodic lines, only the final report
    bool verbose = false; ///< keep the agent code's own log lines
};

/**
 * Parses the command line (arguments()[0] is the program). Returns std::nullopt with a
 * one-line @p error; prints --help/--version itself and sets @p exitNow for those.
 */
std::optional<LoadgenOptions> parseLoadgenOptions(const QStringList &arguments, QString *error,
                                                  bool *exitNow);

} // namespace autofact::loadgen
