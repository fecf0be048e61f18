"""Training throughput (frames/s) per classifier: the real input pipeline vs the model alone.

"pipeline": `semaug.training.fit` itself — frames resident as uint8 on the device, index gather,
on-device normalisation + augmentation, SGD step — timed over its second epoch (the first warms
up kernels). "model only": the same `train_step` on one pre-built, normalised float batch.
The input pipeline is not the bottleneck when pipeline / model-only ≥ 0.95.

    python benchmarks/train_throughput.py                      # all models, auto device
    python benchmarks/train_throughput.py --models cnn --image-size 224 --frames 4096
"""

from __future__ import annotations

import argparse
import time

import torch

from semaug.models import available_models, build_model
from semaug.models._base import BuildOptions, param_groups
from semaug.training import BatchPipeline, FrameSet, TrainConfig, fit, pick_device
from semaug.training.loop import train_step
from semaug.training.sgd import SGD


def synthetic_frames(n: int, size: int, classes: int, device: torch.device) -> FrameSet:
    """n random uint8 frames on the device, 8 frames per video."""
    g = torch.Generator().manual_seed(0)
    store = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g).to(device)
    labels = torch.randint(0, classes, (n,), generator=g).to(device)
    video = torch.arange(n, device=device) // 8
    return FrameSet(store, torch.arange(n, device=device), labels, video,
                    [str(v) for v in range(int(video.max()) + 1)], [0] * (int(video.max()) + 1),
                    list(range(n)))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_only(name: str, cfg: TrainConfig, data: FrameSet, steps: int) -> float:
    device = data.device
    model = build_model(name, BuildOptions(7, cfg.image_size, cfg.pretrained == "imagenet")).to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    model.train()
    opt = SGD(param_groups(model), lr=cfg.lr, momentum=cfg.momentum, decay=cfg.lr_decay)
    pipeline = BatchPipeline(device, None, channels_last=device.type == "cuda")
    x = pipeline(data.store[: cfg.batch_size])  # built once, outside the timing
    y = data.labels[: cfg.batch_size]
    for _ in range(3):  # warm-up
        train_step(model, opt, x, y, cfg.amp)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step(model, opt, x, y, cfg.amp)
    sync(device)
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def with_pipeline(name: str, cfg: TrainConfig, data: FrameSet) -> float:
    device = data.device
    torch.manual_seed(0)
    model = build_model(name, BuildOptions(7, cfg.image_size, cfg.pretrained == "imagenet")).to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    history = fit(model, data, cfg, seed=0)  # epoch 2 timed; fit syncs at each epoch's end
    n_used = (len(data) // cfg.batch_size) * cfg.batch_size + (len(data) % cfg.batch_size >= 2) * (len(data) % cfg.batch_size)
    return n_used / history["seconds"].iloc[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=available_models())
    p.add_argument("--image-size", type=int, default=None, help="default: 224 on CUDA, 48 on CPU")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--frames", type=int, default=None, help="frames per epoch (default 8192 CUDA, 256 CPU)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    size = args.image_size or (224 if device.type == "cuda" else 48)
    n = args.frames or (8192 if device.type == "cuda" else 256)
    cfg = TrainConfig(epochs=2, batch_size=args.batch_size, image_size=size, device=str(device))
    data = synthetic_frames(n, size, 7, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; {size} px, batch {cfg.batch_size}, {n} frames/epoch, augmentation on, "
          f"amp {'bf16' if device.type == 'cuda' and torch.cuda.is_bf16_supported() else 'off'}")
    print(f"{'model':10s} {'pipeline fr/s':>14s} {'model-only fr/s':>16s} {'ratio':>6s}")
    for m in args.models:
        piped = with_pipeline(m, cfg, data)
        alone = model_only(m, cfg, data, steps=max(5, n // cfg.batch_size))
        print(f"{m:10s} {piped:14.1f} {alone:16.1f} {piped / alone:6.3f}", flush=True)


if __name__ == "__main__":
    main()
