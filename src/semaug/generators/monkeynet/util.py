"""Building blocks shared by the Monkey-Net / FOMM network parts: normalisation factory, conv
blocks, the hourglass, coordinate grids, Gaussian heatmaps and warping.

Coordinates convention (everywhere in this package): (x, y) in [-1, 1], x = -1 the centre of the
left-most pixel and +1 the centre of the right-most one, i.e. grid_sample's
``align_corners=True`` convention, so that warping with the identity grid is the identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("instance", "batch", "group", "none")


def make_norm(kind: str, channels: int) -> nn.Module:
    """A normalisation layer by name. Instance/group norm keep per-sample statistics, which is
    what a batch of 4-8 on a CPU needs; batch norm is the published choice for the hourglass."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; expected one of {NORMS}")


class SameBlock(nn.Module):
    """conv (same size) -> norm -> ReLU."""

    def __init__(self, in_ch: int, out_ch: int, norm: str, kernel: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2)
        self.norm = make_norm(norm, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x)))


class DownBlock(nn.Module):
    """conv3x3 -> norm -> ReLU -> avgpool2: halves the size."""

    def __init__(self, in_ch: int, out_ch: int, norm: str) -> None:
        super().__init__()
        self.block = SameBlock(in_ch, out_ch, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.block(x), 2)


class UpBlock(nn.Module):
    """nearest x2 -> conv3x3 -> norm -> ReLU: doubles the size."""

    def __init__(self, in_ch: int, out_ch: int, norm: str) -> None:
        super().__init__()
        self.block = SameBlock(in_ch, out_ch, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class ResBlock(nn.Module):
    """Pre-activation residual block at constant width."""

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.norm1 = make_norm(norm, channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = make_norm(norm, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(F.relu(self.norm1(x)))
        y = self.conv2(F.relu(self.norm2(y)))
        return x + y


def _width(block_expansion: int, level: int, max_features: int) -> int:
    return min(max_features, block_expansion * (2**level))


class Hourglass(nn.Module):
    """U-Net: ``num_blocks`` down blocks, as many up blocks with skip concatenation.

    Input [B, in_ch, H, W] (H, W divisible by 2**num_blocks) -> [B, out_channels, H, W] with
    out_channels = block_expansion + in_ch (the input itself is the last skip).
    """

    def __init__(self, in_ch: int, block_expansion: int, num_blocks: int, max_features: int,
                 norm: str) -> None:
        super().__init__()
        widths = [in_ch] + [_width(block_expansion, i + 1, max_features) for i in range(num_blocks)]
        self.down = nn.ModuleList(DownBlock(widths[i], widths[i + 1], norm) for i in range(num_blocks))
        up = []
        for i in reversed(range(num_blocks)):
            # Decoder input at level i+1: the deeper output (or the bottleneck) plus its skip.
            in_up = widths[i + 1] * (1 if i == num_blocks - 1 else 2)
            out_up = block_expansion if i == 0 else widths[i]
            up.append(UpBlock(in_up, out_up, norm))
        self.up = nn.ModuleList(up)
        self.out_channels = block_expansion + in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [x]
        for block in self.down:
            skips.append(block(skips[-1]))
        y = skips.pop()
        for block in self.up:
            y = torch.cat([block(y), skips.pop()], dim=1)
        return y


def coordinate_grid(h: int, w: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Identity sampling grid [h, w, 2] of (x, y) in [-1, 1] (align_corners=True)."""
    ys = torch.linspace(-1.0, 1.0, h, device=device, dtype=dtype)
    xs = torch.linspace(-1.0, 1.0, w, device=device, dtype=dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1)


def gaussian_heatmaps(kp: torch.Tensor, size: tuple[int, int], variance: float) -> torch.Tensor:
    """Isotropic Gaussians at keypoints kp [B, K, 2] -> heatmaps [B, K, h, w] (peak 1)."""
    grid = coordinate_grid(*size, device=kp.device, dtype=torch.float32)  # [h, w, 2]
    diff = grid[None, None] - kp.float()[:, :, None, None, :]  # [B, K, h, w, 2]
    return torch.exp(-0.5 * (diff**2).sum(-1) / variance)


def warp(x: torch.Tensor, grid: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Backward warp: out(z) = x(grid(z)); x [B, C, H, W], grid [B, h, w, 2] in [-1, 1].

    Runs in fp32 (autocast would otherwise hand grid_sample mixed dtypes).
    """
    return F.grid_sample(x.float(), grid.float(), mode="bilinear", padding_mode=padding_mode,
                         align_corners=True)


def resize_grid(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resample a sampling grid [B, h, w, 2] to [B, *size, 2] (bilinear, align_corners=True,
    so an identity grid stays the identity)."""
    if tuple(grid.shape[1:3]) == tuple(size):
        return grid
    g = F.interpolate(grid.permute(0, 3, 1, 2).float(), size=size, mode="bilinear", align_corners=True)
    return g.permute(0, 2, 3, 1)


def downsample(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Anti-aliased resize of x [B, C, H, W] by ``scale`` (<= 1); identity at scale 1."""
    if scale == 1:
        return x
    return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False, antialias=True,
                         recompute_scale_factor=False)
