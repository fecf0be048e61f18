"""Monkey-Net training and inference on tiny procedural videos: the loss falls, a killed run
resumes to the same weights, no test subject enters training, and the trained model animates
as the registered generators ``monkeynet`` / ``fomm``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from semaug.clip import Clip, load_clip
from semaug import catalog
from semaug.folds import LeakageError
from semaug.generators import build_generator, transfer_landmarks
from semaug.generators.monkeynet.data import training_rows
from semaug.generators.monkeynet.train import train_fold
from semaug.ibug import RIGID_POINTS
from semaug.generators.monkeynet.toy import write_toy_folds

TINY = {
    "image_size": 32, "keypoints": 4, "batch_size": 4, "log_every": 5, "checkpoint_every": 1000,
    "keypoint_detector": {"block_expansion": 8, "max_features": 16, "num_blocks": 2, "scale": 0.5},
    "dense_motion": {"block_expansion": 8, "max_features": 16, "num_blocks": 2},
    "generator": {"block_expansion": 8, "max_features": 16, "res_blocks": 1},
    "discriminator": {"block_expansion": 8, "max_features": 16, "num_blocks": 2, "scales": [1.0]},
    "device": "cpu", "threads": 1,
}


@pytest.fixture(scope="module")
def toy_folds(tmp_path_factory) -> Path:
    return write_toy_folds(tmp_path_factory.mktemp("toy"), subjects=6, videos_per_subject=2,
                           n_folds=3, n_frames=8, size=32)


@pytest.fixture(scope="module")
def trained(toy_folds, tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("monkeynet")
    result = train_fold(toy_folds, 0, out, {**TINY, "iterations": 40, "lr": 1e-3, "sample_every": 20},
                        name="monkeynet")
    return result, out


def test_generator_loss_falls(trained) -> None:
    result, out = trained
    history = pd.read_csv(out / "losses.csv")
    assert len(history) == 8 and history["iteration"].iloc[-1] == 40
    assert {"reconstruction", "ssim", "gradient", "feature_matching", "gan", "equivariance_value",
            "discriminator", "generator_total"} <= set(history.columns)
    first, last = history.iloc[:2], history.iloc[-2:]
    assert last["reconstruction"].mean() < 0.8 * first["reconstruction"].mean()
    assert last["generator_total"].mean() < first["generator_total"].mean()
    assert (out / "losses.png").stat().st_size > 1000
    assert not (out / "resume.pt").exists()  # resume state is gone once model.pt is written


def test_sample_grids_are_written_every_n_iterations(trained) -> None:
    _, out = trained
    grids = sorted(p.name for p in (out / "samples").glob("*.png"))
    assert grids == ["iter_000020.png", "iter_000040.png"]  # sample_every 20, and the end
    assert (out / "samples.png").read_bytes() == (out / "samples" / "iter_000040.png").read_bytes()
    from PIL import Image

    with Image.open(out / "samples.png") as im:  # 4 columns (source, driving, warped, generated)
        assert im.width > 300 and im.height > 300


def test_checkpoint_holds_plain_data_only(trained) -> None:
    _, out = trained
    state = torch.load(out / "model.pt", weights_only=True)  # refuses pickled objects
    assert state["format"] == "semaug.monkeynet/1" and isinstance(state["options"], dict)


def test_a_fold_with_too_few_training_videos_stops_early(toy_folds, tmp_path) -> None:
    with pytest.raises(ValueError) as err:
        train_fold(toy_folds, 0, tmp_path / "few", {**TINY, "iterations": 1, "min_train_videos": 9})
    message = str(err.value)
    assert "fold 0" in message and "has 8 generator training video" in message
    assert "min_train_videos" in message and "fewer folds" in message
    assert not (tmp_path / "few").exists()  # nothing was started


def test_checkpoint_records_the_training_subjects(trained, toy_folds) -> None:
    _, out = trained
    meta = torch.load(out / "model.pt", weights_only=True)["meta"]
    folds = pd.read_csv(toy_folds, dtype={"subject": str})
    assert meta["train_subjects"] == sorted(set(folds.loc[folds["fold"] != 0, "subject"]))
    assert set(meta["excluded_subjects"]) == set(folds.loc[folds["fold"] == 0, "subject"])


class Killed(RuntimeError):
    pass


def test_killed_training_resumes_to_the_same_weights(toy_folds, tmp_path) -> None:
    torch.set_num_threads(1)
    opts = {**TINY, "iterations": 5, "log_every": 2, "checkpoint_every": 2, "first_order": True}
    straight = train_fold(toy_folds, 1, tmp_path / "straight", opts, name="fomm")

    def kill(iteration: int) -> None:
        if iteration == 3:  # after the checkpoint at 2: iteration 3 is lost and redone
            raise Killed

    with pytest.raises(Killed):
        from semaug.generators.monkeynet.train import train_generator
        from semaug.generators.monkeynet.data import load_training_videos
        from semaug.generators.monkeynet.options import MonkeyNetOptions

        o = MonkeyNetOptions.from_dict(opts)
        train_generator(load_training_videos(toy_folds, 1, 32), o, tmp_path / "killed", name="fomm",
                        meta={"dataset": "", "fold": 1, "folds_csv": str(toy_folds)}, callback=kill)
    assert (tmp_path / "killed" / "resume.pt").exists() and not (tmp_path / "killed" / "model.pt").exists()
    state = torch.load(tmp_path / "killed" / "resume.pt", weights_only=True)  # plain data only
    assert state["iteration"] == 2
    # Rerun after a code edit (the rule's code version differs): it starts over, not from the
    # old code's state.
    shutil.copytree(tmp_path / "killed", tmp_path / "edited")
    assert not train_fold(toy_folds, 1, tmp_path / "edited", opts, name="fomm", code="edited").resumed_from
    resumed = train_fold(toy_folds, 1, tmp_path / "killed", opts, name="fomm")
    assert resumed.resumed_from == 2
    a = torch.load(straight.model_path, weights_only=True)
    b = torch.load(resumed.model_path, weights_only=True)
    for part in ("kp_detector", "generator", "discriminator"):
        for name, tensor in a[part].items():
            assert torch.equal(tensor, b[part][name]), f"{part}.{name} differs after resume"
    cols = [c for c in straight.history.columns if c != "seconds"]
    pd.testing.assert_frame_equal(straight.history[cols], resumed.history[cols])


def test_no_test_subject_can_enter_training(toy_folds, tmp_path) -> None:
    folds = pd.read_csv(toy_folds, dtype={"subject": str})
    # Crafted table: one video of a fold-0 (test) subject filed under fold 1.
    test_subject = folds.loc[folds["fold"] == 0, "subject"].iloc[0]
    leaked = folds.copy()
    leaked.loc[leaked.index[(leaked["subject"] == test_subject)][0], "fold"] = 1
    leaked_csv = tmp_path / "folds.csv"
    leaked.to_csv(leaked_csv, index=False)
    with pytest.raises(LeakageError, match=test_subject):
        training_rows(leaked, 0)
    with pytest.raises(LeakageError, match=test_subject):
        train_fold(leaked_csv, 0, tmp_path / "out", {**TINY, "iterations": 1})
    assert not (tmp_path / "out" / "model.pt").exists()
    with pytest.raises(ValueError, match="fold 7 is not in the folds table"):
        training_rows(folds, 7)
    train, excluded = training_rows(folds, 0)  # the honest table trains on the other folds only
    assert set(train["subject"]).isdisjoint(excluded) and (train["fold"] != 0).all()


def test_trained_model_animates_as_the_registered_generator(trained, toy_folds) -> None:
    result, _ = trained
    assert catalog.scenario("monkeynet").learned and catalog.scenario("fomm").learned
    folds = pd.read_csv(toy_folds, dtype={"subject": str})
    source, driving = (load_clip(p) for p in folds["path"].iloc[[2, 5]])
    gen = build_generator("monkeynet", {"inference_batch_size": 3}, checkpoint=str(result.model_path),
                          device="cpu")
    clips = gen.animate_batch([(source, driving), (driving, source)])
    assert [c.frames.shape for c in clips] == [driving.frames.shape, source.frames.shape]
    # The returned landmarks: relative transfer registered on the rigid points, as landmark_warp.
    np.testing.assert_allclose(clips[0].landmarks,
                               transfer_landmarks(source.landmarks[0], driving.landmarks, RIGID_POINTS), atol=1e-4)
    # Relative transfer: at the driver's first frame the keypoints are the source's, so frame 0
    # reproduces the source frame far better than a frame of the other video does.
    err0 = np.abs(clips[0].frames[0].astype(float) - source.frames[0]).mean()
    other = np.abs(driving.frames[0].astype(float) - source.frames[0]).mean()
    assert err0 < 0.5 * other
    assert clips[0].meta["generator"] == "monkeynet"
    # Reconstruction (self-reenactment) keeps a driver's head motion, which transfer registers out.
    shifts = np.linspace(0, 4, driving.n_frames, dtype=np.float32)[:, None, None]
    moving = Clip(frames=driving.frames, landmarks=driving.landmarks + shifts)
    rebuilt = gen.reconstruct_batch([moving])[0]
    np.testing.assert_allclose(rebuilt.landmarks, moving.landmarks, atol=1e-3)
    registered = gen.animate_batch([(moving, moving)])[0]
    np.testing.assert_allclose(registered.landmarks,
                               transfer_landmarks(moving.landmarks[0], moving.landmarks, RIGID_POINTS), atol=1e-4)
    assert np.abs(registered.landmarks[-1] - rebuilt.landmarks[-1]).mean() > 2.0
    with pytest.raises(ValueError, match="first_order"):
        build_generator("fomm", {}, checkpoint=str(result.model_path), device="cpu")
    with pytest.raises(ValueError, match="unknown option"):
        build_generator("monkeynet", {"vgg": 1}, checkpoint=str(result.model_path), device="cpu")


@pytest.mark.parametrize("source,spline,mouth", [("landmarks", 0.0, False), ("mixed", 0.0, False),
                                                ("learned", 10.0, False), ("landmarks", 10.0, True)])
def test_landmark_driven_model_trains_and_animates(toy_folds, tmp_path, source, spline, mouth) -> None:
    torch.set_num_threads(1)
    opts = {**TINY, "iterations": 6, "log_every": 3, "keypoint_source": source, "sample_every": 0,
            "dense_motion": {**TINY["dense_motion"], "landmark_spline": spline},
            "generator": {**TINY.get("generator", {}), "mouth_mask": mouth}}
    result = train_fold(toy_folds, 2, tmp_path / source, opts, name="monkeynet")
    state = torch.load(result.model_path, weights_only=True)
    assert (state["kp_detector"] is None) == (source == "landmarks")
    assert (tmp_path / source / "samples.png").exists()
    folds = pd.read_csv(toy_folds, dtype={"subject": str})
    source_clip, driving = (load_clip(p) for p in folds["path"].iloc[[0, 7]])
    gen = build_generator("monkeynet", {"transfer": {"driver_frame": "best"}},
                          checkpoint=str(result.model_path), device="cpu")
    clip = gen.animate(source_clip, driving)
    assert clip.frames.shape == driving.frames.shape and np.isfinite(clip.landmarks).all()
    # Toy faces keep one shape (every frame ties for "best"): whichever frame is the reference,
    # relative transfer gives the source's own landmarks there.
    ref = clip.meta["driver_reference_frame"]
    np.testing.assert_allclose(clip.landmarks[ref], source_clip.landmarks[0], atol=1e-3)
