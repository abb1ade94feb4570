// SPDX-License-Identifier: MIT
#pragma once

#include "sampling/sampler.h"

#include <QString>

#include <atomic>

namespace autofact::testdata {

/**
 * Deterministic sampler for link and end-to-end tests: sample number N carries N in load1
 * (exact in a float up to 2^24), so a test can check which samples arrived, and how often.
 */
class FakeSampler : public agent::Sampler
{
public:
    explicit FakeSampler(int cores = 2, QString hostname = QStringLiteral("fake-host"))
        : m_cores(cores)
        , m_hostname(std::move(hostname))
    {
    }

    bool sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy, QString *) override
    {
        out = Sample{};
        // Strictly increasing timestamps even if the wall clock stalls between two samples.
        m_lastTs = std::max(nowMs, m_lastTs + 1);
        out.timestampMs = m_lastTs;
        out.cpu = {10, 0, 5, 85, 0, 0, 0, 0, 0};
        out.memory = {8ull << 30, 1ull << 30, 4ull << 30, 1ull << 20, 2ull << 30, 4ull << 30, 0, 0};
        out.load1 = float(m_count++);
        out.coreCount = std::uint16_t(m_cores);
        for (int c = 0; c < m_cores; ++c)
            coreBusy.push_back(float(c % 101)); // a percentage, however many cores
        return true;
    }

    Hello systemFacts() const override
    {
        Hello h;
        h.hostname = m_hostname;
        h.osName = QStringLiteral("TestOS");
        h.osVersion = QStringLiteral("1");
        h.kernel = QStringLiteral("test-kernel");
        h.arch = QStringLiteral("x86_64");
        h.cpuModel = QStringLiteral("Fake CPU");
        h.cpuCount = std::uint16_t(m_cores);
        h.memTotal = 8ull << 30;
        h.agentVersion = QStringLiteral("test");
        return h;
    }

    int count() const { return m_count; }

private:
    int m_cores;
    QString m_hostname;
    int m_count = 0;
    std::int64_t m_lastTs = 0;
};

} // namespace autofact::testdata
