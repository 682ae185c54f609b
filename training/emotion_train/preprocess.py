"""The ONE definition of how a face becomes a model input, shared by training and the device.

The config's `preprocess` section is written verbatim into the bundle manifest (`input` and
`preprocess`), and the device (src/vision/preprocess.ts) reads it from there. So this file only
implements, in numpy, what the device does with OpenCV: gray conversion (ITU-R 601 luma, as
cv.COLOR_BGR2GRAY), a bilinear resize with half-pixel centres and black outside the image (as
cropResize's warpAffine), then (x * scale - mean) / std. test/training/preprocess-parity.test.ts
checks the two against each other on real images.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

DEFAULT_SPEC: dict[str, Any] = {
    "width": 48,
    "height": 48,
    "colour": "gray",
    "scale": 1.0 / 255.0,
    "mean": 0.5,
    "std": 1.0,
    "resizeKernel": "half-pixel",
    # Face crop on the device: the detector box grown by `margin` on every side, squared. Training
    # reads whole FER-2013 images and ignores it; 0 because the detector's box covers a FER-2013 image
    # almost exactly (scripts/models/fer-crop-margin.ts, see training/README.md "Crop").
    "margin": 0.0,
    "square": True,
    "align": False,
}


def load_gray(path: str) -> np.ndarray:
    """Decodes an image file to uint8 gray (H, W). PIL's 'L' is 0.299 R + 0.587 G + 0.114 B."""
    with Image.open(path) as im:
        im.load()
        return np.asarray(im.convert("L"), dtype=np.uint8)


def resize_bilinear(img: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    """Half-pixel bilinear resize of a whole uint8 image, black outside (float32 result, 0..255)."""
    h, w = img.shape
    if (w, h) == (out_w, out_h):
        return img.astype(np.float32)
    sx, sy = w / out_w, h / out_h
    xs = (np.arange(out_w) + 0.5) * sx - 0.5
    ys = (np.arange(out_h) + 0.5) * sy - 0.5
    x0 = np.floor(xs).astype(np.int64)
    y0 = np.floor(ys).astype(np.int64)
    fx = (xs - x0).astype(np.float32)
    fy = (ys - y0).astype(np.float32)
    padded = np.zeros((h + 2, w + 2), dtype=np.float32)
    padded[1:-1, 1:-1] = img
    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return padded[np.clip(yy, -1, h) [:, None] + 1, np.clip(xx, -1, w)[None, :] + 1]
    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def to_pixels(img: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """A whole-image face crop (uint8 gray) at the model's size, float32 0..255."""
    return resize_bilinear(img, spec["width"], spec["height"])


def normalise(pixels: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    return ((pixels * spec["scale"]) - spec["mean"]) / spec["std"]


def manifest_sections(spec: dict[str, Any]) -> dict[str, Any]:
    """The bundle manifest's `input` and `preprocess` sections, from the same spec."""
    w, h = spec["width"], spec["height"]
    return {
        "input": {
            "name": "input",
            "shape": [-1, 1, h, w],
            "layout": "NCHW",
            "colour": "gray",
            "width": w,
            "height": h,
            "normalization": {"scale": spec["scale"], "mean": [spec["mean"]], "std": [spec["std"]]},
            "resize": "stretch",
            "resizeKernel": spec["resizeKernel"],
        },
        "preprocess": {"margin": spec["margin"], "square": spec["square"], "align": spec["align"]},
    }
