"""Training data: frame pairs (source, driving) from one training video of a fold.

Frames stay resident as uint8 tensors (decoded once), so an iteration is an index + a copy.
Landmarks travel with them in the package's coordinates ((x, y) in [-1, 1], align_corners=True),
for the landmark keypoints and for registration at synthesis time.
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
from ...ibug import FLIP_PERMUTATION

log = logging.getLogger("semaug.monkeynet")


@dataclass
class TrainingVideos:
    """The videos a generator may learn from: uint8 frames [T, S, S, 3] per video."""

    frames: list[torch.Tensor]
    video_ids: list[str]
    subjects: list[str]
    excluded_subjects: list[str] = field(default_factory=list)  # the fold's test subjects
    # float32 [T, 68, 2] per video in [-1, 1] coordinates, missing frames filled; None: no landmarks
    landmarks: list[torch.Tensor] | None = None

    def __post_init__(self) -> None:
        leak = sorted(set(self.subjects) & set(self.excluded_subjects))
        if leak:
            raise LeakageError(f"test subject(s) {leak} in the generator's training videos")
        if not any(f.shape[0] >= 2 for f in self.frames):
            raise ValueError("generator training needs at least one video with two or more frames")
        if self.landmarks is not None and [len(x) for x in self.landmarks] != [len(f) for f in self.frames]:
            raise ValueError("landmarks must have one [68, 2] entry per frame of each video")


def training_rows(folds: pd.DataFrame, fold: int) -> tuple[pd.DataFrame, list[str]]:
    """Rows of fold ``fold``'s training videos and the fold's test subjects (the split of
    :func:`semaug.folds.split_fold`, which refuses a table that is not subject-independent)."""
    if "path" not in folds.columns:
        raise ValueError("folds table lacks column(s) ['path']")
    train, test = split_fold(folds, fold)
    return train, sorted(set(test["subject"].astype(str)))


def check_enough_videos(n_videos: int, fold: int, minimum: int, where: str = "") -> None:
    """Stop early, naming the fold, the count and the fixes, when a fold has too few training
    videos for a generator to learn anything but their identities."""
    if n_videos < minimum:
        raise ValueError(
            f"fold {fold}{f' of {where}' if where else ''} has {n_videos} generator training "
            f"video(s) with >= 2 frames; at least {minimum} are needed "
            "(generators.monkeynet.min_train_videos). Fix: add subjects to the dataset, use fewer "
            "folds (`folds`), or lower generators.monkeynet.min_train_videos (or "
            "generators.fomm.min_train_videos) if you accept a generator that saw so few videos")


def normalise_landmarks(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Crop pixel (x, y) [..., 68, 2] of a frame of ``size`` = (H, W) -> [-1, 1] coordinates
    (pixel centres at -1 and +1, align_corners=True), independent of any later resizing."""
    h, w = size
    scale = np.array([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], np.float32)
    return (np.asarray(landmarks, np.float32) * scale - 1.0).astype(np.float32)


def fill_missing_landmarks(landmarks: np.ndarray) -> np.ndarray | None:
    """[T, 68, 2] with NaN frames (no face found) -> the nearest valid frame's landmarks in
    their place; None when no frame has landmarks."""
    valid = np.isfinite(landmarks).all(axis=(1, 2))
    if not valid.any():
        return None
    if valid.all():
        return landmarks
    idx = np.flatnonzero(valid)
    nearest = idx[np.abs(np.arange(len(landmarks))[:, None] - idx[None]).argmin(1)]
    return landmarks[nearest]


def resize_frames(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> uint8 tensor [T, size, size, 3] (anti-aliased when shrinking)."""
    x = torch.from_numpy(np.ascontiguousarray(frames))
    if x.shape[1] == size and x.shape[2] == size:
        return x
    y = F.interpolate(x.permute(0, 3, 1, 2).float(), size=(size, size), mode="bilinear",
                      align_corners=False, antialias=True)
    return y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def load_training_videos(folds_csv: str | Path, fold: int, image_size: int, *, min_videos: int = 1,
                         need_landmarks: bool = False) -> TrainingVideos:
    """Decode fold ``fold``'s training clips (rows with fold != k of folds.csv).

    Fails before decoding when the fold has fewer than ``min_videos`` training videos, and after
    it when fewer than that have two frames (a pair needs two). With ``need_landmarks`` a video
    without any landmarks is an error naming it; otherwise such videos just carry none.
    """
    train, test_subjects = training_rows(read_folds(folds_csv), fold)
    check_enough_videos(len(train), fold, min_videos, str(folds_csv))
    frames, landmarks = [], []
    for vid, path in zip(train["video_id"].astype(str), train["path"]):
        clip = load_clip(path)
        frames.append(resize_frames(clip.frames, image_size))
        lm = fill_missing_landmarks(normalise_landmarks(clip.landmarks, clip.size))
        if lm is None and need_landmarks:
            raise ValueError(f"{path} (video {vid}) has no landmarks in any frame; landmark keypoints "
                             "(keypoint_source landmarks/mixed) and dense_motion.landmark_spline need "
                             "them: use keypoint_source: learned and landmark_spline: 0, or drop the video")
        landmarks.append(None if lm is None else torch.from_numpy(np.ascontiguousarray(lm)))
    check_enough_videos(sum(f.shape[0] >= 2 for f in frames), fold, min_videos, str(folds_csv))
    log.info("fold %d: %d training videos (%d frames) of %d subjects; %d test subjects excluded",
             fold, len(frames), sum(f.shape[0] for f in frames), train["subject"].nunique(),
             len(test_subjects))
    # A video without landmarks (possible only for learned keypoints, which do not need them):
    # the whole set goes without.
    return TrainingVideos(frames, train["video_id"].astype(str).tolist(),
                          train["subject"].astype(str).tolist(), test_subjects,
                          None if any(lm is None for lm in landmarks) else landmarks)


class PairSampler:
    """Random (source, driving) frame pairs, both from one video, as float [B, 3, S, S] in [0, 1],
    with their landmarks [B, 68, 2] in [-1, 1] coordinates (None when the videos have none).

    All randomness comes from ``generator``, whose state is part of the resume state, so a
    resumed run draws the same batches as an uninterrupted one.
    """

    def __init__(self, videos: TrainingVideos, batch_size: int, *, hflip: bool, generator: torch.Generator,
                 device: torch.device) -> None:
        keep = [i for i, f in enumerate(videos.frames) if f.shape[0] >= 2]
        self.frames = [videos.frames[i] for i in keep]
        self.landmarks = None if videos.landmarks is None else [videos.landmarks[i] for i in keep]
        self.lengths = torch.tensor([f.shape[0] for f in self.frames])
        self.batch_size = batch_size
        self.hflip = hflip
        self.generator = generator
        self.device = device

    def sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        g, b = self.generator, self.batch_size
        vids = torch.randint(len(self.frames), (b,), generator=g)
        n = self.lengths[vids]
        i = (torch.rand(b, generator=g) * n).long().clamp(max=n - 1)
        # A distinct second frame: i + an offset in [1, n-1], wrapped.
        j = (i + 1 + (torch.rand(b, generator=g) * (n - 1)).long().clamp(max=n - 2)) % n
        flip = torch.rand(b, generator=g) < 0.5
        src = torch.stack([self.frames[v][a] for v, a in zip(vids.tolist(), i.tolist())])
        drv = torch.stack([self.frames[v][a] for v, a in zip(vids.tolist(), j.tolist())])
        lm_src = lm_drv = None
        if self.landmarks is not None:
            lm_src = torch.stack([self.landmarks[v][a] for v, a in zip(vids.tolist(), i.tolist())])
            lm_drv = torch.stack([self.landmarks[v][a] for v, a in zip(vids.tolist(), j.tolist())])
        if self.hflip:
            # The same flip for both frames of a pair, so the motion stays consistent.
            src = torch.where(flip[:, None, None, None], src.flip(2), src)
            drv = torch.where(flip[:, None, None, None], drv.flip(2), drv)
            if lm_src is not None:
                lm_src = torch.where(flip[:, None, None], flip_landmarks(lm_src), lm_src)
                lm_drv = torch.where(flip[:, None, None], flip_landmarks(lm_drv), lm_drv)
        to_dev = (lambda t: None if t is None else t.to(self.device))
        return to_float(src, self.device), to_float(drv, self.device), to_dev(lm_src), to_dev(lm_drv)


def flip_landmarks(landmarks: torch.Tensor) -> torch.Tensor:
    """Landmarks [..., 68, 2] in [-1, 1] coordinates of the horizontally flipped frame: x -> -x,
    and each point takes its mirror partner's index (the subject's right eye becomes the left)."""
    flipped = landmarks[..., torch.from_numpy(FLIP_PERMUTATION), :].clone()
    flipped[..., 0] = -flipped[..., 0]
    return flipped


def to_float(frames: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 [B, H, W, 3] -> float [B, 3, H, W] in [0, 1] on ``device`` (converted there)."""
    return frames.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255)
