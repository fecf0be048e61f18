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
    RESUME_FILE, Augment, BatchPipeline, TrainConfig, fit, load_frameset, select_frames, train_job,
)

torch.set_num_threads(1)
CLASSES = ["anger", "disgust", "fear"]
SIZE = 16


def _clip(label: int, rng: np.random.Generator, frames: int = 4) -> Clip:
    """A noisy frame with a class-coloured square whose position depends on the class."""
    x = rng.integers(0, 80, (frames, SIZE, SIZE, 3), dtype=np.uint8)
    x[:, 3:9, 2 + 4 * label:8 + 4 * label, label] = 230
    return Clip(x, np.zeros((frames, 68, 2), np.float32), {"label": label})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """6 subjects × 3 classes; fold = subject % 2. Returns (folds.csv, train manifest of fold 0)."""
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    rows = []
    for subject in range(6):
        for c, label in enumerate(CLASSES):
            vid = f"{subject:03d}_{label}"
            path = save_clip(root / f"{vid}.npz", _clip(c, rng, frames=3 + subject % 3))
            rows.append({"video_id": vid, "subject": f"{subject:03d}", "label": label,
                         "n_frames": 3 + subject % 3, "path": str(path), "fold": subject % 2})
    folds = pd.DataFrame(rows)
    folds.to_csv(root / "folds.csv", index=False)
    train = folds[folds["fold"] != 0].assign(driver_subject="", synthetic=False)
    train = train[["video_id", "path", "label", "subject", "driver_subject", "synthetic"]]
    train.to_csv(root / "train_original.csv", index=False)
    return root / "folds.csv", root / "train_original.csv"


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
