#!/usr/bin/env bash
# Instructions per page view in the demo server itself, counted by callgrind: the load test's
# request (the ~30 KB `/article` as a page view, no consent cookie) sent N times over one
# keep-alive connection, to the demo without the layer, with the layer but its HTML rewriting
# off, and with the layer. Exact and repeatable where `scripts/load.sh`'s times are not, and it
# shows where the layer's cost per page lies. Needs valgrind and python3.
#
#   scripts/server_instructions.sh            # 200 requests per variant
#   REQUESTS=500 scripts/server_instructions.sh
#
# Counting starts after one request has warmed the server (callgrind_control -z) and ends
# with a dump after the last, so starting the server is left out. Valgrind counts a
# `rep movsb` copy byte by byte, so large copies weigh more here than in time.
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${REQUESTS:-200}
for tool in valgrind callgrind_control python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
cargo build --release --example demo >/dev/null 2>&1
demo=target/release/examples/demo
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

count() { # LAYER(off|norewrite|on): prints instructions per request
  local layer=$1 log="$out/$1.log" pid port
  TOWER_CONSENT_DEMO_LAYER=$layer RUST_LOG=off PORT=0 \
    valgrind --tool=callgrind --callgrind-out-file="$out/$layer.cg" "$demo" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do grep -q "demo on" "$log" 2>/dev/null && break; sleep 0.2; done
  port=$(sed -n 's|.*127.0.0.1:\([0-9]*\)/.*|\1|p' "$log" | head -1)
  client "$port" 1
  callgrind_control -z "$pid" >/dev/null 2>&1
  client "$port" "$requests"
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true
  awk -v n="$requests" '/^totals:/ { printf "%d", $2 / n }' "$out/$layer.cg".*
}

client() { # PORT N: N page views over one connection
  python3 - "$1" "$2" <<'PY'
import http.client, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    conn.request("GET", "/article", headers={"Sec-Fetch-Dest": "document", "Accept": "text/html"})
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
}

off=$(count off)
norewrite=$(count norewrite)
on=$(count on)
echo "instructions per page view ($requests requests each):"
echo "  without the layer:            $off"
echo "  with the layer, rewriting off: $norewrite (+$((norewrite - off)))"
echo "  with the layer:               $on (+$((on - off)))"
