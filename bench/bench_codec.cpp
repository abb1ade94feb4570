// SPDX-License-Identifier: MIT
// Encode and verify+decode of a 60-sample batch, shaped like an 8-core and a 64-core machine.
#include "codec.h"
#include "testdata.h"

#include <benchmark/benchmark.h>

using namespace autofact;

static void BM_EncodeBatch(benchmark::State &state)
{
    const Message batch(testdata::makeBatch(1, 60, int(state.range(0))));
    for (auto _ : state) {
        QByteArray bytes = codec::encode(batch);
        benchmark::DoNotOptimize(bytes.constData());
    }
    state.counters["bytes"] = double(codec::encode(batch).size());
}
BENCHMARK(BM_EncodeBatch)->Arg(8)->Arg(64);

static void BM_DecodeBatch(benchmark::State &state)
{
    const QByteArray bytes = codec::encode(Message(testdata::makeBatch(1, 60, int(state.range(0)))));
    for (auto _ : state) {
        DecodeResult r = codec::decode(bytes);
        if (!r.ok())
            state.SkipWithError("decode failed");
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_DecodeBatch)->Arg(8)->Arg(64);

BENCHMARK_MAIN();
