"""End to end: snakemake renders tiny demo datasets in both layouts and runs them through
index -> face crops -> folds, as a user would."""

import json

import numpy as np
import pandas as pd
import pytest

from semaug.clip import load_clip
from semaug.ibug import MEAN_FACE, eye_centres

pytestmark = pytest.mark.slow

CONFIG = """
datasets:
  ck_tiny:
    format: ckplus
    root: results/demo/ck_tiny
    demo: {subjects: 16, seed: 0, width: 160, height: 120, min_frames: 6, max_frames: 8}
  mug_tiny:
    format: mug
    root: results/demo/mug_tiny
    demo: {subjects: 6, seed: 1, width: 96, height: 96, min_frames: 6, max_frames: 8}
folds: 2
faces: {size: 32, shards: 2}
train: {image_size: 32}   # crops are at least the classifiers' input (check_face_size)
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from conftest import run_snakemake

    work = tmp_path_factory.mktemp("foundation")
    (work / "tiny.yaml").write_text(CONFIG)
    targets = [f"results/{ds}/{name}" for ds in ("ck_tiny", "mug_tiny")
               for name in ("folds.csv", "demo_contact_sheet.png")]
    # targets first: --configfile takes several values and would swallow them
    result = run_snakemake(work, *targets, "--cores", "2", "--configfile", str(work / "tiny.yaml"))
    assert result.returncode == 0, result.stderr[-4000:]
    return work


@pytest.mark.parametrize("ds", ["ck_tiny", "mug_tiny"])
def test_every_indexed_video_is_cropped_and_folded(workdir, ds):
    index = pd.read_csv(workdir / f"results/{ds}/index.csv", dtype={"subject": str})
    faces = pd.read_csv(workdir / f"results/{ds}/faces.csv", dtype={"subject": str})
    folds = pd.read_csv(workdir / f"results/{ds}/folds.csv", dtype={"subject": str})
    sentinel = json.loads((workdir / f"results/demo/{ds}/.semaug_demo.json").read_text())
    assert len(index) > 10
    assert set(faces["video_id"]) == set(index["video_id"])
    assert set(folds["video_id"]) == set(faces["video_id"])
    assert folds.groupby("subject")["fold"].nunique().max() == 1
    assert set(folds["fold"]) == {0, 1}
    assert (workdir / f"results/{ds}/demo_contact_sheet.png").stat().st_size > 1000
    # The render recorded what it made: every labelled sequence it wrote is in the index.
    rendered = {label: n for label, n in sentinel["counts"].items() if n}
    assert rendered == index["label"].value_counts().to_dict()
    for path, preview in zip(faces["path"], faces["preview"]):
        assert (workdir / path).exists() and (workdir / preview).exists()


@pytest.mark.parametrize("ds", ["ck_tiny", "mug_tiny"])
def test_crops_put_the_eyes_on_the_template(workdir, ds):
    faces = pd.read_csv(workdir / f"results/{ds}/faces.csv")
    template_eyes = eye_centres(MEAN_FACE) * 32
    for path in faces["path"][:5]:
        clip = load_clip(workdir / path)
        assert clip.frames.shape[1:] == (32, 32, 3)
        assert clip.landmarks.shape == (clip.n_frames, 68, 2)
        error = np.abs(eye_centres(clip.landmarks) - template_eyes).max()
        assert error < 1.0, f"{path}: eyes {error:.2f} px off the template"


def test_ckplus_unlabelled_sequences_are_reported(workdir):
    rejects = pd.read_csv(workdir / "results/ck_tiny/index_rejects.csv")
    assert rejects["reason"].str.startswith("unlabelled").any()
    log = (workdir / "logs/index/ck_tiny.log").read_text()
    assert "unlabelled" in log


def test_mug_neutral_takes_are_excluded(workdir):
    index = pd.read_csv(workdir / "results/mug_tiny/index.csv")
    rejects = pd.read_csv(workdir / "results/mug_tiny/index_rejects.csv")
    assert "neutral" not in set(index["label"])
    assert rejects["reason"].str.startswith("neutral excluded").any()
