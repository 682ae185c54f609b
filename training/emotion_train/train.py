"""The training loop: seeded, checkpointed every epoch, resumable exactly.

Exact resume: every epoch draws its order, augmentation and dropout from generators seeded with
(seed, epoch), and the learning rate is a pure function of the global step. So a run killed at any
moment and resumed from its last checkpoint produces the same weights as one that never stopped
(metrics.jsonl records a hash of the weights after each epoch; a test compares them).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from . import models
from .augment import augment, mix
from .bundle_source import import_bundle, is_bundle
from .data import LABELS, Split
from .distill import Teachers
from .export import pick, tensor_of
from .metrics import summarise
from .precision import autocast, layout
from .progress import Progress
from .runs import fit, load_best
from .swa import Swa

# Training crops whose statistics rebuild the BatchNorms of a bundle source (bundle_source.py).
BN_IMAGES = 2048


def pick_device(want: str) -> torch.device:
    if want == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(want)


def lr_at(step: int, total: int, warmup: int, base: float, schedule: str) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    if schedule == "cosine":
        return base * 0.5 * (1 + math.cos(math.pi * t))
    if schedule == "linear":
        return base * (1 - t)
    if schedule == "constant":  # for weight averaging (swa.py): every epoch is sampled at the same rate
        return base
    raise ValueError(f"train.schedule: unknown schedule {schedule!r} (cosine, linear, constant)")


def class_weights(y: np.ndarray, power: float) -> torch.Tensor:
    counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
    w = (len(y) / (len(LABELS) * np.maximum(counts, 1))) ** power
    # Keep the mean weight per sample at 1, so the learning rate means the same with or without.
    w = w / (w[y].mean())
    return torch.tensor(w, dtype=torch.float32)


def weights_hash(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class Ema:
    """Exponential moving average of weights and BN statistics (evaluated and exported)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        src = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(src[k].detach(), alpha=1 - d)
            else:
                v.copy_(src[k])


def to_input(x_u8: torch.Tensor, spec: dict[str, Any]) -> torch.Tensor:
    return x_u8.float().unsqueeze(1) / 255.0


def normalise(x01: torch.Tensor, spec: dict[str, Any]) -> torch.Tensor:
    # x01 is pixels / 255; the manifest's normalisation is (pixel * scale - mean) / std.
    return (x01 * 255.0 * spec["scale"] - spec["mean"]) / spec["std"]


@torch.no_grad()
def predict(model: torch.nn.Module, x_u8: np.ndarray, spec: dict[str, Any], device: torch.device, flip: bool,
            batch: int = 512) -> np.ndarray:
    """Softmax probabilities for uint8 crops (N, H, W); with `flip`, averaged with the mirror image."""
    model.eval()
    out = []
    for i in range(0, len(x_u8), batch):
        x = normalise(to_input(torch.from_numpy(x_u8[i:i + batch]), spec), spec).to(device)
        p = F.softmax(model(x), dim=1)
        if flip:
            p = (p + F.softmax(model(torch.flip(x, dims=[3])), dim=1)) / 2
        out.append(p.cpu().numpy())
    return np.concatenate(out)


def bn_batches(x_all: torch.Tensor, cfg: dict[str, Any], epoch: int, device: torch.device) -> Iterator[torch.Tensor]:
    """Augmented training crops for swa.py's BatchNorm pass: seeded by (seed, epoch), never validation data."""
    g = torch.Generator().manual_seed(cfg["seed"] * 100003 + epoch + 50021)
    count = min(int(cfg["train"]["swa_bn_images"]), len(x_all))
    idx = torch.randperm(len(x_all), generator=g)[:count]
    batch = int(cfg["train"]["batch"])
    for i in range(0, count, batch):
        x = augment(to_input(x_all[idx[i:i + batch]], cfg["preprocess"]), g, cfg["augment"])
        yield normalise(x, cfg["preprocess"]).to(device)


def save_atomic(obj: Any, path: str) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def train(cfg: dict[str, Any], run_dir: str, train_split: Split, val_split: Split, progress: Progress,
          stop_after: int | None = None) -> dict[str, Any]:
    t_cfg = cfg["train"]
    spec = cfg["preprocess"]
    torch.set_num_threads(int(t_cfg["threads"]))
    device = pick_device(t_cfg["device"])
    torch.manual_seed(cfg["seed"])
    model = models.build(cfg["model"]).to(device)
    f_cfg = cfg.get("finetune") or {}
    if f_cfg.get("from") and not os.path.exists(os.path.join(run_dir, "checkpoints", "last.pt")):
        # A fresh fine-tuning run starts from the source's weights (BN statistics included); once it has
        # a checkpoint of its own, a resume needs the source no more.
        want_sha = (f_cfg.get("resolved") or {}).get("sha256")
        if is_bundle(f_cfg["from"]):
            # BN statistics from training crops (never validation data): bundle_source.py says why.
            crops = tensor_of(train_split, pick(train_split, BN_IMAGES, cfg["seed"] + 3), spec)
            import_bundle(f_cfg["from"], model, cfg, crops, want_sha)
        else:
            state, _ = load_best(f_cfg["from"], "finetune.from", "cpu", want_sha)
            fit(state, model, cfg, f_cfg["from"])
    precision = t_cfg["precision"]
    model = layout(model, precision)
    params_decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    params_plain = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD(
        [{"params": params_decay, "weight_decay": t_cfg["weight_decay"]}, {"params": params_plain, "weight_decay": 0.0}],
        lr=t_cfg["lr"], momentum=t_cfg["momentum"], nesterov=t_cfg["nesterov"],
    )
    ema = Ema(model, t_cfg["ema"]) if t_cfg["ema"] else None
    swa_start = t_cfg["swa_start"]
    swa = Swa(model) if swa_start else None
    weights = class_weights(train_split.y, t_cfg["class_weight_power"]).to(device)
    d_cfg = cfg["distill"]
    teachers = (Teachers(d_cfg["teachers"], device, d_cfg["alpha"], d_cfg["temperature"], spec, d_cfg.get("resolved"))
                if d_cfg["teachers"] else None)
    for net in teachers.nets if teachers else []:
        layout(net, precision)
    n = len(train_split.y)
    batch = int(t_cfg["batch"])
    steps_per_epoch = n // batch  # drop the ragged last batch: BN on 3 images is noise
    epochs = int(t_cfg["epochs"])
    total = steps_per_epoch * epochs
    warmup = int(t_cfg["warmup_epochs"] * steps_per_epoch)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    os.makedirs(ckpt_dir, exist_ok=True)
    last_path = os.path.join(ckpt_dir, "last.pt")
    best = {"macroF1": -1.0, "epoch": 0}
    start_epoch = 1
    if os.path.exists(last_path):
        state = torch.load(last_path, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if ema:
            ema.model.load_state_dict(state["ema"])
        if swa:
            swa.load(state["swa"])
        best = state["best"]
        start_epoch = state["epoch"] + 1
        progress.event(event="resume", run=os.path.basename(run_dir), fromEpoch=start_epoch)
    x_all = torch.from_numpy(train_split.x)
    y_all = torch.from_numpy(train_split.y)
    metrics_path = os.path.join(run_dir, "metrics.jsonl")
    for epoch in range(start_epoch, epochs + 1):
        seed = cfg["seed"] * 100003 + epoch
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        model.train()
        perm = torch.randperm(n, generator=g)
        started = time.time()
        seen, loss_sum, correct = 0, 0.0, 0
        for b in range(steps_per_epoch):
            step = (epoch - 1) * steps_per_epoch + b
            lr = lr_at(step, total, warmup, t_cfg["lr"], t_cfg["schedule"])
            for group in opt.param_groups:
                group["lr"] = lr
            idx = perm[b * batch:(b + 1) * batch]
            x = augment(to_input(x_all[idx], spec), g, cfg["augment"])
            y = y_all[idx]
            x, ya, yb, lam = mix(x, y, g, cfg["augment"])
            x, ya, yb = layout(normalise(x, spec).to(device), precision), ya.to(device), yb.to(device)
            with autocast(device, precision):
                # Losses in float32 whatever the forward pass ran in (precision.py).
                logits = model(x).float()
                ls = t_cfg["label_smoothing"]
                loss = lam * F.cross_entropy(logits, ya, weight=weights, label_smoothing=ls)
                if lam < 1:
                    loss = loss + (1 - lam) * F.cross_entropy(logits, yb, weight=weights, label_smoothing=ls)
                if teachers:
                    loss = teachers.loss(logits, x, loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if ema:
                ema.update(model, step)
            seen += len(idx)
            loss_sum += float(loss) * len(idx)
            correct += int((logits.argmax(1) == ya).sum())
            elapsed = time.time() - started
            left = (steps_per_epoch - b - 1) + (epochs - epoch) * steps_per_epoch
            progress.step(epoch, epochs, seen, steps_per_epoch * batch, started, loss_sum / seen, elapsed / (b + 1) * left)
        train_s = time.time() - started
        if swa and epoch >= int(swa_start):
            swa.update(model)
            swa.recompute_bn(lambda: bn_batches(x_all, cfg, epoch, device))
        # The weight average once it has begun; before that, the EMA (or the model itself).
        judge = swa.model if swa and swa.count else (ema.model if ema else model)
        flip = bool(t_cfg["flip_tta"])
        probs = predict(judge, val_split.x, spec, device, flip)
        val = summarise(val_split.y, probs.argmax(1), LABELS)
        record = {
            "epoch": epoch,
            "lr": lr,
            "trainLoss": loss_sum / seen,
            "trainAccuracy": correct / seen,
            "valAccuracy": val["accuracy"],
            "valMacroF1": val["macroF1"],
            "valF1": {k: round(v["f1"], 4) for k, v in val["perClass"].items()},
            "flipTta": flip,
            "trainSeconds": round(train_s, 1),
            "imagesPerS": round(seen / train_s, 1),
            "weights": weights_hash(judge),
        }
        if swa:
            record["swaEpochs"] = swa.count
        improved = val["macroF1"] > best["macroF1"]
        if improved:
            best = {"macroF1": val["macroF1"], "accuracy": val["accuracy"], "epoch": epoch}
            save_atomic({"model": judge.state_dict(), "epoch": epoch, "val": val, "config": cfg},
                        os.path.join(ckpt_dir, "best.pt"))
        save_atomic({"model": model.state_dict(), "optimizer": opt.state_dict(), "ema": ema.model.state_dict() if ema else None,
                     "swa": swa.state() if swa else None,
                     "epoch": epoch, "best": best}, last_path)
        # The metrics line is written after the checkpoint: a line in metrics.jsonl means that epoch
        # is safely on disk, and a resume never writes the same epoch twice.
        with open(metrics_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        progress.event(event="epoch", best=improved, **{k: v for k, v in record.items() if k != "valF1"})
        try:
            from .plot import curves
            curves(metrics_path, os.path.join(run_dir, "curves.png"))
        except Exception as e:  # a plotting problem never stops training
            progress.event(event="warning", message=f"curves.png not drawn: {e}")
        if stop_after is not None and epoch >= stop_after:
            break
    return best
