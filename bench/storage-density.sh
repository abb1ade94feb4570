#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bytes on disk per raw sample (issue 13's target: <= 20 for an 8-core sample). Records a
# database from simulated agents (the load generator's synthetic 8-core machines, 1 s sampling)
# through a real server, then measures it, and any databases given (e.g. one recorded from real
# agents), with bench_storage_density: the file as rows and with chunks, each vacuumed, the
# tiers' shares, and the chunks with other codecs.
#   bench/storage-density.sh [DB...]        (AGENTS=50 DURATION=6m to change)
source "$(dirname "$0")/scale-lib.sh"
AGENTS=${AGENTS:-50}
DURATION=${DURATION:-6m}
DENSITY_BIN=${DENSITY_BIN:-$BUILD/bench/bench_storage_density}
scale_workdir density

start_server 127.0.0.1:0 "$WORK/synthetic.db"
"$LOADGEN_BIN" --server "$SERVER_URL" "${LOADGEN_AUTH[@]}" --agents "$AGENTS" --sample-interval 1s \
  --send-interval 5s --duration "$DURATION" --quiet --report "$WORK/loadgen.json" >"$WORK/loadgen.txt"
stop_server
echo "== $AGENTS synthetic agents, 1 s sampling, $DURATION"
"$DENSITY_BIN" "$WORK/synthetic.db" "$@"
