"""Dataset loaders (CK+, MUG, folders of videos) -> the index of usable sequences.

Each format is one module that registers a :class:`DatasetFormat`; the modules imported here
are the formats :func:`build_index` knows.
"""

from . import ckplus, folder, mug  # noqa: F401 - importing a format registers it
from .base import DatasetError, DatasetFormat, format_names, get_format, register
from .index import INDEX_COLUMNS, REJECT_COLUMNS, build_index, write_index
from .read import read_frames, read_landmarks

__all__ = [
    "INDEX_COLUMNS",
    "REJECT_COLUMNS",
    "DatasetError",
    "DatasetFormat",
    "build_index",
    "format_names",
    "get_format",
    "read_frames",
    "read_landmarks",
    "register",
    "write_index",
]
