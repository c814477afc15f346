#!/usr/bin/env bash
# The full benchmark matrix behind docs/benchmarks.md: every scenario on
# Confab and, where the load shape applies, on the baselines; three runs each
# (reports carry every run and the median). Results go to bench/results/<day>/.
# Takes about an hour on a 2-core machine; run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out="bench/results/$(date -u +%Y-%m-%d)"
mkdir -p "$out"
runs="${RUNS:-3}"
bench() { local name="$1"; shift; echo "== $name" >&2; npm run --silent bench -- "$@" --runs "$runs" | tail -1 > "$out/$name.json"; }

bench floor floor
bench direct-confab direct --rates 2000,4000,6000,8000,10000,12000
bench direct-ws-relay direct --target ws-relay --rates 5000,10000,20000,30000,40000
bench direct-socketio direct --target socketio --rates 5000,10000,20000,30000,40000
bench groups-confab groups --rates 500,1000,1500,2000,3000,4000
bench groups-ws-relay groups --target ws-relay --rates 1000,2000,3000,4000,6000
bench groups-socketio groups --target socketio --rates 1000,2000,3000,4000,6000
bench history history
bench idle-confab idle
bench idle-ws-relay idle --target ws-relay
bench idle-socketio idle --target socketio
bench reconnect-confab reconnect
bench direct-confab-2nodes direct --nodes 2 --rates 1000,2000,4000,6000,8000
bench groups-confab-2nodes groups --nodes 2 --rates 250,500,1000,1500,2000
# The runtime comparison: the same server core on Node and on Bun, back to back.
bench direct-confab-node direct --runtime node --rates 2000,4000,6000
bench direct-confab-bun direct --runtime bun --rates 2000,4000,6000
bench groups-confab-node groups --runtime node --rates 1000,1500,2000
bench groups-confab-bun groups --runtime bun --rates 1000,1500,2000
bench idle-confab-bun idle --runtime bun
echo "results in $out" >&2
