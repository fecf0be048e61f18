"""Expressions as landmark motion: action-unit-like displacement fields on the 68 iBUG points,
the class patterns built from them, and the neutral -> apex easing of a sequence.

Displacements are in the unit face coordinates of :data:`semaug.ibug.MEAN_FACE` (y down). The
class recipes follow the EMFACS prototypes, so classes that share action units are genuinely
close: fear and surprise both raise the brows, widen the eyes and open the mouth; anger and
disgust both lower the brows and tighten the lids; contempt is a small one-sided pull.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..ibug import FLIP_PERMUTATION, N_LANDMARKS

Displacement = dict[int, tuple[float, float]]


def _symmetric(right: Displacement) -> Displacement:
    """Complete a displacement given on the subject's right side (image left) by mirroring it.

    Points on the midline map to themselves and keep their own entry."""
    field = dict(right)
    for i, (dx, dy) in right.items():
        j = int(FLIP_PERMUTATION[i])
        if j != i:
            field[j] = (-dx, dy)
    return field


def _as_array(field: Displacement) -> np.ndarray:
    out = np.zeros((N_LANDMARKS, 2), dtype=np.float64)
    for i, d in field.items():
        out[i] = d
    return out


# Each unit at intensity 1, right side given (mirrored for the left); "up" is negative y.
_JAW_DROP: Displacement = {
    4: (0.004, 0.012), 5: (0.006, 0.025), 6: (0.006, 0.04), 7: (0.003, 0.05), 8: (0.0, 0.055),
    48: (0.004, 0.015), 59: (0.002, 0.045), 58: (0.0, 0.052), 57: (0.0, 0.055),
    60: (0.004, 0.015), 61: (0.0, -0.004), 62: (0.0, -0.005), 67: (0.0, 0.045), 66: (0.0, 0.05),
}
_AU: dict[str, Displacement] = {
    # inner brow raiser
    "AU1": {21: (0.0, -0.035), 20: (0.0, -0.026), 19: (0.0, -0.014), 18: (0.0, -0.006)},
    # outer brow raiser
    "AU2": {17: (0.0, -0.03), 18: (0.0, -0.03), 19: (0.0, -0.02), 20: (0.0, -0.01)},
    # brow lowerer: down and drawn together
    "AU4": {21: (0.012, 0.025), 20: (0.008, 0.02), 19: (0.004, 0.015), 18: (0.0, 0.01),
            17: (0.0, 0.005), 37: (0.0, 0.003), 38: (0.0, 0.003)},
    # upper lid raiser
    "AU5": {37: (0.0, -0.012), 38: (0.0, -0.012)},
    # cheek raiser: lower lids pushed up
    "AU6": {40: (0.0, -0.007), 41: (0.0, -0.007), 2: (0.003, -0.006), 3: (0.004, -0.005)},
    # lid tightener
    "AU7": {40: (0.0, -0.008), 41: (0.0, -0.008), 37: (0.0, 0.004), 38: (0.0, 0.004)},
    # nose wrinkler
    "AU9": {31: (0.002, -0.012), 32: (0.0, -0.012), 33: (0.0, -0.012), 29: (0.0, -0.006),
            30: (0.0, -0.008), 21: (0.004, 0.01), 20: (0.0, 0.006), 37: (0.0, 0.003),
            38: (0.0, 0.003), 50: (0.0, -0.01), 51: (0.0, -0.01), 49: (0.0, -0.006)},
    # upper lip raiser
    "AU10": {49: (0.0, -0.016), 50: (0.0, -0.022), 51: (0.0, -0.022), 48: (0.0, -0.006),
             61: (0.0, -0.014), 62: (0.0, -0.015), 60: (0.0, -0.004), 31: (0.0, -0.005)},
    # lip corner puller (smile)
    "AU12": {48: (-0.035, -0.03), 60: (-0.03, -0.027), 49: (-0.018, -0.018),
             59: (-0.018, -0.012), 61: (-0.01, -0.012), 67: (-0.01, -0.006), 50: (-0.006, -0.006),
             58: (-0.006, -0.002), 3: (-0.004, -0.006), 4: (-0.004, -0.004)},
    # dimpler: corner tightened inwards
    "AU14": {48: (0.01, -0.006), 60: (0.008, -0.005), 49: (0.004, -0.002), 59: (0.004, -0.002)},
    # lip corner depressor
    "AU15": {48: (0.005, 0.03), 60: (0.004, 0.025), 49: (0.0, 0.012), 59: (0.002, 0.016),
             61: (0.0, 0.006), 67: (0.0, 0.006)},
    # chin raiser
    "AU17": {57: (0.0, -0.012), 58: (0.0, -0.012), 59: (0.0, -0.008), 66: (0.0, -0.01),
             67: (0.0, -0.008), 8: (0.0, -0.012), 7: (0.0, -0.01), 6: (0.0, -0.006),
             48: (0.0, -0.004)},
    # lip stretcher
    "AU20": {48: (-0.035, 0.008), 60: (-0.03, 0.008), 49: (-0.015, 0.004), 59: (-0.015, 0.006),
             61: (-0.008, 0.0), 67: (-0.008, 0.002), 5: (-0.004, 0.0), 6: (-0.003, 0.0)},
    # lip tightener / presser: lips thinned and pressed together
    "AU23": {49: (0.0, 0.008), 50: (0.0, 0.009), 51: (0.0, 0.009), 59: (0.0, -0.01),
             58: (0.0, -0.011), 57: (0.0, -0.011), 48: (0.008, 0.0), 60: (0.006, 0.0),
             61: (0.0, 0.002), 62: (0.0, 0.002), 67: (0.0, -0.003), 66: (0.0, -0.003)},
    # lips part
    "AU25": {61: (0.0, -0.004), 62: (0.0, -0.004), 67: (0.0, 0.012), 66: (0.0, 0.013),
             59: (0.0, 0.009), 58: (0.0, 0.01), 57: (0.0, 0.01)},
    # jaw drop
    "AU26": _JAW_DROP,
}
AU_FIELDS: dict[str, np.ndarray] = {name: _as_array(_symmetric(f)) for name, f in _AU.items()}
"""Symmetric action-unit displacement fields, float64 [68, 2] each, at intensity 1."""

# One-sided units (contempt): the subject's right side only; the left is its mirror image.
ONE_SIDED_FIELDS: dict[str, np.ndarray] = {
    name: _as_array({i: d for i, d in _AU[name].items() if int(FLIP_PERMUTATION[i]) != i})
    for name in ("AU12", "AU14")
}

# Class recipes (EMFACS prototypes), unit name -> weight at expression intensity 1.
# A "~" prefix marks a one-sided unit.
CLASS_UNITS: dict[str, dict[str, float]] = {
    "anger": {"AU4": 1.0, "AU5": 0.5, "AU7": 0.8, "AU23": 1.0, "AU17": 0.5},
    "contempt": {"~AU12": 0.45, "~AU14": 0.9},
    "disgust": {"AU9": 1.0, "AU10": 1.0, "AU4": 0.6, "AU7": 0.5, "AU17": 0.5, "AU15": 0.3},
    "fear": {"AU1": 1.0, "AU2": 0.6, "AU4": 0.5, "AU5": 1.0, "AU20": 0.8, "AU25": 1.0,
             "AU26": 0.4},
    "happy": {"AU6": 1.0, "AU12": 1.0, "AU25": 0.6},
    "sadness": {"AU1": 1.0, "AU4": 0.6, "AU15": 1.0, "AU17": 0.6},
    "surprise": {"AU1": 1.0, "AU2": 1.0, "AU5": 0.8, "AU25": 0.6, "AU26": 0.8},
}
# Class names of the two formats that mean the same expression.
CLASS_ALIASES: dict[str, str] = {"happiness": "happy"}


def canonical_class(name: str) -> str:
    """The recipe name of a class name (MUG's `happiness` is CK+'s `happy`)."""
    name = CLASS_ALIASES.get(name, name)
    if name not in CLASS_UNITS:
        raise KeyError(f"no expression recipe for class {name!r}; known: {sorted(CLASS_UNITS)}")
    return name


def unit_field(unit: str, side: int = 1) -> np.ndarray:
    """Displacement field of one unit. ``side`` picks the face half of a one-sided unit
    (``~AU..``): +1 the subject's right (image left), -1 the left."""
    if not unit.startswith("~"):
        return AU_FIELDS[unit]
    field = ONE_SIDED_FIELDS[unit[1:]]
    if side > 0:
        return field
    return field[FLIP_PERMUTATION] * np.array([-1.0, 1.0])


def apex_displacement(mix: Mapping[str, float], *, unit_gain: Mapping[str, float] | None = None,
                      side: int = 1) -> np.ndarray:
    """[68, 2] apex displacement of a blend of classes ``{class: weight}`` (empty = neutral).

    ``unit_gain`` scales single units (a subject's idiosyncrasy); missing units have gain 1.
    """
    total = np.zeros((N_LANDMARKS, 2), dtype=np.float64)
    for name, weight in mix.items():
        for unit, w in CLASS_UNITS[canonical_class(name)].items():
            gain = 1.0 if unit_gain is None else unit_gain.get(unit.lstrip("~"), 1.0)
            total += weight * w * gain * unit_field(unit, side)
    return total


def easing(n_frames: int, onset: float, apex: float) -> np.ndarray:
    """Expression progress per frame, [T] in [0, 1]: 0 until ``onset``, a smoothstep rise to 1 at
    ``apex`` (fractions of the sequence), then held. The first frame is exactly 0 (neutral) and the
    last exactly 1 (apex), as in CK+."""
    if not 0.0 <= onset < apex <= 1.0:
        raise ValueError(f"need 0 <= onset < apex <= 1, got onset={onset}, apex={apex}")
    if n_frames < 2:
        raise ValueError("a sequence needs at least 2 frames (neutral and apex)")
    s = np.linspace(0.0, 1.0, n_frames)
    u = np.clip((s - onset) / (apex - onset), 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)
