"""The 68-point iBUG landmark scheme: index groups, the left/right flip permutation and a
canonical mean face used as the alignment template and by the demo renderer.

Coordinates are (x, y) with y pointing down, in units of the square face crop ([0, 1]).
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 68

JAW = slice(0, 17)
RIGHT_BROW = slice(17, 22)  # subject's right = image left
LEFT_BROW = slice(22, 27)
NOSE_BRIDGE = slice(27, 31)
NOSE_BOTTOM = slice(31, 36)
RIGHT_EYE = slice(36, 42)
LEFT_EYE = slice(42, 48)
OUTER_LIPS = slice(48, 60)
INNER_LIPS = slice(60, 68)

NOSE_TIP = 30
MOUTH_CORNERS = (48, 54)
# Points that barely move with expression: eye corners and the nose. Used to register
# frames of one video to each other before measuring expression motion.
STABLE_POINTS = (36, 39, 42, 45, 27, 28, 29, 30, 31, 33, 35)
# Eye corners and the upper nose bridge (nasion): the points no action unit moves. The lower
# nose (29-35) in ``STABLE_POINTS`` rises with the nose wrinkler and upper-lip raiser (AU9/AU10,
# disgust); registering on it turns that into a fake head motion that shifts the whole face.
RIGID_POINTS = (36, 39, 42, 45, 27, 28)


def _mirror_index(i: int) -> int:
    """iBUG index of the point that takes i's place under a horizontal flip."""
    if i < 17:
        return 16 - i
    if i < 27:
        return 43 - i  # 17<->26, 21<->22
    if i < 31:
        return i
    if i < 36:
        return 66 - i  # 31<->35, 33 fixed
    if i < 48:
        # eyes: 36..41 <-> 45,44,43,42,47,46
        table = {36: 45, 37: 44, 38: 43, 39: 42, 40: 47, 41: 46}
        table.update({v: k for k, v in table.items()})
        return table[i]
    if i < 60:
        table = {48: 54, 49: 53, 50: 52, 51: 51, 55: 59, 56: 58, 57: 57}
        table.update({v: k for k, v in table.items()})
        return table[i]
    table = {60: 64, 61: 63, 62: 62, 65: 67, 66: 66}
    table.update({v: k for k, v in table.items()})
    return table[i]


FLIP_PERMUTATION = np.array([_mirror_index(i) for i in range(N_LANDMARKS)], dtype=np.int64)


def _mean_face() -> np.ndarray:
    pts = np.zeros((N_LANDMARKS, 2), dtype=np.float64)
    phi = np.linspace(0.0, np.pi, 17)
    pts[JAW] = np.stack([0.5 - 0.32 * np.cos(phi), 0.45 + 0.45 * np.sin(phi)], axis=1)
    brow_x = np.linspace(0.23, 0.45, 5)
    brow_y = 0.335 - 0.025 * np.sin(np.linspace(0.15, np.pi - 0.6, 5))
    pts[RIGHT_BROW] = np.stack([brow_x, brow_y], axis=1)
    pts[NOSE_BRIDGE] = np.stack([np.full(4, 0.5), np.linspace(0.40, 0.56, 4)], axis=1)
    pts[NOSE_BOTTOM] = [[0.44, 0.600], [0.47, 0.615], [0.50, 0.620], [0.53, 0.615], [0.56, 0.600]]
    pts[RIGHT_EYE] = [[0.29, 0.400], [0.32, 0.385], [0.38, 0.385], [0.41, 0.400], [0.38, 0.413],
                      [0.32, 0.413]]
    pts[OUTER_LIPS] = [[0.39, 0.720], [0.43, 0.700], [0.47, 0.685], [0.50, 0.690], [0.53, 0.685],
                       [0.57, 0.700], [0.61, 0.720], [0.57, 0.745], [0.53, 0.760], [0.50, 0.765],
                       [0.47, 0.760], [0.43, 0.745]]
    pts[INNER_LIPS] = [[0.41, 0.720], [0.46, 0.715], [0.50, 0.717], [0.54, 0.715], [0.59, 0.720],
                       [0.54, 0.725], [0.50, 0.727], [0.46, 0.725]]
    # The left brow and eye are mirror images of the right ones.
    for left in (LEFT_BROW, LEFT_EYE):
        idx = range(left.start, left.stop)
        pts[left] = pts[[_mirror_index(i) for i in idx]] * [-1, 1] + [1, 0]
    return pts


MEAN_FACE: np.ndarray = _mean_face()
"""float64 [68, 2], canonical face in unit crop coordinates (eyes at y=0.40, 0.30 apart)."""


def eye_centres(landmarks: np.ndarray) -> np.ndarray:
    """[..., 68, 2] -> [..., 2, 2]: centres of the subject's right and left eye."""
    return np.stack([landmarks[..., RIGHT_EYE, :].mean(-2), landmarks[..., LEFT_EYE, :].mean(-2)],
                    axis=-2)


def inter_ocular(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the eye centres, [..., 68, 2] -> [...]."""
    eyes = eye_centres(landmarks)
    return np.linalg.norm(eyes[..., 1, :] - eyes[..., 0, :], axis=-1)


def alignment_points(landmarks: np.ndarray) -> np.ndarray:
    """The points used to align a face on the template: eye centres, nose tip, mouth corners.

    [..., 68, 2] -> [..., 5, 2]
    """
    return np.concatenate(
        [eye_centres(landmarks), landmarks[..., [NOSE_TIP], :], landmarks[..., MOUTH_CORNERS, :]],
        axis=-2,
    )
