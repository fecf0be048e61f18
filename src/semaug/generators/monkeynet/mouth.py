"""The mouth-opening cue of the generator (``generator.mouth_mask``): the inner-lip polygon of
the frame to render, as an antialiased mask at the frame's size.

A warp can only move pixels; where the driver's mouth opens wider than the source's, the mouth
interior must be painted. landmark_warp fills that polygon with a darkened lip colour; here the
generator's last layer sees the polygon and learns what to paint there (and how far to trust
the warped source) from the training videos' own frames.
"""

from __future__ import annotations

import torch

from ...ibug import INNER_LIPS
from .util import coordinate_grid


def polygon_masks(polygons: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Polygons [B, P, 2] in [-1, 1] coordinates (x, y; pixel centres at -1 and +1) -> soft
    masks [B, 1, H, W]: 1 inside, 0 outside, a one-pixel linear ramp across each edge; empty
    for a polygon with a missing (NaN) point."""
    h, w = size
    z = coordinate_grid(h, w, device=polygons.device).view(1, -1, 1, 2)  # [1, HW, 1, 2]
    a = polygons.float()[:, None]  # [B, 1, P, 2]
    b = a.roll(-1, dims=2)  # each edge a_i -> a_{i+1}
    # Inside: an odd number of edges crosses the ray from z towards +x.
    straddles = (a[..., 1] > z[..., 1]) != (b[..., 1] > z[..., 1])  # [B, HW, P]
    dy = b[..., 1] - a[..., 1]
    x_cross = a[..., 0] + (z[..., 1] - a[..., 1]) * (b[..., 0] - a[..., 0]) / torch.where(
        dy.abs() < 1e-12, torch.full_like(dy, 1e-12), dy)
    inside = ((straddles & (z[..., 0] < x_cross)).sum(-1) % 2).bool()  # [B, HW]
    # Distance to the nearest edge, in pixels, signed (+ inside) -> the antialiasing ramp.
    to_px = z.new_tensor([(w - 1) / 2, (h - 1) / 2])
    ab, az = (b - a) * to_px, (z - a) * to_px
    t = ((az * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-12)).clamp(0, 1)
    dist = (az - t[..., None] * ab).norm(dim=-1).amin(-1)  # [B, HW]
    signed = torch.where(inside, dist, -dist)
    mask = (0.5 + signed).clamp(0, 1)
    known = torch.isfinite(polygons).all(-1).all(-1)  # a frame without landmarks: empty mask
    return torch.where(known[:, None], mask, torch.zeros_like(mask)).view(-1, 1, h, w)


def mouth_masks(landmarks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """68-point landmarks [B, 68, 2] in [-1, 1] coordinates -> inner-lip masks [B, 1, H, W]
    (empty where the lips touch)."""
    return polygon_masks(landmarks[:, INNER_LIPS], size)
