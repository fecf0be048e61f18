"""Paired statistics of a scenario against ``original`` on the same test videos.

Every function here is pure (arrays in, numbers out), so its numbers can be checked on known
inputs; :mod:`semaug.aggregate` gathers the predictions and writes the tables.

* :func:`paired_bootstrap_delta`: Δ normalized accuracy (= balanced accuracy, the mean
  per-class recall, as in :mod:`semaug.metrics`) with a percentile confidence interval from a
  bootstrap over *test subjects*: a subject's videos share a face and are not independent, so
  the resampling unit is the subject, and both arms are scored on the same resample.
* :func:`mcnemar_exact`: exact McNemar test on per-video correctness (two-sided binomial test
  on the discordant videos).
* :func:`holm`: Holm's step-down adjustment across the scenarios compared with ``original``.
* :func:`wilcoxon_runs`: the Wilcoxon signed-rank test over (fold, seed) pairs of run scores,
  run only where it can reach p < 0.05 (≥ 6 non-zero pairs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, wilcoxon

# The smallest two-sided p a Wilcoxon signed-rank test can give on n non-zero pairs is
# 2 / 2**n: 0.0625 for n = 5, 0.031 for n = 6. Below 6 pairs it cannot reach p < 0.05.
MIN_PAIRS = 6
N_RESAMPLES = 10_000
CONFIDENCE = 0.95
# Resamples drawn at once: a [chunk, subjects] count matrix stays a few MB.
_CHUNK = 1_000


@dataclass(frozen=True)
class BootstrapDelta:
    """Δ = scenario − baseline normalized accuracy (fractions) on all videos, with its CI."""

    delta: float
    low: float
    high: float
    n_resamples: int
    n_subjects: int
    n_videos: int


@dataclass(frozen=True)
class McNemar:
    """Discordant videos (baseline right / scenario wrong = b; the reverse = c) and exact p."""

    b: int
    c: int
    p_value: float


def _codes(values: Sequence[object]) -> tuple[np.ndarray, int]:
    _, codes = np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)
    return codes.astype(np.int64), int(codes.max()) + 1 if len(codes) else 0


def _recall_mean(totals: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """Mean per-class recall over the classes with videos: totals, hits [R, C] → [R]."""
    present = totals > 0
    recall = np.divide(hits, totals, out=np.zeros_like(hits, dtype=float), where=present)
    return recall.sum(axis=1) / present.sum(axis=1)


def weighted_normalized_accuracy(labels: np.ndarray, correct: np.ndarray, weights: np.ndarray
                                 ) -> np.ndarray:
    """Balanced accuracy of each row of ``weights`` [R, V] over V videos of class codes
    ``labels`` [V] (ints) with per-video ``correct`` [V] (bool): per class, the weighted share
    of its videos predicted right; then the mean over the classes with weight > 0 (as
    scikit-learn leaves out classes absent from the truth). Returns [R]."""
    onehot = np.eye(int(labels.max()) + 1)[labels]  # [V, C]
    return _recall_mean(weights @ onehot, weights @ (onehot * correct[:, None]))


def paired_bootstrap_delta(labels: Sequence[object], correct_base: Sequence[bool],
                           correct: Sequence[bool], subjects: Sequence[object], *,
                           n_resamples: int = N_RESAMPLES, seed: int = 0,
                           confidence: float = CONFIDENCE) -> BootstrapDelta:
    """Δ normalized accuracy (scenario − baseline) and its percentile bootstrap CI.

    One entry per paired test video (a video tested in several seeds is several entries of
    the same subject). Each resample draws the subjects with replacement (as many as there
    are) and takes all the entries of every drawn subject, once per draw, for both arms; both
    arms' normalized accuracies are recomputed on it. ``seed`` fixes the draws.
    """
    label_codes, n_classes = _codes(labels)
    subject_codes, n_subjects = _codes(subjects)
    base = np.asarray(correct_base, dtype=bool)
    scen = np.asarray(correct, dtype=bool)
    if not (len(label_codes) == len(base) == len(scen) == len(subject_codes)):
        raise ValueError("labels, correct_base, correct and subjects must have one entry per video")
    if len(label_codes) == 0:
        raise ValueError("no paired videos to compare")

    # Per subject and class: videos, and those each arm got right [S, C]. A resample's counts
    # are then (times each subject was drawn) @ these: the same as repeating its videos.
    cell = subject_codes * n_classes + label_codes

    def per_subject(mask: np.ndarray) -> np.ndarray:
        return np.bincount(cell[mask], minlength=n_subjects * n_classes).reshape(
            n_subjects, n_classes).astype(float)

    everything = np.ones(len(cell), dtype=bool)
    totals, hits_base, hits_scen = per_subject(everything), per_subject(base), per_subject(scen)
    delta = float(_recall_mean(totals.sum(0, keepdims=True), hits_scen.sum(0, keepdims=True))[0]
                  - _recall_mean(totals.sum(0, keepdims=True), hits_base.sum(0, keepdims=True))[0])
    rng = np.random.default_rng(seed)
    deltas = []
    for start in range(0, n_resamples, _CHUNK):
        r = min(_CHUNK, n_resamples - start)
        drawn = rng.integers(0, n_subjects, size=(r, n_subjects))  # [r, S] subject draws
        flat = (np.arange(r)[:, None] * n_subjects + drawn).ravel()
        times = np.bincount(flat, minlength=r * n_subjects).reshape(r, n_subjects).astype(float)
        resampled = times @ totals  # [r, C]
        deltas.append(_recall_mean(resampled, times @ hits_scen)
                      - _recall_mean(resampled, times @ hits_base))
    alpha = 1.0 - confidence
    low, high = np.quantile(np.concatenate(deltas), [alpha / 2, 1 - alpha / 2])
    return BootstrapDelta(delta=delta, low=float(low), high=float(high), n_resamples=n_resamples,
                          n_subjects=n_subjects, n_videos=len(label_codes))


def mcnemar_exact(correct_base: Sequence[bool], correct: Sequence[bool]) -> McNemar:
    """Exact McNemar test: two-sided binomial test (p = 1/2) of b against b + c discordant
    videos; p = 1 when no video is discordant."""
    base = np.asarray(correct_base, dtype=bool)
    scen = np.asarray(correct, dtype=bool)
    if base.shape != scen.shape:
        raise ValueError(f"{base.shape[0]} baseline and {scen.shape[0]} scenario outcomes: not paired")
    b = int(np.sum(base & ~scen))
    c = int(np.sum(~base & scen))
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return McNemar(b=b, c=c, p_value=p)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels' multipletests); NaN entries stay NaN and do not
    count as tests."""
    from statsmodels.stats.multitest import multipletests  # a second of imports: only here

    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, math.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def wilcoxon_runs(diff: Sequence[float]) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p over paired run differences (fold × seed), and a note
    when there is none: no difference, or fewer than MIN_PAIRS non-zero pairs."""
    diff = np.asarray(diff, dtype=float)
    nonzero = int(np.count_nonzero(diff))
    if nonzero == 0:
        return math.nan, f"n={len(diff)} pairs: no difference"
    if nonzero < MIN_PAIRS:
        extra = f" ({nonzero} non-zero)" if nonzero < len(diff) else ""
        return math.nan, f"n={len(diff)} pairs{extra}: too few for a test"
    return float(wilcoxon(diff).pvalue), ""
