#!/usr/bin/env bash
# Instructions per request the layer adds, counted by callgrind: exact and repeatable, where
# wall-clock time on a shared 2-core machine is not. A complement to `cargo bench --bench
# request_path` (criterion), which records the time. Needs valgrind (apt-get install valgrind).
#
#   scripts/instructions.sh            # 100 000 requests per variant and scenario
#
# Prints, for scenario (a) no Set-Cookie and (b) five Set-Cookie of which two are denied, the
# instructions per request of each variant and the overhead of the two layers over the bare one.
# The count includes building the requests (the same for every variant). Each variant runs for
# N and for 2N requests and the difference is divided by N, so what happens once (building the
# layer: its catalog, the banner's texts in every language) is not spread over the requests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench request_path --no-run 2>/dev/null
bin=$(cargo bench --bench request_path --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*request_path[^"]*"' | tail -1 | cut -d'"' -f4)
n=${COUNT_N:-100000}
refs() {
  COUNT_VARIANT=$1 COUNT_N=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 \
    | awk '/refs:/ { gsub(",", "", $NF); print $NF }'
}
per_request() {
  local once twice
  once=$(refs "$1" "$n")
  twice=$(refs "$1" $((2 * n)))
  echo $(( (twice - once) / n ))
}
for scenario in a b; do
  if [ "$scenario" = b ]; then export SET_COOKIES=1; else unset SET_COOKIES; fi
  bare=$(per_request bare)
  consent=$(per_request tower_consent)
  cookies=$(per_request tower_cookies)
  echo "scenario $scenario: bare $bare, tower_consent $consent (+$((consent - bare))), tower_cookies $cookies (+$((cookies - bare))) instructions per request"
done
