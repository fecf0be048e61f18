"""Synthetic-video quality: self-reenactment of the fold's held-out (test) videos.

For each test video, source = its first (neutral) frame, driver = the video itself; the
generator's output is compared with the real frames t ≥ 1 (frame 0 is the input):

- ``l1``: mean |generated − real| on [0, 1] pixels (all channels, frames t ≥ 1).
- ``landmark_error``: mean Euclidean distance, in crop pixels, between the landmarks a
  regressor measures on the *generated image* (trained on the fold's training subjects only:
  :mod:`.landmark_regressor`) and the real frame's dataset landmarks.
- ``akd``: mean distance between the regressor's landmarks on generated and on real frames.
- ``copy_source``: the same numbers for the first frame repeated (no motion at all).
- ``measurement_floor``: the regressor's landmark_error on the real test frames themselves.
- ``target_landmark_error``: the generator's returned target landmarks vs the real ones
  (motion transfer alone, not measured on pixels).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..clip import Clip, load_clip
from ..generators import Generator
from .landmark_regressor import LandmarkRegressor, point_error

log = logging.getLogger(__name__)

DEFINITIONS = {
    "frames": "self-reenactment of test videos: source = frame 0, driver = the same video; "
              "scores over frames t >= 1",
    "l1": "mean absolute difference on [0,1] pixels, all channels",
    "landmark_error": "mean Euclidean distance (crop pixels) between landmarks measured on the image "
                      "by a ridge regressor trained on this fold's training frames only and the real "
                      "frame's dataset landmarks",
    "akd": "mean Euclidean distance (crop pixels) between regressor landmarks on the generated "
           "and on the real frame",
    "measurement_floor": "landmark_error of the regressor on the real test frames",
    "target_landmark_error": "generator's target landmarks vs the real landmarks (no pixels)",
}


def pick_videos(test: pd.DataFrame, n: int) -> pd.DataFrame:
    """Up to ``n`` test videos (0 = all), spread evenly over the id-sorted list."""
    test = test.sort_values("video_id").reset_index(drop=True)
    if n <= 0 or len(test) <= n:
        return test
    return test.iloc[np.linspace(0, len(test) - 1, n).round().astype(int)].reset_index(drop=True)


def _scores(frames: np.ndarray, real: Clip, reg: LandmarkRegressor, real_pred: np.ndarray
            ) -> dict[str, float]:
    pred = reg.predict(frames[1:])
    return {"l1": float(np.abs(frames[1:].astype(np.float32) - real.frames[1:]).mean() / 255),
            "landmark_error": point_error(pred, real.landmarks[1:]),
            "akd": point_error(pred, real_pred)}


def self_reenactment(generator: Generator, clips: list[Clip], reg: LandmarkRegressor,
                     batch_size: int = 16) -> dict:
    """Quality numbers (see module docstring) over ``clips`` (each with ≥ 2 frames)."""
    clips = [c for c in clips if c.n_frames >= 2]
    per: dict[str, list[dict[str, float]]] = {"gen": [], "copy": []}
    floor, target_err, weights = [], [], []
    for start in range(0, len(clips), batch_size):
        chunk = clips[start:start + batch_size]
        outs = generator.animate_batch([(c, c) for c in chunk])
        for real, out in zip(chunk, outs):
            real_pred = reg.predict(real.frames[1:])
            per["gen"].append(_scores(out.frames, real, reg, real_pred))
            per["copy"].append(_scores(np.repeat(real.frames[:1], real.n_frames, 0), real, reg,
                                       real_pred))
            floor.append(point_error(real_pred, real.landmarks[1:]))
            target_err.append(point_error(out.landmarks[1:], real.landmarks[1:]))
            weights.append(real.n_frames - 1)
    w = np.asarray(weights, float)

    def avg(rows: list[dict[str, float]]) -> dict[str, float]:
        return {k: float(np.average([r[k] for r in rows], weights=w)) for k in rows[0]}

    return {generator.name: avg(per["gen"]), "copy_source": avg(per["copy"]),
            "measurement_floor": float(np.average(floor, weights=w)),
            "target_landmark_error": float(np.average(target_err, weights=w)),
            "n_videos": len(clips), "n_frames": int(w.sum())}


def sample_grid(videos: pd.DataFrame, out_png: str, *, n_frames: int = 6, title: str = "") -> None:
    """Per deficit class (first plan row): the source frame, the driver's frames and the
    synthetic video's frames at the same times (the study's Figures 2 and 4)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import save_figure

    firsts = videos.groupby("label", sort=True).head(1)
    n_rows = max(1, 2 * len(firsts))
    fig, axes = plt.subplots(n_rows, n_frames + 1, figsize=(1.1 * (n_frames + 1), 1.15 * n_rows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    if firsts.empty:
        axes[0, 0].text(0, 0.5, "no synthetic videos (classes already balanced)", fontsize=8)
    for r, (_, row) in enumerate(firsts.iterrows()):
        src, drv, syn = (load_clip(row["source_path"]), load_clip(row["driver_path"]),
                         load_clip(row["path"]))
        times = np.linspace(0, syn.n_frames - 1, n_frames).round().astype(int)
        axes[2 * r, 0].imshow(src.frames[0])
        axes[2 * r, 0].set_title(f"source {row['source_subject']}", fontsize=6)
        axes[2 * r + 1, 0].text(0.0, 0.5, row["label"], fontsize=8, transform=axes[2 * r + 1, 0].transAxes)
        for j, t in enumerate(times):
            axes[2 * r, j + 1].imshow(drv.frames[min(t, drv.n_frames - 1)])
            axes[2 * r + 1, j + 1].imshow(syn.frames[t])
        axes[2 * r, 1].set_title(f"driver {row['driver_subject']}", fontsize=6)
        axes[2 * r + 1, 1].set_title("synthetic", fontsize=6)
    if title:
        fig.suptitle(title, fontsize=8)
    save_figure(fig, out_png, dpi=110)


def quality_file(generator: Generator, folds_csv: str, fold: int, regressor_path: str,
                 videos_csv: str, out_json: str, out_png: str, *, max_videos: int = 40,
                 batch_size: int = 16, sample_frames: int = 6) -> dict:
    """The ``synthesis_quality`` rule: quality.json + samples.png for one generator."""
    from .plan import read_folds, read_plan, split_fold

    _, test = split_fold(read_folds(folds_csv), fold)
    chosen = pick_videos(test, max_videos)
    clips = []
    for _, row in chosen.iterrows():
        clip = load_clip(row["path"])
        clip.meta.setdefault("video_id", row["video_id"])
        clips.append(clip)
    result = self_reenactment(generator, clips, LandmarkRegressor.load(regressor_path), batch_size)
    result["definitions"] = DEFINITIONS
    result["fold"] = fold
    log.info("quality fold %d: %s", fold, {k: v for k, v in result.items() if k != "definitions"})
    Path(out_json).write_text(json.dumps(result, indent=2))
    sample_grid(read_plan(videos_csv), out_png, n_frames=sample_frames,
                title=f"{generator.name}, fold {fold}: source, driver, synthetic")
    return result


def quality_job(name: str, options: dict, folds_csv: str, fold: int, regressor_path: str,
                videos_csv: str, out_json: str, out_png: str, *, checkpoint: str | None = None,
                device: str = "auto", **kwargs: Any) -> dict:
    """The ``synthesis_quality`` rule for scenario ``name``: build its generator, then
    :func:`quality_file`."""
    from ..generators import build_generator

    generator = build_generator(name, options, checkpoint=checkpoint, device=device)
    return quality_file(generator, folds_csv, fold, regressor_path, videos_csv, out_json,
                        out_png, **kwargs)
