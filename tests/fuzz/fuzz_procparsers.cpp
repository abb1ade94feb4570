// SPDX-License-Identifier: MIT
// libFuzzer target: the agent's /proc parsers (stat, meminfo, loadavg) on arbitrary bytes.
// Each parser gets every input: their corpora overlap, and a file of one kind is odd input for
// the others. The parsers are reused across inputs, as the agent reuses them across reads.
#include "fuzzsupport.h"
#include "sampling/loadavg.h"
#include "sampling/meminfo.h"
#include "sampling/procstat.h"

#include <cmath>
#include <cstddef>
#include <cstdint>

using namespace autofact;
using namespace autofact::agent;

namespace {

void procStat(QByteArrayView text)
{
    static ProcStat parser(QStringLiteral("/nonexistent"));
    QString error;
    if (!parser.parse(text, &error)) {
        fuzz::require(!error.isEmpty(), "stat: a failure has a reason");
        return;
    }
    fuzz::require(parser.total().presentFields >= 4, "stat: the cpu line has 4 columns or more");
    for (const CoreCounters &core : parser.cores())
        fuzz::require(core.index >= 0, "stat: core numbers are not negative");
}

void memInfo(QByteArrayView text)
{
    static MemInfo parser(QStringLiteral("/nonexistent"));
    QString error;
    if (!parser.parse(text, &error)) {
        fuzz::require(!error.isEmpty(), "meminfo: a failure has a reason");
        return;
    }
    const Memory m = parser.memory();
    fuzz::require(m.total > 0, "meminfo: MemTotal is required");
    fuzz::require(m.free <= m.total && m.available <= m.total && m.used <= m.total,
                  "meminfo: free, available and used are clamped to total");
    fuzz::require(m.swapFree <= m.swapTotal, "meminfo: swap free is clamped to swap total");
}

void loadAvg(QByteArrayView text)
{
    static LoadAvg parser(QStringLiteral("/nonexistent"));
    QString error;
    if (!parser.parse(text, &error)) {
        fuzz::require(!error.isEmpty(), "loadavg: a failure has a reason");
        return;
    }
    for (float load : {parser.load1(), parser.load5(), parser.load15()})
        fuzz::require(std::isfinite(load) && load >= 0, "loadavg: loads are finite and >= 0");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz::initQt(argc, argv);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArrayView text(reinterpret_cast<const char *>(data), qsizetype(size));
    procStat(text);
    memInfo(text);
    loadAvg(text);
    return 0;
}
