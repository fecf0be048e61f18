"""What a dataset format is: the records a format's scan yields, its error, and the registry.

A format (``ckplus``, ``mug``, ``folder``) only knows its directory layout: it walks the root
and yields one :class:`Candidate` per sequence it recognises, plus a :class:`Reject` for every
item it can already tell is unusable (no label, bad label, ...). Checking frames and landmark
files is the same for every format and lives in :mod:`semaug.datasets.index`.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ..classes import default_classes


class DatasetError(ValueError):
    """A dataset root that cannot be indexed; the message says what was expected there."""


@dataclass(frozen=True)
class Candidate:
    """One sequence found in a layout, before its frames are checked."""

    video_id: str
    subject: str
    label: str
    source: Path  # folder of frame images, or a video file
    landmarks_source: Path | None = None  # folder of per-frame landmark files, when wanted
    fps: float | None = None  # None: read from the video file


@dataclass(frozen=True)
class Reject:
    """An item that is not in the index. ``kind`` is a stable short phrase (summaries group by
    it); ``detail`` names the file and what is wrong with it."""

    item: Path | str
    kind: str
    detail: str = ""

    @property
    def reason(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


def reason_kind(reason: str) -> str:
    """The ``kind`` part of a reason written by :attr:`Reject.reason`."""
    return reason.split(": ", 1)[0]


@dataclass
class Scan:
    """What a format found under a root."""

    candidates: list[Candidate] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


class DatasetFormat(ABC):
    """A directory layout. Subclass, set the class attributes, implement :meth:`scan` and
    decorate with :func:`register`."""

    name: ClassVar[str]
    layout: ClassVar[str]  # what a root must hold, for error messages ("{root}" is filled in)
    ships_landmarks: ClassVar[bool] = False  # can `landmarks: dataset` be used?
    landmarks_hint: ClassVar[str] = ""  # appended to a missing-landmarks reject
    # Classes the layout holds but leaves out unless `classes` names them (MUG's neutral).
    excluded_classes: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def scan(self, root: Path, *, subject_regex: str, with_landmarks: bool) -> Scan:
        """Walk ``root``; raise :class:`DatasetError` when it holds no recognisable layout."""

    def default_classes(self, root: Path) -> list[str]:
        """The classes used when the config names none."""
        classes = default_classes(self.name)
        if classes is None:
            raise NotImplementedError(f"format {self.name} must define its default classes")
        return list(classes)

    def known_classes(self, root: Path) -> list[str]:
        """Every class name the layout can hold; a configured class outside it is a typo."""
        return self.default_classes(root) + list(self.excluded_classes)

    def expected(self, root: Path) -> str:
        return "expected " + self.layout.format(root=root)


_FORMATS: dict[str, DatasetFormat] = {}


def register(cls: type[DatasetFormat]) -> type[DatasetFormat]:
    """Class decorator: make a format available to :func:`get_format` under its name."""
    _FORMATS[cls.name] = cls()
    return cls


# Modules of this package that hold shared code, not formats.
HELPER_MODULES = frozenset({"base", "files", "frames", "index", "read"})
_DISCOVERED = False


def _discover() -> None:
    """Import every format module of the package once (their decorators register them), so
    a new format is one new file."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    package = __name__.rpartition(".")[0]
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if info.name not in HELPER_MODULES and not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")


def get_format(name: str) -> DatasetFormat:
    _discover()
    try:
        return _FORMATS[name]
    except KeyError:
        raise DatasetError(
            f"unknown dataset format {name!r}; known formats: {', '.join(format_names())}"
        ) from None


def format_names() -> list[str]:
    _discover()
    return sorted(_FORMATS)


def default_landmarks(fmt: str) -> str:
    """Landmark backend when the config names none: the dataset's own files where the layout
    can ship them (CK+; MUG's optional side files), else the FAN detector."""
    return "dataset" if get_format(fmt).ships_landmarks else "face_alignment"
