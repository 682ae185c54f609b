"""A shipped fp32 bundle as a fine-tuning source, for when the run folder that made it is gone.

Run folders live under var/train and do not travel: a fresh clone, a new machine or another team has only
the bundle. Its fp32 ONNX holds every learned weight, but torch.onnx folded each BatchNorm into the conv
before it (eval mode), so importing it is not a state_dict load:
- torch names each ONNX node after the module that made it (/net/features/features.2/features.2.0/Conv
  is features.2.0), so every Conv and Gemm maps to one module of the run's model, shape-checked;
- the BN after a conv is rebuilt so that eval mode gives exactly the bundle's function and train mode
  (batch statistics) very nearly so: with m and s the per-channel mean and std of the folded conv's
  output on training images, the conv weight becomes W/s, the BN's running statistics (m/s, 1), its scale
  s and its shift m + b (eval: s * (c/s - m/s) + m + b = c + b, the bundle's output).
The BN statistics need images; the check before a run folder exists (images=None) maps and checks only.
Parts the model declares as grown (models.VGG.GROWN) may be missing, as with a run folder (runs.fit).
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from .config import ConfigError
from .data import LABELS
from .preprocess import manifest_sections

def is_bundle(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "manifest.json"))


def bundle_config(path: str, key: str) -> dict[str, Any]:
    """The resolved training config of the run that made a bundle (its manifest records it)."""
    with open(os.path.join(path, "manifest.json")) as f:
        cfg = ((json.load(f).get("metrics") or {}).get("training") or {}).get("config")
    if not cfg or not isinstance(cfg.get("model"), dict):
        raise ConfigError(f"{key}: {path} records no training config (not a bundle our training made)")
    return dict(cfg)


def _manifest(path: str, spec: dict[str, Any], key: str) -> tuple[dict[str, Any], bytes]:
    with open(os.path.join(path, "manifest.json")) as f:
        m = json.load(f)
    if m.get("task") != "emotion-classifier":
        raise ConfigError(f"{key}: {path} is a {m.get('task')} bundle, not an emotion classifier")
    if m.get("precision") != "fp32":
        raise ConfigError(f"{key}: {path} is an {m.get('precision')} bundle (rounded weights); use its fp32 sibling")
    if (m.get("labels") or {}).get("modelOrder") != LABELS:
        raise ConfigError(f"{key}: {path} orders its classes {(m.get('labels') or {}).get('modelOrder')}, training uses {LABELS}")
    want = json.loads(json.dumps(manifest_sections(spec)))
    for section in ("input", "preprocess"):
        if m.get(section) != want[section]:
            raise ConfigError(f"{key}: {path} was trained on other inputs ({section} {m.get(section)} != {want[section]}); "
                              "a model trained from it must keep the device's preprocessing")
    with open(os.path.join(path, m.get("model", "model.onnx")), "rb") as f:
        return m, f.read()


def _module_path(node: Any) -> str:
    """The module path from torch.onnx's node name, /net/<scope>/.../<Op> less the export wrapper's `net`.

    Each scope is either an attribute of the one before (extra.0 then body) or that scope's own name
    extended (body then body.0): /net/extra.0/body/body.0/body.0.0/Conv is extra.0.body.0.0."""
    full, prev = "", ""
    for c in [p for p in node.name.split("/") if p][1:-1]:
        full = full[: len(full) - len(prev)] + c if prev and c.startswith(prev + ".") else (f"{full}.{c}" if full else c)
        prev = c
    return full


def _follower(mods: list[tuple[str, nn.Module]], name: str) -> tuple[str, nn.Module] | None:
    """The module registered right after `name` in `mods` (named_modules; a ConvBNReLU's BN follows its conv)."""
    for i, (n, _) in enumerate(mods):
        if n == name and i + 1 < len(mods):
            return mods[i + 1]
    return None


def import_bundle(path: str, model: nn.Module, cfg: dict[str, Any], images: np.ndarray | None = None,
                  want_sha: str | None = None, key: str = "finetune.from") -> dict[str, Any]:
    """Loads a bundle's weights into `model` (BN rebuilt from `images`, N x 1 x H x W normalised training
    crops); returns what the run's provenance records of the source. key names the source in errors."""
    import onnx
    from onnx import numpy_helper

    m, blob = _manifest(path, cfg["preprocess"], key)
    sha = hashlib.sha256(blob).hexdigest()
    if want_sha and want_sha != sha:
        raise ConfigError(f"{key}: {path} changed since this run started (sha256 {sha[:12]}, recorded {want_sha[:12]}); "
                          "restore it or start a new run")
    graph = onnx.load_from_string(blob).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    order = list(model.named_modules())
    modules = dict(order)
    state = model.state_dict()  # views of the model's tensors: copy_ writes into the model
    grown_prefixes = tuple(getattr(model, "GROWN", ()))
    done: set[str] = set()
    folded: list[tuple[nn.Conv2d, nn.BatchNorm2d, torch.Tensor]] = []

    def put(tensor: str, value: np.ndarray) -> None:
        target = state[tensor]
        if tuple(target.shape) != value.shape:
            raise ConfigError(f"{key}: {path} is another model ({tensor}: {value.shape} there, {tuple(target.shape)} "
                              f"in model {cfg['model']}); fine-tune with the source's model section")
        with torch.no_grad():
            target.copy_(torch.from_numpy(np.array(value, copy=True)))
        done.add(tensor)

    for node in graph.node:
        if node.op_type not in ("Conv", "Gemm"):
            continue
        name = _module_path(node)
        mod = modules.get(name)
        want_type = nn.Conv2d if node.op_type == "Conv" else nn.Linear
        if not isinstance(mod, want_type):
            raise ConfigError(f"{key}: {path} is another model ({node.op_type} {name or node.name} there, "
                              f"{type(mod).__name__ if mod is not None else 'None'} in model {cfg['model']}); "
                              "fine-tune with the source's model section")
        w = inits[node.input[1]]
        b = inits[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
        if node.op_type == "Gemm":
            attrs = {a.name: a.i for a in node.attribute}
            w = w if attrs.get("transB", 0) else w.T
            put(f"{name}.weight", w)
            put(f"{name}.bias", b)
            continue
        put(f"{name}.weight", w)
        follower = _follower(order, name)
        if follower is not None and isinstance(follower[1], nn.BatchNorm2d):
            bn_name, bn = follower
            # Eval-exact for now: scale 1, shift b, statistics (0, 1); rebuilt below from the images.
            put(f"{bn_name}.weight", np.ones_like(b))
            put(f"{bn_name}.bias", b)
            put(f"{bn_name}.running_mean", np.zeros_like(b))
            put(f"{bn_name}.running_var", np.full_like(b, 1.0 - bn.eps))
            done.add(f"{bn_name}.num_batches_tracked")
            folded.append((mod, bn, torch.from_numpy(b.copy())))
        elif mod.bias is not None:
            put(f"{name}.bias", b)
        elif np.any(b):
            raise ConfigError(f"{key}: {path} is another model ({name} has a bias there and none in model {cfg['model']})")

    missing = [k for k in state if k not in done]
    grown = [k for k in missing if k.startswith(grown_prefixes)]
    absent = [k for k in missing if not k.startswith(grown_prefixes)]
    if absent:
        raise ConfigError(f"{key}: {path} is another model ({absent[0]}: not in the bundle, in model {cfg['model']}); "
                          "fine-tune with the source's model section")
    if images is not None:
        _rebuild_bn(model, folded, images)

    training = (m.get("metrics") or {}).get("training") or {}
    scores = (m.get("metrics") or {}).get("publicTestPyTorch") or {}
    info: dict[str, Any] = {"run": training.get("run") or os.path.basename(os.path.normpath(path)),
                            "bundle": f"{os.path.basename(os.path.normpath(path))} {m.get('version')}",
                            "bestEpoch": training.get("bestEpoch"), "valAccuracy": scores.get("accuracy"),
                            "valMacroF1": scores.get("macroF1"), "sha256": sha}
    if grown:
        info["grown"] = sorted({k.split(".")[0] for k in grown})
    return info


def _rebuild_bn(model: nn.Module, folded: list[tuple[nn.Conv2d, nn.BatchNorm2d, torch.Tensor]], images: np.ndarray) -> None:
    """Per-channel statistics of each folded conv's output (eval mode: the bundle's own function, grown
    parts still the identity), then the rescaling in the module docstring."""
    sums: dict[int, list[torch.Tensor]] = {}
    hooks = []
    for i, (conv, _, _) in enumerate(folded):
        def hook(_m: nn.Module, _inp: Any, out: torch.Tensor, i: int = i) -> None:
            o = out.detach().double()
            s = sums.setdefault(i, [torch.zeros(o.shape[1], dtype=torch.float64) for _ in range(3)])
            s[0] += o.sum(dim=(0, 2, 3)).cpu()
            s[1] += (o * o).sum(dim=(0, 2, 3)).cpu()
            s[2] += o.shape[0] * o.shape[2] * o.shape[3]
        hooks.append(conv.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            for start in range(0, len(images), 256):
                model(torch.from_numpy(images[start:start + 256]).to(device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    with torch.no_grad():
        for i, (conv, bn, b) in enumerate(folded):
            total, sq, n = sums[i]
            mean = total / n
            std = (sq / n - mean * mean).clamp(min=0).sqrt().clamp(min=1e-4)
            conv.weight.div_(std.float().to(device).view(-1, 1, 1, 1))
            bn.running_mean.copy_((mean / std).float())
            bn.running_var.fill_(1.0 - bn.eps)
            bn.weight.copy_(std.float())
            bn.bias.copy_(mean.float() + b.to(mean.device).float())
