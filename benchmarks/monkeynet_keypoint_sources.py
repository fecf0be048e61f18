"""Learned vs landmark vs mixed keypoints (generators.monkeynet.keypoint_source) on one fold of a
built dataset, on the CPU: training time, self-reenactment L1/AKD (semaug.synthesis.quality) and
a cross-identity transfer measure, plus a PNG grid of cross-identity samples to look at.

Cross-identity measure: for held-out (source, driver) pairs of different subjects, the landmarks
the fold's ridge regressor measures on the generated frames vs the target landmarks of relative
transfer (the driver's rigid-registered motion on the source, `transfer_landmarks`): how far the
pixels carry the asked-for expression. The same number for the still source frame
(copy-source) and for landmark_warp frame the figure.

    PYTHONPATH=$PWD/src python benchmarks/monkeynet_keypoint_sources.py --sources learned landmarks \
        --iterations 200 --out /tmp/kp_sources       # needs results/ck_demo/folds.csv
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from semaug.clip import Clip, load_clip
from semaug.generators import Generator, build_generator
from semaug.generators.monkeynet.train import train_fold
from semaug.generators.motion import transfer_landmarks
from semaug.ibug import RIGID_POINTS
from semaug.synthesis.landmark_regressor import LandmarkRegressor, point_error, train_regressor_file
from semaug.synthesis.quality import pick_videos, self_reenactment

EXPRESSIVE = ("happy", "surprise", "disgust", "fear", "anger", "sadness")


def cross_pairs(test: pd.DataFrame, per_class: int = 2) -> list[tuple[Clip, Clip, str]]:
    """(source, driver, driver label): each driver with a source of another test subject."""
    drivers = test[test["label"].isin(EXPRESSIVE)].groupby("label").head(per_class)
    pairs = []
    for i, (_, d) in enumerate(drivers.iterrows()):
        others = test[test["subject"] != d["subject"]]
        pairs.append((load_clip(others.iloc[(7 * i) % len(others)]["path"]), load_clip(d["path"]), d["label"]))
    return pairs


def cross_error(gen: Generator | None, pairs: list[tuple[Clip, Clip, str]], reg: LandmarkRegressor
                ) -> tuple[float, list[Clip] | None]:
    """Mean regressor-vs-target landmark distance (crop px) over frames t >= 1; gen None = still source."""
    outs = gen.animate_batch([(s, d) for s, d, _ in pairs]) if gen is not None else None
    errs = []
    for k, (s, d, _) in enumerate(pairs):
        target = transfer_landmarks(s.landmarks[0], d.landmarks, RIGID_POINTS)
        frames = np.repeat(s.frames[:1], d.n_frames, 0) if outs is None else outs[k].frames
        errs.append(point_error(reg.predict(frames[1:]), target[1:]))
    return float(np.mean(errs)), outs


def grid(pairs, warp_outs, gen_outs, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(pairs), 7, figsize=(8.4, 1.2 * len(pairs)), squeeze=False)
    for k, (s, d, label) in enumerate(pairs):
        t = d.n_frames - 1
        row = [s.frames[0], d.frames[0], d.frames[t], warp_outs[k].frames[t], gen_outs[k].frames[0],
               gen_outs[k].frames[t // 2], gen_outs[k].frames[t]]
        for j, im in enumerate(row):
            axes[k, j].imshow(im)
            axes[k, j].axis("off")
        axes[k, 0].set_title(label, fontsize=6)
    for j, name in enumerate(["source", "driver 0", "driver apex", "landmark_warp apex", "gen 0", "gen mid",
                              "gen apex"]):
        axes[0, j].set_title(name if j else f"source ({pairs[0][2]} driver)", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--folds", default="results/ck_demo/folds.csv")
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--sources", nargs="+", default=["learned", "landmarks", "mixed"])
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--options", default="{}", help="more generators.monkeynet options, as JSON")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("benchmarks/out/keypoint_sources"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    reg_path = args.out / f"regressor_fold{args.fold}.npz"
    if not reg_path.exists():
        train_regressor_file(args.folds, args.fold, str(reg_path), str(reg_path.with_suffix(".json")))
    reg = LandmarkRegressor.load(reg_path)
    folds = pd.read_csv(args.folds, dtype={"subject": str, "video_id": str})
    test = folds[folds["fold"] == args.fold].sort_values("video_id")
    clips = []
    for _, row in pick_videos(test, 30).iterrows():
        clip = load_clip(row["path"])
        clip.meta["video_id"] = row["video_id"]
        clips.append(clip)
    pairs = cross_pairs(test)
    copy_err, _ = cross_error(None, pairs, reg)
    warp_err, warp_outs = cross_error(build_generator("landmark_warp", {}), pairs, reg)
    for source in args.sources:
        opts = {"image_size": 64, "keypoint_source": source, "iterations": args.iterations,
                "threads": args.threads, "device": "cpu", "keypoint_detector": {"scale": 0.5},
                "sample_every": max(args.iterations // 3, 1), "log_every": 20, **json.loads(args.options)}
        tag = f"{source}_{args.iterations}"
        t0 = time.perf_counter()
        result = train_fold(args.folds, args.fold, args.out / tag, opts, name="monkeynet")
        seconds = time.perf_counter() - t0
        gen = build_generator("monkeynet", {}, checkpoint=str(result.model_path), device="cpu")
        q = self_reenactment(gen, clips, reg)
        gen_err, gen_outs = cross_error(gen, pairs, reg)
        row = {"keypoint_source": source, "iterations": args.iterations, "train_s": round(seconds, 1),
               "self_l1": round(q["monkeynet"]["l1"], 4), "self_akd": round(q["monkeynet"]["akd"], 3),
               "copy_l1": round(q["copy_source"]["l1"], 4), "copy_akd": round(q["copy_source"]["akd"], 3),
               "cross_err": round(gen_err, 3), "cross_copy_err": round(copy_err, 3),
               "cross_landmark_warp_err": round(warp_err, 3)}
        print(json.dumps(row), flush=True)
        with open(args.out / "results.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        grid(pairs, warp_outs, gen_outs, args.out / f"cross_{tag}.png")


if __name__ == "__main__":
    main()
