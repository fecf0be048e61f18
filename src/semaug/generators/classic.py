"""``classic`` augmentation: new videos from real ones by label-preserving transforms, drawn
once per clip and applied to every frame (a consistent flip, small affine, brightness/contrast)
plus temporal jitter (a resampled time axis that keeps the neutral first and apex last frame).
Landmarks follow the same geometry, flips through ``FLIP_PERMUTATION``. Runs on kornia.

Pixel convention as in :mod:`semaug.generators.tps`: pixel centres on integers,
``align_corners=True``; a horizontal flip maps x to (W-1) - x.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..catalog import AUGMENTATION, register_generator
from ..clip import Clip
from ..ibug import FLIP_PERMUTATION
from .registry import Generator

DEFAULTS: dict[str, Any] = {
    "flip_p": 0.5,  # probability of a horizontal flip
    "rotate_deg": 8.0,  # rotation drawn from ±this
    "scale": 0.08,  # zoom drawn from 1 ± this
    "translate": 0.05,  # shift drawn from ± this × side
    "brightness": 0.15,  # additive, on [0, 1] pixels
    "contrast": 0.2,  # factor drawn from 1 ± this
    "time_stretch": 0.2,  # clip length × (1 ± this), resampled
}


@dataclass(frozen=True)
class ClassicParams:
    """One clip's draw of the transform."""

    flip: bool
    angle: float  # degrees, counter-clockwise
    scale: float
    shift: tuple[float, float]  # pixels
    brightness: float
    contrast: float
    frame_index: np.ndarray  # int [T'] source frame of each output frame


@register_generator("classic", kind=AUGMENTATION, identity="driver", options=DEFAULTS)
class ClassicAugment(Generator):
    """Label-preserving clip augmentation (flip, affine, colour, temporal jitter) of the
    driver video: one transform per plan row, drawn from the row's seed."""

    def animate(self, source: Clip, driving: Clip) -> Clip:
        """Seed 0's transform of the driver (the source is not used)."""
        return self.augment(driving, 0)

    def animate_batch(self, pairs: list[tuple[Clip, Clip]],
                      seeds: Sequence[int] | None = None) -> list[Clip]:
        seeds = list(seeds) if seeds is not None else [0] * len(pairs)
        return [self.augment(drv, int(seed)) for (_, drv), seed in zip(pairs, seeds)]

    def sample(self, seed: int, n_frames: int, size: tuple[int, int]) -> ClassicParams:
        o, rng = self.options, np.random.default_rng(seed)
        h, w = size
        n_out = max(2, int(round(n_frames * rng.uniform(1 - o["time_stretch"], 1 + o["time_stretch"]))))
        return ClassicParams(
            flip=bool(rng.random() < o["flip_p"]),
            angle=float(rng.uniform(-o["rotate_deg"], o["rotate_deg"])),
            scale=float(rng.uniform(1 - o["scale"], 1 + o["scale"])),
            shift=(float(rng.uniform(-1, 1) * o["translate"] * w),
                   float(rng.uniform(-1, 1) * o["translate"] * h)),
            brightness=float(rng.uniform(-o["brightness"], o["brightness"])),
            contrast=float(rng.uniform(1 - o["contrast"], 1 + o["contrast"])),
            frame_index=np.rint(np.linspace(0, n_frames - 1, n_out)).astype(np.int64)
            if n_frames > 1 else np.zeros(n_out, np.int64),
        )

    def apply(self, clip: Clip, p: ClassicParams) -> Clip:
        """Apply a drawn transform to a clip."""
        import torch

        with torch.no_grad():
            return self._apply(clip, p, torch.device(self.device))

    def _apply(self, clip: Clip, p: ClassicParams, device: Any) -> Clip:
        import torch
        from kornia.enhance import adjust_brightness, adjust_contrast
        from kornia.geometry.transform import get_rotation_matrix2d, hflip, warp_affine

        h, w = clip.size
        frames = torch.from_numpy(clip.frames[p.frame_index]).to(device)
        x = frames.permute(0, 3, 1, 2).float().div_(255)  # [T',3,H,W] in [0,1]
        lm = torch.from_numpy(clip.landmarks[p.frame_index]).to(device).float()  # [T',68,2]
        if p.flip:
            x = hflip(x)
            lm = lm[:, torch.from_numpy(FLIP_PERMUTATION).to(device)]
            lm[..., 0] = (w - 1) - lm[..., 0]
        centre = torch.tensor([[(w - 1) / 2, (h - 1) / 2]], device=device)
        M = get_rotation_matrix2d(centre, torch.tensor([p.angle], device=device),
                                  torch.full((1, 2), p.scale, device=device))  # [1,2,3]
        M[:, :, 2] += torch.tensor(p.shift, device=device)
        # M maps input pixel coordinates to output ones, for the image and the landmarks alike.
        x = warp_affine(x, M.expand(len(x), -1, -1), dsize=(h, w), padding_mode="border",
                        align_corners=True)
        lm = lm @ M[0, :, :2].T + M[0, :, 2]
        x = adjust_contrast(x, p.contrast)
        x = adjust_brightness(x, p.brightness).clamp_(0, 1)
        out = x.mul_(255).add_(0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        meta = {**clip.meta, "augment": "classic", "flip": p.flip, "angle": p.angle,
                "scale": p.scale, "shift": list(p.shift), "brightness": p.brightness,
                "contrast": p.contrast, "frame_index": p.frame_index.tolist()}
        return Clip(frames=out, landmarks=lm.cpu().numpy().astype(np.float32), meta=meta)

    def augment(self, clip: Clip, seed: int) -> Clip:
        """A new clip from ``clip``, transform drawn from ``seed`` (deterministic)."""
        return self.apply(clip, self.sample(seed, clip.n_frames, clip.size))
