// SPDX-License-Identifier: MIT
// Old and new peers (docs/PROTOCOL.md, "Compatibility"): the previous release's schema
// (tests/fixtures/protocol/autofact-previous.fbs) builds and reads messages here as that
// release's agent and server would, against today's codec.
#include "autofact-previous_generated.h"
#include "autofact_generated.h"
#include "codec.h"
#include "sampling/linuxsampler.h"
#include "testdata.h"

#include <QDateTime>
#include <QTest>

using namespace autofact;
namespace old = autofact::wire_previous;

namespace {

/** A batch as the previous release's agent encodes it (its codec's order of building). */
QByteArray oldAgentBatch(const SampleBatch &b)
{
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<old::Sample> samples;
    for (const Sample &s : b.samples) {
        const CpuTimes &c = s.cpu;
        const Memory &m = s.memory;
        samples.emplace_back(s.timestampMs,
                             old::CpuTimes(c.user, c.nice, c.system, c.idle, c.iowait, c.irq, c.softirq, c.steal, c.guest),
                             old::Memory(m.total, m.free, m.available, m.buffers, m.cached, m.used, m.swapTotal, m.swapFree),
                             s.load1, s.load5, s.load15, s.coreCount, s.flags);
    }
    const auto samplesOffset = fbb.CreateVectorOfStructs(samples);
    const auto cores = fbb.CreateVector(b.coreBusy);
    const auto batch = old::CreateSampleBatch(fbb, b.sequence, b.droppedTotal, samplesOffset, cores);
    old::FinishEnvelopeBuffer(fbb, old::CreateEnvelope(fbb, old::Payload::SampleBatch, batch.Union()));
    return QByteArray(reinterpret_cast<const char *>(fbb.GetBufferPointer()), qsizetype(fbb.GetSize()));
}

/** What the previous release's server verifies before it reads anything. */
const old::Envelope *oldServerReads(const QByteArray &bytes)
{
    flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t *>(bytes.constData()), std::size_t(bytes.size()));
    if (!old::VerifyEnvelopeBuffer(verifier))
        return nullptr;
    return old::GetEnvelope(bytes.constData());
}

} // namespace

class TestProtocolCompat : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void oldAgentBatchIsStoredByNewServer()
    {
        const SampleBatch batch = testdata::makeBatch(7, 30, 4);
        const DecodeResult r = codec::decode(oldAgentBatch(batch));
        QVERIFY2(r.ok(), qPrintable(r.reason));
        const auto *decoded = std::get_if<SampleBatch>(&*r.message);
        QVERIFY(decoded);
        QVERIFY(*decoded == batch);
        QVERIFY(decoded->devices.empty());
        QVERIFY(decoded->devices.names.empty());
    }

    void batchWithoutDevicesCarriesNoNewField()
    {
        // A new agent with its collectors off (behind an old server) sends what an old agent
        // sends: no new field is written when there is nothing in it.
        const SampleBatch batch = testdata::makeBatch(8, 12, 2);
        const QByteArray bytes = codec::encode(Message(batch));
        const auto *b = wire::GetEnvelope(bytes.constData())->payload_as_SampleBatch();
        QVERIFY(b);
        QVERIFY(!b->device_names());
        QVERIFY(!b->filesystems());
        QVERIFY(!b->disks());
        QVERIFY(!b->networks());
        QVERIFY(!b->temperatures());
        QVERIFY(oldServerReads(bytes));
    }

    void newAgentBatchWithDevicesIsReadByOldServer()
    {
        SampleBatch batch = testdata::makeBatch(9, 5, 3);
        testdata::addDevices(batch);
        const QByteArray bytes = codec::encode(Message(batch));
        const old::Envelope *env = oldServerReads(bytes);
        QVERIFY2(env, "the previous release's verifier refuses a batch with device tables");
        QCOMPARE(env->payload_type(), old::Payload::SampleBatch);
        const old::SampleBatch *b = env->payload_as_SampleBatch();
        QCOMPARE(b->sequence(), batch.sequence);
        QCOMPARE(b->samples()->size(), flatbuffers::uoffset_t(batch.samples.size()));
        for (flatbuffers::uoffset_t i = 0; i < b->samples()->size(); ++i) {
            const old::Sample *s = b->samples()->Get(i);
            QCOMPARE(s->timestamp_ms(), batch.samples[i].timestampMs);
            QCOMPARE(s->memory().used(), batch.samples[i].memory.used);
            QCOMPARE(s->cpu().user(), batch.samples[i].cpu.user);
            QCOMPARE(s->core_count(), batch.samples[i].coreCount);
        }
        QCOMPARE(b->core_busy()->size(), flatbuffers::uoffset_t(batch.coreBusy.size()));
    }

    void newServerConfigIsAppliedByOldAgent()
    {
        AgentConfig config;
        config.revision = 12;
        config.sampleIntervalMs = 2000;
        config.filesystemsIntervalMs = 30000;
        const old::Envelope *env = nullptr;
        const QByteArray bytes = codec::encode(Message(config));
        env = oldServerReads(bytes);
        QVERIFY(env);
        const old::AgentConfig *c = env->payload_as_AgentConfig();
        QVERIFY(c);
        QCOMPARE(c->revision(), 12u);
        QCOMPARE(c->sample_interval_ms(), 2000u);
        QCOMPARE(c->spool_max_bytes(), config.spoolMaxBytes);
    }

    void oldServerConfigTurnsEveryCollectorOff()
    {
        flatbuffers::FlatBufferBuilder fbb;
        const AgentConfig d;
        const auto c = old::CreateAgentConfig(fbb, 5, 1000, 5000, d.heartbeatIntervalMs, d.reconnectBaseMs,
                                              d.reconnectMaxMs, d.giveUpMs, d.spoolMaxBytes, d.spoolMaxAgeMs);
        old::FinishEnvelopeBuffer(fbb, old::CreateEnvelope(fbb, old::Payload::AgentConfig, c.Union()));
        const DecodeResult r = codec::decode(QByteArrayView(reinterpret_cast<const char *>(fbb.GetBufferPointer()),
                                                            qsizetype(fbb.GetSize())));
        QVERIFY2(r.ok(), qPrintable(r.reason));
        const auto *config = std::get_if<AgentConfig>(&*r.message);
        QVERIFY(config);
        QCOMPARE(config->revision, 5u);
        QCOMPARE(config->filesystemsIntervalMs, 0u);
        QCOMPARE(config->disksIntervalMs, 0u);
        QCOMPARE(config->networkIntervalMs, 0u);
        QCOMPARE(config->temperaturesIntervalMs, 0u);

#ifdef Q_OS_LINUX
        // And the agent then collects nothing, where the same machine under today's server's
        // defaults reports its filesystems.
        agent::LinuxSampler sampler;
        DeviceTables out;
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        sampler.collectDevices(now, *config, out);
        sampler.collectDevices(now + 1000, *config, out);
        QVERIFY(out.empty());
        AgentConfig current;
        sampler.collectDevices(now + 2000, current, out);
        QVERIFY2(!out.filesystems.empty(), "no filesystem found on this machine");
#endif
    }
};

QTEST_GUILESS_MAIN(TestProtocolCompat)
#include "tst_protocolcompat.moc"
