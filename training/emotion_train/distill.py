"""Knowledge distillation: the student also learns the softened class probabilities of teachers.

Teachers are earlier runs of this pipeline (their run folders: config.yaml and checkpoints/best.pt,
the EMA weights that were evaluated and exported), or shipped fp32 bundles our training made (the
current model, on a machine without its run folder: bundle_source.py imports them; in eval mode,
all a teacher runs in, the import is exactly the bundle's function). Several teachers are an ensemble: their softened
probabilities are averaged. They see exactly the student's input (augmented, mixed, normalised), so
the soft targets follow the augmentation; they never train.

    loss = (1 - alpha) * cross-entropy(labels) + alpha * T^2 * KL(teachers(x / T) || student(x / T))

(Hinton et al. 2015; T^2 keeps the soft term's gradients on the scale of the hard one.)
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from . import models
from .bundle_source import bundle_config, import_bundle, is_bundle
from .config import ConfigError
from .runs import load_best, resolve, run_info

KEY = "distill.teachers"


def _from_bundle(path: str, spec: dict[str, Any], want_sha: str | None) -> tuple[torch.nn.Module, dict[str, Any]]:
    model_cfg = bundle_config(path, KEY)["model"]
    net = models.build(model_cfg)
    # No images: BN stays eval-exact (bundle_source.py); a teacher never runs in train mode.
    info = import_bundle(path, net, {"preprocess": spec, "model": model_cfg}, None, want_sha, key=KEY)
    return net, info


def teacher_info(run: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Checks a teacher (run folder or bundle) before training starts; what the run's provenance records of it."""
    if is_bundle(run):
        return _from_bundle(run, spec, None)[1]
    return run_info(run, KEY, spec, "a teacher must see what the student sees")


class Teachers:
    def __init__(self, runs: list[str], device: torch.device, alpha: float, temperature: float,
                 spec: dict[str, Any], resolved: list[dict[str, Any]] | None = None):
        if not 0 <= alpha <= 1:
            raise ConfigError(f"distill.alpha: {alpha} is not between 0 and 1")
        if temperature <= 0:
            raise ConfigError(f"distill.temperature: {temperature} is not positive")
        self.alpha = alpha
        self.t = temperature
        self.nets: list[torch.nn.Module] = []
        for i, run in enumerate(runs):
            # A resumed run must learn from the teachers it started with (recorded when it started):
            # a teacher run trained further since would silently change the soft labels mid-run.
            want = (resolved or [{}] * len(runs))[i].get("sha256")
            if is_bundle(run):
                net = _from_bundle(run, spec, want)[0].to(device)
            else:
                state, _ = load_best(run, KEY, device, want)
                net = models.build(state["config"]["model"]).to(device)
                net.load_state_dict(state["model"])
            net.eval()
            for p in net.parameters():
                p.requires_grad_(False)
            self.nets.append(net)

    def loss(self, logits: torch.Tensor, x: torch.Tensor, hard: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            soft = torch.stack([F.softmax(n(x).float() / self.t, dim=1) for n in self.nets]).mean(0)
        kd = F.kl_div(F.log_softmax(logits / self.t, dim=1), soft, reduction="batchmean") * self.t * self.t
        return (1 - self.alpha) * hard + self.alpha * kd


def resolve_teachers(cfg: dict[str, Any], repo: str) -> list[str]:
    """distill.teachers as absolute run folders (relative ones are from the repository root)."""
    return [resolve(t, repo) for t in cfg["distill"]["teachers"]]
