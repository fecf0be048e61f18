"""Matplotlib for files only (no display on a cluster node), and the one way figures are
written: every stage that draws (reports, quality grids, loss curves) goes through here."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig: Any, path: str | os.PathLike, **savefig: Any) -> Path:
    """Lay out, write (creating the folder, atomically) and close a figure; returns its path."""
    from .atomic import atomic_path

    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, **savefig)
    plt.close(fig)
    return path
