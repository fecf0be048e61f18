"""Training throughput per classifier (frames/s, or clips/s for clip models): the real input
pipeline vs the model alone.

"pipeline": `semaug.training.fit` itself — frames resident as uint8 on the device, index gather
([B] frames or [B, T] clips), on-device normalisation + augmentation (one set of parameters per
clip), SGD step — timed over its second epoch (the first warms up kernels). "model only": the
same `train_step` on one pre-built, normalised float batch. The input pipeline is not the
bottleneck when pipeline / model-only ≥ 0.95. On a shared machine those two, timed apart, swing
with the load; "interleaved" times the input (gather + normalise + augment) and the step batch by
batch in one loop, so both see the same load: step / (input + step).

    python benchmarks/train_throughput.py                      # all models, auto device
    python benchmarks/train_throughput.py --models cnn --image-size 224 --frames 4096
    python benchmarks/train_throughput.py --models r2plus1d --image-size 112 --clip-frames 8
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from semaug.models import available_models, build_model
from semaug.models._base import BuildOptions, Classifier, param_groups
from semaug.training import FrameSet, TrainConfig, fit, pick_device
from semaug.training.loop import pipeline_for, steps_per_epoch, train_step
from semaug.training.sgd import SGD


def synthetic_set(n: int, size: int, classes: int, device: torch.device,
                  clip_frames: int | None = None) -> FrameSet:
    """n random uint8 samples on the device: frames (8 per video) or clips of clip_frames."""
    g = torch.Generator().manual_seed(0)
    t = clip_frames or 1
    store = torch.randint(0, 256, (n * t, 3, size, size), dtype=torch.uint8, generator=g).to(device)
    labels = torch.randint(0, classes, (n,), generator=g).to(device)
    if clip_frames:
        index, video = torch.arange(n * t, device=device).view(n, t), torch.arange(n, device=device)
    else:
        index, video = torch.arange(n, device=device), torch.arange(n, device=device) // 8
    n_videos = int(video.max()) + 1
    return FrameSet(store, index, labels, video, [str(v) for v in range(n_videos)], [0] * n_videos,
                    [-1 if clip_frames else i for i in range(n)])


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(name: str, cfg: TrainConfig, device: torch.device) -> Classifier:
    torch.manual_seed(0)
    model = build_model(name, BuildOptions(7, cfg.image_size, cfg.pretrained == "imagenet",
                                           lstm_hidden=cfg.lstm_hidden,
                                           lstm_backbone=cfg.lstm_backbone)).to(device)
    if device.type == "cuda" and not model.takes_clips:
        model.to(memory_format=torch.channels_last)
    return model


def model_only(model: Classifier, cfg: TrainConfig, data: FrameSet, steps: int) -> float:
    device = data.device
    model.train()
    opt = SGD(param_groups(model), lr=cfg.lr, momentum=cfg.momentum, decay=cfg.lr_decay)
    x = pipeline_for(model, data, None)(data.store[data.index[: cfg.batch_size]])  # built once
    y = data.labels[: cfg.batch_size]
    for _ in range(3):  # warm-up
        train_step(model, opt, x, y, cfg.amp)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step(model, opt, x, y, cfg.amp)
    sync(device)
    return steps * cfg.batch_size / (time.perf_counter() - t0)


def interleaved(model: Classifier, cfg: TrainConfig, data: FrameSet, steps: int
                ) -> tuple[float, float]:
    """(input ms, step ms) per batch, each batch's input and step timed back to back."""
    device = data.device
    model.train()
    opt = SGD(param_groups(model), lr=cfg.lr, momentum=cfg.momentum, decay=cfg.lr_decay)
    pipeline = pipeline_for(model, data, cfg.augment)
    g = torch.Generator().manual_seed(0)
    t_input = t_step = 0.0
    for i in range(steps + 2):  # two warm-up batches
        ids = torch.randperm(len(data), generator=g)[: cfg.batch_size].to(device)
        aug = pipeline.draw(len(ids), g).to(device)
        sync(device)
        t0 = time.perf_counter()
        x = pipeline(data.store[data.index[ids]], aug)
        sync(device)
        t1 = time.perf_counter()
        train_step(model, opt, x, data.labels[ids], cfg.amp)
        sync(device)
        if i >= 2:
            t_input, t_step = t_input + t1 - t0, t_step + time.perf_counter() - t1
    return 1000 * t_input / steps, 1000 * t_step / steps


def with_pipeline(model: Classifier, cfg: TrainConfig, data: FrameSet) -> float:
    history = fit(model, data, cfg, seed=0)  # epoch 2 timed; fit syncs at each epoch's end
    n, bs = len(data), cfg.batch_size
    n_used = min(n, steps_per_epoch(n, bs) * bs)  # a last batch of one sample is dropped
    return n_used / history["seconds"].iloc[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=available_models())
    p.add_argument("--image-size", type=int, default=None, help="default: 224 on CUDA, 48 on CPU")
    p.add_argument("--batch-size", type=int, default=32, help="frames per step (frame models)")
    p.add_argument("--clip-batch-size", type=int, default=8, help="clips per step (clip models)")
    p.add_argument("--clip-frames", type=int, default=8, help="frames per clip (clip models)")
    p.add_argument("--frames", type=int, default=None, help="frames per epoch (default 8192 CUDA, 256 CPU)")
    p.add_argument("--clips", type=int, default=None, help="clips per epoch (default 1024 CUDA, 32 CPU)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    size = args.image_size or (224 if cuda else 48)
    n_frames = args.frames or (8192 if cuda else 256)
    n_clips = args.clips or (1024 if cuda else 32)
    name = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; {size} px, augmentation on, amp "
          f"{'bf16' if cuda and torch.cuda.is_bf16_supported() else 'off'}; frame models: batch "
          f"{args.batch_size}, {n_frames} frames/epoch; clip models: batch {args.clip_batch_size} "
          f"clips of {args.clip_frames} frames, {n_clips} clips/epoch")
    print(f"{'model':10s} {'unit':>7s} {'pipeline /s':>12s} {'model-only /s':>14s} {'ratio':>6s}"
          f" | interleaved: {'input ms':>8s} {'step ms':>8s} {'ratio':>6s}")
    for m in args.models:
        cfg = TrainConfig(epochs=2, batch_size=args.batch_size, image_size=size, device=str(device),
                          clip_frames=args.clip_frames)
        model = build(m, cfg, device)
        if model.takes_clips:
            cfg = dataclasses.replace(cfg, batch_size=args.clip_batch_size)
            data = synthetic_set(n_clips, size, 7, device, args.clip_frames)
        else:
            data = synthetic_set(n_frames, size, 7, device)
        piped = with_pipeline(model, cfg, data)
        steps = max(5, len(data) // cfg.batch_size)
        alone = model_only(build(m, cfg, device), cfg, data, steps)
        t_input, t_step = interleaved(build(m, cfg, device), cfg, data, steps)
        unit = "clips" if model.takes_clips else "frames"
        print(f"{m:10s} {unit:>7s} {piped:12.1f} {alone:14.1f} {piped / alone:6.3f} | "
              f"{'':12s} {t_input:8.1f} {t_step:8.1f} {t_step / (t_input + t_step):6.3f}", flush=True)


if __name__ == "__main__":
    main()
