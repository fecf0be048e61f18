"""Frames resident on the training device as uint8, and the on-device batch pipeline.

A fold's clips are decoded once into one uint8 tensor (on the GPU when there is one); a batch
is then an index gather plus one fused normalise + augment step on the device, so the
accelerator never waits on file decoding. A sample is one frame (frame classifiers) or one
clip of T frames of a video (clip classifiers): the same store, indexed by [N] or [N, T].
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
    """Samples over a store of distinct frames: one per frame of each table row, or (clips)
    one per row, T frames each."""

    store: Tensor  # uint8 [M, 3, S, S]: each distinct frame once, on the device
    index: Tensor  # int64 [N] (frames) or [N, T] (clips): sample → rows of store
    labels: Tensor  # int64 [N]
    video: Tensor  # int64 [N]: sample → row of the table it came from
    video_ids: list[str]
    video_labels: list[int]
    frame_numbers: list[int]  # [N] frame position within its clip (-1 for clip samples)

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @property
    def device(self) -> torch.device:
        return self.store.device

    @property
    def clips(self) -> bool:
        """True when a sample is a clip [T, 3, S, S] rather than a frame."""
        return self.index.dim() == 2


def select_frames(n_frames: int, frames: int | str) -> range:
    """Which frames of a clip are used: all, or the last k (the expression's apex)."""
    if frames == "all":
        return range(n_frames)
    return range(max(0, n_frames - int(frames)), n_frames)


def clip_indices(n_frames: int, clip_frames: int) -> list[int]:
    """The T = ``clip_frames`` frames of a clip sample: the first (neutral) and the last (apex)
    always, the others evenly spaced between them; a video shorter than T repeats frames."""
    if n_frames < 1:
        raise ValueError("a clip needs at least one frame")
    step = (n_frames - 1) / (clip_frames - 1)
    return [int(i * step + 0.5) for i in range(clip_frames)]  # nearest frame, halves round up


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
    clip_frames: int | None = None,
) -> FrameSet:
    """Decode the clips of ``table`` (columns ``video_id, path, label``) once, onto ``device``.

    Frame samples (``frames``: all, or the last k of each video) by default; with
    ``clip_frames`` = T, one clip sample per row, its frames chosen by :func:`clip_indices`.
    """
    device = torch.device(device)
    class_index = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(table["label"]) - set(class_index))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {list(classes)}")
    chunks: list[Tensor] = []
    # clip path → (store rows of the frames used, their frame numbers): stored once per path
    span: dict[str, tuple[list[int], list[int]]] = {}
    n_stored = 0
    index: list[int] | list[list[int]] = []
    labels: list[int] = []
    video: list[int] = []
    numbers: list[int] = []
    for row_no, row in enumerate(table.itertuples(index=False)):
        path = str(row.path)
        if path not in span:
            clip = load_clip(path)
            if clip.n_frames == 0:
                raise ValueError(f"clip file {path} has no frames; delete it and rerun")
            if clip_frames:
                used = clip_indices(clip.n_frames, clip_frames)
            else:
                used = list(select_frames(clip.n_frames, frames))
            distinct = sorted(set(used))  # a short video repeats frames: store each once
            chunks.append(to_device_uint8(clip.frames[distinct], image_size, device))
            row_of = {f: n_stored + i for i, f in enumerate(distinct)}
            span[path] = ([row_of[f] for f in used], used)
            n_stored += len(distinct)
        rows, used = span[path]
        if clip_frames:  # one sample: the whole clip
            index.append(rows)
            labels.append(class_index[row.label])
            video.append(row_no)
            numbers.append(-1)
        else:  # one sample per frame
            index.extend(rows)
            labels.extend([class_index[row.label]] * len(rows))
            video.extend([row_no] * len(rows))
            numbers.extend(used)
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
    """uint8 frames or clips → normalised float32, with train-time augmentation, on the device.

    Augmentation parameters are drawn on the CPU from the job's generator (``draw``), one row
    per sample and epoch, so a resumed or repeated run sees the same augmentations; applying
    them is one batched affine warp (flip · zoom · shift) on the device. A clip sample's
    frames share its row, so a clip is flipped, zoomed and shifted as a whole.
    ``mean``/``std``: the model's normalisation (RGB, [0, 1] scale; ImageNet by default).
    """

    def __init__(self, device: torch.device, augment: Augment | None = None,
                 channels_last: bool = False, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        self.augment = augment if augment is not None and augment.enabled else None
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255
        self.inv_std = 1 / (torch.tensor(std, device=device).view(1, 3, 1, 1) * 255)
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
        """frames uint8 [B, 3, S, S] or clips [B, T, 3, S, S] (+ params [B, 4] to augment)
        → float32 of the same shape."""
        if frames.dim() == 5:  # clips: warp their B·T frames, each with its clip's parameters
            b, t = frames.shape[:2]
            flat = None if params is None else params.repeat_interleave(t, dim=0)
            return self.normalise(frames.flatten(0, 1), flat).view(b, t, *frames.shape[2:])
        x = self.normalise(frames, params)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def normalise(self, frames: Tensor, params: Tensor | None) -> Tensor:
        """uint8 [N, 3, S, S] (+ params [N, 4]) → normalised, augmented float32 [N, 3, S, S]."""
        x = (frames.float() - self.mean) * self.inv_std
        if params is not None and self.augment is not None:
            b = x.shape[0]
            theta = torch.zeros(b, 2, 3, device=x.device)  # output → input sampling grid
            theta[:, 0, 0] = params[:, 0] / params[:, 1]
            theta[:, 1, 1] = 1 / params[:, 1]
            theta[:, :, 2] = params[:, 2:]
            grid = F.affine_grid(theta, list(x.shape), align_corners=False)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return x
