"""Subject-independent folds, stratified by class (scikit-learn's StratifiedGroupKFold)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .atomic import write_csv

log = logging.getLogger("semaug.folds")


FOLDS_DTYPES = {"video_id": str, "subject": str, "label": str}


class FoldError(ValueError):
    """The videos cannot be split as asked, or a split breaks an invariant."""


class LeakageError(FoldError):
    """Something trained for fold k (a plan, a generator, a manifest) uses a test subject or
    test video of fold k."""


def read_folds(path: str | Path) -> pd.DataFrame:
    """folds.csv with string ids (subject "002" keeps its zeros)."""
    return pd.read_csv(path, dtype=FOLDS_DTYPES, keep_default_na=False)


def split_fold(folds: pd.DataFrame, fold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, test rows) of fold ``fold``: the one split every stage uses.

    Raises :class:`FoldError` for a fold that is not in the table or leaves nothing to train
    on, and :class:`LeakageError` when a subject has videos on both sides (a folds table that
    was edited or merged by hand).
    """
    for column in ("video_id", "subject", "fold"):
        if column not in folds.columns:
            raise FoldError(f"the folds table has no '{column}' column")
    fold_of = folds["fold"].astype(int)
    if int(fold) not in set(fold_of):
        raise FoldError(f"fold {fold} is not in the folds table (folds: {sorted(set(fold_of))})")
    is_test = fold_of == int(fold)
    train, test = folds[~is_test].reset_index(drop=True), folds[is_test].reset_index(drop=True)
    if train.empty:
        raise FoldError(f"fold {fold} leaves no training videos")
    check_no_leak(train["subject"], test, f"fold {fold}: the training part")
    return train, test


def check_no_leak(subjects: Iterable[str], test: pd.DataFrame, what: str) -> None:
    """Raise :class:`LeakageError` if any of ``subjects`` is a test subject of ``test``."""
    leaked = sorted((set(map(str, subjects)) - {""}) & set(test["subject"].astype(str)))
    if leaked:
        raise LeakageError(f"{what} uses test subject(s) {leaked}: refusing to train on them "
                           f"(is folds.csv subject-independent?)")


def assign_folds(videos: pd.DataFrame, n_folds: int, seed: int) -> pd.DataFrame:
    """Add a `fold` column: every subject's videos in one fold, classes spread evenly.

    Deterministic for a given table (rows are sorted by video_id first) and seed.
    """
    for column in ("video_id", "subject", "label"):
        if column not in videos.columns:
            raise FoldError(f"the video table has no '{column}' column")
    from sklearn.model_selection import StratifiedGroupKFold  # 2 s to import: only this stage

    videos = videos.sort_values("video_id", kind="stable").reset_index(drop=True)
    n_subjects = videos["subject"].nunique()
    if n_subjects < n_folds:
        raise FoldError(
            f"{n_folds} folds need at least {n_folds} subjects, the data has {n_subjects}: "
            f"lower `folds` in the config"
        )
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold = pd.Series(-1, index=videos.index, dtype=int)
    for k, (_, test) in enumerate(splitter.split(videos, videos["label"], videos["subject"])):
        fold.iloc[test] = k
    out = videos.assign(fold=fold.to_numpy())
    check_folds(out)
    return out


def check_folds(folds: pd.DataFrame) -> None:
    """Raise FoldError if a subject lands in two folds or a class is absent from a fold's
    training part (a classifier could not learn it there)."""
    per_subject = folds.groupby("subject")["fold"].nunique()
    leaked = per_subject[per_subject > 1]
    if len(leaked):
        raise FoldError(f"subjects in more than one fold: {', '.join(map(str, leaked.index))}")
    if (folds["fold"] < 0).any():
        raise FoldError("some videos were given no fold")
    classes = set(folds["label"])
    for k in sorted(folds["fold"].unique()):
        missing = classes - set(folds.loc[folds["fold"] != k, "label"])
        if missing:
            raise FoldError(
                f"fold {k}: class(es) {sorted(missing)} absent from the training part — "
                f"too few subjects show them; lower `folds` or drop those classes"
            )


def summarize(folds: pd.DataFrame) -> pd.DataFrame:
    """Videos per (fold, class), with subjects per fold: what the log shows."""
    table = folds.pivot_table(index="fold", columns="label", values="video_id", aggfunc="count",
                              fill_value=0)
    table["subjects"] = folds.groupby("fold")["subject"].nunique()
    return table


def assign_folds_file(faces_csv: str | Path, folds_csv: str | Path, *, n_folds: int,
                      seed: int) -> pd.DataFrame:
    """Read the face table, assign folds, write folds.csv and log the per-fold counts."""
    videos = pd.read_csv(faces_csv, dtype={"subject": str, "video_id": str})
    folds = assign_folds(videos, n_folds, seed)
    write_csv(folds, folds_csv)
    log.info("%d videos of %d subjects in %d folds\n%s", len(folds), folds["subject"].nunique(),
             n_folds, summarize(folds).to_string())
    return folds
