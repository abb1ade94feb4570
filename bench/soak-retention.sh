#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Soak with retention (issue 13): 1,000 simulated agents at 1 s for an hour against a server
# that keeps raw samples 20 minutes, so sealing into chunks and purging run all the time.
# Every 30 s: the server's RSS, PSS and private memory (/proc/PID/smaps_rollup), its CPU, and
# the database's size (file + WAL); the load generator reports ack p99 per minute.
# Targets: ack p99 <= 250 ms in every interval; RSS growth <= 5 % after the first 10 minutes;
# database size flat once the first retention window has passed.
#   bench/soak-retention.sh           (AGENTS=1000 DURATION=60m KEEP_RAW=20m to change)
# Why 20 minutes and not 10: a window is sealed once it closed 2 minutes ago, so with 10
# minutes of raw history most samples would expire as rows before they were ever sealed.
# Writes soak.csv, loadgen.json and result.json to its work directory; bench/soak-plot.py
# draws them.
source "$(dirname "$0")/scale-lib.sh"
AGENTS=${AGENTS:-1000}
DURATION=${DURATION:-60m}
KEEP_RAW=${KEEP_RAW:-20m}
RAMP=${RAMP:-20s}
scale_workdir soak

start_server 127.0.0.1:0 "$WORK/server.db" --sample-interval 1s --send-interval 5s --keep-raw "$KEEP_RAW"
"$LOADGEN_BIN" --server "$SERVER_URL" "${LOADGEN_AUTH[@]}" --agents "$AGENTS" --state "$WORK/state.json" \
  --duration 5s --ramp 3s --quiet >"$WORK/enroll.txt"

memory_line() {
  local pid=$1 t=$2
  local rss pss priv cpu db
  rss=$(awk '/^Rss:/ {print $2}' "/proc/$pid/smaps_rollup")
  pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
  priv=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$pid/smaps_rollup")
  cpu=$(proc_cpu_s "$pid")
  db=$(( $(stat -c %s "$WORK/server.db") + $(stat -c %s "$WORK/server.db-wal" 2>/dev/null || echo 0) ))
  echo "$t,$rss,$pss,$priv,$cpu,$db"
}

echo "t_s,rss_kib,pss_kib,private_kib,server_cpu_s,db_bytes" >"$WORK/soak.csv"
t0=$(date +%s)
"$LOADGEN_BIN" --server "$SERVER_URL" "${LOADGEN_AUTH[@]}" --agents "$AGENTS" --state "$WORK/state.json" \
  --sample-interval 1s --send-interval 5s --duration "$DURATION" --ramp "$RAMP" \
  --report-interval 60s --report "$WORK/loadgen.json" >"$WORK/loadgen.txt" &
LOADGEN_PID=$!
while kill -0 "$LOADGEN_PID" 2>/dev/null; do
  memory_line "$SERVER_PID" $(( $(date +%s) - t0 )) >>"$WORK/soak.csv"
  sleep 30
done
loadgen_report "$WORK/loadgen.json" "$LOADGEN_PID"
stop_server
samples=$(sqlite3 "$WORK/server.db" 'SELECT (SELECT count(*) FROM samples) + (SELECT coalesce(sum(samples), 0) FROM sample_chunks)')
chunks=$(sqlite3 "$WORK/server.db" 'SELECT count(*) FROM sample_chunks')

# Memory growth after the first 10 minutes, and the database's size from 30 minutes on.
python3 - "$WORK" <<'PY' >"$WORK/series.json"
import csv, json, sys
rows = [r for r in csv.DictReader(open(sys.argv[1] + "/soak.csv"))]
def at(t, key):
    best = min(rows, key=lambda r: abs(int(r["t_s"]) - t))
    return int(best[key])
end = rows[-1]
after10 = at(600, "rss_kib")
later = [int(r["db_bytes"]) for r in rows if int(r["t_s"]) >= 1800]
print(json.dumps({
    "rss_kib_at_10min": after10, "rss_kib_end": int(end["rss_kib"]),
    "rss_growth_after_10min_pct": 100.0 * (int(end["rss_kib"]) - after10) / after10,
    "pss_kib_end": int(end["pss_kib"]), "private_kib_end": int(end["private_kib"]),
    "db_bytes_min_after_30min": min(later) if later else None,
    "db_bytes_max_after_30min": max(later) if later else None,
}))
PY
jq -n --slurpfile lg "$WORK/loadgen.json" --slurpfile series "$WORK/series.json" --argjson machine "$(machine_json)" \
  --argjson samples "$samples" --argjson chunks "$chunks" --arg keep "$KEEP_RAW" '
  $lg[0] as $l | $series[0] as $s | {
    benchmark: "soak-retention", machine: $machine, agents: $l.agents, keep_raw: $keep,
    samples_taken: $l.samples_taken, samples_acked: $l.samples_acked, samples_unacked: $l.samples_unacked,
    raw_samples_left: $samples, chunks_left: $chunks,
    ack_p99_ms_whole_run: $l.ack_latency.p99_ms,
    ack_p99_ms_worst_interval: ([$l.intervals[] | select(.t_s > 60) | .p99_ms] | max),
    intervals_over_250ms: ([$l.intervals[] | select(.t_s > 60 and .p99_ms > 250)] | length),
    reconnects: $l.reconnects, errors: $l.errors
  } + $s' | tee "$WORK/result.json"
