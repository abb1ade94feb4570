#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Dashboard under load: the real dashboard window (offscreen) over the real server core while
# autofact-loadgen streams agents into it; prints how late the GUI event loop runs (target:
# no stall over 50 ms). Views are cycled every 3 s (clients, overview, detail).
#   bench/scale-dashboard.sh                      200 agents at 1 Hz, sending every 1 s, 60 s
#   AGENTS=1000 SEND=5s DURATION=120 bench/scale-dashboard.sh     (issue 6, benchmark 4)
#   AGENTS=1000 SEND=5s DURATION=120 ALERTS=100 bench/scale-dashboard.sh   (issue 14: 100 alerts at once)
#   AGENTS=1000 SEND=5s DURATION=120 COMPARE=50 bench/scale-dashboard.sh   (issue 15: compare view on 50 hosts)
source "$(dirname "$0")/scale-lib.sh"
AGENTS=${AGENTS:-200}
DURATION=${DURATION:-60}
SEND=${SEND:-1s}
ALERTS=${ALERTS:-0}
COMPARE=${COMPARE:-0}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); dashboard, server and load generator share them"
"$BUILD/bench/bench_dashboard_load" --loadgen "$LOADGEN_BIN" --agents "$AGENTS" \
  --duration "$DURATION" --sample-interval 1s --send-interval "$SEND" --alerts "$ALERTS" --compare "$COMPARE"
