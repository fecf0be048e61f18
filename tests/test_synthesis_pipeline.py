"""Rendering, classic augmentation, manifests, class counts and quality on a toy fold."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from semaug.clip import Clip, load_clip
from semaug.generators.classic import ClassicAugment, ClassicParams
from semaug.ibug import MEAN_FACE
from semaug.synthesis.landmark_regressor import point_error, train_regressor_file
from semaug.figures import class_counts_file
from semaug.synthesis.manifest import manifest_file, read_manifest
from semaug.synthesis.plan import LeakageError, read_plan, split_fold
from semaug.synthesis.quality import quality_file
from semaug.synthesis.render import synthesize_file
from semaug.synthesis.toy import toy_synthesis_fold
from semaug.generators import build_generator

COUNTS = {"happy": 9, "surprise": 5, "sadness": 3, "anger": 2}


@pytest.fixture(scope="module")
def fold(tmp_path_factory):
    """A toy fold 0 with its plan, landmark_warp + classic videos, manifests and counts."""
    d = tmp_path_factory.mktemp("toy")
    folds = toy_synthesis_fold(d, COUNTS, n_frames=5, previews=1)
    f = str(d / "folds.csv")
    manifests = {}
    for sc, kw in [("original", {}), ("oversample", {"plan_csv": str(d / "plan.csv")}),
                   ("classic", {"videos_csv": str(d / "classic.csv")}),
                   ("landmark_warp", {"videos_csv": str(d / "lw.csv")})]:
        manifests[sc] = str(d / f"train_{sc}.csv")
        manifest_file(sc, f, 0, manifests[sc], **kw)
    class_counts_file(manifests, str(d / "counts.csv"), str(d / "counts.png"))
    return d, folds


def test_manifests_are_balanced_and_leak_free(fold):
    d, folds = fold
    train, test = split_fold(folds, 0)
    target = train["label"].value_counts().max()
    counts = pd.read_csv(d / "counts.csv", index_col="label")
    assert counts.loc["happy", "original"] == train["label"].value_counts()["happy"]
    for sc in ("oversample", "classic", "landmark_warp"):
        m = read_manifest(str(d / f"train_{sc}.csv"))
        assert (m["label"].value_counts() == target).all()
        assert m["video_id"].is_unique
        assert not (set(m["subject"]) | set(m["driver_subject"])) & set(test["subject"])
        assert all(os.path.exists(p) for p in m["path"])
    over = read_manifest(str(d / "train_oversample.csv"))
    assert set(over["path"]) <= set(train["path"])  # repeats point at the originals
    syn = read_manifest(str(d / "train_landmark_warp.csv"))
    plan = read_plan(str(d / "plan.csv"))
    assert list(syn.loc[syn["synthetic"], "subject"]) == list(plan["source_subject"])
    assert list(syn.loc[syn["synthetic"], "driver_subject"]) == list(plan["driver_subject"])
    assert (d / "counts.png").stat().st_size > 0


def test_synthetic_clips_match_the_plan_and_are_resumed(fold):
    d, folds = fold
    videos = read_plan(str(d / "lw.csv"))
    assert len(videos) > 0
    for _, row in videos.iterrows():
        clip, driver = load_clip(row["path"]), load_clip(row["driver_path"])
        source = load_clip(row["source_path"])
        assert clip.n_frames == driver.n_frames and clip.size == source.size
        assert np.abs(clip.frames[0].astype(int) - source.frames[0]).max() <= 1
        assert clip.meta["driver_video"] == row["driver_video"]
    assert sum(bool(p) for p in videos["preview"]) == videos["label"].nunique()  # previews=1
    assert all(os.path.exists(p) for p in videos["preview"] if p)
    before = {p: os.stat(p).st_mtime_ns for p in videos["path"]}
    synthesize_file("landmark_warp", {}, str(d / "folds.csv"), 0, str(d / "plan.csv"),
                    str(d / "lw2.csv"), str(d / "lw"), device="cpu", previews=1)
    assert {p: os.stat(p).st_mtime_ns for p in videos["path"]} == before
    # Other code (or options, or a retrained checkpoint) behind the same plan: every clip is
    # made again, not kept from the old generator; then that one is reused in turn.
    synthesize_file("landmark_warp", {}, str(d / "folds.csv"), 0, str(d / "plan.csv"),
                    str(d / "lw2.csv"), str(d / "lw"), device="cpu", previews=1, code="edited")
    after = {p: os.stat(p).st_mtime_ns for p in videos["path"]}
    assert all(after[p] != before[p] for p in before)
    synthesize_file("landmark_warp", {}, str(d / "folds.csv"), 0, str(d / "plan.csv"),
                    str(d / "lw2.csv"), str(d / "lw"), device="cpu", previews=1, code="edited")
    assert {p: os.stat(p).st_mtime_ns for p in videos["path"]} == after


def test_a_lost_preview_is_remade_without_calling_its_clip_stale(fold, tmp_path, caplog):
    import logging

    d, _ = fold
    run = ("landmark_warp", {}, str(d / "folds.csv"), 0, str(d / "plan.csv"), str(tmp_path / "v.csv"),
           str(tmp_path / "clips"))
    videos = synthesize_file(*run, device="cpu", previews=1)
    os.remove(next(p for p in videos["preview"] if p))
    with caplog.at_level(logging.INFO, logger="semaug.synthesis.render"):
        synthesize_file(*run, device="cpu", previews=1)
    assert "1 to make" in caplog.text and "from another plan, generator or code" not in caplog.text
    assert all(os.path.exists(p) for p in videos["preview"] if p)


@pytest.mark.parametrize("scenario, appearance_role", [("landmark_warp", "source"), ("classic", "driver")])
def test_samples_figure_shows_the_clips_each_video_was_made_from(fold, tmp_path, monkeypatch,
                                                                 scenario, appearance_role):
    import semaug.figures as figures

    d, folds = fold
    manifest = read_manifest(str(d / f"train_{scenario}.csv"))
    plan = read_plan(str(d / "plan.csv")).set_index("index")
    synth = manifest[manifest["synthetic"]]
    # The manifest names the plan row's own source and driver videos ...
    rows = plan.loc[[int(v.rsplit(".", 1)[1]) for v in synth["video_id"]]]
    assert list(synth["driver_video"]) == list(rows["driver_video"])
    assert list(synth["source_video"]) == list(rows["source_video"])
    # ... and the figure reads exactly those clips, not another clip of the same subject.
    loaded = []
    real_load = figures.load_clip
    monkeypatch.setattr(figures, "load_clip", lambda p: loaded.append(str(p)) or real_load(p))
    figures.plot_samples(manifest, folds, tmp_path / "samples.png", rows=2)
    path_of = dict(zip(folds["video_id"], folds["path"]))
    picked = synth.drop_duplicates("path").groupby("label", sort=False).head(1).head(2)
    expected = []
    for row in picked.itertuples():
        expected += [path_of[getattr(row, f"{appearance_role}_video")], path_of[row.driver_video],
                     row.path]
    assert loaded == expected


def test_synthesize_refuses_a_leaking_plan(fold, tmp_path):
    d, folds = fold
    plan = read_plan(str(d / "plan.csv"))
    _, test = split_fold(folds, 0)
    plan.loc[0, "driver_subject"] = test["subject"].iloc[0]
    plan.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(LeakageError):
        synthesize_file("landmark_warp", {}, str(d / "folds.csv"), 0, str(tmp_path / "bad.csv"),
                        str(tmp_path / "v.csv"), str(tmp_path / "c"), device="cpu")


def test_classic_keeps_the_label_and_flips_landmarks():
    S = 32
    lm = (MEAN_FACE * S * 0.8 + 3).astype(np.float32)
    img = np.zeros((S, S, 3), np.uint8)
    x, y = lm[36].round().astype(int)  # only the subject's right outer eye corner is marked
    img[y, x] = 255
    clip = Clip(frames=np.repeat(img[None], 3, 0), landmarks=np.repeat(lm[None], 3, 0))
    aug = ClassicAugment({}, device="cpu")
    flip_only = ClassicParams(flip=True, angle=0.0, scale=1.0, shift=(0.0, 0.0), brightness=0.0,
                              contrast=1.0, frame_index=np.arange(3))
    out = aug.apply(clip, flip_only)
    yy, xx = np.unravel_index(out.frames[0, ..., 0].argmax(), (S, S))
    # after the flip the marked point is the *left* outer eye corner, iBUG 45, mirrored in x
    np.testing.assert_allclose(out.landmarks[0, 45], [S - 1 - lm[36, 0], lm[36, 1]], atol=1e-4)
    np.testing.assert_allclose(out.landmarks[0, 45], [xx, yy], atol=0.6)
    # a rotated / scaled / shifted copy carries the landmark along with the pixel
    params = ClassicParams(flip=False, angle=12.0, scale=1.1, shift=(2.0, -1.0), brightness=0.0,
                           contrast=1.0, frame_index=np.arange(3))
    out = aug.apply(clip, params)
    w = out.frames[0, ..., 0].astype(float)
    ys, xs = np.mgrid[0:S, 0:S]
    centroid = np.array([(xs * w).sum(), (ys * w).sum()]) / w.sum()
    np.testing.assert_allclose(out.landmarks[0, 36], centroid, atol=0.6)


def test_classic_videos_keep_label_and_endpoints(fold):
    d, _ = fold
    videos = read_plan(str(d / "classic.csv"))
    for _, row in videos.iterrows():
        clip, driver = load_clip(row["path"]), load_clip(row["driver_path"])
        assert clip.meta["label"] == row["label"]  # the driver's label travels with the clip
        idx = clip.meta["frame_index"]
        assert idx[0] == 0 and idx[-1] == driver.n_frames - 1  # neutral first, apex last
    a = ClassicAugment({}).augment(load_clip(videos["driver_path"][0]), 7)
    b = ClassicAugment({}).augment(load_clip(videos["driver_path"][0]), 7)
    assert np.array_equal(a.frames, b.frames)


def test_the_landmark_regressor_follows_rotated_faces_through_its_augmented_copies(fold):
    d, _ = fold
    f = str(d / "folds.csv")
    plain = train_regressor_file(f, 0, str(d / "r0.npz"), str(d / "r0.json"), augment_copies=0)
    augmented = train_regressor_file(f, 0, str(d / "r1.npz"), str(d / "r1.json"), augment_copies=1)
    m0, m1 = (json.loads((d / name).read_text()) for name in ("r0.json", "r1.json"))
    assert m1["augment_copies"] == 1 and m1["n_train_frames"] > 1.5 * m0["n_train_frames"]
    # held-out faces turned by 8 degrees (the landmarks with them)
    _, test = split_fold(pd.read_csv(f, dtype={"subject": str}), 0)
    errors = {"plain": [], "augmented": []}
    for path in test["path"][:6]:
        clip = load_clip(path)
        turn = ClassicParams(flip=False, angle=8.0, scale=1.0, shift=(0.0, 0.0), brightness=0.0,
                             contrast=1.0, frame_index=np.arange(clip.n_frames))
        turned = ClassicAugment({}).apply(clip, turn)
        for name, reg in (("plain", plain), ("augmented", augmented)):
            errors[name].append(point_error(reg.predict(turned.frames), turned.landmarks))
    assert np.mean(errors["augmented"]) < 0.9 * np.mean(errors["plain"])  # toy fold: 1.02 vs 1.22 px


def test_quality_report_has_the_contract_shape(fold):
    d, _ = fold
    f = str(d / "folds.csv")
    train_regressor_file(f, 0, str(d / "reg.npz"), str(d / "reg.json"))
    result = quality_file(build_generator("landmark_warp", {}, device="cpu"), f, 0,
                          str(d / "reg.npz"), str(d / "lw.csv"), str(d / "q.json"),
                          str(d / "samples.png"), max_videos=4)
    saved = json.loads((d / "q.json").read_text())
    for key in ("landmark_warp", "copy_source"):
        assert set(saved[key]) >= {"l1", "landmark_error"}
    assert saved["n_videos"] == result["n_videos"] == 4
    assert "measurement_floor" in saved and "landmark_error" in saved["definitions"]
    # the toy motion is exactly landmark-driven: the warp must beat repeating frame 0
    assert saved["landmark_warp"]["l1"] < saved["copy_source"]["l1"]
    assert (d / "samples.png").stat().st_size > 0
