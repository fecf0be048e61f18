"""Relative landmark motion transfer (FOMM's relative rule), shared by every generator.

The driving video's expression motion is measured against its own first frame after
registering each frame to frame 0 on points that barely move with expression (eye corners,
nose), so head motion is not mistaken for expression. That motion, rescaled from the driver's
face size to the source's, is added to the source's landmarks.
"""

from __future__ import annotations

import numpy as np

from ..ibug import STABLE_POINTS, eye_centres, inter_ocular


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity (Umeyama, no reflection) taking ``src`` onto ``dst``.

    src, dst: [..., N, 2] -> (A [..., 2, 2] = scale * rotation, b [..., 2]) with dst ≈ src @ A.T + b.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(-2, keepdims=True), dst.mean(-2, keepdims=True)
    s, d = src - mu_s, dst - mu_d
    # For 2-D similarities the optimum has a closed form: A = [[a, -c], [c, a]].
    denom = np.maximum((s**2).sum((-1, -2)), 1e-12)
    a = (s * d).sum((-1, -2)) / denom
    c = (s[..., 0] * d[..., 1] - s[..., 1] * d[..., 0]).sum(-1) / denom
    A = np.stack([np.stack([a, -c], -1), np.stack([c, a], -1)], -2)
    b = mu_d[..., 0, :] - np.einsum("...ij,...j->...i", A, mu_s[..., 0, :])
    return A, b


def apply_similarity(A: np.ndarray, b: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points [..., N, 2] mapped by similarities (A [..., 2, 2], b [..., 2]) as
    :func:`similarity_fit` returns them: x -> A x + b."""
    return np.einsum("...ij,...nj->...ni", A, points) + b[..., None, :]


def register_to(landmarks: np.ndarray, reference: int, stable: tuple[int, ...] | list[int]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Similarities (A [T,2,2], b [T,2]) taking each frame of landmarks [T,68,2] onto frame
    ``reference`` on the ``stable`` points (the identity at the reference frame itself)."""
    stable = list(stable)
    ref = landmarks[reference]
    return similarity_fit(landmarks[:, stable], np.broadcast_to(ref[stable], (len(landmarks), len(stable), 2)))


def register_frames(landmarks: np.ndarray, reference: int, stable: tuple[int, ...] | list[int]
                    ) -> np.ndarray:
    """Landmarks [T,68,2] with every frame similarity-aligned onto frame ``reference`` on the
    ``stable`` points: head motion removed, expression motion kept."""
    A, b = register_to(landmarks, reference, stable)
    return apply_similarity(A, b, landmarks)


def transfer_landmarks(source_lm: np.ndarray, driving_lm: np.ndarray,
                       stable: tuple[int, ...] | list[int] = STABLE_POINTS, *, reference: int = 0,
                       register: bool = True) -> np.ndarray:
    """Target landmarks for animating the source with the driver's relative motion.

    source_lm: [68,2] (source frame 0), driving_lm: [T,68,2] -> target: float32 [T,68,2].
    Each driving frame is similarity-aligned to driving frame ``reference`` (default 0) on
    ``stable`` (default ``STABLE_POINTS``; see ``ibug.RIGID_POINTS`` for a set that expressions
    never move; ``register=False`` skips the alignment, so head motion is transferred too);
    d_t = aligned L_t - L_ref is rotated by the angle between the two faces' eye axes, scaled by
    the inter-ocular ratio source/driver, and added to the source: target_t = L_src + d_t.
    The target at the reference frame is therefore exactly the source's landmarks.
    """
    source_lm = np.asarray(source_lm, dtype=np.float64)
    driving_lm = np.asarray(driving_lm, dtype=np.float64)
    if source_lm.shape != (68, 2) or driving_lm.ndim != 3 or driving_lm.shape[1:] != (68, 2):
        raise ValueError(f"expected [68,2] and [T,68,2], got {source_lm.shape}, {driving_lm.shape}")
    if not 0 <= reference < len(driving_lm):
        raise ValueError(f"reference frame {reference} outside the driver's {len(driving_lm)} frames")
    ref = driving_lm[reference]
    aligned = register_frames(driving_lm, reference, stable) if register else driving_lm
    motion = aligned - ref  # [T,68,2], exactly 0 at t = reference

    # Express the motion in the source's frame: same rotation and scale as source vs driver.
    eye_d, eye_s = eye_centres(ref), eye_centres(source_lm)
    ang = np.arctan2(*(eye_s[1] - eye_s[0])[::-1]) - np.arctan2(*(eye_d[1] - eye_d[0])[::-1])
    scale = float(inter_ocular(source_lm) / max(float(inter_ocular(ref)), 1e-6))
    rot = scale * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    return (source_lm[None] + motion @ rot.T).astype(np.float32)


def normalised_shape(landmarks: np.ndarray) -> np.ndarray:
    """[..., N, 2] -> the same points centred and divided by sqrt(convex-hull area): a shape
    without position or size (FOMM's find_best_frame normalisation)."""
    from scipy.spatial import ConvexHull

    pts = np.asarray(landmarks, dtype=np.float64)
    centred = pts - pts.mean(-2, keepdims=True)
    flat = centred.reshape(-1, *pts.shape[-2:])
    # ConvexHull(...).volume is the area in 2-D.
    areas = np.array([np.sqrt(max(ConvexHull(p).volume, 1e-12)) for p in flat])
    return (flat / areas[:, None, None]).reshape(pts.shape)


def best_matching_frame(source_lm: np.ndarray, driving_lm: np.ndarray) -> int:
    """Index of the driving frame [T,68,2] whose normalised landmarks are nearest (sum of squared
    differences) the source's [68,2]: FOMM's --find_best_frame. Animating relative to it
    instead of frame 0 keeps relative transfer right when the driver starts in another pose or
    expression than the source."""
    src = normalised_shape(np.asarray(source_lm)[None])[0]
    drv = normalised_shape(np.asarray(driving_lm))
    return int(((drv - src) ** 2).sum((-1, -2)).argmin())
