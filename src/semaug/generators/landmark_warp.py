"""``landmark_warp``: the training-free baseline generator.

For each driving frame, the driver's landmark motion relative to its first frame (aligned on
stable points, scaled by inter-ocular distance: :func:`transfer_landmarks`) is added to the
source's landmarks, and the source image is warped by a thin-plate spline from those target
landmarks back to the source landmarks, with border anchors so the background stays put.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..clip import Clip
from ..ibug import JAW, NOSE_TIP, eye_centres
from .motion import transfer_landmarks
from .registry import Generator, register_generator
from .tps import tps_grid, warp

DEFAULTS: dict[str, Any] = {
    "lam": 2e-2,  # TPS regulariser λ on [-1,1] coordinates
    "anchors_per_side": 5,  # 16 fixed border anchors
    "flow_resolution": 32,  # spline evaluated on 32×32, upsampled bilinearly (0 = every pixel)
    "min_gap": 0.5,  # pixels kept between upper and lower eyelid / inner-lip points
    "max_lambda_steps": 3,  # λ×10 re-solves for a frame whose warp would fold
    "batch_frames": 256,  # frames warped per batch
    # Control points pinned around the head (above the brows, outside the jaw line), in units
    # of the inter-ocular distance; 0 turns them off. Without them the spline carries the brow
    # and jaw motion out into the hairline and the background.
    "head_margin": 0.3,
}

# (upper, lower) point pairs that must not cross: crossing eyelids or lips fold the warp.
_NON_CROSSING = ((37, 41), (38, 40), (43, 47), (44, 46), (61, 67), (62, 66), (63, 65))


def keep_order(landmarks: np.ndarray, min_gap: float, reference: np.ndarray | None = None
               ) -> np.ndarray:
    """Push apart upper/lower eyelid and inner-lip points that come closer than ``min_gap``
    pixels vertically (or cross), about their midpoint. [..., 68, 2] -> same shape (copy).

    With a ``reference`` [68,2] (the source), a pair already closer there only has to keep
    its reference gap, so frame 0 (target = source) is left exactly as it is."""
    out = np.array(landmarks, dtype=np.float32, copy=True)
    for up, low in _NON_CROSSING:
        yu, yl = out[..., up, 1], out[..., low, 1]
        gap = min_gap
        if reference is not None:
            gap = min(min_gap, max(float(reference[low, 1] - reference[up, 1]), 0.0))
        bad = yl - yu < gap
        mid = (yu + yl) / 2
        out[..., up, 1] = np.where(bad, mid - gap / 2, yu)
        out[..., low, 1] = np.where(bad, mid + gap / 2, yl)
    return out


def head_anchors(landmarks: np.ndarray, margin: float) -> np.ndarray:
    """Points around a face that expressions do not move: above each brow point and outside
    each jaw point, ``margin`` inter-ocular distances away. [68,2] -> [27,2]."""
    eyes = eye_centres(landmarks)
    iod = float(np.linalg.norm(eyes[1] - eyes[0]))
    across = (eyes[1] - eyes[0]) / max(iod, 1e-6)
    up = np.array([across[1], -across[0]])  # image y points down: "up" is -y for a level face
    brows = landmarks[17:27] + margin * iod * up
    centre = landmarks[NOSE_TIP]
    jaw = landmarks[JAW]
    outward = (jaw - centre) / np.maximum(np.linalg.norm(jaw - centre, axis=1, keepdims=True), 1e-6)
    return np.concatenate([brows, jaw + margin * iod * outward]).astype(np.float32)


@register_generator("landmark_warp")
class LandmarkWarp(Generator):
    """Relative landmark motion + thin-plate-spline warp of the source frame (no training)."""

    learned = False

    def __init__(self, options: Mapping[str, Any] | None = None, *, checkpoint: str | None = None,
                 device: str = "cpu") -> None:
        unknown = set(options or {}) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"landmark_warp: unknown options {sorted(unknown)}")
        super().__init__({**DEFAULTS, **(options or {})}, checkpoint=checkpoint, device=device)

    def targets(self, source: Clip, driving: Clip) -> np.ndarray:
        """Target landmarks float32 [T,68,2] for animating ``source`` with ``driving``."""
        target = transfer_landmarks(source.landmarks[0], driving.landmarks)
        return keep_order(target, self.options["min_gap"], source.landmarks[0])

    def animate(self, source: Clip, driving: Clip) -> Clip:
        return self.animate_batch([(source, driving)])[0]

    @torch.no_grad()
    def animate_batch(self, pairs: list[tuple[Clip, Clip]]) -> list[Clip]:
        if not pairs:
            return []
        sizes = {src.size for src, _ in pairs}
        if len(sizes) > 1:  # one tensor per batch: split by source size
            return [self.animate_batch([p])[0] for p in pairs]
        h, w = sizes.pop()
        dev = torch.device(self.device)
        targets = [self.targets(src, drv) for src, drv in pairs]
        lengths = [len(t) for t in targets]
        frames = np.empty((sum(lengths), h, w, 3), np.uint8)
        starts = np.concatenate([[0], np.cumsum(lengths)])
        # Chunks of whole pairs, about batch_frames frames each.
        chunk: list[int] = []
        for p in range(len(pairs)):
            chunk.append(p)
            if sum(lengths[q] for q in chunk) >= self.options["batch_frames"] or p == len(pairs) - 1:
                out = self._warp_chunk([pairs[q][0] for q in chunk], [targets[q] for q in chunk],
                                       (h, w), dev)
                frames[starts[chunk[0]]:starts[chunk[-1] + 1]] = out
                chunk = []

        clips = []
        for (src, drv), target, s0 in zip(pairs, targets, starts):
            meta = {"generator": self.name, "source": src.meta.get("video_id"),
                    "driver": drv.meta.get("video_id")}
            clips.append(Clip(frames=frames[s0:s0 + len(target)], landmarks=target, meta=meta))
        return clips

    def _warp_chunk(self, sources: list[Clip], targets: list[np.ndarray], size: tuple[int, int],
                    dev: torch.device) -> np.ndarray:
        """Warp each source's frame 0 to its target landmarks -> uint8 [ΣT,H,W,3]."""
        h, w = size
        n = [len(t) for t in targets]
        src_lm = np.repeat(np.stack([s.landmarks[0] for s in sources]), n, 0)  # [ΣT,68,2]
        tgt_lm = np.concatenate(targets)
        if self.options["head_margin"] > 0:
            # Pinned: the relative transfer removes the driver's head motion, so these points
            # keep their source positions in every frame.
            pins = np.repeat(np.stack([head_anchors(s.landmarks[0], self.options["head_margin"])
                                       for s in sources]), n, 0)
            src_lm = np.concatenate([src_lm, pins], 1)
            tgt_lm = np.concatenate([tgt_lm, pins], 1)
        tgt = torch.from_numpy(tgt_lm).to(dev)
        src_lm = torch.from_numpy(src_lm).to(dev)
        grid = tps_grid(tgt, src_lm, size, lam=self.options["lam"],
                        anchors_per_side=self.options["anchors_per_side"],
                        resolution=self.options["flow_resolution"],
                        max_lambda_steps=self.options["max_lambda_steps"])  # [ΣT,H,W,2]
        out = []
        for src, g in zip(sources, torch.split(grid, n)):
            # One source image, its T grids stacked along y: sample [1,3,H,W] on a [1,T·H,W,2]
            # grid instead of copying the image T times.
            img = torch.from_numpy(src.frames[0]).to(dev).permute(2, 0, 1)[None].float()
            res = warp(img, g.reshape(1, -1, w, 2))  # [1,3,T·H,W]
            # clamp, +0.5, truncate = round to nearest
            out.append(res[0].clamp_(0, 255).add_(0.5).to(torch.uint8).reshape(3, -1, h, w))
        return torch.cat(out, 1).permute(1, 2, 3, 0).cpu().numpy()
