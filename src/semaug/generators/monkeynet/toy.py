"""Procedural toy face videos for tests and benchmarks (cf. Monkey-Net's "shapes" data):
a coloured face disc on a gradient background, with eyes and a mouth that opens and a head
that drifts over the clip. Fast to render, deterministic from a seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...clip import Clip, save_clip
from ...ibug import MEAN_FACE


def toy_clip(rng: np.random.Generator, n_frames: int = 8, size: int = 32) -> Clip:
    """One video: uint8 frames [T, size, size, 3] and matching (approximate) landmarks."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)  # [S, S] in [0, 1]
    bg_a, bg_b, skin, feature = (rng.uniform(0, 1, 3) for _ in range(4))
    radius = rng.uniform(0.28, 0.36)
    start, shift = rng.uniform(0.45, 0.55, 2), rng.uniform(-0.08, 0.08, 2)
    mouth_max = rng.uniform(0.04, 0.09)
    frames, landmarks = [], []
    for t in range(n_frames):
        a = t / max(n_frames - 1, 1)  # neutral -> apex, as in CK+
        cx, cy = start + a * shift
        img = bg_a * (1 - yy[..., None]) + bg_b * yy[..., None]
        face = (xx - cx) ** 2 + (yy - cy) ** 2 < radius**2
        img[face] = skin
        for ex in (-0.4, 0.4):
            eye = (xx - cx - ex * radius) ** 2 + (yy - cy + 0.25 * radius) ** 2 < (0.13 * radius) ** 2
            img[eye] = feature
        mouth_h = 0.02 + a * mouth_max
        mouth = ((xx - cx) / (0.45 * radius)) ** 2 + ((yy - cy - 0.45 * radius) / mouth_h) ** 2 < 1
        img[mouth] = 1 - feature
        frames.append(np.clip(img * 255 + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8))
        lm = (MEAN_FACE - 0.5) * (2 * radius) + [cx, cy]
        landmarks.append(lm * (size - 1))
    return Clip(np.stack(frames), np.asarray(landmarks, np.float32), {"toy": True})


def write_toy_folds(root: str | Path, *, subjects: int = 6, videos_per_subject: int = 2, n_folds: int = 3,
                    n_frames: int = 8, size: int = 32, seed: int = 0) -> Path:
    """Clips under ``root/clips`` and a folds.csv (subject s in fold s % n_folds); returns its path."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(subjects):
        for v in range(videos_per_subject):
            vid = f"S{s:03d}_{v:03d}"
            path = save_clip(root / "clips" / f"{vid}.npz", toy_clip(rng, n_frames, size))
            rows.append({"video_id": vid, "subject": f"{s:03d}", "label": "happy", "path": str(path),
                         "fold": s % n_folds})
    table = root / "folds.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    return table
