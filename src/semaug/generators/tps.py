"""Batched thin-plate-spline image warping on torch tensors (CPU or CUDA).

Conventions (one for the whole project):
- Pixel coordinates put pixel centres on integers: x ∈ [0, W-1], y ∈ [0, H-1].
- Normalised coordinates map pixel 0 to -1 and pixel W-1 to +1 (x_n = 2x/(W-1) - 1), which is
  ``grid_sample(..., align_corners=True)``; so the identity grid samples every pixel centre
  exactly and a zero-motion warp returns the image unchanged.

The spline is the backward map target -> source (as TPSMM fits it): an output pixel at x reads
the source at f(x). f(c_i) ≈ v_i for control points c_i (target landmarks + fixed border
anchors) and values v_i (source landmarks + the same anchors), U(r) = r² log r², solved as
[[K + λI, P], [Pᵀ, 0]] [w; a] = [v; 0] in fp32 on normalised coordinates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def to_normalised(points: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Pixel (x, y) [..., 2] -> [-1, 1] (align_corners=True)."""
    h, w = size
    scale = points.new_tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)])
    return points * scale - 1.0


def border_anchors(per_side: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """4·(per_side−1) points evenly spaced on the border of [-1,1]², [A, 2] (corners included)."""
    if per_side < 2:
        return torch.zeros(0, 2, device=device)
    t = torch.linspace(-1.0, 1.0, per_side, device=device)
    one = torch.ones_like(t)
    sides = [torch.stack([t, -one], 1), torch.stack([one, t], 1),
             torch.stack([t.flip(0), one], 1), torch.stack([-one, t.flip(0)], 1)]
    return torch.cat([s[:-1] for s in sides])  # drop each side's last point: it starts the next


def _kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """U(|a_i - b_j|) = r² log r² for a [B,M,2], b [B,N,2] -> [B,M,N]."""
    r2 = ((a * a).sum(-1, keepdim=True) + (b * b).sum(-1).unsqueeze(-2)
          - 2.0 * a @ b.transpose(-1, -2)).clamp_min(0.0)
    return torch.xlogy(r2, r2)  # 0 at r = 0


def fit_tps(ctrl: torch.Tensor, values: torch.Tensor, lam: torch.Tensor | float
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve the regularised TPS system in fp32.

    ctrl, values: [B,N,2]; lam: float or [B] -> (w [B,N,2], a [B,3,2]).
    """
    ctrl, values = ctrl.float(), values.float()
    b, n, _ = ctrl.shape
    lam_t = torch.as_tensor(lam, dtype=torch.float32, device=ctrl.device).reshape(-1, 1, 1)
    eye = torch.eye(n, device=ctrl.device)
    K = _kernel(ctrl, ctrl) + lam_t * eye  # [B,N,N]
    P = torch.cat([torch.ones(b, n, 1, device=ctrl.device), ctrl], -1)  # [B,N,3]
    L = torch.zeros(b, n + 3, n + 3, device=ctrl.device)
    L[:, :n, :n] = K
    L[:, :n, n:] = P
    L[:, n:, :n] = P.transpose(1, 2)
    rhs = torch.cat([values, torch.zeros(b, 3, 2, device=ctrl.device)], 1)
    sol = torch.linalg.solve(L, rhs)
    return sol[:, :n], sol[:, n:]


def _grid_basis(points: torch.Tensor) -> torch.Tensor:
    """Homogeneous rows [x, y, x²+y², 1] of evaluation points [M,2] -> [M,4]."""
    return torch.cat([points, (points * points).sum(-1, keepdim=True), torch.ones_like(points[:, :1])], -1)


def eval_tps(points: torch.Tensor, ctrl: torch.Tensor, w: torch.Tensor, a: torch.Tensor
             ) -> torch.Tensor:
    """f(points): points [M,2] (shared by the batch) -> channel-first [B,2,M]."""
    # r² = |c|² + |p|² - 2 c·p as one matmul of homogeneous rows [-2c, 1, |c|²]·[p, |p|², 1]:
    # one pass over the [B,N,M] kernel instead of one per term (this is the hot loop), laid out
    # so that wᵀU lands channel-first, as the upsampling wants it.
    ctrl = ctrl.float()
    ch = torch.cat([-2.0 * ctrl, torch.ones_like(ctrl[..., :1]), (ctrl * ctrl).sum(-1, keepdim=True)], -1)
    r2 = torch.matmul(ch, _grid_basis(points).T).clamp_min_(1e-20)  # [B,N,M]; r² log r² -> 0 at 0
    U = torch.log(r2).mul_(r2)
    affine = torch.matmul(a[:, 1:].transpose(1, 2), points.T).add_(a[:, 0, :, None])  # [B,2,M]
    return torch.baddbmm(affine, w.transpose(1, 2), U)


def identity_grid(h: int, w: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """[h*w, 2] normalised (x, y) of an h×w grid, row-major, corners at ±1."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=device),
                            torch.linspace(-1, 1, w, device=device), indexing="ij")
    return torch.stack([xs, ys], -1).reshape(-1, 2)


def min_jacobian(flow: torch.Tensor) -> torch.Tensor:
    """Smallest finite-difference Jacobian determinant of a channel-first sampling map
    [B,2,h,w] (normalised coordinates) -> [B]. The identity gives 1; ≤ 0 means a fold."""
    _, _, h, w = flow.shape
    dx = (flow[:, :, :-1, 1:] - flow[:, :, :-1, :-1]) * (w - 1) / 2
    dy = (flow[:, :, 1:, :-1] - flow[:, :, :-1, :-1]) * (h - 1) / 2
    det = dx[:, 0] * dy[:, 1] - dx[:, 1] * dy[:, 0]
    return det.flatten(1).amin(1)


def tps_grid(target: torch.Tensor, source: torch.Tensor, size: tuple[int, int], *,
             lam: float = 5e-3, anchors_per_side: int = 5, resolution: int = 32,
             max_lambda_steps: int = 3) -> torch.Tensor:
    """Backward sampling grid [B,H,W,2] (normalised) taking target landmarks to source ones.

    target, source: [B,N,2] pixel coordinates. The spline is evaluated on a resolution²
    grid and upsampled bilinearly (it is smooth; this is what makes it fast); 0 or ≥ the image
    side evaluates at every pixel. A frame whose warp folds over (Jacobian ≤ 0) is re-solved with
    λ×10, up to ``max_lambda_steps`` times: more smoothing, nearer an affine map, no fold.
    """
    h, w = size
    device = target.device
    ctrl = to_normalised(target.float(), size)
    vals = to_normalised(source.float(), size)
    anchors = border_anchors(anchors_per_side, device).unsqueeze(0).expand(ctrl.shape[0], -1, -1)
    ctrl, vals = torch.cat([ctrl, anchors], 1), torch.cat([vals, anchors], 1)
    gh, gw = (h, w) if resolution <= 0 or resolution >= max(h, w) else (resolution, resolution)
    pts = identity_grid(gh, gw, device)

    wts, aff = fit_tps(ctrl, vals, lam)
    flow = eval_tps(pts, ctrl, wts, aff).reshape(-1, 2, gh, gw)
    lam_now = float(lam)
    for _ in range(max_lambda_steps):
        folded = torch.nonzero(min_jacobian(flow) <= 0.0).flatten()
        if len(folded) == 0:
            break
        lam_now *= 10.0
        wts, aff = fit_tps(ctrl[folded], vals[folded], lam_now)
        flow[folded] = eval_tps(pts, ctrl[folded], wts, aff).reshape(-1, 2, gh, gw)
    if (gh, gw) != (h, w):
        flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=True)
    return flow.permute(0, 2, 3, 1)


def warp(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample images [B,C,H,W] (float) at grid [B,H,W,2]; outside the image reads the border."""
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)
