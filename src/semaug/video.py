"""Video decoding and encoding through ffmpeg-python.

The ffmpeg binary is the system one when present, else the one the imageio-ffmpeg wheel
ships, so a pip-only install works. That wheel has no ffprobe: frame size and rate are read
from the metadata imageio-ffmpeg yields when it opens a file.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import numpy as np

# Every stored frame once, none invented: the raw pipe is not a timestamped format, so by
# default ffmpeg would resample a variable-frame-rate video to its nominal rate (duplicating
# frames in its gaps), and the index's frame count and the frames read would depend on timing.
PASSTHROUGH = {"fps_mode": "passthrough"}

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


class VideoError(RuntimeError):
    """A video could not be decoded or encoded; the message names the file."""


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: $SEMAUG_FFMPEG, the system one, or imageio-ffmpeg's."""
    explicit = os.environ.get("SEMAUG_FFMPEG")
    if explicit:
        return explicit
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg
    except ImportError as err:  # pragma: no cover - a dependency of the package
        raise VideoError("no ffmpeg found: install ffmpeg or `pip install imageio-ffmpeg`") from err
    return imageio_ffmpeg.get_ffmpeg_exe()


def probe(path: str | os.PathLike) -> tuple[int, int, float]:
    """(width, height, fps) of a video file, without ffprobe."""
    import imageio_ffmpeg

    path = str(path)
    try:
        reader = imageio_ffmpeg.read_frames(path, pix_fmt="rgb24")
        meta = next(reader)
        reader.close()
    except (RuntimeError, OSError, StopIteration) as err:
        raise VideoError(f"cannot open video {path}: {err}") from err
    width, height = meta["size"]
    return int(width), int(height), float(meta.get("fps") or 25.0)


def read_video(path: str | os.PathLike) -> tuple[np.ndarray, float]:
    """Decode a whole video to uint8 RGB frames [T,H,W,3]; returns (frames, fps)."""
    import ffmpeg

    width, height, fps = probe(path)
    try:
        out, _ = (
            ffmpeg.input(str(path))
            .output("pipe:", format="rawvideo", pix_fmt="rgb24", **PASSTHROUGH)
            .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True, quiet=True)
        )
    except ffmpeg.Error as err:
        tail = (err.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
        raise VideoError(f"ffmpeg could not decode {path}: {' '.join(tail)}") from err
    frame_bytes = width * height * 3
    if len(out) < frame_bytes:
        raise VideoError(f"video {path} holds no decodable frame")
    n = len(out) // frame_bytes
    frames = np.frombuffer(out[: n * frame_bytes], dtype=np.uint8).reshape(n, height, width, 3)
    return frames.copy(), fps


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float = 10.0) -> Path:
    """Encode uint8 RGB frames [T,H,W,3] (or greyscale [T,H,W]) as an H.264 mp4 preview.

    Odd frame sizes are padded to even (libx264 with yuv420p needs even sizes).
    """
    import ffmpeg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = np.repeat(frames[..., None], 3, axis=-1)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [T,H,W,3], got {frames.dtype} {frames.shape}")
    t, h, w, _ = frames.shape
    pad_h, pad_w = h % 2, w % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        h, w = h + pad_h, w + pad_w
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    try:
        (
            ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", r=fps)
            .output(str(tmp), vcodec="libx264", pix_fmt="yuv420p", crf=18, preset="veryfast",
                    movflags="+faststart", loglevel="error")
            .overwrite_output()
            .run(cmd=ffmpeg_exe(), input=np.ascontiguousarray(frames).tobytes(),
                 capture_stdout=True, capture_stderr=True, quiet=True)
        )
    except ffmpeg.Error as err:
        tmp.unlink(missing_ok=True)
        msg = " ".join((err.stderr or b"").decode(errors="replace").split())
        if "No space left on device" in msg:
            raise VideoError(f"no space left on device while writing {path}: nothing was "
                             f"written there; free space and rerun") from err
        raise VideoError(f"ffmpeg could not encode {path}: {msg}") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path
