#!/usr/bin/env bash
# Lays out a balena project from this checkout: the source (tracked and new files, nothing git ignores,
# so no node_modules or dist), with the compose file, balena.yml and the Dockerfile at its root, where
# balena's builder looks for them. Then: balena push <fleet> --source DEST
#
#   deploy/balena/assemble.sh [--jetson] DEST
#
#   --jetson   Jetson Orin: docker-compose.jetson.yml and Dockerfile.jetson (as DEST/Dockerfile)
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JETSON=0
DEST=""
while [ $# -gt 0 ]; do
  case "$1" in
    --jetson) JETSON=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "assemble: unknown option $1" >&2; exit 64 ;;
    *) DEST="$1" ;;
  esac
  shift
done
[ -n "$DEST" ] || { echo "assemble: give the destination folder" >&2; exit 64; }
if [ -e "$DEST" ] && [ -n "$(ls -A "$DEST")" ]; then echo "assemble: $DEST is not empty" >&2; exit 1; fi
mkdir -p "$DEST"

# Files deleted in the working tree are still listed by git; only existing ones are copied.
git -C "$SRC" ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$SRC/$f" ] && printf '%s\0' "$f"; done \
  | tar -C "$SRC" --null -T - -cf - | tar -C "$DEST" -xf -
cp "$SRC/deploy/balena/balena.yml" "$DEST/balena.yml"
if [ "$JETSON" = 1 ]; then
  cp "$SRC/deploy/balena/docker-compose.jetson.yml" "$DEST/docker-compose.yml"
  cp "$SRC/deploy/balena/Dockerfile.jetson" "$DEST/Dockerfile"
else
  cp "$SRC/deploy/balena/docker-compose.yml" "$DEST/docker-compose.yml"
  cp "$SRC/deploy/balena/Dockerfile.template" "$DEST/Dockerfile.template"
fi
echo "assemble: $DEST is ready: balena push <fleet> --source $DEST"
