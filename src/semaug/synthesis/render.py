"""Render a synthesis plan into clip files: one ``{index:05d}.npz`` (+ ``.mp4`` preview) per plan
row, and the ``videos.csv`` table (plan columns + ``path, preview``).

Resumable: a clip already on disk whose meta names the same plan row (source, driver, seed,
maker) and the same ``settings`` (a digest of the generator's options, its checkpoint file and
the library code) is kept, so a killed job restarts where it stopped, and a changed plan, a
retrained generator or edited code is redone.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ..atomic import write_csv
from ..checkpoints import file_digest, fingerprint_of
from ..clip import Clip, ClipError, load_clip, save_clip
from ..video import write_video

log = logging.getLogger(__name__)

MakeBatch = Callable[[list[pd.Series]], list[Clip]]


class ClipCache:
    """A few recently read clips, so a source used by many rows is decoded once."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._clips: OrderedDict[str, Clip] = OrderedDict()

    def __call__(self, path: str, video_id: str | None = None) -> Clip:
        if path in self._clips:
            self._clips.move_to_end(path)
            return self._clips[path]
        clip = load_clip(path)
        clip.meta.setdefault("video_id", video_id or Path(path).stem)
        self._clips[path] = clip
        if len(self._clips) > self.size:
            self._clips.popitem(last=False)
        return clip


def row_meta(row: pd.Series, maker: str, settings: str = "") -> dict:
    """Provenance stored in each synthetic clip (and compared on resume)."""
    return {"maker": maker, "index": int(row["index"]), "label": row["label"],
            "source_video": row["source_video"], "driver_video": row["driver_video"],
            "seed": int(row["seed"]), "settings": settings}


def render_settings(options: dict, code: str = "", checkpoint: str | Path | None = None) -> str:
    """What a synthetic clip depends on besides its plan row, as one digest: the generator's
    options, the library code that renders it, and the trained weights it ran."""
    return fingerprint_of(options=options, code=code,
                          checkpoint=file_digest(checkpoint) if checkpoint else None)[:16]


def _reusable(path: Path, meta: dict) -> bool:
    try:
        old = load_clip(path, landmarks_only=True).meta
    except (FileNotFoundError, ClipError):
        return False
    return all(old.get(k) == v for k, v in meta.items())


def preview_rows(plan: pd.DataFrame, previews: bool | int) -> set[int]:
    """Plan indices that get an mp4: all (True), none (False/0) or the first N per class."""
    if previews is True:
        return set(plan["index"].astype(int))
    if not previews:
        return set()
    return set(plan.groupby("label").head(int(previews))["index"].astype(int))


def render_plan(plan: pd.DataFrame, clip_dir: str | Path, make_batch: MakeBatch, *, maker: str,
                settings: str = "", batch_size: int = 16, previews: bool | int = True,
                preview_fps: float = 10.0) -> pd.DataFrame:
    """Make every plan row's clip (``make_batch`` turns rows into clips) -> videos table.

    ``settings`` (:func:`render_settings`) is stored in each clip; one on disk with other
    settings is made again."""
    clip_dir = Path(clip_dir)
    clip_dir.mkdir(parents=True, exist_ok=True)
    paths = [clip_dir / f"{int(i):05d}.npz" for i in plan["index"]]
    want_preview = preview_rows(plan, previews)
    todo, stale = [], 0
    for (_, r), p in zip(plan.iterrows(), paths):
        reusable = _reusable(p, row_meta(r, maker, settings))
        stale += not reusable and p.exists()  # on disk, made from something else
        if not reusable or (int(r["index"]) in want_preview and not p.with_suffix(".mp4").exists()):
            todo.append((r, p))
    log.info("%s: %d clips planned, %d on disk, %d to make in %s%s", maker, len(plan),
             len(plan) - len(todo), len(todo), clip_dir,
             f" ({stale} of them on disk from another plan, generator or code: remade)" if stale else "")
    with tqdm(total=len(todo), desc=maker, unit="clip", mininterval=5) as bar:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            clips = make_batch([r for r, _ in chunk])
            for (row, path), clip in zip(chunk, clips):
                clip.meta = {**clip.meta, **row_meta(row, maker, settings)}
                save_clip(path, clip)
                if int(row["index"]) in want_preview:
                    write_video(path.with_suffix(".mp4"), clip.frames, fps=preview_fps)
            bar.update(len(chunk))
    table = plan.copy()
    table["path"] = [str(p) for p in paths]
    table["preview"] = [str(p.with_suffix(".mp4")) if int(i) in want_preview else ""
                        for p, i in zip(paths, plan["index"])]
    return table


def _checked_plan(folds_csv: str, fold: int, plan_csv: str) -> pd.DataFrame:
    from .plan import check_plan, read_folds, read_plan

    plan = read_plan(plan_csv)
    check_plan(plan, read_folds(folds_csv), fold)  # refuse a plan edited to leak
    return plan


def synthesize_file(name: str, options: dict, folds_csv: str, fold: int, plan_csv: str,
                    out_csv: str, clip_dir: str, *, checkpoint: str | None = None,
                    device: str = "auto", batch_size: int = 16, previews: bool | int = True,
                    preview_fps: float = 10.0, code: str = "") -> pd.DataFrame:
    """The ``synthesize`` rule, for every rendering scenario (generators and ``classic``):
    one clip per plan row from its source and driver, drawn from the row's seed. ``code``:
    the rule's code version, so clips rendered by other code are not reused."""
    from ..generators import build_generator

    plan = _checked_plan(folds_csv, fold, plan_csv)
    generator = build_generator(name, options, checkpoint=checkpoint, device=device)
    log.info("%s on %s, options %s", name, generator.device, generator.options)
    cache = ClipCache()

    def make(rows: list[pd.Series]) -> list[Clip]:
        pairs = [(cache(r["source_path"], r["source_video"]), cache(r["driver_path"], r["driver_video"]))
                 for r in rows]
        return generator.animate_batch(pairs, seeds=[int(r["seed"]) for r in rows])

    table = render_plan(plan, clip_dir, make, maker=name,
                        settings=render_settings(options, code, checkpoint),
                        batch_size=batch_size, previews=previews, preview_fps=preview_fps)
    write_csv(table, out_csv)
    return table
