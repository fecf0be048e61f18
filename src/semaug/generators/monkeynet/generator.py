"""Occlusion-aware generator: encoder -> features warped by the dense flow and multiplied by the
occlusion map -> residual blocks -> decoder, with a gated skip of the warped source image."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .dense_motion import DenseMotionNetwork
from .util import DownBlock, ResBlock, SameBlock, UpBlock, resize_grid, warp


class OcclusionAwareGenerator(nn.Module):
    """(source [B, 3, H, W] in [0, 1], kp_source, kp_driving) -> {"prediction": [B, 3, H, W], ...}.

    ``warped_skip`` adds Monkey-Net's full-resolution skip (its U-Net's level-0 skip is the
    warped input image): the last conv sees the flow-warped source and outputs a gate that blends
    it with the decoded image. The gate starts open (output = warped source), so training starts
    from "copy the source along the flow" and the decoder learns what the warp cannot explain;
    without it (FOMM) a small CPU model spends its first minutes learning to reproduce texture.
    """

    def __init__(self, dense_motion: DenseMotionNetwork, block_expansion: int, max_features: int,
                 down_blocks: int, res_blocks: int, norm: str, *, warped_skip: bool = True,
                 mouth_mask: bool = False) -> None:
        super().__init__()
        self.dense_motion = dense_motion
        self.first = SameBlock(3, block_expansion, norm, kernel=7)
        widths = [min(max_features, block_expansion * 2**i) for i in range(down_blocks + 1)]
        self.down = nn.ModuleList(DownBlock(widths[i], widths[i + 1], norm) for i in range(down_blocks))
        self.bottleneck = nn.Sequential(*(ResBlock(widths[-1], norm) for _ in range(res_blocks)))
        self.up = nn.ModuleList(UpBlock(widths[i + 1], widths[i], norm) for i in reversed(range(down_blocks)))
        self.warped_skip = warped_skip
        self.mouth_mask = mouth_mask
        self.final = nn.Conv2d(block_expansion + (3 if warped_skip else 0) + mouth_mask,
                               4 if warped_skip else 3, 7, padding=3)
        if warped_skip:
            with torch.no_grad():
                self.final.weight[3].zero_()
                self.final.bias[3] = 3.0  # gate sigmoid(3) ~ 0.95 on the warped source
        if mouth_mask:
            # The mask channel starts as landmark_warp's mouth fill: inside the inner lips the
            # gate shuts (sigmoid(3 - 6) ~ 0.05) and the decoded colour is dark (sigmoid(-4)),
            # so an opening mouth is dark from the first iteration and training refines it.
            with torch.no_grad():
                self.final.weight[:, block_expansion].zero_()
                self.final.weight[:3, block_expansion, 3, 3] = -4.0
                if warped_skip:
                    self.final.weight[3, block_expansion, 3, 3] = -6.0

    def forward(self, source: torch.Tensor, kp_source: dict[str, torch.Tensor],
                kp_driving: dict[str, torch.Tensor], spline: torch.Tensor | None = None,
                mouth: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``mouth`` [B, 1, H, W]: the inner-lip mask of the frame to render (``mouth_mask``)."""
        if self.mouth_mask and mouth is None:
            raise ValueError("generator.mouth_mask needs the inner-lip masks of the frames to render")
        motion = self.dense_motion(source, kp_source, kp_driving, spline)
        x = self.first(source)
        for block in self.down:
            x = block(x)
        size = tuple(x.shape[2:])
        x = warp(x, resize_grid(motion["deformation"], size))  # [B, C, h', w']
        if "occlusion" in motion:
            occ = motion["occlusion"]
            if tuple(occ.shape[2:]) != size:
                occ = F.interpolate(occ, size=size, mode="bilinear", align_corners=False)
            x = x * occ
        x = self.bottleneck(x)
        for block in self.up:
            x = block(x)
        full = tuple(source.shape[2:])
        deformed = warp(source, resize_grid(motion["deformation"], full))  # [B, 3, H, W]
        out = dict(motion, deformed=deformed)
        if self.mouth_mask:
            x = torch.cat([x, mouth.to(x.dtype)], dim=1)
        if self.warped_skip:
            y = self.final(torch.cat([x, deformed.to(x.dtype)], dim=1)).float()
            gate = torch.sigmoid(y[:, 3:4])  # [B, 1, H, W]
            out["prediction"] = gate * deformed + (1 - gate) * torch.sigmoid(y[:, :3])
            out["gate"] = gate
        else:
            out["prediction"] = torch.sigmoid(self.final(x).float())
        return out
