"""The dataset formats, as the Snakefile needs them at parse time: their names, what a root
of each must hold, and the landmark source a format implies.

A format is one module of :mod:`semaug.datasets` (see :mod:`semaug.datasets.base`); the
registry finds the modules by listing the package, so a new format is one new file. Format
modules and this one import no decoding library: the DAG of a full grid builds in seconds.
"""

from __future__ import annotations

from .datasets.base import default_landmarks, format_names, get_format


def layout_of(fmt: str, root: str = "{root}") -> str:
    """What a root of format ``fmt`` must hold, for error messages."""
    return get_format(fmt).layout.format(root=root)


__all__ = ["default_landmarks", "format_names", "layout_of"]
