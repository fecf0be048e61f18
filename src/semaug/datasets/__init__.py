"""Dataset loaders (CK+, MUG, folders of videos) -> the index of usable sequences.

Each format is one module that registers a :class:`DatasetFormat` (``ckplus``, ``mug``,
``folder``); :func:`get_format` finds them. The indexing code (frame decoding with OpenCV,
ffmpeg) loads on first use, so reading the formats at DAG time stays cheap.
"""

from importlib import import_module
from typing import Any

from .base import DatasetError, DatasetFormat, default_landmarks, format_names, get_format, register

_LAZY = {
    "INDEX_COLUMNS": "index", "REJECT_COLUMNS": "index", "build_index": "index",
    "build_index_file": "index", "write_index": "index", "read_frames": "read",
    "read_landmarks": "read",
}


def __getattr__(name: str) -> Any:  # PEP 562: the heavy half of the package, on first use
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DatasetError", "DatasetFormat", "default_landmarks", "format_names", "get_format",
           "register", *_LAZY]
