"""The landmark spline candidate warp (``dense_motion.landmark_spline``): landmark_warp's
regularised thin-plate spline through the 68 landmarks, as a backward map on the dense motion
network's grid, so that the network can pick it where it explains the motion best."""

from __future__ import annotations

import torch

from ..landmark_warp import DEFAULTS
from ..tps import tps_flow


def spline_flows(source: torch.Tensor, targets: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Backward maps [T, h, w, 2] that warp a source with landmarks ``source`` [68, 2] to each of
    ``targets`` [T, 68, 2] (all in [-1, 1] coordinates): a pixel z of frame t reads the source at
    map[t, z]. landmark_warp's regulariser and border anchors; no gradient (landmarks are data)."""
    h, w = size
    to_px = source.new_tensor([w - 1, h - 1], dtype=torch.float32) / 2  # [-1, 1] -> grid pixels
    with torch.no_grad():
        flow = tps_flow((targets.float() + 1) * to_px, (source.float() + 1) * to_px, size,
                        lam=DEFAULTS["lam"], anchors_per_side=DEFAULTS["anchors_per_side"],
                        max_lambda_steps=DEFAULTS["max_lambda_steps"], resolution=0)
    return flow.permute(0, 2, 3, 1)  # [T, h, w, 2]


def pair_spline_flows(sources: torch.Tensor, targets: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """One map per (source, target) pair: [B, 68, 2] each -> [B, h, w, 2] (training pairs)."""
    return torch.cat([spline_flows(s, t[None], size) for s, t in zip(sources, targets)])
