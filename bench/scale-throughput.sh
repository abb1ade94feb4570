#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark 3, throughput: agents come with large backlogs (as after an outage) and the
# server ingests as fast as it can, acking each batch only after its group commit
# (synchronous=FULL). The same run measures the raw SQLite insert ceiling of this machine with
# bench_store (same table, index and transaction size, no server). Target >= 100,000 samples/s.
#   bench/scale-throughput.sh       (AGENTS=200 BACKLOG=15000 to change)
source "$(dirname "$0")/scale-lib.sh"
AGENTS=${AGENTS:-200}
BACKLOG=${BACKLOG:-15000}
DURATION=${DURATION:-90s}
BENCH_STORE=${BENCH_STORE:-$BUILD/bench/bench_store}
scale_workdir throughput

# The raw ceiling first, on an idle machine.
"$BENCH_STORE" --benchmark_filter='(BM_StoreIngest|BM_RawSqliteInsert)/full:1/batches:1000/' \
  --benchmark_format=json >"$WORK/bench_store.json" 2>"$WORK/bench_store.err"

start_server 127.0.0.1:0 "$WORK/server.db"
# Enroll first, so the measured pass is only ingest.
"$LOADGEN_BIN" --server "$SERVER_URL" "${LOADGEN_AUTH[@]}" --agents "$AGENTS" --state "$WORK/state.json" \
  --sample-interval 0 --duration 3s --quiet >"$WORK/enroll.txt"
cpu0=$(proc_cpu_s "$SERVER_PID"); t0=$(date +%s.%N)
# No sampling (--sample-interval 0): only the backlog moves. The run ends when everything is acked.
"$LOADGEN_BIN" --server "$SERVER_URL" "${LOADGEN_AUTH[@]}" --agents "$AGENTS" --state "$WORK/state.json" \
  --backlog "$BACKLOG" --sample-interval 0 --duration "$DURATION" \
  --drain-timeout 0 --report-interval 1s --report "$WORK/loadgen.json" >"$WORK/loadgen.txt" &
LOADGEN_PID=$!
# Stop as soon as the backlog is gone (the loadgen's duration is only a bound). The newest whole
# progress line decides, alone: every agent connected (so every backlog is counted as taken)
# and nothing unacknowledged, both in that one snapshot. Earlier lines are never consulted: the
# first, printed before any backlog existed, also read "unacked 0".
while kill -0 "$LOADGEN_PID" 2>/dev/null; do
  sleep 1
  last=$(complete_lines "$WORK/loadgen.txt" | grep -E '^\[ *[0-9.]+s\] connected ' | tail -n 1 || true)
  if [[ $last =~ \ connected\ ([0-9]+)/([0-9]+)\ .*\|\ unacked\ ([0-9]+)\ \| ]] \
     && [ "${BASH_REMATCH[1]}" = "$AGENTS" ] && [ "${BASH_REMATCH[3]}" = 0 ]; then
    kill -INT "$LOADGEN_PID" 2>/dev/null || true
    break
  fi
done
# Figures and verdict come from the final report only, read after the loadgen exited.
loadgen_report "$WORK/loadgen.json" "$LOADGEN_PID"
t1=$(date +%s.%N); cpu1=$(proc_cpu_s "$SERVER_PID"); hwm=$(proc_hwm_mib "$SERVER_PID")
stop_server
cat "$WORK/loadgen.txt"
stored=$(sqlite3 "$WORK/server.db" 'SELECT (SELECT count(*) FROM samples) + (SELECT coalesce(sum(samples), 0) FROM sample_chunks)')

jq -n --slurpfile lg "$WORK/loadgen.json" --slurpfile bs "$WORK/bench_store.json" \
  --argjson machine "$(machine_json)" --argjson stored "$stored" \
  --argjson cpu "$(echo "$cpu1 - $cpu0" | bc)" --argjson wall "$(echo "$t1 - $t0" | bc)" \
  --argjson hwm "$hwm" '
  $lg[0] as $l
  | ([$l.intervals[] | select(.acked_per_s > 0) | .acked_per_s]) as $r
  | (if ($r | length) > 2 then ($r[1:-1] | add / length) else ($r | add / ([length,1] | max)) end) as $sustained
  | ($bs[0].benchmarks | map({(.name | split("/")[0]): .items_per_second}) | add) as $ceil
  | {
    benchmark: "throughput", machine: $machine, agents: $l.agents, backlog_per_agent: $l.backlog_samples,
    samples_acked: $l.samples_acked, samples_unacked: $l.samples_unacked, samples_in_db: $stored,
    acked_per_s_sustained: $sustained, acked_per_s_peak_1s: ($r | max),
    ack_p50_ms: $l.ack_latency.p50_ms, ack_p99_ms: $l.ack_latency.p99_ms,
    raw_sqlite_rows_per_s: $ceil.BM_RawSqliteInsert, store_ingest_rows_per_s: $ceil.BM_StoreIngest,
    end_to_end_vs_raw: ($sustained / $ceil.BM_RawSqliteInsert),
    server_cpu_s: $cpu, wall_s: $wall, server_core_pct: (100 * $cpu / $wall), server_peak_rss_mib: $hwm,
    loadgen_cpu_s: $l.loadgen_cpu_s,
    pass: ($sustained >= 100000 and $l.samples_unacked == 0
           and $l.samples_acked == $l.agents * $l.backlog_samples and $stored == $l.samples_acked)
  }' | tee "$WORK/result.json"
