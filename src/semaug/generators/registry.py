"""The generator contract: a class that animates a source face with a driving clip's motion,
registered under a scenario name with :func:`semaug.catalog.register_generator` in a module
of this package (the catalog finds it; nothing else lists it).

Constructor contract: ``cls(options: dict, *, checkpoint: str | None, device: str)`` where
``device`` is already resolved ("cpu", "cuda", "cuda:1"). The base class's ``__init__``
resolves ``options`` against what the generator declares (defaults filled in, unknown keys
refused: :func:`semaug.catalog.resolve_options`) and stores them.

Importing this module imports no torch.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from .. import catalog
from ..clip import Clip


class Generator(abc.ABC):
    """Animates a source face with a driving clip's motion."""

    name: str = ""  # set by register_generator

    def __init__(self, options: Mapping[str, Any] | None = None, *, checkpoint: str | None = None,
                 device: str = "cpu") -> None:
        # an unregistered subclass (a test double) keeps its options as given
        self.options = (catalog.resolve_options(self.name, options)
                        if self.name in catalog.scenarios() else dict(options or {}))
        self.checkpoint = checkpoint
        self.device = device

    @abc.abstractmethod
    def animate(self, source: Clip, driving: Clip) -> Clip:
        """Appearance of ``source.frames[0]`` (+ ``source.landmarks[0]``), motion of ``driving``
        relative to its frame 0. Returns ``driving.n_frames`` frames at the source's size with
        the target landmarks [T,68,2]; frame 0 ≈ the source frame."""

    def animate_batch(self, pairs: list[tuple[Clip, Clip]],
                      seeds: Sequence[int] | None = None) -> list[Clip]:
        """Many (source, driving) pairs at once, ``seeds[i]`` the plan row's seed (for
        generators that draw random numbers); override to batch on the device."""
        return [self.animate(src, drv) for src, drv in pairs]

    def reconstruct_batch(self, clips: list[Clip]) -> list[Clip]:
        """FOMM's video reconstruction: each clip re-rendered from its own frame 0 with its own
        motion, all of it. The self-reenactment measures use it. A generator that registers
        the driver's head motion out for cross-identity transfer (monkeynet, landmark_warp)
        overrides this to keep it: source and driver are one face, so nothing needs removing,
        and the real frames it is scored against moved their heads."""
        return self.animate_batch([(c, c) for c in clips])


def build_generator(name: str, options: Mapping[str, Any] | None = None, *,
                    checkpoint: str | None = None, device: str = "auto") -> Generator:
    """Instantiate scenario ``name``'s generator (its options are resolved by the class); a
    learned one needs its ``checkpoint``."""
    from ..devices import resolve_device

    spec = catalog.scenario(name)
    if spec.learned and not checkpoint:
        raise ValueError(f"generator {name!r} is learned: pass checkpoint=<its model.pt>")
    cls = catalog.implementation(name)
    return cls(options, checkpoint=checkpoint, device=resolve_device(device))
