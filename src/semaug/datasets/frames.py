"""Frame images, video frame counts and per-frame landmark files: checking them at index
time and reading them afterwards. Every error names the file it is about."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..ibug import N_LANDMARKS
from ..video import PASSTHROUGH, VideoError, ffmpeg_exe, probe
from .base import DatasetError
from .files import list_dir

# What PIL raises on truncated or corrupt image data (UnidentifiedImageError is an OSError).
_IMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


class FrameError(DatasetError):
    """A frame, video or landmark file that cannot be used; the message names the file."""


class MissingLandmarks(FrameError):
    """A frame has no landmark file."""


def check_image(path: Path) -> tuple[int, int]:
    """Decode ``path`` completely enough to catch truncation; returns its (width, height)."""
    try:
        with Image.open(path) as image:
            size, kind = image.size, image.format
            if kind == "PNG":
                # load() accepts a PNG cut after its last pixel row; verify() checks every
                # chunk's CRC up to IEND (and leaves the image unusable, hence the reopen).
                image.verify()
            else:
                if kind == "JPEG":
                    # Decoding at 1/8 scale still reads every entropy-coded byte, so a truncated
                    # file still fails, at a fraction of the cost of a full decode.
                    image.draft(image.mode, (max(1, size[0] // 8), max(1, size[1] // 8)))
                image.load()
        if kind == "PNG":
            with Image.open(path) as image:
                image.load()
    except _IMAGE_ERRORS as err:
        raise FrameError(f"{path} ({err})") from err
    return size


def read_image(path: Path) -> np.ndarray:
    """uint8 [H, W, 3] RGB: greyscale (8 or 16 bit) and palette images expanded, alpha
    dropped."""
    try:
        with Image.open(path) as image:
            if image.mode.startswith("I;16"):
                # PIL's convert() clips 16-bit greyscale at 255; keep the high byte instead.
                grey = (np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8)
                return np.repeat(grey[..., None], 3, axis=-1)
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except _IMAGE_ERRORS as err:
        raise FrameError(f"{path} ({err})") from err


_TO_RGB = {1: cv2.COLOR_GRAY2RGB, 3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGB}


def _decode(path: Path) -> np.ndarray | None:
    """uint8 [H, W, C] as stored (greyscale stays one channel: expanding it is the cheaper
    cvtColor), or None when OpenCV cannot read the file or it is not 8-bit."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.dtype != np.uint8:
        return None
    return image[..., None] if image.ndim == 2 else image


def read_images(frames: list[Path]) -> np.ndarray:
    """uint8 [T, H, W, 3] RGB from frame files of one size.

    OpenCV decodes straight into one preallocated array (PIL's convert + stack costs about as
    much again as the decoding); PIL reads what OpenCV cannot (palette, odd formats).
    """
    video: np.ndarray | None = None
    for t, frame in enumerate(frames):
        bgr = _decode(frame)
        image = read_image(frame) if bgr is None or bgr.shape[2] not in _TO_RGB else None
        shape = (*bgr.shape[:2], 3) if image is None else image.shape
        if video is None:
            video = np.empty((len(frames), *shape), dtype=np.uint8)
        elif shape != video.shape[1:]:
            raise FrameError(f"{frame} is {shape[1]}x{shape[0]} but {frames[0]} is "
                             f"{video.shape[2]}x{video.shape[1]}")
        if image is None:
            cv2.cvtColor(bgr, _TO_RGB[bgr.shape[2]], dst=video[t])
        else:
            video[t] = image
    if video is None:
        raise FrameError("no frames to read")
    return video


def count_video_frames(path: Path) -> tuple[int, float]:
    """(frame count, fps) of a video, decoding every frame.

    Decodes the way :func:`semaug.video.read_video` does (same binary, same raw output) but
    scaled down to a few pixels, so the count matches what reading will give without holding a
    long high-resolution video in memory.
    """
    import ffmpeg

    try:
        _, _, fps = probe(path)
        out, _ = (
            ffmpeg.input(str(path))
            .output("pipe:", format="rawvideo", pix_fmt="gray", vf="scale=4:4", **PASSTHROUGH)
            .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True, quiet=True)
        )
    except VideoError as err:
        raise FrameError(str(err)) from err
    except ffmpeg.Error as err:
        tail = (err.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
        raise FrameError(f"ffmpeg could not decode {path}: {' '.join(tail)}") from err
    return len(out) // 16, fps


def _landmark_file(folder: Path, names: set[str], frame: Path) -> Path | None:
    """The landmark file of ``frame`` among ``names`` (the listing of ``folder``):
    ``<stem>_landmarks.txt`` as CK+ names them, or ``<stem>.txt`` as side files are named."""
    for name in (f"{frame.stem}_landmarks.txt", f"{frame.stem}.txt"):
        if name in names:
            return folder / name
    return None


def read_landmark_file(path: Path) -> np.ndarray:
    """float32 [68, 2] from a file of 68 lines ``x y`` (plain or e-notation numbers)."""
    try:
        text = path.read_text()
    except OSError as err:
        raise FrameError(f"{path} ({err})") from err
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if len(rows) != N_LANDMARKS or any(len(row) != 2 for row in rows):
        raise FrameError(f"{path} has {len(rows)} lines, expected {N_LANDMARKS} lines of 'x y'")
    try:
        points = np.array(rows, dtype=np.float64)
    except ValueError as err:
        raise FrameError(f"{path} holds a value that is not a number ({err})") from err
    if not np.isfinite(points).all():
        raise FrameError(f"{path} holds a non-finite coordinate")
    return points.astype(np.float32)


def read_landmark_files(folder: Path, frames: list[Path]) -> np.ndarray:
    """float32 [T, 68, 2]: the landmark file of every frame, in frame order."""
    if not frames:
        raise FrameError(f"landmark files in {folder} pair with frame files, and there are none")
    names = {f.name for f in list_dir(folder)[1]} if folder.is_dir() else set()
    points = []
    for frame in frames:
        path = _landmark_file(folder, names, frame)
        if path is None:
            raise MissingLandmarks(
                f"no landmark file for frame {frame}: neither "
                f"{folder / (frame.stem + '_landmarks.txt')} nor {frame.stem}.txt exists"
            )
        points.append(read_landmark_file(path))
    return np.stack(points)
