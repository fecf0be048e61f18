"""Draw one demo frame from 68 landmarks (image pixels) and an identity.

Drawn with PIL at 2x and box-downsampled (antialiasing). Landmark coordinates use the pixel-centre
convention: pixel (row i, column j) has its centre at (x=j, y=i). Everything but the face parts
is static per identity (background, light field) and is cached by :class:`FrameRenderer`.
Static parts of the head (forehead, hair, ears, neck) are placed from the jaw line (points 0 and
16), which expressions do not move, so they follow head motion but not expression.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from ..ibug import LEFT_EYE, RIGHT_EYE, inter_ocular
from .identity import RGB, Identity, luminance

SUPERSAMPLE = 2
_SCLERA: RGB = (236, 232, 226)
_MOUTH: RGB = (52, 22, 26)
_TEETH: RGB = (228, 222, 206)
_PUPIL: RGB = (14, 10, 10)
_NOISE_MARGIN = 48


def _shade(colour: RGB, factor: float) -> RGB:
    return tuple(int(min(255, max(0, c * factor))) for c in colour)  # type: ignore[return-value]


def _blend(a: RGB, b: RGB, t: float) -> RGB:
    t = min(1.0, max(0.0, t))
    return tuple(int(x * (1 - t) + y * t) for x, y in zip(a, b))  # type: ignore[return-value]


def _flat(points: np.ndarray) -> list[float]:
    return points.reshape(-1).tolist()


class _HeadFrame:
    """Head-fixed coordinates from the jaw line: ``a`` across (half face widths, +1 = point 16),
    ``b`` upwards (half face widths, 0 = the jaw line), in canvas pixels."""

    def __init__(self, canvas_landmarks: np.ndarray) -> None:
        left, right = canvas_landmarks[0], canvas_landmarks[16]
        self.origin = (left + right) / 2
        self.half_width = float(np.linalg.norm(right - left) / 2)
        self.across = (right - left) / (2 * self.half_width)
        self.up = np.array([self.across[1], -self.across[0]])

    def __call__(self, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
        return self.origin + self.half_width * (a[..., None] * self.across + b[..., None] * self.up)


def _expression_cues(landmarks: np.ndarray, neutral: np.ndarray) -> dict[str, float]:
    """How far an expression creases the skin (0 none .. 1 full), from landmark motion relative
    to the neutral shape. Ratios to the inter-ocular distance, so the pose hardly matters."""

    def measures(pts: np.ndarray) -> np.ndarray:
        iod = float(inter_ocular(pts))
        eye_y = pts[36:48, 1].mean()
        brow_raise = (eye_y - pts[17:27, 1].mean()) / iod
        brow_gap = np.linalg.norm(pts[22] - pts[21]) / iod
        corner_lift = (pts[33, 1] - pts[[48, 54], 1].mean()) / iod
        return np.array([brow_raise, brow_gap, corner_lift])

    now, rest = measures(landmarks), measures(neutral)
    return {"forehead": float(np.clip((now[0] - rest[0]) / 0.12, 0, 1)),
            "furrow": float(np.clip((rest[1] - now[1]) / 0.06, 0, 1)),
            "smile": float(np.clip((now[2] - rest[2]) / 0.12, 0, 1))}


class FrameRenderer:
    """Renders frames of one identity at one frame size (greyscale or RGB)."""

    def __init__(self, identity: Identity, width: int, height: int, *, grey: bool) -> None:
        self.identity, self.width, self.height, self.grey = identity, width, height, grey
        # Greyscale frames are drawn in "L" mode throughout: a third of the pixels to push.
        self.mode = "L" if grey else "RGB"
        self._background = self._make_background()
        self._light = self._make_light()
        self._noise = self._make_noise()
        # Neutral landmarks in pixels at the neutral pose: the reference for skin creases.
        self._neutral_px = identity.to_pixels(identity.neutral)

    def _make_background(self) -> Image.Image:
        top, bottom = (np.array(c, dtype=np.float64) for c in self.identity.background)
        h = self.height * SUPERSAMPLE
        t = np.linspace(0, 1, h)[:, None]
        column = (top * (1 - t) + bottom * t).astype(np.uint8)[:, None, :]
        image = Image.fromarray(np.repeat(column, self.width * SUPERSAMPLE, axis=1), "RGB")
        return image.convert("L") if self.grey else image

    def _make_light(self) -> Image.Image:
        """Multiplicative light field: a directional gradient plus a mild vignette."""
        ident = self.identity
        y, x = np.mgrid[0:self.height, 0:self.width].astype(np.float64)
        radius = 0.5 * float(np.hypot(self.width, self.height))
        px, py = (x - self.width / 2) / radius, (y - self.height / 2) / radius
        away = -(np.cos(ident.light_angle) * px + np.sin(ident.light_angle) * py)
        field = 1.0 - ident.light_strength * (0.5 + 0.5 * np.clip(away * 1.6, -1, 1))
        field *= 1.0 - 0.12 * (px * px + py * py)
        grey = np.clip(field * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(grey if self.grey else np.repeat(grey[..., None], 3, axis=2),
                               self.mode)

    def _make_noise(self) -> np.ndarray | None:
        """Integer Gaussian sensor noise, a margin larger than the frame (None without noise)."""
        if self.identity.noise <= 0:
            return None
        channels = () if self.grey else (3,)
        shape = (self.height + _NOISE_MARGIN, self.width + _NOISE_MARGIN, *channels)
        rng = np.random.default_rng(self.identity.noise_seed)
        return np.rint(rng.standard_normal(shape) * self.identity.noise).astype(np.int16)

    def ink(self, colour: RGB) -> RGB | int:
        """A fill value for this renderer's image mode."""
        return int(round(luminance(colour))) if self.grey else colour

    def render(self, landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One frame for landmarks [68, 2] in image pixels: uint8 [H, W] (grey) or [H, W, 3]."""
        canvas = self._background.copy()
        draw = ImageDraw.Draw(canvas)
        pts = landmarks * SUPERSAMPLE + (SUPERSAMPLE - 1) / 2
        head = _HeadFrame(pts)
        self._draw_head(draw, pts, head)
        self._draw_creases(draw, pts, head, landmarks)
        self._draw_hair(draw, head)
        self._draw_brows(draw, pts)
        for eye in (RIGHT_EYE, LEFT_EYE):
            self._draw_eye(canvas, draw, pts[eye])
        self._draw_nose(draw, pts, head)
        self._draw_mouth(draw, pts)
        image = ImageChops.multiply(canvas.reduce(SUPERSAMPLE), self._light)
        frame = np.asarray(image)
        if self._noise is None:
            return frame.copy()
        # A random window of the per-identity noise bank: drawing fresh Gaussian noise for every
        # pixel of every frame costs more than drawing the face.
        dy, dx = rng.integers(0, _NOISE_MARGIN + 1, size=2)
        noisy = self._noise[dy:dy + self.height, dx:dx + self.width] + frame
        np.clip(noisy, 0, 255, out=noisy)
        return noisy.astype(np.uint8)

    # ---- parts -------------------------------------------------------------------------------

    def _draw_head(self, draw: ImageDraw.ImageDraw, pts: np.ndarray, head: _HeadFrame) -> None:
        ident = self.identity
        skin, hair = ident.skin, ident.hair
        theta = np.linspace(0.0, np.pi, 24)
        if ident.hair_style == "long":  # hair behind the head falls to the shoulders
            crown = head(1.22 * np.cos(theta), (ident.forehead + 0.25) * np.sin(theta))
            back = np.concatenate([head(1.3, -2.4)[None], crown, head(-1.3, -2.4)[None]])
            draw.polygon(_flat(back), fill=self.ink(_shade(hair, 0.8)))
        shoulders = head(np.array([-0.5, 0.5, 2.8, 3.2, -3.2, -2.8]),
                         np.array([-1.9, -1.9, -2.5, -9.0, -9.0, -2.5]))
        draw.polygon(_flat(shoulders), fill=self.ink(ident.clothes))
        neck = head(np.array([-0.55, 0.55, 0.6, -0.6]), np.array([-0.6, -0.6, -2.1, -2.1]))
        draw.polygon(_flat(neck), fill=self.ink(_shade(skin, 0.78)))
        for a in (-1.0, 1.0):  # ears
            c = head(a * 1.0, 0.05)
            rx, ry = 0.14 * head.half_width, 0.3 * head.half_width
            draw.ellipse([c[0] - rx, c[1] - ry, c[0] + rx, c[1] + ry],
                         fill=self.ink(_shade(skin, 0.88)))
        forehead = head(np.cos(theta[1:-1]), ident.forehead * np.sin(theta[1:-1]))
        outline = np.concatenate([pts[0:17], forehead])
        centre = pts[[27, 30, 33]].mean(0)
        # Three nested fills: darker at the rim, as a rounded, lit face would be.
        for shrink, factor in ((1.0, 0.86), (0.93, 0.94), (0.8, 1.0)):
            ring = centre + (outline - centre) * shrink
            draw.polygon(_flat(ring), fill=self.ink(_shade(skin, factor)))

    def _draw_hair(self, draw: ImageDraw.ImageDraw, head: _HeadFrame) -> None:
        """The hair cap over the forehead (drawn after the forehead creases, which it covers)."""
        ident = self.identity
        span = np.linspace(-0.18, np.pi + 0.18, 28)
        outer = head(1.08 * np.cos(span), (ident.forehead + 0.14) * np.sin(span))
        line = ident.hairline * ident.forehead * np.sin(span)
        if ident.hair_style == "fringe":  # jagged bangs
            line = line - 0.06 * (np.arange(len(span)) % 2) * (np.sin(span) > 0.5)
        inner = head(0.97 * np.cos(span), line)[::-1]
        draw.polygon(_flat(np.concatenate([outer, inner])), fill=self.ink(ident.hair))

    def _draw_creases(self, draw: ImageDraw.ImageDraw, pts: np.ndarray, head: _HeadFrame,
                      landmarks: np.ndarray) -> None:
        """Forehead lines (raised brows), a furrow (brows drawn together), smile folds."""
        cues = _expression_cues(landmarks, self._neutral_px)
        skin = self.identity.skin
        thin = max(1, int(round(0.012 * head.half_width)))
        if cues["forehead"] > 0.05:
            colour = _blend(skin, _shade(skin, 0.6), cues["forehead"])
            brow_b = float(np.max((pts[17:27] - head.origin) @ head.up)) / head.half_width
            for k in range(3):
                a = np.linspace(-0.45, 0.45, 9)
                b = brow_b + 0.12 + 0.09 * k + 0.03 * np.cos(a * 3)
                draw.line(_flat(head(a, b)), fill=self.ink(colour), width=thin)
        if cues["furrow"] > 0.05:
            colour = _blend(skin, _shade(skin, 0.55), cues["furrow"])
            mid = (pts[21] + pts[22]) / 2
            for side in (-0.04, 0.04):
                top, bottom = mid + head.half_width * (side * head.across + 0.12 * head.up), \
                    mid + head.half_width * (side * head.across - 0.02 * head.up)
                draw.line(_flat(np.stack([top, bottom])), fill=self.ink(colour), width=thin)
        fold = _blend(_shade(skin, 0.94), _shade(skin, 0.62), cues["smile"])
        for wing, corner in ((31, 48), (35, 54)):
            out = pts[corner] - pts[33]
            path = np.stack([pts[wing] + 0.15 * (pts[wing] - pts[33]),
                             (pts[wing] + pts[corner]) / 2 + 0.22 * out,
                             pts[corner] + 0.15 * out])
            draw.line(_flat(path), fill=self.ink(fold), width=thin, joint="curve")

    def _draw_brows(self, draw: ImageDraw.ImageDraw, pts: np.ndarray) -> None:
        width = max(1, int(round(self.identity.brow_width * self.identity.scale * SUPERSAMPLE)))
        for brow in (slice(17, 22), slice(22, 27)):
            draw.line(_flat(pts[brow]), fill=self.ink(self.identity.brow), width=width,
                      joint="curve")

    def _draw_eye(self, canvas: Image.Image, draw: ImageDraw.ImageDraw, eye: np.ndarray) -> None:
        ident = self.identity
        # The iris is drawn on a patch clipped to the eye opening, so lids cover it as they move.
        lo = np.floor(eye.min(0)).astype(int) - 1
        hi = np.ceil(eye.max(0)).astype(int) + 2
        patch_box = (int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
        local = eye - lo
        patch = canvas.crop(patch_box)
        patch_draw = ImageDraw.Draw(patch)
        patch_draw.polygon(_flat(local), fill=self.ink(_SCLERA))
        eye_width = float(np.linalg.norm(eye[3] - eye[0]))
        radius = 0.21 * eye_width
        cx, cy = local.mean(0) + np.array(ident.gaze) * radius
        patch_draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius],
                           fill=self.ink(ident.iris))
        pr = 0.42 * radius
        patch_draw.ellipse([cx - pr, cy - pr, cx + pr, cy + pr], fill=self.ink(_PUPIL))
        mask = Image.new("L", patch.size, 0)
        ImageDraw.Draw(mask).polygon(_flat(local), fill=255)
        canvas.paste(patch, patch_box[:2], mask)
        lid = max(1, int(round(0.09 * eye_width)))
        crease = eye[[0, 1, 2, 3]] + np.array([0.0, -0.45]) * max(eye_width * 0.25, 1.0)
        thin = max(1, lid // 2)
        draw.line(_flat(crease), fill=self.ink(_shade(ident.skin, 0.8)), width=thin, joint="curve")
        draw.line(_flat(eye[[0, 1, 2, 3]]), fill=self.ink(_shade(ident.skin, 0.3)), width=lid,
                  joint="curve")
        draw.line(_flat(eye[[3, 4, 5, 0]]), fill=self.ink(_shade(ident.skin, 0.65)), width=thin,
                  joint="curve")

    def _draw_nose(self, draw: ImageDraw.ImageDraw, pts: np.ndarray, head: _HeadFrame) -> None:
        skin = self.identity.skin
        thin = max(1, int(round(0.015 * head.half_width)))
        side = 0.06 * head.half_width * head.across
        draw.line(_flat(pts[28:31] + side), fill=self.ink(_shade(skin, 0.85)), width=thin)
        draw.line(_flat(pts[31:36]), fill=self.ink(_shade(skin, 0.68)), width=thin, joint="curve")
        rx, ry = 0.035 * head.half_width, 0.02 * head.half_width
        for a, b in ((31, 32), (34, 35)):
            c = (pts[a] + pts[b]) / 2 - 0.02 * head.half_width * head.up
            draw.ellipse([c[0] - rx, c[1] - ry, c[0] + rx, c[1] + ry],
                         fill=self.ink(_shade(skin, 0.35)))

    def _draw_mouth(self, draw: ImageDraw.ImageDraw, pts: np.ndarray) -> None:
        lips = self.identity.lips
        upper = pts[[48, 49, 50, 51, 52, 53, 54, 64, 63, 62, 61, 60]]
        lower = pts[[54, 55, 56, 57, 58, 59, 48, 60, 67, 66, 65, 64]]
        draw.polygon(_flat(upper), fill=self.ink(_shade(lips, 0.86)))
        draw.polygon(_flat(lower), fill=self.ink(lips))
        inner = pts[60:68]
        draw.polygon(_flat(inner), fill=self.ink(_MOUTH))
        gap = pts[[67, 66, 65]] - pts[[61, 62, 63]]
        opening = float(np.linalg.norm(gap, axis=1).mean())
        face_width = float(np.linalg.norm(pts[16] - pts[0]))
        if opening > 0.03 * face_width:  # teeth show once the lips part
            teeth_lower = pts[[61, 62, 63]] + gap * min(0.45, 0.04 * face_width / opening)
            teeth = np.concatenate([pts[60:65], teeth_lower[::-1]])
            draw.polygon(_flat(teeth), fill=self.ink(_TEETH))
        draw.line(_flat(pts[[60, 61, 62, 63, 64]]), fill=self.ink(_shade(lips, 0.45)),
                  width=max(1, int(round(0.006 * face_width))), joint="curve")
