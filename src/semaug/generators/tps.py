"""Batched thin-plate-spline image warping on torch tensors (CPU or CUDA).

Conventions (one for the whole project):
- Pixel coordinates put pixel centres on integers: x ∈ [0, W-1], y ∈ [0, H-1].
- Normalised coordinates map pixel 0 to -1 and pixel W-1 to +1 (x_n = 2x/(W-1) - 1), which is
  ``grid_sample(..., align_corners=True)``; so the identity grid samples every pixel centre
  exactly and a zero-motion warp returns the image unchanged.

The spline is fitted forwards, source -> target, and inverted numerically: g(c_i) ≈ c_i + δ_i
for control points c_i (the *source* landmarks, plus anchors with δ = 0), U(r) = r² log r²,
[[K + λI, P], [Pᵀ, 0]] [w; a] = [δ; 0] in fp32 on normalised coordinates. The system depends
only on the source's points, so a source's frames share it: the displacement field is
linear in the frame's landmark displacements, D_t = B δ_t, with B [M, N] solved once per
source (:func:`tps_basis`) instead of one (N+3)² system and one [N, M] kernel per frame. The
backward map an output pixel x needs (it reads the source at y with g(y) = x) comes from a few
Newton steps on the grid (:func:`invert_displacement`).
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
    """U(|a_i - b_j|) = r² log r² for a [M,2], b [N,2] -> [M,N] (0 at r = 0)."""
    r2 = ((a * a).sum(-1, keepdim=True) + (b * b).sum(-1)
          - 2.0 * a @ b.T).clamp_min_(1e-20)
    return torch.log(r2).mul_(r2)  # xlogy is several times slower on the CPU


def tps_basis(ctrl: torch.Tensor, points: torch.Tensor, lam: float, moving: int) -> torch.Tensor:
    """The displacement at ``points`` [M,2] per unit displacement of each of the first
    ``moving`` control points ``ctrl`` [N,2] (the others held still): [M, moving], fp32.

    The regularised spline is linear in its values, so for displacements δ [moving, 2] the
    field is ``basis @ δ``."""
    ctrl, points = ctrl.float(), points.float()
    n = len(ctrl)
    eye = torch.eye(n, device=ctrl.device)
    P = torch.cat([torch.ones(n, 1, device=ctrl.device), ctrl], 1)  # [N,3]
    L = torch.zeros(n + 3, n + 3, device=ctrl.device)
    L[:n, :n] = _kernel(ctrl, ctrl) + lam * eye
    L[:n, n:] = P
    L[n:, :n] = P.T
    rhs = torch.zeros(n + 3, moving, device=ctrl.device)
    rhs[:moving] = eye[:moving, :moving]
    sol = torch.linalg.solve(L, rhs)  # [w; a] per unit displacement
    affine = torch.cat([torch.ones_like(points[:, :1]), points], 1)  # [M,3]
    return torch.addmm(affine @ sol[n:], _kernel(points, ctrl), sol[:n])


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


def invert_displacement(disp: torch.Tensor, steps: int = 6, nodes: torch.Tensor | None = None,
                        tol: float = 1e-2) -> torch.Tensor:
    """Backward displacement of a forward one, both channel-first [B,2,h,w] on the same
    normalised grid: e(x) = y − x where y + D(y) = x, D bilinear between the nodes.

    Newton's method from y = x − D(x), with the exact derivatives of the bilinear D in the
    cell y lies in and steps of at most one cell (where the map nearly folds, its linear model
    holds only within the cell), until a step is under ``tol`` cells; points drop out as they
    converge, most after two steps. (The fixed point y = x − D(y) would need |∇D| < 1, and a
    parting mouth stretches more than that.) ``nodes``: bool [h,w], where to invert
    (elsewhere e = 0)."""
    b, _, h, w = disp.shape
    if h < 2 or w < 2 or b == 0:
        return -disp
    dev = disp.device
    scale = disp.new_tensor([(w - 1) / 2, (h - 1) / 2])[:, None]  # cells per normalised unit
    flat = disp.transpose(0, 1).reshape(2, -1) * scale  # [2,B·P], D at the nodes, in cells
    ys, xs = torch.meshgrid(torch.arange(h, device=dev, dtype=disp.dtype),
                            torch.arange(w, device=dev, dtype=disp.dtype), indexing="ij")
    x_all = torch.stack([xs.flatten(), ys.flatten()]).repeat(1, b)  # [2,B·P] (x, y) in cells
    y_all = x_all - flat  # the start: x − D(x)
    ids = torch.arange(b * h * w, device=dev)
    if nodes is not None:
        ids = ids.reshape(b, -1)[:, nodes.flatten()].flatten()
    xa, ya = x_all.index_select(1, ids), y_all.index_select(1, ids)
    base = ids - ids % (h * w)  # the frame's first node
    top = disp.new_tensor([w - 1, h - 1])[:, None]
    for _ in range(steps):
        if len(ids) == 0:
            break
        u = torch.minimum(ya.clamp(min=0), top)
        cell = torch.minimum(u.floor(), top - 1)
        fx, fy = u - cell
        n00 = base + cell[1].long() * w + cell[0].long()
        d00, d01 = flat.index_select(1, n00), flat.index_select(1, n00 + 1)
        d10, d11 = flat.index_select(1, n00 + w), flat.index_select(1, n00 + w + 1)
        dx, dy, dxy = d01 - d00, d10 - d00, d11 - d10 - d01 + d00  # D = d00 + dx·fx + dy·fy + dxy·fx·fy
        r = ya - xa + d00 + dx * fx + (dy + dxy * fx) * fy  # g(y) − x
        jx, jy = dx + dxy * fy, dy + dxy * fx  # ∂D/∂x, ∂D/∂y (cells)
        a, bb, cc, d = 1 + jx[0], jy[0], jx[1], 1 + jy[1]  # J = [[a, bb], [cc, d]]
        det = (a * d - bb * cc).clamp_min(1e-6)
        step = torch.stack([(d * r[0] - bb * r[1]) / det, (a * r[1] - cc * r[0]) / det]).clamp_(-1, 1)
        ya = ya - step
        y_all.index_copy_(1, ids, ya)
        going = torch.nonzero(step.abs().amax(0) > tol).flatten()
        ids, base = ids[going], base[going]
        xa, ya = xa.index_select(1, going), ya.index_select(1, going)
    back = ((y_all - x_all) / scale).reshape(2, b, h, w).transpose(0, 1).contiguous()
    if nodes is not None:
        back = back * nodes
    return back


def flow_shape(size: tuple[int, int], resolution: int) -> tuple[int, int]:
    """(h, w) of the grid the spline is evaluated on: resolution² or, for 0 / ≥ the image
    side, the image itself."""
    h, w = size
    return (h, w) if resolution <= 0 or resolution >= max(h, w) else (resolution, resolution)


def tps_flow(target: torch.Tensor, source: torch.Tensor, size: tuple[int, int], *,
             lam: float = 5e-3, anchors_per_side: int = 5, resolution: int = 32,
             max_lambda_steps: int = 3, pinned: torch.Tensor | None = None,
             weight: torch.Tensor | None = None, newton_steps: int = 6) -> torch.Tensor:
    """Backward sampling map for one source animated to T targets, channel-first
    [T,2,gh,gw] on the :func:`flow_shape` grid (normalised); :func:`upsample_flow` takes it to
    the image. An output pixel at x reads the source at flow(x).

    target: [T,N,2] and source: [N,2] landmarks in pixels. ``pinned`` [P,2] (pixels): extra
    control points that stay where they are in every frame (as the border anchors do).
    ``weight`` [gh,gw] in [0,1] scales the displacement: where it is 0 the pixel stays exactly
    where it is. A frame whose forward map folds over (Jacobian ≤ 0) is re-solved with λ×10, up
    to ``max_lambda_steps`` times: more smoothing, nearer an affine map, no fold.
    """
    device = target.device
    n = source.shape[0]
    ctrl = to_normalised(source.float(), size)
    delta = to_normalised(target.float(), size) - ctrl  # [T,N,2]
    fixed = border_anchors(anchors_per_side, device)
    if pinned is not None and len(pinned):
        fixed = torch.cat([to_normalised(pinned.float(), size), fixed])
    ctrl = torch.cat([ctrl, fixed])
    gh, gw = flow_shape(size, resolution)
    pts = identity_grid(gh, gw, device)
    identity = pts.T.reshape(1, 2, gh, gw).contiguous()  # (not channels-last: slow upsampling)
    if target.shape[0] == 0:
        return identity.expand(0, -1, -1, -1)

    def forward(lam_now: float, frames: torch.Tensor | slice) -> torch.Tensor:
        basis = tps_basis(ctrl, pts, lam_now, n)  # [M,N]
        d = delta[frames]
        disp = (basis @ d.permute(1, 0, 2).reshape(n, -1)).reshape(-1, len(d), 2)  # [M,T,2]
        return disp.permute(1, 2, 0).reshape(len(d), 2, gh, gw).contiguous()

    disp = forward(lam, slice(None))
    lam_now = float(lam)
    for _ in range(max_lambda_steps):
        folded = torch.nonzero(min_jacobian(identity + disp) <= 0.0).flatten()
        if len(folded) == 0:
            break
        lam_now *= 10.0
        disp[folded] = forward(lam_now, folded)
    back = invert_displacement(disp, newton_steps, None if weight is None else weight > 0)
    if weight is not None:
        back = back * weight
    return identity + back


def upsample_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Channel-first flow [B,2,gh,gw] -> sampling grid [B,H,W,2], bilinear (the spline is
    smooth; evaluating it on a coarse grid is what makes the warp fast)."""
    if tuple(flow.shape[-2:]) != tuple(size):
        flow = F.interpolate(flow, size=size, mode="bilinear", align_corners=True)
    return flow.permute(0, 2, 3, 1)


def warp(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample images [B,C,H,W] (float) at grid [B,H,W,2]; outside the image reads the border."""
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)
