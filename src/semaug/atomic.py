"""Writes that a kill or a full disk cannot leave half done: write beside the target, then
rename over it.

``os.replace`` is atomic on one file system, so a reader sees the old file or the new one,
never a truncated one; a killed writer leaves only a ``<name>.part<suffix>`` file, which the
next run overwrites. A write that fails (a full disk included) removes its temporary file, and
a full disk is reported as one line naming the file.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class DiskFullError(OSError):
    """No space left on the device while writing a file; the message names the file."""

    def __str__(self) -> str:  # the message alone, without OSError's "[Errno 28] " prefix
        return str(self.strerror)


def disk_full(path: str | os.PathLike) -> DiskFullError:
    """The error to raise when writing ``path`` ran out of space."""
    return DiskFullError(
        errno.ENOSPC,
        f"no space left on device while writing {path}: nothing was written there; free "
        f"space (or point the results at a larger disk) and rerun",
    )


def is_disk_full(err: BaseException) -> bool:
    """True for ENOSPC (or EDQUOT, a full quota), also when wrapped in another error."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(err):  # writers that stringify the OSError (torch)
            return True
        err = err.__cause__ or err.__context__
    return False


def _nearly_full(folder: Path, margin: int = 1 << 20) -> bool:
    """Less than ``margin`` bytes free where ``folder`` lives: the likely cause of a writer's
    error that does not say so (torch.save reports "unexpected pos 704 vs 598")."""
    try:
        stat = os.statvfs(folder)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < margin


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it
    is removed (a full disk raises :class:`DiskFullError` naming ``path``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The suffix stays last: numpy, pandas and matplotlib pick the format from it.
    tmp = path.with_name(f"{path.stem}.part{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as err:
        # before the temporary goes: removing it frees the space that ran out
        full = not isinstance(err, DiskFullError) and (
            is_disk_full(err)
            or isinstance(err, (OSError, RuntimeError)) and _nearly_full(path.parent))
        tmp.unlink(missing_ok=True)
        if full:
            raise disk_full(path) from err
        raise


def torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` through :func:`atomic_path` (checkpoints, resume states)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def write_csv(table: Any, path: str | os.PathLike, **to_csv: Any) -> Path:
    """``table.to_csv(path, index=False, ...)`` through :func:`atomic_path` (a pandas
    DataFrame; ``index=False`` unless ``to_csv`` says otherwise)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, **{"index": False, **to_csv})
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """``Path(path).write_text(text)`` through :func:`atomic_path` (JSON, Markdown, ...)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
