"""Generator registry: a generator is one module in ``semaug.generators`` whose class is
decorated with ``@register_generator("name")``.

Importing this module imports no torch: generator modules are imported on first use of
:func:`generator_names`, :func:`is_learned` or :func:`build_generator`.

Constructor contract: ``cls(options: dict, *, checkpoint: str | None, device: str)`` where
``options`` is ``config["generators"][name]`` and ``device`` is already resolved ("cpu",
"cuda", "cuda:1"). The base class's ``__init__`` stores them; subclasses may override it.
"""

from __future__ import annotations

import abc
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..clip import Clip

# Modules of this package that hold helpers, not generators.
_HELPER_MODULES = {"registry", "motion", "tps", "classic"}


class Generator(abc.ABC):
    """Animates a source face with a driving clip's motion."""

    name: str = ""
    learned: bool = False  # True: needs results/{ds}/fold{k}/generators/{name}/model.pt

    def __init__(self, options: Mapping[str, Any] | None = None, *, checkpoint: str | None = None,
                 device: str = "cpu") -> None:
        self.options = dict(options or {})
        self.checkpoint = checkpoint
        self.device = device

    @abc.abstractmethod
    def animate(self, source: Clip, driving: Clip) -> Clip:
        """Appearance of ``source.frames[0]`` (+ ``source.landmarks[0]``), motion of ``driving``
        relative to its frame 0. Returns ``driving.n_frames`` frames at the source's size with
        the target landmarks [T,68,2]; frame 0 ≈ the source frame."""

    def animate_batch(self, pairs: list[tuple[Clip, Clip]]) -> list[Clip]:
        """Many (source, driving) pairs at once; override to batch on the device."""
        return [self.animate(src, drv) for src, drv in pairs]


_REGISTRY: dict[str, type[Generator]] = {}
_IMPORT_ERRORS: dict[str, str] = {}
_DISCOVERED = False
G = TypeVar("G", bound=type[Generator])


def register_generator(name: str) -> Callable[[G], G]:
    """Class decorator: make ``cls`` buildable as ``name``."""

    def wrap(cls: G) -> G:
        known = _REGISTRY.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"generator {name!r} is registered twice ({known} and {cls})")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return wrap


def _discover() -> None:
    """Import every generator module of the package once (their decorators register them)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _HELPER_MODULES or info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"{__package__}.{info.name}")
        except Exception as err:  # noqa: BLE001 - reported when that generator is asked for
            _IMPORT_ERRORS[info.name] = f"{type(err).__name__}: {err}"


def generator_names() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def _lookup(name: str) -> type[Generator]:
    _discover()
    if name not in _REGISTRY:
        broken = "".join(f"; module {m} failed to import ({e})" for m, e in _IMPORT_ERRORS.items())
        raise KeyError(f"unknown generator {name!r}; known: {generator_names()}{broken}")
    return _REGISTRY[name]


def is_learned(name: str) -> bool:
    return _lookup(name).learned


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "cuda" when a GPU is visible, else "cpu"."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def build_generator(name: str, options: Mapping[str, Any] | None = None, *,
                    checkpoint: str | None = None, device: str = "auto") -> Generator:
    """Instantiate generator ``name``; a learned one needs its ``checkpoint``."""
    cls = _lookup(name)
    if cls.learned and not checkpoint:
        raise ValueError(f"generator {name!r} is learned: pass checkpoint=<its model.pt>")
    return cls(dict(options or {}), checkpoint=checkpoint, device=resolve_device(device))
