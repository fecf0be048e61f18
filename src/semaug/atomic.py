"""Writes that a kill cannot leave half done: write beside the target, then rename over it.

``os.replace`` is atomic on one file system, so a reader sees the old file or the new one,
never a truncated one; a killed writer leaves only a ``<name>.part<suffix>`` file, which the
next run overwrites.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it
    is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The suffix stays last: numpy, pandas and matplotlib pick the format from it.
    tmp = path.with_name(f"{path.stem}.part{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` through :func:`atomic_path` (checkpoints, resume states)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
