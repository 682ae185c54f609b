#!/usr/bin/env bash
# Makes the demo clip from the sample photos that @vladmandic/face-api ships (real people, MIT
# package): a 1280x720 H.264 slideshow with a slow zoom, so faces move and change size the way they
# do in front of a kiosk camera. Idempotent: skipped when the clip exists and this script is unchanged.
#   bash scripts/make-demo-media.sh <out-dir> [quiet=0|1]
set -euo pipefail
OUT="${1:?usage: make-demo-media.sh <out-dir>}"
QUIET="${2:-0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAMPLES="$ROOT/node_modules/@vladmandic/face-api/demo"
key="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
if [ -f "$OUT/demo.mp4" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$key" ]; then exit 0; fi
[ "$QUIET" = 1 ] || echo "setup: making the demo clip $OUT/demo.mp4"
mkdir -p "$OUT"
inputs=()
filters=""
n=0
for i in 1 2 3 4 5 6; do
  img="$SAMPLES/sample$i.jpg"
  [ -f "$img" ] || { echo "make-demo-media: missing $img (run npm ci)" >&2; exit 1; }
  inputs+=(-loop 1 -framerate 10 -t 3 -i "$img")
  # Fit into 1280x720, then a gentle zoom-in over the 3 seconds (30 frames).
  filters+="[$n:v]scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,"
  filters+="zoompan=z='1+0.004*on':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=1280x720:fps=10,setsar=1[v$n];"
  n=$((n + 1))
done
concat=""
for ((k = 0; k < n; k++)); do concat+="[v$k]"; done
ffmpeg -v error -y "${inputs[@]}" -filter_complex "${filters}${concat}concat=n=$n:v=1:a=0,format=yuv420p[out]" \
  -map '[out]' -c:v libx264 -preset veryfast -crf 23 -g 10 -r 10 -movflags +faststart "$OUT/demo.mp4.tmp.mp4"
mv "$OUT/demo.mp4.tmp.mp4" "$OUT/demo.mp4"
echo "$key" >"$OUT/.stamp"
