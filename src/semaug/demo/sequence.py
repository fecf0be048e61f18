"""One demo sequence: the landmark trajectory from neutral to apex, and its frames."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .expressions import apex_displacement, easing
from .identity import Identity
from .render import FrameRenderer


def landmark_trajectory(identity: Identity, mix: Mapping[str, float], n_frames: int,
                        rng: np.random.Generator) -> np.ndarray:
    """[T, 68, 2] landmarks in image pixels. Frame 0 is exactly the identity's neutral shape at
    its neutral pose; the expression rises to its apex, which the last frame shows."""
    # This take's own variation on the subject's style: onset, rise time, unit strengths.
    onset, apex = rng.uniform(0.0, 0.35), rng.uniform(0.7, 1.0)
    gain = {unit: g * rng.uniform(0.85, 1.15) for unit, g in identity.unit_gain.items()}
    displacement = identity.intensity * apex_displacement(mix, unit_gain=gain, side=identity.side)
    progress = easing(n_frames, onset, apex)
    local = identity.neutral + progress[:, None, None] * displacement
    return identity.to_pixels(local, identity.motion.offsets(n_frames))


def render_sequence(renderer: FrameRenderer, mix: Mapping[str, float], n_frames: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Frames uint8 [T, H, W] (grey) or [T, H, W, 3], and their landmarks [T, 68, 2]."""
    landmarks = landmark_trajectory(renderer.identity, mix, n_frames, rng)
    frames = np.stack([renderer.render(points, rng) for points in landmarks])
    return frames, landmarks
