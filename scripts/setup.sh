#!/usr/bin/env bash
# One-command, idempotent setup for emotion-agent on Debian 12 (and Ubuntu / Jetson Linux).
#
#   bash scripts/setup.sh [--quiet] [--force] [--runtime] [--training]
#
# --runtime: only the Debian packages the agent needs to run (kiosks, images: install.sh), not the
# ones only the tests use (Mosquitto, Chromium, shellcheck, the RTSP test server).
# --training: also Debian's PyTorch stack for training/ (npm run train); the tests set it up too,
# kiosks never need it.
# Each step checks a stamp and is skipped when nothing it depends on changed, so a second run takes
# about a second. Steps: Debian packages -> npm ci -> @u4/opencv4nodejs native build (cached outside
# the checkout, keyed by everything the binary depends on, so a fresh clone never pays the ~10 minute
# build twice) -> TypeScript build -> demo media.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
QUIET=0
FORCE=0
RUNTIME=0
TRAINING=0
for arg in "$@"; do
  case "$arg" in
    --quiet) QUIET=1 ;;
    --force) FORCE=1 ;;
    --runtime) RUNTIME=1 ;;
    --training) TRAINING=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 64 ;;
  esac
done

STATE="$ROOT/var/setup"
CACHE="${EMOTION_AGENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emotion-agent}"
mkdir -p "$STATE" "$CACHE"
say() { [ "$QUIET" = 1 ] || echo "setup: $*"; }
note() { echo "setup: $*"; }
hash_of() { sha256sum | cut -c1-16; }
stamp_ok() { [ "$FORCE" = 0 ] && [ -f "$STATE/$1" ] && [ "$(cat "$STATE/$1")" = "$2" ]; }
stamp_set() { echo "$2" >"$STATE/$1"; }

# --- 1. Debian packages ---------------------------------------------------------------------------
# libopencv-dev: image IO/resizing/drawing and VideoCapture (GStreamer pipelines); ffmpeg: capture and
# demo media; build tools for native addons.
APT_PACKAGES=(libopencv-dev ffmpeg g++ make python3 pkg-config ca-certificates
  # GStreamer: Jetson hardware-decode pipelines (kind "gstreamer" cameras).
  gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav)
if [ "$RUNTIME" = 0 ]; then
  # Tests only: the broker the MQTT tests run against; the real RTSP server (gst-rtsp-server); the
  # technician page in a real headless browser; shell scripts and the systemd unit checked.
  APT_PACKAGES+=(mosquitto gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0 chromium shellcheck systemd)
  # The tests run a smoke training run, so the full (non-runtime) setup includes the training stack.
  TRAINING=1
fi
if [ "$TRAINING" = 1 ]; then
  # training/ (PyTorch from Debian, CPU; /usr/bin/python3): torch 1.13, torchvision 0.14, onnx 1.12.
  APT_PACKAGES+=(python3-torch python3-torchvision python3-onnx python3-numpy python3-pil python3-yaml python3-matplotlib)
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    note "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: these Debian packages are missing. Install them, then run this again:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != 20 ]; then
  echo "setup: Node.js 20 is required (found $(node --version))." >&2
  exit 1
fi

# --- 2. npm ci --------------------------------------------------------------------------------------
# --ignore-scripts: no dependency runs an install script we need (onnxruntime-node's only downloads
# CUDA binaries; opencv4nodejs is built below, explicitly). Native builds happen in this script.
lock_key="$( (cat package-lock.json; node --version) | hash_of)"
if ! stamp_ok npm "$lock_key" || [ ! -d node_modules ]; then
  say "npm ci"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  rm -f "$STATE/opencv4nodejs" "$STATE/better-sqlite3" "$STATE/build"
  stamp_set npm "$lock_key"
fi

# --- 3. Native addons, built once per machine -------------------------------------------------------
# npm ci ran with --ignore-scripts, so native addons are built here, explicitly. Each binary is cached
# outside the checkout under a key of everything it depends on, so a fresh clone (CI) copies it.
#   native <name> <package dir> <binary path in package> <extra key text> <build command...>
native() {
  local name="$1" dir="$2" bin="$3" extra="$4"; shift 4
  local key
  key="$( (node -p 'require("./'"$dir"'/package.json").version'; node -p process.versions.modules; uname -m;
    echo "$extra"; cat "$dir/binding.gyp") | hash_of)"
  if stamp_ok "$name" "$key" && [ -f "$dir/$bin" ]; then return 0; fi
  local cached
  cached="$CACHE/$name/$key/$(basename "$bin")"
  if [ -f "$cached" ] && [ "$FORCE" = 0 ]; then
    say "$name: using the cached build $key"
  else
    note "building $name (once per machine)"
    (cd "$dir" && "$@" >"$STATE/$name-build.log" 2>&1) || { echo "setup: $name build failed, see $STATE/$name-build.log" >&2; exit 1; }
    mkdir -p "$(dirname "$cached")"
    cp "$dir/$bin" "$cached.tmp" && mv "$cached.tmp" "$cached"
  fi
  mkdir -p "$(dirname "$dir/$bin")"
  cp "$cached" "$dir/$bin"
  stamp_set "$name" "$key"
}
NODEDIR="${npm_config_nodedir:-/usr}"
GYP=(node "$ROOT/node_modules/node-gyp/bin/node-gyp.js" rebuild --release --jobs "$(nproc)" --nodedir="$NODEDIR")

# @u4/opencv4nodejs against the system OpenCV (image IO, resizing, drawing).
OPENCV_LIB_DIR="/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
export OPENCV4NODEJS_DISABLE_AUTOBUILD=1 OPENCV_INCLUDE_DIR=/usr/include/opencv4 OPENCV_LIB_DIR OPENCV_BIN_DIR=/usr/bin
native opencv4nodejs node_modules/@u4/opencv4nodejs build/Release/opencv4nodejs.node \
  "$(dpkg-query -W -f='${Version}' libopencv-dev)" "${GYP[@]}"
node scripts/check-opencv.cjs || { echo "setup: opencv4nodejs does not load" >&2; exit 1; }
# better-sqlite3 (the MQTT outbox): its install script would try a prebuilt download first.
native better-sqlite3 node_modules/better-sqlite3 build/Release/better_sqlite3.node "" "${GYP[@]}"

# --- 4. TypeScript ------------------------------------------------------------------------------------
src_key="$( (find src -type f -print0 | sort -z | xargs -0 sha256sum; cat tsconfig*.json package-lock.json) | hash_of)"
if ! stamp_ok build "$src_key" || [ ! -f dist/cli.js ]; then
  say "compiling TypeScript"
  rm -rf dist
  npx --no-install tsc -p tsconfig.build.json
  # JSON schemas are read at run time next to the compiled code (the page's files live in web/).
  (cd src && find . -name '*.json') | while read -r f; do
    mkdir -p "dist/$(dirname "$f")" && cp "src/$f" "dist/$f"
  done
  stamp_set build "$src_key"
fi

# --- 5. Demo media ------------------------------------------------------------------------------------
bash scripts/make-demo-media.sh "$ROOT/var/demo" "$QUIET"

say "ready"
