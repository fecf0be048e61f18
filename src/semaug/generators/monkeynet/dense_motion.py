"""Dense motion network: K+1 candidate backward warps (one per keypoint, plus the identity for
the background) -> softmax masks -> one dense backward flow, and an occlusion map. Optionally
(``mask_prior``) the masks start as the keypoints' Gaussians rather than uniform, and
(``landmark_spline``) a landmark thin-plate spline is one more candidate, the last."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .util import Hourglass, coordinate_grid, downsample, gaussian_heatmaps, warp


def sparse_motions(kp_source: dict[str, torch.Tensor], kp_driving: dict[str, torch.Tensor],
                   size: tuple[int, int]) -> torch.Tensor:
    """Candidate backward warps [B, K+1, h, w, 2]; index 0 is the background (identity).

    For keypoint k a driving-frame point z is sent to  mu_s + J_s J_d^-1 (z - mu_d)  (J = I
    without Jacobians). Computed in fp32: the 2x2 inverse is unstable in half precision.
    """
    with torch.autocast(device_type=kp_source["value"].device.type, enabled=False):
        mu_s = kp_source["value"].float()  # [B, K, 2]
        mu_d = kp_driving["value"].float()
        b, k, _ = mu_s.shape
        z = coordinate_grid(*size, device=mu_s.device)  # [h, w, 2]
        rel = z[None, None] - mu_d[:, :, None, None, :]  # [B, K, h, w, 2]
        if "jacobian" in kp_source and "jacobian" in kp_driving:
            jac = kp_source["jacobian"].float() @ torch.linalg.inv(kp_driving["jacobian"].float())
            rel = torch.einsum("bkij,bkhwj->bkhwi", jac, rel)  # [B, K, h, w, 2]
        kp_warps = rel + mu_s[:, :, None, None, :]
        background = z[None, None].expand(b, 1, *size, 2)
        return torch.cat([background, kp_warps], dim=1)


class DenseMotionNetwork(nn.Module):
    """(source [B, 3, H, W], kp_source, kp_driving) -> {"deformation": [B, h, w, 2] backward flow,
    "mask": [B, N, h, w], "occlusion": [B, 1, h, w], "sparse_deformed": [B, N, 3, h, w]},
    at ``scale`` x the frame size; N = K+1 candidates (K+2 with the landmark spline)."""

    def __init__(self, num_kp: int, block_expansion: int, num_blocks: int, max_features: int,
                 norm: str, *, scale: float = 1.0, kp_variance: float = 0.01,
                 occlusion: bool = True, mask_prior: float = 0.0, landmark_spline: float = 0.0) -> None:
        super().__init__()
        self.num_kp = num_kp
        self.scale = scale
        self.kp_variance = kp_variance
        self.mask_prior = mask_prior
        self.spline = landmark_spline > 0
        self.num_candidates = num_kp + 1 + self.spline
        # Per candidate: its heatmap difference (1) and the source warped by it (3).
        self.hourglass = Hourglass(self.num_candidates * 4, block_expansion, num_blocks, max_features, norm)
        self.mask_head = nn.Conv2d(self.hourglass.out_channels, self.num_candidates, 7, padding=3)
        # Zero-initialised motion head (Monkey-Net): the masks start input-independent, leaning
        # to the background (or to the landmark spline), so the first flows are stable.
        nn.init.zeros_(self.mask_head.weight)
        with torch.no_grad():
            self.mask_head.bias.zero_()
            self.mask_head.bias[0] = 2.0
            if self.spline:
                self.mask_head.bias[-1] = landmark_spline
        self.occlusion_head = None
        if occlusion:
            self.occlusion_head = nn.Conv2d(self.hourglass.out_channels, 1, 7, padding=3)
            nn.init.zeros_(self.occlusion_head.weight)
            nn.init.constant_(self.occlusion_head.bias, 3.0)  # sigmoid(3) ~ 0.95: all visible

    def forward(self, source: torch.Tensor, kp_source: dict[str, torch.Tensor],
                kp_driving: dict[str, torch.Tensor], spline: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """``spline``: the landmark spline's backward maps [B, h, w, 2] (see :mod:`.spline`),
        needed when the network was built with landmark_spline > 0."""
        src = downsample(source, self.scale)  # [B, 3, h, w]
        b, _, h, w = src.shape
        k1 = self.num_candidates
        heat_driving = gaussian_heatmaps(kp_driving["value"], (h, w), self.kp_variance)  # [B, K, h, w]
        heat = heat_driving - gaussian_heatmaps(kp_source["value"], (h, w), self.kp_variance)
        none = torch.zeros_like(heat[:, :1])
        # The background and the spline have no keypoint, so no heatmap.
        heat = torch.cat([none, heat, none] if self.spline else [none, heat], dim=1)
        motions = sparse_motions(kp_source, kp_driving, (h, w))  # [B, K+1, h, w, 2]
        if self.spline:
            if spline is None or tuple(spline.shape[1:3]) != (h, w):
                got = None if spline is None else tuple(spline.shape)
                raise ValueError(f"dense_motion.landmark_spline: expected the spline's maps "
                                 f"[B, {h}, {w}, 2], got {got}")
            motions = torch.cat([motions, spline[:, None].to(motions.dtype)], dim=1)  # [B, K+2, h, w, 2]
        deformed = warp(src.repeat_interleave(k1, dim=0), motions.flatten(0, 1)).view(b, k1, 3, h, w)
        x = torch.cat([heat[:, :, None], deformed], dim=2).view(b, k1 * 4, h, w)
        features = self.hourglass(x)
        logits = self.mask_head(features).float()  # [B, N, h, w]
        if self.mask_prior:
            # The candidate warps live on driving-frame coordinates: keypoint k's warp is the
            # right one near its driving position. The background keeps the head's bias only.
            logits = logits + self.mask_prior * F.pad(heat_driving, (0, 0, 0, 0, 1, int(self.spline)))
        mask = F.softmax(logits, dim=1)  # [B, N, h, w]
        deformation = (mask[..., None] * motions).sum(dim=1)  # [B, h, w, 2]
        out = {"deformation": deformation, "mask": mask, "sparse_deformed": deformed}
        if self.occlusion_head is not None:
            out["occlusion"] = torch.sigmoid(self.occlusion_head(features).float())
        return out
