"""Landmark backends: where a video's 68 landmarks per frame come from.

- `dataset`: the landmark files shipped with the data (`semaug.datasets.read_landmarks`);
- `face_alignment`: the FAN detector + landmark network (`semaug.faces.fan`);
- `none`: frames are already face crops; nothing is measured (crops get the template).

A backend's ``track(row, frames)`` returns a :class:`FaceTrack` in image coordinates, or None
when the frames need no alignment (`none`). Problems with one video raise
:class:`VideoRejected`, which the crop stage records and moves on from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from scipy.interpolate import interp1d

from ..ibug import N_LANDMARKS

# What reading a video's files can raise: missing or corrupt files (OSError, PIL's
# UnidentifiedImageError), bad content (ValueError), ffmpeg failures (VideoError).
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, RuntimeError, EOFError)


class VideoRejected(Exception):
    """This video cannot be cropped; the message is the reason written to the rejects table."""


@dataclass(frozen=True)
class FaceTrack:
    landmarks: np.ndarray  # float32 [T, 68, 2] image coordinates, missing frames filled in
    missing: tuple[int, ...]  # frames without a measurement (interpolated, or all if none found)
    source: str  # what measured them: "dataset" | "face_alignment"

    @property
    def found_any(self) -> bool:
        return len(self.missing) < len(self.landmarks)


class LandmarkBackend(Protocol):
    name: str

    def track(self, row: pd.Series, frames: np.ndarray) -> FaceTrack | None:
        """Landmarks of frames uint8 [T, H, W, 3], or None when the frames are the crops."""
        ...


def fill_missing(landmarks: np.ndarray, source: str) -> FaceTrack:
    """Interpolate frames whose landmarks are not finite from the measured frames around them.

    Gaps between measured frames are filled linearly; leading/trailing gaps repeat the
    nearest measured frame. landmarks: [T, 68, 2] with NaN rows for missing frames.
    """
    landmarks = np.asarray(landmarks, dtype=np.float32)
    found = np.isfinite(landmarks).all(axis=(1, 2))
    missing = tuple(int(i) for i in np.flatnonzero(~found))
    if found.all() or not found.any():
        return FaceTrack(landmarks, missing, source)
    times = np.flatnonzero(found)
    measured = landmarks[found]
    fill = interp1d(times, measured, axis=0, bounds_error=False,
                    fill_value=(measured[0], measured[-1]), assume_sorted=True)
    filled = landmarks.copy()
    filled[~found] = fill(np.flatnonzero(~found))
    return FaceTrack(filled, missing, source)


def dataset_loaders():  # noqa: ANN201 - returns the semaug.datasets module
    # Imported when first used so that the faces package loads without the loaders.
    from .. import datasets

    return datasets


class DatasetBackend:
    """Landmarks from the files shipped with the dataset (e.g. CK+ `Landmarks/`)."""

    name = "dataset"

    def track(self, row: pd.Series, frames: np.ndarray) -> FaceTrack:
        try:
            landmarks = dataset_loaders().read_landmarks(row)
        except READ_ERRORS as err:
            raise VideoRejected(f"cannot read the landmark files: {err}") from err
        if landmarks is None:
            raise VideoRejected(
                f"video {row['video_id']} has no landmark files in the dataset "
                f"(landmarks_source={row.get('landmarks_source')!r}); set `landmarks: "
                "face_alignment` for this dataset to detect them")
        landmarks = np.asarray(landmarks, dtype=np.float32)
        if landmarks.shape != (len(frames), N_LANDMARKS, 2):
            raise VideoRejected(f"landmark files give shape {landmarks.shape} for "
                                f"{len(frames)} frames (expected [{len(frames)},68,2])")
        return fill_missing(landmarks, self.name)


class TemplateBackend:
    """`none`: the frames are already face crops; they are resized and get the template."""

    name = "none"

    def track(self, row: pd.Series, frames: np.ndarray) -> None:
        return None


BACKENDS = ("dataset", "face_alignment", "none")


def make_backend(name: str, *, device: str = "auto", batch_size: int = 32) -> LandmarkBackend:
    """The backend registered as ``name`` (the dataset's `landmarks` config key)."""
    if name == "dataset":
        return DatasetBackend()
    if name == "none":
        return TemplateBackend()
    if name == "face_alignment":
        from .fan import FaceAlignmentBackend

        return FaceAlignmentBackend(device=device, batch_size=batch_size)
    raise ValueError(f"unknown landmarks backend {name!r}; expected one of {', '.join(BACKENDS)}")
