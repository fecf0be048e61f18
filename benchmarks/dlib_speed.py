"""Landmark-backend speed on a CPU: the `dlib` backend vs `face_alignment` (S3FD + 2D-FAN-4).

    PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/dlib_speed.py [--frames 60] [--fan-frames 3]

Frames are built from a real photograph (skimage's astronaut) moved by a slow similarity
motion: 640×490 greyscale (CK+-sized; stored as 3 equal channels, as the loaders return them,
face ~225 px) and 896×896 RGB (MUG-sized, face ~390 px). The dlib backend is timed as the
crop stage calls it (``DlibBackend.detect``: grey conversion, detection, local search, 68-point
fit) with 1 and 2 worker processes, after a warm-up (model loading and process start-up are
reported apart). Target: >= 100 frames/s on 2 cores at 640×490.

face-alignment's weights cannot be downloaded here, so S3FD and FAN are built with *random*
weights from face-alignment's own classes (as tests/test_faces.py does): the network compute
per frame is the same as with the real weights, but the landmarks are meaningless, so only the
speed is. S3FD's face heads are set to "background" (no candidate boxes to post-process, as
with real weights on a one-face frame) and timed on the frames; FAN is then timed on exactly
one face box per frame (the true one), flip_input as the backend runs it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from semaug.faces.dlib_landmarks import DlibBackend, DlibOptions

TARGET_FPS = 100.0
FACE_CENTRE = (222.0, 127.0)  # the astronaut's face in the photograph
FACE_SIDE = 87.0  # dlib's box side on the photograph, pixels


def moving_photo(n_frames: int, width: int, height: int, face_px: float, grey: bool
                 ) -> np.ndarray:
    """uint8 [T, H, W, 3]: the photograph's face at ~face_px pixels, turning ±4°, drifting."""
    photo = data.astronaut()
    frames = []
    for s in np.linspace(0, 1, n_frames):
        scale, angle = face_px / FACE_SIDE * (1 + 0.05 * s), np.deg2rad(-4 + 8 * s)
        m = np.array([[scale * np.cos(angle), -scale * np.sin(angle), 0.0],
                      [scale * np.sin(angle), scale * np.cos(angle), 0.0]])
        m[:, 2] = np.array([width / 2 + 20 * s, height / 2 + 10 * s]) - m[:, :2] @ FACE_CENTRE
        frame = cv2.warpAffine(photo, m, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        if grey:
            frame = np.repeat(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
        frames.append(frame)
    return np.stack(frames)


def best_seconds(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds of this process) over ``repeats`` runs. On a shared
    CPU the wall time depends on the load; the CPU time of a single-threaded run does not
    (much): it is what the run takes on an idle core."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def time_dlib(frames: np.ndarray, options: DlibOptions, repeats: int
              ) -> tuple[float, float, float, float]:
    """(frames/s, frames per CPU-second (1 thread only, else NaN), share of frames found,
    seconds of set-up: models / worker processes)."""
    backend = DlibBackend(options)
    start = time.perf_counter()
    found = np.isfinite(backend.detect(frames)).all(axis=(1, 2)).mean()  # warm-up: loads models
    setup = time.perf_counter() - start - len(frames) / 1000  # roughly: the first pass less work
    try:
        wall, cpu = best_seconds(lambda: backend.detect(frames), repeats)
    finally:
        backend.close()
    per_cpu = len(frames) / cpu if options.threads == 1 else float("nan")
    return len(frames) / wall, per_cpu, float(found), max(0.0, setup)


def random_fan_home(root: Path) -> Path:
    """A TORCH_HOME whose hub cache holds randomly initialised S3FD and 2D-FAN-4 weights."""
    from semaug.faces.fan import save_random_weights

    os.environ["TORCH_HOME"] = str(root)
    save_random_weights()
    return root


def time_fan(frames: np.ndarray, face_box: np.ndarray, threads: int
             ) -> tuple[float, float, float]:
    """(detector s/frame, FAN s/frame for one face, CPU s/frame of both) of face_alignment."""
    import torch

    from semaug.faces.fan import load_face_alignment

    torch.set_num_threads(threads)
    model = load_face_alignment("cpu")
    batch = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    detector = model.face_detector
    detect = detector.detect_from_batch
    with torch.inference_mode():
        detect(batch[:1])  # warm-up
        detect_s, detect_cpu = best_seconds(
            lambda: [detect(batch[i:i + 1]) for i in range(len(batch))], 1)
        detector.detect_from_batch = lambda b: [[face_box] for _ in range(b.shape[0])]
        model.get_landmarks_from_batch(batch[:1])  # warm-up (numba compiles its helpers once)
        fan_s, fan_cpu = best_seconds(lambda: [model.get_landmarks_from_batch(batch[i:i + 1])
                                               for i in range(len(batch))], 1)
    n = len(frames)
    return detect_s / n, fan_s / n, (detect_cpu + fan_cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames per dlib timing video")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fan-frames", type=int, default=3, help="frames timed through FAN")
    parser.add_argument("--no-fan", action="store_true", help="time dlib only")
    args = parser.parse_args()

    load = os.getloadavg()
    print(f"CPU: {os.cpu_count()} cores, load average at start {load[0]:.2f} / {load[1]:.2f} "
          "(1 / 5 min): other processes share these cores, figures are lower bounds")
    cases = {
        "640x490 grey (CK+)": moving_photo(args.frames, 640, 490, 225, grey=True),
        "896x896 RGB (MUG)": moving_photo(args.frames, 896, 896, 390, grey=False),
    }
    settings = {
        "640x490 grey (CK+)": [("defaults", DlibOptions())],
        "896x896 RGB (MUG)": [("defaults", DlibOptions()),
                              ("min_face=320", DlibOptions(min_face=320))],
    }
    rows = []
    for case, frames in cases.items():
        for label, options in settings[case]:
            for threads in (1, 2):
                fps, per_cpu, found, setup = time_dlib(
                    frames, DlibOptions(**{**options.__dict__, "threads": threads}), args.repeats)
                rows.append((case, f"dlib hog, {label}", threads, fps, per_cpu))
                print(f"{case:20s} dlib hog {label:13s} threads={threads}: {fps:7.1f} frames/s, "
                      f"{per_cpu:7.1f} frames/CPU-s (face found in {found:.0%} of frames; "
                      f"set-up {setup:.1f} s)", flush=True)
    if not args.no_fan:
        print("face_alignment: S3FD + 2D-FAN-4 with RANDOM weights (cannot be downloaded here): "
              "the compute is the real networks', so only the speed is meaningful")
        with tempfile.TemporaryDirectory() as home:
            random_fan_home(Path(home))
            for case, frames in cases.items():
                h, w = frames.shape[1:3]
                side = 225 if w == 640 else 390
                box = np.array([w / 2 - side / 2, h / 2 - side / 2, w / 2 + side / 2,
                                h / 2 + side / 2, 0.99])
                for threads in (1, 2):
                    det_s, fan_s, cpu_s = time_fan(frames[:args.fan_frames], box, threads)
                    fps = 1 / (det_s + fan_s)
                    per_cpu = 1 / cpu_s if threads == 1 else float("nan")
                    rows.append((case, "face_alignment (random weights)", threads, fps, per_cpu))
                    print(f"{case:20s} face_alignment torch threads={threads}: {fps:7.3f} frames/s, "
                          f"{per_cpu:7.3f} frames/CPU-s (S3FD {det_s * 1000:.0f} ms + FAN "
                          f"{fan_s * 1000:.0f} ms a frame)", flush=True)
    print("\n| frames | backend | threads | frames/s (wall) | frames/CPU-s (1 thread: idle-core "
          "speed) |\n|---|---|---:|---:|---:|")
    for case, backend, threads, fps, per_cpu in rows:
        cpu_cell = "" if np.isnan(per_cpu) else f"{per_cpu:.3g}"
        print(f"| {case} | {backend} | {threads} | {fps:.3g} | {cpu_cell} |")
    ck = [fps for case, backend, threads, fps, _ in rows
          if case.startswith("640") and backend.startswith("dlib") and threads == 2]
    verdict = "met" if ck and max(ck) >= TARGET_FPS else "NOT met"
    print(f"\ntarget >= {TARGET_FPS:.0f} frames/s with 2 threads at 640x490: {verdict} "
          f"({max(ck):.1f})")
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} / {load[1]:.2f}")


if __name__ == "__main__":
    main()
