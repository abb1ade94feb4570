#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark 1, fleet: 1,000 agents sampling every 1 s and sending every 5 s for 2 minutes.
# Targets: every sample acked, ack latency p99 <= 250 ms, server <= 25 % of one core.
#   bench/scale-fleet.sh            (AGENTS=1000 DURATION=2m RAMP=10s to change)
# The load generator's intervals are also given to the server as its pushed defaults, so
# both sides agree; the loadgen's local override is what the agents actually use.
source "$(dirname "$0")/scale-lib.sh"
AGENTS=${AGENTS:-1000}
DURATION=${DURATION:-2m}
RAMP=${RAMP:-10s}
scale_workdir fleet

start_server 127.0.0.1:0 "$WORK/server.db" --sample-interval 1s --send-interval 5s
# First pass enrolls the fleet (state file); the measured pass is "welcome back", as a
# restarted server would see it.
"$LOADGEN_BIN" --server "$SERVER_URL" "${LOADGEN_AUTH[@]}" --agents "$AGENTS" --state "$WORK/state.json" \
  --duration 5s --ramp 3s --quiet >"$WORK/enroll.txt"
cpu0=$(proc_cpu_s "$SERVER_PID"); t0=$(date +%s.%N)
"$LOADGEN_BIN" --server "$SERVER_URL" "${LOADGEN_AUTH[@]}" --agents "$AGENTS" --state "$WORK/state.json" \
  --sample-interval 1s --send-interval 5s --duration "$DURATION" --ramp "$RAMP" \
  --report-interval 10s --report "$WORK/loadgen.json" >"$WORK/loadgen.txt" &
LOADGEN_PID=$!
tail --pid="$LOADGEN_PID" -n +1 -f "$WORK/loadgen.txt" # progress for the reader only
loadgen_report "$WORK/loadgen.json" "$LOADGEN_PID"
t1=$(date +%s.%N); cpu1=$(proc_cpu_s "$SERVER_PID"); hwm=$(proc_hwm_mib "$SERVER_PID")
stop_server
stored=$(sqlite3 "$WORK/server.db" 'SELECT (SELECT count(*) FROM samples) + (SELECT coalesce(sum(samples), 0) FROM sample_chunks)')

jq -n --slurpfile lg "$WORK/loadgen.json" --argjson machine "$(machine_json)" \
  --argjson cpu "$(echo "$cpu1 - $cpu0" | bc)" --argjson wall "$(echo "$t1 - $t0" | bc)" \
  --argjson hwm "$hwm" --argjson stored "$stored" '
  $lg[0] as $l | {
    benchmark: "fleet", machine: $machine, agents: $l.agents,
    samples_taken: $l.samples_taken, samples_acked: $l.samples_acked,
    samples_unacked: $l.samples_unacked, samples_in_db_total: $stored,
    ack_p50_ms: $l.ack_latency.p50_ms, ack_p99_ms: $l.ack_latency.p99_ms, ack_max_ms: $l.ack_latency.max_ms,
    reconnects: $l.reconnects, errors: $l.errors,
    server_cpu_s: $cpu, wall_s: $wall, server_core_pct: (100 * $cpu / $wall),
    server_peak_rss_mib: $hwm, loadgen_cpu_s: $l.loadgen_cpu_s,
    loadgen_core_pct: (100 * $l.loadgen_cpu_s / $wall),
    pass: ($l.samples_unacked == 0 and $l.ack_latency.p99_ms <= 250 and (100 * $cpu / $wall) <= 25)
  }' | tee "$WORK/result.json"
