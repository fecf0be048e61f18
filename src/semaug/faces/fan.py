"""The `face_alignment` backend: S3FD face detector + 2D FAN landmarks (face-alignment package).

face-alignment loads its weights from the torch hub cache ($TORCH_HOME/hub/checkpoints/) and
downloads them there when absent. Offline, that download fails; the error raised here then
names each missing file and where to put it.

torch and face_alignment are imported inside the functions: a shard that uses another
backend should not pay for loading them.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from ..ibug import N_LANDMARKS
from .track import FaceTrack, fill_missing

log = logging.getLogger("semaug.faces")

FAN_NETWORK = "2DFAN-4"  # face-alignment's name for the 2D landmark network it loads
DETECTOR = "sfd"  # S3FD, face-alignment's default detector


class FaceModelUnavailable(Exception):
    """face-alignment's weights are neither cached nor downloadable (a set-up problem)."""


def resolve_device(device: str) -> str:
    """`auto` -> `cuda` when a GPU is visible, else `cpu`; other values pass through."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def weight_files() -> list[tuple[str, Path]]:
    """(url, cache path) of every weight file face-alignment loads for the 2D FAN + S3FD."""
    import torch
    from face_alignment.api import models_urls as fan_urls
    from face_alignment.detection.sfd.sfd_detector import models_urls as detector_urls

    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    urls = [detector_urls["s3fd"], fan_urls[FAN_NETWORK]]
    return [(url, checkpoints / Path(urlparse(url).path).name) for url in urls]


def save_random_weights(checkpoints: Path | None = None, seed: int = 0) -> list[Path]:
    """Randomly initialised S3FD and 2D-FAN-4 weights, saved under the cache names
    face-alignment loads (``checkpoints``: default the torch hub cache), for wiring tests and
    speed benchmarks where the real weights cannot be downloaded. S3FD's face/background heads
    answer "background" everywhere, so detection costs its full forward pass but finds nothing
    (random heads would hand thousands of random boxes to its post-processing)."""
    import torch
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    paths = [path if checkpoints is None else Path(checkpoints) / path.name
             for _, path in weight_files()]
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    detector = s3fd().state_dict()
    for name in [n for n in detector if "_mbox_conf." in n]:
        if name.endswith(".weight"):
            detector[name].zero_()
        else:  # bias: background logits +10, face logit -10 (the last channel)
            detector[name].fill_(10.0)
            detector[name][-1] = -10.0
    torch.save(detector, paths[0])
    torch.save(FAN(4).state_dict(), paths[1])
    return paths


def load_face_alignment(device: str) -> Any:
    """face_alignment.FaceAlignment (2D, S3FD), loading or downloading its weights."""
    import face_alignment

    try:
        return face_alignment.FaceAlignment(
            face_alignment.LandmarksType.TWO_D, device=device, face_detector=DETECTOR,
            flip_input=True,
            # torch.compile would add a compile warm-up to every shard job and write its cache
            # under ~/.cache/face_alignment; eager mode keeps jobs self-contained.
            compile=False)
    except Exception as err:
        missing = [(url, path) for url, path in weight_files() if not path.is_file()]
        if not missing:
            raise
        wanted = "\n".join(f"  {path}  <-  {url}" for url, path in missing)
        raise FaceModelUnavailable(
            f"face-alignment could not load its model weights ({type(err).__name__}: {err}). "
            f"Download these files on a machine with internet access and put them at:\n{wanted}\n"
            "(the folder is $TORCH_HOME/hub/checkpoints, ~/.cache/torch/hub/checkpoints by "
            "default), or set this dataset's `landmarks: dataset` (landmark files shipped with "
            "the data) or `landmarks: none` (frames are already face crops).") from err


def largest_face(boxes: list[np.ndarray]) -> int:
    """Index of the largest detected box [x1, y1, x2, y2, score] (the subject, not a bystander)."""
    areas = [(box[2] - box[0]) * (box[3] - box[1]) for box in boxes]
    return int(np.argmax(areas))


class FaceAlignmentBackend:
    """Detect the face and its 68 landmarks in every frame, `batch_size` frames at a time."""

    name = "face_alignment"

    def __init__(self, device: str = "auto", batch_size: int = 32) -> None:
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The FaceAlignment object, loaded on first use (a fully resumed shard never loads it)."""
        if self._model is None:
            if self.device == "cpu":
                log.warning("face_alignment runs on the CPU: expect about a second per frame")
            self._model = load_face_alignment(self.device)
        return self._model

    def detect(self, frames: np.ndarray) -> np.ndarray:
        """Landmarks of the largest face per frame, float32 [T, 68, 2]; NaN where none found."""
        import torch

        landmarks = np.full((len(frames), N_LANDMARKS, 2), np.nan, dtype=np.float32)
        for start in range(0, len(frames), self.batch_size):
            # uint8 [B, 3, H, W] on the CPU: the detector moves the batch to the device itself,
            # and FAN then crops each frame from this CPU copy.
            batch = torch.from_numpy(np.ascontiguousarray(frames[start:start + self.batch_size]))
            batch = batch.permute(0, 3, 1, 2)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="No faces were detected")
                points, _, boxes = self.model.get_landmarks_from_batch(batch, return_bboxes=True)
            for offset, (frame_points, frame_boxes) in enumerate(zip(points or [], boxes or [])):
                if len(frame_boxes) == 0:
                    continue
                face = largest_face(frame_boxes)
                block = np.asarray(frame_points)[face * N_LANDMARKS:(face + 1) * N_LANDMARKS, :2]
                landmarks[start + offset] = block
        return landmarks

    def track(self, row: pd.Series, frames: np.ndarray) -> FaceTrack:
        return fill_missing(self.detect(frames), self.name)
