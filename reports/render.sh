#!/usr/bin/env bash
# Renders a study's report to a PNG with headless Chromium (Debian's `chromium` package),
# to look at it as a picture: reports/render.sh STUDY_DIR [OUT.png] [HEIGHT_PX]
set -euo pipefail
study="${1:?usage: reports/render.sh STUDY_DIR [OUT.png] [HEIGHT_PX]}"
out="${2:-$study/report/report.png}"
height="${3:-6000}"
page="$(cd "$study/report" && pwd)/index.html"
[ -f "$page" ] || { echo "no report at $page: run \`pipeline report --study $study\`" >&2; exit 1; }
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size="1400,$height" \
  --screenshot="$(realpath -m "$out")" "file://$page" 2>/dev/null
echo "wrote $out"
