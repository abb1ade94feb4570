#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Strangers before authentication: one real autofact-agent streams to autofactory while
# bench_strangers opens CONNECTIONS connections that upgrade to WebSocket, announce a frame of
# FRAME_BYTES, send FILL of it and then hold for HOLD without ever saying Hello. Prints the
# server's memory before, at the peak (RSS, PSS and private from /proc/PID/smaps_rollup, sampled
# every 200 ms, each kept at its maximum) and after; VmHWM growth; how the server refused or
# closed the strangers; and whether the agent kept streaming (its sample count in the database
# kept growing, no stall over 5 s, no reconnect). Target: RSS growth <= 20 MiB (the larger of the
# sampled RSS peak and VmHWM, over the baseline) and the agent streaming through it.
#   bench/scale-strangers.sh [BUILD_DIR] [ws|wss]
#   (CONNECTIONS=300 FRAME_BYTES=1048576 FILL=0.5 HOLD=10s SOURCES=1 to change; WORK=dir keeps
#    the artefacts; TLS_CERT=FILE TLS_KEY=FILE serve wss:// with that certificate)
# SOURCES=N spreads the strangers over 127.0.0.1..127.0.0.N (a per-address cap then binds less).
# It adapts to the binaries it finds: --insecure-ws is passed for ws:// when `autofactory --help`
# lists it; for wss:// without TLS_CERT the server's own certificate is used (its
# `certificate sha256:…` line goes to the agent's --fingerprint) when the server has
# --insecure-ws and the agent has --fingerprint, else a throwaway self-signed one is made with
# openssl and given to the agent as its config's "ca"; `autofactory token create` and the
# agent's --token are used when both exist.
set -euo pipefail
if [ -n "${1:-}" ]; then
  BUILD=$(cd "$1" && pwd)
  export BUILD
fi
SCHEME=${2:-ws}
case "$SCHEME" in ws|wss) ;; *) echo "usage: bench/scale-strangers.sh [BUILD_DIR] [ws|wss]" >&2; exit 2 ;; esac
source "$(dirname "$0")/scale-lib.sh"
CONNECTIONS=${CONNECTIONS:-300}
FRAME_BYTES=${FRAME_BYTES:-1048576}
FILL=${FILL:-0.5}
HOLD=${HOLD:-10s}
SOURCES=${SOURCES:-1}
TARGET_MIB=20
AGENT_BIN=${AGENT_BIN:-$BUILD/app-agent/autofact-agent}
STRANGERS_BIN=${STRANGERS_BIN:-$BUILD/bench/bench_strangers}
for bin in "$SERVER_BIN" "$AGENT_BIN" "$STRANGERS_BIN"; do
  [ -x "$bin" ] || { echo "bench/scale-strangers.sh: $bin is missing (build it first)" >&2; exit 2; }
done
for tool in jq ss awk; do
  command -v "$tool" >/dev/null || { echo "bench/scale-strangers.sh: $tool is missing (scripts/install-deps)" >&2; exit 2; }
done
scale_workdir "strangers-$SCHEME"
DB=$WORK/server.db

AGENT_PID=
STRANGERS_PID=
TAIL_PID=
POLLER_PID=
# Every process this script started, the server last (it writes what is queued on SIGTERM).
cleanup() {
  local pid
  touch "$WORK/poller.stop"
  for pid in "$STRANGERS_PID" "$TAIL_PID" "$POLLER_PID"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  if [ -n "$AGENT_PID" ]; then
    kill -TERM "$AGENT_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$AGENT_PID" 2>/dev/null || true
  fi
  stop_server
  wait 2>/dev/null || true
  rm -f "$WORK/key.pem"
}
trap cleanup EXIT

# What these binaries understand (the server and agent are changing: certificates, tokens).
server_help=$("$SERVER_BIN" --help 2>&1 || true)
agent_help=$("$AGENT_BIN" --help 2>&1 || true)
server_insecure_ws=0; grep -q -- '--insecure-ws' <<<"$server_help" && server_insecure_ws=1
agent_insecure_ws=0; grep -q -- '--insecure-ws' <<<"$agent_help" && agent_insecure_ws=1
agent_fingerprint=0; grep -q -- '--fingerprint' <<<"$agent_help" && agent_fingerprint=1
tokens=0
grep -Eq '^ *autofactory token' <<<"$server_help" && grep -q -- '--token' <<<"$agent_help" && tokens=1

server_flags=(--sample-interval 1s --send-interval 1s --heartbeat-interval 15s)
agent_flags=()
ca=
cert_source=
own_cert=0
if [ "$SCHEME" = ws ]; then
  [ "$server_insecure_ws" = 1 ] && server_flags+=(--insecure-ws)
  [ "$agent_insecure_ws" = 1 ] && agent_flags+=(--insecure-ws)
elif [ -n "${TLS_CERT:-}" ]; then
  server_flags+=(--tls-cert "$TLS_CERT" --tls-key "${TLS_KEY:?TLS_KEY goes with TLS_CERT}")
  ca=$TLS_CERT; cert_source="TLS_CERT $TLS_CERT"
elif [ "$server_insecure_ws" = 1 ] && [ "$agent_fingerprint" = 1 ]; then
  own_cert=1; cert_source="the server's own certificate"
else
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
  server_flags+=(--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem")
  ca=$WORK/cert.pem; cert_source="a throwaway self-signed certificate (openssl)"
fi

start_server 127.0.0.1:0 "$DB" "${server_flags[@]}"
case "$SERVER_URL" in
  "$SCHEME"://*) ;;
  *) echo "asked for $SCHEME but the server listens on $SERVER_URL" >&2; exit 1 ;;
esac
PORT=${SERVER_URL##*:}
if [ "$own_cert" = 1 ]; then
  fingerprint=
  for _ in $(seq 100); do
    fingerprint=$(complete_lines "$WORK/server.out" | sed -n 's/^certificate \([^ ]*\)$/\1/p' | head -n 1)
    [ -n "$fingerprint" ] && break
    sleep 0.1
  done
  [ -n "$fingerprint" ] || { echo "the server printed no 'certificate sha256:…' line" >&2; exit 1; }
  agent_flags+=(--fingerprint "$fingerprint")
  cert_source="$cert_source ($fingerprint)"
fi
if [ "$SCHEME" = ws ] && grep -q -- '--insecure ' <<<"$agent_help"; then
  agent_flags+=(--insecure) # an agent refuses plain ws:// unless told it is meant
fi
if [ "$tokens" = 1 ]; then
  token=$("$SERVER_BIN" token create --db "$DB" 2>>"$WORK/token.err" | awk 'NF { last = $NF } END { print last }') || true
  [ -n "$token" ] || { echo "autofactory token create gave no token:" >&2; cat "$WORK/token.err" >&2; exit 1; }
  agent_flags+=(--token "$token")
fi

# One real agent, sampling and sending every second (pushed by the server above).
mkdir -p "$WORK/agent"
jq -n --arg server "$SERVER_URL" --arg ca "$ca" \
  '{server: $server, proxy: "none"} + (if $ca == "" then {} else {ca: $ca} end)' >"$WORK/agent/agent.json"
QT_LOGGING_RULES="autofact.*.debug=false;autofact.*.info=false" \
  "$AGENT_BIN" --config "$WORK/agent/agent.json" --server "$SERVER_URL" "${agent_flags[@]}" \
  2>>"$WORK/agent.log" &
AGENT_PID=$!

# "samples connections" of the agent, from the database (what was stored, not what was sent).
agent_counts() {
  "$SERVER_BIN" clients --db "$DB" --json 2>/dev/null \
    | jq -r '"\([.[].samples] | add // 0) \([.[].connections] | add // 0)"' 2>/dev/null || echo "- -"
}
samples_of() { echo "${1%% *}"; }
# numeric VALUE: the value, or 0 for "-" (the database could not be read that time).
numeric() { case $1 in ''|*[!0-9]*) echo 0 ;; *) echo "$1" ;; esac; }
now_s() { date +%s.%N; }
# alive PID: running (a child that died stays a zombie until waited for, and kill -0 succeeds on it).
alive() { local st; st=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }
wait_for_samples_over() { # wait_for_samples_over N SECONDS: echoes the count once above N, or the last one
  local floor deadline counts
  floor=$(numeric "$1")
  deadline=$(echo "$(now_s) + $2" | bc)
  while :; do
    counts=$(agent_counts)
    if [ "$(samples_of "$counts")" != - ] && [ "$(samples_of "$counts")" -gt "$floor" ]; then echo "$counts"; return 0; fi
    if [ "$(echo "$(now_s) > $deadline" | bc)" = 1 ] || ! alive "$AGENT_PID"; then echo "$counts"; return 1; fi
    sleep 0.5
  done
}
if ! counts=$(wait_for_samples_over 0 30); then
  echo "the agent stored no samples within 30 s (counts: $counts); its log:" >&2
  tail -n 20 "$WORK/agent.log" >&2
  exit 1
fi
echo "agent streaming: $counts (samples connections); server $SERVER_URL, pid $SERVER_PID"
sleep 2 # let the agent's first batches and the server's first commits settle

# mem PID: "rss pss private" in KiB, from one read of smaps_rollup.
mem() {
  awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { v += $2 } END { print r + 0, p + 0, v + 0 }' \
    "/proc/$1/smaps_rollup"
}
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# Bytes in the server's kernel receive queues (taken off the wire, not yet read by the server):
# memory too, but not in its RSS.
recvq_bytes() { ss -Htn state established "( sport = :$PORT )" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

read -r rss0 pss0 priv0 <<<"$(mem "$SERVER_PID")"
hwm0=$(hwm_kib "$SERVER_PID")
for _ in $(seq 10); do
  counts0=$(agent_counts)
  [ "$(samples_of "$counts0")" != - ] && break
  sleep 0.2
done
echo "baseline: RSS $(mib "$rss0") MiB, PSS $(mib "$pss0") MiB, private $(mib "$priv0") MiB, VmHWM $(mib "$hwm0") MiB; agent $counts0"

# The agent's stored samples, once a second, while the strangers run (stalls are read from it).
# It stops itself (a stop file), so no clients command is left running behind it.
rm -f "$WORK/poller.stop"
(while [ ! -e "$WORK/poller.stop" ]; do echo "$(now_s) $(agent_counts)"; sleep 1; done) >"$WORK/agent-timeline.txt" &
POLLER_PID=$!
stranger_flags=(--url "$SERVER_URL" --connections "$CONNECTIONS" --frame-bytes "$FRAME_BYTES"
                --fill "$FILL" --hold "$HOLD" --sources "$SOURCES")
[ "$SCHEME" = wss ] && stranger_flags+=(--insecure-tls)
t_start=$(now_s)
: >"$WORK/strangers.txt" # before tail opens it
"$STRANGERS_BIN" "${stranger_flags[@]}" >"$WORK/strangers.txt" 2>"$WORK/strangers.err" &
STRANGERS_PID=$!
tail --pid="$STRANGERS_PID" -n +1 -f "$WORK/strangers.txt" & # for the reader only
TAIL_PID=$!

# The peak: every 200 ms, each figure kept at its maximum. Bounded by the tool's own bounds
# (30 s setup, the hold) plus a minute.
hold_s=$(awk -v h="$HOLD" 'BEGIN { n = h + 0; if (h ~ /ms$/) n /= 1000; else if (h ~ /m$/) n *= 60; else if (h ~ /h$/) n *= 3600; print n }')
give_up=$(echo "$t_start + 30 + $hold_s + 60" | bc)
rss_max=$rss0 pss_max=$pss0 priv_max=$priv0 hwm_last=$hwm0 recvq_max=0 rss_max_at=0 server_died=0 tick=0
while kill -0 "$STRANGERS_PID" 2>/dev/null; do
  if ! alive "$SERVER_PID"; then server_died=1; break; fi
  read -r rss pss priv <<<"$(mem "$SERVER_PID" 2>/dev/null || echo "0 0 0")"
  if [ "$rss" -gt "$rss_max" ]; then rss_max=$rss; rss_max_at=$(printf '%.2f' "$(echo "$(now_s) - $t_start" | bc)"); fi
  [ "$pss" -gt "$pss_max" ] && pss_max=$pss
  [ "$priv" -gt "$priv_max" ] && priv_max=$priv
  hwm_last=$(hwm_kib "$SERVER_PID" 2>/dev/null || echo "$hwm_last")
  if [ $((tick % 5)) = 0 ]; then
    q=$(recvq_bytes); [ "$q" -gt "$recvq_max" ] && recvq_max=$q
  fi
  tick=$((tick + 1))
  if [ "$(echo "$(now_s) > $give_up" | bc)" = 1 ]; then
    echo "bench_strangers still running after its bounds; stopping it" >&2
    kill "$STRANGERS_PID" 2>/dev/null || true
  fi
  sleep 0.2
done
alive "$SERVER_PID" || server_died=1 # also when the strangers left because it died
strangers_code=0
wait "$STRANGERS_PID" || strangers_code=$?
STRANGERS_PID=
t_end=$(now_s)
wait "$TAIL_PID" 2>/dev/null || true
TAIL_PID=
counts_end=$(agent_counts)
touch "$WORK/poller.stop"
wait "$POLLER_PID" 2>/dev/null || true
POLLER_PID=
report=$(grep '^{' "$WORK/strangers.txt" | tail -n 1 || true)
if [ "$strangers_code" -ne 0 ] || ! jq -e . >/dev/null 2>&1 <<<"$report"; then
  echo "bench_strangers exited $strangers_code without its JSON line:" >&2
  cat "$WORK/strangers.err" >&2
  exit 1
fi
jq . <<<"$report" >"$WORK/strangers.json"

# After: the strangers are gone; the agent must still be storing (bounded wait).
streaming_after=0
if [ "$server_died" = 0 ]; then
  counts_after=$(wait_for_samples_over "$(samples_of "$counts_end")" 15) && streaming_after=1
  sleep 2
  read -r rss1 pss1 priv1 <<<"$(mem "$SERVER_PID")"
  hwm1=$(hwm_kib "$SERVER_PID")
else
  counts_after=$counts0; rss1=0 pss1=0 priv1=0; hwm1=$hwm_last # no reconnect counted: no server
  echo "THE SERVER DIED during the run; its stderr:" >&2
  tail -n 20 "$WORK/server.err" >&2
fi

# The longest time without a new stored sample while the strangers ran (from the start of their
# run to its end; the poller's first and last points and the run's own ends bound the gaps).
stall_s=$(awk -v a="$t_start" -v b="$t_end" -v s0="$(numeric "$(samples_of "$counts0")")" -v s1="$(numeric "$(samples_of "$counts_end")")" '
  BEGIN { last_change = a; prev = s0; worst = 0 }
  $1 >= a && $1 <= b && $2 != "-" {
    if ($2 + 0 > prev) { if ($1 - last_change > worst) worst = $1 - last_change; last_change = $1; prev = $2 + 0 }
  }
  END { if (s1 + 0 > prev) { if (b - last_change > worst) worst = b - last_change; last_change = b }
        if (b - last_change > worst) worst = b - last_change
        printf "%.1f", worst }' "$WORK/agent-timeline.txt")
grew=$(( $(numeric "$(samples_of "$counts_end")") - $(numeric "$(samples_of "$counts0")") ))
reconnects=$(( $(numeric "${counts_after#* }") - $(numeric "${counts0#* }") ))
streaming=0
[ "$server_died" = 0 ] && [ "$grew" -gt 0 ] && [ "$(echo "$stall_s <= 5" | bc)" = 1 ] \
  && [ "$reconnects" -eq 0 ] && [ "$streaming_after" = 1 ] && streaming=1
# The verdict takes the larger of the sampled RSS growth and the VmHWM growth: a spike between
# two 200 ms samples is still caught by VmHWM (it was 12 MiB above the sampled peak over wss).
rss_growth=$(( rss_max - rss0 ))
hwm_growth=$(( hwm1 - hwm0 ))
[ "$hwm_growth" -gt "$rss_growth" ] && rss_growth=$hwm_growth
pass=0
[ "$streaming" = 1 ] && [ "$rss_growth" -le $((TARGET_MIB * 1024)) ] && pass=1

echo
echo "=== strangers before authentication, $SCHEME ($CONNECTIONS × a $FRAME_BYTES-byte frame, $(jq -r .fill_bytes <<<"$report") bytes sent, hold $HOLD$([ "$SOURCES" != 1 ] && echo ", from $SOURCES addresses"))"
[ "$SCHEME" = wss ] && echo "certificate: $cert_source"
printf '%-10s %10s %10s %10s %10s\n' "server" "baseline" "peak" "growth" "after"
for row in "RSS $rss0 $rss_max $rss1" "PSS $pss0 $pss_max $pss1" "private $priv0 $priv_max $priv1"; do
  read -r name a p f <<<"$row"
  printf '%-10s %6s MiB %6s MiB %+6.1f MiB %6s MiB\n' "$name" "$(mib "$a")" "$(mib "$p")" "$(mib $((p - a)))" "$(mib "$f")"
done
printf '%-10s %6s MiB %6s MiB %+6.1f MiB\n' "VmHWM" "$(mib "$hwm0")" "$(mib "$hwm1")" "$(mib $((hwm1 - hwm0)))"
echo "RSS peak at $(printf '%.1f' "$rss_max_at") s into the run; at most $(mib $((recvq_max / 1024))) MiB waited in the server's kernel receive queues (not in RSS)"
jq -r '"strangers: \(.tcp_connected)/\(.connections) TCP connected, \(.upgraded) upgraded, \(.sent) sent their part; \(.refused_before_upgrade) refused before the upgrade, \(.closed_after_upgrade) closed after it, \(.open_at_end) still open at the end of the hold"' <<<"$report"
jq -r '.ends[] | "  \(.count) × during \(.stage): \(.how)" + (if .after_upgrade_s then ", \(.after_upgrade_s.median * 10 | round / 10) s after the upgrade (median)" else "" end)' <<<"$report"
echo "agent: $(samples_of "$counts0") samples before, $(samples_of "$counts_end") when the strangers left (+$grew), longest stall $stall_s s, reconnects $reconnects, storing afterwards: $([ "$streaming_after" = 1 ] && echo yes || echo no) → streaming $([ "$streaming" = 1 ] && echo yes || echo NO)"
echo "verdict: $([ "$pass" = 1 ] && echo PASS || echo FAIL) (target: RSS growth ≤ $TARGET_MIB MiB and the agent streaming; growth $(mib "$rss_growth") MiB, the larger of sampled RSS and VmHWM)$([ "$server_died" = 1 ] && echo "; THE SERVER DIED")"

jq -n --argjson machine "$(machine_json)" --argjson strangers "$report" --arg scheme "$SCHEME" \
  --arg cert "$cert_source" --argjson rss0 "$rss0" --argjson pss0 "$pss0" --argjson priv0 "$priv0" \
  --argjson rss_max "$rss_max" --argjson pss_max "$pss_max" --argjson priv_max "$priv_max" \
  --argjson rss1 "$rss1" --argjson pss1 "$pss1" --argjson priv1 "$priv1" \
  --argjson hwm0 "$hwm0" --argjson hwm1 "$hwm1" --argjson recvq "$recvq_max" \
  --argjson peak_at "$rss_max_at" --argjson server_died "$server_died" \
  --argjson s0 "$(numeric "$(samples_of "$counts0")")" --argjson s1 "$(numeric "$(samples_of "$counts_end")")" \
  --argjson stall "$stall_s" --argjson reconnects "$reconnects" --argjson after "$streaming_after" \
  --argjson streaming "$streaming" --argjson pass "$pass" --argjson target "$TARGET_MIB" \
  --argjson verdict_growth "$rss_growth" '
  def mib: . / 1024 * 10 | round / 10;
  {
    benchmark: "strangers", scheme: $scheme, certificate: $cert, machine: $machine,
    server_mib: {
      baseline: {rss: ($rss0 | mib), pss: ($pss0 | mib), private: ($priv0 | mib), vm_hwm: ($hwm0 | mib)},
      peak: {rss: ($rss_max | mib), pss: ($pss_max | mib), private: ($priv_max | mib), vm_hwm: ($hwm1 | mib)},
      growth: {rss: ($rss_max - $rss0 | mib), pss: ($pss_max - $pss0 | mib), private: ($priv_max - $priv0 | mib),
               vm_hwm: ($hwm1 - $hwm0 | mib)},
      after: {rss: ($rss1 | mib), pss: ($pss1 | mib), private: ($priv1 | mib)},
      rss_peak_at_s: $peak_at, kernel_recv_queue_max: ($recvq / 1024 | mib)
    },
    server_died: ($server_died == 1),
    strangers: $strangers,
    agent: {samples_before: $s0, samples_at_end: $s1, longest_stall_s: $stall, reconnects: $reconnects,
            storing_after: ($after == 1), streaming: ($streaming == 1)},
    target_rss_growth_mib: $target, verdict_growth_mib: ($verdict_growth | mib),
    pass: ($pass == 1)
  }' >"$WORK/result.json"
echo "result: $WORK/result.json"
# A server that died under the strangers is more than a missed target: fail loudly (bench/run-all).
[ "$server_died" = 0 ] || exit 1
