"""Self-supervised keypoint detector: hourglass -> K heatmaps -> soft-argmax keypoints, plus (for
the first-order model) a local 2x2 Jacobian per keypoint."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .util import Hourglass, coordinate_grid, downsample


class KeypointDetector(nn.Module):
    """frame [B, 3, H, W] in [0, 1] -> {"value": [B, K, 2] in [-1, 1], "jacobian": [B, K, 2, 2]}.

    The hourglass runs at ``scale`` x the frame size (FOMM runs it at 64 px for 256 px frames);
    the heatmaps span the whole frame (same-padded head), so keypoints are frame coordinates.
    """

    def __init__(self, num_kp: int, block_expansion: int, num_blocks: int, max_features: int,
                 norm: str, *, scale: float = 1.0, temperature: float = 0.1,
                 first_order: bool = False) -> None:
        super().__init__()
        self.num_kp = num_kp
        self.scale = scale
        self.temperature = temperature
        self.first_order = first_order
        self.hourglass = Hourglass(3, block_expansion, num_blocks, max_features, norm)
        self.heatmap_head = nn.Conv2d(self.hourglass.out_channels, num_kp, 7, padding=3)
        if first_order:
            # 4 numbers per keypoint, pooled under that keypoint's heatmap. Zero weights and an
            # identity bias: training starts from J = I, i.e. from the translation-only model.
            self.jacobian_head = nn.Conv2d(self.hourglass.out_channels, 4 * num_kp, 7, padding=3)
            nn.init.zeros_(self.jacobian_head.weight)
            with torch.no_grad():
                self.jacobian_head.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(num_kp))

    def forward(self, frame: torch.Tensor) -> dict[str, torch.Tensor]:
        x = downsample(frame, self.scale)
        features = self.hourglass(x)  # [B, C, h, w]
        b, _, h, w = features.shape
        logits = self.heatmap_head(features).float()  # [B, K, h, w]; softmax in fp32
        heatmap = F.softmax(logits.flatten(2) / self.temperature, dim=-1).view(b, self.num_kp, h, w)
        grid = coordinate_grid(h, w, device=frame.device)  # [h, w, 2]
        value = (heatmap[..., None] * grid).sum(dim=(2, 3))  # [B, K, 2]: soft-argmax
        out = {"value": value, "heatmap": heatmap}
        if self.first_order:
            jac_map = self.jacobian_head(features).float().view(b, self.num_kp, 4, h, w)
            jac = (jac_map * heatmap[:, :, None]).sum(dim=(3, 4))  # [B, K, 4]
            out["jacobian"] = jac.view(b, self.num_kp, 2, 2)
        return out


def landmark_keypoints(landmarks: torch.Tensor, points: list[int] | tuple[int, ...], *,
                       first_order: bool = False) -> dict[str, torch.Tensor]:
    """Keypoints from the dataset's landmarks, in the learned keypoints' format.

    landmarks [B, 68, 2] in [-1, 1] coordinates -> {"value": [B, P, 2]} at the iBUG indices
    ``points`` (and, with ``first_order``, identity Jacobians [B, P, 2, 2]: a landmark carries
    a position, no local affine frame). The dense motion network turns values into Gaussians
    exactly as it does the learned ones.
    """
    value = landmarks[:, list(points)].float()
    out = {"value": value}
    if first_order:
        out["jacobian"] = torch.eye(2, device=value.device).expand(*value.shape[:2], 2, 2).clone()
    return out


def concat_keypoints(*parts: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keypoint dicts [B, K_i, ...] -> one [B, sum K_i, ...] (value, and jacobian if all have it)."""
    if len(parts) == 1:
        return parts[0]
    out = {"value": torch.cat([p["value"].float() for p in parts], dim=1)}
    if all("jacobian" in p for p in parts):
        out["jacobian"] = torch.cat([p["jacobian"].float() for p in parts], dim=1)
    return out
