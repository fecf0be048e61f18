"""Synthetic-video quality measures on known inputs: AKD/MKR/AED, identity leakage, expression
fidelity (and its copy-source floor), classic's quality.json, and the comparison table.

The regressor-instrument tests run everywhere; the dlib ones skip without the `dlib` extra."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest
from skimage import data

from semaug.clip import Clip, load_clip, save_clip
from semaug.faces import align_video, make_backend
from semaug.dlib_models import dlib_available
from semaug.generators import Generator, build_generator
from semaug.ibug import FLIP_PERMUTATION, MEAN_FACE
from semaug.synthesis.fidelity import (DlibInstrument, ExpressionProbe, Measured, akd_mkr,
                                      expression_features, mirrored_features, registered_akd,
                                       hit_rates, identity_leakage)
from semaug.synthesis.landmark_regressor import train_regressor_file
from semaug.synthesis.plan import read_plan, split_fold
from semaug.synthesis.quality import (CLASSIC_SELF_REENACTMENT, expression_fidelity,
                                      identity_measures, quality_file, reference_file)
from semaug.synthesis.quality_table import (MISSING, comparison_table, comparison_table_file,
                                            headline, headline_table)
from semaug.synthesis.toy import toy_clip, toy_synthesis_fold

COUNTS = {"happy": 8, "surprise": 6, "sadness": 4, "anger": 3}
SKIP_REASON = "needs the `dlib` extra: pip install 'semaug[dlib]'"


class Mirror(Generator):
    """Returns the driving video itself: a perfect self-reenactment."""

    name = "mirror"

    def __init__(self) -> None:
        super().__init__()
        self.rendered = 0  # frames animated: the dlib path renders each test video once

    def animate(self, source: Clip, driving: Clip) -> Clip:
        self.rendered += driving.n_frames
        return Clip(driving.frames.copy(), driving.landmarks.copy())


# ---------------------------------------------------------------------- pure measures

def test_identical_measurements_give_zero_akd_and_no_missing_keypoints():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 64, (5, 68, 2)).astype(np.float32)
    found = np.array([True, True, False, True, True])
    assert akd_mkr(Measured(points, found), Measured(points, found)) == (0.0, 0.0)
    shifted = Measured(points + [3.0, 4.0], np.array([True, False, False, True, True]))
    akd, mkr = akd_mkr(shifted, Measured(points, found))
    assert akd == pytest.approx(5.0) and mkr == pytest.approx(1 / 4)


def test_identity_leakage_and_hit_rates():
    source, driver = np.zeros(128), np.ones(128)
    assert identity_leakage(driver.copy(), source, driver)["closer_to_driver"] is True
    assert identity_leakage(source + 0.1, source, driver)["closer_to_driver"] is False
    rates = hit_rates(["a", "b", "b", "a"], ["a", "a", "b", "b"])
    assert rates["per_class"] == {"a": 0.5, "b": 0.5} and rates["overall"] == 0.5


def test_a_still_face_has_no_expression_displacement():
    still = np.repeat(np.random.default_rng(1).uniform(0, 64, (1, 68, 2)), 6, axis=0)
    assert not expression_features(still).any()


def similarity(points: np.ndarray, angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ (scale * np.array([[c, -s], [s, c]])).T + np.asarray(shift)


def test_head_motion_is_not_expression_but_expression_under_head_motion_is():
    face = MEAN_FACE * 64
    moving_head = np.stack([similarity(face, 0.05 * t, 1 + 0.03 * t, (t, -t)) for t in range(6)])
    assert np.abs(expression_features(moving_head)).max() < 1e-9
    # a mouth opening (lower lip and jaw down 3 px) seen through the same head motion
    opened = face.copy()
    opened[[8, 57, 66], 1] += 3.0
    opening = np.stack([similarity(face if t < 5 else opened, 0.05 * t, 1 + 0.03 * t, (t, -t))
                        for t in range(6)])
    moved = expression_features(opening).reshape(68, 2)
    iod = float(np.linalg.norm(face[36:42].mean(0) - face[42:48].mean(0)))
    # registered on the rigid points: only the three moved points move, by 3 px / IOD, downwards
    assert np.allclose(moved[[8, 57, 66]], [0.0, 3.0 / iod], atol=1e-6)
    assert np.abs(np.delete(moved, [8, 57, 66], axis=0)).max() < 1e-6


def test_registered_akd_counts_expression_error_not_head_motion():
    face = MEAN_FACE * 64
    real = np.stack([face] * 5)
    found = np.ones(5, dtype=bool)
    turned = np.stack([similarity(face, 0.04 * t, 1 + 0.02 * t, (t, 2 * t)) for t in range(5)])
    assert akd_mkr(Measured(turned, found), Measured(real, found))[0] > 1.0
    assert registered_akd(Measured(turned, found), Measured(real, found)) < 1e-6
    low_mouth = face.copy()
    low_mouth[48:68, 1] += 2.0  # the whole mouth 2 px low: an expression error
    mouth_off = np.stack([similarity(low_mouth, 0.04 * t, 1 + 0.02 * t, (t, 2 * t)) for t in range(5)])
    # the rigid points (eyes, nasion) did not move, so the alignment is exact: 20 of 68 points 2 px
    assert registered_akd(Measured(mouth_off, found), Measured(real, found)) == pytest.approx(
        2.0 * 20 / 68, rel=1e-6)


def test_the_probe_reads_a_one_sided_expression_on_either_side():
    rng = np.random.default_rng(0)
    face = MEAN_FACE * 64
    right, lifted = np.zeros((68, 2)), np.zeros((68, 2))
    right[54] = [2.0, -2.0]  # one mouth corner up and out (contempt, one-sided)
    lifted[[19, 24], 1] = -2.0  # both brows up

    def video(displacement):
        return np.stack([face, face + displacement + rng.normal(0, 0.05, (68, 2))])

    def mirror(landmarks):  # the mirror image: x -> -x, left and right points swapped
        return landmarks[:, FLIP_PERMUTATION] * [-1.0, 1.0]

    one = video(right)
    assert np.allclose(expression_features(mirror(one)), mirrored_features(expression_features(one)))
    feats = np.stack([expression_features(video(d)) for d in [right] * 8 + [lifted] * 8])
    assert np.allclose(mirrored_features(mirrored_features(feats)), feats)
    probe = ExpressionProbe().fit(feats, ["contempt"] * 8 + ["surprise"] * 8)
    # contempt shown on the other side of the face (its mirror image) is still contempt
    other_side = np.stack([expression_features(mirror(video(right))) for _ in range(4)])
    assert list(probe.predict(other_side)) == ["contempt"] * 4


# ------------------------------------------------------------------ toy fold, regressor

@pytest.fixture(scope="module")
def fold(tmp_path_factory):
    """A toy fold 0: plan, landmark_warp and classic videos, a regressor, a still-video table."""
    d = tmp_path_factory.mktemp("fidelity")
    toy_synthesis_fold(d, COUNTS, n_frames=6)
    f = str(d / "folds.csv")
    train_regressor_file(f, 0, str(d / "reg.npz"), str(d / "reg.json"))
    # Still videos: each plan row's source face, frozen (what copy-source would produce).
    still = read_plan(str(d / "lw.csv"))
    for i, row in still.iterrows():
        source = load_clip(row["source_path"])
        frozen = Clip(np.repeat(source.frames[:1], 6, 0), np.repeat(source.landmarks[:1], 6, 0))
        still.loc[i, "path"] = str(save_clip(d / "still" / f"{i:05d}.npz", frozen))
    still.to_csv(d / "still.csv", index=False)
    return d


def run_quality(d, maker, videos, instrument="ridge_regressor", **kw):
    name = maker if isinstance(maker, str) else maker.name
    return quality_file(maker, str(d / "folds.csv"), 0, str(d / "reg.npz"), str(d / videos),
                        str(d / f"q_{name}_{videos}.json"), str(d / f"s_{name}.png"),
                        max_videos=4, instrument=instrument, **kw)


def test_a_perfect_reenactment_scores_zero_and_beats_copy_source(fold):
    q = run_quality(fold, Mirror(), "lw.csv")
    assert q["instrument"]["name"] == "ridge_regressor"
    assert q["mirror"]["l1"] == 0.0 and q["mirror"]["akd"] == 0.0
    assert q["mirror"]["akd_registered"] == pytest.approx(0.0, abs=1e-9)
    assert q["copy_source"]["akd_registered"] > 0
    assert q["mirror"]["landmark_error"] == pytest.approx(q["measurement_floor"])
    assert q["copy_source"]["akd"] > 0 and q["copy_source"]["l1"] > 0
    assert "not measured" in q["identity"] and "dlib" in q["identity"]


def test_still_synthetic_videos_score_the_copy_source_floor(fold):
    q = run_quality(fold, "classic", "still.csv", per_class_csv=str(fold / "per_class.csv"))
    fid = q["expression_fidelity"]
    for label, share in fid["synthetic"]["per_class"].items():
        if label in fid["copy_source"]["per_class"]:
            assert share == fid["copy_source"]["per_class"][label]
    table = pd.read_csv(fold / "per_class.csv")
    assert set(table["label"]) == set(fid["synthetic"]["per_class"]) | set(fid["real_test"]["per_class"])
    assert {"fidelity_synthetic", "fidelity_real_test", "fidelity_copy_source"} <= set(table.columns)


class KnownLandmarks:
    """A perfect landmark instrument for frames whose landmarks are known (looked up by
    content): isolates the expression probe from the instrument's error."""

    name = "known"

    def __init__(self, clips: list[Clip]) -> None:
        self.table = {f.tobytes(): lm for c in clips for f, lm in zip(c.frames, c.landmarks)}

    def measure(self, frames: np.ndarray) -> Measured:
        return Measured(np.stack([self.table[f.tobytes()] for f in frames]),
                        np.ones(len(frames), dtype=bool))


def test_with_exact_landmarks_the_probe_reads_real_and_synthetic_expressions(fold):
    folds = pd.read_csv(fold / "folds.csv", dtype={"subject": str})
    train, test = split_fold(folds, 0)
    videos = {name: read_plan(str(fold / f"{name}.csv")) for name in ("lw", "still")}
    paths = list(folds["path"]) + [p for v in videos.values() for p in v["path"]]
    instrument = KnownLandmarks([load_clip(p) for p in paths])
    result = {name: expression_fidelity(instrument, train, test, v, load_clip)
              for name, v in videos.items()}
    lw, still = result["lw"], result["still"]
    assert lw["real_test"]["class_mean"] == 1.0  # the toy classes differ in their landmarks
    assert still["synthetic"]["per_class"] == {
        k: v for k, v in still["copy_source"]["per_class"].items()
        if k in still["synthetic"]["per_class"]}
    assert still["copy_source"]["class_mean"] <= 0.5  # a still face has one class at most
    # landmark_warp moves the source's landmarks as the driver's moved: the target class.
    assert lw["synthetic"]["class_mean"] >= 0.9 > lw["copy_source"]["class_mean"]
    assert lw["relative_to_real"] == pytest.approx(lw["synthetic"]["class_mean"] / 1.0)


def test_classic_gets_cross_identity_measures_but_no_self_reenactment(fold):
    q = run_quality(fold, "classic", "classic.csv")
    saved = json.loads((fold / "q_classic_classic.csv.json").read_text())
    assert saved["self_reenactment"] == CLASSIC_SELF_REENACTMENT
    assert "classic" not in saved and "copy_source" not in saved
    assert saved["expression_fidelity"]["synthetic"]["n"] == len(read_plan(str(fold / "classic.csv")))
    assert "expression_fidelity" in saved["definitions"] and q["maker"] == "classic"
    with pytest.raises(ValueError, match="Generator or 'classic'"):
        run_quality(fold, "landmark_warp", "lw.csv")


def test_comparison_table_has_a_row_per_maker_and_per_class(fold):
    run_quality(fold, build_generator("landmark_warp", {}, device="cpu"), "lw.csv")
    run_quality(fold, "classic", "classic.csv")
    files = [fold / "q_landmark_warp_lw.csv.json", fold / "q_classic_classic.csv.json"]
    text = comparison_table_file(files, str(fold / "table.md"))
    assert text == (fold / "table.md").read_text() == comparison_table(files)
    head, rest = text.split("All measures")
    assert head.count("| landmark_warp ") == head.count("| classic ") == 1
    assert "fidelity vs real" in head and "AKD reg vs copy" in head
    overall, per_class = rest.split("Per class")
    lines = [line for line in overall.splitlines() if line.startswith("| ")]
    assert len(lines) == 3 and "landmark_warp" in lines[1] + lines[2]  # header + 2 makers
    header = [cell.strip() for cell in lines[0].split("|")]
    assert {"AKD", "AKD reg", "AKD reg copy", "fid / real"} <= set(header)
    assert all(label in per_class for label in ("anger", "sadness", "surprise"))


# --------------------------------------------------------------------- dlib, real faces

@pytest.fixture(scope="module")
def dlib_ready() -> None:
    reason = dlib_available()
    if reason is not None:
        pytest.skip(f"{SKIP_REASON} ({reason})")


@pytest.fixture(scope="module")
def astronaut_clip(dlib_ready) -> Clip:
    """6 aligned 64 px crops of the astronaut, turning slightly (dlib landmarks)."""
    photo = data.astronaut()
    frames = []
    for degrees in np.linspace(-4, 4, 6):
        m = cv2.getRotationMatrix2D((222.0, 127.0), float(degrees), 2.0)
        m[:, 2] += np.array([240.0, 200.0]) - np.array([222.0, 127.0])
        frames.append(cv2.warpAffine(photo, m, (480, 400), borderMode=cv2.BORDER_REFLECT))
    frames = np.stack(frames)
    landmarks = make_backend("dlib").detect(frames)
    aligned = align_video(frames, landmarks, 64)
    return Clip(aligned.frames, aligned.landmarks)


def test_dlib_on_identical_frames_gives_zero_akd_and_aed(astronaut_clip):
    instrument = DlibInstrument()
    first = instrument.measure(astronaut_clip.frames)
    again = DlibInstrument().measure(astronaut_clip.frames)  # a fresh instrument: no cache
    assert first.found.all()  # the astronaut is found in every 64 px crop
    assert akd_mkr(first, again) == (0.0, 0.0)
    embeddings = instrument.embed(astronaut_clip.frames)
    assert embeddings.shape == (6, 128)
    assert np.linalg.norm(embeddings - DlibInstrument().embed(astronaut_clip.frames),
                          axis=-1).max() == 0
    # The batched call gives the frame-by-frame descriptors, in frame order.
    shape, big, _, _ = instrument._shape(astronaut_clip.frames[3])
    single = np.asarray(instrument.recognition.compute_face_descriptor(big, shape))
    assert np.abs(embeddings[3] - single).max() < 1e-6
    assert instrument.embed(astronaut_clip.frames[:0]).shape == (0, 128)
    # The same person turning by 8 degrees stays well inside dlib's same-person radius (0.6).
    assert np.linalg.norm(embeddings - embeddings[0], axis=-1).max() < 0.4
    # Her landmarks on the crop agree with the ones the crop was made from.
    assert np.linalg.norm(first.landmarks - astronaut_clip.landmarks, axis=-1).mean() < 1.0


def test_dlib_measures_and_embeds_each_distinct_crop_once(astronaut_clip):
    instrument = DlibInstrument()
    embedded = []
    real_descriptor = instrument.recognition.compute_face_descriptor

    class CountingRecognition:
        def compute_face_descriptor(self, images, shapes):
            embedded.append(len(images))
            return real_descriptor(images, shapes)

    instrument._recognition = CountingRecognition()
    frames = astronaut_clip.frames  # 6 distinct crops
    still = np.repeat(frames[:1], 5, 0)  # a copy-source video: one crop, 5 times
    measured = instrument.measure(np.concatenate([frames, still]))
    assert instrument.detector_runs == 6
    assert (measured.landmarks[6:] == measured.landmarks[0]).all()
    instrument.measure(frames[::-1])
    assert instrument.detector_runs == 6
    first = instrument.embed(np.concatenate([frames[:3], still]))
    assert embedded == [3] and instrument.detector_runs == 6  # the fits are reused too
    both = instrument.embed(frames)
    assert embedded == [3, 3]  # only the 3 crops not embedded before
    assert (both[:3] == first[:3]).all() and (first[3:] == both[0]).all()
    # A crop that differs in one pixel is a different crop.
    changed = frames[:1].copy()
    changed[0, 0, 0, 0] ^= 1
    instrument.measure(changed)
    assert instrument.detector_runs == 7


def test_the_folds_shared_reference_changes_no_number_and_spares_the_real_videos(
        fold, dlib_ready, caplog, monkeypatch):
    lw = build_generator("landmark_warp", {}, device="cpu")
    alone = run_quality(fold, lw, "lw.csv", instrument="dlib")
    runs = []
    original_fit = DlibInstrument._fit

    def counting_fit(self, frame, key=None):
        before = self.detector_runs
        fit = original_fit(self, frame, key)
        runs.append(self.detector_runs - before)
        return fit

    monkeypatch.setattr(DlibInstrument, "_fit", counting_fit)
    crops = reference_file(str(fold / "folds.csv"), 0, str(fold / "reg.npz"), str(fold / "ref.npz"),
                           instrument="dlib", max_videos=4)
    made = sum(runs)
    assert crops == made > 0  # every crop the reference measured, measured once
    runs.clear()
    with caplog.at_level("INFO", logger="semaug.synthesis.quality"):
        shared = run_quality(fold, lw, "lw.csv", instrument="dlib", reference=str(fold / "ref.npz"))
    assert shared == alone
    assert f"dlib: {crops} crops measured before" in caplog.text
    # Left to measure: landmark_warp's own frames (its reconstructions and synthetic videos).
    synthetic = sum(load_clip(p).n_frames for p in read_plan(str(fold / "lw.csv"))["path"])
    assert 0 < sum(runs) <= synthetic + 4 * 6
    # A memo made under other instrument settings is refused, naming the file.
    with np.load(fold / "ref.npz") as d:
        arrays = {k: d[k] for k in d.files}
    np.savez(fold / "other.npz", **{**arrays, "settings": np.array("upscale 128")})
    with pytest.raises(ValueError, match="other.npz: dlib memo made with 'upscale 128'"):
        DlibInstrument().load_memo(fold / "other.npz")


def test_a_reference_made_with_the_ridge_regressor_holds_nothing_to_share(fold, dlib_ready):
    path = fold / "ridge_ref.npz"
    assert reference_file(str(fold / "folds.csv"), 0, str(fold / "reg.npz"), str(path),
                          instrument="ridge_regressor") == 0
    assert DlibInstrument().load_memo(path) == 0


def test_a_synthetic_video_that_is_its_driver_is_closer_to_the_driver(astronaut_clip, tmp_path):
    astronaut = save_clip(tmp_path / "astronaut.npz", astronaut_clip)
    drawn = save_clip(tmp_path / "drawn.npz", toy_clip("happy", size=64, n_frames=6, seed=3))
    train = pd.DataFrame({"video_id": ["a0", "d0"], "subject": ["A", "D"],
                          "path": [str(astronaut), str(drawn)]})
    videos = pd.DataFrame({"index": [0, 1], "label": ["happy", "happy"],
                           "source_subject": ["D", "A"], "driver_subject": ["A", "D"],
                           "path": [str(astronaut), str(astronaut)]})
    summary, table = identity_measures(DlibInstrument(), videos, train, load_clip)
    # Row 0 is the driver (A) itself; row 1 is its source (A) itself.
    assert list(table["closer_to_driver"]) == [True, False]
    assert summary["closer_to_driver"] == 0.5 and summary["n_reference_subjects"] == 2
    assert table.loc[0, "to_driver"] < 0.4 < table.loc[0, "to_source"]


def test_auto_instrument_falls_back_to_the_regressor_on_drawn_faces(fold, dlib_ready):
    q = run_quality(fold, Mirror(), "lw.csv", instrument="auto")
    assert q["instrument"]["name"] == "ridge_regressor"
    assert "finds a face in only 0% of the real test crops" in q["instrument"]["why"]


def test_quality_names_dlib_as_its_instrument_and_measures_aed(fold, dlib_ready):
    mirror = Mirror()
    q = run_quality(fold, mirror, "lw.csv", instrument="dlib")
    assert q["instrument"]["name"] == "dlib"
    # scored by dlib and by the regressor (q["ridge_regressor"]), rendered once
    assert mirror.rendered == q["n_frames"] + q["n_videos"]  # frames t >= 1, plus each frame 0
    assert q["mirror"]["akd"] == 0.0 and q["mirror"]["aed"] == 0.0 and q["mirror"]["mkr"] == 0.0
    assert q["copy_source"]["l1"] > 0
    assert set(q["ridge_regressor"]) == {"mirror", "copy_source", "measurement_floor"}
    assert set(q["identity"]) >= {"to_source", "to_driver", "closer_to_driver"}
    _, test = split_fold(pd.read_csv(fold / "folds.csv"), 0)
    assert q["expression_fidelity"]["real_test"]["n"] == len(test)


# --------------------------------------------------------------------- headline numbers

def _quality_json(maker="monkeynet", fold=0, instrument="dlib", **parts):
    return {"maker": maker, "fold": fold, "instrument": {"name": instrument}, **parts}


def test_headline_gives_fidelity_and_changes_against_copy_source():
    q = _quality_json(monkeynet={"akd": 0.5, "akd_registered": 0.6, "aed": 0.2},
                      copy_source={"akd": 1.0, "akd_registered": 0.8, "aed": 0.4},
                      identity={"closer_to_driver": 0.1},
                      expression_fidelity={"relative_to_real": 0.818})
    assert headline(q) == {"maker": "monkeynet", "fold": "0", "instrument": "dlib",
                           "fidelity vs real": "82 %", "AKD vs copy": "-50 %",
                           "AKD reg vs copy": "-25 %", "AED (copy)": "0.200 (0.400)",
                           "closer to driver": "10 %"}
    # What the ridge regressor and classic do not measure is marked, not zero.
    ridge = _quality_json("classic", instrument="ridge_regressor",
                          identity="not measured: the identity embedding needs dlib",
                          expression_fidelity={"relative_to_real": None})
    cells = headline(ridge)
    assert [cells[k] for k in ("fidelity vs real", "AKD vs copy", "AED (copy)",
                               "closer to driver")] == [MISSING] * 4


def test_headline_table_sorts_folds_as_numbers(tmp_path):
    paths = []
    for fold in (10, 2):
        paths.append(tmp_path / f"q{fold}.json")
        paths[-1].write_text(json.dumps(_quality_json(fold=fold)))
    rows = [line for line in headline_table(paths).splitlines() if "monkeynet" in line]
    assert [row.split("|")[2].strip() for row in rows] == ["2", "10"]


def test_demo_summary_prints_the_quality_headline_and_the_ridge_caveat(tmp_path, capsys):
    from semaug.cli import RIDGE_CAVEAT, quality_summary

    synthetic = tmp_path / "ck" / "fold0" / "synthetic"
    for maker, instrument in (("monkeynet", "dlib"), ("classic", "ridge_regressor")):
        (synthetic / maker).mkdir(parents=True)
        (synthetic / maker / "quality.json").write_text(json.dumps(_quality_json(
            maker, instrument=instrument, expression_fidelity={"relative_to_real": 0.5})))
    (tmp_path / "ck" / "synthesis_quality.md").write_text("table")
    quality_summary(tmp_path)
    printed = capsys.readouterr().out
    assert f"Synthetic-video quality, ck (all measures: {tmp_path / 'ck' / 'synthesis_quality.md'})" in printed
    assert printed.count("| 50 %") == 2 and RIDGE_CAVEAT in printed
    (synthetic / "classic" / "quality.json").unlink()
    quality_summary(tmp_path)
    printed = capsys.readouterr().out
    assert "| monkeynet" in printed and "| classic" not in printed and RIDGE_CAVEAT not in printed
