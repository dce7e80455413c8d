#!/usr/bin/env bash
# Instructions per byte of the HTML rewriter and of lol_html doing the same job on the same
# 1 MB page (benches/html_rewrite.rs), counted by callgrind: exact and repeatable where time on a
# shared machine is not. A complement to `cargo bench --bench html_rewrite`, which records time.
# Needs valgrind.
#
#   scripts/html_instructions.sh
#
# Each rewriter is run over the page once and eleven times; the difference over ten pages
# leaves out building the page and the rewriter's setup.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench html_rewrite --no-run 2>/dev/null
bin=$(cargo bench --bench html_rewrite --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*html_rewrite[^"]*"' | tail -1 | cut -d'"' -f4)
refs() {
  COUNT_REWRITER=$1 COUNT_PAGES=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 \
    | awk '/refs:/ { gsub(",", "", $NF); print $NF }'
}
bytes=1049475
for rewriter in tower_consent lol_html; do
  one=$(refs "$rewriter" 1)
  eleven=$(refs "$rewriter" 11)
  per_page=$(( (eleven - one) / 10 ))
  echo "$rewriter: $per_page instructions per page ($bytes bytes), $(awk -v p="$per_page" -v b="$bytes" 'BEGIN { printf "%.1f", p / b }') per byte"
done
