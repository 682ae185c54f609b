#!/usr/bin/env bash
# npm run train -- [--config training/configs/<name>.yaml] [--epochs N] [--resume RUN] [...]
# Sets up the training step once (Debian's PyTorch, see setup.sh --training), then runs the
# pipeline with Debian's interpreter: `python3` on PATH may be another one without those packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh" --quiet --training
cd "$ROOT"
exec /usr/bin/python3 -m training.emotion_train "$@"
