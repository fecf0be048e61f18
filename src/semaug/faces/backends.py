"""Landmark backends: where a video's 68 landmarks per frame come from.

- `dataset`: the landmark files shipped with the data (`semaug.datasets.read_landmarks`);
- `face_alignment`: the FAN detector + landmark network (`semaug.faces.fan`);
- `dlib`: dlib's HOG (or MMOD CNN) detector + 68-point shape predictor, tracked between frames
  (`semaug.faces.dlib_landmarks`); offline, a few milliseconds a frame on a CPU;
- `none`: frames are already face crops; nothing is measured (crops get the template).

A backend's ``track(row, frames)`` returns a :class:`FaceTrack` in image coordinates, or None
when the frames need no alignment (`none`). Problems with one video raise
:class:`VideoRejected`, which the crop stage records and moves on from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..ibug import N_LANDMARKS
from .dlib_landmarks import DlibBackend, DlibOptions
from .fan import FaceAlignmentBackend
from .track import READ_ERRORS, FaceTrack, LandmarkBackend, VideoRejected, fill_missing

__all__ = ["BACKENDS", "READ_ERRORS", "DatasetBackend", "FaceTrack", "LandmarkBackend",
           "TemplateBackend", "VideoRejected", "dataset_loaders", "fill_missing", "make_backend"]

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
                f"(landmarks_source={row.get('landmarks_source')!r}); set `landmarks: dlib` "
                "(offline, needs semaug[dlib]) or `landmarks: face_alignment` for this dataset "
                "to detect them")
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


BACKENDS = ("dataset", "face_alignment", "dlib", "none")


def make_backend(name: str, *, device: str = "auto", batch_size: int = 32,
                 dlib_options: DlibOptions | Mapping[str, Any] | None = None) -> LandmarkBackend:
    """The backend registered as ``name`` (the dataset's `landmarks` config key).

    ``dlib_options``: the `faces.dlib` config block (or a DlibOptions), used by `dlib` only.
    """
    if name == "dataset":
        return DatasetBackend()
    if name == "none":
        return TemplateBackend()
    if name == "face_alignment":
        return FaceAlignmentBackend(device=device, batch_size=batch_size)
    if name == "dlib":
        return DlibBackend(DlibOptions.from_config(dlib_options))
    raise ValueError(f"unknown landmarks backend {name!r}; expected one of {', '.join(BACKENDS)}")
