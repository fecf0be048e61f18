"""landmark_warp throughput: frames/s at 128×128 (target ≥ 1000 on a 2-core CPU).

    .venv/bin/python benchmarks/landmark_warp_speed.py [--size 128] [--pairs 64] [--frames 16]
"""

from __future__ import annotations

import argparse
import time

import torch

from semaug.generators import build_generator
from semaug.synthesis.toy import toy_clip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--pairs", type=int, default=64, help="(source, driver) pairs per batch")
    parser.add_argument("--frames", type=int, default=16, help="frames per driving video")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--flow-resolution", type=int, default=32)
    parser.add_argument("--batch-frames", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's own); 1 gives a clean CPU-time figure "
                             "on a machine other jobs share")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    labels = ["happy", "surprise", "sadness", "anger"]
    pairs = [(toy_clip(labels[i % 4], size=args.size, n_frames=1, seed=i),
              toy_clip(labels[(i + 1) % 4], size=args.size, n_frames=args.frames, seed=i + 100))
             for i in range(args.pairs)]
    options = {"flow_resolution": args.flow_resolution}
    if args.batch_frames:
        options["batch_frames"] = args.batch_frames
    gen = build_generator("landmark_warp", options, device=args.device)
    gen.animate_batch(pairs[:2])  # warm-up
    n = args.pairs * args.frames
    best, best_cpu = float("inf"), float("inf")
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        gen.animate_batch(pairs)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    threads = torch.get_num_threads()
    # Other jobs share the cores: CPU seconds / threads estimates the wall time on idle cores.
    print(f"landmark_warp {args.size}x{args.size} on {args.device} ({threads} threads, "
          f"flow_resolution={gen.options['flow_resolution']}, batch_frames={gen.options['batch_frames']}): "
          f"{n / best:.0f} frames/s wall ({n} frames in {best:.3f} s, best of {args.repeats}); "
          f"{n * threads / best_cpu:.0f} frames/s per CPU-second x {threads} cores")


if __name__ == "__main__":
    main()
