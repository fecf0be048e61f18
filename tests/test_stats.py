"""Paired statistics on known inputs: subject bootstrap of Δ, exact McNemar, Holm, Wilcoxon."""

import math

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from semaug.stats import (MIN_PAIRS, holm, mcnemar_exact, paired_bootstrap_delta,
                          weighted_normalized_accuracy, wilcoxon_runs)


def test_a_scenario_against_itself_has_a_zero_ci_and_mcnemar_p_one():
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b", "c"], 60)
    correct = rng.random(60) < 0.6
    subjects = [f"S{i // 3}" for i in range(60)]
    boot = paired_bootstrap_delta(labels, correct, correct, subjects, n_resamples=500, seed=1)
    assert (boot.delta, boot.low, boot.high) == (0.0, 0.0, 0.0)
    assert boot.n_subjects == 20 and boot.n_videos == 60 and boot.n_resamples == 500
    test = mcnemar_exact(correct, correct)
    assert (test.b, test.c, test.p_value) == (0, 0, 1.0)


def test_mcnemar_is_the_exact_binomial_on_the_discordant_videos():
    # 2 videos only the baseline got right, 10 only the scenario: two-sided binomial, n=12.
    base = [True] * 2 + [False] * 10 + [True] * 30 + [False] * 5
    scen = [False] * 2 + [True] * 10 + [True] * 30 + [False] * 5
    test = mcnemar_exact(base, scen)
    assert (test.b, test.c) == (2, 10)
    assert test.p_value == pytest.approx(2 * (1 + 12 + 66) / 2**12)  # 0.0386
    assert mcnemar_exact(scen, base).p_value == pytest.approx(test.p_value)  # symmetric


def test_mcnemar_rejects_unpaired_outcomes():
    with pytest.raises(ValueError, match="not paired"):
        mcnemar_exact([True, False], [True])


def test_holm_on_known_p_values():
    # sorted 0.01, 0.03, 0.04 → ×3, ×2, ×1 = 0.03, 0.06, 0.04 → running max 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    adjusted = holm([0.01, math.nan, 0.04])  # a missing p is not a test
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1])
    assert adjusted[2] == pytest.approx(0.04)


def test_weighted_score_is_sklearn_balanced_accuracy_with_sample_weights():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 50)
    pred = np.where(rng.random(50) < 0.5, labels, rng.integers(0, 4, 50))
    weights = rng.integers(0, 3, (5, 50)).astype(float)
    ours = weighted_normalized_accuracy(labels, pred == labels, weights)
    for w, score in zip(weights, ours):
        assert score == pytest.approx(balanced_accuracy_score(labels, pred, sample_weight=w))


def test_delta_is_the_difference_of_balanced_accuracies():
    labels = ["a"] * 4 + ["b"] * 2
    base = [True, True, False, False, True, False]  # recall a 1/2, b 1/2 → 0.5
    scen = [True, True, True, False, True, True]  # a 3/4, b 1 → 0.875
    boot = paired_bootstrap_delta(labels, base, scen, list("ppqqrr"), n_resamples=200)
    assert boot.delta == pytest.approx(0.375)
    assert boot.low <= boot.delta <= boot.high


def test_bootstrap_resamples_subjects_not_videos():
    # One subject with 50 videos, all gained by the scenario; 49 subjects with one video each
    # that both arms get right. Δ = 50/99. A subject is left out of a resample with
    # probability (1 - 1/50)**50 ≈ 0.36, so the lower CI bound is exactly 0; resampling the
    # 99 videos instead would put it near 0.40.
    subjects = ["big"] * 50 + [f"s{i}" for i in range(49)]
    base = [False] * 50 + [True] * 49
    scen = [True] * 99
    labels = ["x"] * 99
    boot = paired_bootstrap_delta(labels, base, scen, subjects, n_resamples=2000, seed=0)
    assert boot.delta == pytest.approx(50 / 99)
    assert boot.low == 0.0
    assert boot.high > 0.6  # drawn twice or more: the gain weighs more than once


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(5)
    labels = rng.choice(["a", "b"], 40)
    base, scen = rng.random(40) < 0.5, rng.random(40) < 0.7
    subjects = [f"S{i // 4}" for i in range(40)]
    one = paired_bootstrap_delta(labels, base, scen, subjects, n_resamples=300, seed=7)
    two = paired_bootstrap_delta(labels, base, scen, subjects, n_resamples=300, seed=7)
    other = paired_bootstrap_delta(labels, base, scen, subjects, n_resamples=300, seed=8)
    assert (one.low, one.high) == (two.low, two.high)
    assert (one.low, one.high) != (other.low, other.high)


def test_bootstrap_rejects_ragged_input():
    with pytest.raises(ValueError, match="one entry per video"):
        paired_bootstrap_delta(["a", "b"], [True, False], [True], ["s", "t"])


def test_wilcoxon_runs_only_from_six_non_zero_pairs():
    p, note = wilcoxon_runs([0.01, 0.02, 0.03, 0.04, 0.05, 0.06])
    assert p == pytest.approx(2 / 2**MIN_PAIRS) and note == ""
    p, note = wilcoxon_runs([0.01, 0.02])
    assert math.isnan(p) and note == "n=2 pairs: too few for a test"
    p, note = wilcoxon_runs([0.0, 0.0])
    assert math.isnan(p) and note == "n=2 pairs: no difference"
