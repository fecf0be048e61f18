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
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_path
from .ibug import N_LANDMARKS


class ClipError(ValueError):
    """A cached clip that cannot be read (truncated, corrupt, not a clip). The message is one
    line naming the file and the fix: delete it and rerun."""


# What numpy's npz reader raises on a truncated or damaged file: the zip directory
# (BadZipFile), a member's deflate stream (zlib.error, EOFError), the .npy header (ValueError).
_READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


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
    """Write a clip atomically (temp file + rename), so a killed job never leaves half a file;
    a full disk raises an OSError naming ``path`` and leaves nothing behind."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            frames=np.ascontiguousarray(clip.frames, dtype=np.uint8),
            landmarks=np.ascontiguousarray(clip.landmarks, dtype=np.float32),
            meta=np.array(json.dumps(clip.meta)),
        )
    return path


def load_clip(path: str | os.PathLike, *, landmarks_only: bool = False) -> Clip:
    """Read a clip written by :func:`save_clip`. ``landmarks_only`` skips decoding the frames
    (returns a [T,1,1,3] zero placeholder) for stages that only need the motion.

    Raises FileNotFoundError for a missing file and :class:`ClipError` (one line: the file, what
    is wrong, "delete it and rerun") for a truncated, corrupt or foreign one.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"clip file {path} does not exist; rebuild it with snakemake")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("a .npy array, not an npz clip")
            landmarks = data["landmarks"].astype(np.float32)
            if landmarks_only:
                frames = np.zeros((landmarks.shape[0], 1, 1, 3), dtype=np.uint8)
            else:
                frames = data["frames"]
            meta = json.loads(str(data["meta"])) if "meta" in data else {}
        return Clip(frames=frames, landmarks=landmarks, meta=meta)
    except _READ_ERRORS as err:
        raise ClipError(
            f"clip file {path} is unreadable ({_one_line(err)}): delete it and rerun snakemake "
            f"with `--forcerun {_writer_rule(path)}`"
        ) from err


def _writer_rule(path: Path) -> str:
    """The rule that rewrites a deleted clip (clips are not declared outputs, so a plain rerun
    would not notice one is gone); the two directory names are fixed in semaug.layout."""
    parts = path.parts
    if "synthetic" in parts:
        return "synthesize"
    if "faces" in parts and "clips" in parts:
        return "crop_faces"
    return "<the rule that wrote it>"


def _one_line(err: BaseException) -> str:
    """The error as one short line (numpy and zipfile messages can span several)."""
    text = " ".join(str(err).split()) or type(err).__name__
    name = type(err).__name__
    text = text if text.startswith(name) else f"{name}: {text}"
    return text if len(text) <= 160 else text[:157] + "..."


def is_valid_clip(path: str | os.PathLike) -> bool:
    """True when ``path`` holds a complete, readable clip (used to resume interrupted stages).

    Decodes the frames too: reading a whole zip member checks its CRC, so a damaged clip is
    made again instead of being trusted."""
    try:
        load_clip(path)
    except (FileNotFoundError, ClipError):
        return False
    return True
