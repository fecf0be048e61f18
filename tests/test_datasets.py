"""Dataset loaders -> index: layouts, quirks of the real datasets, bad items, reading rows."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_layouts import (
    face_landmarks,
    make_ckplus_tree,
    make_folder_tree,
    make_mug_tree,
    write_frames,
    write_landmark_file,
)
from PIL import Image

from semaug.datasets import (
    INDEX_COLUMNS,
    DatasetError,
    build_index,
    read_frames,
    read_landmarks,
    write_index,
)


def reasons(rejects: pd.DataFrame, item: Path) -> list[str]:
    return rejects.loc[rejects["item"] == str(item), "reason"].tolist()


def image_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


# --- CK+ -----------------------------------------------------------------------------------

def test_ckplus_index_has_one_row_per_labelled_sequence_with_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = make_ckplus_tree(Path("ck"), subjects=("S010", "S005"), codes=(1, 5), unlabelled=1)
    index, rejects = build_index("ckplus", "ck")

    assert list(index.columns) == INDEX_COLUMNS
    labelled = [s for s in written if s.label]
    assert index["video_id"].tolist() == sorted(s.video_id for s in labelled)
    row = index.set_index("video_id").loc["S005_002"]
    assert (row["subject"], row["label"], row["n_frames"], row["fps"]) == ("S005", "happy", 4, 30)
    assert row["source"] == "ck/cohn-kanade-images/S005/002"
    assert row["landmarks_source"] == "ck/Landmarks/S005/002"
    unlabelled = sorted(str(s.source) for s in written if s.label is None)
    assert rejects["item"].tolist() == unlabelled
    assert set(rejects["reason"]) == {"unlabelled"}


@pytest.mark.parametrize("wrap", ["nested", "extra level"])
def test_ckplus_unzip_folders_one_level_deeper_are_found(tmp_path, wrap):
    make_ckplus_tree(tmp_path / "plain")
    plain, _ = build_index("ckplus", tmp_path / "plain")
    if wrap == "nested":  # extended-cohn-kanade-images/cohn-kanade-images, Emotion_labels/Emotion
        make_ckplus_tree(tmp_path / "wrapped", nested=True)
        expected_source = tmp_path / "wrapped/extended-cohn-kanade-images/cohn-kanade-images"
    else:  # the whole download unzipped into one folder of its own
        make_ckplus_tree(tmp_path / "wrapped" / "CK+")
        expected_source = tmp_path / "wrapped/CK+/cohn-kanade-images"
    wrapped, _ = build_index("ckplus", tmp_path / "wrapped")

    columns = ["video_id", "subject", "label", "n_frames"]
    pd.testing.assert_frame_equal(wrapped[columns], plain[columns])
    assert wrapped["source"].iloc[0] == str(expected_source / "S005/001")
    assert read_landmarks(wrapped.iloc[0]).shape == (4, 68, 2)


def test_ckplus_labels_in_e_notation_and_codes_that_are_not_classes(tmp_path):
    written = make_ckplus_tree(tmp_path, sequences=[
        ("S005", "001", 7), ("S005", "002", 2), ("S010", "001", 0), ("S010", "002", 9),
        ("S011", "001", 3),
    ])
    label_file = next((tmp_path / "Emotion/S005/001").iterdir())
    assert label_file.read_text() == "   7.0000000e+00\n"
    garbled = next((tmp_path / "Emotion/S011/001").iterdir())
    garbled.write_text("disgust\n")
    orphan = tmp_path / "Emotion/S099/001/S099_001_00000009_emotion.txt"
    orphan.parent.mkdir(parents=True)
    orphan.write_text("   1.0000000e+00\n")

    index, rejects = build_index("ckplus", tmp_path)

    assert dict(zip(index["video_id"], index["label"])) == {
        "S005_001": "surprise", "S005_002": "contempt"}
    by_id = {s.video_id: s.source for s in written}
    (neutral,) = reasons(rejects, by_id["S010_001"])
    assert neutral.startswith("neutral excluded") and "S010_001_00000004_emotion.txt" in neutral
    (unknown,) = reasons(rejects, by_id["S010_002"])
    assert unknown.startswith("unknown emotion code") and "code 9" in unknown
    (unreadable,) = reasons(rejects, by_id["S011_001"])
    assert unreadable.startswith("unreadable emotion file") and str(garbled) in unreadable
    (orphaned,) = reasons(rejects, orphan)
    assert orphaned.startswith("label without images")


def test_unlabelled_sequences_are_counted_in_rejects_and_in_the_log(tmp_path, caplog):
    make_ckplus_tree(tmp_path / "ck", subjects=("S005", "S010"), codes=(1, 3), unlabelled=1)
    index, rejects = build_index("ckplus", tmp_path / "ck")

    with caplog.at_level(logging.INFO, logger="semaug"):
        write_index(index, rejects, tmp_path / "out/index.csv", tmp_path / "out/rejects.csv")

    saved = pd.read_csv(tmp_path / "out/rejects.csv")
    assert list(saved.columns) == ["item", "reason"]
    assert (saved["reason"] == "unlabelled").sum() == 2
    assert "2 sequences unlabelled" in caplog.text
    assert "anger 2" in caplog.text and "contempt 0" in caplog.text


def test_junk_files_from_file_browsers_and_mac_zips_are_ignored(tmp_path):
    make_ckplus_tree(tmp_path / "clean")
    clean, _ = build_index("ckplus", tmp_path / "clean")
    written = make_ckplus_tree(tmp_path / "junk")
    sequence = written[0].source
    (sequence / ".DS_Store").write_bytes(b"\0\1junk")
    (sequence / "._S005_001_00000001.png").write_bytes(b"AppleDouble, not a PNG")
    (sequence / "Thumbs.db").write_bytes(b"junk")
    (sequence / "notes.txt").write_text("not an image")
    (sequence.parent / ".DS_Store").write_bytes(b"junk")
    emotion = tmp_path / "junk/Emotion/S005/001"
    (emotion / "._S005_001_00000004_emotion.txt").write_bytes(b"\0\0garbage")
    macosx = tmp_path / "junk/__MACOSX/cohn-kanade-images/S005/001"
    macosx.mkdir(parents=True)
    (macosx / "._S005_001_00000001.png").write_bytes(b"junk")

    index, rejects = build_index("ckplus", tmp_path / "junk")

    columns = ["video_id", "label", "n_frames"]
    pd.testing.assert_frame_equal(index[columns], clean[columns])
    assert rejects.empty


def test_greyscale_rgb_and_rgba_frames_are_read_as_rgb(tmp_path):
    grey = make_ckplus_tree(tmp_path, sequences=[("S005", "001", 1)], mode="L")[0]
    rgb = make_ckplus_tree(tmp_path, sequences=[("S010", "001", 1)], mode="RGB", size=(36, 30))[0]
    rgba = make_ckplus_tree(tmp_path, sequences=[("S011", "001", 1)], mode="RGBA")[0]
    index, rejects = build_index("ckplus", tmp_path)
    assert rejects.empty
    rows = index.set_index("video_id", drop=False)

    frames = read_frames(rows.loc["S005_001"])
    assert frames.dtype == np.uint8 and frames.shape == (4, 32, 40, 3)
    with Image.open(grey.frames[2]) as image:
        assert (frames[2] == np.asarray(image)[..., None]).all()
    frames = read_frames(rows.loc["S010_001"])
    assert frames.shape == (4, 30, 36, 3)
    assert (frames[1] == image_rgb(rgb.frames[1])).all()
    frames = read_frames(rows.loc["S011_001"])
    with Image.open(rgba.frames[3]) as image:
        assert (frames[3] == np.asarray(image)[..., :3]).all()

    # 16-bit greyscale keeps its contrast instead of saturating at 255.
    deep = np.array([[0, 256, 32768, 65535]], dtype=np.uint16)
    (tmp_path / "deep").mkdir()
    for n in range(2):
        Image.fromarray(deep).save(tmp_path / f"deep/f{n}.png")
    frames = read_frames({"video_id": "deep", "source": str(tmp_path / "deep")})
    assert frames[0, 0, :, 0].tolist() == [0, 1, 128, 255]


# Cutting a PNG in half loses pixel rows; cutting its last 20 bytes leaves every pixel
# decodable and only the final chunk broken, which a plain decode accepts.
@pytest.mark.parametrize("keep", [0.5, -20])
def test_truncated_png_rejects_its_sequence_naming_the_file(tmp_path, keep):
    written = make_ckplus_tree(tmp_path, subjects=("S005", "S010"), codes=(1,))
    broken = written[1].frames[2]
    data = broken.read_bytes()
    broken.write_bytes(data[: int(len(data) * keep)] if keep > 0 else data[:keep])

    index, rejects = build_index("ckplus", tmp_path)

    assert index["video_id"].tolist() == ["S005_001"]
    (reason,) = reasons(rejects, written[1].source)
    assert reason.startswith("unreadable frame") and str(broken) in reason


def test_one_frame_and_empty_sequences_are_rejected(tmp_path):
    make_ckplus_tree(tmp_path, sequences=[("S005", "001", 1), ("S005", "002", 2)])
    single = make_ckplus_tree(tmp_path, sequences=[("S010", "001", 1)], n_frames=1)[0]
    empty = make_ckplus_tree(tmp_path, sequences=[("S011", "001", 1)], n_frames=0)[0]
    (empty.source / ".DS_Store").write_bytes(b"junk")  # junk does not make it non-empty

    index, rejects = build_index("ckplus", tmp_path)

    assert index["video_id"].tolist() == ["S005_001", "S005_002"]
    (one,) = reasons(rejects, single.source)
    assert one.startswith("one frame") and str(single.frames[0]) in one
    (none,) = reasons(rejects, empty.source)
    assert none.startswith("no frames") and str(empty.source) in none


def test_frames_of_different_sizes_reject_the_sequence(tmp_path):
    written = make_ckplus_tree(tmp_path, subjects=("S005", "S010"), codes=(1,))
    odd = written[1].frames[3]
    Image.new("L", (20, 20)).save(odd)

    index, rejects = build_index("ckplus", tmp_path)

    assert index["video_id"].tolist() == ["S005_001"]
    (reason,) = reasons(rejects, written[1].source)
    assert reason.startswith("frame size differs") and str(odd) in reason


def test_missing_or_malformed_ckplus_landmark_files_reject_the_sequence(tmp_path):
    written = make_ckplus_tree(tmp_path, subjects=("S005", "S010", "S011"), codes=(1,))
    missing = written[1].landmark_files[2]
    missing.unlink()
    short = written[2].landmark_files[0]
    short.write_text("".join(short.read_text().splitlines(keepends=True)[:67]))

    index, rejects = build_index("ckplus", tmp_path)

    assert index["video_id"].tolist() == ["S005_001"]
    (reason,) = reasons(rejects, written[1].source)
    assert reason.startswith("missing landmarks") and missing.name in reason
    (reason,) = reasons(rejects, written[2].source)
    assert reason.startswith("bad landmarks") and str(short) in reason and "67 lines" in reason

    # Detected landmarks need no files: every sequence is usable and carries none.
    index, rejects = build_index("ckplus", tmp_path, landmarks="face_alignment")
    assert len(index) == 3 and rejects.empty
    assert (index["landmarks_source"] == "").all()
    assert read_landmarks(index.iloc[1]) is None


def test_ckplus_without_landmarks_folder_says_to_detect_them(tmp_path):
    make_ckplus_tree(tmp_path, landmarks=False)
    with pytest.raises(DatasetError, match="Landmarks/.*face_alignment"):
        build_index("ckplus", tmp_path, landmarks="dataset")
    index, _ = build_index("ckplus", tmp_path, landmarks="none")
    assert len(index) == 9


# --- MUG -----------------------------------------------------------------------------------

MUG_TAKES = [
    ("002", "session0", "anger", "take001"),
    ("002", "session1", "anger", "take001"),
    ("001", None, "anger", "take003"),
    ("001", None, "happiness", "take002end"),
    ("001", None, "neutral", "take000"),
    ("049", "session1", "fear", "take004"),
]


def test_mug_sessions_end_takes_late_first_frames_and_neutral(tmp_path):
    written = make_mug_tree(tmp_path, takes=MUG_TAKES, n_frames=5, first_frame=37)
    index, rejects = build_index("mug", tmp_path)

    assert index["video_id"].tolist() == [
        "001_anger_take003", "001_happiness_take002end", "002_session0_anger_take001",
        "002_session1_anger_take001", "049_session1_fear_take004"]
    assert index["subject"].tolist() == ["001", "001", "002", "002", "049"]
    assert (index["n_frames"] == 5).all() and (index["fps"] == 19).all()
    neutral = written[4]
    (reason,) = reasons(rejects, neutral.source)
    assert reason.startswith("neutral excluded")

    take = written[1]  # 002/session1/anger/take001, frames img_0037..img_0041
    row = index.set_index("video_id", drop=False).loc[take.video_id]
    frames = read_frames(row)
    assert frames.shape == (5, 32, 40, 3)
    assert all((frames[i] == image_rgb(f)).all() for i, f in enumerate(take.frames))
    np.testing.assert_allclose(read_landmarks(row), take.landmarks, atol=1e-3)

    # Listing neutral keeps it, as a class like any other.
    index, _ = build_index("mug", tmp_path, classes=["anger", "happiness", "fear", "neutral"])
    assert "001_neutral_take000" in set(index["video_id"])


def test_mug_truncated_jpeg_rejects_the_take_naming_the_file(tmp_path):
    written = make_mug_tree(tmp_path, subjects=("001", "003"), expressions=("anger",))
    broken = written[0].frames[1]
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) - 30])

    index, rejects = build_index("mug", tmp_path)

    assert index["video_id"].tolist() == ["003_anger_take000"]
    (reason,) = reasons(rejects, written[0].source)
    assert reason.startswith("unreadable frame") and str(broken) in reason


def test_mug_missing_side_file_names_it_and_points_to_face_alignment(tmp_path):
    written = make_mug_tree(tmp_path, subjects=("001", "003"), expressions=("anger",))
    missing = written[1].landmark_files[3]
    missing.unlink()

    index, rejects = build_index("mug", tmp_path)

    assert index["video_id"].tolist() == ["001_anger_take000"]
    (reason,) = reasons(rejects, written[1].source)
    assert missing.name in reason and "landmarks: face_alignment" in reason


def test_plain_mug_release_needs_detected_landmarks(tmp_path):
    make_mug_tree(tmp_path, landmarks=False)
    with pytest.raises(DatasetError, match="landmarks: face_alignment"):
        build_index("mug", tmp_path)
    index, _ = build_index("mug", tmp_path, landmarks="face_alignment")
    assert len(index) == 6 and (index["landmarks_source"] == "").all()


# --- folder --------------------------------------------------------------------------------

def test_folder_of_videos_and_frame_folders(tmp_path):
    written = make_folder_tree(tmp_path, n_frames=5, items=[
        ("happy", "s01_take", "video"), ("happy", "s02_take", "frames"),
        ("sad", "s02_take", "video"), ("sad", "nosubject", "frames"),
    ])
    (tmp_path / "sad/readme.txt").write_text("not a video")

    index, rejects = build_index("folder", tmp_path, landmarks="none")

    assert index["video_id"].tolist() == ["happy__s01_take", "happy__s02_take", "sad__s02_take"]
    assert index["subject"].tolist() == ["s01", "s02", "s02"]
    assert index["label"].tolist() == ["happy", "happy", "sad"]
    assert (index["n_frames"] == 5).all()
    assert index["fps"].tolist() == [10.0, 30.0, 10.0]  # from the file; nominal for frames
    (reason,) = rejects["reason"]
    assert rejects["item"].iloc[0] == str(written[3].source)
    assert "'nosubject'" in reason and "^(?P<subject>[^_]+)_" in reason
    video = read_frames(index.iloc[0])
    assert video.shape == (5, 32, 32, 3) and video.dtype == np.uint8
    assert read_landmarks(index.iloc[0]) is None


def test_folder_subject_regex_classes_and_duplicate_ids(tmp_path):
    make_folder_tree(tmp_path, items=[
        ("happy", "clip_s007", "frames"), ("happy", "clip_s012", "frames"),
        ("sad", "clip_s007", "frames"), ("sad", "clip_s012", "video"),
        ("sad", "clip_s012", "frames"),  # same id as the video beside it
    ])
    regex = r"_s(?P<subject>\d+)"

    index, rejects = build_index("folder", tmp_path, subject_regex=regex, landmarks="none",
                                 classes=["sad"])

    assert index["subject"].tolist() == ["007", "012"]  # leading zeros kept
    assert index.attrs["classes"] == ["sad"]
    kinds = sorted(r.split(":")[0] for r in rejects["reason"])
    assert kinds == ["class 'happy' not in classes"] * 2 + ["duplicate video_id"]
    with pytest.raises(DatasetError, match="'sda'"):
        build_index("folder", tmp_path, classes=["sda"], landmarks="none")
    with pytest.raises(DatasetError, match="subject"):
        build_index("folder", tmp_path, subject_regex=r"^(\w+)_", landmarks="none")


def test_folder_has_no_dataset_landmarks(tmp_path):
    make_folder_tree(tmp_path, items=[("a", "s1_x", "frames"), ("b", "s2_x", "frames")])
    with pytest.raises(DatasetError, match="face_alignment.*none"):
        build_index("folder", tmp_path, landmarks="dataset")


# --- all formats ---------------------------------------------------------------------------

LAYOUT_HINTS = {
    "ckplus": "cohn-kanade-images/<subject>/<sequence>/*.png and Emotion/",
    "mug": "subjects3/<subject>/",
    "folder": "<class>/<video file",
}


@pytest.mark.parametrize("fmt", sorted(LAYOUT_HINTS))
def test_missing_root_or_unknown_layout_says_what_was_expected(tmp_path, fmt):
    landmarks = "none" if fmt == "folder" else "dataset"
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match="does not exist") as error:
        build_index(fmt, missing, landmarks=landmarks)
    assert LAYOUT_HINTS[fmt] in str(error.value) and str(missing) in str(error.value)

    wrong = tmp_path / "wrong"
    (wrong / "stuff").mkdir(parents=True)
    (wrong / "stuff/notes.txt").write_text("no dataset here")
    with pytest.raises(DatasetError) as error:
        build_index(fmt, wrong, landmarks=landmarks)
    assert "expected " + LAYOUT_HINTS[fmt] in str(error.value)
    assert isinstance(error.value, ValueError)


def test_nothing_usable_is_an_error_that_lists_the_reasons(tmp_path):
    make_ckplus_tree(tmp_path, codes=(), unlabelled=1)
    with pytest.raises(DatasetError, match="no usable sequence.*3 unlabelled"):
        build_index("ckplus", tmp_path)


def test_frames_and_landmarks_are_read_in_frame_number_order(tmp_path):
    names = [f"frame_{n}.png" for n in range(12)]  # lexical order would put 10 before 2
    frames = write_frames(tmp_path / "clip", names)
    points = face_landmarks(40, 32, 12) + np.arange(12, dtype=np.float32)[:, None, None]
    for frame, p in zip(frames, points):
        write_landmark_file(tmp_path / "marks" / f"{frame.stem}.txt", p)
    row = {"video_id": "clip", "source": str(tmp_path / "clip"),
           "landmarks_source": str(tmp_path / "marks")}

    read = read_frames(row)

    assert (read == np.stack([image_rgb(f) for f in frames])).all()
    np.testing.assert_allclose(read_landmarks(row), points, atol=1e-3)


def test_written_index_reads_back_with_subjects_as_strings(tmp_path, caplog):
    make_mug_tree(tmp_path / "mug")
    index, rejects = build_index("mug", tmp_path / "mug")
    with caplog.at_level(logging.INFO, logger="semaug"):
        write_index(index, rejects, tmp_path / "out/index.csv", tmp_path / "out/rejects.csv")

    saved = pd.read_csv(tmp_path / "out/index.csv", dtype={"subject": str, "video_id": str})
    pd.testing.assert_frame_equal(saved, index, check_like=False)
    assert saved["subject"].tolist()[:2] == ["001", "001"]
    assert "indexed 6 sequences of 3 subjects" in caplog.text
    assert "3 neutral excluded" in caplog.text
    # A row read back from the CSV reads like the in-memory one.
    assert read_frames(saved.iloc[0]).shape == read_frames(index.iloc[0]).shape
