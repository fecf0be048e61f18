"""Synthesis plan: which (source identity, driving video) pairs fill each class's deficit.

Built from one fold's training videos only. Target per class: the largest class (``max``),
the median class size, or a fixed integer; classes at or above the target get nothing.
For each missing video of class c, the driver is a training video of class c (reused
round-robin in a seeded order) and the source identity is the neutral first frame of a
training video of another training subject — preferring subjects with no video of class c,
then the least-used subject so far, so identities are spread evenly.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..atomic import write_csv
from ..folds import LeakageError, read_folds, split_fold

log = logging.getLogger(__name__)

PLAN_COLUMNS = ["index", "label", "source_video", "source_subject", "source_path",
                "driver_video", "driver_subject", "driver_path", "seed"]
TARGET_COLUMNS = ["label", "n_train", "target", "deficit", "n_planned"]


def class_targets(train: pd.DataFrame, balance: str | int = "max",
                  classes: Iterable[str] | None = None) -> pd.DataFrame:
    """Per class: training count, target and deficit (columns ``TARGET_COLUMNS`` minus n_planned)."""
    counts = train["label"].value_counts()
    labels = sorted(set(classes or []) | set(counts.index))
    n = pd.Series({c: int(counts.get(c, 0)) for c in labels})
    present = n[n > 0]
    if isinstance(balance, bool) or not (isinstance(balance, int) or balance in ("max", "median")):
        raise ValueError(f"synthesis.balance must be 'max', 'median' or an integer, got {balance!r}")
    if balance == "max":
        target = int(present.max())
    elif balance == "median":
        target = int(np.ceil(present.median()))
    else:
        target = int(balance)
    return pd.DataFrame({"label": labels, "n_train": n.values,
                         "target": target, "deficit": np.maximum(target - n.values, 0)})


def make_plan(folds: pd.DataFrame, fold: int, *, balance: str | int = "max", seed: int = 0
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(plan with ``PLAN_COLUMNS``, per-class targets with ``TARGET_COLUMNS``) for one fold."""
    train, _ = split_fold(folds, fold)
    targets = class_targets(train, balance)
    rng = np.random.default_rng([seed, fold])
    train = train.sort_values("video_id").reset_index(drop=True)
    subjects = sorted(train["subject"].unique())
    # A fixed random order breaks ties between equally used subjects (not alphabetically).
    tie = {s: r for s, r in zip(subjects, rng.permutation(len(subjects)))}
    videos_of = {s: list(g["video_id"]) for s, g in train.groupby("subject")}
    subject_uses: Counter[str] = Counter()
    video_uses: Counter[str] = Counter()
    by_id = train.set_index("video_id")

    rows = []
    for _, t in targets.iterrows():
        label, deficit = t["label"], int(t["deficit"])
        if deficit == 0:
            continue
        drivers = list(train.loc[train["label"] == label, "video_id"])
        if not drivers:
            log.warning("class %s has no training video in fold %d: its deficit of %d stays",
                        label, fold, deficit)
            continue
        drivers = [drivers[i] for i in rng.permutation(len(drivers))]
        has_class = set(train.loc[train["label"] == label, "subject"])
        for i in range(deficit):
            driver = drivers[i % len(drivers)]
            driver_subject = by_id.at[driver, "subject"]
            others = [s for s in subjects if s != driver_subject]
            if not others:
                raise ValueError(f"fold {fold}: only one training subject, no source identity")
            preferred = [s for s in others if s not in has_class] or others
            source_subject = min(preferred, key=lambda s: (subject_uses[s], tie[s]))
            source = min(videos_of[source_subject], key=lambda v: (video_uses[v], v))
            subject_uses[source_subject] += 1
            video_uses[source] += 1
            rows.append({"label": label, "source_video": source, "source_subject": source_subject,
                         "source_path": by_id.at[source, "path"], "driver_video": driver,
                         "driver_subject": driver_subject, "driver_path": by_id.at[driver, "path"]})
    plan = pd.DataFrame(rows, columns=PLAN_COLUMNS[1:-1])
    plan.insert(0, "index", np.arange(len(plan), dtype=int))
    # One seed per synthetic video, stable under reordering of other classes' rows.
    plan["seed"] = [int(np.random.SeedSequence([seed, fold, i]).generate_state(1)[0]) for i in plan["index"]]
    targets["n_planned"] = targets["label"].map(plan["label"].value_counts()).fillna(0).astype(int)
    return plan[PLAN_COLUMNS], targets[TARGET_COLUMNS]


def read_plan(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={c: str for c in ("label", "source_video", "source_subject",
                                                     "driver_video", "driver_subject")},
                       keep_default_na=False)


def check_plan(plan: pd.DataFrame, folds: pd.DataFrame, fold: int) -> None:
    """Raise :class:`LeakageError` if a source or driver (subject or video) belongs to the
    fold's test set, or a plan row disagrees with the folds table about a video's subject."""
    train, test = split_fold(folds, fold)
    test_subjects, test_videos = set(test["subject"]), set(test["video_id"])
    subject_of = dict(zip(folds["video_id"], folds["subject"]))
    problems = []
    for role in ("source", "driver"):
        for _, r in plan.iterrows():
            vid, subj = r[f"{role}_video"], r[f"{role}_subject"]
            if subj in test_subjects:
                problems.append(f"row {r['index']}: {role} subject {subj} is a test subject")
            if vid in test_videos:
                problems.append(f"row {r['index']}: {role} video {vid} is a test video")
            if subject_of.get(vid, subj) != subj:
                problems.append(f"row {r['index']}: {role} video {vid} belongs to subject "
                                f"{subject_of[vid]}, not {subj}")
            if vid not in subject_of:
                problems.append(f"row {r['index']}: {role} video {vid} is not in the folds table")
    if problems:
        shown = "; ".join(problems[:10]) + (f"; … {len(problems) - 10} more" if len(problems) > 10 else "")
        raise LeakageError(f"synthesis plan for fold {fold} leaks test data: {shown}")


def plan_file(folds_csv: str, fold: int, plan_csv: str, targets_csv: str, *,
              balance: str | int = "max", seed: int = 0) -> pd.DataFrame:
    """The ``synthesis_plan`` rule: write the plan and the per-class targets, checked."""
    folds = read_folds(folds_csv)
    plan, targets = make_plan(folds, fold, balance=balance, seed=seed)
    check_plan(plan, folds, fold)
    for _, t in targets.iterrows():
        log.info("fold %d %-12s train %4d target %4d deficit %4d planned %4d", fold, t["label"],
                 t["n_train"], t["target"], t["deficit"], t["n_planned"])
    write_csv(plan, plan_csv)
    write_csv(targets, targets_csv)
    return plan
