"""Similarity alignment of a face video onto the canonical template.

Conventions: landmarks are (x, y) pixel coordinates with pixel centres on integers (OpenCV's
convention), so a landmark mapped by the crop's 2×3 matrix lands on the pixel that the warp
fills from it. A matrix maps image coordinates to crop coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from skimage.transform import SimilarityTransform

from ..ibug import MEAN_FACE, alignment_points

# Temporal smoothing of the per-frame transforms, in frames (0 = independent per frame).
# Landmark noise (FAN's especially) makes a per-frame transform shake the crop by a pixel or
# two; a small Gaussian over time removes that jitter while following real head motion.
SMOOTH_SIGMA_FRAMES = 1.5


@dataclass(frozen=True)
class AlignedFaces:
    frames: np.ndarray  # uint8 [T, S, S, C] aligned crops
    landmarks: np.ndarray  # float32 [T, 68, 2] crop pixel coordinates
    matrices: np.ndarray  # float64 [T, 2, 3] image -> crop, as applied


def template_landmarks(size: int) -> np.ndarray:
    """The canonical face in crop pixel coordinates, float64 [68, 2]."""
    return MEAN_FACE * size


def template_points(size: int) -> np.ndarray:
    """Where the alignment points (eye centres, nose tip, mouth corners) go, [5, 2]."""
    return alignment_points(template_landmarks(size))


EYE_WEIGHT = 4


def estimate_transforms(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Least-squares similarity per frame mapping the alignment points onto the template.

    landmarks: [T, 68, 2] image coordinates -> float64 [T, 2, 3] image -> crop matrices.
    """
    # The eye centres are counted EYE_WEIGHT times: a face shaped unlike the template then
    # keeps its eyes on the template's eyes (what downstream stages rely on) and spreads the
    # misfit over the nose and mouth.
    repeat = [EYE_WEIGHT, EYE_WEIGHT, 1, 1, 1]
    target = np.repeat(template_points(size), repeat, axis=0)
    sources = np.repeat(alignment_points(np.asarray(landmarks, dtype=np.float64)), repeat, axis=1)
    matrices = np.empty((len(sources), 2, 3))
    for t, source in enumerate(sources):
        estimate = SimilarityTransform.from_estimate(source, target)
        if not estimate or not np.isfinite(estimate.params).all():
            raise ValueError(f"frame {t}: no similarity fits its landmarks ({estimate})")
        matrices[t] = estimate.params[:2]
    return matrices


def smooth_transforms(matrices: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over time of [T, 2, 3] similarity matrices.

    Similarity matrices [[a, -b, tx], [b, a, ty]] form a linear space, so a weighted mean of
    them is again a similarity, and it maps every point to the weighted mean of where the
    individual frames' transforms map it.
    """
    if sigma <= 0 or len(matrices) < 2:
        return matrices.copy()
    return gaussian_filter1d(matrices, sigma, axis=0, mode="nearest")


def transform_points(points: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Apply [T, 2, 3] matrices to [T, N, 2] points (or one [2, 3] to [N, 2])."""
    linear, shift = matrices[..., :2], matrices[..., 2]
    return np.einsum("...ij,...nj->...ni", linear, points) + shift[..., None, :]


def reduction_factor(matrix: np.ndarray) -> int:
    """Whole number of source pixels per crop pixel (per axis) that the matrix shrinks by."""
    scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    return max(1, int(1.0 / scale)) if scale > 0 else 1


def source_window(matrix: np.ndarray, size: int, shape: tuple[int, ...], margin: int,
                  ) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the part of a frame of ``shape`` that an S×S crop reads, plus margin."""
    inverse = cv2.invertAffineTransform(matrix)
    corners = transform_points(np.array([[-1.0, -1.0], [size, -1.0], [-1.0, size], [size, size]]),
                               inverse)
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + margin + 1
    height, width = shape[:2]
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)


def warp_face(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warp one uint8 frame [H, W(, C)] by an image -> crop matrix into a [S, S(, C)] crop.

    Bilinear sampling alone aliases when the face is shrunk several times (CK+ faces are
    ~8x the default crop). So the part of the frame the crop reads is first box-averaged by
    the whole factor m it shrinks by (cv2.INTER_AREA, integer-factor fast path), and the
    bilinear warp only does the rest (a factor < 2). Outside the frame is black.
    """
    m = reduction_factor(matrix)
    x0, y0, x1, y1 = source_window(matrix, size, frame.shape, margin=2 * m)
    x1, y1 = x0 + (x1 - x0) // m * m, y0 + (y1 - y0) // m * m  # whole m×m blocks only
    if x1 <= x0 or y1 <= y0:  # the crop lies entirely outside the frame
        return np.zeros((size, size, *frame.shape[2:]), dtype=frame.dtype)
    region = frame[y0:y1, x0:x1]
    if m > 1:
        region = cv2.resize(region, ((x1 - x0) // m, (y1 - y0) // m),
                            interpolation=cv2.INTER_AREA)
    # Region pixel x is the mean of frame pixels x0 + m*x .. x0 + m*x + m-1: centre below.
    region_to_frame = np.array([[m, 0.0, x0 + (m - 1) / 2], [0.0, m, y0 + (m - 1) / 2],
                                [0.0, 0.0, 1.0]])
    crop = cv2.warpAffine(region, matrix @ region_to_frame, (size, size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop.reshape(size, size, *frame.shape[2:])


def align_video(frames: np.ndarray, landmarks: np.ndarray, size: int,
                smooth_sigma: float = SMOOTH_SIGMA_FRAMES) -> AlignedFaces:
    """Align every frame of a video on the template and map its landmarks the same way.

    frames: uint8 [T, H, W, C]; landmarks: [T, 68, 2] image coordinates.
    """
    if len(frames) != len(landmarks):
        raise ValueError(f"{len(frames)} frames but {len(landmarks)} landmark sets")
    matrices = smooth_transforms(estimate_transforms(landmarks, size), smooth_sigma)
    crops = np.stack([warp_face(frame, matrix, size) for frame, matrix in zip(frames, matrices)])
    crop_landmarks = transform_points(np.asarray(landmarks, dtype=np.float64), matrices)
    return AlignedFaces(crops, crop_landmarks.astype(np.float32), matrices)


def resize_video(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize frames that are already face crops to [T, S, S, C] (aspect not kept)."""
    shrinking = frames.shape[1] * frames.shape[2] > size * size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = [cv2.resize(np.ascontiguousarray(f), (size, size), interpolation=interpolation)
               for f in frames]
    # cv2 drops a channel axis of length 1; restore the input's layout.
    return np.stack(resized).reshape(len(frames), size, size, *frames.shape[3:])
