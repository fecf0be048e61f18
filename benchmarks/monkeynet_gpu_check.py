"""GPU check of the Monkey-Net / FOMM trainer: a few hundred iterations at 128 px on CUDA with
mixed precision; prints iterations/s and peak GPU memory. About 1-3 minutes on one GPU.

    .venv/bin/python benchmarks/monkeynet_gpu_check.py [--iterations 300] [--size 128] [--first-order]

Exits with status 2 and a message when no CUDA device is present (nothing to check on a CPU).
Data: procedural toy videos (no dataset needed). Widths: those of config/paper.yaml at its 128-px option (keypoints and dense motion at 64 px).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--first-order", action="store_true", help="fomm: with Jacobians")
    parser.add_argument("--no-amp", action="store_true")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="run on the CPU anyway (a logic check of this script; give few iterations)")
    args = parser.parse_args()

    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu_smoke:
        print("monkeynet_gpu_check: no CUDA device visible (torch.cuda.is_available() is False); "
              "this check needs a GPU. Nothing was run.", file=sys.stderr)
        return 2

    from semaug.generators.monkeynet.data import load_training_videos
    from semaug.generators.monkeynet.options import MonkeyNetOptions
    from semaug.generators.monkeynet.toy import write_toy_folds
    from semaug.generators.monkeynet.train import train_generator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    opts = MonkeyNetOptions.from_dict({
        "image_size": args.size, "first_order": args.first_order, "iterations": args.iterations,
        "batch_size": args.batch_size, "device": "cuda" if cuda else "cpu", "amp": not args.no_amp, "norm": "batch",
        "log_every": 25, "checkpoint_every": max(args.iterations // 2, 1),
        "keypoint_detector": {"block_expansion": 32, "max_features": 1024, "num_blocks": 5, "scale": 0.5},
        "dense_motion": {"block_expansion": 64, "max_features": 512, "num_blocks": 5},
        "generator": {"block_expansion": 64, "max_features": 512, "down_blocks": 2, "res_blocks": 6},
        "discriminator": {"block_expansion": 64, "max_features": 512, "num_blocks": 4, "scales": [1.0]},
    })
    with tempfile.TemporaryDirectory() as tmp:
        folds = write_toy_folds(tmp, subjects=12, videos_per_subject=2, n_folds=3, n_frames=16,
                                size=args.size, seed=0)
        videos = load_training_videos(folds, 0, args.size)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        result = train_generator(videos, opts, f"{tmp}/out", name="fomm" if args.first_order else "monkeynet",
                                 progress=False)
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        hist = result.history
        # Throughput after the first logging window (cudnn autotuning, allocator warm-up).
        warm = hist[hist["iteration"] > hist["iteration"].iloc[0]]
        rate = ((warm["iteration"].iloc[-1] - hist["iteration"].iloc[0])
                / (warm["seconds"].iloc[-1] - hist["seconds"].iloc[0])) if len(warm) else float("nan")
        finite = bool(hist.drop(columns=["iteration", "seconds", "lr"]).notna().all().all())
    print(f"device: {torch.cuda.get_device_name(0) if cuda else 'cpu (smoke run)'}; {args.size} px, batch {args.batch_size}, "
          f"first_order={args.first_order}, amp={not args.no_amp}")
    print(f"iterations: {args.iterations} in {seconds:.1f} s (incl. start-up); "
          f"steady {rate:.2f} it/s = {rate * args.batch_size:.1f} pairs/s")
    if cuda:
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB allocated "
              f"({torch.cuda.max_memory_reserved() / 2**30:.2f} GiB reserved)")
    print(f"generator loss {hist['generator_total'].iloc[0]:.3f} -> {hist['generator_total'].iloc[-1]:.3f}; "
          f"all losses finite: {finite}")
    return 0 if finite else 1


if __name__ == "__main__":
    sys.exit(main())
