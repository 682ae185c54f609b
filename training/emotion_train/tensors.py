"""Model-input tensors for image files, by the training preprocessing (for the parity test).

  python3 -m training.emotion_train.tensors --config CFG --out OUT.f32 [--manifest M.json] IMG...

Writes float32 (N, 1, H, W) little-endian to OUT.f32 and, with --manifest, the manifest sections the
same spec produces, so the device side can preprocess the same files by them.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from . import config as config_mod
from .preprocess import load_gray, manifest_sections, normalise, to_pixels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config")
    ap.add_argument("--out", required=True)
    ap.add_argument("--manifest")
    ap.add_argument("images", nargs="+")
    a = ap.parse_args()
    spec = config_mod.load(a.config)["preprocess"]
    x = np.stack([normalise(to_pixels(load_gray(p), spec), spec) for p in a.images]).astype("<f4")
    x[:, None].tofile(a.out)
    if a.manifest:
        with open(a.manifest, "w") as f:
            json.dump(manifest_sections(spec), f)


if __name__ == "__main__":
    main()
