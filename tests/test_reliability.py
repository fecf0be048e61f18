"""The reliability battery: kill it, fill the disk, feed it garbage — nothing lost, nothing
read half written, nothing skipped without a word.

- bad inputs (parametrised, library level): each either stops with one message naming the
  item and the fix, or lands in the rejects table with its reason — never silently dropped;
- damaged files: a truncated or corrupt cached clip or checkpoint is one line naming the file
  and the fix, never numpy's zip-reader or torch's unpickler traceback;
- through Snakemake (slow): a corrupt config file, the directory lock, kill -9 of the whole
  process tree in the middle of a crop shard / synthesis / training / generator training
  (the rerun completes, training equals an uninterrupted run), a full disk (tmpfs).
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from conftest import REPO, SCHEMA, SNAKEMAKE
from fixtures_layouts import (
    face_landmarks,
    make_ckplus_tree,
    make_folder_tree,
    random_frames,
    write_landmark_file,
)
from semaug.clip import Clip, ClipError, is_valid_clip, load_clip, save_clip
from semaug.datasets import DatasetError
from semaug.datasets.index import build_index
from semaug.datasets.read import read_frames

# --------------------------------------------------------------------------------------------
# Bad inputs. A case builds its input under tmp_path and returns an Outcome: the error the
# library must raise (type + words of its message), or the reject reason the item must get,
# or, for inputs that are odd but valid, a check of what the index made of them.
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    run: Callable[[], object]
    raises: type[BaseException] | None = None
    message: tuple[str, ...] = ()  # words the error message or the reject reason contains
    rejected: Path | None = None  # the item that must be in the rejects table
    accepted: Callable[[pd.DataFrame], None] | None = None  # check of an accepted index


def _ck_index(root: Path, **kwargs) -> Callable[[], tuple[pd.DataFrame, pd.DataFrame]]:
    return lambda: build_index("ckplus", root, **kwargs)


def _folder_index(root: Path, **kwargs) -> Callable[[], tuple[pd.DataFrame, pd.DataFrame]]:
    return lambda: build_index("folder", root, landmarks="none", **kwargs)


def case_empty_root(tmp: Path) -> Outcome:
    (tmp / "ck").mkdir()
    return Outcome(_ck_index(tmp / "ck"), DatasetError, ("no cohn-kanade-images/", "expected"))


def case_root_is_a_file(tmp: Path) -> Outcome:
    (tmp / "ck.zip").write_bytes(b"PK\x03\x04 not unpacked")
    return Outcome(_ck_index(tmp / "ck.zip"), DatasetError, ("ck.zip", "is not a folder"))


def case_missing_root(tmp: Path) -> Outcome:
    return Outcome(_ck_index(tmp / "nowhere"), DatasetError, ("nowhere", "does not exist"))


def case_unknown_class(tmp: Path) -> Outcome:
    make_ckplus_tree(tmp)
    return Outcome(_ck_index(tmp, classes=["anger", "hapy"]), DatasetError,
                   ("'hapy'", "not ckplus classes", "known:"))


def case_class_listed_twice(tmp: Path) -> Outcome:
    make_ckplus_tree(tmp)
    return Outcome(_ck_index(tmp, classes=["anger", "anger"]), DatasetError, ("twice",))


def case_subject_regex_matches_nothing(tmp: Path) -> Outcome:
    make_folder_tree(tmp)
    return Outcome(_folder_index(tmp, subject_regex=r"^(?P<subject>subj\d+)_"), DatasetError,
                   ("no usable sequence", "subject not matched", "subject_regex"))


def case_subject_regex_without_group(tmp: Path) -> Outcome:
    make_folder_tree(tmp)
    return Outcome(_folder_index(tmp, subject_regex=r"^(\w+)_"), DatasetError,
                   ("(?P<subject>...)",))


def case_frames_of_different_sizes(tmp: Path) -> Outcome:
    seqs = make_ckplus_tree(tmp)
    odd = seqs[0].frames[2]
    Image.fromarray(random_frames(1, (48, 32), "L", 9)[0]).save(odd)
    return Outcome(_ck_index(tmp), message=("frame size differs", odd.name, "48x32"),
                   rejected=seqs[0].source)


def case_truncated_frame(tmp: Path) -> Outcome:
    seqs = make_ckplus_tree(tmp)
    frame = seqs[1].frames[1]
    frame.write_bytes(frame.read_bytes()[:60])
    return Outcome(_ck_index(tmp), message=("unreadable frame", frame.name),
                   rejected=seqs[1].source)


def case_dangling_symlinked_frame(tmp: Path) -> Outcome:
    seqs = make_ckplus_tree(tmp)
    frame = seqs[0].frames[0]
    frame.unlink()
    frame.symlink_to(tmp / "gone.png")
    return Outcome(_ck_index(tmp), message=("unreadable frame", frame.name),
                   rejected=seqs[0].source)


def case_symlinked_frames(tmp: Path) -> Outcome:
    """Frames that are symlinks to files elsewhere (a deduplicated copy) read like files."""
    seqs = make_ckplus_tree(tmp / "ck")
    store = tmp / "store"
    store.mkdir()
    for frame in seqs[0].frames:
        target = store / frame.name
        frame.rename(target)
        frame.symlink_to(target)

    def check(index: pd.DataFrame) -> None:
        row = index.set_index("video_id").loc[seqs[0].video_id]
        frames = read_frames({**row, "video_id": seqs[0].video_id})
        expected = np.stack([np.asarray(Image.open(store / f.name)) for f in seqs[0].frames])
        assert np.array_equal(frames[..., 0], expected)

    return Outcome(_ck_index(tmp / "ck"), accepted=check)


def case_16_bit_png(tmp: Path) -> Outcome:
    """16-bit greyscale frames are read as their high byte (not clipped at 255)."""
    seqs = make_ckplus_tree(tmp)
    values = np.arange(32 * 40, dtype=np.uint16).reshape(32, 40) * 50
    for frame in seqs[0].frames:
        Image.fromarray(values).save(frame)  # mode I;16

    def check(index: pd.DataFrame) -> None:
        row = index.set_index("video_id").loc[seqs[0].video_id]
        frames = read_frames(row)
        assert frames.dtype == np.uint8 and frames.shape == (4, 32, 40, 3)
        assert np.array_equal(frames[0, ..., 1], (values >> 8).astype(np.uint8))

    return Outcome(_ck_index(tmp), accepted=check)


def case_cmyk_jpeg(tmp: Path) -> Outcome:
    """A CMYK JPEG (print-workflow exports) is converted to RGB, not read as BGRA."""
    root = tmp / "videos"
    folder = root / "happy" / "s01_take"
    folder.mkdir(parents=True)
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:, :16] = (200, 30, 30)  # red left half, blue right half
    rgb[:, 16:] = (30, 30, 200)
    for n in range(3):
        Image.fromarray(rgb).convert("CMYK").save(folder / f"frame_{n}.jpg", quality=95)
    make_folder_tree(root, items=[("sad", "s02_clip", "frames"), ("happy", "s03_clip", "frames")])

    def check(index: pd.DataFrame) -> None:
        frames = read_frames(index.set_index("video_id").loc["happy__s01_take"])
        assert np.abs(frames[0, 8, 4].astype(int) - (200, 30, 30)).max() < 40, frames[0, 8, 4]
        assert np.abs(frames[0, 8, 28].astype(int) - (30, 30, 200)).max() < 40, frames[0, 8, 28]

    return Outcome(_folder_index(root), accepted=check)


def case_landmark_file_with_67_lines(tmp: Path) -> Outcome:
    seqs = make_ckplus_tree(tmp)
    bad = seqs[2].landmark_files[1]
    bad.write_text("".join(bad.read_text().splitlines(keepends=True)[:67]))
    return Outcome(_ck_index(tmp), message=("bad landmarks", bad.name, "67 lines"),
                   rejected=seqs[2].source)


def case_nan_landmarks(tmp: Path) -> Outcome:
    seqs = make_ckplus_tree(tmp)
    points = face_landmarks(40, 32, 1)[0]
    points[30] = np.nan
    bad = write_landmark_file(seqs[0].landmark_files[0], points)
    return Outcome(_ck_index(tmp), message=("bad landmarks", bad.name, "non-finite"),
                   rejected=seqs[0].source)


def case_missing_landmark_file(tmp: Path) -> Outcome:
    seqs = make_ckplus_tree(tmp)
    seqs[1].landmark_files[3].unlink()
    return Outcome(_ck_index(tmp), message=("missing landmarks", seqs[1].frames[3].name),
                   rejected=seqs[1].source)


def case_one_frame_sequence(tmp: Path) -> Outcome:
    seqs = make_ckplus_tree(tmp)
    for frame in seqs[0].frames[1:]:
        frame.unlink()
    return Outcome(_ck_index(tmp), message=("one frame",), rejected=seqs[0].source)


def case_zero_byte_video(tmp: Path) -> Outcome:
    make_folder_tree(tmp)
    empty = tmp / "happy" / "s03_empty.mp4"
    empty.write_bytes(b"")
    return Outcome(_folder_index(tmp), message=("unreadable video", empty.name),
                   rejected=empty)


def case_video_that_is_not_a_video(tmp: Path) -> Outcome:
    make_folder_tree(tmp)
    fake = tmp / "sad" / "s03_notes.mp4"
    fake.write_text("meeting notes, saved with the wrong extension\n" * 20)
    return Outcome(_folder_index(tmp), message=("unreadable video", fake.name), rejected=fake)


def case_variable_frame_rate_video(tmp: Path) -> Outcome:
    """A VFR video: every stored frame once — the index's count is what reading returns, and
    no frame is invented to fill the gaps (ffmpeg's default for a raw pipe would)."""
    from semaug.video import ffmpeg_exe, read_video

    make_folder_tree(tmp)
    vfr = tmp / "happy" / "s03_vfr.mp4"
    frames = random_frames(8, (32, 32), "RGB", 5)
    # presentation times 0, .1, .4, .9, 1.6, ... s: gaps growing from one to many frame slots
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "32x32", "-r", "10", "-i", "pipe:", "-vf", "setpts=N*N/10/TB",
                    "-fps_mode", "vfr", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(vfr)],
                   input=frames.tobytes(), check=True)

    def check(index: pd.DataFrame) -> None:
        row = index.set_index("video_id").loc["happy__s03_vfr"]
        assert row["n_frames"] == 8, row["n_frames"]
        assert len(read_video(vfr)[0]) == 8

    return Outcome(_folder_index(tmp), accepted=check)


def case_unusual_characters_in_paths(tmp: Path) -> Outcome:
    """Spaces, quotes and non-ASCII in the root, class and file names, through ffmpeg: the
    video decodes and its id is filesystem-safe."""
    root = tmp / "my data" / "l'été \"2024\""
    make_folder_tree(root, items=[("happy", "s01_take 1 «é»", "video"),
                                  ("happy", "s02_it's", "frames"),
                                  ("sad", "s01_ça va", "video"), ("sad", "s02_clip", "video")])

    def check(index: pd.DataFrame) -> None:
        assert index["video_id"].str.fullmatch(r"[A-Za-z0-9_.-]+").all(), index["video_id"]
        for _, row in index.iterrows():
            assert read_frames(row).shape == (4, 32, 32, 3)
        from semaug.video import write_video

        out = write_video(root / "prévu 'x'.mp4", read_frames(index.iloc[0]))
        assert out.stat().st_size > 100

    return Outcome(_folder_index(root), accepted=check)


def case_ids_that_collide_after_sanitising(tmp: Path) -> Outcome:
    make_folder_tree(tmp, items=[("happy", "s01 a", "video"), ("happy", "s01-a", "video"),
                                 ("sad", "s02_b", "video")])
    second = tmp / "happy" / "s01-a.mp4"
    return Outcome(_folder_index(tmp, subject_regex=r"^(?P<subject>s\d+)"),
                   message=("duplicate video_id", "happy__s01-a", "rename one"),
                   rejected=second)


def _video_table(subjects_per_label: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([{"video_id": f"{s}_{lab}", "subject": s, "label": lab}
                         for lab, subjects in subjects_per_label.items() for s in subjects])


def case_class_with_a_single_subject(tmp: Path) -> Outcome:
    """No valid folds: the fold that tests that subject has no training video of its class —
    said by the folds stage, before any synthesis or training job."""
    from semaug.folds import FoldError, assign_folds

    videos = _video_table({"happy": ["s1", "s2", "s3", "s4"], "sad": ["s1", "s2", "s3", "s4"],
                           "fear": ["s2"]})
    return Outcome(lambda: assign_folds(videos, 2, seed=0), FoldError,
                   ("['fear']", "absent from the training part", "lower `folds`"))


def case_more_folds_than_subjects(tmp: Path) -> Outcome:
    from semaug.folds import FoldError, assign_folds

    videos = _video_table({"happy": ["s1", "s2", "s3"], "sad": ["s1", "s2", "s3"]})
    return Outcome(lambda: assign_folds(videos, 5, seed=0), FoldError,
                   ("5 folds need at least 5 subjects", "has 3", "lower `folds`"))


def _checked(tmp: Path, mutate: Callable[[dict], None]) -> Callable[[], object]:
    """Schema validation (defaults filled in), then semaug.config.check_config, as the
    Snakefile does."""
    from snakemake.utils import validate

    from semaug.config import check_config

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    mutate(config)

    def run():
        validate(config, schema=str(SCHEMA))
        return check_config(config)

    return run


def _explained(mutate: Callable[[dict], None]) -> Callable[[], object]:
    """Schema validation the way common.smk reports it: explain_config_error's paragraph."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    from semaug.config import ConfigError, explain_config_error

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    mutate(config)

    def run():
        try:
            validate(copy.deepcopy(config), schema=str(SCHEMA))
        except WorkflowError:
            raise ConfigError(explain_config_error(config, SCHEMA)) from None

    return run


def case_unknown_scenario(tmp: Path) -> Outcome:
    from semaug.config import ConfigError

    return Outcome(_checked(tmp, lambda c: c.update(scenarios=["original", "landmark_wrap"])),
                   ConfigError, ("scenarios", "landmark_wrap"))


def case_unknown_model(tmp: Path) -> Outcome:
    from semaug.config import ConfigError

    return Outcome(_checked(tmp, lambda c: c["datasets"]["ck_demo"].update(models=["cnn", "resnet"])), ConfigError,
                   ("unknown classifier 'resnet'", "available"))


def case_negative_epochs(tmp: Path) -> Outcome:
    from semaug.config import ConfigError

    return Outcome(_explained(lambda c: c["train"].update(epochs=-3)), ConfigError,
                   ("`train.epochs`", "-3", "less than the minimum"))


def case_negative_epochs_of_one_model(tmp: Path) -> Outcome:
    from semaug.config import ConfigError

    return Outcome(_explained(lambda c: c["train"]["by_model"]["cnn"].update(epochs=0)),
                   ConfigError, ("`train.by_model.cnn.epochs`", "less than the minimum"))


def case_faces_too_small_for_the_models(tmp: Path) -> Outcome:
    from semaug.config import ConfigError

    return Outcome(_checked(tmp, lambda c: c["faces"].update(size=24)), ConfigError,
                   ("faces.size", "24 px", "too small", "image_size 32"))


def case_real_root_that_does_not_exist(tmp: Path) -> Outcome:
    from semaug.config import ConfigError

    def mutate(config):
        config["datasets"] = {"mine": {"format": "ckplus", "root": str(tmp / "no CK here")}}

    return Outcome(_checked(tmp, mutate), ConfigError,
                   ("datasets.mine.root", "no CK here", "does not exist"))


def case_unknown_format(tmp: Path) -> Outcome:
    from semaug.config import ConfigError

    def mutate(config):
        config["datasets"] = {"mine": {"format": "afew", "root": str(tmp)}}

    return Outcome(_checked(tmp, mutate), ConfigError, ("unknown format 'afew'", "ckplus"))


BAD_INPUTS = {name[len("case_"):]: fn for name, fn in dict(globals()).items()
              if name.startswith("case_")}


def _accounted_for(index: pd.DataFrame, rejects: pd.DataFrame, root: Path) -> None:
    """Nothing silently skipped: every sequence folder / video under ``root`` that a layout
    could mean is in the index or in the rejects."""
    listed = set(index["source"]) | set(rejects["item"])
    for item in root.rglob("*"):
        is_sequence = item.is_dir() and any(p.suffix in (".png", ".jpg") for p in item.iterdir())
        if (is_sequence or item.suffix == ".mp4") and "store" not in item.parts:
            assert str(item) in listed, f"{item} is neither indexed nor rejected"


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input(name, tmp_path):
    """Each bad input stops with its message, is rejected with its reason, or (odd but valid)
    is read correctly — and nothing is dropped without a reject row."""
    outcome = BAD_INPUTS[name](tmp_path)
    if outcome.raises is not None:
        with pytest.raises(outcome.raises) as err:
            outcome.run()
        message = str(err.value)
        assert "\n" not in message, message
        for words in outcome.message:
            assert words in message, f"{words!r} not in: {message}"
        return
    index, rejects = outcome.run()
    _accounted_for(index, rejects, tmp_path)
    if outcome.rejected is not None:
        reasons = rejects.loc[rejects["item"] == str(outcome.rejected), "reason"].tolist()
        assert reasons, f"{outcome.rejected} not rejected; rejects: {rejects.to_dict('records')}"
        for words in outcome.message:
            assert words in reasons[0], f"{words!r} not in: {reasons[0]}"
        assert str(outcome.rejected) not in set(index["source"])
    if outcome.accepted is not None:
        outcome.accepted(index)


# --------------------------------------------------------------------------------------------
# Damaged files
# --------------------------------------------------------------------------------------------


def _clip(n: int = 5, size: int = 16) -> Clip:
    rng = np.random.default_rng(0)
    return Clip(frames=rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
                landmarks=rng.random((n, 68, 2), dtype=np.float32) * size, meta={"a": 1})


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 64] = bytes(b ^ 0xFF for b in data[mid:mid + 64])
    path.write_bytes(bytes(data))


DAMAGES = {
    "truncated": _truncate,
    "zero bytes": lambda p: p.write_bytes(b""),
    "bytes flipped inside the frames": _flip_middle,
    "not a zip": lambda p: p.write_text("<html>404 Not Found</html>"),
    "an npz without landmarks": lambda p: np.savez(p.with_suffix(""), frames=np.zeros(3)),
    "a pickle": lambda p: np.save(p.with_suffix(".npy"), np.array([{}]), allow_pickle=True)
    or p.with_suffix(".npy").rename(p),
}


@pytest.mark.parametrize("where", ["results/ck/faces/clips/S005_001.npz",
                                   "results/ck/fold0/synthetic/landmark_warp/clips/00003.npz"])
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_clip_is_one_line_naming_the_file_and_the_fix(tmp_path, damage, where):
    """load_clip on a damaged cached clip raises ClipError: one line with the path, "delete
    it" and the rule to force; is_valid_clip says False (so a resuming stage remakes it)."""
    path = save_clip(tmp_path / where, _clip())
    DAMAGES[damage](path)
    with pytest.raises(ClipError) as err:
        load_clip(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "delete it" in message
    rule = "synthesize" if "synthetic" in where else "crop_faces"
    assert f"--forcerun {rule}" in message
    assert not is_valid_clip(path)


def test_runlog_prints_the_one_line_before_the_traceback(tmp_path):
    """A job script dying on a damaged clip: its log's first error line is the ClipError's
    message (what show-failed-logs puts on screen first)."""
    path = save_clip(tmp_path / "faces/clips/x.npz", _clip())
    _truncate(path)
    log = tmp_path / "job.log"
    code = ("from semaug.runlog import log_to; from semaug.clip import load_clip\n"
            f"log_to({str(log)!r}); load_clip({str(path)!r})\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
    assert result.returncode == 1
    lines = log.read_text().splitlines()
    assert "ERROR semaug: ClipError: clip file" in lines[0] and str(path) in lines[0]
    assert "delete it" in lines[0]
    assert "BadZipFile" not in lines[0].split("(", 1)[0]


def test_save_clip_leaves_nothing_when_the_write_fails(tmp_path, monkeypatch):
    """A writer that dies (here: the disk fills) leaves neither the clip nor a .part file."""
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full)
    from semaug.atomic import DiskFullError

    with pytest.raises(DiskFullError) as err:
        save_clip(tmp_path / "clips/a.npz", _clip())
    assert "no space left" in str(err.value) and str(tmp_path / "clips/a.npz") in str(err.value)
    assert list((tmp_path / "clips").iterdir()) == []


CHECKPOINT_DAMAGES = {
    "truncated": (_truncate, "truncated or corrupt"),
    "zero bytes": (lambda p: p.write_bytes(b""), "truncated or corrupt"),
    "not a checkpoint": (lambda p: p.write_text("hello"), "truncated or corrupt"),
    "a pickle that runs code": (None, "could run code"),
    "numpy objects": (None, "more than tensors"),
}


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


@pytest.mark.parametrize("damage", sorted(CHECKPOINT_DAMAGES))
def test_checkpoint_loading_is_safe_and_one_line(tmp_path, damage, monkeypatch):
    """load_checkpoint = torch.load(weights_only=True) on the CPU: plain checkpoints load; a
    damaged or foreign file is a CheckpointError naming it and the fix, and runs nothing."""
    import torch

    from semaug.checkpoints import CheckpointError, load_checkpoint

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "model.pt"
    good = {"state_dict": {"w": torch.ones(2)}, "classes": ["a", "b"], "epoch": 3,
            "history": [{"loss": 0.5}], "rng": torch.get_rng_state()}
    torch.save(good, path)
    assert load_checkpoint(path)["classes"] == ["a", "b"]
    damage_fn, words = CHECKPOINT_DAMAGES[damage]
    if damage == "a pickle that runs code":
        torch.save({"x": _RunsCode()}, path)
    elif damage == "numpy objects":
        torch.save({"x": np.zeros(3)}, path)
    else:
        damage_fn(path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, writer="the train rule")
    message = str(err.value)
    assert "\n" not in message and str(path) in message and words in message
    assert "delete it and rerun the train rule" in message
    assert not (tmp_path / "PWNED").exists()


def test_the_landmark_regressor_loads_without_pickle(tmp_path):
    """The landmark regressor is an npz of plain arrays: it round-trips, and a file whose
    arrays are pickled objects is refused (np.load's allow_pickle=False), not unpickled."""
    from semaug.synthesis.landmark_regressor import LandmarkRegressor

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    reg = LandmarkRegressor(res=8).fit(frames, rng.random((12, 68, 2)) * 16)
    reg.save(tmp_path / "reg.npz")
    again = LandmarkRegressor.load(tmp_path / "reg.npz")
    assert np.allclose(again.predict(frames), reg.predict(frames))
    np.savez(tmp_path / "evil.npz", res=8, alpha=1.0, mean_x=np.array([_RunsCode()]),
             mean_y=np.zeros(2), weights=np.zeros(2))
    with pytest.raises(ValueError, match="allow_pickle"):
        LandmarkRegressor.load(tmp_path / "evil.npz")


def test_every_checkpoint_is_loaded_weights_only():
    """Every torch.load in the library says weights_only=True (semaug.checkpoints does)."""
    import re

    calls = [f"{path.relative_to(REPO)}: {m.group(0)}"
             for path in (REPO / "src").rglob("*.py")
             for m in re.finditer(r"torch\.load\([^)]*\)", path.read_text())
             if "weights_only=True" not in m.group(0)]
    assert not calls, calls


def test_no_unsafe_loaders_or_shells_in_the_code():
    """yaml.safe_load only; no shell=True, os.system, eval/exec or pickle; no np.load
    with allow_pickle=True (numpy's default refuses pickles). (torch.load call sites outside semaug.checkpoints are listed in the
    issue report until they switch over: they are in modules edited elsewhere.)"""
    import re

    offenders = []
    for path in [*(REPO / "src").rglob("*.py"), *(REPO / "workflow").rglob("*.py"),
                 *(REPO / "workflow").rglob("*.smk"), REPO / "Snakefile"]:
        text = path.read_text()
        for pattern in (r"yaml\.load\(", r"yaml\.unsafe_load", r"shell\s*=\s*True",
                        r"os\.system\(", r"(?<![.\w])eval\(", r"(?<![.\w])exec\(",
                        r"pickle\.loads?\(",
                        r"allow_pickle\s*=\s*True"):
            offenders += [f"{path.relative_to(REPO)}: {m.group(0)}"
                          for m in re.finditer(pattern, text)]
    assert not offenders, offenders


# --------------------------------------------------------------------------------------------
# Through Snakemake: one tiny demo workdir; the cases run in this order and build on each other
# (lock -> crop shard -> synthesis -> training -> disk full -> generator -> damaged clip).
# --------------------------------------------------------------------------------------------

TINY = """
datasets:
  ck_tiny:
    format: ckplus
    root: results/demo/ck_tiny
    classes: [anger, happy, surprise]
    demo: {subjects: 8, seed: 0, width: 120, height: 96, min_frames: 6, max_frames: 8, intensity: [2.8, 3.8]}
folds: 2
models: [cnn]
scenarios: [original, landmark_warp]
faces: {size: 32, shards: 1}
synthesis: {balance: 10, batch_size: 2, previews: true, quality_videos: 4}
train: {epochs: 150, image_size: 16, frames: 2, threads: 1, gpu: 0}
"""
# Monkey-Net at its smallest (tests/test_monkeynet_train.py's TINY), a resume state every 5
# iterations.
GENERATOR = """
scenarios: [original, landmark_warp, monkeynet]
generators:
  monkeynet:
    image_size: 32
    keypoints: 4
    batch_size: 4
    log_every: 5
    checkpoint_every: 5
    iterations: 40
    lr: 0.001
    min_train_videos: 2  # the tiny fold has 5
    keypoint_detector: {block_expansion: 8, max_features: 16, num_blocks: 2, scale: 0.5}
    dense_motion: {block_expansion: 8, max_features: 16, num_blocks: 2}
    generator: {block_expansion: 8, max_features: 16, res_blocks: 1}
    discriminator: {block_expansion: 8, max_features: 16, num_blocks: 2, scales: [1.0]}
    device: cpu
    threads: 1
"""
DS = "results/ck_tiny"
TRAIN_DIR = f"{DS}/fold0/cnn/original/seed0"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("reliability")
    (work / "tiny.yaml").write_text(TINY)
    (work / "generator.yaml").write_text(GENERATOR)
    return work


def _command(work: Path, *args: str, generator: bool = False) -> list[str]:
    # targets first: --configfile takes several values and would swallow them
    configs = [str(work / "tiny.yaml")] + ([str(work / "generator.yaml")] if generator else [])
    return [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
            "--cores", "2", *args, "--configfile", *configs]


def snakemake(work: Path, *args: str, generator: bool = False,
              timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = _command(work, *args, generator=generator)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))


def start(work: Path, *args: str, generator: bool = False) -> subprocess.Popen:
    """snakemake in its own session: killpg then takes its whole process tree (the jobs and
    their ffmpeg children included)."""
    out = open(work / "killed_run.out", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(_command(work, *args, generator=generator), stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], work: Path,
              timeout: float = 240) -> None:
    """kill -9 the process group of ``proc`` as soon as ``ready()``; fail if snakemake ends
    first (the kill point was never reached)."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if ready():
                return
            if proc.poll() is not None:
                tail = (work / "killed_run.out").read_text()[-3000:]
                pytest.fail(f"snakemake ended (rc {proc.returncode}) before the kill point:\n{tail}")
            time.sleep(0.02)
        pytest.fail("the kill point was not reached in time")
    finally:
        with _suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_group_gone(proc.pid)


class _suppress:
    def __init__(self, *errors):
        self.errors = errors

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        return kind is not None and issubclass(kind, self.errors)


def _wait_group_gone(pgid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def rerun(work: Path, *targets: str, generator: bool = False) -> subprocess.CompletedProcess:
    """What a user does after a kill: --unlock (the killed run's lock is still there), rerun."""
    unlock = snakemake(work, "--unlock", generator=generator)
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    result = snakemake(work, *targets, generator=generator)
    assert result.returncode == 0, result.stderr[-5000:]
    return result


def complete_clips(folder: Path) -> list[Path]:
    """Clips renamed into place (an atomic writer's temporary is <name>.part.npz)."""
    return sorted(p for p in folder.glob("*.npz") if ".part" not in p.name)


def partial_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if ".part" in p.name)


def _log(work: Path, pattern: str) -> Path:
    logs = sorted((work / "logs").glob(pattern))
    assert len(logs) == 1, (pattern, logs)
    return logs[0]


@pytest.mark.slow
def test_a_second_run_on_the_same_directory_is_refused_by_the_lock(work):
    """While one snakemake builds faces.csv, a second one on the same directory stops with
    Snakemake's lock message (it would write the same files); the first completes."""
    first = start(work, f"{DS}/faces.csv")
    try:
        locks = work / ".snakemake" / "locks"
        deadline = time.monotonic() + 120
        while not (locks.is_dir() and any(locks.iterdir())):
            assert first.poll() is None, (work / "killed_run.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "the first run never took its lock"
            time.sleep(0.05)
        second = snakemake(work, f"{DS}/index.csv")
        assert second.returncode != 0
        assert "cannot be locked" in second.stderr + second.stdout, second.stderr[-2000:]
        assert first.wait(timeout=300) == 0, (work / "killed_run.out").read_text()[-3000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    assert (work / DS / "faces.csv").exists()


@pytest.mark.slow
def test_kill_during_a_crop_shard_then_the_rerun_completes(work):
    """kill -9 of snakemake and its jobs while the crop shard writes clips: the rerun (after
    --unlock) reuses the clips finished before the kill, makes the rest, and every clip in
    faces.csv reads completely; no temporary file is left."""
    clips = work / DS / "faces" / "clips"
    for path in [*clips.glob("*"), *(work / DS).glob("faces*.csv"), *(work / DS / "faces").glob("*.csv")]:
        path.unlink()
    proc = start(work, f"{DS}/faces.csv")
    kill_when(proc, lambda: len(complete_clips(clips)) >= 2, work)
    assert not (work / DS / "faces" / "shard0.csv").exists(), "killed after the shard finished"
    before = {p.name: p.stat().st_mtime_ns for p in complete_clips(clips)}
    rerun(work, f"{DS}/faces.csv")
    faces = pd.read_csv(work / DS / "faces.csv")
    index = pd.read_csv(work / DS / "index.csv")
    assert set(faces["video_id"]) == set(index["video_id"])
    for path in faces["path"]:
        load_clip(work / path)
    after = {p.name: p.stat().st_mtime_ns for p in complete_clips(clips)}
    assert all(after[name] == mtime for name, mtime in before.items()), "a finished clip was redone"
    assert len(before) < len(after) and not partial_files(work / DS)


@pytest.mark.slow
def test_kill_during_synthesis_then_the_rerun_completes(work):
    """kill -9 while landmark_warp writes synthetic clips: the rerun keeps the clips finished
    with their preview, makes the others, and videos.csv lists one complete clip per plan row."""
    clips = work / DS / "fold0" / "synthetic" / "landmark_warp" / "clips"
    target = f"{DS}/fold0/synthetic/landmark_warp/videos.csv"
    proc = start(work, target)
    kill_when(proc, lambda: len(complete_clips(clips)) >= 3, work)
    assert not (work / target).exists(), "killed after synthesis finished"
    # a clip is finished with its preview (a clip whose mp4 is missing is made again)
    before = {p.name: p.stat().st_mtime_ns for p in complete_clips(clips)
              if p.with_suffix(".mp4").exists()}
    rerun(work, target)
    videos = pd.read_csv(work / target)
    plan = pd.read_csv(work / DS / "fold0" / "synthesis_plan.csv")
    assert len(videos) == len(plan) > len(before)
    for path in videos["path"]:
        assert load_clip(work / path).n_frames >= 2
    after = {p.name: p.stat().st_mtime_ns for p in complete_clips(clips)}
    assert all(after[name] == mtime for name, mtime in before.items())
    assert not partial_files(clips.parent)


@pytest.mark.slow
def test_kill_during_training_then_the_rerun_equals_an_uninterrupted_run(work, tmp_path):
    """kill -9 after some epochs: the rerun resumes from resume.pt (its log says so) and its
    metrics.json, history losses and predictions equal those of an uninterrupted run with the
    same seed. The checkpoints it writes load with torch.load(weights_only=True)."""
    from semaug.checkpoints import load_checkpoint

    out = work / TRAIN_DIR
    log = work / "logs" / "train" / "ck_tiny" / "fold0" / "cnn_original_seed0.log"
    target = f"{TRAIN_DIR}/metrics.json"

    def some_epochs_done() -> bool:
        return (out / "resume.pt").exists() and log.exists() and "epoch 10/" in log.read_text()

    proc = start(work, target)
    kill_when(proc, some_epochs_done, work)
    assert not (out / "metrics.json").exists(), "killed after training finished"
    state = load_checkpoint(out / "resume.pt")  # the resume state is plain data
    assert 1 <= state["epoch"] < 150  # the log line of epoch 10 may precede its resume state
    rerun(work, target)
    assert "resuming from" in log.read_text()
    resumed = {name: (out / name).read_bytes() for name in ("metrics.json", "predictions.csv")}
    history = pd.read_csv(out / "history.csv")
    assert load_checkpoint(out / "model.pt")["classes"] == ["anger", "happy", "surprise"]

    again = snakemake(work, target, "--forcerun", "train")
    assert again.returncode == 0, again.stderr[-4000:]
    assert "resuming" not in log.read_text().split("resuming from")[-1]
    assert json.loads(resumed["metrics.json"]) == json.loads((out / "metrics.json").read_text())
    assert resumed["predictions.csv"] == (out / "predictions.csv").read_bytes()
    uninterrupted = pd.read_csv(out / "history.csv")
    columns = [c for c in history.columns if c != "seconds"]
    pd.testing.assert_frame_equal(history[columns], uninterrupted[columns])


@pytest.mark.slow
def test_a_full_disk_names_the_path_leaves_nothing_and_the_rerun_completes(work):
    """Synthesis outputs on a 24 KiB tmpfs: the job fails, its log names the file and "no
    space left", no partial clip or table is left there; with space freed the rerun
    completes. (Needs root to mount: skipped with the reason otherwise.)"""
    synthetic = work / DS / "fold1" / "synthetic"
    synthetic.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(synthetic)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): run as root")
    try:
        target = f"{DS}/fold1/synthetic/landmark_warp/videos.csv"
        failed = snakemake(work, target)
        assert failed.returncode != 0
        log = _log(work, "synthesis/ck_tiny/fold1_landmark_warp*.log").read_text()
        first_error = next(line for line in log.splitlines() if " ERROR " in line)
        assert "no space left" in first_error and f"{DS}/fold1/synthetic/" in first_error, log[-3000:]
        assert not (work / target).exists()
        assert not partial_files(synthetic), partial_files(synthetic)
        subprocess.run(["mount", "-o", "remount,size=64m", str(synthetic)], check=True)
        result = snakemake(work, target)
        assert result.returncode == 0, result.stderr[-4000:]
        for path in pd.read_csv(work / target)["path"]:
            load_clip(work / path)
    finally:
        subprocess.run(["umount", "-l", str(synthetic)], capture_output=True)


@pytest.mark.slow
def test_kill_during_generator_training_then_the_rerun_completes(work):
    """kill -9 while Monkey-Net trains (tiny options): the rerun resumes from its resume
    state and writes model.pt; both load with torch.load(weights_only=True)."""
    from semaug.checkpoints import load_checkpoint

    out = work / DS / "fold0" / "generators" / "monkeynet"
    target = f"{DS}/fold0/generators/monkeynet/model.pt"
    proc = start(work, target, generator=True)
    kill_when(proc, lambda: (out / "resume.pt").exists(), work)
    assert not (out / "model.pt").exists(), "killed after generator training finished"
    assert load_checkpoint(out / "resume.pt")["iteration"] >= 5
    rerun(work, target, generator=True)
    log = _log(work, "generators/ck_tiny/fold0_monkeynet*.log").read_text()
    assert "resuming monkeynet from iteration" in log
    model = load_checkpoint(out / "model.pt")
    assert model["meta"]["iterations"] == 40
    assert len(pd.read_csv(out / "losses.csv")) == 8 and not (out / "resume.pt").exists()


@pytest.mark.slow
def test_synthesis_only_options_do_not_retrain_the_generator(work):
    """After the generator has trained: a new transfer mode, inference batch or thread count
    plans no train_generator job (they are not its params); a new iteration count does."""
    target = f"{DS}/fold0/generators/monkeynet/model.pt"
    if not (work / target).exists():  # run on its own
        assert snakemake(work, target, generator=True).returncode == 0

    def planned(extra: str) -> str:
        (work / "extra.yaml").write_text("generators:\n  monkeynet:\n" + extra)
        cmd = _command(work, "-n", target, generator=True) + [str(work / "extra.yaml")]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout + result.stderr

    synthesis_only = "    transfer: {mode: absolute, adapt_scale: false}\n    inference_batch_size: 3\n    threads: 2\n"
    assert "train_generator" not in planned(synthesis_only)
    assert "train_generator" in planned("    iterations: 45\n")


@pytest.mark.slow
def test_a_damaged_face_clip_fails_the_training_job_with_one_line(work):
    """A face clip truncated behind the workflow's back: the training job that reads it fails,
    and its log's first error line names the clip and the fix (not numpy's zip traceback)."""
    if not (work / DS / "faces.csv").exists():  # run on its own
        assert snakemake(work, f"{DS}/faces.csv").returncode == 0
    faces = pd.read_csv(work / DS / "faces.csv")
    clip = faces["path"].iloc[0]  # relative to the working directory, as the log says it
    _truncate(work / clip)
    result = snakemake(work, f"{DS}/fold1/cnn/original/seed0/metrics.json")
    assert result.returncode != 0
    log = _log(work, "train/ck_tiny/fold1/cnn_original_seed0.log").read_text()
    first_error = next(line for line in log.splitlines() if " ERROR " in line)
    assert "ClipError" in first_error and f"clip file {clip} is unreadable" in first_error
    assert "delete it and rerun snakemake with `--forcerun crop_faces`" in first_error


@pytest.mark.slow
def test_a_corrupt_config_file_is_one_line_naming_it(work):
    """A --configfile that is not YAML: one line with the file, the line and column (the
    workflow profile checks it; Snakemake's own message names no file)."""
    bad = work / "broken.yaml"
    bad.write_text("datasets:\n  mine: {format: ckplus, root: [unclosed\nfolds: 2\n")
    result = subprocess.run([SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory",
                             str(work), "-n", "--configfile", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"semaug: config file {bad} is not valid YAML at line 3"), line


@pytest.mark.parametrize("writer", ["torch_save", "write_csv", "save_clip", "write_video"])
def test_every_writer_on_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, writer):
    """Each atomic writer on a 16 KiB tmpfs: one line with the file and "no space left", and
    the folder stays empty (torch.save's own message, "unexpected pos", says neither)."""
    import torch

    from semaug.atomic import torch_save, write_csv
    from semaug.video import write_video

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): run as root")
    noise = np.random.default_rng(0).integers(0, 256, (20, 64, 64, 3), dtype=np.uint8)
    write = {
        "torch_save": lambda: torch_save({"w": torch.rand(20000)}, disk / "model.pt"),
        "write_csv": lambda: write_csv(pd.DataFrame({"x": np.arange(20000)}), disk / "t.csv"),
        "save_clip": lambda: save_clip(disk / "c.npz", Clip(noise, np.zeros((20, 68, 2),
                                                                               np.float32))),
        "write_video": lambda: write_video(disk / "v.mp4", noise),
    }[writer]
    try:
        with pytest.raises(OSError if writer != "write_video" else RuntimeError) as err:
            write()
        message = str(err.value)
        assert "\n" not in message and "no space left" in message and str(disk) in message
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
