// SPDX-License-Identifier: MIT
// AgentEngine's rules on a stepped clock and an in-memory store, with a transport that records
// what it is given: no timers, no sockets, no waiting. Also MemoryBatchStore's contract.
#include "agentengine.h"
#include "codec.h"
#include "fakesampler.h"
#include "spool/memorybatchstore.h"
#include "steppedclock.h"
#include "link/batchtransport.h"
#include "testdata.h"

#include <QSignalSpy>
#include <QTest>

using namespace autofact;
using namespace autofact::agent;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;

/** Records the sequence of every batch handed to it while "ready". */
class RecordingTransport : public BatchTransport
{
public:
    bool isReady() const override { return ready; }
    bool sendBatch(const QByteArray &payload) override
    {
        if (!ready)
            return false;
        const DecodeResult r = codec::decode(payload);
        const auto *batch = r.ok() ? std::get_if<SampleBatch>(&*r.message) : nullptr;
        sent.append(batch ? batch->sequence : 0);
        sampleCounts.append(batch ? int(batch->samples.size()) : -1);
        return true;
    }

    bool ready = true;
    QList<std::uint64_t> sent;
    QList<int> sampleCounts;
};

Sample sampleAt(int i)
{
    Sample s = testdata::makeBatch(1, 1, 0, t0 + i * 1000LL).samples.front();
    s.load1 = float(i);
    return s;
}

QList<std::uint64_t> sequencesOf(const std::vector<SpooledBatch> &batches)
{
    QList<std::uint64_t> out;
    for (const SpooledBatch &b : batches)
        out.append(b.sequence);
    return out;
}

QList<std::uint64_t> sequencesOf(const std::vector<AckedBatch> &batches)
{
    QList<std::uint64_t> out;
    for (const AckedBatch &b : batches)
        out.append(b.sequence);
    return out;
}

Welcome welcomeAt(std::uint64_t lastAcked)
{
    Welcome w;
    w.agentId = QStringLiteral("agent-1");
    w.returning = true;
    w.lastAckedSequence = lastAcked;
    return w;
}

/** An engine with its store, clock, sampler and transport, started at phase 0. */
struct Rig {
    MemoryBatchStore store;
    SteppedClock clock{t0, 0};
    testdata::FakeSampler sampler{2};
    RecordingTransport transport;
    AgentEngine engine{store, clock};
    std::vector<std::vector<AckedBatch>> acks;

    Rig()
    {
        engine.setSampler(&sampler);
        engine.setTransport(&transport);
        QObject::connect(&engine, &AgentEngine::batchesAcknowledged, &engine,
                         [this](const std::vector<AckedBatch> &b) { acks.push_back(b); });
    }

    /** Samples @p n times, one sample interval apart, running whatever falls due. */
    void sampleFor(int n)
    {
        for (int i = 0; i < n; ++i) {
            clock.advance(engine.sampleIntervalMs());
            engine.runDue();
        }
    }

    /** Takes @p samples samples and seals them as batches of @p perBatch (after Welcome). */
    void makeBatches(int batches, int perBatch)
    {
        for (int b = 0; b < batches; ++b) {
            for (int i = 0; i < perBatch; ++i)
                engine.takeSample();
            store.seal(clock.wallMs(), std::size_t(perBatch));
        }
    }
};

} // namespace

class TestAgentEngine : public QObject
{
    Q_OBJECT
private slots:
    // --- MemoryBatchStore: the BatchStore contract ---

    void storeSealsInBatchesOfAtMostN()
    {
        MemoryBatchStore store;
        for (int i = 0; i < 25; ++i)
            store.append(sampleAt(i), std::vector<float>{1.0f, 2.0f});
        QCOMPARE(store.openSampleCount(), 25u);
        QCOMPARE(store.seal(t0 + 25000, 10), 3);
        QCOMPARE(store.openSampleCount(), 0u);
        const auto batches = store.pending(0, 100);
        QCOMPARE(sequencesOf(batches), (QList<std::uint64_t>{1, 2, 3}));
        QCOMPARE(batches[0].sampleCount, 10u);
        QCOMPARE(batches[2].sampleCount, 5u);
        QCOMPARE(batches[0].firstTimestampMs, t0);
        // The payload is the wire format, samples in order with their per-core values.
        const DecodeResult r = codec::decode(batches[1].payload);
        QVERIFY(r.ok());
        const auto &decoded = std::get<SampleBatch>(*r.message);
        QCOMPARE(decoded.sequence, 2u);
        QCOMPARE(decoded.samples.front().load1, 10.0f);
        QCOMPARE(decoded.coreBusy.size(), 20u);
        QCOMPARE(store.backlogBatches(), 3u);
        QCOMPARE(store.backlogSamples(), 25u);
        QCOMPARE(store.seal(t0, 10), 0); // nothing open: nothing sealed, no sequence used
        QCOMPARE(store.nextSequence(), 4u);
    }

    void storePendingStartsAfterASequence()
    {
        MemoryBatchStore store;
        for (int i = 0; i < 5; ++i) {
            store.append(sampleAt(i), {});
            store.seal(t0, 600);
        }
        QCOMPARE(sequencesOf(store.pending(2, 100)), (QList<std::uint64_t>{3, 4, 5}));
        QCOMPARE(sequencesOf(store.pending(0, 2)), (QList<std::uint64_t>{1, 2}));
        QVERIFY(store.pending(5, 100).empty());
    }

    void storeAckCoversCumulativeAndRanges_data()
    {
        QTest::addColumn<Ack>("ack");
        QTest::addColumn<QList<std::uint64_t>>("acked");
        QTest::addColumn<QList<std::uint64_t>>("left");
        QTest::addRow("cumulative") << Ack{3, {}} << QList<std::uint64_t>{1, 2, 3}
                                    << QList<std::uint64_t>{4, 5, 6};
        QTest::addRow("ranges only") << Ack{0, {{2, 2}, {4, 5}}} << QList<std::uint64_t>{2, 4, 5}
                                     << QList<std::uint64_t>{1, 3, 6};
        QTest::addRow("cumulative and a range") << Ack{1, {{6, 6}}} << QList<std::uint64_t>{1, 6}
                                                << QList<std::uint64_t>{2, 3, 4, 5};
        QTest::addRow("beyond what exists") << Ack{0, {{7, 99}}} << QList<std::uint64_t>{}
                                            << QList<std::uint64_t>{1, 2, 3, 4, 5, 6};
    }

    void storeAckCoversCumulativeAndRanges()
    {
        QFETCH(Ack, ack);
        QFETCH(QList<std::uint64_t>, acked);
        QFETCH(QList<std::uint64_t>, left);
        MemoryBatchStore store;
        for (int i = 0; i < 6; ++i) {
            store.append(sampleAt(i), {});
            store.seal(t0, 600);
        }
        QCOMPARE(sequencesOf(store.acknowledge(ack)), acked);
        QCOMPARE(sequencesOf(store.pending(0, 100)), left);
        // The same ack again is harmless.
        QVERIFY(store.acknowledge(ack).empty());
        for (std::uint64_t seq : acked)
            QVERIFY(ackCovers(ack, seq));
        for (std::uint64_t seq : left)
            QVERIFY(!ackCovers(ack, seq));
    }

    void storeSequencesOnlyMoveForward()
    {
        MemoryBatchStore store;
        store.ensureSequenceAbove(41);
        QCOMPARE(store.nextSequence(), 42u);
        store.ensureSequenceAbove(7); // lower: no effect
        QCOMPARE(store.nextSequence(), 42u);
        store.append(sampleAt(0), {});
        store.seal(t0, 600);
        QCOMPARE(store.pending(0, 1).front().sequence, 42u);
    }

    void storeLimitsDropOldestAndCount()
    {
        MemoryBatchStore store;
        for (int i = 0; i < 10; ++i) {
            store.append(sampleAt(i), {});
            store.seal(t0 + i * 1000, 600);
        }
        const std::uint64_t perBatch = store.backlogBytes() / 10;
        // Room for four batches: the six oldest go, and their samples are counted.
        store.setLimits(4 * perBatch + perBatch / 2, 3600 * 1000, t0 + 10000);
        QCOMPARE(sequencesOf(store.pending(0, 100)), (QList<std::uint64_t>{7, 8, 9, 10}));
        QCOMPARE(store.droppedTotal(), 6u);
        // Age: a batch older than the limit goes, whatever the size.
        store.setLimits(1 << 30, 5000, t0 + 12500);
        QCOMPARE(sequencesOf(store.pending(0, 100)), (QList<std::uint64_t>{9, 10}));
        QCOMPARE(store.droppedTotal(), 8u);
        // The next batch carries the count, so the server sees the gap.
        store.append(sampleAt(11), {});
        store.seal(t0 + 12500, 600);
        const DecodeResult r = codec::decode(store.pending(10, 1).front().payload);
        QCOMPARE(std::get<SampleBatch>(*r.message).droppedTotal, 8u);
    }

    void storeLimitsDropOpenSamplesLast()
    {
        MemoryBatchStore store;
        store.append(sampleAt(0), {});
        const std::uint64_t one = store.openSampleCount(); // 1
        QCOMPARE(one, 1u);
        store.setLimits(1, 3600 * 1000, t0); // nothing fits
        QCOMPARE(store.openSampleCount(), 0u);
        QCOMPARE(store.droppedTotal(), 1u);
    }

    // --- AgentEngine: when to sample and seal ---

    void samplesWhenDue()
    {
        Rig rig;
        rig.engine.start();
        QCOMPARE(rig.engine.nextDueMs(), 0); // phase 0: the first sample at once
        rig.engine.runDue();
        QCOMPARE(rig.engine.samplesTaken(), 1u);
        QCOMPARE(rig.engine.nextDueMs(), 1000);
        rig.clock.advance(999);
        rig.engine.runDue();
        QCOMPARE(rig.engine.samplesTaken(), 1u); // not yet
        rig.clock.advance(1);
        rig.engine.runDue();
        QCOMPARE(rig.engine.samplesTaken(), 2u);
        // Late by less than an interval: the grid holds.
        rig.clock.advance(1300);
        rig.engine.runDue();
        QCOMPARE(rig.engine.samplesTaken(), 3u);
        QCOMPARE(rig.engine.nextDueMs(), 3000);
        // Stalled for five intervals: one sample, no burst, and a fresh start from now.
        rig.clock.advance(5000);
        rig.engine.runDue();
        QCOMPARE(rig.engine.samplesTaken(), 4u);
        QCOMPARE(rig.engine.nextDueMs(), rig.clock.monotonicMs() + 1000);
        // Samples carry the wall clock.
        QCOMPARE(rig.store.openSampleCount(), 4u);
    }

    void phaseSpreadsTheFirstSample()
    {
        Rig rig;
        rig.engine.setPhaseMs(2300);
        rig.engine.start();
        rig.engine.runDue();
        QCOMPARE(rig.engine.samplesTaken(), 0u);
        QCOMPARE(rig.engine.nextDueMs(), 300); // 2300 mod the 1 s interval
    }

    void idleEngineDoesNotSample()
    {
        Rig rig;
        rig.engine.setSampling(false);
        rig.engine.start();
        rig.sampleFor(10);
        QCOMPARE(rig.engine.samplesTaken(), 0u);
    }

    void sealsOnlyAfterWelcome()
    {
        Rig rig;
        rig.engine.start();
        rig.sampleFor(12); // two send intervals
        QCOMPARE(rig.store.backlogBatches(), 0u);       // nothing numbered
        QCOMPARE(rig.store.openSampleCount(), 12u);     // but everything kept
        QVERIFY(rig.transport.sent.isEmpty());
        QVERIFY(!rig.engine.sequencesConfirmed());
        // The server says it stores up to 41: numbering starts above, at once.
        rig.engine.onWelcomed(welcomeAt(41));
        QVERIFY(rig.engine.sequencesConfirmed());
        QCOMPARE(rig.transport.sent, QList<std::uint64_t>{42});
        QCOMPARE(rig.transport.sampleCounts, QList<int>{12});
        // From now on every send interval seals.
        rig.sampleFor(5);
        QCOMPARE(rig.transport.sent, (QList<std::uint64_t>{42, 43}));
    }

    void batchSizeFollowsCoreCount_data()
    {
        QTest::addColumn<int>("cores");
        QTest::addColumn<int>("maxSamples");
        QTest::addRow("1 core") << 1 << 600;
        QTest::addRow("8 cores") << 8 << 600;
        QTest::addRow("1024 cores") << 1024 << 124;
        QTest::addRow("65535 cores") << 65535 << 1;
    }

    void batchSizeFollowsCoreCount()
    {
        QFETCH(int, cores);
        QFETCH(int, maxSamples);
        QCOMPARE(AgentEngine::maxSamplesPerBatchFor(cores), std::size_t(maxSamples));
        MemoryBatchStore store;
        SteppedClock clock;
        testdata::FakeSampler sampler(std::min(cores, 1024));
        AgentEngine engine(store, clock);
        engine.setSampler(&sampler);
        engine.setCpuCount(cores);
        engine.onWelcomed(welcomeAt(0));
        for (int i = 0; i < 2 * maxSamples + 1; ++i)
            engine.takeSample();
        QCOMPARE(engine.seal(), 3);
        const auto batches = store.pending(0, 10);
        QCOMPARE(batches[0].sampleCount, std::uint32_t(maxSamples));
        QCOMPARE(batches[2].sampleCount, 1u);
        // Under the server's message cap.
        for (const SpooledBatch &b : batches)
            QVERIFY(std::size_t(b.payload.size()) < std::size_t(protocol::maxMessageBytes));
    }

    // --- AgentEngine: the window, acks and resends ---

    void windowBoundsBatchesInFlight()
    {
        Rig rig;
        rig.engine.setMaxInFlight(2);
        rig.engine.onWelcomed(welcomeAt(0));
        rig.makeBatches(5, 3);
        rig.engine.flush();
        QCOMPARE(rig.transport.sent, (QList<std::uint64_t>{1, 2}));
        QCOMPARE(rig.engine.inFlight(), 2u);
        rig.engine.onAcknowledged(Ack{1, {}});
        QCOMPARE(rig.transport.sent, (QList<std::uint64_t>{1, 2, 3}));
        rig.engine.onAcknowledged(Ack{0, {{2, 3}}});
        QCOMPARE(rig.transport.sent, (QList<std::uint64_t>{1, 2, 3, 4, 5}));
    }

    void ackCoversCumulativeAndRanges()
    {
        Rig rig;
        rig.engine.onWelcomed(welcomeAt(0));
        rig.makeBatches(5, 2);
        rig.engine.flush();
        QCOMPARE(rig.engine.inFlight(), 5u);
        rig.engine.onAcknowledged(Ack{2, {{4, 4}}});
        QCOMPARE(rig.acks.size(), 1u);
        QCOMPARE(sequencesOf(rig.acks[0]), (QList<std::uint64_t>{1, 2, 4}));
        QCOMPARE(rig.acks[0][0].sampleCount, 2u);
        QCOMPARE(rig.engine.inFlight(), 2u);
        QCOMPARE(sequencesOf(rig.store.pending(0, 10)), (QList<std::uint64_t>{3, 5}));
        // A duplicate ack names nothing.
        rig.engine.onAcknowledged(Ack{2, {{4, 4}}});
        QCOMPARE(rig.acks.size(), 1u);
    }

    void resendsUnackedAfterReconnect()
    {
        Rig rig;
        rig.engine.onWelcomed(welcomeAt(0));
        rig.makeBatches(3, 1);
        rig.engine.flush();
        rig.engine.onAcknowledged(Ack{1, {}});
        QCOMPARE(rig.transport.sent, (QList<std::uint64_t>{1, 2, 3}));
        // The link drops: nothing goes while it is down, new batches wait.
        rig.transport.ready = false;
        rig.engine.onLinkDown();
        rig.makeBatches(1, 1);
        rig.engine.flush();
        QCOMPARE(rig.transport.sent.size(), 3);
        // Welcomed again: everything unacked goes again, oldest first; sequence 1 does not.
        rig.transport.ready = true;
        rig.engine.onWelcomed(welcomeAt(1));
        QCOMPARE(rig.transport.sent, (QList<std::uint64_t>{1, 2, 3, 2, 3, 4}));
        // A busy server dropped them: all unacked once more.
        rig.engine.onAcknowledged(Ack{0, {{3, 3}}});
        rig.engine.onResendDue();
        QCOMPARE(rig.transport.sent, (QList<std::uint64_t>{1, 2, 3, 2, 3, 4, 2, 4}));
    }

    void batchSentNamesEveryBatchPutOnTheWire()
    {
        Rig rig;
        QList<std::uint64_t> sent;
        connect(&rig.engine, &AgentEngine::batchSent, this,
                [&sent](const SpooledBatch &b) { sent.append(b.sequence); });
        rig.engine.onWelcomed(welcomeAt(0));
        rig.makeBatches(2, 1);
        rig.engine.flush();
        rig.engine.onLinkDown();
        rig.engine.onWelcomed(welcomeAt(0));
        QCOMPARE(sent, rig.transport.sent);
        QCOMPARE(sent, (QList<std::uint64_t>{1, 2, 1, 2}));
    }

    // --- AgentEngine: config ---

    void configMovesDueTimes()
    {
        Rig rig;
        QSignalSpy applied(&rig.engine, &AgentEngine::configApplied);
        rig.engine.start();
        rig.engine.runDue(); // sample at 0; seal due at 0 too (nothing to seal yet)
        QCOMPARE(rig.engine.nextDueMs(), 1000);
        rig.clock.advance(400);
        // Same intervals (a new revision of other settings): nothing moves.
        AgentConfig config;
        config.revision = 2;
        config.heartbeatIntervalMs = 999;
        rig.engine.applyConfig(config, true);
        QCOMPARE(rig.engine.nextDueMs(), 1000);
        // Shorter: due within one new interval.
        config.revision = 3;
        config.sampleIntervalMs = 100;
        rig.engine.applyConfig(config, true);
        QCOMPARE(rig.engine.nextDueMs(), 500);
        QCOMPARE(applied.size(), 2);
        QCOMPARE(applied.last().first().toUInt(), 3u);
        rig.clock.advance(100);
        rig.engine.runDue();
        QCOMPARE(rig.engine.samplesTaken(), 2u);
        QCOMPARE(rig.engine.nextDueMs(), 600);
        // Longer: the sample already due stays, then the new spacing.
        config.sampleIntervalMs = 10000;
        rig.engine.applyConfig(config, true);
        QCOMPARE(rig.engine.nextDueMs(), 600);
        rig.clock.advance(100);
        rig.engine.runDue();
        QCOMPARE(rig.engine.samplesTaken(), 3u);
        // The seal interval (5 s from the start) is now the earlier of the two.
        QCOMPARE(rig.engine.nextDueMs(), 5000);
    }

    void localOverridesWinOverTheServer()
    {
        Rig rig;
        rig.engine.setIntervalOverrides(250, std::nullopt);
        AgentConfig config;
        config.sampleIntervalMs = 2000;
        config.sendIntervalMs = 3000;
        rig.engine.applyConfig(config, true);
        QCOMPARE(rig.engine.sampleIntervalMs(), 250u);
        QCOMPARE(rig.engine.sendIntervalMs(), 3000u);
    }

    void spoolLimitsApplyOnlyFromTheServer()
    {
        Rig rig;
        rig.engine.onWelcomed(welcomeAt(0));
        rig.transport.ready = false;
        rig.makeBatches(4, 5);
        AgentConfig tiny;
        tiny.spoolMaxBytes = 1;
        rig.engine.applyConfig(tiny, false); // built-in defaults never shrink a spool
        QCOMPARE(rig.store.backlogBatches(), 4u);
        rig.engine.applyConfig(tiny, true);
        QCOMPARE(rig.store.backlogBatches(), 0u);
        QCOMPARE(rig.store.droppedTotal(), 20u);
    }

    void stopSealsAndEndsSampling()
    {
        Rig rig;
        rig.engine.start();
        rig.engine.onWelcomed(welcomeAt(0));
        rig.sampleFor(3); // the first seal is due at once: batch 1 holds the first sample
        rig.engine.stop();
        QVERIFY(rig.engine.isStopped());
        QCOMPARE(rig.transport.sent, (QList<std::uint64_t>{1, 2}));
        QCOMPARE(rig.transport.sampleCounts, (QList<int>{1, 2}));
        rig.sampleFor(20);
        QCOMPARE(rig.engine.samplesTaken(), 3u);
        QCOMPARE(rig.store.openSampleCount(), 0u);
    }
};

QTEST_GUILESS_MAIN(TestAgentEngine)
#include "tst_agentengine.moc"
