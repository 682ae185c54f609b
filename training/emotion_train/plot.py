"""Training curves (loss, accuracy, macro-F1 per epoch) as a PNG, redrawn after every epoch."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curves(metrics_path: str, out: str) -> None:
    rows = [json.loads(line) for line in open(metrics_path) if line.strip()]
    ep = [r["epoch"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(ep, [r["trainLoss"] for r in rows], label="train loss")
    a.set_xlabel("epoch")
    a.legend()
    b.plot(ep, [r["trainAccuracy"] for r in rows], label="train accuracy (augmented)")
    b.plot(ep, [r["valAccuracy"] for r in rows], label="val accuracy")
    b.plot(ep, [r["valMacroF1"] for r in rows], label="val macro-F1")
    b.set_xlabel("epoch")
    b.grid(alpha=0.3)
    b.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
