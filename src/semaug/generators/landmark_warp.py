"""``landmark_warp``: the training-free baseline generator.

For each driving frame, the driver's landmark motion relative to its first frame (aligned on
rigid points, scaled by inter-ocular distance: :func:`transfer_landmarks`) is added to the
source's landmarks, and the source image is warped by a thin-plate spline taking the source
landmarks to those targets (:func:`tps_flow`: solved once per source, inverted per frame),
with border and head anchors so the background stays put. The motion is confined to the face
(``face_feather``), and a mouth that opens wider than the source's gets a dark interior
(``mouth_fill``): a warp can only move pixels, not create them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalog import register_generator
from ..clip import Clip
from ..ibug import INNER_LIPS, JAW, NOSE_TIP, OUTER_LIPS, RIGID_POINTS, eye_centres, inter_ocular
from .motion import transfer_landmarks
from .registry import Generator

if TYPE_CHECKING:  # torch is imported where it runs: the catalog reads this module at DAG time
    import torch

DEFAULTS: dict[str, Any] = {
    "lam": 2e-2,  # TPS regulariser λ on [-1,1] coordinates
    "anchors_per_side": 5,  # 16 fixed border anchors
    "flow_resolution": 32,  # spline evaluated on 32×32, upsampled bilinearly (0 = every pixel)
    "min_gap": 0.5,  # pixels kept between upper and lower eyelid / inner-lip points
    "max_lambda_steps": 3,  # λ×10 re-solves for a frame whose warp would fold
    "batch_frames": 256,  # frames warped per batch
    # Control points pinned around the head (above the brows, outside the jaw line), in units
    # of the inter-ocular distance; 0 turns them off. Without them the spline carries the brow
    # and jaw motion out into the hairline and the background.
    "head_margin": 0.3,
    # Points the driver's frames are registered on before measuring expression motion. The
    # rigid set (eye corners, nasion) leaves out the lower nose, which the nose wrinkler moves:
    # with it, disgust read as a head shift and moved the whole face.
    "stable_points": RIGID_POINTS,
    # Motion is confined to the face: the displacement fades from 1 on the ring of head
    # anchors to 0 this many inter-ocular distances outside it, and beyond that the source is
    # copied exactly. The spline overshoots past the pinned ring (raised brows pulled the
    # hairline along) and the fit to the jittery landmarks leaks sub-pixel motion into hair
    # and background; both blurred sharp, still edges. 0 = off (also off without head_margin).
    "face_feather": 0.5,
    # Mouth interior: where the inner lips part wider than in the source, a warp can only
    # stretch the lips over the gap. The inner-lip polygon is filled, antialiased, with the
    # source's median lip colour times ``mouth_fill`` (0.5: a dark cavity; 0 = off), fading in
    # from an opening ``mouth_open`` inter-ocular distances beyond the source's to full at
    # twice that, so slightly parted lips (teeth, a dark seam) are left to the warp.
    "mouth_fill": 0.5,
    "mouth_open": 0.1,
}

# (upper, lower) point pairs that must not cross: crossing eyelids or lips fold the warp.
_NON_CROSSING = ((37, 41), (38, 40), (43, 47), (44, 46), (61, 67), (62, 66), (63, 65))


def keep_order(landmarks: np.ndarray, min_gap: float, reference: np.ndarray | None = None
               ) -> np.ndarray:
    """Push apart upper/lower eyelid and inner-lip points that come closer than ``min_gap``
    pixels vertically (or cross), about their midpoint. [..., 68, 2] -> same shape (copy).

    With a ``reference`` [68,2] (the source), a pair already closer there only has to keep
    its reference gap, so frame 0 (target = source) is left exactly as it is."""
    out = np.array(landmarks, dtype=np.float32, copy=True)
    for up, low in _NON_CROSSING:
        yu, yl = out[..., up, 1], out[..., low, 1]
        gap = min_gap
        if reference is not None:
            gap = min(min_gap, max(float(reference[low, 1] - reference[up, 1]), 0.0))
        bad = yl - yu < gap
        mid = (yu + yl) / 2
        out[..., up, 1] = np.where(bad, mid - gap / 2, yu)
        out[..., low, 1] = np.where(bad, mid + gap / 2, yl)
    return out


def head_anchors(landmarks: np.ndarray, margin: float) -> np.ndarray:
    """Points around a face that expressions do not move: above each brow point and outside
    each jaw point, ``margin`` inter-ocular distances away. [68,2] -> [27,2]."""
    eyes = eye_centres(landmarks)
    iod = float(np.linalg.norm(eyes[1] - eyes[0]))
    across = (eyes[1] - eyes[0]) / max(iod, 1e-6)
    up = np.array([across[1], -across[0]])  # image y points down: "up" is -y for a level face
    brows = landmarks[17:27] + margin * iod * up
    centre = landmarks[NOSE_TIP]
    jaw = landmarks[JAW]
    outward = (jaw - centre) / np.maximum(np.linalg.norm(jaw - centre, axis=1, keepdims=True), 1e-6)
    return np.concatenate([brows, jaw + margin * iod * outward]).astype(np.float32)


def polygon_distance(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Signed distance from points [..., P, 2] to the outline of closed polygons [..., K, 2]
    -> [..., P] (leading dimensions broadcast): negative inside (even-odd rule), positive
    outside, in the points' units. (numpy, x and y apart: these arrays are small, and numpy
    is slow on a trailing dimension of 2, torch on many small calls.)"""
    poly = np.asarray(polygon, np.float32)
    pts = np.asarray(points, np.float32)
    ax, ay = poly[..., None, :, 0], poly[..., None, :, 1]  # [...,1,K]
    abx, aby = np.roll(ax, -1, -1) - ax, np.roll(ay, -1, -1) - ay
    apx, apy = pts[..., :, None, 0] - ax, pts[..., :, None, 1] - ay  # [...,P,K]
    t = np.clip((apx * abx + apy * aby) / np.maximum(abx * abx + aby * aby, 1e-12), 0, 1)
    dist = np.sqrt(((apx - t * abx) ** 2 + (apy - t * aby) ** 2).min(-1))
    straddles = (ay > pts[..., :, None, 1]) != (ay + aby > pts[..., :, None, 1])
    crossing = straddles & (apx < apy * abx / np.where(straddles, aby, 1.0))  # edge to the right
    return np.where(crossing.sum(-1) % 2 == 1, -dist, dist)


def face_weight(pins: np.ndarray, iod: float, size: tuple[int, int], grid: tuple[int, int],
                feather: float) -> np.ndarray:
    """Displacement weight on the flow grid, float32 [gh,gw]: 1 inside the ring of head anchors
    ``pins`` [27,2] (brows then jaw, :func:`head_anchors`), falling linearly to 0 at
    ``feather`` inter-ocular distances ``iod`` outside it."""
    h, w = size
    gh, gw = grid
    ring = np.concatenate([pins[:10], pins[10:][::-1]])  # brows L->R, jaw R->L
    ys, xs = np.meshgrid(np.linspace(0, h - 1, gh), np.linspace(0, w - 1, gw), indexing="ij")
    sd = polygon_distance(np.stack([xs, ys], -1).reshape(-1, 2), ring)
    return np.clip(1 - np.maximum(sd, 0) / max(feather * iod, 1e-6), 0, 1
                   ).reshape(gh, gw).astype(np.float32)


def inner_lip_gap(landmarks: np.ndarray) -> np.ndarray:
    """Mean distance between facing inner-lip points (61-67, 62-66, 63-65), [..., 68, 2] -> [...]."""
    return np.linalg.norm(landmarks[..., [67, 66, 65], :] - landmarks[..., [61, 62, 63], :],
                          axis=-1).mean(-1)


def fill_mouth(frames: torch.Tensor, image: np.ndarray, source_lm: np.ndarray,
               targets: np.ndarray, darkness: float, onset: float,
               box: tuple[slice, slice] | None = None) -> None:
    """Darken the mouth interior of warped ``frames`` [3,T,h,w] (float, in place) where the
    target's inner lips part wider than the source's (see DEFAULTS ``mouth_fill``).

    image: the source uint8 [H,W,3]; source_lm [68,2]; targets [T,68,2]; box: the
    (rows, columns) of the image that ``frames`` hold (default: all of it)."""
    iod = max(float(inter_ocular(source_lm)), 1e-6)
    opening = inner_lip_gap(targets) - inner_lip_gap(source_lm)
    alpha = np.clip(opening / (onset * iod) - 1, 0, 1)  # 0 up to onset·iod, 1 from twice it
    idx = np.flatnonzero(alpha > 0)
    if len(idx) == 0:
        return
    h, w = image.shape[:2]
    rows, cols = box or (slice(0, h), slice(0, w))

    def pixels(pts: np.ndarray, lo: tuple[int, int] = (0, 0), hi: tuple[int, int] = (w, h)
               ) -> tuple[np.ndarray, slice, slice]:
        """Pixel centres [P,2] (x, y) of the box around pts [..., 2], 1 px wider, clipped to
        the pixel range [lo, hi), and the box's rows and columns."""
        pts = pts.reshape(-1, 2)
        a = np.clip(np.floor(pts.min(0)) - 1, lo, np.subtract(hi, 1)).astype(int)
        b = np.clip(np.ceil(pts.max(0)) + 2, a + 1, hi).astype(int)
        ys, xs = np.mgrid[a[1]:b[1], a[0]:b[0]]
        return np.stack([xs, ys], -1).reshape(-1, 2), slice(a[1], b[1]), slice(a[0], b[0])

    # The fill colour: the source's lips (between the outer and inner lip lines), darkened.
    pts, ys, xs = pixels(source_lm[OUTER_LIPS])
    lips = ((polygon_distance(pts, source_lm[OUTER_LIPS]) < 0)
            & (polygon_distance(pts, source_lm[INNER_LIPS]) > 0))
    patch = image[ys, xs].reshape(-1, 3)
    colour = np.median(patch[lips] if lips.any() else patch, 0) * darkness  # [3]

    # Antialiased cover of each opening target's inner-lip polygon, in the frames' box.
    pts, ys, xs = pixels(targets[idx, INNER_LIPS], (cols.start, rows.start), (cols.stop, rows.stop))
    cover = np.clip(0.5 - polygon_distance(pts, targets[idx, INNER_LIPS]), 0, 1) * alpha[idx, None]
    ys, xs = slice(ys.start - rows.start, ys.stop - rows.start), slice(xs.start - cols.start,
                                                                         xs.stop - cols.start)
    import torch

    dev = frames.device
    cover = torch.from_numpy(cover.astype(np.float32)).to(dev).reshape(
        1, len(idx), ys.stop - ys.start, xs.stop - xs.start)
    ti = torch.from_numpy(idx).to(dev)
    win = frames[:, ti, ys, xs]  # [3,F,h',w'] (a copy)
    fill = torch.from_numpy(colour.astype(np.float32)).to(dev)[:, None, None, None]
    frames[:, ti, ys, xs] = win + cover * (fill - win)


def moving_box(weight: torch.Tensor, size: tuple[int, int]) -> tuple[slice, slice]:
    """(rows, columns) of the image that a flow grid [gh,gw] with displacement ``weight``
    can move: the pixels bilinear upsampling takes from a node with weight > 0."""
    h, w = size
    gh, gw = weight.shape
    on = (weight > 0).cpu().numpy()
    if not on.any():
        return slice(0, 0), slice(0, 0)

    def span(axis_on: np.ndarray, n_px: int, n_nodes: int) -> slice:
        nodes = np.flatnonzero(axis_on)
        step = (n_px - 1) / max(n_nodes - 1, 1)  # pixels per node
        lo = int(np.floor(max(nodes[0] - 1, 0) * step))
        hi = int(np.ceil(min(nodes[-1] + 1, n_nodes - 1) * step)) + 1
        return slice(max(lo, 0), min(hi, n_px))

    return span(on.any(1), h, gh), span(on.any(0), w, gw)


@register_generator("landmark_warp", options=DEFAULTS)
class LandmarkWarp(Generator):
    """Relative landmark motion + thin-plate-spline warp of the source frame (no training)."""

    def targets(self, source: Clip, driving: Clip, register: bool = True) -> np.ndarray:
        """Target landmarks float32 [T,68,2] for animating ``source`` with ``driving``
        (``register=False``: the driver's head motion is transferred too)."""
        target = transfer_landmarks(source.landmarks[0], driving.landmarks,
                                    tuple(self.options["stable_points"]), register=register)
        return keep_order(target, self.options["min_gap"], source.landmarks[0])

    def animate(self, source: Clip, driving: Clip) -> Clip:
        return self.animate_batch([(source, driving)])[0]

    def animate_batch(self, pairs: list[tuple[Clip, Clip]],
                      seeds: Sequence[int] | None = None) -> list[Clip]:
        return self._render(pairs, register=True)

    def reconstruct_batch(self, clips: list[Clip]) -> list[Clip]:
        return self._render([(c, c) for c in clips], register=False)

    def _render(self, pairs: list[tuple[Clip, Clip]], register: bool) -> list[Clip]:
        import torch

        if not pairs:
            return []
        sizes = {src.size for src, _ in pairs}
        if len(sizes) > 1:  # one tensor per batch: split by source size
            return [self._render([p], register)[0] for p in pairs]
        h, w = sizes.pop()
        dev = torch.device(self.device)
        targets = [self.targets(src, drv, register) for src, drv in pairs]
        lengths = [len(t) for t in targets]
        frames = np.empty((sum(lengths), h, w, 3), np.uint8)
        starts = np.concatenate([[0], np.cumsum(lengths)])
        # Chunks of whole pairs, about batch_frames frames each.
        chunk: list[int] = []
        for p in range(len(pairs)):
            chunk.append(p)
            if sum(lengths[q] for q in chunk) >= self.options["batch_frames"] or p == len(pairs) - 1:
                with torch.no_grad():
                    self._warp_chunk([pairs[q][0] for q in chunk], [targets[q] for q in chunk],
                                     (h, w), dev, frames[starts[chunk[0]]:starts[chunk[-1] + 1]])
                chunk = []

        clips = []
        for (src, drv), target, s0 in zip(pairs, targets, starts):
            meta = {"generator": self.name, "source": src.meta.get("video_id"),
                    "driver": drv.meta.get("video_id")}
            clips.append(Clip(frames=frames[s0:s0 + len(target)], landmarks=target, meta=meta))
        return clips

    def _warp_chunk(self, sources: list[Clip], targets: list[np.ndarray], size: tuple[int, int],
                    dev: torch.device, out: np.ndarray) -> None:
        """Warp each source's frame 0 to its target landmarks into ``out`` uint8 [ΣT,H,W,3].

        One source at a time: its head anchors, face weight and image are shared by its frames,
        and its grids stay small enough for the cache."""
        import torch

        from .tps import flow_shape, tps_flow, upsample_flow, warp
        opt = self.options
        h, w = size
        s0 = 0
        for src, target in zip(sources, targets):
            t = len(target)
            lm = src.landmarks[0]
            pins = weight = None
            if opt["head_margin"] > 0:
                # Pinned: the relative transfer removes the driver's head motion, so these
                # points keep their source positions in every frame.
                pins = head_anchors(lm, opt["head_margin"])
                if opt["face_feather"] > 0:
                    weight = torch.from_numpy(face_weight(
                        pins, float(inter_ocular(lm)), size,
                        flow_shape(size, opt["flow_resolution"]), opt["face_feather"])).to(dev)
            flow = tps_flow(torch.from_numpy(target).to(dev),
                            torch.from_numpy(lm).to(dev), size,
                            lam=opt["lam"], anchors_per_side=opt["anchors_per_side"],
                            resolution=opt["flow_resolution"],
                            max_lambda_steps=opt["max_lambda_steps"],
                            pinned=None if pins is None else torch.from_numpy(pins).to(dev),
                            weight=weight)
            # Only the part of the image the motion reaches is resampled; the rest is the
            # source's (a zero displacement would sample exactly those pixels).
            rows, cols = (slice(0, h), slice(0, w)) if weight is None else moving_box(weight, size)
            frames = out[s0:s0 + t]
            if weight is not None:  # the still part, around the box, is the source's
                frames[:] = src.frames[0]
            if rows.stop > rows.start and cols.stop > cols.start:
                # One source image for T grids: expanded, not copied.
                img = torch.from_numpy(src.frames[0]).to(dev).permute(2, 0, 1)[None].float()
                res = warp(img.expand(t, -1, -1, -1), upsample_flow(flow, size)[:, rows, cols])
                if opt["mouth_fill"] > 0:
                    fill_mouth(res.transpose(0, 1), src.frames[0], lm, target, opt["mouth_fill"],
                               opt["mouth_open"], (rows, cols))
                # clamp, +0.5, truncate = round to nearest
                res = res.clamp_(0, 255).add_(0.5).to(torch.uint8).permute(0, 2, 3, 1)
                torch.from_numpy(frames[:, rows, cols]).copy_(res.cpu())
            s0 += t
