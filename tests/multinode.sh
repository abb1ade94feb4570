#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end on a shared PostgreSQL store (run under tests/with-postgres.sh, which sets
# AUTOFACT_TEST_POSTGRES): two headless autofactory nodes on one database, two real agents.
#   1. A config change stored by a third node reaches an agent on node A within 2 s (NOTIFY).
#   2. Node A is killed with SIGKILL mid-stream; its agent is pointed at node B (agents take
#      one URL; in production a load balancer or DNS does this) and resends from its spool.
#   3. Every client's batches are contiguous from 1 with no gap, and the samples stored equal
#      the samples its batches carried: 0 lost, 0 stored twice.
#   4. Host-down is judged once for the fleet: it fires for agent1 while no node holds its
#      session, never for agent2, which moved from node B to node D within seconds.
#   5. An alert fired on one node is carried on by the next: agent2's memory alert (fired on
#      node B) stays the one stored alert after agent2 moves to node D, which takes it from
#      the store (at the session's start, or from its 2 s read of active alerts) before it
#      judges agent2's batches, instead of firing it again.
#   tests/multinode.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
server=$build/app-server/autofactory
agent=$build/app-agent/autofact-agent
: "${AUTOFACT_TEST_POSTGRES:?run under tests/with-postgres.sh}"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done; exit 1; }

db_name=multinode_$$
psql -q -d "$AUTOFACT_TEST_POSTGRES" -c "CREATE DATABASE $db_name"
db=${AUTOFACT_TEST_POSTGRES%/*}/$db_name
sql() { psql -qAt -d "$db" -c "$1"; }

# Waits up to $1 s for the command in the rest of the arguments to succeed.
wait_for() {
  local t=$(( $1 * 10 )); shift
  for ((i = 0; i < t; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
port_of() { sed -n 's|^listening on ws://127.0.0.1:\([0-9]*\)$|\1|p' "$work/$1.log"; }

start_node() { # NAME [FLAGS...]
  local name=$1; shift
  AUTOFACT_PATH=$work/$name "$server" --headless --insecure-ws --db "$db" --listen 127.0.0.1:0 "$@" \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_for 20 grep -q '^listening on' "$work/$name.log" || fail "node $name did not start"
}
start_agent() { # NAME URL [FLAGS...]
  local name=$1 url=$2; shift 2
  AUTOFACT_PATH=$work/$name "$agent" --server "$url" --insecure "$@" >>"$work/$name.log" 2>&1 &
  pids+=($!)
  echo $!
}

# Host down after 10 s without a session anywhere (the shipped 3 min would outlast the test);
# memory used above 1 % at once: it fires for every agent at its first batch.
start_node a --sample-interval 1s --send-interval 1s
sql "INSERT INTO alert_rules(rule, client_id, enabled, threshold, for_ms, resolve_ms) VALUES ('host_down', '', 1, 0, 10000, 1000)"
sql "INSERT INTO alert_rules(rule, client_id, enabled, threshold, for_ms, resolve_ms) VALUES ('memory_used', '', 1, 1, 0, 600000)"
start_node b # after the rule: nodes read rules when they start
start_node d # idle until agent2 moves to it
token=$("$server" token create --db "$db" --uses 2 2>/dev/null | head -n1)
[ -n "$token" ] || fail "no enrolment token"
agent1=$(start_agent agent1 "ws://127.0.0.1:$(port_of a)" --token "$token")
agent2=$(start_agent agent2 "ws://127.0.0.1:$(port_of b)" --token "$token")
stored_both() { test "$(sql "SELECT count(*) FROM clients WHERE sample_count > 3")" = 2; }
wait_for 20 stored_both || fail "agents did not store samples"

# 1. A config change stored by another node reaches agent1 (on node A) within 2 s.
t0=$(date +%s%3N)
start_node c --sample-interval 2s
pushed() { grep -q 'in force: sample 2000 ms' "$work/agent1.log"; }
wait_for 8 pushed || fail "config change did not reach agent1"
t1=$(date +%s%3N)
echo "config change stored by node c reached agent1 on node a in $(( t1 - t0 )) ms (includes node c's start-up)"
(( t1 - t0 <= 2000 + 3000 )) || fail "config push took $(( t1 - t0 )) ms"
kill -9 "${pids[-1]}"

# 2. Node A dies mid-stream; agent1 moves to node B.
sleep 3 # samples flowing on both nodes
pid_a=${pids[0]}
kill -9 "$pid_a"
echo "node a killed"
kill -TERM "$agent1"; wait "$agent1" 2>/dev/null || true
# No node holds agent1's session now: node b takes over judging, closes node a's sessions and
# sees agent1 down. agent1's samples wait in its spool.
id1=$(sed -n 's/.*enrolled as \([0-9a-f]*\).*/\1/p' "$work/agent1.log" | head -n1)
agent1_down() { test "$(sql "SELECT count(*) FROM alerts WHERE rule = 'host_down' AND client_id = '$id1'")" = 1; }
wait_for 60 agent1_down || fail "host down did not fire for agent1 while no node held its session"
agent1=$(start_agent agent1 "ws://127.0.0.1:$(port_of b)")

# 5. agent2 moves from node B to node D, its memory alert firing.
id2=$(sed -n 's/.*enrolled as \([0-9a-f]*\).*/\1/p' "$work/agent2.log" | head -n1)
memory2() { sql "SELECT count(*) FROM alerts WHERE rule = 'memory_used' AND client_id = '$id2' AND resolved_ms IS NULL"; }
memory_fired() { test "$(memory2)" = 1; }
wait_for 10 memory_fired || fail "the memory alert did not fire for agent2"
kill -TERM "$agent2"; wait "$agent2" 2>/dev/null || true
agent2=$(start_agent agent2 "ws://127.0.0.1:$(port_of d)")
on_d() { grep -q 'welcomed back' "$work/agent2.log" && grep -q "$id2" "$work/d.log"; }
wait_for 10 on_d || fail "agent2 did not reach node d"
sleep 4
kill -TERM "$agent1" "$agent2"; wait "$agent1" "$agent2" 2>/dev/null || true
memory_rows=$(sql "SELECT count(*) FROM alerts WHERE rule = 'memory_used' AND client_id = '$id2'")
echo "agent2's memory alerts after moving from node b to node d: $memory_rows stored, $(memory2) active"
[ "$memory_rows" = 1 ] && [ "$(memory2)" = 1 ] || fail "agent2's memory alert was not carried on as one alert"
! grep -q 'FIRING.*Memory used' "$work/d.log" || fail "node d fired the memory alert again instead of carrying it on"
! grep -q 'already firing; carried on' "$work/d.log" || fail "node d judged agent2 before adopting its alerts"
# Node B has stored what it acked; the agents' spools say nothing is left unacked.
for a in agent1 agent2; do
  grep -q 'stopping; 0 unacknowledged' "$work/$a.log" || echo "note: $a stopped with batches unacked (resent next time)"
done

# 3. Exactly once, with no hole in any client's sequence.
# Batches missing from a sequence would be gaps with a sequence range; an "agent offline" gap
# is the time agent1's process was stopped (no samples were taken then).
lost=$(sql "SELECT coalesce(sum(samples_lost), 0) FROM gaps WHERE seq_first IS NOT NULL")
offline=$(sql "SELECT count(*) FROM gaps WHERE seq_first IS NULL")
holes=$(sql "SELECT count(*) FROM (SELECT client, max(sequence) - min(sequence) + 1 - count(*) AS h FROM batches GROUP BY client) t WHERE h <> 0 OR t.client IS NULL")
firsts=$(sql "SELECT count(*) FROM (SELECT client, min(sequence) AS m FROM batches GROUP BY client) t WHERE m <> 1")
in_batches=$(sql "SELECT sum(sample_count) FROM batches")
stored=$(sql "SELECT (SELECT count(*) FROM samples) + (SELECT coalesce(sum(samples), 0) FROM sample_chunks)")
distinct=$(sql "SELECT count(*) FROM (SELECT DISTINCT client, ts_ms FROM samples) t")
counted=$(sql "SELECT sum(sample_count) FROM clients")
echo "batches carried $in_batches samples; stored $stored ($distinct distinct); clients count $counted; holes $holes; lost $lost; offline gaps $offline"
[ "$holes" = 0 ] && [ "$firsts" = 0 ] || fail "a client's batch sequence has a hole"
[ "$lost" = 0 ] || fail "samples recorded as lost"
[ "$stored" = "$in_batches" ] && [ "$distinct" = "$stored" ] && [ "$counted" = "$stored" ] || fail "samples lost or stored twice"

# 4. One judge for the fleet's host-down rule.
down1=$(sql "SELECT count(*) FROM alerts WHERE rule = 'host_down' AND client_id = '$id1'")
down2=$(sql "SELECT count(*) FROM alerts WHERE rule = 'host_down' AND client_id = '$id2'")
echo "host_down alerts: agent1 (no session for a while) $down1, agent2 (moved within seconds) $down2"
[ "$down1" = 1 ] || fail "host down did not fire exactly once for agent1"
[ "$down2" = 0 ] || fail "host down fired for agent2, which was never away for long"
echo "PASS: 0 lost, 0 stored twice across nodes and a SIGKILL; host down judged once; an alert carried across a move"
