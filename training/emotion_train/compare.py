"""Compares finished runs on the validation split: each run's best.pt alone, their average, and for two
runs the faces only one of them gets right (the discordant pairs of a McNemar test).

    /usr/bin/python3 -m training.emotion_train.compare var/train/vgg-main var/train/vgg-distill
    /usr/bin/python3 -m training.emotion_train.compare models/emotion-vgg-fp32 var/train/vgg-deep72

A shipped fp32 bundle stands in for the run that made it (bundle_source.py: eval mode is exactly the bundle).

Prints one JSON object. Research, not the pipeline: it answers "is this run really better than that one,
and would an ensemble of them add anything" before a bundle is shipped.
"""
from __future__ import annotations

import json
import math
import os
import sys
from typing import Any

import numpy as np
import torch

from . import models
from .bundle_source import bundle_config, import_bundle, is_bundle
from .config import ConfigError
from .data import load_split
from .metrics import summarise
from .train import predict


def score(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    m = summarise(y, p.argmax(1), [str(i) for i in range(p.shape[1])])
    return {"accuracy": m["accuracy"], "macroF1": m["macroF1"]}


def load(path: str) -> tuple[dict[str, Any], torch.nn.Module]:
    """A run folder's best.pt, or a shipped fp32 bundle (its manifest records the run's resolved config)."""
    if is_bundle(path):
        cfg = bundle_config(path, "compare")
        net = models.build(cfg["model"])
        import_bundle(path, net, cfg, key="compare")
        return cfg, net
    state = torch.load(os.path.join(path, "checkpoints", "best.pt"), map_location="cpu")
    net = models.build(state["config"]["model"])
    net.load_state_dict(state["model"])
    return state["config"], net


def main(runs: list[str]) -> dict[str, object]:
    torch.set_num_threads(2)
    nets = [load(r) for r in runs]
    spec = nets[0][0]["preprocess"]
    if any(cfg["preprocess"] != spec for cfg, _ in nets):
        raise SystemExit("compare: the runs were trained on other inputs (preprocess differs)")
    val_root = nets[0][0]["data"]["val"]
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    val = load_split("val", val_root if os.path.isabs(val_root) else os.path.join(repo, val_root), spec, None, False)
    probs = []
    for _, net in nets:
        probs.append(predict(net, val.x, spec, torch.device("cpu"), True))
    out: dict[str, object] = {os.path.basename(os.path.normpath(r)): score(p, val.y) for r, p in zip(runs, probs)}
    out["average"] = score(sum(probs) / len(probs), val.y)
    if len(runs) == 2:
        a, b = (p.argmax(1) == val.y for p in probs)
        n01, n10 = int((a & ~b).sum()), int((~a & b).sum())
        # Exact two-sided binomial test on the discordant faces (McNemar without the approximation).
        n, k = n01 + n10, min(n01, n10)
        p = min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0
        out["discordant"] = {"onlyFirstRight": n01, "onlySecondRight": n10, "mcnemarP": p}
    return out


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit("usage: python3 -m training.emotion_train.compare RUN RUN [RUN...]")
    try:
        print(json.dumps(main(sys.argv[1:])))
    except ConfigError as e:
        raise SystemExit(str(e))
