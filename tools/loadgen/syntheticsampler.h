// SPDX-License-Identifier: MIT
#pragma once

#include "sampling/sampler.h"

#include <QRandomGenerator>
#include <QString>

#include <vector>

namespace autofact::loadgen {

/**
 * A made-up but plausible machine for simulated agents: 8 cores (by default) whose load
 * wanders in a bounded random walk, 16 GiB of memory with a drifting working set, and load
 * averages that follow the CPU. Samples have the same shape and size on the wire as those of
 * a real 8-core host; values are deterministic for a given seed.
 */
class SyntheticSampler : public agent::Sampler
{
public:
    SyntheticSampler(QString hostname, quint32 seed, int cores = 8);

    bool sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy,
                QString *error = nullptr) override;
    Hello systemFacts() const override;

private:
    QString m_hostname;
    QRandomGenerator m_rng;
    std::vector<float> m_coreBusy;
    double m_usedFraction = 0.4;
    float m_load1 = 0.5f, m_load5 = 0.5f, m_load15 = 0.5f;
    std::int64_t m_lastTs = 0;
    std::int64_t m_bootMs = 0;
    bool m_first = true;
};

} // namespace autofact::loadgen
