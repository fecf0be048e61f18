"""A contact sheet of a rendered demo, read back from the written files: rows are classes,
columns a few subjects, each cell the first (neutral) and last (apex) frame side by side."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, ImageDraw

from ..atomic import atomic_path
from .layouts import WrittenSequence, layout, read_written

THUMB = 112  # side of one frame thumbnail, pixels
LABEL_WIDTH = 80  # the class-name column
HEADER_HEIGHT = 22  # the subject-id row
GAP = 6
MAX_SUBJECTS = 4
_BACKDROP, _EMPTY, _TEXT = (32, 32, 36), (56, 56, 62), (235, 235, 235)


def sheet_size(n_classes: int, n_subjects: int) -> tuple[int, int]:
    """(width, height) of a sheet with ``n_classes`` rows and ``n_subjects`` columns."""
    return (LABEL_WIDTH + n_subjects * (2 * THUMB + 3 * GAP),
            HEADER_HEIGHT + n_classes * (THUMB + GAP))


def _thumbnail(path: Path) -> Image.Image:
    """A frame scaled to fit a THUMB square, letterboxed."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        image.thumbnail((THUMB, THUMB), Image.Resampling.BILINEAR)
    box = Image.new("RGB", (THUMB, THUMB), _EMPTY)
    box.paste(image, ((THUMB - image.width) // 2, (THUMB - image.height) // 2))
    return box


def _pick_subjects(sequences: list[WrittenSequence], limit: int) -> list[str]:
    """The subjects that show the most classes (ties: lowest id)."""
    shown: dict[str, set[str]] = {}
    for seq in sequences:
        if seq.label is not None:
            shown.setdefault(seq.subject, set()).add(seq.label)
    return sorted(shown, key=lambda s: (-len(shown[s]), s))[:limit]


def contact_sheet(fmt: str, root: str | os.PathLike, out_png: str | os.PathLike) -> None:
    """Write a PNG grid of a few subjects x the format's classes (neutral | apex per cell)."""
    classes = layout(fmt).classes
    sequences = read_written(fmt, root)
    subjects = _pick_subjects(sequences, MAX_SUBJECTS)
    if not subjects:
        raise FileNotFoundError(f"no labelled {fmt} sequences under {root}; render the demo first")
    first_take: dict[tuple[str, str], WrittenSequence] = {}
    for seq in sequences:
        if seq.label is not None and seq.frames:
            first_take.setdefault((seq.subject, seq.label), seq)

    sheet = Image.new("RGB", sheet_size(len(classes), len(subjects)), _BACKDROP)
    draw = ImageDraw.Draw(sheet)
    for col, subject in enumerate(subjects):
        x = LABEL_WIDTH + col * (2 * THUMB + 3 * GAP) + GAP
        draw.text((x, 5), f"{subject}: neutral | apex", fill=_TEXT)
    for row, name in enumerate(classes):
        y = HEADER_HEIGHT + row * (THUMB + GAP)
        draw.text((6, y + THUMB // 2 - 6), name, fill=_TEXT)
        for col, subject in enumerate(subjects):
            x = LABEL_WIDTH + col * (2 * THUMB + 3 * GAP) + GAP
            seq = first_take.get((subject, name))
            if seq is None:  # CK+ subjects show only some classes
                draw.rectangle([x, y, x + 2 * THUMB + GAP - 1, y + THUMB - 1], fill=_EMPTY)
                draw.text((x + THUMB, y + THUMB // 2 - 6), "-", fill=_TEXT)
                continue
            sheet.paste(_thumbnail(seq.frames[0]), (x, y))
            sheet.paste(_thumbnail(seq.frames[-1]), (x + THUMB + GAP, y))
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_png) as tmp:
        sheet.save(tmp)
