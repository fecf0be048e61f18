"""Training: data on the device, the loop (learning, determinism, resume), a whole job."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from semaug.clip import Clip, save_clip
from semaug.models import build_model
from semaug.models._base import IMAGENET_MEAN, IMAGENET_STD, BuildOptions
from semaug.training import (
    RESUME_FILE, Augment, BatchPipeline, TrainConfig, fit, load_frameset, predict, select_frames,
    train_job,
)
from semaug.training.data import clip_indices
from semaug.config import train_settings

torch.set_num_threads(1)
CLASSES = ["anger", "disgust", "fear"]
SIZE = 16


def _clip(label: int, rng: np.random.Generator, frames: int = 4) -> Clip:
    """A noisy frame with a class-coloured square whose position depends on the class."""
    x = rng.integers(0, 80, (frames, SIZE, SIZE, 3), dtype=np.uint8)
    x[:, 3:9, 2 + 4 * label:8 + 4 * label, label] = 230
    return Clip(x, np.zeros((frames, 68, 2), np.float32), {"label": label})


def _write_fold(root, n_subjects, make_clip):
    """Clips ``make_clip(class_index, subject) -> Clip`` for every subject × class, fold =
    subject % 2; writes folds.csv and fold 0's train_original.csv, returns both paths."""
    rows = []
    for subject in range(n_subjects):
        for c, label in enumerate(CLASSES):
            vid = f"{subject:03d}_{label}"
            clip = make_clip(c, subject)
            path = save_clip(root / f"{vid}.npz", clip)
            rows.append({"video_id": vid, "subject": f"{subject:03d}", "label": label,
                         "n_frames": clip.n_frames, "path": str(path), "fold": subject % 2})
    folds = pd.DataFrame(rows)
    folds.to_csv(root / "folds.csv", index=False)
    train = folds[folds["fold"] != 0].assign(driver_subject="", synthetic=False)
    train = train[["video_id", "path", "label", "subject", "driver_subject", "synthetic"]]
    train.to_csv(root / "train_original.csv", index=False)
    return root / "folds.csv", root / "train_original.csv"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """6 subjects × 3 classes; fold = subject % 2. Returns (folds.csv, train manifest of fold 0)."""
    rng = np.random.default_rng(0)
    return _write_fold(tmp_path_factory.mktemp("tiny"), 6,
                       lambda c, subject: _clip(c, rng, frames=3 + subject % 3))


def test_select_frames():
    assert list(select_frames(5, "all")) == [0, 1, 2, 3, 4]
    assert list(select_frames(5, 2)) == [3, 4]
    assert list(select_frames(2, 3)) == [0, 1]


def test_frames_loaded_once_as_uint8(tiny):
    _, manifest = tiny
    table = pd.read_csv(manifest)
    doubled = pd.concat([table, table.iloc[:2]], ignore_index=True)  # oversampling repeats rows
    data = load_frameset(doubled, CLASSES, frames=2, image_size=12, device="cpu")
    assert data.store.dtype == torch.uint8 and data.store.shape[1:] == (3, 12, 12)
    assert data.store.shape[0] == 2 * len(table)  # a repeated clip is stored once...
    assert len(data) == 2 * len(doubled)  # ...but sampled as often as it is listed
    assert data.video.max().item() == len(doubled) - 1
    assert [CLASSES[i] for i in data.video_labels] == list(doubled["label"])


def test_pipeline_normalises_and_flips_on_device():
    frames = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    plain = BatchPipeline(torch.device("cpu"))(frames)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(plain, (frames / 255 - mean) / std)
    flip_only = BatchPipeline(torch.device("cpu"), Augment(hflip=1.0, shift=0, scale=0))
    params = flip_only.draw(2, torch.Generator().manual_seed(0))
    torch.testing.assert_close(flip_only(frames, params), plain.flip(-1), atol=1e-5, rtol=0)


def _fit(tiny, *, seed=0, epochs=3, **kwargs):
    _, manifest = tiny
    cfg = TrainConfig(epochs=epochs, batch_size=8, image_size=SIZE, frames="all", lr=0.05)
    data = load_frameset(pd.read_csv(manifest), CLASSES, frames="all", image_size=SIZE)
    torch.manual_seed(seed)
    model = build_model("cnn", BuildOptions(num_classes=3, image_size=SIZE))
    history = fit(model, data, cfg, seed=seed, **kwargs)
    return model, history


def test_training_lowers_the_loss(tiny):
    _, history = _fit(tiny, epochs=6)
    assert history["loss"].iloc[-1] < 0.7 * history["loss"].iloc[0]
    assert list(history["epoch"]) == [1, 2, 3, 4, 5, 6]


def test_same_seed_same_numbers(tiny):
    a, ha = _fit(tiny, seed=1, epochs=2)
    b, hb = _fit(tiny, seed=1, epochs=2)
    c, hc = _fit(tiny, seed=2, epochs=2)
    assert ha[["loss", "accuracy"]].equals(hb[["loss", "accuracy"]])
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert not ha["loss"].equals(hc["loss"])


class Killed(Exception):
    pass


def test_kill_and_resume_equals_uninterrupted(tiny, tmp_path):
    whole, h_whole = _fit(tiny, epochs=3, resume_path=tmp_path / "a.pt", fingerprint="x")

    def kill_after_two(epoch, row):
        if epoch == 2:
            raise Killed

    with pytest.raises(Killed):
        _fit(tiny, epochs=3, resume_path=tmp_path / "b.pt", fingerprint="x", on_epoch_end=kill_after_two)
    assert torch.load(tmp_path / "b.pt", weights_only=False)["epoch"] == 2
    resumed, h_resumed = _fit(tiny, epochs=3, resume_path=tmp_path / "b.pt", fingerprint="x")
    assert h_resumed[["loss", "accuracy"]].equals(h_whole[["loss", "accuracy"]])
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_resume_state_of_other_settings_is_ignored(tiny, tmp_path):
    _fit(tiny, epochs=1, resume_path=tmp_path / "r.pt", fingerprint="old")
    _, history = _fit(tiny, epochs=2, resume_path=tmp_path / "r.pt", fingerprint="new")
    assert list(history["epoch"]) == [1, 2]  # started over, not from epoch 1 of "old"


def test_train_job_writes_the_contract(tiny, tmp_path):
    folds, manifest = tiny
    out = tmp_path / "ck" / "fold0" / "cnn" / "original" / "seed0"
    cfg = TrainConfig(epochs=2, batch_size=8, image_size=SIZE, frames=2)
    metrics = train_job(manifest=manifest, folds=folds, fold=0, model_name="cnn",
                        dataset={"format": "folder"}, cfg=cfg, seed=0, out_dir=out)
    for name in ("model.pt", "history.csv", "predictions.csv", "metrics.json"):
        assert (out / name).exists(), name
    assert not (out / RESUME_FILE).exists()  # finished: nothing to resume
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == metrics
    assert saved["labels"] == CLASSES and saved["n"] == 9  # the 9 test videos of fold 0
    assert saved["frames"]["n"] == 18  # the last 2 frames of each
    for key in ("accuracy", "normalized_accuracy", "macro_f1", "confusion", "confusion_normalized"):
        assert key in saved and key in saved["frames"]
    pred = pd.read_csv(out / "predictions.csv")
    probs = [f"p_{c}" for c in CLASSES]
    frames, videos = pred[pred.level == "frame"], pred[pred.level == "video"].set_index("video_id")
    mean = frames.groupby("video_id")[probs].mean()
    np.testing.assert_allclose(videos.loc[mean.index, probs], mean, atol=1e-5)  # mean softmax
    assert (videos["pred"] == videos[probs].idxmax(axis=1).str[2:]).all()
    assert list(pd.read_csv(out / "history.csv")["epoch"]) == [1, 2]


def test_a_killed_job_resumes_only_under_the_same_code(tiny, tmp_path, monkeypatch, caplog):
    """The rule's code version is part of the resume fingerprint: rerun after an edit to the
    training code, a killed job starts over instead of finishing the old code's run."""
    import logging
    import shutil

    from semaug.training import loop

    folds, manifest = tiny
    cfg = TrainConfig(epochs=2, batch_size=8, image_size=SIZE, frames=2)
    job = dict(manifest=manifest, folds=folds, fold=0, model_name="cnn", dataset={"format": "folder"},
               cfg=cfg, seed=0)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # killed after training, before the predictions

    with monkeypatch.context() as m:
        m.setattr(loop, "predict", killed)
        with pytest.raises(KeyboardInterrupt):
            train_job(**job, out_dir=tmp_path / "a", code="v1")
    assert (tmp_path / "a" / RESUME_FILE).exists()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    with caplog.at_level(logging.INFO, logger="semaug.training"):
        train_job(**job, out_dir=tmp_path / "a", code="v1")
        assert "resuming from" in caplog.text and "starting over" not in caplog.text
        caplog.clear()
        train_job(**job, out_dir=tmp_path / "b", code="v2")
        assert "belongs to other settings, data or code: starting over" in caplog.text


def test_sgd_matches_torch_optim_with_keras_decay():
    from semaug.training.sgd import SGD

    torch.manual_seed(0)
    a, b = torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    mine = SGD([{"params": [a.weight], "weight_decay": 0.02}, {"params": [a.bias], "weight_decay": 0.0}],
               lr=0.1, momentum=0.9, decay=0.5)
    ref = torch.optim.SGD([{"params": [b.weight], "weight_decay": 0.02}, {"params": [b.bias]}],
                          lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(ref, lambda t: 1 / (1 + 0.5 * t))
    for _ in range(4):
        for model, opt in ((a, mine), (b, ref)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        sched.step()
    torch.testing.assert_close(a.weight, b.weight)
    torch.testing.assert_close(a.bias, b.bias)
    assert mine.lr == pytest.approx(sched.get_last_lr()[0])


# --- clip classifiers: one sample per video ---------------------------------------------------


def test_clip_indices_keep_first_and_last_and_spread_the_rest():
    assert clip_indices(10, 4) == [0, 3, 6, 9]
    assert clip_indices(9, 5) == [0, 2, 4, 6, 8]
    assert clip_indices(30, 2) == [0, 29]  # neutral and apex
    assert clip_indices(3, 5) == [0, 1, 1, 2, 2]  # shorter than T: frames repeat, in order
    assert clip_indices(1, 3) == [0, 0, 0]
    for n in range(1, 40):
        idx = clip_indices(n, 6)
        assert idx[0] == 0 and idx[-1] == n - 1 and idx == sorted(idx) and len(idx) == 6


def test_clip_frames_must_include_first_and_last():
    with pytest.raises(ValueError, match="clip_frames must be an integer >= 2"):
        TrainConfig.from_config({"clip_frames": 1})
    train = {"clip_frames": 8, "by_model": {"cnn_lstm": {"clip_frames": 4, "lstm_hidden": 32}}}
    cfg = TrainConfig.from_config(train_settings({"train": train}, "cnn_lstm"))
    assert (cfg.clip_frames, cfg.lstm_hidden, cfg.lstm_backbone) == (4, 32, "cnn")
    with pytest.raises(ValueError, match="resolve by_model"):  # a raw block would drop them
        TrainConfig.from_config(train)


def test_clips_loaded_once_one_sample_per_video(tiny):
    _, manifest = tiny
    table = pd.read_csv(manifest)
    doubled = pd.concat([table, table.iloc[:2]], ignore_index=True)  # oversampling repeats rows
    data = load_frameset(doubled, CLASSES, frames=2, image_size=12, clip_frames=4)
    assert data.clips and data.index.shape == (len(doubled), 4)
    assert len(data) == len(doubled) and data.video.tolist() == list(range(len(doubled)))
    # videos of 3, 4 or 5 frames, 4 sampled: each distinct frame once, repeated rows not again
    n_frames = {p: 3 + int(s) % 3 for p, s in zip(table["path"], table["subject"])}
    assert data.store.shape[0] == sum(min(n, 4) for n in n_frames.values())
    first = load_clip_frames(table["path"].iloc[0], 12)
    used = clip_indices(len(first), 4)
    assert torch.equal(data.store[data.index[0]], first[used])  # the right frames, in order
    assert data.labels.tolist() == [CLASSES.index(lab) for lab in doubled["label"]]


def load_clip_frames(path, size):
    from semaug.clip import load_clip
    from semaug.training.data import to_device_uint8

    return to_device_uint8(load_clip(path).frames, size, torch.device("cpu"))


def test_a_clip_is_augmented_as_a_whole():
    clips = torch.randint(0, 256, (3, 4, 3, 16, 16), dtype=torch.uint8)  # [B, T, 3, S, S]
    pipeline = BatchPipeline(torch.device("cpu"), Augment(hflip=0.5, shift=0.2, scale=0.2))
    params = pipeline.draw(3, torch.Generator().manual_seed(1))
    out = pipeline(clips, params)
    assert out.shape == clips.shape and out.dtype == torch.float32
    for b in range(3):  # each frame warped with its clip's parameters: as if augmented alone
        for t in range(4):
            alone = pipeline(clips[b, t][None], params[b][None])[0]
            torch.testing.assert_close(out[b, t], alone)
    assert not torch.allclose(out[0], pipeline(clips[0], params[1].expand(4, 4)))


def test_clip_models_use_their_own_normalisation():
    from semaug.training.loop import pipeline_for

    model = build_model("r2plus1d", BuildOptions(num_classes=3, image_size=16))
    data = frameset_of(torch.full((1, 2, 3, 16, 16), 255, dtype=torch.uint8))
    x = pipeline_for(model, data, None)(data.store[data.index])
    expected = (1 - torch.tensor(model.mean)) / torch.tensor(model.std)  # Kinetics, not ImageNet
    torch.testing.assert_close(x[0, 0, :, 0, 0], expected)
    frames_only = frameset_of(torch.zeros((1, 2, 3, 16, 16), dtype=torch.uint8), as_clips=False)
    with pytest.raises(ValueError, match="takes clips but the data holds frames"):
        pipeline_for(model, frames_only, None)


def frameset_of(clips, *, as_clips=True):
    """A FrameSet over uint8 clips [B, T, 3, S, S]: B clip samples, or B·T frame samples."""
    from semaug.training import FrameSet

    b, t = clips.shape[:2]
    store = clips.flatten(0, 1)
    index = torch.arange(b * t).view(b, t) if as_clips else torch.arange(b * t)
    n = index.shape[0]
    return FrameSet(store, index, torch.zeros(n, dtype=torch.long), torch.arange(n),
                    [str(i) for i in range(n)], [0] * n, [-1] * n)


def _moving_bar_clip(direction: int, rng: np.random.Generator, frames: int) -> Clip:
    """A bright bar sweeping down (direction 0) or up (1) over noise; class 2 holds it still.

    Down and up show the same set of frames, only in opposite order, so no single frame tells
    them apart: a classifier has to read the motion. (Vertical, so the random horizontal flip
    of augmentation cannot swap the classes.)"""
    x = rng.integers(0, 60, (frames, SIZE, SIZE, 3), dtype=np.uint8)
    rows = np.linspace(1, SIZE - 4, frames).round().astype(int)
    if direction == 1:
        rows = rows[::-1]
    elif direction == 2:
        rows = np.full(frames, (SIZE - 3) // 2)
    for t, r in enumerate(rows):
        x[t, r:r + 3, 2:SIZE - 2, :] = 220
    return Clip(x, np.zeros((frames, 68, 2), np.float32), {})


@pytest.fixture(scope="module")
def motion(tmp_path_factory):
    """Clips whose class is their motion: 8 subjects × 3 classes; fold = subject % 2 (test 0)."""
    rng = np.random.default_rng(1)
    return _write_fold(tmp_path_factory.mktemp("motion"), 8,
                       lambda c, subject: _moving_bar_clip(c, rng, 5 + subject % 4))


def _fit_clips(manifest, model_name, *, seed=0, epochs=2, clip_frames=3, **kwargs):
    cfg = TrainConfig(epochs=epochs, batch_size=4, image_size=SIZE, clip_frames=clip_frames,
                      lr=0.02, lstm_hidden=16)
    data = load_frameset(pd.read_csv(manifest), CLASSES, frames="all", image_size=SIZE,
                         clip_frames=clip_frames)
    torch.manual_seed(seed)
    model = build_model(model_name, BuildOptions(num_classes=3, image_size=SIZE, lstm_hidden=16))
    history = fit(model, data, cfg, seed=seed, **kwargs)
    return model, history, data, cfg


@pytest.mark.parametrize("model_name, epochs, clip_frames", [("cnn_lstm", 3, 3), ("r2plus1d", 2, 2)])
def test_clip_model_kill_and_resume_equals_uninterrupted(motion, tmp_path, model_name, epochs,
                                                         clip_frames):
    _, manifest = motion
    run = {"epochs": epochs, "clip_frames": clip_frames, "fingerprint": "x"}
    whole, h_whole, *_ = _fit_clips(manifest, model_name, resume_path=tmp_path / "a.pt", **run)

    def kill_before_the_last(epoch, row):
        if epoch == epochs - 1:
            raise Killed

    with pytest.raises(Killed):
        _fit_clips(manifest, model_name, resume_path=tmp_path / "b.pt",
                   on_epoch_end=kill_before_the_last, **run)
    assert torch.load(tmp_path / "b.pt", weights_only=False)["epoch"] == epochs - 1
    resumed, h_resumed, *_ = _fit_clips(manifest, model_name, resume_path=tmp_path / "b.pt", **run)
    assert h_resumed[["loss", "accuracy"]].equals(h_whole[["loss", "accuracy"]])
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_cnn_lstm_learns_motion_a_single_frame_cannot_show(motion):
    """Down vs up sweeps share their frames; cnn_lstm must beat chance (1/3) on held-out
    subjects, and separate the two sweeps, which a per-frame vote could not."""
    folds, manifest = motion
    model, history, _, cfg = _fit_clips(manifest, "cnn_lstm", epochs=30, clip_frames=5)
    test_table = pd.read_csv(folds).query("fold == 0")
    test = load_frameset(test_table, CLASSES, frames="all", image_size=SIZE, clip_frames=5)
    _, video_probs = predict(model, test, cfg)
    pred, truth = video_probs.argmax(1), torch.tensor(test.video_labels)
    assert (pred == truth).float().mean().item() >= 0.75  # chance: 1/3
    sweeps = truth < 2
    assert (pred[sweeps] == truth[sweeps]).float().mean().item() >= 0.75  # chance: 1/2


def test_train_job_with_a_clip_model_writes_video_level_files(motion, tmp_path):
    folds, manifest = motion
    out = tmp_path / "ds" / "fold0" / "cnn_lstm" / "original" / "seed0"
    cfg = TrainConfig(epochs=2, batch_size=4, image_size=SIZE, clip_frames=3, lstm_hidden=8)
    metrics = train_job(manifest=manifest, folds=folds, fold=0, model_name="cnn_lstm",
                        dataset={"format": "folder"}, cfg=cfg, seed=0, out_dir=out)
    for name in ("model.pt", "history.csv", "predictions.csv", "metrics.json"):
        assert (out / name).exists(), name
    assert not (out / RESUME_FILE).exists()
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == metrics and saved["n"] == 12 and saved["labels"] == CLASSES
    assert "frames" not in saved  # no per-frame votes: the clip is the unit
    for key in ("accuracy", "normalized_accuracy", "macro_f1", "confusion", "confusion_normalized"):
        assert key in saved
    pred = pd.read_csv(out / "predictions.csv")
    assert list(pred.columns) == ["level", "video_id", "subject", "frame", "label", "pred",
                                  *(f"p_{c}" for c in CLASSES)]  # the frame models' columns
    assert (pred["level"] == "video").all() and (pred["frame"] == -1).all() and len(pred) == 12
    probs = pred[[f"p_{c}" for c in CLASSES]]
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-4)
    assert (pred["pred"] == probs.idxmax(axis=1).str[2:]).all()
    assert torch.load(out / "model.pt", weights_only=False)["train"]["clip_frames"] == 3


def test_schema_train_keys_for_clip_models_match_train_config():
    """The schema's new train keys validate, per model too, and fill TrainConfig's defaults."""
    from pathlib import Path

    import yaml
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    repo = Path(__file__).resolve().parents[1]
    schema = str(repo / "workflow/schemas/config.schema.yaml")

    def with_train(train):
        config = yaml.safe_load((repo / "config/config.yaml").read_text())
        config["train"] = train
        validate(config, schema=schema)  # fills the defaults, as the workflow does
        return config["train"]

    block = with_train({"by_model": {
        "cnn_lstm": {"clip_frames": 4, "lstm_hidden": 64, "lstm_backbone": "cnn"},
        "r2plus1d": {"image_size": 112, "clip_frames": 8}}})
    default = TrainConfig()
    for key in ("clip_frames", "lstm_hidden", "lstm_backbone"):
        assert block[key] == getattr(default, key), key
    cfg = TrainConfig.from_config(train_settings({"train": block}, "cnn_lstm"))
    assert (cfg.clip_frames, cfg.lstm_hidden) == (4, 64)
    assert TrainConfig.from_config(train_settings({"train": block}, "r2plus1d")).image_size == 112
    with pytest.raises(WorkflowError):
        with_train({"by_model": {"cnn_lstm": {"lstm_backbone": "vgg"}}})
    with pytest.raises(WorkflowError):
        with_train({"clip_frames": 1})


def test_clip_evaluation_batches_count_frames_and_do_not_change_predictions(motion):
    import dataclasses

    _, manifest = motion
    model, _, data, cfg = _fit_clips(manifest, "cnn_lstm", epochs=1, clip_frames=3)
    sample_probs, video_probs = predict(model, data, dataclasses.replace(cfg, eval_batch_size=2))
    assert sample_probs.shape == video_probs.shape == (len(data), 3)  # a clip is its video
    torch.testing.assert_close(sample_probs, video_probs)
    _, big = predict(model, data, dataclasses.replace(cfg, eval_batch_size=1000))
    torch.testing.assert_close(video_probs, big, atol=1e-5, rtol=0)
