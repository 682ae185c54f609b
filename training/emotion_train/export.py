"""Export: best checkpoint -> ONNX (fp32, opset >= 13) -> bundle -> (TypeScript) pack, parity, INT8.

The Python side writes what only it can: the ONNX graph, the manifest (its input/preprocess sections
from the same spec the training used), PyTorch's outputs on real faces for the parity check, and
the calibration crops (training images, never evaluation data). scripts/models/train-bundle.ts then
does the rest with the project's own tools: `models pack` (hashes, golden vectors), the ONNX Runtime
parity check (1e-4), the INT8 QDQ quantizer, and an evaluation of both bundles.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import models
from .data import LABELS, Split
from .preprocess import manifest_sections, normalise
from .progress import Progress

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Deployable(torch.nn.Module):
    """Softmax probabilities, optionally averaged with the mirror image (in the graph, so the device,
    `evaluate` and the golden vectors all see the same model)."""

    def __init__(self, net: torch.nn.Module, flip: bool):
        super().__init__()
        self.net = net
        self.flip = flip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.flip:
            return F.softmax(self.net(x), dim=1)
        both = torch.cat([x, torch.flip(x, dims=[3])], dim=0)
        p = F.softmax(self.net(both), dim=1)
        return p.reshape(2, -1, p.shape[1]).mean(dim=0)


def pick(split: Split, count: int, seed: int) -> np.ndarray:
    """`count` indices spread over the classes, deterministic."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(len(split.y), size=min(count, len(split.y)), replace=False))


def tensor_of(split: Split, idx: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    return normalise(split.x[idx].astype(np.float32), spec)[:, None, :, :].astype(np.float32)


def write_f32(path: str, a: np.ndarray) -> None:
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


def bundle_name(cfg: dict[str, Any]) -> str:
    """export.bundle, or emotion-<arch>: a VGG run must not produce folders named after MobileNet."""
    return str(cfg["export"].get("bundle") or f"emotion-{cfg['model']['arch']}")


def export(cfg: dict[str, Any], run_dir: str, train_split: Split, val_split: Split, progress: Progress) -> dict[str, Any]:
    spec = cfg["preprocess"]
    ex = cfg["export"]
    bundle = bundle_name(cfg)
    best = torch.load(os.path.join(run_dir, "checkpoints", "best.pt"), map_location="cpu")
    net = models.build(cfg["model"])
    net.load_state_dict(best["model"])
    net.eval()
    flip = bool(cfg["train"]["flip_tta"])
    model = Deployable(net, flip).eval()
    out_dir = os.path.join(run_dir, "bundle")
    fp32_dir = os.path.join(out_dir, f"{bundle}-fp32")
    os.makedirs(fp32_dir, exist_ok=True)
    onnx_path = os.path.join(fp32_dir, "model.onnx")
    h, w = spec["height"], spec["width"]
    dummy = torch.zeros(2, 1, h, w)
    torch.onnx.export(model, dummy, onnx_path, opset_version=int(ex["opset"]), input_names=["input"],
                      output_names=["probabilities"], dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
                      do_constant_folding=True)
    import onnx
    graph = onnx.load(onnx_path)
    # torch names the class dimension after the op that made it; the device checks it against the
    # manifest, so make it the number it is.
    dim = graph.graph.output[0].type.tensor_type.shape.dim[1]
    dim.ClearField("dim_param")
    dim.dim_value = len(LABELS)
    onnx.checker.check_model(graph)
    onnx.save(graph, onnx_path)

    # Parity: real training faces through PyTorch; train-bundle.ts runs the same tensor through ORT.
    parity_dir = os.path.join(run_dir, "parity")
    os.makedirs(parity_dir, exist_ok=True)
    idx = pick(train_split, int(ex["parity_images"]), cfg["seed"] + 1)
    x = tensor_of(train_split, idx, spec)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    write_f32(os.path.join(parity_dir, "input.f32"), x)
    write_f32(os.path.join(parity_dir, "torch-output.f32"), y)
    with open(os.path.join(parity_dir, "parity.json"), "w") as f:
        json.dump({"shape": list(x.shape), "outputShape": list(y.shape), "files": [train_split.files[i] for i in idx],
                   "root": train_split.root}, f, indent=2)

    # Calibration crops for INT8: training images only.
    cal_idx = pick(train_split, int(ex["calibration_images"]), cfg["seed"] + 2)
    write_f32(os.path.join(run_dir, "calibration.f32"), tensor_of(train_split, cal_idx, spec))

    val = best["val"]
    run_id = os.path.basename(run_dir)
    tm = train_split.manifest
    manifest = {
        "schemaVersion": 1,
        "name": "emotion",
        "version": str(ex.get("version", "2.0.0")),
        "task": "emotion-classifier",
        "precision": "fp32",
        "description": (
            f"Facial-expression classifier trained by emotion-agent (training/, run {run_id}): {cfg['model']['arch']} "
            f"{models.count_params(net):,} parameters, {h}x{w} gray face crops. Input: the face box grown by "
            f"{spec['margin']} on every side, squared, gray (0.299 R + 0.587 G + 0.114 B), bilinear half-pixel resize, "
            f"then pixel * {spec['scale']:.6g} - {spec['mean']} over {spec['std']}. Output: softmax probabilities"
            + (", averaged with the horizontally mirrored face inside the graph." if flip else ".")
        ),
        "model": "model.onnx",
        **manifest_sections(spec),
        "outputs": [{"name": "probabilities", "shape": [-1, len(LABELS)]}],
        "decoding": {"type": "classification", "output": "probabilities", "activation": "none"},
        "labels": {"canonical": LABELS, "modelOrder": LABELS},
        "provenance": {
            "source": f"emotion-agent training run {run_id} (best epoch {best['epoch']} by validation macro-F1)",
            "license": "MIT",
            "licenseNotes": "Weights trained by emotion-agent on FER-2013, a research data set (ICML 2013 challenge); "
                            "check its terms before commercial use. No third-party weights.",
            "converter": f"training/emotion_train export.py (PyTorch {torch.__version__} torch.onnx opset {ex['opset']})",
            "trainingData": f"FER-2013 Training split: {tm['files']} files, {tm['blankDropped']} blank dropped, "
                            f"{tm['used']} used (sha256 {tm['sha256'][:16]}); validation FER-2013 PublicTest",
            # Distilled: the teacher runs whose soft labels it learned (their own provenance is theirs).
            **({"distilledFrom": cfg["distill"]["resolved"]} if cfg.get("distill", {}).get("resolved") else {}),
            # Fine-tuned: the run whose best weights it started from.
            **({"fineTunedFrom": cfg["finetune"]["resolved"]} if (cfg.get("finetune") or {}).get("resolved") else {}),
        },
        "metrics": {
            "training": {
                "run": run_id,
                "gitCommit": cfg.get("gitCommit"),
                "config": cfg,
                "bestEpoch": best["epoch"],
                "python": platform.python_version(),
                "torch": torch.__version__,
            },
            "publicTestPyTorch": {"accuracy": val["accuracy"], "macroF1": val["macroF1"], "flipTta": flip,
                                   "perClass": val["perClass"]},
        },
    }
    with open(os.path.join(fp32_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    progress.event(event="onnx", path=onnx_path, bestEpoch=best["epoch"])
    cmd = ["node", "--import", "tsx", os.path.join(REPO, "scripts", "models", "train-bundle.ts"), run_dir,
           "--val", val_split.root, "--golden", str(ex["golden"]), "--bundle", bundle]
    if cfg["data"].get("limit_per_class"):
        cmd += ["--limit", str(len(val_split.y))]
    r = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    sys.stderr.flush()
    return bundle_result(r.returncode, r.stdout, progress)


def bundle_result(returncode: int, stdout: str, progress: Any) -> dict[str, Any]:
    """train-bundle.ts's summary, from its exit status and stdout; raises when it did not finish."""
    summary = _summary(stdout)
    if returncode < 0 and summary is not None:
        # The summary is the script's last act: every bundle file was written, packed and evaluated
        # before it. A native library can still crash the process on its way out; CI saw one
        # (SIGSEGV: OpenCV's Mat finaliser calling into V8 during the isolate's teardown, fixed in
        # src/vision/opencv.ts). That loses nothing, so it is reported and the export goes on.
        progress.event(event="warning", message=f"train-bundle.ts finished, then its process died of signal "
                       f"{-returncode} while exiting; its bundles are complete")
    elif returncode != 0 or summary is None:
        how = f"signal {-returncode}" if returncode < 0 else f"exit {returncode}"
        raise RuntimeError(f"train-bundle.ts failed ({how}) before writing its summary")
    return summary


def _summary(stdout: str) -> dict[str, Any] | None:
    """train-bundle.ts's last stdout line, a JSON object naming both bundles, or None."""
    lines = stdout.strip().splitlines()
    try:
        out = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None
    return out if isinstance(out, dict) and "fp32" in out and "int8" in out else None
