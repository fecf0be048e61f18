"""The knobs of a demo render (the `datasets.<name>.demo` config block, less subjects/seed).

These are the only levers for calibrating how hard the demo is; the config schema mirrors the
defaults below (a test keeps them in step).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any

# Frame size per format when the config does not set one: CK+'s real 640x490 greyscale, and a
# reduced MUG (the real one is 896x896 RGB).
DEFAULT_SIZE: dict[str, tuple[int, int]] = {"ckplus": (640, 490), "mug": (256, 256)}
MIN_SIZE = 48  # pixels: below this the face parts are no longer drawable


@dataclass(frozen=True)
class DemoKnobs:
    """Render parameters; ``width``/``height`` of None take the format's default size."""

    width: int | None = None
    height: int | None = None
    min_frames: int = 8
    max_frames: int = 30
    intensity: tuple[float, float] = (0.6, 1.2)
    noise: float = 3.0
    head_motion: float = 1.0
    face_size: tuple[float, float] = (0.4, 0.6)
    sequences_per_subject: float = 2.8
    unlabelled: float = 0.1

    def __post_init__(self) -> None:
        # Config values arrive as YAML lists; keep tuples so the knobs stay hashable.
        for name in ("intensity", "face_size"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        problems = list(self._problems())
        if problems:
            raise ValueError("bad demo knobs: " + "; ".join(problems))

    def _problems(self) -> Iterator[str]:
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < MIN_SIZE):
                yield f"{name} must be an integer >= {MIN_SIZE}, got {value!r}"
        if not 2 <= self.min_frames <= self.max_frames:
            yield (f"need 2 <= min_frames <= max_frames, got {self.min_frames}, "
                   f"{self.max_frames}")
        for name, lo, hi in (("intensity", 0.0, 5.0), ("face_size", 0.1, 0.9)):
            pair = getattr(self, name)
            if len(pair) != 2 or not lo <= pair[0] <= pair[1] <= hi:
                yield f"{name} must be [low, high] with {lo} <= low <= high <= {hi}, got {pair}"
        if self.noise < 0 or self.head_motion < 0 or self.unlabelled < 0:
            yield "noise, head_motion and unlabelled must be >= 0"
        if not 0 < self.sequences_per_subject <= 7:
            yield f"sequences_per_subject must be in (0, 7], got {self.sequences_per_subject}"

    def size(self, fmt: str) -> tuple[int, int]:
        """(width, height) of the frames for format ``fmt``."""
        default_w, default_h = DEFAULT_SIZE[fmt]
        return (self.width or default_w, self.height or default_h)

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def make_knobs(**knobs: Any) -> DemoKnobs:
    """DemoKnobs from keyword arguments; an unknown name is a TypeError that lists the known."""
    known = {f.name for f in fields(DemoKnobs)}
    unknown = sorted(set(knobs) - known)
    if unknown:
        raise TypeError(f"unknown demo knob(s) {unknown}; known: {sorted(known)}")
    return DemoKnobs(**knobs)
