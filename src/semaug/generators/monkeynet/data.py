"""Training data: frame pairs (source, driving) from one training video of a fold.

Frames stay resident as uint8 tensors (decoded once), so an iteration is an index + a copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ...clip import load_clip
from ...folds import LeakageError, read_folds, split_fold

log = logging.getLogger("semaug.monkeynet")


@dataclass
class TrainingVideos:
    """The videos a generator may learn from: uint8 frames [T, S, S, 3] per video."""

    frames: list[torch.Tensor]
    video_ids: list[str]
    subjects: list[str]
    excluded_subjects: list[str] = field(default_factory=list)  # the fold's test subjects

    def __post_init__(self) -> None:
        leak = sorted(set(self.subjects) & set(self.excluded_subjects))
        if leak:
            raise LeakageError(f"test subject(s) {leak} in the generator's training videos")
        if not any(f.shape[0] >= 2 for f in self.frames):
            raise ValueError("generator training needs at least one video with two or more frames")


def training_rows(folds: pd.DataFrame, fold: int) -> tuple[pd.DataFrame, list[str]]:
    """Rows of fold ``fold``'s training videos and the fold's test subjects (the split of
    :func:`semaug.folds.split_fold`, which refuses a table that is not subject-independent)."""
    if "path" not in folds.columns:
        raise ValueError("folds table lacks column(s) ['path']")
    train, test = split_fold(folds, fold)
    return train, sorted(set(test["subject"].astype(str)))


def resize_frames(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> uint8 tensor [T, size, size, 3] (anti-aliased when shrinking)."""
    x = torch.from_numpy(np.ascontiguousarray(frames))
    if x.shape[1] == size and x.shape[2] == size:
        return x
    y = F.interpolate(x.permute(0, 3, 1, 2).float(), size=(size, size), mode="bilinear",
                      align_corners=False, antialias=True)
    return y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def load_training_videos(folds_csv: str | Path, fold: int, image_size: int) -> TrainingVideos:
    """Decode fold ``fold``'s training clips (rows with fold != k of folds.csv)."""
    train, test_subjects = training_rows(read_folds(folds_csv), fold)
    frames = [resize_frames(load_clip(p).frames, image_size) for p in train["path"]]
    log.info("fold %d: %d training videos (%d frames) of %d subjects; %d test subjects excluded",
             fold, len(frames), sum(f.shape[0] for f in frames), train["subject"].nunique(),
             len(test_subjects))
    return TrainingVideos(frames, train["video_id"].astype(str).tolist(),
                          train["subject"].astype(str).tolist(), test_subjects)


class PairSampler:
    """Random (source, driving) frame pairs, both from one video, as float [B, 3, S, S] in [0, 1].

    All randomness comes from ``generator``, whose state is part of the resume state, so a
    resumed run draws the same batches as an uninterrupted one.
    """

    def __init__(self, videos: TrainingVideos, batch_size: int, *, hflip: bool, generator: torch.Generator,
                 device: torch.device) -> None:
        self.frames = [f for f in videos.frames if f.shape[0] >= 2]
        self.lengths = torch.tensor([f.shape[0] for f in self.frames])
        self.batch_size = batch_size
        self.hflip = hflip
        self.generator = generator
        self.device = device

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        g, b = self.generator, self.batch_size
        vids = torch.randint(len(self.frames), (b,), generator=g)
        n = self.lengths[vids]
        i = (torch.rand(b, generator=g) * n).long().clamp(max=n - 1)
        # A distinct second frame: i + an offset in [1, n-1], wrapped.
        j = (i + 1 + (torch.rand(b, generator=g) * (n - 1)).long().clamp(max=n - 2)) % n
        flip = torch.rand(b, generator=g) < 0.5
        src = torch.stack([self.frames[v][a] for v, a in zip(vids.tolist(), i.tolist())])
        drv = torch.stack([self.frames[v][a] for v, a in zip(vids.tolist(), j.tolist())])
        if self.hflip:
            # The same flip for both frames of a pair, so the motion stays consistent.
            src = torch.where(flip[:, None, None, None], src.flip(2), src)
            drv = torch.where(flip[:, None, None, None], drv.flip(2), drv)
        return to_float(src, self.device), to_float(drv, self.device)


def to_float(frames: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 [B, H, W, 3] -> float [B, 3, H, W] in [0, 1] on ``device`` (converted there)."""
    return frames.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255)
