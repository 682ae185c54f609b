"""Stochastic weight averaging (Izmailov et al. 2018): the equal average of the weights at the end of
each epoch from `train.swa_start` on, trained at a constant (or slowly varying) learning rate.

The average lands nearer the middle of a wide, flat region of the loss than any single point the
optimiser visits, which generalises better than the last point of a decayed schedule; it is also how a
converged model is improved for little cost (fine-tune at a constant rate, average every epoch).

Averaged weights do not come with usable BatchNorm statistics (an average of running means is not the
running mean of the averaged network), so after every update the statistics are recomputed: one pass,
no gradients, over `train.swa_bn_images` augmented training crops drawn from a generator seeded by
(seed, epoch), so a resumed run recomputes exactly the same ones. Validation data never enters.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterable

import torch


class Swa:
    def __init__(self, model: torch.nn.Module):
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.count = 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Adds the model's current weights to the equal average (BN buffers are recomputed, not averaged)."""
        src = dict(model.named_parameters())
        for k, v in self.model.named_parameters():
            v.mul_(self.count / (self.count + 1)).add_(src[k].detach(), alpha=1 / (self.count + 1))
        self.count += 1

    @torch.no_grad()
    def recompute_bn(self, batches: Callable[[], Iterable[torch.Tensor]]) -> None:
        """BN running statistics of the averaged weights: the plain mean over the given batches.

        Only the BatchNorms are in training mode (momentum None: a cumulative average); dropout and
        everything else stay in eval mode, as they are when the network is used.
        """
        bns = [m for m in self.model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        saved = [m.momentum for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        self.model.eval()
        for m in bns:
            m.train()
        for x in batches():
            self.model(x)
        for m, mom in zip(bns, saved):
            m.momentum = mom
        self.model.eval()

    def state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "count": self.count}

    def load(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.count = int(state["count"])
