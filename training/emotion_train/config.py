"""Training configs: YAML files under training/configs, merged over these defaults.

The resolved config (every value, defaults included) is written into the run folder, so a run can be
repeated or resumed from its own folder alone.
"""
from __future__ import annotations

import copy
import os
from typing import Any

import yaml

from .preprocess import DEFAULT_SPEC

DEFAULTS: dict[str, Any] = {
    "name": "run",
    "seed": 1,
    # Written by the pipeline when a run starts (provenance); not a setting.
    "gitCommit": None,
    "data": {
        "train": "../shared/data/fer2013-train",
        "val": "../shared/data/fer2013-publictest",
        "drop_blank": True,
        # Smoke runs: at most this many images per class from each split (null: all).
        "limit_per_class": None,
    },
    "preprocess": dict(DEFAULT_SPEC),
    "model": {"arch": "mobilenet", "width": 1.0, "se": False, "dropout": 0.3},
    "augment": {
        "crop_scale": [0.75, 1.0],
        "crop_ratio": [0.9, 1.1],
        "rotate_deg": 10.0,
        "flip_p": 0.5,
        "brightness": 0.15,
        "contrast": 0.3,
        "erase_p": 0.5,
        "erase_area": [0.02, 0.2],
        "mix": "none",
        "mix_p": 0.5,
        "mix_alpha": 0.4,
    },
    "train": {
        "epochs": 40,
        "batch": 128,
        "lr": 0.1,
        "momentum": 0.9,
        "nesterov": True,
        "weight_decay": 5e-4,
        "schedule": "cosine",
        "warmup_epochs": 1.0,
        "label_smoothing": 0.1,
        # Loss weight per class (N / (K * n_c)) ** power: 0 = none, 1 = fully balanced.
        "class_weight_power": 0.5,
        "ema": 0.999,
        # Stochastic weight averaging (swa.py): from this epoch on, the weights at the end of each epoch
        # are averaged (and BN statistics recomputed on this many augmented training crops); the average
        # is what is evaluated, selected and exported. null: off. Usually with schedule: constant.
        "swa_start": None,
        "swa_bn_images": 4096,
        "threads": 2,
        "device": "auto",
        # fp32, or bf16: forward passes under bfloat16 autocast, about 2x faster where the CPU has AMX or
        # AVX512-BF16 (precision.py); weights, losses, validation and export stay float32.
        "precision": "fp32",
        # Select the best epoch (and evaluate) with horizontal-flip averaging, as the export does.
        "flip_tta": True,
    },
    # Knowledge distillation (distill.py): teacher run folders (absolute, or from the repository root),
    # the weight of the soft term, and the softening temperature. No teachers: plain training.
    "distill": {
        "teachers": [],
        "alpha": 0.5,
        "temperature": 4.0,
        # Written by the pipeline when a run starts (provenance: each teacher's run, epoch, scores, hash).
        "resolved": [],
    },
    # Fine-tuning (runs.py): start from a finished run's best weights (same architecture and inputs), or a
    # shipped fp32 bundle's (bundle_source.py), instead of random ones; this run's own schedule,
    # augmentation and loss then train them further.
    "finetune": {
        "from": None,
        # Written by the pipeline when a run starts (provenance: the source's run, epoch, scores, hash).
        "resolved": None,
    },
    "export": {"bundle": None, "version": "2.0.0", "opset": 13, "calibration_images": 512, "parity_images": 64, "golden": 2},
}


# train.precision's values (precision.py); the command line's --precision offers the same.
PRECISIONS = ("fp32", "bf16")


class ConfigError(Exception):
    pass


def _merge(base: dict[str, Any], over: dict[str, Any], where: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k not in base:
            raise ConfigError(f"{where}: unknown key {k!r} (known: {', '.join(sorted(base))})")
        # `model` is replaced whole: each architecture has its own options.
        nested = isinstance(base[k], dict) and isinstance(v, dict) and k != "model"
        out[k] = _merge(base[k], v, f"{where}.{k}") if nested else v
    return out


def load(path: str | None) -> dict[str, Any]:
    if path is None:
        return copy.deepcopy(DEFAULTS)
    if not os.path.exists(path):
        raise ConfigError(f"config file not found: {path}")
    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return check(_merge(DEFAULTS, raw, os.path.basename(path)), os.path.basename(path))


def check(cfg: dict[str, Any], where: str) -> dict[str, Any]:
    """Values that would otherwise fail late (mid-run) or silently do something else."""
    t = cfg["train"]
    if t["precision"] not in PRECISIONS:
        raise ConfigError(f"{where}: train.precision: {t['precision']!r} is not one of {', '.join(PRECISIONS)}")
    s = t["swa_start"]
    # 0 or a negative epoch would read as "off" (the loop tests it for truth): say so instead.
    if s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 1):
        raise ConfigError(f"{where}: train.swa_start: {s!r} is not an epoch number >= 1 (null turns averaging off)")
    return cfg


def dump(cfg: dict[str, Any], path: str) -> None:
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
