#!/usr/bin/env bash
# The README's screenshots of the built-in banner and preferences page, on desktop and phone
# widths: the demo is started on a loopback port and headless Chromium (Debian's `chromium`
# package) photographs it. Nothing leaves the machine: every host but 127.0.0.1 fails to
# resolve, so the demo's trackers are attempted in vain, as they would be blocked anyway.
#
#   scripts/screenshots.sh            # writes docs/banner-*.png and docs/preferences-*.png
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --example demo
port=${PORT:-38517}
PORT=$port target/debug/examples/demo >/dev/null &
demo=$!
trap 'kill $demo' EXIT
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.2
done
shot() { # NAME WIDTH,HEIGHT URL
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --lang=en-US \
    --disable-background-networking --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
    --force-prefers-reduced-motion --virtual-time-budget=3000 --window-size="$2" --screenshot="docs/$1.png" "$3" 2>/dev/null
}
shot banner-desktop 1280,800 "http://127.0.0.1:$port/"
shot banner-phone 390,844 "http://127.0.0.1:$port/"
shot preferences-desktop 1280,1100 "http://127.0.0.1:$port/consent"
shot preferences-phone 390,1500 "http://127.0.0.1:$port/consent"
ls -l docs/*.png
