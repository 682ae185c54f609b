#!/usr/bin/env bash
# Installs emotion-agent on Debian 12, Ubuntu 22.04+ or Jetson Linux (L4T) as a hardened systemd service,
# or into a container image (--no-systemd). Run it from a checkout, as root:
#
#   sudo deploy/systemd/install.sh [--prefix DIR] [--root DIR] [--dry-run] [--no-systemd] [--skip-build]
#
#   --prefix DIR   where the application goes (default /opt/emotion-agent)
#   --root DIR     install into DIR as the filesystem root (a chroot or image being assembled, a test):
#                  no apt and no build (the checkout must be built already); the account is added to
#                  DIR/etc/passwd and the unit enabled with systemctl --root
#   --dry-run      print every action, change nothing
#   --no-systemd   no unit and no credentials (containers: the runtime supervises, secrets come as variables)
#   --skip-build   use the checkout as built instead of running scripts/setup.sh
#
# Idempotent: a second run upgrades the application, restarts the service if it is running, and never
# touches an existing /etc/emotion-agent/agent.json or credential file. Docs: docs/deploy.md.
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX=/opt/emotion-agent
TARGET=""
DRY=0
SYSTEMD=1
BUILD=1
ACCOUNT=emotion-agent
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
    --root) TARGET="$(realpath -m "${2:?--root needs a directory}")"; BUILD=0; shift ;;
    --dry-run) DRY=1 ;;
    --no-systemd) SYSTEMD=0 ;;
    --skip-build) BUILD=0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install: unknown option $1" >&2; exit 64 ;;
  esac
  shift
done
case "$PREFIX" in /*) ;; *) echo "install: --prefix must be absolute" >&2; exit 64 ;; esac

say() { echo "install: $*"; }
die() { echo "install: $*" >&2; exit 1; }
# Every change goes through run: printed, and carried out unless --dry-run.
run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  [ "$DRY" = 1 ] || "$@"
}

APP="$TARGET$PREFIX"
ETC="$TARGET/etc/emotion-agent"
STATE="$TARGET/var/lib/emotion-agent"
UNIT="$TARGET/etc/systemd/system/emotion-agent.service"
[ "$DRY" = 1 ] && say "dry run: nothing is changed"
if [ "$DRY" = 0 ] && [ -z "$TARGET" ] && [ "$(id -u)" != 0 ]; then die "run as root (or with --dry-run)"; fi
if [ -n "$TARGET" ] && [ ! -f "$TARGET/etc/passwd" ]; then
  die "--root $TARGET has no etc/passwd: give it a root filesystem (debootstrap) or at least its account files"
fi

# --- 1. Node.js 20 and the build -----------------------------------------------------------------------
NODE="$(command -v node || true)"
if [ -z "$NODE" ] || [ "$(node -p 'process.versions.node.split(".")[0]')" != 20 ]; then
  die "Node.js 20 is required (found: ${NODE:-none}). On Debian/Ubuntu/L4T, NodeSource's package:
  curl -fsSL https://deb.nodesource.com/setup_20.x | sudo bash - && sudo apt-get install -y nodejs"
fi
NODE="$(realpath "$NODE")"
case "$NODE" in /home/*|/root/*) say "warning: $NODE is under a home directory, which the unit hides (ProtectHome=yes)" ;; esac
if [ "$BUILD" = 1 ]; then
  # The one build recipe (Debian packages, npm ci, native addons, TypeScript): the same for a source
  # checkout, this install and the container images.
  # --runtime: only what the agent needs, not the packages only the tests use (Ubuntu/L4T have no "chromium").
  SETUP=(bash "$SRC/scripts/setup.sh" --quiet --runtime)
  run "${SETUP[@]}"
else
  say "skipping the build (--skip-build or --root): using the checkout as built"
fi
if [ "$DRY" = 0 ] || [ "$BUILD" = 0 ]; then
  for f in dist/cli.js node_modules/@u4/opencv4nodejs/build/Release/opencv4nodejs.node node_modules/better-sqlite3/build/Release/better_sqlite3.node; do
    [ -f "$SRC/$f" ] || die "the checkout is not built ($f missing): run scripts/setup.sh first"
  done
fi

# --- 2. The account -----------------------------------------------------------------------------------
# A fixed system user (not DynamicUser): the state keeps one owner across reinstalls. Groups: video for
# /dev/video* and the Jetson GPU nodes, render for /dev/dri render nodes where the group exists.
PFX=()
[ -n "$TARGET" ] && PFX=(--prefix "$TARGET")
field() { awk -F: -v n="$2" -v f="$3" '$1 == n { print $f }' "$TARGET/etc/$1"; }
if [ -z "$(field passwd "$ACCOUNT" 1)" ]; then
  run useradd "${PFX[@]}" --system --user-group --home-dir /var/lib/emotion-agent --no-create-home \
    --shell /usr/sbin/nologin --comment "emotion-agent daemon" "$ACCOUNT"
fi
for g in video render; do
  if [ -n "$(field group "$g" 1)" ] && [[ ",$(field group "$g" 4)," != *",$ACCOUNT,"* ]]; then
    run usermod "${PFX[@]}" --append --groups "$g" "$ACCOUNT"
  fi
done
# Numeric ids from the target's own files: under --root the host's names mean nothing.
AUID="$(field passwd "$ACCOUNT" 3)"; AUID="${AUID:-$ACCOUNT}"
AGID="$(field group "$ACCOUNT" 3)"; AGID="${AGID:-$ACCOUNT}"
# Ownership needs root; an unprivileged --root run (a test, an image assembled as a user) skips it.
OWN_ROOT=(); OWN_CONF=(); OWN_STATE=()
if [ "$(id -u)" = 0 ]; then OWN_ROOT=(-o 0 -g 0); OWN_CONF=(-o 0 -g "$AGID"); OWN_STATE=(-o "$AUID" -g "$AGID"); fi

# --- 3. The application ---------------------------------------------------------------------------------
# Staged beside the old copy and swapped in, so a running agent never sees a half-copied tree. Only
# production packages are copied, and of ONNX Runtime's prebuilt binaries only this platform's.
case "$(uname -m)" in x86_64) ORT_ARCH=x64; ORT_OTHER=arm64 ;; aarch64) ORT_ARCH=arm64; ORT_OTHER=x64 ;; *) ORT_ARCH="$(uname -m)"; ORT_OTHER=none ;; esac
ORT_BIN=node_modules/onnxruntime-node/bin/napi-v6
LIST="$(mktemp)"
trap 'rm -f "$LIST" "${RENDERED:-}"' EXIT
{
  printf '%s\n' bin dist models config docs deploy package.json package-lock.json README.md var/demo
  { npm --prefix "$SRC" ls --omit=dev --all --parseable 2>/dev/null || true; } | sed -n "s|^$SRC/||p" \
    | awk -F/ '$1 == "node_modules" { print ($2 ~ /^@/) ? $1 "/" $2 "/" $3 : $1 "/" $2 }' | sort -u
} | while read -r p; do [ -e "$SRC/$p" ] && echo "$p"; done >"$LIST"
grep -qx node_modules/onnxruntime-node "$LIST" || die "npm ls found no production packages in $SRC/node_modules"
say "copying $(wc -l <"$LIST") entries ($(grep -c '^node_modules/' "$LIST") production packages) for linux/$ORT_ARCH"
run rm -rf "$APP.new"
run mkdir -p "$APP.new"
PACK=(tar -C "$SRC" -cf -
  --exclude="$ORT_BIN/darwin" --exclude="$ORT_BIN/win32" --exclude="$ORT_BIN/linux/$ORT_OTHER"
  --exclude='*/build/Release/obj' --exclude='*/build/Release/obj.target' --exclude='*/build/Release/.deps'
  --exclude='*/build/Release/*.a' --exclude='*/build/Release/test_extension.node' --files-from="$LIST")
UNPACK=(tar -C "$APP.new" -xf - --no-same-owner)
printf '+'; printf ' %q' "${PACK[@]}"; printf ' |'; printf ' %q' "${UNPACK[@]}"; printf '\n'
[ "$DRY" = 1 ] || "${PACK[@]}" | "${UNPACK[@]}"
# Code belongs to root and is read-only to the service: a compromised agent cannot rewrite itself.
if [ "$(id -u)" = 0 ]; then run chown -R 0:0 "$APP.new"; fi
run chmod -R u+rwX,go+rX,go-w "$APP.new"
if [ -e "$APP" ]; then run mv "$APP" "$APP.old"; fi
run mv "$APP.new" "$APP"
run rm -rf "$APP.old"
run mkdir -p "$TARGET/usr/local/bin"
run ln -sfn "$PREFIX/bin/emotion-agent.js" "$TARGET/usr/local/bin/emotion-agent"

# --- 4. Configuration and state ----------------------------------------------------------------------------
run install -d -m 0755 "$ETC"
if [ -e "$ETC/agent.json" ]; then
  say "keeping the existing $ETC/agent.json"
else
  run install -m 0640 "${OWN_CONF[@]}" "$SRC/config/example.json" "$ETC/agent.json"
fi
if [ "$SYSTEMD" = 1 ]; then
  # Read by systemd (LoadCredential=) as root and handed to the service; nobody else reads them.
  run install -d -m 0700 "${OWN_ROOT[@]}" "$ETC/credentials"
  for c in mqtt-password http-token; do
    [ -e "$ETC/credentials/$c" ] || run install -m 0600 "${OWN_ROOT[@]}" /dev/null "$ETC/credentials/$c"
  done
fi
run install -d -m 0750 "${OWN_STATE[@]}" "$STATE"

# --- 5. The unit ---------------------------------------------------------------------------------------------
if [ "$SYSTEMD" = 0 ]; then
  say "no systemd unit (--no-systemd)"
  say "done: run $PREFIX/bin/emotion-agent.js run as $ACCOUNT"
  exit 0
fi
RENDERED="$(mktemp)"
sed -e "s|/opt/emotion-agent|$PREFIX|g" -e "s|^ExecStart=/usr/bin/node |ExecStart=$NODE |" \
  "$SRC/deploy/systemd/emotion-agent.service" >"$RENDERED"
if cmp -s "$RENDERED" "$UNIT"; then
  say "unit unchanged: $UNIT"
else
  run install -D -m 0644 "$RENDERED" "$UNIT"
fi
if [ -n "$TARGET" ]; then
  run systemctl --root="$TARGET" enable emotion-agent.service
elif [ -d /run/systemd/system ]; then
  run systemctl daemon-reload
  run systemctl enable emotion-agent.service
  if systemctl is-active --quiet emotion-agent.service; then run systemctl restart emotion-agent.service; fi
else
  # Not booted with systemd (a chroot, an image build): enabling only writes the symlink.
  run systemctl enable emotion-agent.service
fi
say "done. Next: edit $ETC/agent.json (cameras, mqtt), put secrets in $ETC/credentials/,"
say "then: systemctl start emotion-agent && journalctl -u emotion-agent -f   (docs/deploy.md)"
