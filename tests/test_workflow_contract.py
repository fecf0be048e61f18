"""The workflow's contract with a contributor, in a copy of the repository:

- a new generator is one module in src/semaug/generators/, a new classifier one file in
  src/semaug/models/ — no other file touched — and both run through the whole DAG;
- Snakemake reruns exactly what changed: library code (per module, by a hash in each rule's
  params) or one model's settings, and nothing for unrelated config edits.
"""

import json
import os
import re
import shutil
import textwrap

import pandas as pd
import pytest

from conftest import REPO, run_snakemake

pytestmark = pytest.mark.slow

COPY_SOURCE = '''
"""A still face: every frame is the source's first frame (the floor any generator must beat)."""

import numpy as np

from semaug.catalog import register_generator
from semaug.clip import Clip
from semaug.generators import Generator


@register_generator("copy_source")
class CopySource(Generator):
    def animate(self, source: Clip, driving: Clip) -> Clip:
        n = driving.n_frames
        return Clip(frames=np.repeat(source.frames[:1], n, 0),
                    landmarks=np.repeat(source.landmarks[:1], n, 0), meta={})
'''

TINY_MODEL = '''
"""A linear classifier on the pooled image: the smallest model the loop can train."""

import torch
from torch import nn

from ._base import BuildOptions, Classifier


class PooledLinear(Classifier):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.head = nn.Linear(3 * 16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(x).flatten(1))


def build(opts: BuildOptions) -> PooledLinear:
    return PooledLinear(opts.num_classes)
'''

CONFIG = """
datasets:
  ck_tiny:
    format: ckplus
    root: results/demo/ck_tiny
    classes: [anger, happy, surprise]
    demo: {subjects: 10, seed: 0, width: 120, height: 96, min_frames: 6, max_frames: 8, intensity: [2.8, 3.8]}
folds: 2
models: [cnn, pooled_linear]
scenarios: [original, oversample, classic, landmark_warp, copy_source]
faces: {size: 32, shards: 1}
synthesis: {previews: false, quality_videos: 4}
train:
  epochs: 1
  image_size: 16
  frames: 1
  threads: 1
  gpu: 0
  by_model:
    pooled_linear: {epochs: 2}
"""
DATA_PREPARATION = {"render_demo", "demo_contact_sheet", "index", "crop_faces", "faces_table",
                    "folds", "synthesis_plan", "synthesize", "landmark_regressor", "manifest",
                    "quality_reference", "synthesis_quality", "class_counts"}


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A copy of the repository with a new generator and a new classifier file, run once."""
    root = tmp_path_factory.mktemp("clone")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake", "results", "logs")
    for part in ("Snakefile", "workflow", "config", "profiles", "src", "envs"):
        src = REPO / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / part, **(
            {"ignore": ignore} if src.is_dir() else {}))
    (root / "src/semaug/generators/copy_source.py").write_text(COPY_SOURCE)
    (root / "src/semaug/models/pooled_linear.py").write_text(TINY_MODEL)
    (root / "tiny.yaml").write_text(CONFIG)
    result = snakemake(root, "--cores", "2")
    assert result.returncode == 0, result.stderr[-5000:]
    return root


def snakemake(root, *args, config="tiny.yaml", first_on_path=()):
    # The copy's library, not the installed checkout's.
    path = os.pathsep.join([*map(str, first_on_path), str(root / "src")])
    return run_snakemake(root, *args, "--configfile", str(root / config), snakefile=root / "Snakefile",
                         env={"PYTHONPATH": path})


def planned_jobs(root, *args, config="tiny.yaml", first_on_path=()) -> dict[str, int]:
    """What `snakemake -n` would run: {rule: count}."""
    result = snakemake(root, "-n", "--quiet", "rules", *args, config=config,
                       first_on_path=first_on_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M) if m[1] != "total"}


def planned_with(root, relpath, text="\n# an edit\n", *args) -> dict[str, int]:
    """The jobs `snakemake -n` plans after appending ``text`` to ``relpath`` (a file that
    does not exist is created); the copy is put back afterwards."""
    path = root / relpath
    original = path.read_text() if path.exists() else None
    path.write_text((original or "") + text)
    try:
        return planned_jobs(root, *args)
    finally:
        path.write_text(original) if original is not None else path.unlink()


def test_the_new_generator_and_classifier_ran_through_every_stage(clone):
    for k in (0, 1):
        fold = clone / f"results/ck_tiny/fold{k}"
        manifest = pd.read_csv(fold / "train_copy_source.csv")
        assert (manifest["origin"] == "copy_source").sum() > 0
        quality = json.loads((fold / "synthetic/copy_source/quality.json").read_text())
        assert quality["fold"] == k
        for model in ("cnn", "pooled_linear"):
            metrics = json.loads((fold / f"{model}/copy_source/seed0/metrics.json").read_text())
            assert set(metrics["labels"]) == {"anger", "happy", "surprise"}
    table = pd.read_csv(clone / "results/tables/accuracy.csv")
    assert {"copy_source", "original"} <= set(table["scenario"])
    assert planned_jobs(clone) == {}, "a finished run has nothing left to do"


def test_a_new_classifier_file_is_a_choice_of_models(clone):
    jobs = planned_with(clone, "src/semaug/models/pooled_linear_two.py", TINY_MODEL,
                        "--config", "models=[pooled_linear_two]")
    assert jobs["train"] == 2 * 5  # folds × scenarios, one seed


def test_editing_training_code_reruns_the_training_jobs_only(clone):
    jobs = planned_with(clone, "src/semaug/training/loop.py")
    assert jobs.get("train") == 2 * 2 * 5  # folds × models × scenarios
    assert not set(jobs) & DATA_PREPARATION, jobs


def test_editing_the_aggregation_reruns_the_tables_and_their_figures_only(clone):
    jobs = planned_with(clone, "src/semaug/aggregate.py")
    tables = {"accuracy_table", "accuracy_delta", "class_recall", "delta_figure", "class_delta_figure"}
    assert set(jobs) - {"all"} == tables, jobs  # no training, no synthesis, no other figure


def retrained_with(root, name, old, new) -> tuple[dict[str, int], set[str]]:
    """The jobs `snakemake -n` plans with tiny.yaml's ``old`` text replaced by ``new`` (written
    to ``name``), and the models whose training jobs are among them."""
    (root / name).write_text((root / "tiny.yaml").read_text().replace(old, new))
    planned = planned_jobs(root, config=name)
    listed = snakemake(root, "-n", config=name)
    trained = set(re.findall(r"results/ck_tiny/fold\d/(\w+)/\w+/seed0/model\.pt",
                             listed.stdout + listed.stderr))
    return planned, trained


def test_one_models_settings_rerun_that_models_jobs_only(clone):
    planned, trained = retrained_with(clone, "other.yaml", "pooled_linear: {epochs: 2}",
                                      "pooled_linear: {epochs: 3}")
    assert planned.get("train") == 2 * 5 and not set(planned) & DATA_PREPARATION, planned
    assert trained == {"pooled_linear"}, trained


def test_a_datasets_own_training_settings_rerun_its_jobs_of_that_model_only(clone):
    # pooled_linear's image size is set to the value it already has: no change, no rerun
    planned, trained = retrained_with(
        clone, "own.yaml", "    classes: [anger, happy, surprise]\n",
        "    classes: [anger, happy, surprise]\n    train: {image_size: 16, by_model: {cnn: {epochs: 2}}}\n")
    assert planned.get("train") == 2 * 5 and not set(planned) & DATA_PREPARATION, planned
    assert trained == {"cnn"}, trained


def test_a_datasets_model_list_reruns_no_preparation_and_no_training(clone):
    config = (clone / "tiny.yaml").read_text().replace(
        "    classes: [anger, happy, surprise]\n",
        "    classes: [anger, happy, surprise]\n    models: [cnn]\n")
    (clone / "fewer.yaml").write_text(config)
    planned = planned_jobs(clone, config="fewer.yaml")
    assert not set(planned) & (DATA_PREPARATION | {"train"}), planned


def dlib_looks(installed: bool, folder):
    """A folder that, first on PYTHONPATH, makes dlib look installed (an importable module and
    the model files) or missing (``import dlib`` fails)."""
    from semaug.dlib_models import FACE_RECOGNITION, MODELS_PACKAGE, PREDICTOR_68

    folder.mkdir()
    if not installed:
        (folder / "dlib.py").write_text('raise ImportError("hidden by the test")\n')
        return folder
    (folder / "dlib.py").write_text("")
    models = folder / MODELS_PACKAGE / "models"
    models.mkdir(parents=True)
    (folder / MODELS_PACKAGE / "__init__.py").write_text("")
    for name in (PREDICTOR_68, FACE_RECOGNITION):
        (models / name).write_bytes(b"")
    return folder


def test_installing_or_removing_dlib_reruns_the_quality_jobs_under_auto_only(clone, tmp_path):
    from semaug.dlib_models import dlib_available

    # the state the clone did not run in: tiny.yaml leaves synthesis.instrument at auto
    flipped = dlib_looks(dlib_available() is not None, tmp_path / "fake")
    planned = planned_jobs(clone, first_on_path=[flipped])
    assert planned.get("synthesis_quality") == 2 * 3, planned  # folds × rendering scenarios
    assert planned.get("quality_reference") == 2, planned  # one per fold, shared by its makers
    assert set(planned) == {"all", "quality_reference", "synthesis_quality",
                            "synthesis_quality_table"}, planned
    pinned = clone / "pinned.yaml"
    pinned.write_text((clone / "tiny.yaml").read_text().replace(
        "synthesis: {previews: false,", "synthesis: {instrument: ridge_regressor, previews: false,"))
    # a pinned instrument does not depend on what is installed (the pin itself is a change)
    assert planned_jobs(clone, config="pinned.yaml") == planned_jobs(
        clone, config="pinned.yaml", first_on_path=[flipped])


def test_a_script_runs_standalone_for_debugging(clone):
    """PyPSA-Eur's mock_snakemake idea: the folds script rebuilds folds.csv outside Snakemake."""
    import subprocess
    import sys

    folds = clone / "results/ck_tiny/folds.csv"
    before = folds.read_text()
    folds.unlink()
    result = subprocess.run([sys.executable, "workflow/scripts/folds.py", "ds=ck_tiny",
                             "configfile=tiny.yaml"], cwd=clone, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(clone / "src")))
    assert result.returncode == 0, result.stderr[-3000:]
    assert folds.read_text() == before


def test_the_workflow_is_usable_as_a_snakemake_module(tmp_path):
    """An outer workflow `module`-includes this one with its own config and builds a demo
    dataset's folds through the imported rules."""
    (tmp_path / "Snakefile").write_text(textwrap.dedent(f'''
        configfile: "outer.yaml"

        module semaug:
            snakefile: "{REPO / "Snakefile"}"
            config: config

        use rule * from semaug as semaug_*
    '''))
    (tmp_path / "outer.yaml").write_text(textwrap.dedent("""
        datasets:
          mine:
            format: ckplus
            root: results/demo/mine
            classes: [anger, happy, surprise]
            demo: {subjects: 6, seed: 3, width: 96, height: 80, min_frames: 5, max_frames: 6}
        folds: 2
        faces: {size: 32, shards: 1}
        train: {image_size: 32}
    """))
    result = run_snakemake(tmp_path, "results/mine/folds.csv", "--cores", "2",
                           snakefile=tmp_path / "Snakefile")
    assert result.returncode == 0, result.stderr[-4000:]
    folds = pd.read_csv(tmp_path / "results/mine/folds.csv", dtype={"subject": str})
    assert set(folds["fold"]) == {0, 1} and folds.groupby("subject")["fold"].nunique().max() == 1
