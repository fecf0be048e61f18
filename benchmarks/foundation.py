"""Foundation stages' speed: demo rendering frames/s, and the faces stage vs plain decoding.

    .venv/bin/python benchmarks/foundation.py [--subjects 4] [--repeats 10]

Prints demo render frames/s (CK+ layout at the real 640x490 and at the demo config's size,
MUG layout at its default size, file writing included), then the crop stage with `dataset`
landmarks on 640x490 greyscale PNGs against plain PNG decoding of the same files (target
ratio >= 0.7: cropping should cost little beyond decoding).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from crop_speed import measure_crop_speed

from semaug.demo import render_dataset

RENDERS = [
    ("ckplus", {"width": 640, "height": 490}, "CK+ 640x490 greyscale PNG"),
    ("ckplus", {"width": 320, "height": 240}, "CK+ 320x240 (demo config)"),
    ("mug", {}, "MUG 256x256 RGB JPEG"),
]


def render_speed(fmt: str, knobs: dict, root: Path, subjects: int) -> tuple[int, float]:
    """(frames written, seconds) for one demo render."""
    start = time.perf_counter()
    summary = render_dataset(fmt, root, sentinel=root / ".semaug_demo.json", subjects=subjects,
                             seed=0, **knobs)
    return summary["frames"], time.perf_counter() - start


def longest_ckplus_sequence(root: Path) -> tuple[Path, Path]:
    sequences = [p for p in (root / "cohn-kanade-images").glob("*/*") if p.is_dir()]
    longest = max(sequences, key=lambda p: len(list(p.glob("*.png"))))
    return longest, root / "Landmarks" / longest.parent.name / longest.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("demo render (frames/s, file writing included)")
        for i, (fmt, knobs, label) in enumerate(RENDERS):
            frames, seconds = render_speed(fmt, knobs, Path(tmp) / str(i), args.subjects)
            print(f"  {label:<28} {frames:5d} frames in {seconds:6.2f} s = "
                  f"{frames / seconds:7.1f} frames/s")
        frame_dir, landmark_dir = longest_ckplus_sequence(Path(tmp) / "0")
        print(measure_crop_speed(frame_dir, landmark_dir, repeats=args.repeats).report())


if __name__ == "__main__":
    main()
