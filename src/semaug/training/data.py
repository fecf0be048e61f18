"""Frames resident on the training device as uint8, and the on-device batch pipeline.

A fold's clips are decoded once into one uint8 tensor (on the GPU when there is one); a batch
is then an index gather plus one fused normalise + augment step on the device, so the
accelerator never waits on file decoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from ..clip import load_clip
from ..models._base import IMAGENET_MEAN, IMAGENET_STD
from .config import Augment


@dataclass
class FrameSet:
    """Samples (one per frame of each table row) over a store of distinct frames."""

    store: Tensor  # uint8 [M, 3, S, S]: each distinct frame once, on the device
    index: Tensor  # int64 [N]: sample → row of store (a clip listed twice is stored once)
    labels: Tensor  # int64 [N]
    video: Tensor  # int64 [N]: sample → row of the table it came from
    video_ids: list[str]
    video_labels: list[int]
    frame_numbers: list[int]  # [N] frame position within its clip

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @property
    def device(self) -> torch.device:
        return self.store.device


def select_frames(n_frames: int, frames: int | str) -> range:
    """Which frames of a clip are used: all, or the last k (the expression's apex)."""
    if frames == "all":
        return range(n_frames)
    return range(max(0, n_frames - int(frames)), n_frames)


def to_device_uint8(frames_thwc, image_size: int, device: torch.device) -> Tensor:  # noqa: ANN001
    """uint8 [T, H, W, 3] numpy → uint8 [T, 3, S, S] on ``device`` (resized there if needed)."""
    x = torch.from_numpy(frames_thwc).to(device).permute(0, 3, 1, 2)  # [T, 3, H, W]
    if x.shape[-2:] != (image_size, image_size):
        x = F.interpolate(x.float(), size=(image_size, image_size), mode="bilinear",
                          antialias=True, align_corners=False)
        x = x.round().clamp_(0, 255).to(torch.uint8)
    return x.contiguous()


def load_frameset(
    table: pd.DataFrame,
    classes: Sequence[str],
    *,
    frames: int | str,
    image_size: int,
    device: torch.device | str = "cpu",
) -> FrameSet:
    """Decode the clips of ``table`` (columns ``video_id, path, label``) once, onto ``device``."""
    device = torch.device(device)
    class_index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(table["label"]) - set(class_index))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {list(classes)}")
    chunks: list[Tensor] = []
    span: dict[str, tuple[int, list[int]]] = {}  # clip path → (first store row, frames kept)
    n_stored = 0
    index: list[int] = []
    labels: list[int] = []
    video: list[int] = []
    numbers: list[int] = []
    for row_no, row in enumerate(table.itertuples(index=False)):
        path = str(row.path)
        if path not in span:
            clip = load_clip(path)
            keep = list(select_frames(clip.n_frames, frames))
            chunks.append(to_device_uint8(clip.frames[keep], image_size, device))
            span[path] = (n_stored, keep)
            n_stored += len(keep)
        start, keep = span[path]
        index.extend(range(start, start + len(keep)))
        labels.extend([class_index[row.label]] * len(keep))
        video.extend([row_no] * len(keep))
        numbers.extend(keep)
    if not chunks:
        raise ValueError("no clips to load: the table is empty")
    return FrameSet(
        store=torch.cat(chunks),
        index=torch.tensor(index, dtype=torch.long, device=device),
        labels=torch.tensor(labels, dtype=torch.long, device=device),
        video=torch.tensor(video, dtype=torch.long, device=device),
        video_ids=[str(v) for v in table["video_id"]],
        video_labels=[class_index[lab] for lab in table["label"]],
        frame_numbers=numbers,
    )


class BatchPipeline:
    """uint8 frames → normalised float32 images, with train-time augmentation, on the device.

    Augmentation parameters are drawn on the CPU from the job's generator (``draw``), one row
    per sample and epoch, so a resumed or repeated run sees the same augmentations; applying
    them is one batched affine warp (flip · zoom · shift) on the device.
    """

    def __init__(self, device: torch.device, augment: Augment | None = None,
                 channels_last: bool = False) -> None:
        self.augment = augment if augment is not None and augment.enabled else None
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
        self.inv_std = 1 / (torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255)
        self.channels_last = channels_last

    def draw(self, n: int, generator: torch.Generator) -> Tensor:
        """Per-sample augmentation parameters: float32 [n, 4] = (flip sign, scale, tx, ty)."""
        u = torch.rand(n, 4, generator=generator)
        a = self.augment or Augment(0, 0, 0)
        flip = torch.where(u[:, 0] < a.hflip, -1.0, 1.0)
        scale = 1 + a.scale * (2 * u[:, 1] - 1)
        shift = a.shift * 2 * (2 * u[:, 2:] - 1)  # grid coordinates span 2 per image side
        return torch.cat([flip[:, None], scale[:, None], shift], dim=1)

    def __call__(self, frames: Tensor, params: Tensor | None = None) -> Tensor:
        """frames uint8 [B, 3, S, S] (+ params [B, 4] to augment) → float32 [B, 3, S, S]."""
        x = (frames.float() - self.mean) * self.inv_std
        if params is not None and self.augment is not None:
            b = x.shape[0]
            theta = torch.zeros(b, 2, 3, device=x.device)  # output → input sampling grid
            theta[:, 0, 0] = params[:, 0] / params[:, 1]
            theta[:, 1, 1] = 1 / params[:, 1]
            theta[:, :, 2] = params[:, 2:]
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x
