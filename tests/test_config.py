import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from semaug.config import explain_config_error

REPO = Path(__file__).resolve().parents[1]
SCHEMA = str(REPO / "workflow/schemas/config.schema.yaml")
DEMO = yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_demo_config_is_valid_and_defaults_are_filled():
    config = copy.deepcopy(DEMO)
    validate(config, schema=SCHEMA)
    assert config["fold_seed"] == 0
    assert config["faces"]["max_missing"] == 0.2
    assert config["datasets"]["ck_demo"]["subject_regex"]
    assert config["datasets"]["mug_demo"]["landmarks"] == "dataset"


def test_landmark_backend_defaults_by_format():
    from semaug.formats import default_landmarks

    assert default_landmarks("ckplus") == "dataset"
    assert default_landmarks("folder") == "face_alignment"


def test_minimal_user_config_gets_all_defaults():
    config = {"datasets": {"mine": {"format": "folder", "root": "/data/videos"}}}
    validate(config, schema=SCHEMA)
    assert config["folds"] == 5 and config["seeds"] == [0]
    assert "landmarks" not in config["datasets"]["mine"]  # filled per format by the Snakefile
    assert config["faces"]["size"] == 64


@pytest.mark.parametrize(
    "mutate, where, what",
    [
        (lambda c: c["datasets"]["ck_demo"].update(landmark="dataset"), "datasets.ck_demo",
         "'landmark' was unexpected"),
        (lambda c: c.update(folds="five"), "folds", "not of type 'integer'"),
        (lambda c: c["datasets"]["ck_demo"].update(format="avi"), "datasets.ck_demo.format",
         "is not one of"),
        (lambda c: c["faces"].update(size=4), "faces.size", "less than the minimum"),
        (lambda c: c.update(colour="red"), "(top level)", "'colour' was unexpected"),
    ],
)
def test_bad_config_names_the_key(mutate, where, what):
    config = copy.deepcopy(DEMO)
    mutate(config)
    with pytest.raises(WorkflowError):
        validate(copy.deepcopy(config), schema=SCHEMA)
    message = explain_config_error(config, SCHEMA)
    assert f"`{where}`" in message and what in message


@pytest.mark.slow
def test_snakemake_stops_on_bad_config_before_any_job(tmp_path, snakemake_run):
    (tmp_path / "bad.yaml").write_text(
        "datasets:\n  ck: {format: ckplus, root: /nowhere, landmark: dataset}\n")
    result = snakemake_run(tmp_path, "-n", "--configfile", str(tmp_path / "bad.yaml"))
    assert result.returncode != 0
    assert "invalid config at `datasets.ck`" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_missing_root_says_what_was_expected(tmp_path, snakemake_run):
    (tmp_path / "mine.yaml").write_text(
        "datasets:\n  mug: {format: mug, root: /nowhere/mug}\n")
    result = snakemake_run(tmp_path, "-n", "--configfile", str(tmp_path / "mine.yaml"))
    out = result.stderr + result.stdout
    assert result.returncode != 0
    assert "datasets.mug.root" in out and "subjects3/<subject>/[session<N>/]<expression>" in out
