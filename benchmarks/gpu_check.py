"""One GPU check of the whole project, for the first time a CUDA GPU is available (<= 6 minutes on
one GPU). Each figure is printed with its pure-compute figure beside it:

1. monkeynet: training iterations/s and peak GPU memory at 256 px, batch 16, AMP (the widths
   of config/paper.yaml), the real training loop (`train_generator`: frame-pair sampling,
   losses, both optimisers) vs `Trainer.step` on one fixed batch;
2. classifiers cnn, mobilenet, resnet50: training images/s at 224 px, AMP + channels-last, the
   real input pipeline (`semaug.training.fit`) vs the model alone (benchmarks/train_throughput.py);
3. face_alignment: batched frames/s of the landmark stage (randomly initialised S3FD + 2D-FAN-4
   weights written to a temporary torch hub cache, so nothing is downloaded) vs the bare FAN /
   S3FD forward passes;
4. workflow: a tiny end-to-end Snakemake run (demo data -> crops -> folds -> monkeynet training
   -> synthesis -> classifier) with `--resources gpu=1` on CUDA, wall time vs the jobs' own
   benchmark seconds.

    python benchmarks/gpu_check.py                 # on a GPU machine
    python benchmarks/gpu_check.py --only monkeynet classifier
    python benchmarks/gpu_check.py --only monkeynet --first-order   # FOMM instead of Monkey-Net
    python benchmarks/gpu_check.py --cpu-smoke     # every code path at tiny size on the CPU (< 1 min;
                                                   # the workflow step is a dry run)

Exit status: 0 when every check passed (or, with no GPU visible, after a skip message), 1 when
any check failed (each failure is printed with its traceback; the other checks still run).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
CHECKS = ("monkeynet", "classifier", "fan", "workflow")


@dataclass
class Size:
    """The sizes a run uses: the real ones on a GPU, tiny ones for --cpu-smoke."""

    smoke: bool
    first_order: bool = False  # monkeynet as FOMM: local affine terms (Jacobians) at each keypoint

    @property
    def device(self) -> str:
        return "cpu" if self.smoke else "cuda"


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Seconds per call of ``fn`` over ``repeats`` calls (after the caller's warm-up)."""
    sync()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync()
    return (time.perf_counter() - t0) / repeats


# --------------------------------------------------------------------------- 1. monkeynet

def check_monkeynet(size: Size) -> list[str]:
    import torch

    from semaug.generators.monkeynet.data import PairSampler, load_training_videos
    from semaug.generators.monkeynet.options import MonkeyNetOptions
    from semaug.generators.monkeynet.toy import write_toy_folds
    from semaug.generators.monkeynet.train import Trainer, train_generator

    px, batch, iterations = (32, 2, 4) if size.smoke else (256, 16, 120)
    widths = ({"keypoint_detector": {"block_expansion": 8, "max_features": 16, "num_blocks": 2, "scale": 0.5},
               "dense_motion": {"block_expansion": 8, "max_features": 16, "num_blocks": 2},
               "generator": {"block_expansion": 8, "max_features": 16, "res_blocks": 1},
               "discriminator": {"block_expansion": 8, "max_features": 16, "num_blocks": 2, "scales": [1.0]}}
              if size.smoke else  # config/paper.yaml's one-GPU model
              {"keypoint_detector": {"block_expansion": 32, "max_features": 1024, "num_blocks": 5, "scale": 0.25},
               "dense_motion": {"block_expansion": 64, "max_features": 512, "num_blocks": 5},
               "generator": {"block_expansion": 64, "max_features": 512, "down_blocks": 2, "res_blocks": 6},
               "discriminator": {"block_expansion": 64, "max_features": 512, "num_blocks": 4, "scales": [1.0]}})
    opts = MonkeyNetOptions.from_dict({
        **widths, "image_size": px, "batch_size": batch, "iterations": iterations, "amp": True,
        "norm": "batch", "device": size.device, "log_every": 2 if size.smoke else 20,
        "first_order": size.first_order,
        "checkpoint_every": iterations, "sample_every": 0, "min_train_videos": 1})
    with tempfile.TemporaryDirectory() as tmp:
        folds = write_toy_folds(tmp, subjects=6 if size.smoke else 12, videos_per_subject=2, n_folds=3,
                                n_frames=8 if size.smoke else 16, size=px, seed=0)
        videos = load_training_videos(folds, 0, px)
        if not size.smoke:
            torch.cuda.reset_peak_memory_stats()
        name = "fomm" if size.first_order else "monkeynet"
        result = train_generator(videos, opts, Path(tmp) / "out", name=name, progress=False)
        hist = result.history
        # Steady state: after the first logging window (cudnn autotuning, allocator warm-up).
        first, last = hist.iloc[0], hist.iloc[-1]
        pipeline = (last["iteration"] - first["iteration"]) / max(last["seconds"] - first["seconds"], 1e-9)
        finite = bool(hist.drop(columns=["iteration", "seconds", "lr"]).notna().all().all())
        peak_pipeline = torch.cuda.max_memory_allocated() / 2**30 if not size.smoke else float("nan")

        trainer = Trainer(opts, torch.device(size.device))
        rng = torch.Generator().manual_seed(0)
        batch_data = PairSampler(videos, batch, hflip=True, generator=rng, device=trainer.device).sample()
        step = lambda: trainer.step(*batch_data[:2], rng, *batch_data[2:])  # noqa: E731
        for _ in range(1 if size.smoke else 5):
            step()
        if not size.smoke:
            torch.cuda.reset_peak_memory_stats()
        compute = 1.0 / timed(step, 2 if size.smoke else 30)
        peak_compute = torch.cuda.max_memory_allocated() / 2**30 if not size.smoke else float("nan")
    if not finite:
        raise RuntimeError("monkeynet training produced non-finite losses")
    memory = ("peak memory n/a on the CPU" if size.smoke else
              f"peak memory {peak_pipeline:.2f} GiB loop | {peak_compute:.2f} GiB model only")
    return [f"{name} {px} px batch {batch} AMP ({trainer.n_parameters / 1e6:.1f} M parameters): "
            f"{pipeline:.2f} it/s training loop | {compute:.2f} it/s model only "
            f"(ratio {pipeline / compute:.2f}); {memory}"]


# --------------------------------------------------------------------------- 2. classifiers

def _train_throughput():
    """benchmarks/train_throughput.py as a module (its timing functions are reused, not copied)."""
    spec = importlib.util.spec_from_file_location("train_throughput", REPO / "benchmarks" / "train_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_classifiers(size: Size) -> list[str]:
    import torch

    from semaug.training import TrainConfig

    tt = _train_throughput()
    px, n, batch = (24, 16, 8) if size.smoke else (224, 4096, 32)
    device = torch.device(size.device)
    cfg = TrainConfig(epochs=2, batch_size=batch, image_size=px, device=str(device), amp=True)
    data = tt.synthetic_set(n, px, 7, device)
    lines = []
    # The smoke run walks the code path with the cheapest model: the others share it.
    for name in ("cnn",) if size.smoke else ("cnn", "mobilenet", "resnet50"):
        piped = tt.with_pipeline(tt.build(name, cfg, device), cfg, data)
        alone = tt.model_only(tt.build(name, cfg, device), cfg, data, steps=max(2, n // batch))
        lines.append(f"classifier {name:9s} {px} px batch {batch} AMP channels-last: {piped:8.1f} img/s "
                     f"pipeline | {alone:8.1f} img/s model only (ratio {piped / alone:.2f})")
    # Clip classifiers: one sample = one video of clip_frames frames.
    px, n, batch, frames = (24, 8, 4, 4) if size.smoke else (112, 512, 16, 8)
    cfg = TrainConfig(epochs=2, batch_size=batch, image_size=px, clip_frames=frames,
                      device=str(device), amp=True)
    clips = tt.synthetic_set(n, px, 7, device, clip_frames=frames)
    for name in ("cnn_lstm",) if size.smoke else ("cnn_lstm", "r2plus1d"):
        piped = tt.with_pipeline(tt.build(name, cfg, device), cfg, clips)
        alone = tt.model_only(tt.build(name, cfg, device), cfg, clips, steps=max(2, n // batch))
        lines.append(f"classifier {name:9s} {px} px x {frames} frames batch {batch} AMP: "
                     f"{piped:8.1f} clips/s pipeline | {alone:8.1f} clips/s model only "
                     f"(ratio {piped / alone:.2f})")
    return lines


# --------------------------------------------------------------------------- 3. face_alignment

def check_face_alignment(size: Size) -> list[str]:
    import numpy as np
    import torch

    if size.smoke:
        # numba compiling face_alignment's helpers takes tens of seconds on a small CPU; the
        # smoke run only walks the code paths.
        import numba

        numba.config.DISABLE_JIT = True
    n, side, batch = (1, 64, 1) if size.smoke else (256, 256, 32)
    reps = 1 if size.smoke else 5
    with tempfile.TemporaryDirectory() as tmp, _env(TORCH_HOME=tmp):
        import face_alignment  # noqa: F401 - imported after TORCH_HOME is set

        from semaug.faces.fan import FaceAlignmentBackend, save_random_weights

        save_random_weights()  # under TORCH_HOME=tmp
        backend = FaceAlignmentBackend(device=size.device, batch_size=batch)
        fa = backend.model
        if size.smoke:
            fa.flip_input = False  # halves the CPU time; the GPU run keeps the production setting
        frames = np.random.default_rng(0).integers(0, 256, (n, side, side, 3), dtype=np.uint8)

        # Detection: the real S3FD forward pass (finds no face with these weights).
        detect = fa.face_detector.detect_from_batch
        x = torch.from_numpy(frames[:batch]).permute(0, 3, 1, 2).contiguous()
        if not size.smoke:
            detect(x)  # warm-up
        det_pipe = batch / timed(lambda: detect(x), reps)
        net = fa.face_detector.face_detector
        xd = x.to(size.device).float()
        with torch.no_grad():
            if not size.smoke:
                net(xd)
            det_compute = batch / timed(lambda: net(xd), reps)

        # Landmarks: the stage's batched FAN path, on one fixed face box per frame.
        box = np.array([side * 0.2, side * 0.2, side * 0.8, side * 0.8, 0.99])
        fa.face_detector.detect_from_batch = lambda b: [[box] for _ in range(b.shape[0])]
        if not size.smoke:
            backend.detect(frames[:batch])  # warm-up
        t0 = time.perf_counter()
        landmarks = backend.detect(frames)
        sync()
        fan_pipe = n / (time.perf_counter() - t0)
        if not np.isfinite(landmarks).all():
            raise RuntimeError("face_alignment returned no landmarks for a frame with a given face box")
        crops = torch.rand(batch * (2 if fa.flip_input else 1), 3, 256, 256, device=size.device)
        with torch.no_grad():
            if not size.smoke:
                fa.face_alignment_net(crops)
            fan_compute = batch / timed(lambda: fa.face_alignment_net(crops), reps)
    flip = " (x2 flip_input)" if fa.flip_input else ""
    return [f"face_alignment S3FD detection, {side} px frames batch {batch}: {det_pipe:8.1f} frames/s "
            f"detect_from_batch | {det_compute:8.1f} frames/s network only",
            f"face_alignment 2D-FAN-4 landmarks, batch {batch}{flip}: {fan_pipe:8.1f} frames/s stage "
            f"(FaceAlignmentBackend.detect, box given) | {fan_compute:8.1f} frames/s network only"]


@contextlib.contextmanager
def _env(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------- 4. workflow

def tiny_workflow_config(device: str) -> dict:
    """The smallest config that trains monkeynet and a classifier on demo data."""
    return {
        "datasets": {"tiny": {
            "format": "ckplus", "root": "results/demo/tiny", "landmarks": "dataset",
            "demo": {"subjects": 12, "seed": 0, "width": 96, "height": 96, "min_frames": 6, "max_frames": 10}}},
        "folds": 2, "seeds": [0], "models": ["cnn"],
        "scenarios": ["original", "landmark_warp", "monkeynet"],
        "faces": {"size": 32, "shards": 2},
        "train": {"epochs": 1, "batch_size": 16, "pretrained": "none", "image_size": 32, "frames": 2,
                  "threads": 1, "device": device, "gpu": 1},
        "synthesis": {"device": device, "previews": False, "quality_videos": 4},
        "generators": {"monkeynet": {
            "image_size": 32, "keypoints": 4, "iterations": 40, "batch_size": 8, "device": device,
            "min_train_videos": 2, "log_every": 10, "sample_every": 20,
            "keypoint_detector": {"scale": 0.5, "num_blocks": 2}, "dense_motion": {"num_blocks": 2},
            "discriminator": {"num_blocks": 2, "scales": [1.0]}}},
    }


def check_workflow(size: Size) -> list[str]:
    import pandas as pd
    import yaml

    snakemake = str(Path(sys.executable).with_name("snakemake"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "tiny.yaml"
        config.write_text(yaml.safe_dump(tiny_workflow_config(size.device)))
        cmd = [snakemake, "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
               "--configfile", str(config), "--cores", "2" if size.smoke else "8", "--resources", "gpu=1"]
        if size.smoke:
            cmd.append("--dry-run")
        env = dict(os.environ, PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        wall = time.perf_counter() - t0
        out = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise RuntimeError(f"snakemake exited {proc.returncode}:\n{out[-4000:]}")
        if "train_generator" not in out:
            raise RuntimeError(f"the tiny workflow planned no train_generator job:\n{out[-2000:]}")
        if size.smoke:
            return [f"workflow (dry run, {wall:.1f} s): the tiny config with --resources gpu=1 plans "
                    "monkeynet training, synthesis and classifier jobs"]
        logs = list((work / "logs" / "generators").rglob("*.log"))
        on_cuda = any("on cuda" in p.read_text() for p in logs)
        if not on_cuda:
            raise RuntimeError(f"no generator training log says it trained on cuda ({[str(p) for p in logs]})")
        tables = list((work / "results" / "benchmarks").rglob("*.tsv"))
        job_seconds = sum(float(pd.read_csv(p, sep="\t")["s"].sum()) for p in tables)
    return [f"workflow tiny end to end, --resources gpu=1 on CUDA: {wall:.1f} s wall | "
            f"{job_seconds:.1f} s summed over the {len(tables)} benchmarked jobs"]


# --------------------------------------------------------------------------- main

RUNNERS = {"monkeynet": check_monkeynet, "classifier": check_classifiers, "fan": check_face_alignment,
           "workflow": check_workflow}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=CHECKS, default=list(CHECKS), help="checks to run")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="run every check at tiny size on the CPU (a logic check of this script)")
    parser.add_argument("--first-order", action="store_true",
                        help="the monkeynet check trains FOMM (first-order motion: keypoint Jacobians)")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available() and not args.cpu_smoke:
        print("gpu_check: SKIPPED - no CUDA device visible (torch.cuda.is_available() is False). "
              "Run this on a machine with an NVIDIA GPU; nothing was measured.", flush=True)
        return 0
    size = Size(smoke=args.cpu_smoke, first_order=args.first_order)
    if size.smoke:
        torch.set_num_threads(1)  # a shared CPU: spin-waiting threads make tiny runs slower
    where = "CPU smoke run (tiny sizes)" if size.smoke else torch.cuda.get_device_name(0)
    print(f"gpu_check on {where}; torch {torch.__version__}", flush=True)
    failures, start = [], time.perf_counter()
    for name in args.only:
        t0 = time.perf_counter()
        try:
            for line in RUNNERS[name](size):
                print(line, flush=True)
            print(f"  [{name}: ok, {time.perf_counter() - t0:.0f} s]", flush=True)
        except Exception:  # report it, run the other checks, fail at the end
            failures.append(name)
            print(f"  [{name}: FAILED after {time.perf_counter() - t0:.0f} s]\n{traceback.format_exc()}", flush=True)
    total = time.perf_counter() - start
    print(f"gpu_check: {len(args.only) - len(failures)}/{len(args.only)} checks passed in {total:.0f} s"
          + (f"; failed: {', '.join(failures)}" if failures else ""), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
