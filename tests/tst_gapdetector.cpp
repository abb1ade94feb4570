// SPDX-License-Identifier: MIT
// The ingest gap rules on their own: no database, one client state and one batch per row.
#include "store/gapdetector.h"
#include "testdata.h"

#include <QTest>

#include <algorithm>

using namespace autofact;
using namespace autofact::server;
using Found = GapDetector::Found;
using State = GapDetector::ClientState;

Q_DECLARE_METATYPE(autofact::SampleBatch)
Q_DECLARE_METATYPE(autofact::server::GapDetector::ClientState)
Q_DECLARE_METATYPE(std::vector<autofact::server::GapDetector::Found>)

namespace {

constexpr qint64 kT = 1'700'000'000'000;

/** A batch of @p samples samples 1 s apart from @p startMs, with drop counter @p dropped. */
SampleBatch batch(quint64 sequence, int samples, qint64 startMs, quint64 dropped = 0)
{
    SampleBatch b = testdata::makeBatch(sequence, samples, 0, startMs);
    b.droppedTotal = dropped;
    return b;
}

/** @p b with every sample from index @p from on moved @p shiftMs later (a hole inside it). */
SampleBatch withHole(SampleBatch b, std::size_t from, qint64 shiftMs)
{
    for (std::size_t i = from; i < b.samples.size(); ++i)
        b.samples[i].timestampMs += shiftMs;
    return b;
}

State state(quint64 lastSequence, std::optional<qint64> lastSampleMs, quint64 dropped = 0,
            bool baselinePending = false)
{
    State s;
    s.lastSequence = lastSequence;
    s.lastSampleMs = lastSampleMs;
    s.droppedTotal = dropped;
    s.intervalMs = 1000;
    s.baselinePending = baselinePending;
    return s;
}

} // namespace

class TestGapDetector : public QObject
{
    Q_OBJECT

private slots:
    void detect_data()
    {
        QTest::addColumn<State>("before");
        QTest::addColumn<SampleBatch>("incoming");
        QTest::addColumn<bool>("late");
        QTest::addColumn<std::vector<Found>>("expected");

        QTest::addRow("first batch of a new client")
                << state(0, std::nullopt) << batch(1, 5, kT) << false << std::vector<Found>{};
        QTest::addRow("next batch, contiguous")
                << state(1, kT + 4000) << batch(2, 5, kT + 5000) << false << std::vector<Found>{};
        QTest::addRow("exactly three intervals of silence is no gap")
                << state(1, kT) << batch(2, 1, kT + 3000) << false << std::vector<Found>{};
        QTest::addRow("agent offline: an hour of silence, sequence contiguous")
                << state(1, kT) << batch(2, 1, kT + 3'600'000) << false
                << std::vector<Found>{{kT, kT + 3'600'000, QStringLiteral("agent offline"), 3599, 0, 0}};
        QTest::addRow("sequence gap: batches 2..4 missing")
                << state(1, kT) << batch(5, 1, kT + 10'000) << false
                << std::vector<Found>{{kT, kT + 10'000, QStringLiteral("sequence gap"), 9, 2, 4}};
        QTest::addRow("sequence gap explains the silence: no offline gap too")
                << state(1, kT) << batch(3, 1, kT + 3'600'000) << false
                << std::vector<Found>{{kT, kT + 3'600'000, QStringLiteral("sequence gap"), 3599, 2, 2}};
        QTest::addRow("drop counter went up by 7")
                << state(4, kT, 3) << batch(5, 1, kT + 1000, 10) << false
                << std::vector<Found>{{kT, kT + 1000, QStringLiteral("agent dropped 7 samples"), 7, 0, 0}};
        QTest::addRow("drops and silence: both reasons")
                << state(4, kT, 0) << batch(5, 1, kT + 60'000, 2) << false
                << std::vector<Found>{{kT, kT + 60'000, QStringLiteral("agent dropped 2 samples"), 2, 0, 0},
                                      {kT, kT + 60'000, QStringLiteral("agent offline"), 59, 0, 0}};
        QTest::addRow("late resend records nothing")
                << state(9, kT + 100'000, 0) << batch(3, 1, kT, 5) << true << std::vector<Found>{};
        QTest::addRow("re-enrolled client: first batch is the baseline")
                << state(0, std::nullopt, 0, true) << batch(5000, 1, kT, 40) << false
                << std::vector<Found>{};
        QTest::addRow("empty batch after a sequence gap ends at the last sample")
                << state(1, kT) << batch(3, 0, 0) << false
                << std::vector<Found>{{kT, kT, QStringLiteral("sequence gap"), 0, 2, 2}};
        // kill -STOP for 53 s: the agent sends its old samples and the new ones in one batch.
        QTest::addRow("agent stalled inside a batch")
                << state(1, kT) << withHole(batch(2, 5, kT + 1000), 3, 53'000) << false
                << std::vector<Found>{{kT + 3000, kT + 57'000, QStringLiteral("agent stalled (54 s)"), 53, 0, 0, true}};
        QTest::addRow("sampling late inside a batch: 2.5 s at 1 s")
                << state(1, kT) << withHole(batch(2, 4, kT + 1000), 2, 1500) << false
                << std::vector<Found>{{kT + 2000, kT + 4500, QStringLiteral("sampling late (3 s)"), 2, 0, 0, false}};
        QTest::addRow("within the margin is on time: 1.4 s at 1 s")
                << state(1, kT) << withHole(batch(2, 4, kT + 1000), 2, 400) << false << std::vector<Found>{};
        QTest::addRow("a late batch still records its own stall")
                << state(9, kT + 100'000) << withHole(batch(3, 3, kT), 2, 10'000) << true
                << std::vector<Found>{{kT + 1000, kT + 12'000, QStringLiteral("agent stalled (11 s)"), 10, 0, 0, true}};
        QTest::addRow("offline before the batch and stalled inside it: both")
                << state(1, kT) << withHole(batch(2, 3, kT + 60'000), 1, 9000) << false
                << std::vector<Found>{{kT, kT + 60'000, QStringLiteral("agent offline"), 59, 0, 0},
                                      {kT + 60'000, kT + 70'000, QStringLiteral("agent stalled (10 s)"), 9, 0, 0, true}};
        QTest::addRow("batch older than the newest sample: gap starts at its first sample")
                << state(1, kT + 50'000) << batch(3, 1, kT) << false
                << std::vector<Found>{{kT, kT, QStringLiteral("sequence gap"), 0, 2, 2}};
    }

    void detect()
    {
        QFETCH(State, before);
        QFETCH(SampleBatch, incoming);
        QFETCH(bool, late);
        QFETCH(std::vector<Found>, expected);
        const std::vector<Found> got = GapDetector::detect(before, incoming, late, kT + 10'000'000);
        QCOMPARE(got.size(), expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            QCOMPARE(got[i].reason, expected[i].reason);
            QCOMPARE(got[i].startMs, expected[i].startMs);
            QCOMPARE(got[i].endMs, expected[i].endMs);
            QCOMPARE(got[i].samplesLost, expected[i].samplesLost);
            QCOMPARE(got[i].sequenceFirst, expected[i].sequenceFirst);
            QCOMPARE(got[i].sequenceLast, expected[i].sequenceLast);
            QCOMPARE(got[i].stalled, expected[i].stalled);
        }
    }

    void silenceOnTheSameConnectionIsAStall()
    {
        // The batch before came over this connection: the agent was frozen, not gone.
        const auto stalled = GapDetector::detect(state(1, kT), batch(2, 1, kT + 60'000), false, kT, true);
        QCOMPARE(stalled.size(), 1u);
        QCOMPARE(stalled.front().reason, QStringLiteral("agent stalled (1 min)"));
        QVERIFY(stalled.front().stalled);
        QVERIFY(GapDetector::averagesTheSampleAfter(stalled.front().reason));
        // A new connection: the agent may have been down; it is "agent offline" as before.
        const auto offline = GapDetector::detect(state(1, kT), batch(2, 1, kT + 60'000), false, kT, false);
        QCOMPARE(offline.front().reason, QStringLiteral("agent offline"));
        QVERIFY(!GapDetector::averagesTheSampleAfter(offline.front().reason));
    }

    void aRunOfLateSamplesIsOneGap()
    {
        // An agent sampling every 2 s at a 1 s interval (starved of CPU): one gap per batch,
        // not one per sample, covering the whole run.
        SampleBatch b = batch(2, 6, kT);
        for (std::size_t i = 0; i < b.samples.size(); ++i)
            b.samples[i].timestampMs = kT + qint64(i) * 2000;
        const auto gaps = GapDetector::detectWithin(b, 1000);
        QCOMPARE(gaps.size(), 1u);
        QCOMPARE(gaps.front().startMs, kT);
        QCOMPARE(gaps.front().endMs, kT + 10'000);
        QCOMPARE(gaps.front().reason, QStringLiteral("sampling late (10 s)"));
        QCOMPARE(gaps.front().samplesLost, 5u);
        // Out of order in the message, in order in time.
        std::reverse(b.samples.begin(), b.samples.end());
        QCOMPARE(GapDetector::detectWithin(b, 1000), gaps);
    }

    void spacingClasses_data()
    {
        QTest::addColumn<qint64>("spacing");
        QTest::addColumn<qint64>("interval");
        QTest::addColumn<int>("expected");
        using S = GapDetector::Spacing;
        QTest::addRow("on time") << qint64(1000) << qint64(1000) << int(S::OnTime);
        QTest::addRow("1.5 s at 1 s") << qint64(1500) << qint64(1000) << int(S::OnTime);
        QTest::addRow("1.501 s at 1 s") << qint64(1501) << qint64(1000) << int(S::Late);
        QTest::addRow("3 s at 1 s") << qint64(3000) << qint64(1000) << int(S::Late);
        QTest::addRow("3.001 s at 1 s") << qint64(3001) << qint64(1000) << int(S::Stalled);
        // Fast sampling: the margin is at least 500 ms, so scheduler jitter is not a gap.
        QTest::addRow("250 ms at 100 ms") << qint64(250) << qint64(100) << int(S::OnTime);
        QTest::addRow("601 ms at 250 ms") << qint64(601) << qint64(250) << int(S::OnTime);
        QTest::addRow("751 ms at 250 ms") << qint64(751) << qint64(250) << int(S::Late);
        QTest::addRow("2.25 s at 250 ms") << qint64(2250) << qint64(250) << int(S::Late);
        QTest::addRow("2.251 s at 250 ms") << qint64(2251) << qint64(250) << int(S::Stalled);
        QTest::addRow("31 s at 10 s") << qint64(31'000) << qint64(10'000) << int(S::Stalled);
        QTest::addRow("16 s at 10 s") << qint64(16'000) << qint64(10'000) << int(S::Late);
    }

    void spacingClasses()
    {
        QFETCH(qint64, spacing);
        QFETCH(qint64, interval);
        QFETCH(int, expected);
        QCOMPARE(int(GapDetector::classify(spacing, interval)), expected);
    }

    void intervalComesFromTheClient()
    {
        // At 10 s sampling, 35 s of silence is more than three intervals; 25 s is not.
        State s = state(1, kT);
        s.intervalMs = 10'000;
        QCOMPARE(GapDetector::detect(s, batch(2, 1, kT + 25'000), false, kT).size(), 0u);
        const auto gaps = GapDetector::detect(s, batch(2, 1, kT + 35'000), false, kT);
        QCOMPARE(gaps.size(), 1u);
        QCOMPARE(gaps.front().samplesLost, 3u);
    }

    void stateAfterABatch()
    {
        const qint64 now = kT + 60'000;
        const State before = state(4, kT, 3, true);
        const State after = GapDetector::after(before, batch(5, 10, kT + 1000, 9), false, now);
        QCOMPARE(after.lastSequence, 5u);
        QCOMPARE(*after.lastSampleMs, kT + 10'000);
        QCOMPARE(after.droppedTotal, 9u);
        QVERIFY(!after.baselinePending);
        // A late batch neither lowers the high-water mark nor moves the drop counter back.
        const State late = GapDetector::after(after, batch(2, 1, kT - 5000, 1), true, now);
        QCOMPARE(late.lastSequence, 5u);
        QCOMPARE(*late.lastSampleMs, kT + 10'000);
        QCOMPARE(late.droppedTotal, 9u);
        // An empty batch keeps the newest sample time (and none stays none).
        QCOMPARE(*GapDetector::after(after, batch(6, 0, 0), false, now).lastSampleMs, kT + 10'000);
        QVERIFY(!GapDetector::after(state(0, std::nullopt), batch(1, 0, 0), false, now).lastSampleMs);
    }

    void futureTimestampsAreCappedBySkewAllowance()
    {
        const qint64 now = kT;
        const qint64 decade = 10ll * 365 * 86'400'000;
        const State after = GapDetector::after(state(0, std::nullopt), batch(1, 1, kT + decade), false, now);
        QCOMPARE(*after.lastSampleMs, now + GapDetector::clockSkewAllowanceMs);
    }

    void estimateLost_data()
    {
        QTest::addColumn<qint64>("start");
        QTest::addColumn<qint64>("end");
        QTest::addColumn<qint64>("interval");
        QTest::addColumn<quint64>("lost");
        QTest::addRow("one interval") << kT << kT + 1000 << qint64(1000) << quint64(0);
        QTest::addRow("ten intervals") << kT << kT + 10'000 << qint64(1000) << quint64(9);
        QTest::addRow("rounds to nearest") << kT << kT + 10'400 << qint64(1000) << quint64(9);
        QTest::addRow("backwards") << kT << kT - 10'000 << qint64(1000) << quint64(0);
        QTest::addRow("zero interval") << kT << kT + 10'000 << qint64(0) << quint64(0);
        QTest::addRow("overflowing span")
                << std::numeric_limits<qint64>::min() << std::numeric_limits<qint64>::max()
                << qint64(1000) << quint64(0);
    }

    void estimateLost()
    {
        QFETCH(qint64, start);
        QFETCH(qint64, end);
        QFETCH(qint64, interval);
        QFETCH(quint64, lost);
        QCOMPARE(GapDetector::estimateLost(start, end, interval), lost);
    }
};

QTEST_GUILESS_MAIN(TestGapDetector)
#include "tst_gapdetector.moc"
