"""Earlier runs as inputs to a new one: distillation teachers and fine-tuning sources.

(A fine-tuning source may also be a shipped fp32 bundle: bundle_source.py.)

Both read a finished run's checkpoints/best.pt (the EMA weights that were evaluated and exported),
check that it was trained on the same inputs, and record what they used (run, epoch, scores, the
sha256 of the checkpoint) in the new run's config and so in its bundle's provenance. A resumed run
checks the sha256 again: a source trained further since would silently change what the run learns.
"""
from __future__ import annotations

import hashlib
import io
import os
from typing import Any

import torch

from .config import ConfigError


def load_best(run: str, key: str, device: torch.device | str = "cpu", want_sha: str | None = None) -> tuple[dict[str, Any], str]:
    """A run's best.pt and the sha256 of its bytes (read once: what is hashed is what is loaded).

    key names the config key in errors (distill.teachers, finetune.from)."""
    path = os.path.join(run, "checkpoints", "best.pt")
    if not os.path.exists(path):
        # Both callers (finetune.from, distill.teachers) also take a bundle, checked for before this.
        raise ConfigError(f"{key}: {run} has no checkpoints/best.pt (not a finished training run) nor a bundle (manifest.json)")
    with open(path, "rb") as f:
        blob = f.read()
    sha = hashlib.sha256(blob).hexdigest()
    if want_sha and want_sha != sha:
        raise ConfigError(f"{key}: {path} changed since this run started "
                          f"(sha256 {sha[:12]}, recorded {want_sha[:12]}); restore it or start a new run")
    return torch.load(io.BytesIO(blob), map_location=device), sha


def run_info(run: str, key: str, spec: dict[str, Any], why: str,
             loaded: tuple[dict[str, Any], str] | None = None) -> dict[str, Any]:
    """Checks a source run before training starts; what the new run's provenance records of it.

    loaded: the (state, sha256) of load_best, where the caller has it already."""
    state, sha = loaded or load_best(run, key)
    cfg = state.get("config") or {}
    if cfg.get("preprocess") != spec:
        raise ConfigError(f"{key}: {run} was trained on other inputs (preprocess {cfg.get('preprocess')} != {spec}); {why}")
    val = state.get("val") or {}
    return {"run": os.path.basename(os.path.normpath(run)), "bestEpoch": state.get("epoch"),
            "valAccuracy": val.get("accuracy"), "valMacroF1": val.get("macroF1"), "sha256": sha}


def resolve(path: str, repo: str) -> str:
    """A run folder from the config or the command line: absolute, or from the repository root."""
    return path if os.path.isabs(path) else os.path.join(repo, path)


def finetune_info(run: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """Checks a fine-tuning source before the run folder exists: same inputs, weights that fit the model."""
    from . import models
    from .bundle_source import import_bundle, is_bundle
    if is_bundle(run):  # a shipped fp32 bundle: mapped and checked now, BN rebuilt when training starts
        return import_bundle(run, models.build(cfg["model"]), cfg)
    loaded = load_best(run, "finetune.from")
    info = run_info(run, "finetune.from", cfg["preprocess"], "fine-tuning must keep the device's preprocessing", loaded)
    grown = fit(loaded[0], models.build(cfg["model"]), cfg, run)
    if grown:
        info["grown"] = sorted({k.split(".")[0] for k in grown})
    return info


def fit(state: dict[str, Any], model: torch.nn.Module, cfg: dict[str, Any], run: str) -> list[str]:
    """Loads the source's weights into this run's model; a model of another shape is refused by name.

    Parts the model declares as grown (GROWN: they start as the identity, e.g. the VGG's spatial head)
    may be missing from the source: they keep their initial weights, so the run starts from exactly
    the source's function. Returns the names of those parts' tensors."""
    mine, theirs = model.state_dict(), state["model"]
    grown_prefixes = tuple(getattr(model, "GROWN", ()))
    grown = []
    for k in sorted(set(mine) | set(theirs)):
        a, b = mine.get(k), theirs.get(k)
        if b is None and k.startswith(grown_prefixes):
            grown.append(k)
            continue
        if a is None or b is None or a.shape != b.shape:
            raise ConfigError(f"finetune.from: {run} is another model ({k}: "
                              f"{None if b is None else tuple(b.shape)} there, {None if a is None else tuple(a.shape)} "
                              f"in model {cfg['model']}); fine-tune with the source's model section")
    model.load_state_dict({**mine, **theirs})
    return grown
