"""Synthetic-video quality, as the motion-transfer papers measure it, and expression fidelity.

Self-reenactment (generators only): for each held-out (test) video, source = its first
(neutral) frame, driver = the video itself, its whole motion transferred (FOMM's video
reconstruction, ``Generator.reconstruct_batch``); the output is compared with the real frames
t >= 1.
`classic` has no source input (it transforms the driver video itself), so self-reenactment
does not apply to it; its cross-identity and expression measures do (they read videos.csv).

Cross-identity (every maker, on the synthetic videos the workflow trains on, videos.csv):
identity distance of each video to its source subject and to its driver subject (leakage of
the driver's identity), and expression fidelity (a classifier trained on the fold's real
training videos; reference: the fold's real test videos; floor: copy-source still faces).

The landmark instrument is dlib when installed, else the fold's ridge regressor; quality.json
names it (``instrument``). Definitions of every number are in ``DEFINITIONS`` (and the file).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..atomic import atomic_path, write_csv, write_text
from ..clip import Clip, load_clip
from ..generators import Generator
from .fidelity import (DlibInstrument, ExpressionProbe, LandmarkInstrument, Measured,
                       RegressorInstrument, aed, akd_mkr, clip_features, hit_rates,
                       identity_leakage, pick_instrument, registered_akd, spread,
                       subject_references)
from .landmark_regressor import LandmarkRegressor, point_error

log = logging.getLogger(__name__)

CLASSIC = "classic"
# instrument auto: dlib only if its detector finds a face in at least this share of the
# first frames of (up to 20) real test crops.
MIN_DLIB_FOUND = 0.5
CLASSIC_SELF_REENACTMENT = ("not applicable: classic has no source input; it transforms the "
                            "driver video itself (flip, rotation, scale, shift, photometry, "
                            "frame resampling), so there is no frame 0 to re-enact")

DEFINITIONS = {
    "instrument": "what measured landmarks on images: dlib (HOG detector + 68-point iBUG "
                  "predictor on the crop upscaled to 256 px) when installed and it finds a face "
                  "in >= 50% of the real test crops, else ridge_regressor (this fold's ridge "
                  "regressor, trained on its training frames); `why` says which and why",
    "frames": "self-reenactment of test videos (FOMM's video reconstruction): source = frame "
              "0, driver = the same video, its whole motion transferred (the rigid registration "
              "that cross-identity synthesis applies to remove the driver's head motion is off: "
              "one face, and the real frames moved their heads); scores over frames t >= 1 "
              "(landmark scores on up to measure_frames of them, spread evenly)",
    "l1": "mean absolute difference on [0,1] pixels, all channels, all frames t >= 1",
    "landmark_error": "mean Euclidean distance (crop pixels) between the instrument's landmarks on "
                      "the generated frame and the real frame's dataset landmarks",
    "akd": "average keypoint distance (FOMM): mean Euclidean distance (crop pixels) between the "
           "instrument's landmarks on the generated and on the real frame, over frames where "
           "both have a face",
    "akd_registered": "AKD after a similarity alignment of each generated frame's landmarks onto "
                      "the real frame's on the rigid points (eye corners, nasion): the expression "
                      "error without head motion and crop framing (what cross-identity synthesis "
                      "transfers: the generators register the head motion out of a driver, their "
                      "`register` option)",
    "mkr": "missing keypoint rate (dlib only): share of frames where the detector finds a face "
           "in the real frame but not in the generated one",
    "aed": "average Euclidean distance (FOMM) between dlib face-recognition ResNet embeddings "
           "(128-d; same person below ~0.6) of generated and real frames, up to aed_frames per "
           "video (dlib only)",
    "copy_source": "the same numbers for frame 0 repeated (no motion at all)",
    "measurement_floor": "landmark_error of the instrument on the real test frames themselves",
    "target_landmark_error": "generator's target landmarks vs the real landmarks (no pixels)",
    "identity": "cross-identity synthetic videos (videos.csv): embedding = mean over up to "
                "aed_frames frames t >= 1; subject reference = mean embedding of frame 0 of up to "
                "ref_videos of the subject's training videos; to_source / to_driver = Euclidean "
                "distance to the source / driver subject's reference; closer_to_driver = share "
                "of videos with to_driver < to_source (identity leakage; dlib only)",
    "expression_fidelity": "logistic regression (standardised, class-balanced) on landmark "
                           "displacement apex - frame 0 (apex = the frame that moved most, of "
                           "fidelity_frames spread over the video; every frame similarity-"
                           "registered onto frame 0 on the rigid points, eye corners and nasion, "
                           "so head motion and crop framing do not count), divided by frame 0's "
                           "inter-ocular distance, landmarks measured by the instrument; trained "
                           "on this fold's real training videos and their mirror images only. Per class: share of videos "
                           "assigned to their intended class, for the synthetic videos, the real "
                           "test videos (reference) and copy-source still faces of the test "
                           "videos (floor); relative_to_real = synthetic / real test class mean "
                           "(`classic`, real videos transformed, shows what the instrument allows)",
}


def pick_videos(test: pd.DataFrame, n: int) -> pd.DataFrame:
    """Up to ``n`` test videos (0 = all), spread evenly over the id-sorted list."""
    test = test.sort_values("video_id").reset_index(drop=True)
    if n <= 0 or len(test) <= n:
        return test
    return test.iloc[np.linspace(0, len(test) - 1, n).round().astype(int)].reset_index(drop=True)


def _average(rows: list[dict[str, float]], weights: np.ndarray) -> dict[str, float]:
    """Weighted mean per key, ignoring NaN (e.g. AKD of a video where no face was found)."""
    out = {}
    for key in rows[0]:
        values = np.array([r[key] for r in rows], dtype=float)
        ok = np.isfinite(values)
        out[key] = float(np.average(values[ok], weights=weights[ok])) if ok.any() else float("nan")
    return out


def reconstructions(generator: Generator, clips: list[Clip], batch_size: int = 16) -> list[Clip]:
    """``generator.reconstruct_batch`` over the ``clips`` of >= 2 frames, ``batch_size`` at a time."""
    clips = [c for c in clips if c.n_frames >= 2]
    return [out for start in range(0, len(clips), batch_size)
            for out in generator.reconstruct_batch(clips[start:start + batch_size])]


def reenactment_frames(n_frames: int, measure_frames: int, aed_frames: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(frames t >= 1 whose landmarks are scored, frames t >= 1 whose identity is) of a video."""
    return spread(n_frames, measure_frames), spread(n_frames, aed_frames)


def measure_real_clip(instrument: LandmarkInstrument, real: Clip, idx: np.ndarray,
                      a_idx: np.ndarray) -> tuple[Measured, Measured, Any, Any]:
    """The real side of one video's self-reenactment on its :func:`reenactment_frames`:
    (landmarks on the scored frames, on frame 0, embeddings of the identity frames, of frame 0);
    embeddings None without dlib."""
    measured, first = instrument.measure(real.frames[idx]), instrument.measure(real.frames[:1])
    if not isinstance(instrument, DlibInstrument):
        return measured, first, None, None
    return (measured, first, instrument.embed(real.frames[a_idx]),
            instrument.embed(real.frames[:1]))


def reference_videos(train: pd.DataFrame, subjects: set[str] | None, ref_videos: int
                     ) -> pd.DataFrame:
    """The training videos whose frame 0 makes each subject's identity reference: up to
    ``ref_videos`` per subject, in video-id order (``subjects`` None: every subject)."""
    chosen = train if subjects is None else train[train["subject"].isin(subjects)]
    return chosen.sort_values("video_id").groupby("subject").head(ref_videos)


def self_reenactment(generator: Generator, clips: list[Clip],
                     instrument: LandmarkInstrument | LandmarkRegressor, batch_size: int = 16,
                     *, measure_frames: int = 16, aed_frames: int = 4,
                     outputs: list[Clip] | None = None) -> dict[str, Any]:
    """Self-reenactment numbers (see ``DEFINITIONS``) over ``clips`` (each with >= 2 frames).

    AED and MKR are measured when ``instrument`` is a :class:`DlibInstrument`. ``outputs``:
    :func:`reconstructions` of the same clips already rendered (to score them with a second
    instrument without rendering them again).
    """
    if isinstance(instrument, LandmarkRegressor):
        instrument = RegressorInstrument(instrument)
    embedder = instrument if isinstance(instrument, DlibInstrument) else None
    clips = [c for c in clips if c.n_frames >= 2]
    outs = reconstructions(generator, clips, batch_size) if outputs is None else outputs
    if len(outs) != len(clips):
        raise ValueError(f"{len(outs)} reconstructions for {len(clips)} clips of >= 2 frames")
    per: dict[str, list[dict[str, float]]] = {"gen": [], "copy": []}
    floor, target_err, weights = [], [], []
    for real, out in zip(clips, outs):
        idx, a_idx = reenactment_frames(real.n_frames, measure_frames, aed_frames)
        real_m, first, real_e, first_e = measure_real_clip(instrument, real, idx, a_idx)
        copies = {"gen": out.frames, "copy": np.repeat(real.frames[:1], real.n_frames, 0)}
        measured = {"gen": instrument.measure(out.frames[idx]),
                    "copy": Measured(np.repeat(first.landmarks, len(idx), 0),
                                     np.repeat(first.found, len(idx)))}
        if embedder is not None:
            embedded = {"gen": embedder.embed(out.frames[a_idx]),
                        "copy": np.repeat(first_e, len(a_idx), 0)}
        for key, frames in copies.items():
            akd, mkr = akd_mkr(measured[key], real_m)
            scores = {"l1": float(np.abs(frames[1:].astype(np.float32) - real.frames[1:]).mean() / 255),
                      "landmark_error": point_error(measured[key].landmarks, real.landmarks[idx]),
                      "akd": akd, "akd_registered": registered_akd(measured[key], real_m)}
            if embedder is not None:
                scores |= {"mkr": mkr, "aed": aed(embedded[key], real_e)}
            per[key].append(scores)
        floor.append(point_error(real_m.landmarks, real.landmarks[idx]))
        target_err.append(point_error(out.landmarks[1:], real.landmarks[1:]))
        weights.append(real.n_frames - 1)
    w = np.asarray(weights, float)
    return {generator.name: _average(per["gen"], w), "copy_source": _average(per["copy"], w),
            "measurement_floor": float(np.average(floor, weights=w)),
            "target_landmark_error": float(np.average(target_err, weights=w)),
            "n_videos": len(clips), "n_frames": int(w.sum())}


def identity_measures(instrument: DlibInstrument, videos: pd.DataFrame, train: pd.DataFrame,
                      load: Any, *, aed_frames: int = 4, ref_videos: int = 4) -> tuple[dict, pd.DataFrame]:
    """Identity leakage of the synthetic videos: (summary, per-video table)."""
    subjects = set(videos["source_subject"]) | set(videos["driver_subject"])
    refs = subject_references(instrument, reference_videos(train, subjects, ref_videos), load)
    rows = []
    for _, row in videos.iterrows():
        clip = load(row["path"])
        idx = spread(clip.n_frames, aed_frames) if clip.n_frames > 1 else np.array([0])
        embedding = instrument.embed(clip.frames[idx]).mean(axis=0)
        missing = [s for s in (row["source_subject"], row["driver_subject"]) if s not in refs]
        if missing:
            raise ValueError(f"videos.csv row {row['index']}: subject(s) {missing} have no "
                             "training video in the folds table to take a reference from")
        rows.append({"index": int(row["index"]), "label": row["label"],
                     **identity_leakage(embedding, refs[row["source_subject"]],
                                        refs[row["driver_subject"]])})
    table = pd.DataFrame(rows, columns=["index", "label", "to_source", "to_driver",
                                        "closer_to_driver"])
    summary = {"n_videos": len(table), "n_reference_subjects": len(refs)}
    if len(table):
        summary |= {"to_source": float(table["to_source"].mean()),
                    "to_driver": float(table["to_driver"].mean()),
                    "closer_to_driver": float(table["closer_to_driver"].mean())}
    return summary, table


def expression_fidelity(instrument: LandmarkInstrument, train: pd.DataFrame, test: pd.DataFrame,
                        videos: pd.DataFrame, load: Any, *, fidelity_frames: int = 8) -> dict:
    """Per-class share of videos a probe trained on the real training videos assigns to their
    intended class: synthetic (``videos``), real test videos, copy-source still faces."""

    def features(frames_of: list[np.ndarray]) -> np.ndarray:
        return np.stack([clip_features(instrument, f, fidelity_frames) for f in frames_of]) \
            if frames_of else np.zeros((0, 136))

    train_x = features([load(p).frames for p in train["path"]])
    probe = ExpressionProbe().fit(train_x, train["label"])
    test_frames = [load(p).frames for p in test["path"]]
    still = [np.repeat(f[:1], len(f), 0) for f in test_frames]
    synthetic_x = features([load(p).frames for p in videos["path"]])
    synthetic = hit_rates(probe.predict(synthetic_x), videos["label"])
    real = hit_rates(probe.predict(features(test_frames)), test["label"])
    relative = (synthetic["class_mean"] / real["class_mean"]
                if synthetic["class_mean"] is not None and real["class_mean"] else None)
    return {
        "classifier": "logistic regression on apex - neutral landmark displacement / inter-ocular",
        "n_train_videos": int(len(train)),
        "train_accuracy": float((probe.predict(train_x) == train["label"].to_numpy()).mean()),
        "synthetic": synthetic,
        "real_test": real,
        "copy_source": hit_rates(probe.predict(features(still)), test["label"]),
        "relative_to_real": relative,
    }


def per_class_table(result: Mapping[str, Any], identity: pd.DataFrame | None) -> pd.DataFrame:
    """One row per class: synthetic count, the three fidelity shares and identity leakage."""
    fid = result.get("expression_fidelity", {})
    labels = sorted(set(fid.get("synthetic", {}).get("per_class", {}))
                    | set(fid.get("real_test", {}).get("per_class", {})))
    rows = []
    for label in labels:
        row: dict[str, Any] = {"label": label,
                               "n_synthetic": fid["synthetic"].get("n_per_class", {}).get(label, 0)}
        for part in ("synthetic", "real_test", "copy_source"):
            row[f"fidelity_{part}"] = fid[part]["per_class"].get(label, np.nan)
        if identity is not None and len(identity):
            mine = identity[identity["label"] == label]
            for col in ("to_source", "to_driver", "closer_to_driver"):
                row[col] = float(mine[col].mean()) if len(mine) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


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


def _json_safe(value: Any) -> Any:
    """NaN -> None (JSON has no NaN), recursively."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def choose_instrument(choice: str, regressor: LandmarkRegressor, test: pd.DataFrame, *,
                      memo: str | None = None) -> tuple[LandmarkInstrument, str]:
    """(instrument, why) for ``choice`` (auto | dlib | ridge_regressor) on a fold's real test
    videos; ``memo``: a :func:`reference_file` whose dlib measures it starts from."""
    measuring, why = pick_instrument(choice, regressor)
    if memo and isinstance(measuring, DlibInstrument):
        crops = measuring.load_memo(memo)
        log.info("dlib: %d crops measured before, from %s", crops, memo)
    if choice == "auto" and isinstance(measuring, DlibInstrument):
        # dlib's detector was trained on photographs; on faces it does not recognise as
        # faces (the demo's drawn ones) its landmarks mean nothing: use the regressor there.
        firsts = np.stack([load_clip(p).frames[0] for p in pick_videos(test, 20)["path"]])
        found = float(measuring.measure(firsts).found.mean())
        if found < MIN_DLIB_FOUND:
            return RegressorInstrument(regressor), (
                f"dlib installed but finds a face in only {found:.0%} of the real test "
                f"crops (< {MIN_DLIB_FOUND:.0%}): not photographs of faces")
        why += f"; finds a face in {found:.0%} of the real test crops"
    return measuring, why


def reference_file(folds_csv: str, fold: int, regressor_path: str, out_npz: str, *,
                   instrument: str = "auto", max_videos: int = 40, measure_frames: int = 16,
                   aed_frames: int = 4, ref_videos: int = 4, fidelity_frames: int = 8) -> int:
    """The ``quality_reference`` rule: dlib's measures of the fold's real videos that every
    maker's quality job compares with (self-reenactment's test frames, the expression probe's
    training and test videos, every training subject's identity reference), made once per fold
    instead of once per maker. With the ridge regressor (cheap, nothing to share) the file holds
    no measures. Returns the number of crops measured."""
    from .plan import read_folds, split_fold
    from .render import ClipCache

    train, test = split_fold(read_folds(folds_csv), fold)
    measuring, why = choose_instrument(instrument, LandmarkRegressor.load(regressor_path), test)
    log.info("quality reference fold %d: instrument %s (%s)", fold, measuring.name, why)
    if not isinstance(measuring, DlibInstrument):
        with atomic_path(out_npz) as tmp:
            np.savez_compressed(tmp, instrument=np.array(measuring.name))
        return 0
    for path in tqdm(pick_videos(test, max_videos)["path"], desc="self-reenactment videos",
                     unit="video", mininterval=5):
        real = load_clip(path)
        if real.n_frames >= 2:
            measure_real_clip(measuring, real,
                              *reenactment_frames(real.n_frames, measure_frames, aed_frames))
    cache = ClipCache(size=256)
    for path in tqdm([*train["path"], *test["path"]], desc="expression-probe videos",
                     unit="video", mininterval=5):
        clip_features(measuring, cache(path).frames, fidelity_frames)
    subject_references(measuring, reference_videos(train, None, ref_videos), cache)
    measuring.save_memo(out_npz)
    fitted, embedded = measuring.memo_counts()
    log.info("quality reference fold %d: %d crops fitted, %d embedded", fold, fitted, embedded)
    return fitted


def quality_file(generator: Generator | str, folds_csv: str, fold: int, regressor_path: str,
                 videos_csv: str, out_json: str, out_png: str, *, max_videos: int = 40,
                 batch_size: int = 16, sample_frames: int = 6, instrument: str = "auto",
                 measure_frames: int = 16, aed_frames: int = 4, ref_videos: int = 4,
                 fidelity_frames: int = 8, per_class_csv: str | None = None,
                 reference: str | None = None) -> dict:
    """The ``synthesis_quality`` rule: quality.json + samples.png (+ per-class csv) for one maker.

    ``generator``: a built generator, or the string ``"classic"`` (no self-reenactment).
    ``instrument``: auto (dlib when installed, else the ridge regressor) | dlib | ridge_regressor.
    ``reference``: the fold's :func:`reference_file` (dlib's measures of its real videos, so
    that only this maker's frames are measured here); the numbers are the same without it.
    """
    from ..generators.registry import Generator as GeneratorBase
    from .plan import read_folds, read_plan, split_fold
    from .render import ClipCache

    if isinstance(generator, str) and generator != CLASSIC:
        raise ValueError(f"quality_file takes a Generator or {CLASSIC!r}, got {generator!r}")
    name = generator if isinstance(generator, str) else generator.name
    train, test = split_fold(read_folds(folds_csv), fold)
    videos = read_plan(videos_csv)
    regressor = LandmarkRegressor.load(regressor_path)
    measuring, why = choose_instrument(instrument, regressor, test, memo=reference)
    log.info("quality %s fold %d: instrument %s (%s)", name, fold, measuring.name, why)
    cache = ClipCache(size=256)
    load = lambda path: cache(path)  # noqa: E731 - the measures take a path -> Clip loader
    result: dict[str, Any] = {"maker": name, "fold": fold,
                              "instrument": {"name": measuring.name, "why": why}}

    if isinstance(generator, GeneratorBase):
        clips = []
        for _, row in pick_videos(test, max_videos).iterrows():
            clip = load_clip(row["path"])
            clip.meta.setdefault("video_id", row["video_id"])
            clips.append(clip)
        result["self_reenactment"] = "measured"
        outputs = reconstructions(generator, clips, batch_size)  # rendered once, scored by both
        result |= self_reenactment(generator, clips, measuring, batch_size, outputs=outputs,
                                   measure_frames=measure_frames, aed_frames=aed_frames)
        if measuring.name != "ridge_regressor":  # keep the regressor's figures comparable
            reg = self_reenactment(generator, clips, RegressorInstrument(regressor), batch_size,
                                   measure_frames=measure_frames, outputs=outputs)
            result["ridge_regressor"] = {k: reg[k] for k in (generator.name, "copy_source",
                                                             "measurement_floor")}
    else:
        result["self_reenactment"] = CLASSIC_SELF_REENACTMENT

    identity = None
    if isinstance(measuring, DlibInstrument):
        result["identity"], identity = identity_measures(measuring, videos, train, load,
                                                         aed_frames=aed_frames,
                                                         ref_videos=ref_videos)
    else:
        result["identity"] = f"not measured: the identity embedding needs dlib ({why})"
    if videos.empty:
        result["expression_fidelity"] = "not measured: no synthetic videos (classes balanced)"
    else:
        result["expression_fidelity"] = expression_fidelity(measuring, train, test, videos, load,
                                                            fidelity_frames=fidelity_frames)
    table = (per_class_table(result, identity) if isinstance(result["expression_fidelity"], dict)
             else pd.DataFrame(columns=["label"]))
    result["per_class"] = {r["label"]: {k: v for k, v in r.items() if k != "label"}
                           for r in table.to_dict("records")}
    result["settings"] = {"max_videos": max_videos, "measure_frames": measure_frames,
                          "aed_frames": aed_frames, "ref_videos": ref_videos,
                          "fidelity_frames": fidelity_frames}
    result["definitions"] = DEFINITIONS
    result = _json_safe(result)
    log.info("quality %s fold %d: %s", name, fold,
             {k: v for k, v in result.items() if k not in ("definitions", "per_class")})
    write_text(out_json, json.dumps(result, indent=2))
    if per_class_csv:
        write_csv(table, per_class_csv, index=False)
    sample_grid(videos, out_png, n_frames=sample_frames,
                title=f"{name}, fold {fold}: source, driver, synthetic")
    return result


def quality_job(name: str, options: dict, folds_csv: str, fold: int, regressor_path: str,
                videos_csv: str, out_json: str, out_png: str, *, checkpoint: str | None = None,
                device: str = "auto", **kwargs: Any) -> dict:
    """The ``synthesis_quality`` rule for scenario ``name``: build its generator (an
    augmentation such as ``classic`` has no self-reenactment: it is passed by name), then
    :func:`quality_file`."""
    from .. import catalog
    from ..generators import build_generator

    spec = catalog.scenario(name)
    generator = (build_generator(name, options, checkpoint=checkpoint, device=device)
                 if spec.is_generator else name)
    return quality_file(generator, folds_csv, fold, regressor_path, videos_csv, out_json,
                        out_png, **kwargs)
