"""Demo identities: face shape, placement in the frame, colours, lighting, head motion and
expression style of one procedural subject, all sampled from one random generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ibug import (
    INNER_LIPS,
    JAW,
    LEFT_BROW,
    LEFT_EYE,
    MEAN_FACE,
    NOSE_BOTTOM,
    OUTER_LIPS,
    RIGHT_BROW,
    RIGHT_EYE,
)

RGB = tuple[int, int, int]

# Light to dark skin tones; identities interpolate between neighbours.
_SKIN_TONES = np.array([[255, 226, 204], [241, 194, 160], [224, 172, 125], [198, 134, 90],
                        [160, 102, 62], [118, 74, 46], [84, 54, 36]], dtype=np.float64)
_HAIR_COLOURS = np.array([[20, 16, 14], [48, 32, 22], [92, 62, 38], [150, 110, 64],
                          [200, 170, 110], [120, 50, 24], [150, 150, 150]], dtype=np.float64)
_IRIS_COLOURS = np.array([[52, 32, 20], [92, 60, 30], [70, 100, 60], [70, 110, 150],
                          [110, 120, 130]], dtype=np.float64)
HAIR_STYLES = ("short", "long", "fringe", "receding")
# Width of the jaw line (points 0 and 16) in MEAN_FACE units: the "face width".
FACE_WIDTH_UNITS = float(MEAN_FACE[16, 0] - MEAN_FACE[0, 0])
# Vertical extent of the 68 points in MEAN_FACE units, plus room for raised brows and a dropped
# jaw, so that every landmark stays inside the frame.
_LANDMARK_SPAN = (0.22, 1.04)
_HEAD_TOP = 0.04  # top of the hair, unit face coordinates
FACE_ORIGIN = np.array([0.5, 0.6])  # the point of unit face coordinates placed at `centre`


@dataclass(frozen=True)
class HeadMotion:
    """Small rigid head motion: per-axis amplitude, angular frequency (radians per frame) and
    phase for x/y translation (pixels), roll (radians) and scale (relative)."""

    amplitude: np.ndarray  # [4]
    frequency: np.ndarray  # [4]
    phase: np.ndarray  # [4]

    def offsets(self, n_frames: int) -> np.ndarray:
        """[T, 4] (dx, dy, droll, dscale) per frame; exactly zero at the first frame, so that the
        first frame shows the identity's neutral placement."""
        t = np.arange(n_frames, dtype=np.float64)[:, None]
        return self.amplitude * (np.sin(self.frequency * t + self.phase) - np.sin(self.phase))


@dataclass(frozen=True)
class Identity:
    """Everything that makes one demo subject look like themselves."""

    neutral: np.ndarray  # float64 [68, 2] neutral shape in unit face coordinates
    scale: float  # pixels per unit face coordinate
    roll: float  # in-plane rotation, radians
    centre: tuple[float, float]  # pixel position of FACE_ORIGIN
    skin: RGB
    lips: RGB
    hair: RGB
    hair_style: str
    hairline: float  # hairline height as a fraction of the forehead height
    forehead: float  # forehead height in half face widths
    iris: RGB
    brow: RGB
    brow_width: float  # in unit face coordinates
    clothes: RGB
    background: tuple[RGB, RGB]  # top and bottom colour of a vertical gradient
    light_angle: float  # direction the light comes from, radians (image plane)
    light_strength: float  # darkening on the far side, 0..1
    noise: float  # sensor noise standard deviation, grey levels
    noise_seed: int  # seed of the sensor's noise pattern bank
    motion: HeadMotion
    intensity: float  # expression intensity multiplier
    unit_gain: dict[str, float]  # idiosyncratic gain per action unit
    side: int  # +1 / -1: face half of one-sided expressions (contempt)
    gaze: tuple[float, float]  # iris offset in iris radii

    def _pose(self, offsets: np.ndarray | None) -> tuple:
        """(dx, dy, cos, sin, scale) of the head, moved by per-frame ``offsets`` [..., 4]."""
        dx = dy = droll = dscale = 0.0
        if offsets is not None:
            dx, dy, droll, dscale = (offsets[..., i, None] for i in range(4))
        angle = self.roll + droll
        return dx, dy, np.cos(angle), np.sin(angle), self.scale * (1.0 + dscale)

    def to_pixels(self, local: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
        """Unit face coordinates [..., 68, 2] -> image pixels, with optional per-frame head motion
        ``offsets`` [..., 4] from :meth:`HeadMotion.offsets`."""
        dx, dy, cos, sin, scale = self._pose(offsets)
        u = local[..., 0] - FACE_ORIGIN[0]
        v = local[..., 1] - FACE_ORIGIN[1]
        x = self.centre[0] + dx + scale * (cos * u - sin * v)
        y = self.centre[1] + dy + scale * (sin * u + cos * v)
        return np.stack([x, y], axis=-1)

    def to_local(self, pixels: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
        """Inverse of :meth:`to_pixels`: image pixels -> unit face coordinates."""
        dx, dy, cos, sin, scale = self._pose(offsets)
        x = pixels[..., 0] - self.centre[0] - dx
        y = pixels[..., 1] - self.centre[1] - dy
        u, v = (cos * x + sin * y) / scale, (-sin * x + cos * y) / scale
        return np.stack([u + FACE_ORIGIN[0], v + FACE_ORIGIN[1]], axis=-1)


def _pick(rng: np.random.Generator, palette: np.ndarray, jitter: float) -> RGB:
    """A colour between two neighbours of a palette, jittered by ``jitter`` grey levels."""
    t = rng.uniform(0, len(palette) - 1)
    i = min(int(t), len(palette) - 2)
    colour = palette[i] * (1 - (t - i)) + palette[i + 1] * (t - i) + rng.normal(0, jitter, 3)
    return tuple(int(c) for c in np.clip(colour, 0, 255))  # type: ignore[return-value]


def luminance(colour: RGB) -> float:
    """ITU-R 601 luma, the weights PIL uses to convert to greyscale."""
    return 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]


_BACKGROUNDS = np.array([[235, 235, 230], [200, 205, 210], [150, 160, 150], [90, 100, 120],
                         [60, 60, 60]], dtype=np.float64)
_CONTRAST = 70.0  # luminance between skin and background, grey levels


def _background(rng: np.random.Generator, skin: RGB) -> tuple[RGB, RGB]:
    """Top and bottom colour of a background gradient that is, all over, clearly lighter or
    clearly darker than the skin, so the face stands out in greyscale under any lighting."""
    for _ in range(200):
        top = _pick(rng, _BACKGROUNDS, 10.0)
        bottom = tuple(int(c) for c in np.array(top) * rng.uniform(0.8, 1.0))
        gaps = [luminance(c) - luminance(skin) for c in (top, bottom)]
        if min(abs(g) for g in gaps) > _CONTRAST and gaps[0] * gaps[1] > 0:
            return top, bottom  # type: ignore[return-value]
    # Mid-grey skin can fail often: fall back to the palette's far end.
    far = _BACKGROUNDS[0] if luminance(skin) < 128 else _BACKGROUNDS[-1]
    colour = tuple(int(c) for c in far)
    return colour, colour  # type: ignore[return-value]


def _scale_about(points: np.ndarray, centre: np.ndarray, sx: float, sy: float) -> np.ndarray:
    return centre + (points - centre) * [sx, sy]


def sample_shape(rng: np.random.Generator) -> np.ndarray:
    """A neutral 68-point shape: MEAN_FACE with individual proportions and slight asymmetry."""
    pts = MEAN_FACE.copy()
    # jaw: width, chin length and how square the lower jaw is
    jaw = pts[JAW]
    jaw_w, chin = rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.12)
    jaw = _scale_about(jaw, np.array([0.5, 0.45]), jaw_w, 1.0)
    below = jaw[:, 1] > 0.45
    jaw[below, 1] = 0.45 + (jaw[below, 1] - 0.45) * chin
    squareness = rng.uniform(-0.5, 0.6)  # >0 pushes the lower jaw outwards (square), <0 a V
    lower = np.sin(np.linspace(0.0, np.pi, 17)) ** 2
    jaw[:, 0] += squareness * 0.035 * lower * np.sign(jaw[:, 0] - 0.5)
    pts[JAW] = jaw
    # eyes and brows: spacing, size, openness, brow height
    spacing, eye_size = rng.uniform(-0.02, 0.02), rng.uniform(0.85, 1.2)
    openness, brow_lift = rng.uniform(0.8, 1.3), rng.uniform(-0.015, 0.015)
    for eye, brow, sign in ((RIGHT_EYE, RIGHT_BROW, -1), (LEFT_EYE, LEFT_BROW, 1)):
        centre = pts[eye].mean(0)
        pts[eye] = _scale_about(pts[eye], centre, eye_size, eye_size * openness)
        pts[eye, 0] += sign * spacing
        pts[brow, 0] += sign * spacing
        pts[brow, 1] += brow_lift
    # nose length and width; mouth width, height and lip thickness
    nose_len, nose_w = rng.uniform(-0.02, 0.025), rng.uniform(0.85, 1.25)
    pts[NOSE_BOTTOM] = _scale_about(pts[NOSE_BOTTOM], pts[33], nose_w, 1.0)
    pts[NOSE_BOTTOM, 1] += nose_len
    pts[29:31, 1] += nose_len * np.array([0.5, 0.9])
    mouth_w, mouth_y = rng.uniform(0.85, 1.2), rng.uniform(-0.015, 0.025)
    lips = rng.uniform(0.7, 1.4)
    mouth = np.r_[OUTER_LIPS, INNER_LIPS]
    line = np.array([0.5, pts[INNER_LIPS, 1].mean()])
    pts[mouth] = _scale_about(pts[mouth], line, mouth_w, 1.0)
    pts[OUTER_LIPS] = _scale_about(pts[OUTER_LIPS], line, 1.0, lips)
    pts[mouth, 1] += mouth_y
    pts += rng.normal(0.0, 0.0025, pts.shape)  # nobody is symmetric
    return pts


def sample_identity(rng: np.random.Generator, *, width: int, height: int,
                    face_size: tuple[float, float], intensity: tuple[float, float],
                    noise: float, head_motion: float) -> Identity:
    """One subject for frames of ``width`` x ``height``. Knobs: face width as a fraction of the
    frame width (``face_size`` range), expression ``intensity`` range, sensor ``noise`` (grey
    levels) and ``head_motion`` (multiplier of the small head motion; 0 keeps the head still)."""
    neutral = sample_shape(rng)
    face_width = rng.uniform(*face_size) * width
    # Head motion in face units (x, y translation; roll in radians; relative scale), and how far
    # it can carry a landmark: offsets reach twice the amplitude, and roll and scale move points
    # at most ~0.5 units from the face origin.
    unit_motion = head_motion * rng.uniform(0.3, 1.0, 4) * np.array(
        [0.03 * FACE_WIDTH_UNITS, 0.02 * FACE_WIDTH_UNITS, np.radians(2.0), 0.02])
    reach = 2 * unit_motion * [1.0, 1.0, 0.5, 0.5]
    reach_x, reach_y = reach[0] + reach[2] + reach[3], reach[1] + reach[2] + reach[3]
    span = _LANDMARK_SPAN[1] - _LANDMARK_SPAN[0]
    # Cap the size so that every landmark, moving, stays inside the frame.
    scale = min(face_width / FACE_WIDTH_UNITS, 0.94 * height / (span + 2 * reach_y),
                0.97 * width / (1.15 * FACE_WIDTH_UNITS + 2 * reach_x))
    half_w = 0.5 * FACE_WIDTH_UNITS * scale
    motion = HeadMotion(amplitude=unit_motion * [scale, scale, 1.0, 1.0],
                        frequency=rng.uniform(0.05, 0.3, 4), phase=rng.uniform(0, 2 * np.pi, 4))
    x_lo = half_w * 1.15 + reach_x * scale
    x_hi = width - x_lo
    margin = 0.03 * height + reach_y * scale
    y_lo = (FACE_ORIGIN[1] - _HEAD_TOP) * scale + margin  # whole head inside
    y_hi = height - (_LANDMARK_SPAN[1] - FACE_ORIGIN[1]) * scale - margin  # chin inside
    # Roughly centred: a uniform draw over the middle part of the admissible range. A head too
    # tall for the frame sits low, so the hair is cut at the top, never the landmarks.
    jitter_x, jitter_y = rng.uniform(-1, 1, 2)
    cx = width / 2 + 0.35 * jitter_x * max(0.0, (x_hi - x_lo) / 2)
    cy = y_hi if y_lo > y_hi else (y_lo + y_hi) / 2 + 0.35 * jitter_y * (y_hi - y_lo) / 2

    skin = _pick(rng, _SKIN_TONES, 6.0)
    lips = tuple(int(c) for c in np.clip(np.array(skin) * [0.82, 0.58, 0.6] + [30, 8, 10], 0, 255))
    hair = _pick(rng, _HAIR_COLOURS, 8.0)
    style = HAIR_STYLES[int(rng.choice(len(HAIR_STYLES), p=[0.35, 0.3, 0.2, 0.15]))]
    hairline = {"short": (0.72, 0.88), "long": (0.7, 0.85), "fringe": (0.58, 0.68),
                "receding": (0.92, 0.98)}[style]
    brow = tuple(int(c) for c in np.array(hair) * 0.6 + np.array(skin) * 0.15)
    top_bg, bottom_bg = _background(rng, skin)
    return Identity(
        neutral=neutral,
        scale=float(scale),
        roll=float(np.radians(rng.normal(0.0, 3.0))),
        centre=(float(cx), float(cy)),
        skin=skin,
        lips=lips,  # type: ignore[arg-type]
        hair=hair,
        hair_style=style,
        hairline=float(rng.uniform(*hairline)),
        forehead=float(rng.uniform(1.0, 1.15)),
        iris=_pick(rng, _IRIS_COLOURS, 8.0),
        brow=brow,  # type: ignore[arg-type]
        brow_width=float(rng.uniform(0.012, 0.024)),
        clothes=_pick(rng, np.array([[30, 30, 60], [120, 30, 30], [40, 90, 60], [200, 200, 200],
                                     [90, 90, 90]], dtype=np.float64), 20.0),
        background=(top_bg, bottom_bg),
        light_angle=float(rng.uniform(0, 2 * np.pi)),
        light_strength=float(rng.uniform(0.05, 0.3)),
        noise=float(noise * rng.uniform(0.5, 1.5)),
        noise_seed=int(rng.integers(2**31)),
        motion=motion,
        intensity=float(rng.uniform(*intensity)),
        unit_gain={u: float(rng.uniform(0.75, 1.25))
                   for u in ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12",
                             "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26")},
        side=int(rng.choice([-1, 1])),
        gaze=(float(rng.normal(0, 0.12)), float(rng.normal(0, 0.08))),
    )
