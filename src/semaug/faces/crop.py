"""The faces stage: aligned crops + landmarks per video, cached as clips, in shards.

Each shard job takes a stable slice of the index (sorted video ids, i % n_shards == shard),
writes `{video_id}.npz` (semaug.clip) and an mp4 preview per video, and skips videos whose
clip (made with the same settings) and preview are already there, so a killed job resumes
where it stopped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..atomic import write_csv
from ..clip import Clip, is_valid_clip, load_clip, save_clip
from ..ibug import N_LANDMARKS
from ..video import write_video
from .align import SMOOTH_SIGMA_FRAMES, align_video, resize_video, template_landmarks
from .backends import (READ_ERRORS, LandmarkBackend, VideoRejected, dataset_loaders,
                       make_backend)

log = logging.getLogger("semaug.faces")

OUTPUT_COLUMNS = ["path", "preview", "n_missing"]
REJECT_COLUMNS = ["video_id", "item", "reason"]
LANDMARK_COLOUR = np.array([255, 64, 64], dtype=np.uint8)


@dataclass(frozen=True)
class CroppedVideo:
    clip: Clip
    missing: tuple[int, ...]


def shard_videos(index: pd.DataFrame, shard: int, n_shards: int) -> pd.DataFrame:
    """Rows of ``index`` that belong to ``shard``: sorted video ids, i % n_shards == shard."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is outside 0..{n_shards - 1}")
    ids = index["video_id"].astype(str)
    if ids.duplicated().any():
        raise ValueError(f"duplicate video_id in the index: {sorted(set(ids[ids.duplicated()]))}")
    mine = set(sorted(ids)[shard::n_shards])
    return index[ids.isin(mine)].sort_values("video_id", key=lambda s: s.astype(str))


def clip_settings(row: pd.Series, backend: str, size: int, smooth_sigma: float,
                  backend_settings: dict[str, Any] | None = None, code: str = "") -> dict[str, Any]:
    """What a clip depends on; a cached clip is reused only when these all match.

    ``backend_settings``: the backend's own options that change its landmarks (dlib's);
    ``code``: the rule's library code version (an edited crop is redone, not kept); each is
    left out when empty, so clips made without it keep their cache key.
    """
    settings = {"backend": backend, "size": int(size), "smooth_sigma": float(smooth_sigma),
                "source": str(row["source"]), "n_frames": int(row["n_frames"])}
    if backend_settings:
        settings["backend_settings"] = dict(backend_settings)
    if code:
        settings["code"] = code
    return settings


def landmark_settings(backend: LandmarkBackend) -> dict[str, Any]:
    """The options of ``backend`` that its landmarks depend on ({} for backends without any)."""
    settings = getattr(backend, "settings", None)
    if not callable(settings):
        return {}
    # The number of worker processes changes speed, not which face is found (up to where
    # segments start), so more threads must not invalidate finished clips.
    return {k: v for k, v in settings().items() if k != "threads"}


def crop_video(row: pd.Series, backend: LandmarkBackend, *, size: int, max_missing: float,
               smooth_sigma: float = SMOOTH_SIGMA_FRAMES, code: str = "") -> CroppedVideo:
    """Read one video, find its landmarks, align and crop it. Raises VideoRejected."""
    video_id = str(row["video_id"])
    try:
        frames = np.asarray(dataset_loaders().read_frames(row))
    except READ_ERRORS as err:
        raise VideoRejected(f"cannot read the frames: {err}") from err
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or not len(frames):
        raise VideoRejected(f"frames are {frames.dtype} {frames.shape}, not uint8 [T,H,W,3]")
    n_frames = len(frames)
    meta: dict[str, Any] = {"video_id": video_id, "backend": backend.name, "size": size,
                            "source_size": list(frames.shape[1:3]),
                            "settings": clip_settings(row, backend.name, size, smooth_sigma,
                                                      landmark_settings(backend), code)}
    track = backend.track(row, frames)
    if track is None:  # the frames are the face crops
        crops = resize_video(frames, size)
        landmarks = np.broadcast_to(template_landmarks(size), (n_frames, N_LANDMARKS, 2))
        meta |= {"landmarks": "template", "n_missing": 0, "missing_frames": [],
                 "transform": {"kind": "resize", "interpolation": "area (shrink) / bilinear"}}
        return CroppedVideo(Clip(crops, landmarks.astype(np.float32), meta), ())
    n_missing = len(track.missing)
    if n_missing:
        log.info("%s: no face in %d of %d frames: %s", video_id, n_missing, n_frames,
                 list(track.missing))
    if not track.found_any:
        raise VideoRejected(f"no face found in any of its {n_frames} frames ({track.source})")
    if n_missing / n_frames > max_missing:
        raise VideoRejected(f"no face in {n_missing} of {n_frames} frames "
                            f"({n_missing / n_frames:.0%} > max_missing {max_missing:.0%})")
    try:
        aligned = align_video(frames, track.landmarks, size, smooth_sigma)
    except ValueError as err:
        raise VideoRejected(f"cannot align: {err}") from err
    meta |= {
        "landmarks": track.source, "n_missing": n_missing, "missing_frames": list(track.missing),
        "transform": {
            "kind": "similarity", "fit": "eye centres, nose tip, mouth corners -> MEAN_FACE",
            "smooth_sigma_frames": smooth_sigma,
            "interpolation": "area pre-reduction by the whole shrink factor, then bilinear",
            "matrices": np.round(aligned.matrices, 6).tolist(),  # [T,2,3] image -> crop
        },
    }
    return CroppedVideo(Clip(aligned.frames, aligned.landmarks, meta), track.missing)


def preview_frames(clip: Clip) -> np.ndarray:
    """uint8 [T, S, 2S, 3]: the crop beside the crop with its landmarks dotted on."""
    marked = clip.frames.copy()
    height, width = clip.size
    points = np.rint(clip.landmarks).astype(np.int64)
    inside = ((points >= 0) & (points < [width, height])).all(axis=-1)
    t_idx = np.broadcast_to(np.arange(clip.n_frames)[:, None], inside.shape)
    marked[t_idx[inside], points[..., 1][inside], points[..., 0][inside]] = LANDMARK_COLOUR
    return np.concatenate([clip.frames, marked], axis=2)


def _cached_meta(npz: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """Meta of a complete clip made with ``settings``, else None (then it is recomputed)."""
    if not is_valid_clip(npz):
        return None
    meta = load_clip(npz, landmarks_only=True).meta
    if meta.get("settings") != settings:
        log.info("%s was made with other settings (%s, now %s): recomputing", npz,
                 meta.get("settings"), settings)
        return None
    return meta


def crop_shard(index: pd.DataFrame, *, shard: int, n_shards: int, clip_dir: str | os.PathLike,
               backend: str, size: int, max_missing: float, device: str, batch_size: int,
               preview_fps: float, smooth_sigma: float = SMOOTH_SIGMA_FRAMES,
               dlib_options: Mapping[str, Any] | None = None, code: str = "",
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Crop this shard's videos into ``clip_dir``; returns (table, rejects).

    table: index columns + path, preview, n_missing; rejects: video_id, item, reason.
    ``dlib_options``: the `faces.dlib` config block (backend `dlib` only); ``code``: the
    rule's code version (clips cropped by other code are redone).
    """
    videos = shard_videos(index, shard, n_shards)
    clip_dir = Path(clip_dir)
    landmarker = make_backend(backend, device=device, batch_size=batch_size,
                              dlib_options=dlib_options)
    backend_settings = landmark_settings(landmarker)
    outputs: dict[Any, dict[str, Any]] = {}  # index label -> the output columns
    rejects: list[dict[str, str]] = []
    n_reused = 0
    for label, row in tqdm(videos.iterrows(), total=len(videos), desc=f"faces shard {shard}",
                           unit="video"):
        video_id = str(row["video_id"])
        npz, mp4 = clip_dir / f"{video_id}.npz", clip_dir / f"{video_id}.mp4"
        meta = _cached_meta(npz, clip_settings(row, backend, size, smooth_sigma,
                                               backend_settings, code))
        if meta is not None:
            n_reused += 1
            if not mp4.exists():  # killed between the clip and its preview
                write_video(mp4, preview_frames(load_clip(npz)), fps=preview_fps)
        else:
            try:
                cropped = crop_video(row, landmarker, size=size, max_missing=max_missing,
                                     smooth_sigma=smooth_sigma, code=code)
            except VideoRejected as reason:
                log.warning("rejected %s: %s", video_id, reason)
                rejects.append({"video_id": video_id, "item": str(row.get("source", video_id)),
                                "reason": str(reason)})
                continue
            save_clip(npz, cropped.clip)
            write_video(mp4, preview_frames(cropped.clip), fps=preview_fps)
            meta = cropped.clip.meta
        outputs[label] = {"path": str(npz), "preview": str(mp4),
                          "n_missing": int(meta["n_missing"])}
    close = getattr(landmarker, "close", None)
    if callable(close):  # worker processes of the dlib backend
        close()
    table = pd.concat([videos.loc[list(outputs)].reset_index(drop=True),
                       pd.DataFrame(list(outputs.values()), columns=OUTPUT_COLUMNS)], axis=1)
    log.info("shard %d/%d: %d videos: %d cropped, %d reused from %s, %d rejected; "
             "%d frames without a face (interpolated)", shard, n_shards, len(videos),
             len(outputs) - n_reused, n_reused, clip_dir, len(rejects),
             int(table["n_missing"].sum()))
    return table, pd.DataFrame(rejects, columns=REJECT_COLUMNS)


def shard_rejects_path(shard_csv: str | os.PathLike) -> Path:
    """`.../shard{N}_rejects.csv` beside `.../shard{N}.csv`."""
    shard_csv = Path(shard_csv)
    return shard_csv.with_name(f"{shard_csv.stem}_rejects.csv")


def merge_shards(shard_csvs: list[str | os.PathLike], table_csv: str | os.PathLike,
                 rejects_csv: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate the shard tables (and their rejects) in video_id order and write them."""
    read = {"dtype": {"video_id": str, "subject": str}}
    tables = [pd.read_csv(path, **read) for path in shard_csvs]
    rejects = [pd.read_csv(shard_rejects_path(path), **read) for path in shard_csvs]
    table = pd.concat(tables, ignore_index=True).sort_values("video_id", ignore_index=True)
    rejected = pd.concat(rejects, ignore_index=True).sort_values("video_id", ignore_index=True)
    repeated = table["video_id"][table["video_id"].duplicated()]
    if len(repeated):
        raise ValueError(f"videos in more than one shard: {sorted(set(repeated))}; "
                         "delete the stale shard files and rerun")
    for frame, path in ((table, table_csv), (rejected, rejects_csv)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_csv(frame, path, index=False)
    log.info("merged %d shards: %d videos (%d frames without a face), %d rejected -> %s",
             len(shard_csvs), len(table), int(table["n_missing"].sum()), len(rejected), table_csv)
    return table, rejected


def crop_shard_file(index_csv: str | os.PathLike, table_csv: str | os.PathLike,
                    rejects_csv: str | os.PathLike, **options: Any) -> pd.DataFrame:
    """The ``crop_faces`` rule: :func:`crop_shard` on the index, both tables written."""
    index = pd.read_csv(index_csv, dtype={"subject": str, "video_id": str})
    table, rejects = crop_shard(index, **options)
    write_csv(table, table_csv, index=False)
    write_csv(rejects, rejects_csv, index=False)
    return table
