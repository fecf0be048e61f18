"""What every landmark backend returns (and raises): a video's landmarks with its missing
frames interpolated, the rejection of one video, and the backend protocol.

Kept apart from `backends` (which builds the backends) so the backend modules (`fan`,
`dlib_landmarks`) import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from scipy.interpolate import interp1d

# What reading a video's files can raise: missing or corrupt files (OSError, PIL's
# UnidentifiedImageError), bad content (ValueError), ffmpeg failures (VideoError).
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, RuntimeError, EOFError)


class VideoRejected(Exception):
    """This video cannot be cropped; the message is the reason written to the rejects table."""


@dataclass(frozen=True)
class FaceTrack:
    landmarks: np.ndarray  # float32 [T, 68, 2] image coordinates, missing frames filled in
    missing: tuple[int, ...]  # frames without a measurement (interpolated, or all if none found)
    source: str  # what measured them: "dataset" | "face_alignment" | "dlib"

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
