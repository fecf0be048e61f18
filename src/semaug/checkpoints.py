"""Loading checkpoints that cannot run code: classifier ``model.pt`` / ``resume.pt`` and
generator checkpoints hold only tensors, numbers, strings and containers of them, and are read
with ``torch.load(weights_only=True)``, which refuses anything else (a pickle from elsewhere
cannot execute on load). Every failure is one line naming the file and the fix.

Also what decides whether a saved state or cached output may be reused: the fingerprint of what
it was made from (:func:`fingerprint_of`) and the digest of a checkpoint file (:func:`file_digest`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any


def fingerprint_of(**parts: Any) -> str:
    """sha256 of everything a resumable state or cached output depends on (settings, data,
    code), as JSON with sorted keys."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (a generator checkpoint: a few MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CheckpointError(ValueError):
    """A checkpoint that is missing, truncated, corrupt or holds more than plain data."""


def load_checkpoint(path: str | os.PathLike, *, writer: str = "the job that wrote it") -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``, with one-line errors.

    ``writer`` names what rewrites the file (e.g. "the train rule"), for the fix in the
    message. Tensors come back on the CPU; move them where they are needed.
    """
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; rerun {writer} to make it")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # weights_only refused an object; name it (torch's message is a page long)
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if found or "weights_only" in str(err).lower():
            what = f"the object {found.group(1)}" if found else "a non-tensor object"
            raise CheckpointError(
                f"checkpoint {path} holds more than tensors and plain data ({what}); refusing "
                f"to load it (it could run code): delete it and rerun {writer}") from err
        raise CheckpointError(_corrupt(path, err, writer)) from err
    except Exception as err:  # noqa: BLE001 - garbage bytes raise anything from the unpickler
        raise CheckpointError(_corrupt(path, err, writer)) from err


def _corrupt(path: Path, err: BaseException, writer: str) -> str:
    detail = " ".join(str(err).split())
    detail = f"{type(err).__name__}: {detail[:80]}" if detail else type(err).__name__
    return f"checkpoint {path} is truncated or corrupt ({detail}): delete it and rerun {writer}"
