"""The results layout: templates filled and read back through one function."""

import pytest

from semaug import layout
from semaug.provenance import closure, code_version


def test_a_path_is_read_back_to_its_wildcards():
    path = layout.path(layout.TRAIN_METRICS, ds="ck", k=3, model="resnet50",
                       scenario="landmark_warp", s=2)
    assert path == "results/ck/fold3/resnet50/landmark_warp/seed2/metrics.json"
    assert layout.parse(path, layout.TRAIN_METRICS) == {
        "ds": "ck", "k": 3, "model": "resnet50", "scenario": "landmark_warp", "s": 2}
    assert layout.parse("/abs/run/" + path, layout.TRAIN_METRICS)["k"] == 3
    manifest = layout.path(layout.MANIFEST, ds="mug", k=0, scenario="copy_source")
    assert layout.parse(manifest, layout.MANIFEST)["scenario"] == "copy_source"


def test_wildcards_not_given_stay_wildcards():
    assert layout.path(layout.TRAIN, ds="ck", k=1) == "results/ck/fold1/{model}/{scenario}/seed{s}"
    assert layout.path(layout.FOLDS, root="") == "{ds}/folds.csv"


def test_a_path_of_another_shape_names_the_expected_one():
    with pytest.raises(ValueError, match=r"is not a results/\{ds\}/fold\{k\}/.*metrics.json path"):
        layout.parse("results/ck/foldX/cnn/original/seed0/metrics.json", layout.TRAIN_METRICS)


def test_code_versions_follow_imports_not_the_whole_package():
    training = closure("semaug.training")
    assert "semaug.training.loop" in training and "semaug.metrics" in training
    assert "semaug.aggregate" not in training and "semaug.figures" not in training
    assert "semaug.training.loop" not in closure("semaug.aggregate")
    assert code_version("semaug.training") != code_version("semaug.aggregate")
    assert code_version("semaug.training") == code_version("semaug.training")
    with pytest.raises(ValueError, match="not a module of the semaug package"):
        closure("semaug.no_such_module")
