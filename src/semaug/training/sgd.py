"""SGD with momentum and Keras-style learning-rate decay, written out.

The update is torch.optim.SGD's (momentum, dampening 0, not Nesterov, weight decay added to the
gradient before momentum — the form in which ``weight_decay = 2λ`` equals a Keras L2 λ):

    d = grad + wd · w;   buf = d (first step) or momentum · buf + d;   w -= lr_t · buf
    lr_t = lr / (1 + decay · t)          (Keras' SGD ``decay``, t = steps taken)

Written here rather than taken from torch.optim because constructing any torch.optim optimizer
imports torch._dynamo, which costs seconds per training job — and the demo runs dozens of them.
tests/test_training.py checks it against torch.optim.SGD.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class SGD:
    def __init__(self, groups: list[dict[str, Any]], *, lr: float, momentum: float,
                 decay: float = 0.0) -> None:
        """``groups``: ``[{"params": [...], "weight_decay": wd}, …]`` (see models.param_groups)."""
        self.groups = groups
        self.base_lr, self.momentum, self.decay = lr, momentum, decay
        self.steps = 0
        self.buffers: list[list[Tensor | None]] = [[None] * len(g["params"]) for g in groups]

    @property
    def lr(self) -> float:
        """The learning rate the next step uses."""
        return self.base_lr / (1.0 + self.decay * self.steps)

    def zero_grad(self) -> None:
        for g in self.groups:
            for p in g["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        lr = self.lr
        for g, bufs in zip(self.groups, self.buffers):
            wd = g.get("weight_decay", 0.0)
            for i, p in enumerate(g["params"]):
                if p.grad is None:
                    continue
                d = p.grad.add(p, alpha=wd) if wd else p.grad
                if self.momentum:
                    if bufs[i] is None:
                        bufs[i] = d.detach().clone()
                    else:
                        bufs[i].mul_(self.momentum).add_(d)
                    d = bufs[i]
                p.add_(d, alpha=-lr)
        self.steps += 1

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "buffers": self.buffers}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if [len(b) for b in state["buffers"]] != [len(g["params"]) for g in self.groups]:
            raise ValueError("optimizer state does not match the parameter groups")
        self.steps = state["steps"]
        self.buffers = [[None if b is None else b.to(p.device) for b, p in zip(bufs, g["params"])]
                        for bufs, g in zip(state["buffers"], self.groups)]
