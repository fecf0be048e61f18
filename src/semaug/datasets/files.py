"""Walking dataset trees: listing folders without the junk that copies and unzips leave,
finding a named tree under a possibly nested unzip folder, ordering frames by number, and
making filesystem-safe ids."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .base import DatasetError

# Left by macOS and Windows file browsers and by unzipping Mac-made archives; never data.
JUNK_NAMES = frozenset({"Thumbs.db", "desktop.ini", "__MACOSX"})

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def is_junk(name: str) -> bool:
    """Hidden files (``.DS_Store``, AppleDouble ``._*``) and OS droppings."""
    return name.startswith(".") or name in JUNK_NAMES


def list_dir(folder: Path) -> tuple[list[Path], list[Path]]:
    """(sub-folders, files) of ``folder`` without junk, each sorted by name."""
    dirs: list[Path] = []
    files: list[Path] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if is_junk(entry.name):
                continue
            (dirs if entry.is_dir() else files).append(folder / entry.name)
    return sorted(dirs), sorted(files)


def subdirs(folder: Path) -> list[Path]:
    return list_dir(folder)[0]


def frame_number(path: Path) -> int | None:
    """The frame number of a frame or landmark file: the last run of digits in its stem
    (``S005_001_00000011`` -> 11, ``S005_001_00000011_landmarks`` -> 11, ``img_0037`` -> 37)."""
    match = _LAST_NUMBER.search(path.stem)
    return int(match.group(1)) if match else None


def frame_order_key(path: Path) -> tuple[int, int, str]:
    """Sort key: numbered files by number (``img_10`` after ``img_9``), then the rest by name."""
    number = frame_number(path)
    return (0, number, path.name) if number is not None else (1, 0, path.name)


def list_frames(folder: Path) -> list[Path]:
    """The image files of a frame folder in frame order; other files are ignored."""
    images = [f for f in list_dir(folder)[1] if f.suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(images, key=frame_order_key)


def find_tree(root: Path, names: tuple[str, ...]) -> Path | None:
    """The folder called one of ``names`` at ``root`` or one extra level below it.

    Unzipped copies are often nested (``Landmarks/Landmarks``,
    ``extended-cohn-kanade-images/cohn-kanade-images``): a candidate whose only content is
    another candidate is a wrapper and is skipped in favour of the inner one.
    """
    found: list[Path] = []
    for parent in [root, *subdirs(root)]:
        for name in names:
            tree = parent / name
            if tree.is_dir() and not _is_wrapper(tree, names):
                found.append(tree)
    found = sorted(set(found), key=lambda p: (len(p.parts), str(p)))
    if len(found) > 1 and len(found[0].parts) == len(found[1].parts):
        raise DatasetError(
            f"{' and '.join(map(str, found[:2]))} both look like the {names[0]} tree under "
            f"{root}; keep one of them"
        )
    return found[0] if found else None


def _is_wrapper(tree: Path, names: tuple[str, ...]) -> bool:
    dirs, files = list_dir(tree)
    return not files and len(dirs) == 1 and dirs[0].name in names


def safe_id(*parts: str, sep: str = "_") -> str:
    """A filesystem-safe id (letters, digits, ``_ - .``) joining ``parts`` with ``sep``."""
    return sep.join(_UNSAFE_ID_CHARS.sub("-", part).strip("-") or "x" for part in parts)
