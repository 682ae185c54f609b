"""Data folders (`<root>/<class>/*.jpg`): checked, hashed, decoded once and cached as arrays.

Every problem names the folder or file at fault, so a data team can fix it without reading code.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .preprocess import load_gray, to_pixels

# Canonical order (src/models/manifest.ts CANONICAL_LABELS; FER-2013's own label order).
LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# A face crop whose pixels barely vary (all black, flat grey) carries no expression.
BLANK_STD = 2.0


class DataError(Exception):
    """A data folder that cannot be used; the message names the folder or file."""


@dataclass
class Split:
    name: str
    root: str
    x: np.ndarray  # uint8 (N, H, W) at the model's input size
    y: np.ndarray  # int64 (N,)
    files: list[str]  # relative paths, same order as x
    manifest: dict[str, Any]


def scan(root: str) -> dict[str, list[str]]:
    if not os.path.isdir(root):
        raise DataError(f"data folder not found: {root}")
    present = {d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))}
    missing = [c for c in LABELS if c not in present]
    if missing:
        raise DataError(f"data folder {root}: missing class folder(s) {', '.join(missing)} (expected {', '.join(LABELS)})")
    out: dict[str, list[str]] = {}
    for c in LABELS:
        files = sorted(f for f in os.listdir(os.path.join(root, c)) if f.lower().endswith(IMAGE_EXT))
        if not files:
            raise DataError(f"data folder {root}: class folder {c}/ holds no images")
        out[c] = [f"{c}/{f}" for f in files]
    return out


def load_split(name: str, root: str, spec: dict[str, Any], cache_dir: str | None, drop_blank: bool) -> Split:
    """Decodes every image (or reads the cache made from the same bytes and spec)."""
    listing = scan(root)
    per_class: dict[str, Any] = {}
    digests: dict[str, bytes] = {}
    raw: dict[str, bytes] = {}
    for c, files in listing.items():
        h = hashlib.sha256()
        for rel in files:
            path = os.path.join(root, rel)
            try:
                with open(path, "rb") as f:
                    b = f.read()
            except OSError as e:
                raise DataError(f"cannot read image {path}: {e.strerror}") from None
            raw[rel] = b
            h.update(rel.encode() + b"\0" + hashlib.sha256(b).digest())
        digests[c] = h.digest()
        per_class[c] = {"files": len(files), "sha256": h.hexdigest()}
    key_src = json.dumps({"spec": spec, "classes": per_class, "dropBlank": drop_blank}, sort_keys=True).encode()
    key = hashlib.sha256(key_src).hexdigest()[:20]
    cache = os.path.join(cache_dir, f"{name}-{key}.npz") if cache_dir else None
    if cache and os.path.exists(cache):
        z = np.load(cache, allow_pickle=False)
        files_kept = [str(s) for s in z["files"]]
        blanks = [str(s) for s in z["blank"]]
        x, y = z["x"], z["y"]
    else:
        xs, ys, files_kept, blanks = [], [], [], []
        import io
        from PIL import Image, UnidentifiedImageError
        for ci, c in enumerate(LABELS):
            for rel in listing[c]:
                path = os.path.join(root, rel)
                try:
                    with Image.open(io.BytesIO(raw[rel])) as im:
                        im.load()
                        g = np.asarray(im.convert("L"), dtype=np.uint8)
                except (UnidentifiedImageError, OSError, SyntaxError) as e:
                    raise DataError(f"cannot decode image {path} (not an image or corrupt: {e})") from None
                if drop_blank and float(g.std()) < BLANK_STD:
                    blanks.append(rel)
                    continue
                xs.append(np.clip(np.rint(to_pixels(g, spec)), 0, 255).astype(np.uint8))
                ys.append(ci)
                files_kept.append(rel)
        x = np.stack(xs)
        y = np.asarray(ys, dtype=np.int64)
        if cache:
            os.makedirs(cache_dir, exist_ok=True)
            tmp = cache + ".tmp.npz"
            np.savez(tmp, x=x, y=y, files=np.asarray(files_kept), blank=np.asarray(blanks, dtype=str))
            os.replace(tmp, cache)
    counts = np.bincount(y, minlength=len(LABELS))
    manifest = {
        "root": os.path.abspath(root),
        "files": sum(v["files"] for v in per_class.values()),
        "used": int(len(y)),
        "blankDropped": len(blanks),
        "blankFiles": blanks,
        "classes": {c: {**per_class[c], "used": int(counts[i])} for i, c in enumerate(LABELS)},
        "sha256": hashlib.sha256(b"".join(digests[c] for c in LABELS)).hexdigest(),
    }
    return Split(name, root, x, np.asarray(y, dtype=np.int64), files_kept, manifest)
