#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shared helpers of the scale benchmarks (sourced, not run): start/stop autofactory on
# 127.0.0.1, read its CPU seconds and peak RSS from /proc, describe the machine.
set -euo pipefail

BUILD=${BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
SERVER_BIN=${SERVER_BIN:-$BUILD/app-server/autofactory}
LOADGEN_BIN=${LOADGEN_BIN:-$BUILD/tools/loadgen/autofact-loadgen}
CLK_TCK=$(getconf CLK_TCK)

# Every run gets its own directory of artefacts (database, logs, JSON reports).
scale_workdir() {
  WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/autofact-scale-$1.XXXXXX")}
  mkdir -p "$WORK"
  echo "artefacts in $WORK" >&2
}

machine_json() {
  local model
  model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  jq -n --arg model "$model" --argjson nproc "$(nproc)" --arg kernel "$(uname -r)" \
        --arg glib "${QT_NO_GLIB-unset (autofactory --headless then uses QT_NO_GLIB=1)}" \
    '{cpu_model: $model, nproc: $nproc, kernel: $kernel, qt_no_glib: $glib,
      note: "load generator and server share these cores"}'
}

# CPU seconds (user+system) of a live process.
proc_cpu_s() {
  awk -v t="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / t }' "/proc/$1/stat"
}
# Peak resident set (VmHWM) of a live process, in MiB.
proc_hwm_mib() {
  awk '/^VmHWM:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"
}
proc_rss_mib() {
  awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"
}

# complete_lines FILE: the newline-terminated lines of a file another process is writing, read
# once; a line still being written is left out (it is read whole on a later call).
complete_lines() {
  local text
  text=$(cat "$1" 2>/dev/null; printf x)
  text=${text%x}
  case $text in
    *$'\n') ;;
    *$'\n'*) text=${text%$'\n'*}$'\n' ;;
    *) text= ;;
  esac
  printf '%s' "$text"
}

# loadgen_report FILE PID: waits for the load generator PID to exit, then checks that it
# exited 0 and left its final JSON report (written atomically at the very end). Scripts take
# their figures and their verdict from that one report, never from its progress lines.
loadgen_report() {
  local report=$1 pid=$2 code=0
  wait "$pid" || code=$?
  if [ "$code" -ne 0 ] || ! jq -e . "$report" >/dev/null 2>&1; then
    echo "autofact-loadgen exited $code without a readable report $report" >&2
    return 1
  fi
}

# SCHEME=wss (the product's default: its own certificate, pinned by the load generator as an
# agent pins it) or SCHEME=ws (--insecure-ws, the figures before TLS became the default).
SCHEME=${SCHEME:-wss}

# start_server LISTEN DB [extra autofactory flags...]: sets SERVER_PID, SERVER_URL and
# LOADGEN_AUTH (the load generator's --token, and --fingerprint or --insecure).
start_server() {
  local listen=$1 db=$2; shift 2
  local scheme_flags=()
  [ "$SCHEME" = ws ] && scheme_flags=(--insecure-ws)
  "$SERVER_BIN" --headless --listen "$listen" --db "$db" "${scheme_flags[@]}" "$@" \
    >"$WORK/server.out" 2>>"$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    # Only a whole line: a port read while the line is written would be cut short.
    SERVER_URL=$(complete_lines "$WORK/server.out" | sed -n 's/^listening on \(wss\{0,1\}:\/\/[^ ]*\)$/\1/p')
    local fingerprint
    fingerprint=$(complete_lines "$WORK/server.out" | sed -n 's/^certificate //p')
    if [ -n "$SERVER_URL" ] && { [ "$SCHEME" = ws ] || [ -n "$fingerprint" ]; }; then
      # One multi-use token for the whole simulated fleet, as the load generator's --token says.
      local token
      token=$("$SERVER_BIN" token create --db "$db" --uses 1000000 --expires 0 --label "scale benchmark")
      if [ "$SCHEME" = ws ]; then
        LOADGEN_AUTH=(--token "$token" --insecure)
      else
        LOADGEN_AUTH=(--token "$token" --fingerprint "$fingerprint")
      fi
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server failed:"; cat "$WORK/server.err"; return 1; }
    sleep 0.1
  done
  echo "server did not report its URL" >&2
  return 1
}

# stop_server: SIGTERM and wait (the server writes what is queued before exiting).
stop_server() {
  [ -n "${SERVER_PID:-}" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
trap 'stop_server' EXIT

# Logs: hub and agent code log every connect; at 10,000 agents that is noise. Keep the
# server's warnings. (QT_LOGGING_RULES overrides the loadgen's own quiet default.)
export QT_LOGGING_RULES=${QT_LOGGING_RULES:-"autofact.*.debug=false;autofact.*.info=false;autofact.agent*.warning=false"}
