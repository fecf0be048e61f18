"""The `train:` defaults are the study's; the demo's small sizes live in config/config.yaml only;
a job logs the settings it used."""

import copy
import dataclasses
import logging
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from semaug.config import train_settings
from semaug.training import TrainConfig

REPO = Path(__file__).resolve().parents[1]
SCHEMA = str(REPO / "workflow/schemas/config.schema.yaml")
TRAIN_SCHEMA = yaml.safe_load(Path(SCHEMA).read_text())["properties"]["train"]["properties"]


def test_schema_default_epochs_is_the_studys_50():
    assert TRAIN_SCHEMA["epochs"]["default"] == 50
    assert TRAIN_SCHEMA["batch_size"]["default"] == 32
    assert TRAIN_SCHEMA["frames"]["default"] == "all"


def test_a_config_without_train_block_trains_as_the_study():
    config = {"datasets": {"mine": {"format": "folder", "root": "/data/videos"}}}
    validate(config, schema=SCHEMA)
    cfg = TrainConfig.from_config(train_settings(config, "mobilenet", "mine"))
    assert (cfg.epochs, cfg.batch_size, cfg.frames, cfg.image_size, cfg.pretrained) == (
        50, 32, "all", 224, "imagenet")


def test_dataclass_defaults_equal_the_schemas():
    for field in dataclasses.fields(TrainConfig):
        if field.name in TRAIN_SCHEMA and "default" in TRAIN_SCHEMA[field.name] and field.name != "augment":
            assert getattr(TrainConfig(), field.name) == TRAIN_SCHEMA[field.name]["default"], field.name


def test_the_demo_sets_its_small_sizes_itself():
    demo = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for key in ("epochs", "image_size", "frames", "pretrained"):
        assert key in demo["train"], key
    config = copy.deepcopy(demo)
    validate(config, schema=SCHEMA)
    assert TrainConfig.from_config(train_settings(config, "cnn", "ck_demo")).epochs < 50


def test_settings_are_logged_at_job_start(tmp_path, caplog):
    from semaug.training import train_job

    folds = tmp_path / "folds.csv"
    folds.write_text("video_id,subject,label,path,fold\n")  # no test videos: stops after logging
    cfg = TrainConfig(epochs=7, pretrained="none")
    with caplog.at_level(logging.INFO, logger="semaug.training"):
        with pytest.raises(ValueError, match="fold 0 is not in the folds table"):
            train_job(manifest=folds, folds=folds, fold=0, model_name="cnn", dataset={},
                      cfg=cfg, seed=0, out_dir=tmp_path / "out")
    first = caplog.records[0].getMessage()
    assert first.startswith("training cnn (fold 0, seed 0) with epochs=7 batch_size=32")
    assert "frames=all" in first and "pretrained=none" in first
