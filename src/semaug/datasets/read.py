"""Reading the frames and shipped landmarks of one index row (a pandas Series or a dict with
the index columns), whatever the format it came from."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..video import read_video
from .base import DatasetError
from .files import list_frames
from .frames import read_images, read_landmark_files


def read_frames(row: Mapping[str, Any] | pd.Series) -> np.ndarray:
    """uint8 [T, H, W, 3] RGB frames of a sequence, in frame-number order."""
    source = Path(row["source"])
    if source.is_dir():
        frames = list_frames(source)
        if not frames:
            raise DatasetError(f"{source} holds no frame images; rebuild the index")
        return read_images(frames)
    if source.is_file():
        return read_video(source)[0]
    raise DatasetError(f"{source} of video {row['video_id']} does not exist; rebuild the index")


def read_landmarks(row: Mapping[str, Any] | pd.Series) -> np.ndarray | None:
    """float32 [T, 68, 2] landmarks in image pixel coordinates from the files shipped with
    the dataset, or None when the row has none (``landmarks_source`` empty)."""
    folder = row.get("landmarks_source")
    if folder is None or pd.isna(folder) or str(folder) == "":
        return None
    source = Path(row["source"])
    if not source.is_dir():
        raise DatasetError(f"{source} is not a frame folder: landmark files pair with frame files")
    return read_landmark_files(Path(folder), list_frames(source))
