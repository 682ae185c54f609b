#!/usr/bin/env bash
# Removes what deploy/systemd/install.sh installed. By default the configuration (/etc/emotion-agent),
# the state (/var/lib/emotion-agent: the MQTT outbox, model store) and the account stay, so a reinstall
# carries on where it stopped; --purge removes them too.
#
#   sudo deploy/systemd/uninstall.sh [--prefix DIR] [--root DIR] [--dry-run] [--purge]
#
# The options mean what they mean for install.sh.
set -euo pipefail

PREFIX=/opt/emotion-agent
TARGET=""
DRY=0
PURGE=0
ACCOUNT=emotion-agent
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
    --root) TARGET="$(realpath -m "${2:?--root needs a directory}")"; shift ;;
    --dry-run) DRY=1 ;;
    --purge) PURGE=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "uninstall: unknown option $1" >&2; exit 64 ;;
  esac
  shift
done
case "$PREFIX" in /*) ;; *) echo "uninstall: --prefix must be absolute" >&2; exit 64 ;; esac

say() { echo "uninstall: $*"; }
run() {
  printf '+'; printf ' %q' "$@"; printf '\n'
  [ "$DRY" = 1 ] || "$@"
}
[ "$DRY" = 1 ] && say "dry run: nothing is changed"
if [ "$DRY" = 0 ] && [ -z "$TARGET" ] && [ "$(id -u)" != 0 ]; then echo "uninstall: run as root (or with --dry-run)" >&2; exit 1; fi

APP="$TARGET$PREFIX"
UNIT="$TARGET/etc/systemd/system/emotion-agent.service"
LINK="$TARGET/usr/local/bin/emotion-agent"

# --- the service ---------------------------------------------------------------------------------------------
if [ -e "$UNIT" ]; then
  if [ -n "$TARGET" ]; then
    run systemctl --root="$TARGET" disable emotion-agent.service
  elif [ -d /run/systemd/system ]; then
    # --now: stopped first, so it flushes its open window into the outbox that stays behind.
    run systemctl disable --now emotion-agent.service
  else
    run systemctl disable emotion-agent.service
  fi
  run rm -f "$UNIT"
  if [ -z "$TARGET" ] && [ -d /run/systemd/system ]; then run systemctl daemon-reload; fi
fi

# --- the application -----------------------------------------------------------------------------------------
for d in "$APP" "$APP.new" "$APP.old"; do
  if [ -e "$d" ]; then run rm -rf "$d"; fi
done
# Only our own link: another emotion-agent on PATH is not ours to remove.
if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$PREFIX/bin/emotion-agent.js" ]; then run rm -f "$LINK"; fi

# --- configuration, state, account -------------------------------------------------------------------------------
if [ "$PURGE" = 0 ]; then
  for d in "$TARGET/etc/emotion-agent" "$TARGET/var/lib/emotion-agent"; do
    if [ -e "$d" ]; then say "kept $d (--purge removes it)"; fi
  done
  exit 0
fi
for d in "$TARGET/etc/systemd/system/emotion-agent.service.d" "$TARGET/etc/emotion-agent" "$TARGET/var/lib/emotion-agent"; do
  if [ -e "$d" ]; then run rm -rf "$d"; fi
done
has() { awk -F: -v n="$ACCOUNT" '$1 == n { found = 1 } END { exit !found }' "$TARGET/etc/$1"; }
PFX=()
if [ -n "$TARGET" ]; then PFX=(--prefix "$TARGET"); fi
if has passwd; then run userdel "${PFX[@]}" "$ACCOUNT"; fi
# userdel leaves the user's own group where login.defs says USERGROUPS_ENAB no.
if has group; then run groupdel "${PFX[@]}" "$ACCOUNT"; fi
say "purged"
