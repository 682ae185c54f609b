"""Mixed-precision training: `train.precision: bf16` runs the forward passes (the student's and the
teachers') under autocast in bfloat16, with the weights, the optimiser, the losses and the validation
in float32 (the usual AMP recipe; bfloat16 keeps float32's range, so no loss scaling is needed).

Why: on CPUs with AMX or AVX512-BF16 (the Xeon here) oneDNN's bfloat16 convolutions, with the
activations in channels-last layout, train this VGG at about 2.2x the float32 rate (920 against 410
images/s, batch 128, 2 threads) and run a teacher about 4x faster. On a CPU without them it still
works, only slowly. Validation, BatchNorm recomputation and export stay float32, so what is selected
and shipped is the float32 network the device quantizes. `fp32` (the default) changes nothing.
"""
from __future__ import annotations

import contextlib
from typing import ContextManager, TypeVar

import torch

T = TypeVar("T", torch.nn.Module, torch.Tensor)


def autocast(device: torch.device, precision: str) -> ContextManager[object]:
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def layout(x: T, precision: str) -> T:
    """Channels-last for bf16 (oneDNN's fast path); the values, and state_dict()'s contents, are unchanged."""
    if precision != "bf16" or (isinstance(x, torch.Tensor) and x.dim() != 4):
        return x
    return x.to(memory_format=torch.channels_last)
