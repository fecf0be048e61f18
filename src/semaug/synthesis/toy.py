"""Tiny procedural face clips and fold tables for tests and benchmarks (not the demo).

A face is drawn from its 68 landmarks (skin ellipse, dark eyes/brows/lips as Gaussian blobs),
so landmark motion is visible in the pixels and a warp can be checked against it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..clip import Clip, save_clip
from ..ibug import INNER_LIPS, LEFT_BROW, MEAN_FACE, OUTER_LIPS, RIGHT_BROW

# Apex displacement per class, in unit crop coordinates (y down).
_EXPRESSIONS: dict[str, list[tuple[int | slice, tuple[float, float]]]] = {
    "happy": [(48, (-0.03, -0.03)), (54, (0.03, -0.03))],
    "surprise": [(RIGHT_BROW, (0, -0.04)), (LEFT_BROW, (0, -0.04)), (slice(56, 59), (0, 0.05)),
                 (slice(65, 68), (0, 0.05))],
    "sadness": [(48, (0.0, 0.03)), (54, (0.0, 0.03)), (21, (0, -0.02)), (22, (0, -0.02))],
    "anger": [(RIGHT_BROW, (0.01, 0.03)), (LEFT_BROW, (-0.01, 0.03))],
}


def expression_landmarks(label: str, n_frames: int) -> np.ndarray:
    """Unit-coordinate landmarks [T,68,2] moving from neutral to the class's apex."""
    apex = MEAN_FACE.copy()
    for where, (dx, dy) in _EXPRESSIONS.get(label, []):
        apex[where] += (dx, dy)
    t = np.linspace(0.0, 1.0, n_frames)[:, None, None]
    return MEAN_FACE[None] * (1 - t) + apex[None] * t


def draw_face(landmarks: np.ndarray, size: int, tone: float = 0.8) -> np.ndarray:
    """uint8 [S,S,3] face image from pixel landmarks [68,2]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = np.empty((size, size, 3), np.float32)
    img[:] = (0.25 + 0.3 * yy / size)[..., None] * np.array([0.6, 0.7, 1.0])  # background
    centre = landmarks[:, :].mean(0)
    rx = (landmarks[16, 0] - landmarks[0, 0]) / 2 + 1
    ry = (landmarks[8, 1] - landmarks[19, 1]) / 2 + 1
    face = ((xx - centre[0]) / rx) ** 2 + ((yy - centre[1]) / ry) ** 2 < 1
    img[face] = np.array([tone, 0.65 * tone, 0.5 * tone])
    dark = np.zeros((size, size), np.float32)
    sigma = max(size / 64, 0.6)
    for i in [*range(17, 27), *range(36, 48), *range(OUTER_LIPS.start, INNER_LIPS.stop), 30]:
        x, y = landmarks[i]
        dark = np.maximum(dark, np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2)))
    img *= 1 - 0.8 * dark[..., None]
    return (img.clip(0, 1) * 255).round().astype(np.uint8)


def toy_clip(label: str, *, size: int = 64, n_frames: int = 8, seed: int = 0) -> Clip:
    """A clip of one toy identity (face scale, position, tone from ``seed``) showing ``label``."""
    rng = np.random.default_rng(seed)
    scale = size * rng.uniform(0.85, 1.0)
    offset = (size - scale) / 2 + rng.uniform(-1, 1, 2) * size * 0.03
    lm = (expression_landmarks(label, n_frames) * scale + offset).astype(np.float32)
    tone = float(rng.uniform(0.6, 0.95))
    frames = np.stack([draw_face(l, size, tone) for l in lm])
    return Clip(frames=frames, landmarks=lm, meta={"label": label})


def toy_folds(root: str | Path, counts: dict[str, int], *, n_subjects: int = 6,
              n_folds: int = 3, size: int = 32, n_frames: int = 6) -> pd.DataFrame:
    """Write toy clips under ``root`` and return a folds table (columns as ``folds.csv``).

    Videos of class c are spread round-robin over subjects; subject i is in fold i % n_folds.
    """
    root = Path(root)
    rows = []
    j = 0
    for label, n in counts.items():
        for _ in range(n):
            subject = f"{j % n_subjects:03d}"
            vid = f"S{subject}_{label}_{j:03d}"
            path = root / "clips" / f"{vid}.npz"
            save_clip(path, toy_clip(label, size=size, n_frames=n_frames, seed=int(subject)))
            rows.append({"video_id": vid, "subject": subject, "label": label, "n_frames": n_frames,
                         "source": "toy", "landmarks_source": "toy", "fps": 10.0,
                         "path": str(path), "preview": "", "n_missing": 0,
                         "fold": int(subject) % n_folds})
            j += 1
    return pd.DataFrame(rows)


def toy_synthesis_fold(root: str | Path, counts: dict[str, int], *, n_frames: int,
                       previews: bool | int = False) -> pd.DataFrame:
    """A toy fold 0 under ``root`` rendered as the workflow would: folds.csv, the plan
    (plan.csv, targets.csv) and the landmark_warp (lw.csv, lw/) and classic (classic.csv,
    cl/) videos; returns the folds table."""
    from .plan import plan_file
    from .render import synthesize_file

    root = Path(root)
    folds = toy_folds(root, counts, n_subjects=6, size=32, n_frames=n_frames)
    folds.to_csv(root / "folds.csv", index=False)
    f, plan = str(root / "folds.csv"), str(root / "plan.csv")
    plan_file(f, 0, plan, str(root / "targets.csv"))
    for name, table, clips, shown in (("landmark_warp", "lw.csv", "lw", previews),
                                      ("classic", "classic.csv", "cl", False)):
        synthesize_file(name, {}, f, 0, plan, str(root / table), str(root / clips), device="cpu",
                        previews=shown)
    return folds
