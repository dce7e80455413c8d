#!/usr/bin/env bash
# Load and soak: the demo's ~30 KB article page (trackers, an embed, images) under `wrk`
# (Debian's package) over loopback, once without the layer, once with it rewriting every
# page for visitors who have not consented (trackers made inert, the banner inserted), and
# once with the layer but its HTML rewriting switched off (what the rest of it costs).
# Prints requests per second, latency percentiles, errors, and the server's resident memory
# before the run, after a warm-up and at the end, and the throughput ratio.
#
#   scripts/load.sh                      # 60 s per variant, 16 connections
#   DURATION=600s scripts/load.sh        # a soak
#   PIN=1 scripts/load.sh                # server on CPU 0, wrk on CPU 1 (taskset): no sharing
#   CONNECTIONS=2 scripts/load.sh        # fewer connections in flight
#   ROUNDS=5 DURATION=10s scripts/load.sh  # the three in turn five times; medians compared
#
# Needs wrk (apt-get install wrk). The variants run in one invocation, side by side, since the
# machine is shared: compare the ratio, not the absolute figures. Another tenant's load moves
# a single run by a fifth or more; with ROUNDS the variants take turns and the ratios are of
# their median throughputs.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-60s}
rounds=${ROUNDS:-1}
connections=${CONNECTIONS:-16}
server_cpu=() client_cpu=()
if [ -n "${PIN:-}" ]; then server_cpu=(taskset -c 0) client_cpu=(taskset -c 1); fi
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --example demo >/dev/null 2>&1
demo=target/release/examples/demo
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

rss() { awk '/VmRSS/ { print $2 " kB" }' "/proc/$1/status"; }
# CPU time a process used so far, in clock ticks: user and system.
ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }

run() { # LABEL LAYER(on|off)
  local label=$1 port log
  log="$out/$label.out"
  TOWER_CONSENT_DEMO_LAYER=$2 RUST_LOG=off PORT=0 "${server_cpu[@]}" "$demo" >"$log" 2>/dev/null &
  local pid=$!
  for _ in $(seq 100); do grep -q "demo on" "$log" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's|.*127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -1)
  local url="http://127.0.0.1:$port/article"
  local size
  size=$(curl -s -H 'Sec-Fetch-Dest: document' "$url" | wc -c)
  local before warm after
  before=$(rss $pid)
  "${client_cpu[@]}" wrk -t1 -c"$connections" -d5s -H 'Sec-Fetch-Dest: document' -H 'Accept: text/html' "$url" >/dev/null
  warm=$(rss $pid)
  local user_before sys_before user_after sys_after
  read -r user_before sys_before < <(ticks $pid)
  "${client_cpu[@]}" wrk -t1 -c"$connections" -d"$duration" --latency \
    -H 'Sec-Fetch-Dest: document' -H 'Accept: text/html' "$url" >"$out/$label.wrk"
  read -r user_after sys_after < <(ticks $pid)
  after=$(rss $pid)
  kill $pid; wait $pid 2>/dev/null || true
  local rps p50 p90 p99 errors non2xx
  rps=$(awk '/Requests\/sec/ { print $2 }' "$out/$label.wrk")
  p50=$(awk '$1 == "50%" { print $2 }' "$out/$label.wrk")
  p90=$(awk '$1 == "90%" { print $2 }' "$out/$label.wrk")
  p99=$(awk '$1 == "99%" { print $2 }' "$out/$label.wrk")
  errors=$(awk '/Socket errors/ { print $0 }' "$out/$label.wrk")
  non2xx=$(awk '/Non-2xx/ { print $NF }' "$out/$label.wrk")
  local requests per_request
  requests=$(awk '/requests in/ { print $1 }' "$out/$label.wrk")
  # In microseconds: total (user + system).
  per_request=$(awk -v u=$((user_after - user_before)) -v s=$((sys_after - sys_before)) \
    -v n="$requests" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { f = 1e6 / hz / n; printf "%.1f (user %.1f + system %.1f)", (u + s) * f, u * f, s * f }')
  echo "$label: page $size bytes; $rps req/s; latency p50 $p50, p90 $p90, p99 $p99; errors: ${errors:-none}${non2xx:+, non-2xx $non2xx}; server CPU $per_request us per request; memory $before before, $warm after warm-up, $after at the end"
  echo "$rps" >>"$out/$label.rps"
}

for round in $(seq "$rounds"); do
  [ "$rounds" -gt 1 ] && echo "round $round of $rounds"
  run "without the layer" off
  run "with the layer, its HTML rewriting off (consent read, cookies filtered)" norewrite
  run "with the layer (new visitors: trackers blocked, banner inserted)" on
done
median() { sort -g "$out/$1.rps" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { # LABEL A B
  awk -v a="$(median "$2")" -v b="$(median "$3")" -v l="$1" -v n="$rounds" \
    'BEGIN { printf "throughput %s: %.0f%% of without%s\n", l, 100 * b / a, (n > 1 ? " (medians of " n " runs)" : "") }'
}
ratio "with the layer" "without the layer" "with the layer (new visitors: trackers blocked, banner inserted)"
ratio "with the layer, rewriting off" "without the layer" \
  "with the layer, its HTML rewriting off (consent read, cookies filtered)"
