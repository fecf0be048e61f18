import numpy as np
import pandas as pd
import pytest

from semaug.folds import FoldError, assign_folds, check_folds


def make_videos(n_subjects=20, classes=("a", "b", "c", "d"), seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_subjects):
        for c in rng.choice(classes, size=rng.integers(1, len(classes) + 1), replace=False):
            rows.append({"video_id": f"S{s:03d}_{c}", "subject": f"{s:03d}", "label": c})
    return pd.DataFrame(rows)


def test_no_subject_in_two_folds_and_every_video_has_a_fold():
    videos = make_videos()
    folds = assign_folds(videos, 4, seed=0)
    assert len(folds) == len(videos)
    assert folds.groupby("subject")["fold"].nunique().max() == 1
    assert set(folds["fold"]) == {0, 1, 2, 3}


def test_folds_are_stratified_and_deterministic():
    videos = make_videos(n_subjects=40)
    a = assign_folds(videos, 4, seed=3)
    b = assign_folds(videos.sample(frac=1, random_state=1), 4, seed=3)
    pd.testing.assert_frame_equal(a, b)
    # each class spread over the folds: no fold holds more than half of any class
    share = a.groupby("label")["fold"].value_counts(normalize=True)
    assert share.max() < 0.5
    c = assign_folds(videos, 4, seed=4)
    assert not np.array_equal(a["fold"], c["fold"])


def test_too_few_subjects_is_a_clear_error():
    with pytest.raises(FoldError, match="at least 5 subjects"):
        assign_folds(make_videos(n_subjects=3), 5, seed=0)


def test_check_rejects_a_subject_in_two_folds():
    folds = assign_folds(make_videos(), 4, seed=0)
    folds.loc[folds.index[0], "subject"] = folds.loc[folds["fold"] != folds["fold"].iloc[0],
                                                     "subject"].iloc[0]
    with pytest.raises(FoldError, match="more than one fold"):
        check_folds(folds)


def test_class_absent_from_a_training_part_fails():
    videos = make_videos(n_subjects=12)
    videos = pd.concat([videos, pd.DataFrame([{"video_id": "rare", "subject": "000",
                                               "label": "rare"}])])
    with pytest.raises(FoldError, match="absent from the training part"):
        assign_folds(videos, 3, seed=0)
