"""Synthesis plan: targets reached, training subjects only, deterministic, leakage refused."""

import numpy as np
import pandas as pd
import pytest

from semaug.synthesis.plan import (LeakageError, check_plan, class_targets, make_plan, plan_file,
                                   read_plan, split_fold)


def folds_table(counts: dict[str, int], n_subjects: int = 9, n_folds: int = 3) -> pd.DataFrame:
    rows, j = [], 0
    for label, n in counts.items():
        for _ in range(n):
            s = f"{j % n_subjects:03d}"
            rows.append({"video_id": f"v{j:03d}", "subject": s, "label": label,
                         "path": f"clips/v{j:03d}.npz", "fold": int(s) % n_folds})
            j += 1
    return pd.DataFrame(rows)


COUNTS = {"happy": 30, "surprise": 14, "sadness": 7, "contempt": 4}


@pytest.mark.parametrize("balance", ["max", "median", 12])
def test_plan_fills_each_class_to_the_target(balance):
    folds = folds_table(COUNTS)
    for k in range(3):
        train, _ = split_fold(folds, k)
        plan, targets = make_plan(folds, k, balance=balance)
        after = train["label"].value_counts().add(plan["label"].value_counts(), fill_value=0)
        target = targets["target"].iloc[0]
        expected = {"max": train["label"].value_counts().max(),
                    "median": int(np.ceil(train["label"].value_counts().median())), 12: 12}[balance]
        assert target == expected
        for label, n in train["label"].value_counts().items():
            assert after[label] == max(n, target)
        assert (targets["n_planned"] == targets["deficit"]).all()


def test_plan_uses_training_subjects_only_and_other_identities():
    folds = folds_table(COUNTS)
    for k in range(3):
        plan, _ = make_plan(folds, k)
        _, test = split_fold(folds, k)
        assert not set(plan["source_subject"]) & set(test["subject"])
        assert not set(plan["driver_subject"]) & set(test["subject"])
        assert (plan["source_subject"] != plan["driver_subject"]).all()
        # drivers are videos of the row's class; sources are any class
        label_of = dict(zip(folds["video_id"], folds["label"]))
        assert all(label_of[v] == lab for v, lab in zip(plan["driver_video"], plan["label"]))
        check_plan(plan, folds, k)  # no error


def test_sources_spread_evenly_and_prefer_subjects_without_the_class():
    folds = folds_table({"happy": 40, "contempt": 2}, n_subjects=10, n_folds=2)
    plan, _ = make_plan(folds, 0)
    train, _ = split_fold(folds, 0)
    has_contempt = set(train.loc[train["label"] == "contempt", "subject"])
    assert not set(plan["source_subject"]) & has_contempt
    uses = plan["source_subject"].value_counts()
    assert uses.max() - uses.min() <= 1
    # drivers round-robin: each contempt training video drives the same number of rows (±1)
    drives = plan["driver_video"].value_counts()
    assert drives.max() - drives.min() <= 1


def test_plan_is_deterministic_and_seed_dependent():
    folds = folds_table(COUNTS)
    a, _ = make_plan(folds, 1, seed=3)
    b, _ = make_plan(folds.sample(frac=1, random_state=0), 1, seed=3)  # row order must not matter
    pd.testing.assert_frame_equal(a, b)
    c, _ = make_plan(folds, 1, seed=4)
    assert not a[["source_video", "driver_video"]].equals(c[["source_video", "driver_video"]])
    assert a["seed"].is_unique


def test_leakage_check_fails_on_a_crafted_plan():
    folds = folds_table(COUNTS)
    plan, _ = make_plan(folds, 0)
    _, test = split_fold(folds, 0)
    bad = plan.copy()
    t = test.iloc[0]
    bad.loc[0, ["source_video", "source_subject"]] = [t["video_id"], t["subject"]]
    with pytest.raises(LeakageError, match="test subject"):
        check_plan(bad, folds, 0)
    bad = plan.copy()
    bad.loc[1, "driver_subject"] = test["subject"].iloc[0]  # subject relabelled, video kept
    with pytest.raises(LeakageError):
        check_plan(bad, folds, 0)


def test_balanced_fold_gives_an_empty_plan_and_files_roundtrip(tmp_path):
    folds = folds_table({"a": 9, "b": 9})
    folds.to_csv(tmp_path / "folds.csv", index=False)
    plan = plan_file(str(tmp_path / "folds.csv"), 0, str(tmp_path / "plan.csv"),
                     str(tmp_path / "targets.csv"))
    assert len(plan) == 0
    assert list(read_plan(str(tmp_path / "plan.csv")).columns) == list(plan.columns)
    targets = pd.read_csv(tmp_path / "targets.csv")
    assert targets["deficit"].sum() == 0


def test_class_targets_rejects_bad_balance():
    with pytest.raises(ValueError):
        class_targets(pd.DataFrame({"label": ["a", "b"]}), "mean")
