"""Classifier registry: one module per model family.

A classifier is one file ``semaug/models/<name>.py`` defining
``build(opts: BuildOptions) -> Classifier``; its name is the module name. Discovery lists the
files without importing them, so the workflow can validate model names (and build its DAG)
without importing torch.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ._base import BuildOptions, Classifier


def available_models() -> list[str]:
    """Names of the registered classifiers (modules of this package not starting with '_')."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_model(name: str, opts: BuildOptions) -> Classifier:
    """Build classifier ``name`` (see :class:`semaug.models._base.BuildOptions`)."""
    if name not in available_models():
        raise KeyError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    module = importlib.import_module(f"{__name__}.{name}")
    return module.build(opts)


__all__ = ["available_models", "build_model"]
