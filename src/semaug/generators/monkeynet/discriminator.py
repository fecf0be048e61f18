"""Multi-scale patch discriminator conditioned on keypoint heatmaps (Monkey-Net / FOMM)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .util import downsample, gaussian_heatmaps, make_norm


class _DiscBlock(nn.Module):
    """conv4x4 (valid) -> norm -> LeakyReLU(0.2) -> avgpool2."""

    def __init__(self, in_ch: int, out_ch: int, norm: str, pool: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, 4)
        self.norm = make_norm(norm, out_ch)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.norm(self.conv(x)), 0.2)
        return F.avg_pool2d(x, 2) if self.pool else x


class PatchDiscriminator(nn.Module):
    """[B, 3 + K, H, W] -> (feature maps, patch scores [B, 1, h, w])."""

    def __init__(self, num_kp: int, block_expansion: int, num_blocks: int, max_features: int,
                 norm: str) -> None:
        super().__init__()
        blocks = []
        in_ch = 3 + num_kp
        for i in range(num_blocks):
            out_ch = min(max_features, block_expansion * 2**i)
            # No normalisation on the first block, as in both published discriminators.
            blocks.append(_DiscBlock(in_ch, out_ch, "none" if i == 0 else norm, pool=i < num_blocks - 1))
            in_ch = out_ch
        self.blocks = nn.ModuleList(blocks)
        self.score = nn.Conv2d(in_ch, 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features, self.score(x)


class MultiScaleDiscriminator(nn.Module):
    """One patch discriminator per image scale; the input is the frame plus Gaussian heatmaps
    of its (detached) keypoints, so D judges appearance *given* the pose."""

    def __init__(self, num_kp: int, block_expansion: int, num_blocks: int, max_features: int,
                 norm: str, *, scales: list[float], kp_variance: float = 0.01) -> None:
        super().__init__()
        self.scales = [float(s) for s in scales]
        self.kp_variance = kp_variance
        self.discs = nn.ModuleList(
            PatchDiscriminator(num_kp, block_expansion, num_blocks, max_features, norm)
            for _ in self.scales)

    def forward(self, frame: torch.Tensor, kp: torch.Tensor) -> list[tuple[list[torch.Tensor], torch.Tensor]]:
        """frame [B, 3, H, W], kp [B, K, 2] -> per scale (features, scores)."""
        out = []
        for scale, disc in zip(self.scales, self.discs):
            x = downsample(frame, scale)
            heat = gaussian_heatmaps(kp.detach(), tuple(x.shape[2:]), self.kp_variance).to(x.dtype)
            out.append(disc(torch.cat([x, heat], dim=1)))
        return out
