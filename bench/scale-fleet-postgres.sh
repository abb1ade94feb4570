#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark 1 on a shared store: the fleet (1,000 agents sampling every 1 s, sending every 5 s,
# 2 minutes) split over two headless ingest nodes on one PostgreSQL database.
# Targets (issue 16): every sample acked, ack latency p99 <= 250 ms; and what the database holds
# equals what was acked (0 lost, 0 stored twice).
#   tests/with-postgres.sh bench/scale-fleet-postgres.sh      (AGENTS=1000 DURATION=2m RAMP=10s)
# Needs AUTOFACT_TEST_POSTGRES (a libpq URI of an admin database; tests/with-postgres.sh sets it
# and PGPASSWORD). A fresh database is created on that server for each run and left there.
# Each node gets its own data folder (XDG_DATA_HOME), so over wss:// each has its own
# certificate, as two machines would; each load generator pins its own node's fingerprint.
# Ack latency: the load generator reports quantiles, not histograms, so the p99 over both is
# given as the larger of the two p99s (an upper bound of the combined p99: each half has at most
# 1 % of its batches above its own p99, so at most 1 % of all batches lie above the larger one).
# Also SCHEME=ws|wss (default wss) and WORK=dir, as in scale-lib.sh. Like scale-fleet.sh it exits
# 0 once it has a result: the verdict is result.json's "pass" (all acked, p99 <= 250 ms, stored
# = acked with no duplicate rows), and "pass_streaming" the same with the p99 of the acks before
# the load generators began to stop (without the burst of every agent's last batch at once);
# node and PostgreSQL CPU are reported, not judged.
source "$(dirname "$0")/scale-lib.sh"
AGENTS=${AGENTS:-1000}
DURATION=${DURATION:-2m}
RAMP=${RAMP:-10s}

if [ -z "${AUTOFACT_TEST_POSTGRES:-}" ]; then
  echo "scale-fleet-postgres: AUTOFACT_TEST_POSTGRES is not set; run it under a throwaway cluster:" >&2
  echo "  tests/with-postgres.sh bench/scale-fleet-postgres.sh" >&2
  exit 2
fi
for tool in psql jq bc; do
  command -v "$tool" >/dev/null || { echo "scale-fleet-postgres: $tool is missing" >&2; exit 2; }
done
for bin in "$SERVER_BIN" "$LOADGEN_BIN"; do
  [ -x "$bin" ] || { echo "scale-fleet-postgres: $bin is missing (build it first)" >&2; exit 2; }
done
(( AGENTS >= 2 )) || { echo "scale-fleet-postgres: AGENTS must be at least 2" >&2; exit 2; }
scale_workdir fleet-postgres

DB_NAME=autofact_fleet_$$_$(date +%s)
psql -q -v ON_ERROR_STOP=1 -d "$AUTOFACT_TEST_POSTGRES" -c "CREATE DATABASE $DB_NAME"
DB=${AUTOFACT_TEST_POSTGRES%/*}/$DB_NAME
echo "database $DB" >&2
sql() { psql -qAt -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

# start_node NAME [flags...]: like scale-lib's start_server, for one of several nodes: sets
# NODE_PID[NAME], NODE_URL[NAME] and NODE_FPR[NAME]; logs in $WORK/NAME.out and NAME.err.
declare -A NODE_PID NODE_URL NODE_FPR
start_node() {
  local name=$1; shift
  local scheme_flags=()
  [ "$SCHEME" = ws ] && scheme_flags=(--insecure-ws)
  mkdir -p "$WORK/$name"
  XDG_DATA_HOME=$WORK/$name "$SERVER_BIN" --headless --listen 127.0.0.1:0 --db "$DB" \
    "${scheme_flags[@]}" "$@" >"$WORK/$name.out" 2>>"$WORK/$name.err" &
  NODE_PID[$name]=$!
  local url fingerprint
  for _ in $(seq 300); do
    url=$(complete_lines "$WORK/$name.out" | sed -n 's/^listening on \(wss\{0,1\}:\/\/[^ ]*\)$/\1/p')
    fingerprint=$(complete_lines "$WORK/$name.out" | sed -n 's/^certificate //p')
    if [ -n "$url" ] && { [ "$SCHEME" = ws ] || [ -n "$fingerprint" ]; }; then
      NODE_URL[$name]=$url
      NODE_FPR[$name]=$fingerprint
      return 0
    fi
    kill -0 "${NODE_PID[$name]}" 2>/dev/null || { echo "node $name failed:" >&2; cat "$WORK/$name.err" >&2; return 1; }
    sleep 0.1
  done
  echo "node $name did not report its URL" >&2
  return 1
}
stop_node() {
  local pid=${NODE_PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  NODE_PID[$1]=
}
LOADGEN_PIDS=()
LOAD_PID=
cleanup() {
  for p in "${LOADGEN_PIDS[@]}" $LOAD_PID; do kill -TERM "$p" 2>/dev/null || true; done
  stop_node a; stop_node b
}
trap cleanup EXIT


# PostgreSQL's CPU: the postmaster and every process it forked (backends, walwriter,
# checkpointer, autovacuum, ...), plus what its exited children used (cutime + cstime).
PG_POSTMASTER=
pg_dir=$(psql -qAt -d "$AUTOFACT_TEST_POSTGRES" -c 'SHOW data_directory' 2>/dev/null || true)
if [ -n "$pg_dir" ] && [ -r "$pg_dir/postmaster.pid" ]; then
  PG_POSTMASTER=$(head -n1 "$pg_dir/postmaster.pid")
  kill -0 "$PG_POSTMASTER" 2>/dev/null || PG_POSTMASTER=
fi
[ -n "$PG_POSTMASTER" ] || echo "note: PostgreSQL's postmaster is not readable from here; its CPU is not measured" >&2
pg_cpu_s() {
  [ -n "$PG_POSTMASTER" ] || { echo null; return; }
  local f
  for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null || true; done |
    awk -v t="$CLK_TCK" -v pm="$PG_POSTMASTER" '{
      pid = $1; sub(/^.*\) /, "")
      if (pid == pm) s += $12 + $13 + $14 + $15
      else if ($2 == pm) s += $12 + $13
    } END { printf "%.2f\n", s / t }'
}

stored_sql='SELECT (SELECT count(*) FROM samples) + (SELECT coalesce(sum(samples), 0) FROM sample_chunks)'

start_node a --sample-interval 1s --send-interval 5s
start_node b --sample-interval 1s --send-interval 5s
# One multi-use token for the whole fleet, on both nodes (it lives in the shared database).
TOKEN=$("$SERVER_BIN" token create --db "$DB" --uses 1000000 --expires 0 --label "scale benchmark (postgres)" 2>>"$WORK/token.err" | head -n1)
[ -n "$TOKEN" ] || { echo "no enrolment token:" >&2; cat "$WORK/token.err" >&2; exit 1; }
# Each load generator's --token and --fingerprint (its own node's) or --insecure.
if [ "$SCHEME" = ws ]; then
  AUTH_A=(--token "$TOKEN" --insecure); AUTH_B=(--token "$TOKEN" --insecure)
else
  AUTH_A=(--token "$TOKEN" --fingerprint "${NODE_FPR[a]}"); AUTH_B=(--token "$TOKEN" --fingerprint "${NODE_FPR[b]}")
fi
HALF_A=$(( AGENTS / 2 )); HALF_B=$(( AGENTS - HALF_A ))
echo "node a ${NODE_URL[a]} ($HALF_A agents), node b ${NODE_URL[b]} ($HALF_B agents)" >&2

# First pass enrolls each half on its node (state files); the measured pass is "welcome back".
"$LOADGEN_BIN" --server "${NODE_URL[a]}" "${AUTH_A[@]}" --agents "$HALF_A" --state "$WORK/state-a.json" \
  --duration 5s --ramp 3s --quiet --report "$WORK/enroll-a.json" >"$WORK/enroll-a.txt" &
enroll_a=$!
"$LOADGEN_BIN" --server "${NODE_URL[b]}" "${AUTH_B[@]}" --agents "$HALF_B" --state "$WORK/state-b.json" \
  --duration 5s --ramp 3s --quiet --report "$WORK/enroll-b.json" >"$WORK/enroll-b.txt" &
enroll_b=$!
LOADGEN_PIDS=("$enroll_a" "$enroll_b")
loadgen_report "$WORK/enroll-a.json" "$enroll_a"
loadgen_report "$WORK/enroll-b.json" "$enroll_b"
stored0=$(sql "$stored_sql")

# Load average during the measured pass (other work on the machine shows here), every 5 s.
( while :; do echo "$(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 5; done ) >"$WORK/loadavg.txt" &
LOAD_PID=$!

cpu_a0=$(proc_cpu_s "${NODE_PID[a]}"); cpu_b0=$(proc_cpu_s "${NODE_PID[b]}"); pg0=$(pg_cpu_s)
t0=$(date +%s.%N)
"$LOADGEN_BIN" --server "${NODE_URL[a]}" "${AUTH_A[@]}" --agents "$HALF_A" --state "$WORK/state-a.json" \
  --sample-interval 1s --send-interval 5s --duration "$DURATION" --ramp "$RAMP" \
  --report-interval 10s --report "$WORK/loadgen-a.json" >"$WORK/loadgen-a.txt" &
lg_a=$!
"$LOADGEN_BIN" --server "${NODE_URL[b]}" "${AUTH_B[@]}" --agents "$HALF_B" --state "$WORK/state-b.json" \
  --sample-interval 1s --send-interval 5s --duration "$DURATION" --ramp "$RAMP" \
  --report-interval 10s --report "$WORK/loadgen-b.json" >"$WORK/loadgen-b.txt" &
lg_b=$!
LOADGEN_PIDS=("$lg_a" "$lg_b")
tail --pid="$lg_a" -n +1 -f "$WORK/loadgen-a.txt" | sed -u 's/^/[a] /' & # progress for the reader only
tail_a=$!
tail --pid="$lg_b" -n +1 -f "$WORK/loadgen-b.txt" | sed -u 's/^/[b] /' &
tail_b=$!
code=0
loadgen_report "$WORK/loadgen-a.json" "$lg_a" || code=1
loadgen_report "$WORK/loadgen-b.json" "$lg_b" || code=1
t1=$(date +%s.%N)
cpu_a1=$(proc_cpu_s "${NODE_PID[a]}"); cpu_b1=$(proc_cpu_s "${NODE_PID[b]}"); pg1=$(pg_cpu_s)
hwm_a=$(proc_hwm_mib "${NODE_PID[a]}"); hwm_b=$(proc_hwm_mib "${NODE_PID[b]}")
kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; LOAD_PID=
LOADGEN_PIDS=()
wait "$tail_a" "$tail_b" 2>/dev/null || true # the progress tails
[ "$code" = 0 ] || exit 1
stop_node a; stop_node b

stored1=$(sql "$stored_sql")
rows=$(sql 'SELECT count(*) FROM samples')
distinct_rows=$(sql 'SELECT count(*) FROM (SELECT DISTINCT client, ts_ms FROM samples) t')
pg_version=$(psql -qAt -d "$DB" -c 'SHOW server_version')
if [ -n "$PG_POSTMASTER" ]; then pg_cpu=$(echo "$pg1 - $pg0" | bc); else pg_cpu=null; fi

jq -n --slurpfile a "$WORK/loadgen-a.json" --slurpfile b "$WORK/loadgen-b.json" \
  --slurpfile ea "$WORK/enroll-a.json" --slurpfile eb "$WORK/enroll-b.json" \
  --argjson machine "$(machine_json)" --arg pg_version "$pg_version" --arg db "$DB" \
  --argjson cpu_a "$(echo "$cpu_a1 - $cpu_a0" | bc)" --argjson cpu_b "$(echo "$cpu_b1 - $cpu_b0" | bc)" \
  --argjson pg_cpu "$pg_cpu" --argjson wall "$(echo "$t1 - $t0" | bc)" \
  --argjson hwm_a "$hwm_a" --argjson hwm_b "$hwm_b" \
  --argjson stored0 "$stored0" --argjson stored1 "$stored1" \
  --argjson rows "$rows" --argjson distinct_rows "$distinct_rows" \
  --rawfile loadavg "$WORK/loadavg.txt" '
  $a[0] as $a | $b[0] as $b | ($ea[0].samples_acked + $eb[0].samples_acked) as $enrolled |
  ($loadavg | split("\n") | map(select(length > 0) | split(" ") | (.[1] | tonumber))) as $la1 |
  ($a.samples_acked + $b.samples_acked) as $acked |
  ([$a.ack_latency.p99_ms, $b.ack_latency.p99_ms] | max) as $p99 |
  ([$a.ack_latency_before_drain.p99_ms, $b.ack_latency_before_drain.p99_ms] | max) as $p99_streaming |
  (($a.samples_unacked + $b.samples_unacked) == 0 and ($ea[0].samples_unacked + $eb[0].samples_unacked) == 0) as $all_acked |
  {
    benchmark: "fleet-postgres", machine: ($machine + {postgres: $pg_version}),
    nodes: 2, agents: ($a.agents + $b.agents), agents_per_node: [$a.agents, $b.agents],
    samples_taken: ($a.samples_taken + $b.samples_taken), samples_acked: $acked,
    samples_unacked: ($a.samples_unacked + $b.samples_unacked),
    ack_p50_ms_per_node: [$a.ack_latency.p50_ms, $b.ack_latency.p50_ms],
    ack_p99_ms_per_node: [$a.ack_latency.p99_ms, $b.ack_latency.p99_ms],
    ack_p99_ms: $p99,
    ack_p99_note: "larger of the two nodes p99 (the loadgen reports quantiles, not histograms): an upper bound of the p99 over both",
    ack_max_ms: ([$a.ack_latency.max_ms, $b.ack_latency.max_ms] | max),
    ack_p99_ms_streaming: $p99_streaming,
    ack_p99_ms_drain: ([$a.ack_latency_drain.p99_ms, $b.ack_latency_drain.p99_ms] | max),
    ack_batches_streaming_drain: [($a.ack_latency_before_drain.count + $b.ack_latency_before_drain.count),
                                  ($a.ack_latency_drain.count + $b.ack_latency_drain.count)],
    ack_streaming_note: "streaming: acks before the load generators began to stop (connect phase included); drain: after, when every agent seals and sends its last partial batch at once",
    reconnects: ($a.reconnects + $b.reconnects), errors: ($a.errors + $b.errors),
    wall_s: $wall,
    node_cpu_s: [$cpu_a, $cpu_b], node_core_pct: [(100 * $cpu_a / $wall), (100 * $cpu_b / $wall)],
    node_peak_rss_mib: [$hwm_a, $hwm_b],
    postgres_cpu_s: $pg_cpu, postgres_core_pct: (if $pg_cpu == null then null else 100 * $pg_cpu / $wall end),
    loadgen_cpu_s: [$a.loadgen_cpu_s, $b.loadgen_cpu_s],
    loadgen_core_pct: (100 * ($a.loadgen_cpu_s + $b.loadgen_cpu_s) / $wall),
    enrolment_samples_acked: $enrolled,
    samples_in_db_before: $stored0, samples_in_db_total: $stored1,
    samples_in_db_measured: ($stored1 - $stored0),
    lost_or_duplicated: (($stored1 - $stored0) - $acked),
    sample_rows_duplicated: ($rows - $distinct_rows),
    loadavg_1m: {start: $la1[0], max: ($la1 | max), end: $la1[-1]},
    database: $db,
    pass: ($all_acked and $p99 <= 250 and ($stored1 - $stored0) == $acked
           and $stored1 == $enrolled + $acked and $rows == $distinct_rows),
    pass_streaming: ($all_acked and $p99_streaming <= 250 and ($stored1 - $stored0) == $acked
                     and $stored1 == $enrolled + $acked and $rows == $distinct_rows)
  }' | tee "$WORK/result.json"
