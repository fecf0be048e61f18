"""Faces-stage speed: frames/s of decode + align + crop + landmarks vs plain PNG decoding.

    .venv/bin/python benchmarks/crop_speed.py FRAME_DIR [LANDMARK_DIR] [--size 64] [--repeats 10]
    .venv/bin/python benchmarks/crop_speed.py --demo      # renders a small CK+ demo to time on

FRAME_DIR holds one sequence's PNG frames (CK+: 640×490 greyscale), LANDMARK_DIR its per-frame
`<stem>_landmarks.txt` files (CK+ `Landmarks/...`; default: FRAME_DIR). The crop stage is timed
as the workflow runs it (`semaug.faces.crop_video` with the `dataset` backend: the loaders'
`read_frames` + `read_landmarks`, similarity alignment, warp, landmark mapping); the clip's npz
and the mp4 preview are timed separately. Target: stage fps >= 0.7 x plain-decode fps.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from semaug.clip import save_clip
from semaug.datasets import read_frames, read_landmarks
from semaug.faces.align import align_video
from semaug.faces.backends import DatasetBackend
from semaug.faces.crop import crop_video, preview_frames
from semaug.video import write_video

TARGET_RATIO = 0.7


@dataclass(frozen=True)
class CropSpeed:
    n_frames: int
    size: int
    seconds: dict[str, float]  # best wall time per step, whole sequence

    def fps(self, step: str) -> float:
        return self.n_frames / self.seconds[step]

    @property
    def ratio(self) -> float:
        """Crop-stage fps / plain-decode fps (the target is >= 0.7)."""
        return self.fps("crop stage") / self.fps("plain decode")

    def report(self) -> str:
        lines = [f"faces crop stage, {self.n_frames} frames -> {self.size}x{self.size} "
                 f"(best of the repeats, ms/frame and frames/s):"]
        for step, seconds in self.seconds.items():
            lines.append(f"  {step:<34} {1e3 * seconds / self.n_frames:7.2f} ms  "
                         f"{self.n_frames / seconds:8.1f} fps")
        verdict = "meets" if self.ratio >= TARGET_RATIO else "misses"
        lines.append(f"  ratio crop stage / plain decode: {self.ratio:.2f} "
                     f"({verdict} the {TARGET_RATIO} target)")
        with_npz = self.seconds["plain decode"] / (self.seconds["crop stage"]
                                                  + self.seconds["npz write (save_clip)"])
        lines.append(f"  ratio counting the npz write too: {with_npz:.2f}")
        return "\n".join(lines)


def sequence_row(frame_dir: Path, landmark_dir: Path) -> dict[str, Any]:
    """An index row (as semaug.datasets writes them) for one frame folder."""
    return {"video_id": frame_dir.name, "subject": "bench", "label": "bench",
            "n_frames": len(list(frame_dir.glob("*.png"))), "source": str(frame_dir),
            "landmarks_source": str(landmark_dir), "fps": 30.0}


def best_times(steps: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Least wall time of each step over ``repeats`` rounds. The steps take turns within a
    round, so on a shared machine every step sees the same spells of competing load."""
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def measure_crop_speed(frame_dir: str | Path, landmark_dir: str | Path | None = None, *,
                       size: int = 64, repeats: int = 10) -> CropSpeed:
    """Time the faces stage on one sequence against plain decoding of its PNG files."""
    frame_dir = Path(frame_dir)
    landmark_dir = Path(landmark_dir) if landmark_dir is not None else frame_dir
    files = [str(p) for p in sorted(frame_dir.glob("*.png"))]
    if not files:
        raise FileNotFoundError(f"no PNG frames in {frame_dir}")
    row = sequence_row(frame_dir, landmark_dir)
    backend = DatasetBackend()
    frames, landmarks = read_frames(row), read_landmarks(row)
    clip = crop_video(row, backend, size=size, max_missing=0.0).clip
    steps: dict[str, Callable[[], object]] = {
        # The cheapest plain decode (OpenCV, file as stored: 1 channel for greyscale).
        "plain decode": lambda: [cv2.imread(f, cv2.IMREAD_UNCHANGED) for f in files],
        "crop stage": lambda: crop_video(row, backend, size=size, max_missing=0.0),
        "  of which read_frames (RGB)": lambda: read_frames(row),
        "  of which read_landmarks": lambda: read_landmarks(row),
        "  of which align + warp + landmarks": lambda: align_video(frames, landmarks, size),
    }
    with tempfile.TemporaryDirectory() as tmp:
        steps["npz write (save_clip)"] = lambda: save_clip(Path(tmp) / "clip.npz", clip)
        steps["mp4 preview (write_video)"] = lambda: write_video(
            Path(tmp) / "clip.mp4", preview_frames(clip), fps=10.0)
        for step in steps.values():  # warm caches (file pages, lazy imports) before timing
            step()
        seconds = best_times(steps, repeats)
    return CropSpeed(len(files), size, seconds)


def render_demo_sequence(root: Path) -> tuple[Path, Path]:
    """Render a 2-subject CK+ demo under ``root``; (frames, landmarks) of its longest sequence."""
    from semaug.demo import render_dataset

    render_dataset("ckplus", root, subjects=2, seed=0)
    sequences = [p for p in (root / "cohn-kanade-images").glob("*/*") if p.is_dir()]
    longest = max(sequences, key=lambda p: len(list(p.glob("*.png"))))
    return longest, root / "Landmarks" / longest.parent.name / longest.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frame_dir", nargs="?", type=Path)
    parser.add_argument("landmark_dir", nargs="?", type=Path)
    parser.add_argument("--demo", action="store_true", help="time on a freshly rendered demo")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.demo:
            args.frame_dir, args.landmark_dir = render_demo_sequence(Path(tmp))
        elif args.frame_dir is None:
            parser.error("give FRAME_DIR [LANDMARK_DIR], or --demo")
        print(f"cv2 threads: {cv2.getNumThreads()}, frames: {args.frame_dir}")
        result = measure_crop_speed(args.frame_dir, args.landmark_dir, size=args.size,
                                    repeats=args.repeats)
    print(result.report())


if __name__ == "__main__":
    main()
