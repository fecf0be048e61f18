"""The demo renderer: real CK+ / MUG layouts, class proportions, landmarks that match the
pixels, neutral first frames, class-specific apexes, determinism, the contact sheet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from semaug.classes import CKPLUS_CLASSES, CKPLUS_CODES, CKPLUS_COUNTS, MUG_CLASSES, MUG_COUNTS
from semaug.demo import DemoKnobs, contact_sheet, render_dataset
from semaug.demo.dataset import OWNER_MARK, identities, plan
from semaug.demo.expressions import CLASS_UNITS, apex_displacement, canonical_class, easing
from semaug.demo.knobs import make_knobs
from semaug.demo.layouts import ckplus_class_counts, mug_take_counts
from semaug.demo.render import FrameRenderer
from semaug.demo.sequence import landmark_trajectory
from semaug.demo.sheet import MAX_SUBJECTS, sheet_size
from semaug.ibug import FLIP_PERMUTATION

from conftest import SCHEMA
# Small, quick renders; noise kept at the default so the checks see what the loaders will see.
CK = dict(subjects=4, seed=3, width=160, height=120, min_frames=3, max_frames=6, unlabelled=0.25)
MUG = dict(subjects=3, seed=5, width=96, height=96, min_frames=3, max_frames=5)
E_FLOAT = r"-?\d\.\d{7}e[+-]\d{2}"


def _render(fmt: str, root: Path, params: dict) -> dict:
    return render_dataset(fmt, root, sentinel=root / ".semaug_demo.json", **params)


@pytest.fixture(scope="module")
def ck(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("ck")
    return root, _render("ckplus", root, CK)


@pytest.fixture(scope="module")
def mug(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("mug")
    return root, _render("mug", root, MUG)


def _ck_sequences(root: Path) -> list[Path]:
    return sorted((root / "cohn-kanade-images").glob("S*/*"))


def _read_ck_landmarks(path: Path) -> np.ndarray:
    return np.array([[float(v) for v in line.split()] for line in path.read_text().splitlines()])


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ---- CK+ ----------------------------------------------------------------------------------------

def test_ckplus_layout_files_and_formats(ck):
    root, summary = ck
    sequences = _ck_sequences(root)
    assert len(sequences) == summary["sequences"] > 0
    assert len({p.parent.name for p in sequences}) == CK["subjects"]
    labelled = 0
    for seq in sequences:
        subject, number = seq.parent.name, seq.name
        assert re.fullmatch(r"S\d{3}", subject) and re.fullmatch(r"\d{3}", number)
        frames = sorted(seq.glob("*.png"))
        assert CK["min_frames"] <= len(frames) <= CK["max_frames"]
        assert [f.name for f in frames] == [f"{subject}_{number}_{i:08d}.png"
                                            for i in range(1, len(frames) + 1)]
        with Image.open(frames[0]) as image:
            assert image.mode == "L" and image.size == (CK["width"], CK["height"])
        for frame in frames:
            marks = root / "Landmarks" / subject / number / f"{frame.stem}_landmarks.txt"
            lines = marks.read_text().splitlines()
            assert len(lines) == 68
            assert all(re.fullmatch(rf"\s+{E_FLOAT}\s+{E_FLOAT}", line) for line in lines)
        emotion = list((root / "Emotion" / subject / number).glob("*"))
        if emotion:  # named for the last frame; one e-notation float, a CK+ code
            labelled += 1
            assert [e.name for e in emotion] == [f"{frames[-1].stem}_emotion.txt"]
            text = emotion[0].read_text()
            assert re.fullmatch(rf"\s+{E_FLOAT}\s*", text)
            assert float(text) in {float(c) for c in CKPLUS_CODES}
    assert labelled == sum(summary["counts"].values())
    assert summary["unlabelled"] == len(sequences) - labelled >= 1


def test_ckplus_counts_follow_the_ck_proportions():
    counts = ckplus_class_counts(118, 327 / 118)  # the real CK+ size: the real counts
    assert sum(counts.values()) == 327
    for name in CKPLUS_CLASSES:
        assert abs(counts[name] - CKPLUS_COUNTS[name]) <= 1, (name, counts)
    specs = plan("ckplus", 60, 0, DemoKnobs())
    seen: dict[tuple[str, str], int] = {}
    for spec in specs:
        if spec.label is not None:
            seen[spec.subject, spec.label] = seen.get((spec.subject, spec.label), 0) + 1
    assert max(seen.values()) == 1  # at most one sequence per class and subject
    per_class = {c: sum(1 for s in specs if s.label == c) for c in CKPLUS_CLASSES}
    order = sorted(CKPLUS_CLASSES, key=CKPLUS_COUNTS.get)
    assert [per_class[c] for c in order] == sorted(per_class.values())  # same ranking as CK+
    assert per_class["surprise"] > 3 * per_class["contempt"]


def test_tiny_render_counts_match_the_files(ck):
    root, summary = ck
    labels = [CKPLUS_CODES[int(float(p.read_text()))] for p in root.glob("Emotion/*/*/*.txt")]
    assert {c: labels.count(c) for c in CKPLUS_CLASSES} == summary["counts"]
    assert all(n >= 1 for n in summary["counts"].values())
    written = json.loads((root / ".semaug_demo.json").read_text())
    assert written == summary and written["knobs"]["width"] == CK["width"]


def test_landmarks_sit_on_the_drawn_face(ck):
    root, _ = ck
    for seq in _ck_sequences(root)[:4]:
        for frame in sorted(seq.glob("*.png"))[::2]:
            pixels = np.asarray(Image.open(frame), dtype=np.float64)
            marks = root / "Landmarks" / seq.parent.name / seq.name / f"{frame.stem}_landmarks.txt"
            points = _read_ck_landmarks(marks)
            h, w = pixels.shape
            assert (points >= 0).all() and (points[:, 0] < w).all() and (points[:, 1] < h).all()

            def patch(xy: np.ndarray, r: int = 1) -> np.ndarray:
                x, y = np.rint(xy).astype(int)
                return pixels[y - r:y + r + 1, x - r:x + r + 1]

            # Pupils (at the eye centres) are darker than the skin of the cheeks and nose.
            cheeks = [(points[3] + points[31]) / 2, (points[13] + points[35]) / 2, points[28]]
            skin = np.median(np.concatenate([patch(xy, 2).ravel() for xy in cheeks]))
            for eye in (slice(36, 42), slice(42, 48)):
                assert patch(points[eye].mean(0)).min() < 0.6 * skin
            # The face is not the background (the frame edge on the eyes' row, the side with
            # more room).
            row = int(round(points[36:48, 1].mean()))
            edge = 2 if points[:, 0].min() > w - 1 - points[:, 0].max() else w - 3
            background = np.median(pixels[row - 2:row + 3, edge - 2:edge + 3])
            assert abs(skin - background) > 20


def test_first_frame_is_neutral_and_the_apex_follows_the_class(ck):
    root, _ = ck
    knobs = make_knobs(**{k: v for k, v in CK.items() if k not in ("subjects", "seed")})
    faces = identities(CK["subjects"], CK["seed"], knobs, "ckplus")
    subjects = sorted({p.parent.name for p in _ck_sequences(root)})
    checked = 0
    for emotion in sorted(root.glob("Emotion/*/*/*_emotion.txt")):
        subject, number = emotion.parent.parent.name, emotion.parent.name
        face = faces[subjects.index(subject)]
        label = CKPLUS_CODES[int(float(emotion.read_text()))]
        marks = sorted((root / "Landmarks" / subject / number).glob("*_landmarks.txt"))
        first, last = _read_ck_landmarks(marks[0]), _read_ck_landmarks(marks[-1])
        np.testing.assert_allclose(first, face.to_pixels(face.neutral), atol=1e-4)
        offsets = face.motion.offsets(len(marks))[-1]
        moved = face.to_local(last, offsets) - face.neutral
        patterns = {c: apex_displacement({c: 1.0}, side=face.side) for c in CLASS_UNITS}
        cosine = {c: float((moved * p).sum() / np.linalg.norm(moved) / np.linalg.norm(p))
                  for c, p in patterns.items()}
        assert cosine[label] > 0.85 and max(cosine, key=cosine.get) == label, (label, cosine)
        checked += 1
    assert checked == sum(1 for _ in root.glob("Emotion/*/*/*.txt"))


def test_same_seed_same_bytes_other_seed_other_faces(ck, tmp_path):
    root, _ = ck
    again = tmp_path / "again"
    _render("ckplus", again, CK)
    assert _files(again) == _files(root)
    other = tmp_path / "other"
    _render("ckplus", other, {**CK, "seed": CK["seed"] + 1})
    for pattern in ("cohn-kanade-images/*/001/*_00000001.png", "Landmarks/*/001/*1_landmarks.txt"):
        ours, theirs = sorted(root.glob(pattern))[0], sorted(other.glob(pattern))[0]
        assert ours.read_bytes() != theirs.read_bytes()


def test_rerender_removes_a_partial_render_and_validates_knobs(tmp_path):
    stray = tmp_path / "cohn-kanade-images" / "S999" / "001" / "S999_001_00000001.png"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"a real dataset's frame")
    (tmp_path / "mine.txt").write_text("not the demo's")
    params = {**CK, "subjects": 2, "max_frames": 3}
    with pytest.raises(FileExistsError, match="refusing"):  # not the demo's: never deleted
        _render("ckplus", tmp_path, params)
    assert stray.exists()
    (tmp_path / OWNER_MARK).write_text("")  # as a killed demo render leaves it
    summary = _render("ckplus", tmp_path, params)
    assert not stray.exists() and (tmp_path / "mine.txt").exists()
    assert summary["sequences"] == len(_ck_sequences(tmp_path))
    with pytest.raises(TypeError, match="colour"):
        render_dataset("ckplus", tmp_path, subjects=2, seed=0, colour=True)
    with pytest.raises(ValueError, match="min_frames"):
        render_dataset("ckplus", tmp_path, subjects=2, seed=0, min_frames=9, max_frames=4)
    with pytest.raises(ValueError, match="folder"):
        render_dataset("folder", tmp_path, subjects=2, seed=0)


# ---- MUG ----------------------------------------------------------------------------------------

def test_mug_layout_files_and_side_landmarks(mug):
    root, summary = mug
    takes = sorted((root / "subjects3").glob("*/*/*"))
    assert len(takes) == summary["sequences"]
    offsets = []
    for take in takes:
        subject, expression = take.parent.parent.name, take.parent.name
        assert re.fullmatch(r"\d{3}", subject) and re.fullmatch(r"take\d{3}", take.name)
        assert expression in (*MUG_CLASSES, "neutral")
        frames = sorted(take.glob("*.jpg"))
        numbers = [int(re.fullmatch(r"img_(\d{4})\.jpg", f.name).group(1)) for f in frames]
        assert numbers == list(range(numbers[0], numbers[0] + len(frames)))
        offsets.append(numbers[0])
        with Image.open(frames[0]) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert image.size == (MUG["width"], MUG["height"])
        side = root / "landmarks3" / take.relative_to(root / "subjects3")
        assert sorted(p.stem for p in side.glob("*.txt")) == [f.stem for f in frames]
        lines = (side / f"{frames[-1].stem}.txt").read_text().splitlines()
        assert len(lines) == 68 and all(len(line.split()) == 2 for line in lines)
        points = np.array([[float(v) for v in line.split()] for line in lines])
        assert (points > 0).all() and (points < MUG["width"]).all()
    assert 0 in offsets and any(o > 0 for o in offsets)  # some takes do not start at 0
    assert summary["unlabelled"] == sum(1 for t in takes if t.parent.name == "neutral") >= 1


def test_mug_takes_per_class_follow_mug_counts(mug):
    root, summary = mug
    for subject in (root / "subjects3").iterdir():
        for name in MUG_CLASSES:
            assert 1 <= len(list((subject / name).glob("take*"))) <= 2
    counts = mug_take_counts(52)
    ratio = {c: counts[c] / MUG_COUNTS[c] for c in MUG_CLASSES}
    assert max(ratio.values()) / min(ratio.values()) < 1.05
    assert summary["counts"] == {c: sum(1 for _ in root.glob(f"subjects3/*/{c}/take*"))
                                 for c in MUG_CLASSES}


# ---- expressions, knobs, contact sheet ----------------------------------------------------------

def test_confusable_classes_are_close():
    apex = {c: apex_displacement({c: 1.0}) for c in CLASS_UNITS}
    gap = lambda a, b: float(np.linalg.norm(apex[a] - apex[b]))
    assert gap("fear", "surprise") < gap("happy", "sadness")
    assert gap("anger", "disgust") < gap("anger", "surprise")
    norms = {c: float(np.linalg.norm(d)) for c, d in apex.items()}
    assert min(norms, key=norms.get) == "contempt"  # the subtle one
    # contempt is one-sided: no point moves together with its mirror image (or on the midline)
    contempt = apex_displacement({"contempt": 1.0})
    moving = {i for i in range(68) if contempt[i].any()}
    assert moving and not any(int(FLIP_PERMUTATION[i]) in moving for i in moving)
    assert canonical_class("happiness") == "happy"


def test_easing_goes_from_neutral_to_apex():
    p = easing(12, 0.2, 0.8)
    assert p[0] == 0.0 and p[-1] == 1.0 and (np.diff(p) >= 0).all()


def test_schema_block_matches_the_knob_defaults():
    schema = yaml.safe_load(SCHEMA.read_text())
    block = schema["properties"]["datasets"]["additionalProperties"]["properties"]["demo"]
    assert block["additionalProperties"] is False
    props = dict(block["properties"])
    assert {props.pop("subjects")["default"], props.pop("seed")["default"]} == {60, 0}
    defaults = DemoKnobs().as_dict()
    assert {k: v["default"] for k, v in props.items()} == defaults
    assert all(v.get("description") for v in block["properties"].values())


def test_contact_sheet_has_the_expected_size(ck, tmp_path):
    root, _ = ck
    out = tmp_path / "sheet" / "demo_contact_sheet.png"
    contact_sheet("ckplus", root, out)
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == sheet_size(len(CKPLUS_CLASSES), min(MAX_SUBJECTS, CK["subjects"]))
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # faces were drawn, not an empty grid


def test_faces_are_centred_sized_and_inside_the_frame():
    for width, height in ((640, 490), (320, 240)):
        knobs = make_knobs(width=width, height=height, intensity=(1.2, 1.2))
        widths = []
        for face in identities(30, 7, knobs, "ckplus"):
            for name in ("surprise", "fear"):  # the largest landmark motions
                points = landmark_trajectory(face, {name: 1.0}, 30, np.random.default_rng(0))
                assert (points >= 0).all()
                assert (points[..., 0] <= width - 1).all() and (points[..., 1] <= height - 1).all()
            widths.append((points[0, 16, 0] - points[0, 0, 0]) / width)
            assert abs(points[0, 30, 0] / width - 0.5) < 0.15  # roughly centred
        assert 0.35 < min(widths) and max(widths) < 0.62 and np.std(widths) > 0.03


def test_knobs_change_what_is_rendered():
    def apex_motion(**knobs) -> float:
        face = identities(1, 0, make_knobs(width=160, height=120, **knobs), "ckplus")[0]
        points = landmark_trajectory(face, {"happy": 1.0}, 10, np.random.default_rng(0))
        return float(np.abs(points[-1] - points[0]).max())

    still = dict(head_motion=0.0)
    assert apex_motion(intensity=(0.0, 0.0), **still) == 0.0
    assert apex_motion(intensity=(1.0, 1.0), **still) > 2.0  # pixels
    face = identities(1, 0, make_knobs(width=160, height=120, head_motion=0.0), "ckplus")[0]
    neutral = landmark_trajectory(face, {}, 8, np.random.default_rng(0))
    assert np.array_equal(neutral, np.broadcast_to(neutral[0], neutral.shape))
    for noise, spread in ((0.0, (0.0, 0.0)), (4.0, (1.0, 8.0))):
        face = identities(1, 0, make_knobs(width=96, height=96, noise=noise), "ckplus")[0]
        renderer = FrameRenderer(face, 96, 96, grey=True)
        points = face.to_pixels(face.neutral)
        a, b = (renderer.render(points, np.random.default_rng(s)) for s in (1, 2))
        assert spread[0] <= np.std(a.astype(float) - b) <= spread[1]
