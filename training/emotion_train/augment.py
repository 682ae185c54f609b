"""Batched augmentation on tensors: one affine warp per image (random resized crop, rotation,
horizontal flip), brightness/contrast, random erasing, and optional mixup/cutmix.

Working on the whole batch with affine_grid/grid_sample keeps a 2-core CPU on the network instead of
on per-image PIL calls. Every draw comes from the generator passed in, so an epoch is reproducible
from its seed (exact resume). Images are 0..1 pixels here; normalisation comes after.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F


def _u(g: torch.Generator, n: int, lo: float, hi: float) -> torch.Tensor:
    return torch.rand(n, generator=g) * (hi - lo) + lo


def geometric(x: torch.Tensor, g: torch.Generator, cfg: dict[str, Any]) -> torch.Tensor:
    n = x.shape[0]
    area = _u(g, n, cfg["crop_scale"][0], cfg["crop_scale"][1])
    log_r = _u(g, n, math.log(cfg["crop_ratio"][0]), math.log(cfg["crop_ratio"][1]))
    ratio = torch.exp(log_r)
    # Crop side as a fraction of the image (the affine maps output [-1,1] into this window).
    sw = torch.sqrt(area * ratio).clamp(max=1.0)
    sh = torch.sqrt(area / ratio).clamp(max=1.0)
    tx = (torch.rand(n, generator=g) * 2 - 1) * (1 - sw)
    ty = (torch.rand(n, generator=g) * 2 - 1) * (1 - sh)
    ang = _u(g, n, -cfg["rotate_deg"], cfg["rotate_deg"]) * math.pi / 180
    flip = torch.where(torch.rand(n, generator=g) < cfg["flip_p"], -1.0, 1.0)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([
        torch.stack([cos * sw * flip, -sin * sh, tx], dim=1),
        torch.stack([sin * sw * flip, cos * sh, ty], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Black outside the image, as the device's crop of a face at the frame border.
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def photometric(x: torch.Tensor, g: torch.Generator, cfg: dict[str, Any]) -> torch.Tensor:
    n = x.shape[0]
    b = _u(g, n, -cfg["brightness"], cfg["brightness"]).view(n, 1, 1, 1)
    c = _u(g, n, 1 - cfg["contrast"], 1 + cfg["contrast"]).view(n, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * c + mean + b).clamp(0, 1)


def erase(x: torch.Tensor, g: torch.Generator, cfg: dict[str, Any]) -> torch.Tensor:
    """Random erasing: one rectangle per chosen image, filled with uniform noise."""
    n, _, h, w = x.shape
    chosen = torch.rand(n, generator=g) < cfg["erase_p"]
    area = _u(g, n, cfg["erase_area"][0], cfg["erase_area"][1]) * h * w
    ratio = torch.exp(_u(g, n, math.log(0.3), math.log(3.3)))
    eh = torch.sqrt(area * ratio).clamp(1, h).floor()
    ew = torch.sqrt(area / ratio).clamp(1, w).floor()
    y0 = (torch.rand(n, generator=g) * (h - eh + 1)).floor()
    x0 = (torch.rand(n, generator=g) * (w - ew + 1)).floor()
    noise = torch.rand(x.shape, generator=g)
    ys = torch.arange(h).view(1, h, 1)
    xs = torch.arange(w).view(1, 1, w)
    m = (ys >= y0.view(n, 1, 1)) & (ys < (y0 + eh).view(n, 1, 1)) & (xs >= x0.view(n, 1, 1)) & (xs < (x0 + ew).view(n, 1, 1))
    m = (m & chosen.view(n, 1, 1)).unsqueeze(1)
    return torch.where(m, noise, x)


def mix(x: torch.Tensor, y: torch.Tensor, g: torch.Generator, cfg: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Mixup or CutMix on a batch (cfg mix: none|mixup|cutmix). Returns x, y_a, y_b, lambda."""
    kind = cfg.get("mix", "none")
    if kind == "none" or torch.rand(1, generator=g).item() >= cfg.get("mix_p", 0.5):
        return x, y, y, 1.0
    alpha = float(cfg.get("mix_alpha", 0.4))
    lam = _beta(alpha)
    perm = torch.randperm(x.shape[0], generator=g)
    if kind == "mixup":
        return lam * x + (1 - lam) * x[perm], y, y[perm], lam
    _, _, h, w = x.shape
    ch, cw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = int(torch.randint(h, (1,), generator=g)), int(torch.randint(w, (1,), generator=g))
    y0, y1 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
    x0, x1 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
    out = x.clone()
    out[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
    lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    return out, y, y[perm], lam


def _beta(alpha: float) -> float:
    # Beta(a, a) from two gammas. The gamma sampler takes no generator: it draws from torch's global
    # RNG, which train.py seeds at the start of every epoch, so resume stays exact.
    a = torch._standard_gamma(torch.full((2,), alpha))
    return float(a[0] / a.sum())


def augment(x: torch.Tensor, g: torch.Generator, cfg: dict[str, Any]) -> torch.Tensor:
    x = geometric(x, g, cfg)
    x = photometric(x, g, cfg)
    return erase(x, g, cfg)
