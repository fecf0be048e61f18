"""Instruments and fidelity measures of synthetic face videos (the motion-transfer papers' AKD,
MKR and AED, and expression fidelity).

Instruments measure landmarks on *images* (aligned face crops):

- :class:`DlibInstrument` (needs ``semaug[dlib]``): dlib's HOG detector + 68-point predictor on
  the crop upscaled to ``UPSCALE_TO`` px (the detector's window is 80 px; demo crops are 32-64),
  and dlib's face-recognition ResNet (128-d identity embedding, its chip cut from the 68-point
  shape). A crop where the detector finds no face is *missed* (MKR); its landmarks are then
  fitted in the box the detector gives for a template-aligned face, so AKD is still defined.
- :class:`RegressorInstrument`: the ridge regressor of :mod:`.landmark_regressor` (offline
  fallback; no misses, no identity embedding).

Measures (definitions in ``DEFINITIONS``): ``akd``, ``mkr``, ``aed`` (self-reenactment), identity
leakage of cross-identity videos (distance to the source and to the driver subject), and
expression fidelity: a logistic regression on landmark displacements (apex - neutral after
registration on the rigid points, by inter-ocular distance), trained on the fold's real training
videos and their mirror images only.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..dlib_models import (FACE_RECOGNITION, PREDICTOR_68, DlibUnavailable, dlib_available,
                           import_dlib, model_path)
from ..generators.motion import apply_similarity, register_frames, similarity_fit
from ..ibug import FLIP_PERMUTATION, RIGID_POINTS, inter_ocular
from .landmark_regressor import LandmarkRegressor

log = logging.getLogger(__name__)

UPSCALE_TO = 256  # crops are measured at this side (dlib's detector needs faces >= 80 px)
# Where dlib's HOG detector puts its box on a template-aligned face, in crop units
# (x0, y0, x1, y1): measured as the detector's box relative to the 68 points it fits
# (centroid ± 1.28/1.35/1.20/1.14 RMS radii, astronaut photograph at four poses) applied to
# MEAN_FACE (centroid (0.50, 0.58), RMS radius 0.239).
TEMPLATE_BOX = (0.19, 0.26, 0.79, 0.85)


@dataclass(frozen=True)
class Measured:
    landmarks: np.ndarray  # float32 [N, 68, 2], crop pixel coordinates
    found: np.ndarray  # bool [N]: the instrument found a face (always True for the regressor)


class LandmarkInstrument(Protocol):
    name: str

    def measure(self, frames: np.ndarray) -> Measured:
        """Landmarks on uint8 [N, S, S, 3] face crops."""
        ...


class RegressorInstrument:
    """The fold's ridge landmark regressor (trained on its training frames only)."""

    name = "ridge_regressor"

    def __init__(self, regressor: LandmarkRegressor) -> None:
        self.regressor = regressor

    def measure(self, frames: np.ndarray) -> Measured:
        return Measured(self.regressor.predict(frames), np.ones(len(frames), dtype=bool))


class DlibInstrument:
    """dlib's detector, 68-point predictor and face-recognition ResNet on face crops.

    Every fit and embedding is kept per crop content (a digest of its pixels), so a crop met
    twice is measured once, and :meth:`save_memo` / :meth:`load_memo` carry them to another job
    (the fold's real videos, measured once for all its makers: ``quality_reference``). The
    memo never changes a number: dlib is deterministic and a crop's fit depends on it alone.
    """

    name = "dlib"

    def __init__(self, threshold: float = 0.0) -> None:
        self.dlib = import_dlib()
        self.detector = self.dlib.get_frontal_face_detector()
        self.predictor = self.dlib.shape_predictor(str(model_path(PREDICTOR_68)))
        self._recognition_path = model_path(FACE_RECOGNITION)
        self._recognition: Any = None
        self.threshold = threshold
        # A quality job meets many crops more than once (copy-source stills, a video's first
        # frame, frames it both measures and embeds): ck_demo fold 0's monkeynet job ran the
        # detector 6,190 times without the memo, 3,765 with it (the job: 139 s -> 109 s).
        # About 1 KB a crop.
        self._fits: dict[bytes, _Fit] = {}
        self._embeddings: dict[bytes, np.ndarray] = {}
        self.detector_runs = 0

    @property
    def recognition(self) -> Any:
        """The 128-d face-recognition ResNet, loaded on first use."""
        if self._recognition is None:
            self._recognition = self.dlib.face_recognition_model_v1(str(self._recognition_path))
        return self._recognition

    @property
    def settings(self) -> str:
        """What a fit depends on besides the crop: a memo made under other settings is refused."""
        return (f"upscale {UPSCALE_TO}, template box {TEMPLATE_BOX}, threshold {self.threshold}, "
                f"{PREDICTOR_68}, {FACE_RECOGNITION}")

    @staticmethod
    def _key(frame: np.ndarray) -> bytes:
        """A crop's content: the digest of its pixels, shape and dtype (16 bytes)."""
        h = hashlib.blake2b(f"{frame.shape}{frame.dtype}".encode(), digest_size=16)
        h.update(np.ascontiguousarray(frame).tobytes())
        return h.digest()

    @staticmethod
    def _upscale(frame: np.ndarray) -> tuple[np.ndarray, float]:
        """(RGB crop upscaled to ``UPSCALE_TO``, factor)."""
        factor = max(1.0, UPSCALE_TO / frame.shape[0])
        big = frame if factor == 1.0 else cv2.resize(frame, None, fx=factor, fy=factor,
                                                     interpolation=cv2.INTER_CUBIC)
        return np.ascontiguousarray(big), factor

    def _fit(self, frame: np.ndarray, key: bytes | None = None) -> _Fit:
        """The detector + predictor on one crop (from the memo when it was met before)."""
        key = self._key(frame) if key is None else key
        if key in self._fits:
            return self._fits[key]
        big, factor = self._upscale(frame)
        grey = cv2.cvtColor(big, cv2.COLOR_RGB2GRAY)
        rects, _, _ = self.detector.run(grey, 0, self.threshold)
        self.detector_runs += 1
        if rects:
            rect = max(rects, key=lambda r: r.area())
        else:
            x0, y0, x1, y1 = (np.array(TEMPLATE_BOX) * big.shape[0]).round().astype(int)
            rect = self.dlib.rectangle(int(x0), int(y0), int(x1) - 1, int(y1) - 1)
        shape = self.predictor(grey, rect)
        fit = _Fit(np.array([(p.x, p.y) for p in shape.parts()], dtype=np.int32),
                   np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], dtype=np.int32),
                   bool(rects), factor)
        self._fits[key] = fit
        return fit

    def _shape(self, frame: np.ndarray, key: bytes | None = None
               ) -> tuple[Any, np.ndarray, bool, float]:
        """(dlib shape, upscaled RGB frame, face found, upscale factor) of one crop."""
        fit = self._fit(frame, key)
        big, _ = self._upscale(frame)
        d = self.dlib
        shape = d.full_object_detection(d.rectangle(*map(int, fit.rect)),
                                        d.points([d.point(int(x), int(y)) for x, y in fit.parts]))
        return shape, big, fit.found, fit.factor

    def measure(self, frames: np.ndarray) -> Measured:
        fits = [self._fit(frame) for frame in frames]
        # Upscaled pixel centre (i + 0.5) * factor - 0.5 -> back to crop pixels.
        points = [(f.parts.astype(np.float64) + 0.5) / f.factor - 0.5 for f in fits]
        return Measured(np.asarray(points, dtype=np.float32).reshape(len(fits), 68, 2),
                        np.array([f.found for f in fits], dtype=bool))

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """float64 [N, 128] identity embeddings (dlib: same person below ~0.6 apart)."""
        keys = [self._key(frame) for frame in frames]
        todo = {key: frame for key, frame in zip(keys, frames) if key not in self._embeddings}
        if todo:
            images, shapes = [], []
            for key, frame in todo.items():
                shape, big, _, _ = self._shape(frame, key)
                images.append(big)
                shapes.append(self.dlib.full_object_detections([shape]))
            # One batched call: the same descriptors as frame by frame (max difference 0 on
            # the astronaut photo) and ~15 % less time, since the ResNet runs once over the batch.
            batched = self.recognition.compute_face_descriptor(images, shapes)
            for key, faces in zip(todo, batched):
                self._embeddings[key] = np.asarray(faces[0], dtype=np.float64)
        return np.asarray([self._embeddings[key] for key in keys],
                          dtype=np.float64).reshape(len(frames), 128)

    def memo_counts(self) -> tuple[int, int]:
        """(crops fitted, crops embedded) in the memo."""
        return len(self._fits), len(self._embeddings)

    def save_memo(self, path: str | Path) -> None:
        """Every fit and embedding so far, as plain arrays (``np.load(allow_pickle=False)``)."""
        fit_keys = list(self._fits)
        fits = [self._fits[k] for k in fit_keys]
        emb_keys = list(self._embeddings)
        with atomic_path(path) as tmp:
            np.savez_compressed(
                tmp, settings=np.array(self.settings),
                fit_keys=_key_array(fit_keys),
                parts=np.array([f.parts for f in fits], dtype=np.int32).reshape(-1, 68, 2),
                rects=np.array([f.rect for f in fits], dtype=np.int32).reshape(-1, 4),
                found=np.array([f.found for f in fits], dtype=bool),
                factors=np.array([f.factor for f in fits], dtype=np.float64),
                embedding_keys=_key_array(emb_keys),
                embeddings=np.array([self._embeddings[k] for k in emb_keys],
                                    dtype=np.float64).reshape(-1, 128))

    def load_memo(self, path: str | Path) -> int:
        """Add the fits and embeddings of :meth:`save_memo`'s file; returns how many crops."""
        with np.load(path, allow_pickle=False) as d:
            if "settings" not in d:  # made where the ridge regressor measured: nothing to add
                return 0
            if str(d["settings"]) != self.settings:
                raise ValueError(f"{path}: dlib memo made with {str(d['settings'])!r}, this "
                                 f"instrument uses {self.settings!r}: delete the file to remake it")
            for key, parts, rect, found, factor in zip(d["fit_keys"], d["parts"], d["rects"],
                                                       d["found"], d["factors"]):
                self._fits.setdefault(key.tobytes(), _Fit(parts, rect, bool(found), float(factor)))
            for key, embedding in zip(d["embedding_keys"], d["embeddings"]):
                self._embeddings.setdefault(key.tobytes(), embedding)
            return int(len(d["fit_keys"]))


@dataclass(frozen=True)
class _Fit:
    """One crop's dlib fit: 68 integer points and the box, in upscaled pixels."""

    parts: np.ndarray  # int32 [68, 2]
    rect: np.ndarray  # int32 [4]: left, top, right, bottom (inclusive)
    found: bool  # the detector found the face (else the template box was used)
    factor: float  # upscale factor of the crop


def _key_array(keys: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)


def pick_instrument(choice: str, regressor: LandmarkRegressor) -> tuple[LandmarkInstrument, str]:
    """(instrument, why it was chosen) for ``choice`` in auto | dlib | ridge_regressor."""
    if choice not in ("auto", "dlib", "ridge_regressor"):
        raise ValueError(f"synthesis.instrument must be auto, dlib or ridge_regressor, got {choice!r}")
    if choice == "ridge_regressor":
        return RegressorInstrument(regressor), "chosen in the config"
    reason = dlib_available()
    if reason is None:
        return DlibInstrument(), "dlib installed"
    if choice == "dlib":
        raise DlibUnavailable(f"synthesis.instrument is dlib but {reason}")
    return RegressorInstrument(regressor), f"dlib unavailable: {reason}"


def spread(n_frames: int, k: int, start: int = 1) -> np.ndarray:
    """Up to ``k`` frame indices in [start, n_frames) spread evenly (0 = all)."""
    n = n_frames - start
    if n <= 0:
        return np.zeros(0, dtype=int)
    if k <= 0 or n <= k:
        return np.arange(start, n_frames)
    return start + np.linspace(0, n - 1, k).round().astype(int)


# ------------------------------------------------------------------------ keypoint distances

def akd_mkr(generated: Measured, real: Measured) -> tuple[float, float]:
    """(AKD: mean landmark distance over frames where both have a face; MKR: share of the
    frames with a face in the real frame but none in the generated one)."""
    both = generated.found & real.found
    akd = (float(np.linalg.norm(generated.landmarks[both] - real.landmarks[both], axis=-1).mean())
           if both.any() else float("nan"))
    mkr = float((real.found & ~generated.found).sum() / max(1, real.found.sum()))
    return akd, mkr


def registered_akd(generated: Measured, real: Measured) -> float:
    """AKD after similarity-aligning each generated frame's landmarks onto the real frame's on
    ``RIGID_POINTS``: the expression part of the error. The generators register head motion
    out of the driver by design (``register``), so in self-reenactment FOMM's AKD also counts
    the head motion and crop framing they were told not to copy (ck_demo fold 0, dlib:
    landmark_warp 13 % below copy-source in AKD, 28 % registered)."""
    both = generated.found & real.found
    if not both.any():
        return float("nan")
    gen, ref = generated.landmarks[both].astype(np.float64), real.landmarks[both].astype(np.float64)
    rigid = list(RIGID_POINTS)
    aligned = apply_similarity(*similarity_fit(gen[:, rigid], ref[:, rigid]), gen)
    return float(np.linalg.norm(aligned - ref, axis=-1).mean())


def aed(generated: np.ndarray, real: np.ndarray) -> float:
    """Mean Euclidean distance between paired identity embeddings [N, 128]."""
    return float(np.linalg.norm(generated - real, axis=-1).mean())


# ------------------------------------------------------------------------- identity leakage

def identity_leakage(embedding: np.ndarray, source_ref: np.ndarray, driver_ref: np.ndarray
                     ) -> dict[str, float | bool]:
    """Distances of one synthetic video's identity (mean embedding [128]) to its source
    and driver subjects' references, and whether the driver is the closer one."""
    to_source = float(np.linalg.norm(embedding - source_ref))
    to_driver = float(np.linalg.norm(embedding - driver_ref))
    return {"to_source": to_source, "to_driver": to_driver, "closer_to_driver": to_driver < to_source}


def subject_references(instrument: DlibInstrument, videos: pd.DataFrame,
                       load: Any) -> dict[str, np.ndarray]:
    """Per subject: the mean embedding of the first (neutral) frame of each of its videos."""
    refs: dict[str, list[np.ndarray]] = {}
    for _, row in videos.iterrows():
        clip = load(row["path"])
        refs.setdefault(str(row["subject"]), []).append(instrument.embed(clip.frames[:1])[0])
    return {s: np.mean(v, axis=0) for s, v in refs.items()}


# --------------------------------------------------------------------- expression fidelity

def expression_features(landmarks: np.ndarray) -> np.ndarray:
    """[T, 68, 2] measured landmarks -> [136]: the apex frame's displacement from frame 0 (the
    apex is the frame that moved most), divided by frame 0's inter-ocular distance.

    Every frame is first similarity-registered onto frame 0 on ``RIGID_POINTS`` (eye corners,
    nasion), as the generators register their drivers: what is left is expression, not head
    motion or how the crop was framed. Unregistered, the framing carries the class (on ck_demo
    fold 0, dlib: the rigid motion alone names 36 % of the real test videos, chance 14 %), and
    the probe marks down every video made with registered motion: landmark_warp 39 % against
    78 % registered, real test videos 98 % and 91 %, classic 94 % and 87 %.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    aligned = register_frames(landmarks, 0, RIGID_POINTS)
    moved = aligned - aligned[:1]
    apex = int(np.linalg.norm(moved, axis=-1).mean(axis=-1).argmax())
    scale = max(float(inter_ocular(landmarks[0])), 1e-6)
    return (moved[apex] / scale).reshape(-1)


def mirrored_features(features: np.ndarray) -> np.ndarray:
    """Expression features [..., 136] of the mirrored faces: left and right landmarks swapped
    (``FLIP_PERMUTATION``), horizontal displacements negated."""
    f = np.asarray(features).reshape(*np.shape(features)[:-1], 68, 2)[..., FLIP_PERMUTATION, :]
    return (f * np.array([-1.0, 1.0])).reshape(np.shape(features))


def clip_features(instrument: LandmarkInstrument, frames: np.ndarray, n_frames: int) -> np.ndarray:
    """Expression features of one video from ``n_frames`` frames spread over it (first included)."""
    idx = np.unique(np.concatenate([[0], spread(len(frames), n_frames - 1, start=1)]))
    return expression_features(instrument.measure(frames[idx]).landmarks)


class ExpressionProbe:
    """Logistic regression on expression features, fit on real training videos only."""

    def __init__(self, c: float = 1.0) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.model = make_pipeline(StandardScaler(), LogisticRegression(
            C=c, max_iter=2000, class_weight="balanced"))

    def fit(self, features: np.ndarray, labels: Iterable[str], *, mirror: bool = True
            ) -> ExpressionProbe:
        """Fit on real videos' features; with ``mirror``, on their mirror images too: a mirrored
        face shows the same expression (the classic scenario flips videos, and a one-sided
        expression such as contempt occurs on either side)."""
        labels = np.asarray(list(labels))
        if len(set(labels)) < 2:
            raise ValueError(f"expression fidelity needs >= 2 classes of training videos, got "
                             f"{sorted(set(labels))}")
        if mirror:
            features = np.concatenate([features, mirrored_features(features)])
            labels = np.concatenate([labels, labels])
        self.model.fit(features, labels)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return self.model.predict(features) if len(features) else np.zeros(0, dtype=object)


def hit_rates(predicted: Iterable[str], intended: Iterable[str]) -> dict[str, Any]:
    """Share of videos assigned to their intended class: per class, over all, class mean."""
    frame = pd.DataFrame({"p": list(predicted), "t": list(intended)})
    if frame.empty:
        return {"overall": None, "class_mean": None, "per_class": {}, "n": 0}
    frame["hit"] = frame["p"] == frame["t"]
    per = frame.groupby("t")["hit"].mean()
    return {"overall": float(frame["hit"].mean()), "class_mean": float(per.mean()),
            "per_class": {str(k): float(v) for k, v in per.items()}, "n": int(len(frame)),
            "n_per_class": {str(k): int(v) for k, v in frame.groupby("t").size().items()}}
