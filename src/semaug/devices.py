"""The one device rule: what ``auto`` means, and whether this machine shows a GPU.

``gpu_visible`` imports no torch (the Snakefile asks it at parse time to size the `gpu`
resource); ``resolve_device`` does, and is what every job calls before it builds a network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEVICE_PATTERN = r"^(auto|cpu|cuda(:[0-9]+)?)$"


def gpu_visible(dev: str | Path = "/dev", environ: dict[str, str] | None = None) -> bool:
    """True when an NVIDIA device node exists and CUDA_VISIBLE_DEVICES does not hide it."""
    environ = os.environ if environ is None else environ
    if environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1"):
        return False
    return any(Path(dev).glob("nvidia[0-9]*"))


def resolve_device(name: str = "auto") -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; an explicit CUDA device on a
    machine without CUDA is an error that says what to set instead."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but CUDA is not available here; "
                           f"set the device to `auto` or `cpu`")
    return name


def torch_device(name: str = "auto") -> Any:
    """:func:`resolve_device` as a ``torch.device``."""
    import torch

    return torch.device(resolve_device(name))
