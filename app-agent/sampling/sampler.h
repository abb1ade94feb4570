// SPDX-License-Identifier: MIT
#pragma once

#include "messages.h"

#include <QString>

#include <cstdint>
#include <memory>
#include <vector>

namespace autofact::agent {

/**
 * One platform's source of samples and system facts. The agent owns one and calls sample()
 * from a single thread at its sampling interval.
 */
class Sampler
{
public:
    virtual ~Sampler() = default;
    Sampler(const Sampler &) = delete;
    Sampler &operator=(const Sampler &) = delete;

    /**
     * Takes one sample. Fills @p out (timestampMs = @p nowMs, CPU split over the interval since
     * the previous successful call, memory, load, coreCount, flags) and appends coreCount per-core
     * busy percentages to @p coreBusy. All percentages are finite and within [0, 100].
     *
     * On failure returns false, leaves @p out and @p coreBusy unchanged and, if @p error is not
     * null, sets it to a one-line reason; the next call measures from the last good sample.
     */
    virtual bool sample(std::int64_t nowMs, Sample &out, std::vector<float> &coreBusy,
                        QString *error = nullptr) = 0;

    /**
     * Runs the optional collectors (filesystems, disks, network, temperatures) that are due at
     * @p nowMs under @p config's intervals (0 = off) and puts their readings, as sample 0, in
     * @p out (cleared first). Called right after each successful sample(). Collectors that
     * fail are logged and skipped; the sample goes ahead without them.
     *
     * The default collects nothing: the macOS and Windows samplers have no device collectors
     * yet (docs/PROTOCOL.md says what a server sees from them).
     */
    virtual void collectDevices(std::int64_t nowMs, const AgentConfig &config, DeviceTables &out)
    {
        Q_UNUSED(nowMs);
        Q_UNUSED(config);
        out.clear();
    }

    /**
     * Facts for Hello: hostname, OS, kernel, architecture, CPU model and count, memory total,
     * boot time and agent version. agentId and secret are left empty. Fields that cannot be
     * determined stay empty or 0.
     */
    virtual Hello systemFacts() const = 0;

protected:
    Sampler() = default;
    /**
     * The facts Qt knows on every platform: hostname, OS name and version, kernel,
     * architecture, agent version. Samplers add CPU, memory and boot time.
     */
    static Hello qtSystemFacts();
};

/**
 * The sampler for the platform the agent was built for: LinuxSampler on /proc on Linux,
 * MacSampler (Mach host statistics, sysctl) on macOS, WinSampler (GetSystemTimes,
 * GlobalMemoryStatusEx) on Windows. Returns nullptr on any other platform.
 */
std::unique_ptr<Sampler> createPlatformSampler();

} // namespace autofact::agent
