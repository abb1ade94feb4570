#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark 2, connections: 10,000 agents connected at once, idle apart from heartbeats, for
# 2 minutes; halfway through the server is killed (kill -9) and restarted on the same port and
# database, so all 10,000 drop and reconnect at once (their backoff and jitter are the real
# AgentLink's). Targets: all stay connected, server RSS <= 1 GiB, the storm settles <= 60 s.
#   bench/scale-connections.sh      (AGENTS=10000 DURATION=2m STORM_AT=60 RAMP=20s PORT=18675)
source "$(dirname "$0")/scale-lib.sh"
AGENTS=${AGENTS:-10000}
DURATION=${DURATION:-2m}
RAMP=${RAMP:-20s}
STORM_AT=${STORM_AT:-60}   # seconds after the loadgen started
PORT=${PORT:-18675}
scale_workdir connections
# One descriptor per agent on each side, plus the database and Qt's own.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((AGENTS + 256)) ] || { echo "ulimit -n $(ulimit -n) is too low for $AGENTS agents"; exit 1; }

start_server "127.0.0.1:$PORT" "$WORK/server.db" --heartbeat-interval 15s
"$LOADGEN_BIN" --server "$SERVER_URL" "${LOADGEN_AUTH[@]}" --agents "$AGENTS" --state "$WORK/state.json" \
  --sample-interval 0 --duration "$DURATION" --ramp "$RAMP" --report-interval 5s \
  --report "$WORK/loadgen.json" >"$WORK/loadgen.txt" &
LOADGEN_PID=$!
t0=$(date +%s.%N)
sleep "$STORM_AT"
cpu_a=$(proc_cpu_s "$SERVER_PID"); rss_a=$(proc_rss_mib "$SERVER_PID"); hwm_a=$(proc_hwm_mib "$SERVER_PID")
wall_a=$(echo "$(date +%s.%N) - $t0" | bc)
echo "before the storm: server cpu ${cpu_a}s over ${wall_a}s, RSS ${rss_a} MiB (peak ${hwm_a} MiB)"
kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
start_server "127.0.0.1:$PORT" "$WORK/server.db" --heartbeat-interval 15s
t_restart=$(date +%s.%N)
loadgen_report "$WORK/loadgen.json" "$LOADGEN_PID"
t1=$(date +%s.%N)
cpu_b=$(proc_cpu_s "$SERVER_PID"); rss_b=$(proc_rss_mib "$SERVER_PID"); hwm_b=$(proc_hwm_mib "$SERVER_PID")
stop_server
cat "$WORK/loadgen.txt"

jq -n --slurpfile lg "$WORK/loadgen.json" --argjson machine "$(machine_json)" \
  --argjson cpu_a "$cpu_a" --argjson wall_a "$wall_a" --argjson rss_a "$rss_a" --argjson hwm_a "$hwm_a" \
  --argjson cpu_b "$cpu_b" --argjson wall_b "$(echo "$t1 - $t_restart" | bc)" \
  --argjson rss_b "$rss_b" --argjson hwm_b "$hwm_b" '
  $lg[0] as $l | {
    benchmark: "connections", machine: $machine, agents: $l.agents,
    all_connected_after_s: $l.all_connected_after_s,
    storms: $l.storms, connected_at_end: $l.connected_at_end,
    reconnects: $l.reconnects, link_losses: $l.link_losses, errors: $l.errors,
    server_before_storm: {cpu_s: $cpu_a, wall_s: $wall_a, core_pct: (100 * $cpu_a / $wall_a),
                          rss_mib: $rss_a, peak_rss_mib: $hwm_a},
    server_after_restart: {cpu_s: $cpu_b, wall_s: $wall_b, core_pct: (100 * $cpu_b / $wall_b),
                           rss_mib: $rss_b, peak_rss_mib: $hwm_b},
    loadgen_cpu_s: $l.loadgen_cpu_s,
    pass: ($l.connected_at_end == $l.agents and ([$hwm_a, $hwm_b] | max) <= 1024
           and ($l.storms | length) >= 1 and ($l.storms | all(.settled_after_s >= 0 and .settled_after_s <= 60))
           and ($l.link_losses == $l.agents))
  }' | tee "$WORK/result.json"
