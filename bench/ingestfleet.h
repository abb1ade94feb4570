// SPDX-License-Identifier: MIT
#pragma once
// The fleet the store benchmarks ingest: kClients enrolled clients with a 60-sample, 8-core
// batch each, advanced one batch at a time with no gaps, and the timed loop that writes them.
// Header-only: each benchmark is one executable.
#include "store/store.h"
#include "testdata.h"

#include <benchmark/benchmark.h>

#include <QStringList>

#include <vector>

namespace autofact::bench {

class IngestFleet
{
public:
    static constexpr int kClients = 1000;
    static constexpr int kSamplesPerBatch = 60;
    static constexpr int kCores = 8;
    static constexpr qint64 kT0 = 1'700'000'000'000;

    /** Enrols kClients clients into @p store (already open). */
    void enrol(server::Store &store)
    {
        store.enrolment().setTokenRequired(false);
        for (int i = 0; i < kClients; ++i) {
            Hello h;
            h.hostname = QStringLiteral("host-%1").arg(i);
            auto r = store.enrolment().authenticate(h, QStringLiteral("bench"), kT0);
            if (!r)
                qFatal("enrol: %s", qPrintable(r.errorMessage()));
            m_ids << r->clientId;
        }
        for (int i = 0; i < kClients; ++i) {
            m_batches.push_back(testdata::makeBatch(0, kSamplesPerBatch, kCores, kT0));
            m_batches.back().droppedTotal = 0;
        }
    }
    const QStringList &ids() const { return m_ids; }
    /** Next batch of client @p i: sequence + 1, timestamps one batch later (no gaps). */
    const SampleBatch &advance(int i)
    {
        SampleBatch &b = m_batches[std::size_t(i)];
        ++b.sequence;
        const qint64 start = kT0 + qint64(b.sequence - 1) * kSamplesPerBatch * 1000;
        for (int s = 0; s < kSamplesPerBatch; ++s)
            b.samples[std::size_t(s)].timestampMs = start + s * 1000;
        return b;
    }
    /**
     * The timed loop: @p perCall batches (round robin over the clients) per Store::ingest()
     * call, i.e. per transaction. Fails the run if any batch is not stored; sets samples/s.
     */
    void ingestLoop(benchmark::State &state, server::Store &store, int perCall)
    {
        std::vector<server::Store::IngestItem> items(std::size_t(perCall), server::Store::IngestItem{});
        int64_t samples = 0;
        for (auto _ : state) {
            for (int k = 0; k < perCall; ++k) {
                const int client = m_next++ % kClients;
                items[std::size_t(k)] = {m_ids[client], &advance(client)};
            }
            const auto results = store.ingest().write(items, kT0);
            if (!results) {
                state.SkipWithError("ingest failed");
                return;
            }
            for (const auto &r : *results)
                if (r.status != server::Store::IngestResult::Status::Stored) {
                    state.SkipWithError("a batch was not stored");
                    return;
                }
            samples += int64_t(perCall) * kSamplesPerBatch;
        }
        state.SetItemsProcessed(samples);
        state.counters["samples/s"] = benchmark::Counter(double(samples), benchmark::Counter::kIsRate);
    }

private:
    QStringList m_ids;
    std::vector<SampleBatch> m_batches;
    int m_next = 0;
};

} // namespace autofact::bench
