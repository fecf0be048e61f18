"""What the demo writes where: the CK+ and MUG layouts, with the sequences each subject shows.

CK+ (as the real release; 8-bit greyscale PNG, first frame neutral, last frame the apex)::

    cohn-kanade-images/S005/001/S005_001_00000001.png ... S005_001_000000NN.png
    Emotion/S005/001/S005_001_000000NN_emotion.txt       "   3.0000000e+00" (named for the last
                                                         frame; absent for unlabelled sequences)
    Landmarks/S005/001/S005_001_00000001_landmarks.txt   68 lines "   x   y", e-notation, one file
                                                         per frame

MUG (as the real release; RGB JPEG, frame numbers need not start at 0)::

    subjects3/005/anger/take000/img_0000.jpg ...

plus a side tree of landmark files, which the real MUG does not ship (there they come from a
detector). One text file per frame, at the take's path with ``subjects3`` replaced by
``landmarks3`` and ``.jpg`` by ``.txt``::

    landmarks3/005/anger/take000/img_0000.txt            68 lines "x y" (decimal)

Landmark coordinates are image pixels, iBUG order, pixel centres at integer coordinates.
Takes of the `neutral` expression are written as in MUG (the loaders exclude them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..classes import CKPLUS_CLASSES, CKPLUS_CODES, CKPLUS_COUNTS, MUG_CLASSES, MUG_COUNTS
from .knobs import DemoKnobs

CKPLUS_DIRS = ("cohn-kanade-images", "Emotion", "Landmarks")
MUG_DIRS = ("subjects3", "landmarks3")
MUG_NEUTRAL = "neutral"
JPEG_QUALITY = 90
CKPLUS_CODE_OF = {name: code for code, name in CKPLUS_CODES.items()}


@dataclass(frozen=True)
class SequenceSpec:
    """One sequence to render: who, which expression, how long, and where it goes."""

    index: int  # position in the plan; seeds the sequence's random stream
    subject_index: int  # which identity
    subject: str  # "S005" (CK+) or "005" (MUG)
    label: str | None  # class name; None = unlabelled (CK+) / neutral take (MUG)
    mix: tuple[tuple[str, float], ...]  # expression blend (class, weight); empty = neutral
    sequence: str  # "001" (CK+) or "take000" (MUG)
    n_frames: int
    first_frame: int  # number of the first frame file


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (Hamilton's method)."""
    w = np.asarray(weights, dtype=np.float64)
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts.tolist()


def subject_numbers(n_subjects: int, rng: np.random.Generator) -> list[int]:
    """Sorted, non-contiguous subject numbers in 1..999 (real ids have gaps)."""
    if not 1 <= n_subjects <= 999:
        raise ValueError(f"the layouts hold 1..999 subjects, got {n_subjects}")
    pool = np.arange(1, min(999, 3 * n_subjects + 4) + 1)
    return sorted(int(v) for v in rng.choice(pool, size=n_subjects, replace=False))


def ckplus_class_counts(n_subjects: int, per_subject: float) -> dict[str, int]:
    """Labelled sequences per class: CK+'s proportions scaled to ``per_subject * n_subjects``
    sequences, every class at least once and none more than once per subject."""
    total = max(len(CKPLUS_CLASSES), round(per_subject * n_subjects))
    total = min(total, len(CKPLUS_CLASSES) * n_subjects)
    counts = [1 + c for c in largest_remainder(total - len(CKPLUS_CLASSES),
                                               [CKPLUS_COUNTS[k] for k in CKPLUS_CLASSES])]
    # A class cannot have more sequences than subjects: hand the excess to the next largest.
    for _ in range(len(counts)):
        excess = sum(max(0, c - n_subjects) for c in counts)
        counts = [min(c, n_subjects) for c in counts]
        if excess == 0:
            break
        for i in np.argsort([-CKPLUS_COUNTS[k] for k in CKPLUS_CLASSES], kind="stable"):
            give = min(excess, n_subjects - counts[i])
            counts[i] += give
            excess -= give
    return dict(zip(CKPLUS_CLASSES, counts))


def _least_loaded(load: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the ``n`` subjects with the fewest sequences so far (ties broken at random)."""
    order = np.lexsort((rng.random(len(load)), load))
    return np.sort(order[:n])


def _frames(rng: np.random.Generator, knobs: DemoKnobs) -> int:
    return int(rng.integers(knobs.min_frames, knobs.max_frames + 1))


def plan_ckplus(n_subjects: int, rng: np.random.Generator, knobs: DemoKnobs) -> list[SequenceSpec]:
    """Each subject shows a subset of the classes, at most one sequence per class, plus a few
    unlabelled sequences (a blend of two expressions, no Emotion file)."""
    counts = ckplus_class_counts(n_subjects, knobs.sequences_per_subject)
    load = np.zeros(n_subjects, dtype=int)
    shows: list[list[tuple[str | None, tuple[tuple[str, float], ...]]]] = [
        [] for _ in range(n_subjects)]
    for name in sorted(counts, key=lambda k: -counts[k]):  # big classes first: they spread best
        for s in _least_loaded(load, counts[name], rng):
            shows[s].append((name, ((name, 1.0),)))
            load[s] += 1
    for _ in range(round(knobs.unlabelled * sum(counts.values()))):
        s = int(_least_loaded(load, 1, rng)[0])
        a, b = rng.choice(len(CKPLUS_CLASSES), size=2, replace=False)
        w = float(rng.uniform(0.3, 0.7))
        shows[s].append((None, ((CKPLUS_CLASSES[a], w), (CKPLUS_CLASSES[b], 1.0 - w))))
        load[s] += 1
    numbers = subject_numbers(n_subjects, rng)
    specs: list[SequenceSpec] = []
    for s, items in enumerate(shows):
        # shuffled, so that sequence numbers do not give the class away
        for number, k in enumerate(rng.permutation(len(items)), start=1):
            label, mix = items[k]
            specs.append(SequenceSpec(
                index=len(specs), subject_index=s, subject=f"S{numbers[s]:03d}", label=label,
                mix=mix, sequence=f"{number:03d}", n_frames=_frames(rng, knobs), first_frame=1))
    return specs


def mug_take_counts(n_subjects: int) -> dict[str, int]:
    """Takes per class: one or two per subject, in MUG's proportions (largest class: two each)."""
    top = max(MUG_COUNTS.values())
    return {name: int(np.clip(round(2 * n_subjects * MUG_COUNTS[name] / top), n_subjects,
                              2 * n_subjects)) for name in MUG_CLASSES}


def plan_mug(n_subjects: int, rng: np.random.Generator, knobs: DemoKnobs) -> list[SequenceSpec]:
    """Every subject shows every class in one or two takes, plus some `neutral` takes."""
    takes = np.ones((n_subjects, len(MUG_CLASSES)), dtype=int)
    for c, n in enumerate(mug_take_counts(n_subjects).values()):
        takes[rng.choice(n_subjects, size=n - n_subjects, replace=False), c] += 1
    # Neutral takes dealt round-robin over the subjects in a random order.
    n_neutral = round(knobs.unlabelled * int(takes.sum()))
    dealt = rng.permutation(n_subjects)[np.arange(n_neutral) % n_subjects]
    neutral = np.bincount(dealt, minlength=n_subjects)
    numbers = subject_numbers(n_subjects, rng)
    specs: list[SequenceSpec] = []
    for s in range(n_subjects):
        wanted = [(name, int(takes[s, c])) for c, name in enumerate(MUG_CLASSES)]
        for name, n in [*wanted, (MUG_NEUTRAL, int(neutral[s]))]:
            for t in range(n):
                # MUG's frame numbers often do not start at 0.
                first = 0 if rng.random() < 0.5 else int(rng.integers(1, 400))
                label = None if name == MUG_NEUTRAL else name
                specs.append(SequenceSpec(
                    index=len(specs), subject_index=s, subject=f"{numbers[s]:03d}", label=label,
                    mix=() if label is None else ((label, 1.0),), sequence=f"take{t:03d}",
                    n_frames=_frames(rng, knobs), first_frame=first))
    return specs


# ---- writers ---------------------------------------------------------------------------------

def _landmark_lines(points: np.ndarray, fmt: str) -> str:
    return "".join(fmt.format(x, y) for x, y in points.tolist())


def write_ckplus(root: Path, spec: SequenceSpec, frames: np.ndarray, landmarks: np.ndarray) -> None:
    """One CK+ sequence: greyscale PNG frames, per-frame landmark files, the emotion file."""
    rel = Path(spec.subject, spec.sequence)
    images, marks = root / "cohn-kanade-images" / rel, root / "Landmarks" / rel
    images.mkdir(parents=True, exist_ok=True)
    marks.mkdir(parents=True, exist_ok=True)
    stem = f"{spec.subject}_{spec.sequence}_"
    for i, (frame, points) in enumerate(zip(frames, landmarks)):
        name = f"{stem}{spec.first_frame + i:08d}"
        # compress_level 1: noisy frames hardly compress better at 6, at several times the cost
        Image.fromarray(frame, "L").save(images / f"{name}.png", compress_level=1)
        lines = _landmark_lines(points, "   {:.7e}   {:.7e}\n")
        (marks / f"{name}_landmarks.txt").write_text(lines)
    if spec.label is not None:
        emotion = root / "Emotion" / rel
        emotion.mkdir(parents=True, exist_ok=True)
        last = f"{stem}{spec.first_frame + len(frames) - 1:08d}"
        code = float(CKPLUS_CODE_OF[spec.label])
        (emotion / f"{last}_emotion.txt").write_text(f"   {code:.7e}\n")


def mug_take_dir(root: Path, spec: SequenceSpec, tree: str = "subjects3") -> Path:
    """Folder of one MUG take in ``tree`` (``subjects3`` frames, ``landmarks3`` landmarks)."""
    return root / tree / spec.subject / (spec.label or MUG_NEUTRAL) / spec.sequence


def write_mug(root: Path, spec: SequenceSpec, frames: np.ndarray, landmarks: np.ndarray) -> None:
    """One MUG take: RGB JPEG frames and the landmark side files."""
    images, marks = mug_take_dir(root, spec), mug_take_dir(root, spec, "landmarks3")
    images.mkdir(parents=True, exist_ok=True)
    marks.mkdir(parents=True, exist_ok=True)
    for i, (frame, points) in enumerate(zip(frames, landmarks)):
        name = f"img_{spec.first_frame + i:04d}"
        Image.fromarray(frame, "RGB").save(images / f"{name}.jpg", quality=JPEG_QUALITY)
        (marks / f"{name}.txt").write_text(_landmark_lines(points, "{:.3f} {:.3f}\n"))


Planner = Callable[[int, np.random.Generator, DemoKnobs], list[SequenceSpec]]
Writer = Callable[[Path, SequenceSpec, np.ndarray, np.ndarray], None]


@dataclass(frozen=True)
class Layout:
    """A dataset format as the demo writes it."""

    name: str
    dirs: tuple[str, ...]  # top-level folders the demo owns under the root
    grey: bool
    classes: tuple[str, ...]  # labelled classes, in order
    plan: Planner
    write: Writer  # frames uint8 [T,H,W] or [T,H,W,3], landmarks [T,68,2] in pixels


LAYOUTS: dict[str, Layout] = {
    "ckplus": Layout("ckplus", CKPLUS_DIRS, True, tuple(CKPLUS_CLASSES), plan_ckplus,
                     write_ckplus),
    "mug": Layout("mug", MUG_DIRS, False, tuple(MUG_CLASSES), plan_mug, write_mug),
}


def layout(fmt: str) -> Layout:
    """The layout of a demo format; the `folder` format has no demo."""
    try:
        return LAYOUTS[fmt]
    except KeyError:
        raise ValueError(f"no demo renderer for format {fmt!r}; demo formats: {sorted(LAYOUTS)}") \
            from None


# ---- reading back (contact sheet, tests) ------------------------------------------------------

@dataclass(frozen=True)
class WrittenSequence:
    subject: str
    label: str | None
    frames: tuple[Path, ...]  # in frame order


def read_written(fmt: str, root: str | os.PathLike) -> list[WrittenSequence]:
    """The sequences under ``root`` as the demo wrote them, sorted by subject and sequence."""
    root = Path(root)
    found: list[WrittenSequence] = []
    if fmt == "ckplus":
        for seq_dir in sorted((root / "cohn-kanade-images").glob("*/*")):
            emotion = sorted((root / "Emotion" / seq_dir.relative_to(
                root / "cohn-kanade-images")).glob("*_emotion.txt"))
            label = CKPLUS_CODES[int(float(emotion[0].read_text()))] if emotion else None
            found.append(WrittenSequence(seq_dir.parent.name, label,
                                         tuple(sorted(seq_dir.glob("*.png")))))
    elif fmt == "mug":
        for take in sorted((root / "subjects3").glob("*/*/take*")):
            expression = take.parent.name
            frames = sorted(take.glob("img_*.jpg"), key=lambda p: int(p.stem[4:]))
            found.append(WrittenSequence(take.parent.parent.name,
                                         None if expression == MUG_NEUTRAL else expression,
                                         tuple(frames)))
    else:
        layout(fmt)
    return found
