"""Knowledge distillation: the student also learns the softened class probabilities of teachers.

Teachers are earlier runs of this pipeline (their run folders: config.yaml and checkpoints/best.pt,
the EMA weights that were evaluated and exported). Several teachers are an ensemble: their softened
probabilities are averaged. They see exactly the student's input (augmented, mixed, normalised), so
the soft targets follow the augmentation; they never train.

    loss = (1 - alpha) * cross-entropy(labels) + alpha * T^2 * KL(teachers(x / T) || student(x / T))

(Hinton et al. 2015; T^2 keeps the soft term's gradients on the scale of the hard one.)
"""
from __future__ import annotations

import hashlib
import io
import os
from typing import Any

import torch
import torch.nn.functional as F

from . import models
from .config import ConfigError


def _load(run: str, device: torch.device | str = "cpu") -> tuple[dict[str, Any], str]:
    """A teacher's best.pt and the sha256 of its bytes (read once: what is hashed is what is loaded)."""
    path = os.path.join(run, "checkpoints", "best.pt")
    if not os.path.exists(path):
        raise ConfigError(f"distill.teachers: {run} has no checkpoints/best.pt (not a finished training run)")
    with open(path, "rb") as f:
        blob = f.read()
    return torch.load(io.BytesIO(blob), map_location=device), hashlib.sha256(blob).hexdigest()


def teacher_info(run: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Checks a teacher run folder before training starts; what the run's provenance records of it."""
    state, sha = _load(run)
    cfg = state.get("config") or {}
    if cfg.get("preprocess") != spec:
        raise ConfigError(f"distill.teachers: {run} was trained on other inputs (preprocess "
                          f"{cfg.get('preprocess')} != {spec}); a teacher must see what the student sees")
    val = state.get("val") or {}
    return {"run": os.path.basename(os.path.normpath(run)), "bestEpoch": state.get("epoch"),
            "valAccuracy": val.get("accuracy"), "valMacroF1": val.get("macroF1"), "sha256": sha}


class Teachers:
    def __init__(self, runs: list[str], device: torch.device, alpha: float, temperature: float,
                 resolved: list[dict[str, Any]] | None = None):
        if not 0 <= alpha <= 1:
            raise ConfigError(f"distill.alpha: {alpha} is not between 0 and 1")
        if temperature <= 0:
            raise ConfigError(f"distill.temperature: {temperature} is not positive")
        self.alpha = alpha
        self.t = temperature
        self.nets: list[torch.nn.Module] = []
        for i, run in enumerate(runs):
            state, sha = _load(run, device)
            # A resumed run must learn from the teachers it started with (recorded when it started):
            # a teacher run trained further since would silently change the soft labels mid-run.
            want = (resolved or [{}] * len(runs))[i].get("sha256")
            if want and want != sha:
                raise ConfigError(f"distill.teachers: {run}/checkpoints/best.pt changed since this run started "
                                  f"(sha256 {sha[:12]}, recorded {want[:12]}); restore it or start a new run")
            net = models.build(state["config"]["model"]).to(device)
            net.load_state_dict(state["model"])
            net.eval()
            for p in net.parameters():
                p.requires_grad_(False)
            self.nets.append(net)

    def loss(self, logits: torch.Tensor, x: torch.Tensor, hard: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            soft = torch.stack([F.softmax(n(x) / self.t, dim=1) for n in self.nets]).mean(0)
        kd = F.kl_div(F.log_softmax(logits / self.t, dim=1), soft, reduction="batchmean") * self.t * self.t
        return (1 - self.alpha) * hard + self.alpha * kd


def resolve_teachers(cfg: dict[str, Any], repo: str) -> list[str]:
    """distill.teachers as absolute run folders (relative ones are from the repository root)."""
    return [t if os.path.isabs(t) else os.path.join(repo, t) for t in cfg["distill"]["teachers"]]
