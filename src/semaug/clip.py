"""The cached clip: one face video as aligned crops plus 68 landmarks per frame.

Every stage that writes frames (face crops, synthetic videos, classic augmentation) writes
this format, so every stage that reads frames reads one format:

    <name>.npz   frames     uint8   [T, H, W, 3]   RGB face crops
                 landmarks  float32 [T, 68, 2]     (x, y) in crop pixel coordinates
                 meta       str                    JSON: free-form provenance
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .ibug import N_LANDMARKS


@dataclass
class Clip:
    frames: np.ndarray  # uint8 [T, H, W, 3]
    landmarks: np.ndarray  # float32 [T, 68, 2], crop pixel coordinates
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_clip(self.frames, self.landmarks)

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the frames."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])


def validate_clip(frames: np.ndarray, landmarks: np.ndarray) -> None:
    """Raise ValueError naming what is wrong with a (frames, landmarks) pair."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [T,H,W,3], got {frames.dtype} {frames.shape}")
    if frames.shape[0] < 1:
        raise ValueError("a clip needs at least one frame")
    if landmarks.shape != (frames.shape[0], N_LANDMARKS, 2):
        raise ValueError(
            f"landmarks must be [T,{N_LANDMARKS},2] with T={frames.shape[0]}, got {landmarks.shape}"
        )


def save_clip(path: str | os.PathLike, clip: Clip) -> Path:
    """Write a clip atomically (temp file + rename), so a killed job never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            frames=np.ascontiguousarray(clip.frames, dtype=np.uint8),
            landmarks=np.ascontiguousarray(clip.landmarks, dtype=np.float32),
            meta=np.array(json.dumps(clip.meta)),
        )
    os.replace(tmp, path)
    return path


def load_clip(path: str | os.PathLike, *, landmarks_only: bool = False) -> Clip:
    """Read a clip written by :func:`save_clip`. ``landmarks_only`` skips decoding the frames
    (returns a [T,1,1,3] zero placeholder) for stages that only need the motion."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            landmarks = data["landmarks"].astype(np.float32)
            if landmarks_only:
                frames = np.zeros((landmarks.shape[0], 1, 1, 3), dtype=np.uint8)
            else:
                frames = data["frames"]
            meta = json.loads(str(data["meta"])) if "meta" in data else {}
    except FileNotFoundError:
        raise FileNotFoundError(f"clip file {path} does not exist; rebuild it with snakemake") from None
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"clip file {path} is unreadable ({err}); delete it and rerun") from err
    return Clip(frames=frames, landmarks=landmarks, meta=meta)


def is_valid_clip(path: str | os.PathLike) -> bool:
    """True when ``path`` holds a complete, readable clip (used to resume interrupted stages)."""
    try:
        load_clip(path, landmarks_only=True)
    except (FileNotFoundError, ValueError):
        return False
    return True
