"""Tiny, valid dataset trees in the CK+, MUG and folder layouts, for tests.

The licensed datasets never enter the repo; these writers reproduce their layouts (and the
quirks the loaders must handle) with small random frames and landmark files that form a
plausible face (``semaug.ibug.MEAN_FACE`` scaled into the frame, mouth opening over time).
Every writer returns one :class:`FixtureSequence` per sequence written, with the id and label
the index is expected to give it, so tests can check the index or damage a chosen file.

    from fixtures_layouts import make_ckplus_tree, make_mug_tree, make_folder_tree
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from semaug.classes import CKPLUS_CODES
from semaug.ibug import INNER_LIPS, MEAN_FACE, OUTER_LIPS
from semaug.video import write_video

FRAME_SIZE = (40, 32)  # (width, height): small, so a tree is written in milliseconds


@dataclass
class FixtureSequence:
    """One sequence written by a tree builder."""

    video_id: str  # the id the index should give it
    subject: str
    label: str | None  # None: written without a label (CK+ unlabelled)
    source: Path  # frame folder or video file
    frames: list[Path] = field(default_factory=list)  # frame files in frame order
    landmark_files: list[Path] = field(default_factory=list)  # one per frame, same order
    landmarks: np.ndarray | None = None  # float32 [T, 68, 2] written, image pixels


def face_landmarks(width: int, height: int, n_frames: int) -> np.ndarray:
    """float32 [T, 68, 2]: the mean face filling most of the frame, mouth opening over time."""
    scale = 0.9 * min(width, height)
    offset = np.array([(width - scale) / 2, (height - scale) / 2])
    points = np.repeat(MEAN_FACE[None] * scale + offset, n_frames, axis=0)
    opening = np.linspace(0.0, 0.04 * scale, n_frames)
    for mouth in (OUTER_LIPS, INNER_LIPS):
        lower = points[:, mouth, 1] > (MEAN_FACE[mouth, 1].mean() * scale + offset[1])
        points[:, mouth, 1] += np.where(lower, opening[:, None], -opening[:, None] / 2)
    return points.astype(np.float32)


def random_frames(n_frames: int, size: tuple[int, int], mode: str, seed: int) -> np.ndarray:
    """uint8 [T, H, W] ("L") or [T, H, W, C] ("RGB", "RGBA") noise, distinct per frame."""
    width, height = size
    channels = {"L": (), "RGB": (3,), "RGBA": (4,)}[mode]
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n_frames, height, width, *channels), dtype=np.uint8)


def write_frames(folder: Path, names: list[str], *, size: tuple[int, int] = FRAME_SIZE,
                 mode: str = "RGB", seed: int = 0) -> list[Path]:
    """Write one random image per name into ``folder`` (format from the extension)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, pixels in zip(names, random_frames(len(names), size, mode, seed)):
        path = folder / name
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def write_landmark_file(path: Path, points: np.ndarray, *, e_notation: bool = False) -> Path:
    """68 lines "x y"; ``e_notation`` writes them the way CK+ does ("   2.4179980e+02")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = "{:16.7e}{:16.7e}" if e_notation else "{:.3f} {:.3f}"
    path.write_text("".join(line.format(x, y) + "\n" for x, y in points))
    return path


def make_ckplus_tree(
    root: Path,
    *,
    sequences: Iterable[tuple[str, str, int | None]] | None = None,
    subjects: Iterable[str] = ("S005", "S010", "S022"),
    codes: Iterable[int] = (1, 3, 5),
    unlabelled: int = 0,
    n_frames: int = 4,
    size: tuple[int, int] = FRAME_SIZE,
    mode: str = "L",
    nested: bool = False,
    landmarks: bool = True,
    seed: int = 0,
) -> list[FixtureSequence]:
    """A CK+ tree under ``root``.

    ``sequences`` lists (subject, sequence, emotion code or None); by default every subject
    gets one sequence per code, then ``unlabelled`` more without an Emotion file. ``nested``
    wraps each tree the way unzipping the official archives does
    (``extended-cohn-kanade-images/cohn-kanade-images``, ``Emotion_labels/Emotion``,
    ``Landmarks/Landmarks``). ``mode`` "L" is CK+'s usual 8-bit greyscale, "RGB" its rarer colour.
    """
    if sequences is None:
        codes = list(codes)
        sequences = [
            (subject, f"{i + 1:03d}", code)
            for subject in subjects
            for i, code in enumerate(codes + [None] * unlabelled)
        ]
    images = root / ("extended-cohn-kanade-images" if nested else "") / "cohn-kanade-images"
    emotion = root / ("Emotion_labels" if nested else "") / "Emotion"
    marks = root / ("Landmarks" if nested else "") / "Landmarks"
    emotion.mkdir(parents=True, exist_ok=True)

    written = []
    for i, (subject, sequence, code) in enumerate(sequences):
        stem = f"{subject}_{sequence}"
        names = [f"{stem}_{n + 1:08d}.png" for n in range(n_frames)]
        frames = write_frames(images / subject / sequence, names, size=size, mode=mode,
                              seed=seed * 1000 + i)
        if code is not None:
            label_file = emotion / subject / sequence / f"{stem}_{n_frames:08d}_emotion.txt"
            label_file.parent.mkdir(parents=True, exist_ok=True)
            label_file.write_text(f"   {float(code):.7e}\n")
        points = face_landmarks(*size, n_frames)
        landmark_files = [
            write_landmark_file(marks / subject / sequence / f"{f.stem}_landmarks.txt", p,
                                e_notation=True)
            for f, p in zip(frames, points)
        ] if landmarks else []
        written.append(FixtureSequence(
            video_id=stem, subject=subject, label=CKPLUS_CODES.get(code) if code else None,
            source=images / subject / sequence, frames=frames, landmark_files=landmark_files,
            landmarks=points if landmarks else None,
        ))
    return written


def make_mug_tree(
    root: Path,
    *,
    takes: Iterable[tuple[str, str | None, str, str]] | None = None,
    subjects: Iterable[str] = ("001", "002", "003"),
    expressions: Iterable[str] = ("anger", "happiness", "neutral"),
    sessions: dict[str, str] | None = None,
    n_frames: int = 4,
    first_frame: int = 0,
    size: tuple[int, int] = FRAME_SIZE,
    landmarks: bool = True,
    seed: int = 0,
) -> list[FixtureSequence]:
    """A MUG tree: ``subjects3/<subject>/[<session>/]<expression>/<take>/img_NNNN.jpg`` and,
    with ``landmarks``, side files ``landmarks3/<same path>/img_NNNN.txt``.

    ``takes`` lists (subject, session or None, expression, take folder name); by default each
    subject has ``take000`` of each expression, under the session ``sessions`` gives it
    (default: subject 002 in ``session0``, as in the real data). Frames are numbered from
    ``first_frame``. A "neutral" take's expected label is "neutral" (the index excludes it).
    """
    if takes is None:
        sessions = {"002": "session0"} if sessions is None else sessions
        takes = [(s, sessions.get(s), e, "take000") for s in subjects for e in expressions]
    written = []
    for i, (subject, session, expression, take) in enumerate(takes):
        parts = [subject, *([session] if session else []), expression, take]
        folder = root.joinpath("subjects3", *parts)
        names = [f"img_{first_frame + n:04d}.jpg" for n in range(n_frames)]
        frames = write_frames(folder, names, size=size, mode="RGB", seed=seed * 1000 + i)
        points = face_landmarks(*size, n_frames)
        landmark_files = [
            write_landmark_file(root.joinpath("landmarks3", *parts, f"{f.stem}.txt"), p)
            for f, p in zip(frames, points)
        ] if landmarks else []
        written.append(FixtureSequence(
            video_id="_".join(parts), subject=subject, label=expression, source=folder,
            frames=frames, landmark_files=landmark_files, landmarks=points if landmarks else None,
        ))
    return written


def make_folder_tree(
    root: Path,
    *,
    items: Iterable[tuple[str, str, str]] | None = None,
    classes: Iterable[str] = ("happy", "sad"),
    subjects: Iterable[str] = ("s01", "s02"),
    n_frames: int = 4,
    size: tuple[int, int] = (32, 32),
    fps: float = 10.0,
    seed: int = 0,
) -> list[FixtureSequence]:
    """A folder-format tree: ``root/<class>/<name>.mp4`` or ``root/<class>/<name>/frame_<n>.png``.

    ``items`` lists (class, name, "video" | "frames"); by default every subject has one mp4
    ``<subject>_clip.mp4`` per class. Frame files are numbered without zero padding
    (``frame_9.png``, ``frame_10.png``) so that only numeric ordering reads them right.
    """
    if items is None:
        items = [(c, f"{s}_clip", "video") for c in classes for s in subjects]
    written = []
    for i, (label, name, kind) in enumerate(items):
        if kind == "video":
            source = root / label / f"{name}.mp4"
            write_video(source, random_frames(n_frames, size, "RGB", seed * 1000 + i), fps=fps)
            frames: list[Path] = []
        else:
            source = root / label / name
            frames = write_frames(source, [f"frame_{n}.png" for n in range(n_frames)],
                                  size=size, seed=seed * 1000 + i)
        written.append(FixtureSequence(
            video_id=f"{label}__{name}", subject=name.split("_")[0], label=label,
            source=source, frames=frames,
        ))
    return written
