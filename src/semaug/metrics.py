"""Classification scores: the study's "normalized accuracy" and the metrics.json contract.

The study reports "normalized accuracy": the mean of the diagonal of the row-normalised
confusion matrix, i.e. the mean per-class recall (= scikit-learn's balanced accuracy).

The scores are computed here from the confusion counts with numpy, by scikit-learn's
definitions (tests/test_metrics.py checks them against scikit-learn on random labels): every
training job scores its test fold, and importing scikit-learn (with scipy.stats) costs about
2 s of each job's start-up, a third of its imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .classes import default_classes

# A published row-normalised matrix is rounded to 2 decimals, so its rows sum to 1 ± a few
# hundredths. Rows within this distance of 1 are taken as already normalised.
ROUNDING_TOL = 0.05


def row_normalize(confusion: np.ndarray) -> np.ndarray:
    """Divide each row by its sum; an empty row (class absent from the truth) stays zero."""
    cm = np.asarray(confusion, dtype=np.float64)
    sums = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, sums, out=np.zeros_like(cm), where=sums > 0)


def normalized_accuracy(confusion: np.ndarray | Sequence[Sequence[float]]) -> float:
    """Mean of the diagonal of the row-normalised confusion matrix (rows = true class).

    Accepts raw counts or an already row-normalised (possibly rounded) matrix: a row whose
    sum is within ROUNDING_TOL of 1 is used as printed, so the study's tables give its printed
    figures; any other row is divided by its sum (a count row summing to exactly 1 is the
    same either way). Rows summing to 0 (a class with no test sample) are left out, as
    scikit-learn's balanced_accuracy_score leaves them out.
    """
    cm = np.asarray(confusion, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    sums = cm.sum(axis=1)
    present = sums > 0
    if not present.any():
        raise ValueError("confusion matrix is empty")
    as_printed = np.abs(sums - 1.0) <= ROUNDING_TOL
    recall = np.where(as_printed, np.diag(cm), np.diag(cm) / np.where(present, sums, 1.0))
    return float(recall[present].mean())


def class_order(dataset: dict[str, Any], labels: Sequence[str]) -> list[str]:
    """A dataset's classes in order (its config's `classes`, else its format's, else sorted),
    keeping those that occur in ``labels``: the order of outputs and confusion matrices."""
    present = set(labels)
    order = dataset.get("classes") or default_classes(dataset.get("format", "folder")) or sorted(present)
    return [c for c in order if c in present]


def confusion_counts(y_true: Sequence[object], y_pred: Sequence[object],
                     labels: Sequence[object]) -> np.ndarray:
    """Counts [true, predicted] in ``labels`` order (int64); samples whose truth or prediction
    is not among ``labels`` are left out (as scikit-learn's ``confusion_matrix(labels=...)``)."""
    index = {lab: i for i, lab in enumerate(labels)}
    t = np.array([index.get(y, -1) for y in y_true], dtype=np.int64)
    p = np.array([index.get(y, -1) for y in y_pred], dtype=np.int64)
    if t.shape != p.shape:
        raise ValueError(f"{len(t)} true and {len(p)} predicted labels")
    keep = (t >= 0) & (p >= 0)
    n = len(index)
    return np.bincount(t[keep] * n + p[keep], minlength=n * n).reshape(n, n)


def scores(y_true: Sequence[object], y_pred: Sequence[object]) -> dict[str, float]:
    """accuracy, normalized_accuracy (balanced accuracy: mean recall over the classes present
    in ``y_true``) and macro_f1 (mean F1 over the classes in truth or prediction, 0 where a
    class has no true and no predicted sample), by scikit-learn's definitions."""
    y_true, y_pred = list(y_true), list(y_pred)
    if not y_true or len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true and {len(y_pred)} predicted labels: need the same, > 0")
    classes = sorted(set(y_true) | set(y_pred), key=str)
    counts = confusion_counts(y_true, y_pred, classes)
    tp = np.diag(counts).astype(np.float64)
    support = counts.sum(axis=1)  # true samples per class
    predicted = counts.sum(axis=0)
    present = support > 0
    f1_denominator = support + predicted  # 2tp + fp + fn
    f1 = np.divide(2 * tp, f1_denominator, out=np.zeros_like(tp), where=f1_denominator > 0)
    return {
        "accuracy": float(tp.sum() / len(y_true)),
        "normalized_accuracy": float((tp[present] / support[present]).mean()),
        "macro_f1": float(f1.mean()),
    }


def classification_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """The metrics.json keys for one level (frames or videos).

    ``labels`` fixes the order of the confusion matrices' rows/columns (true × predicted).
    """
    labels = list(labels)
    y_true, y_pred = list(y_true), list(y_pred)
    counts = confusion_counts(y_true, y_pred, labels)
    return {
        "n": len(y_true),
        **scores(y_true, y_pred),
        "per_class_recall": {
            lab: (float(counts[i, i] / counts[i].sum()) if counts[i].sum() else None)
            for i, lab in enumerate(labels)
        },
        "confusion": counts.astype(int).tolist(),
        "confusion_normalized": np.round(row_normalize(counts), 6).tolist(),
        "labels": labels,
    }


def evaluation_metrics(
    video_true: Sequence[str],
    video_pred: Sequence[str],
    frame_true: Sequence[str],
    frame_pred: Sequence[str],
    labels: Sequence[str],
) -> dict[str, Any]:
    """metrics.json: video level at the top level, frame level under ``frames``."""
    out = classification_metrics(video_true, video_pred, labels)
    out["frames"] = classification_metrics(frame_true, frame_pred, labels)
    return out
