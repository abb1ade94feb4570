// SPDX-License-Identifier: MIT
#pragma once

#include "latencyhistogram.h"

#include <QString>

#include <cstdint>

namespace autofact::loadgen {

/** What one simulated agent is known as to the server; kept in the --state file. */
struct AgentIdentity {
    QString id;
    QString secret;
    std::uint64_t lastSequence = 0; ///< highest sequence handed out, so reruns never reuse one
};

/** Per-agent totals, for the state file and for tests that compare against the database. */
struct AgentSummary {
    int index = 0;
    AgentIdentity identity;
    std::uint64_t samplesTaken = 0;
    std::uint64_t samplesSent = 0;  ///< samples in batches sent at least once
    std::uint64_t samplesAcked = 0; ///< samples in batches the server acknowledged
    std::uint64_t unackedSamples = 0;
    std::uint64_t welcomes = 0;
};

/**
 * Counters of a group of simulated agents. Totals only grow; `connected`, `started` and
 * `unackedSamples` are gauges taken when the snapshot is made. Merged across threads.
 */
struct LoadStats {
    int agents = 0;
    int started = 0;
    int connected = 0;
    std::uint64_t unackedSamples = 0;

    std::uint64_t samplesTaken = 0;
    std::uint64_t samplesSent = 0;
    std::uint64_t samplesAcked = 0;
    std::uint64_t batchesSent = 0;   ///< first sends
    std::uint64_t batchesResent = 0; ///< sent again after a reconnect (the server dedupes)
    std::uint64_t batchesAcked = 0;
    std::uint64_t welcomes = 0;      ///< successful handshakes
    std::uint64_t reconnects = 0;    ///< handshakes after an agent's first one
    std::uint64_t linkLosses = 0;    ///< Ready links that went down
    std::uint64_t errors = 0;        ///< fatal link outcomes (refused, gave up)

    std::uint64_t dropsInjected = 0;
    std::uint64_t resendsInjected = 0;
    std::uint64_t resendsAcked = 0;
    std::uint64_t malformedInjected = 0;
    std::uint64_t malformedRefused = 0;

    LatencyHistogram latency; ///< batch first put on the socket → its ack

    void merge(const LoadStats &o)
    {
        agents += o.agents;
        started += o.started;
        connected += o.connected;
        unackedSamples += o.unackedSamples;
        samplesTaken += o.samplesTaken;
        samplesSent += o.samplesSent;
        samplesAcked += o.samplesAcked;
        batchesSent += o.batchesSent;
        batchesResent += o.batchesResent;
        batchesAcked += o.batchesAcked;
        welcomes += o.welcomes;
        reconnects += o.reconnects;
        linkLosses += o.linkLosses;
        errors += o.errors;
        dropsInjected += o.dropsInjected;
        resendsInjected += o.resendsInjected;
        resendsAcked += o.resendsAcked;
        malformedInjected += o.malformedInjected;
        malformedRefused += o.malformedRefused;
        latency.merge(o.latency);
    }
};

} // namespace autofact::loadgen
