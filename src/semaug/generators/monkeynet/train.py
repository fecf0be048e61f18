"""Training loop: Adam (betas 0.5, 0.999) with step decay, mixed precision on CUDA, gradient
clipping, resume after a kill, loss curves as CSV + PNG.

Files in ``out_dir``: ``model.pt`` (weights + options + provenance, written last),
``losses.csv``, ``losses.png``, and while training ``resume.pt`` (every ``checkpoint_every``
iterations; removed once ``model.pt`` exists).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch
from tqdm import tqdm

from .data import PairSampler, TrainingVideos, load_training_videos
from .model import MonkeyNet
from .options import MonkeyNetOptions

log = logging.getLogger("semaug.monkeynet")

CHECKPOINT_FORMAT = "semaug.monkeynet/1"
RESUME_NAME = "resume.pt"


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but CUDA is not available; set device: auto or cpu")
    return torch.device(name)


def _atomic_save(obj: Any, path: Path) -> None:
    """torch.save through a temp file, so a kill never leaves a truncated checkpoint."""
    tmp = path.with_name(path.name + ".part")
    torch.save(obj, tmp)
    os.replace(tmp, path)


@dataclass
class TrainResult:
    model_path: Path
    history: pd.DataFrame  # one row per log window
    seconds: float  # training time over all runs (resumed ones included)
    resumed_from: int  # iteration the last run started at (0 = fresh)


def train_generator(videos: TrainingVideos, opts: MonkeyNetOptions, out_dir: str | Path, *,
                    name: str = "monkeynet", meta: dict[str, Any] | None = None,
                    callback: Callable[[int], None] | None = None, progress: bool = True) -> TrainResult:
    """Train on (source, driving) pairs of ``videos`` and write model.pt, losses.csv, losses.png.

    ``callback(iteration)`` runs after each iteration (tests use it to simulate a kill).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(opts.device)
    amp = bool(opts.amp and device.type == "cuda")
    torch.manual_seed(opts.seed)  # weight initialisation
    model = MonkeyNet(opts).to(device)
    params_g = list(model.kp_detector.parameters()) + list(model.generator.parameters())
    disc = model.discriminator
    betas = (0.5, 0.999)
    opt_g = torch.optim.Adam(params_g, lr=opts.lr, betas=betas)
    opt_d = torch.optim.Adam(disc.parameters(), lr=opts.lr, betas=betas) if disc is not None else None
    milestones = sorted({max(1, round(f * opts.iterations)) for f in opts.milestones})
    sched_g = torch.optim.lr_scheduler.MultiStepLR(opt_g, milestones, gamma=opts.lr_decay)
    sched_d = (torch.optim.lr_scheduler.MultiStepLR(opt_d, milestones, gamma=opts.lr_decay)
               if opt_d is not None else None)
    scaler_g = torch.amp.GradScaler(device.type, enabled=amp)
    scaler_d = torch.amp.GradScaler(device.type, enabled=amp)
    rng = torch.Generator().manual_seed(opts.seed)  # batches and equivariance warps
    sampler = PairSampler(videos, opts.batch_size, hflip=opts.hflip, generator=rng, device=device)

    start, history, window, window_n, elapsed = 0, [], {}, 0, 0.0
    resume_path = out_dir / RESUME_NAME
    fingerprint = {"options": opts.to_dict(), "videos": list(videos.video_ids), "name": name}
    if resume_path.exists():
        # On the CPU: the RNG state must stay a CPU tensor; load_state_dict moves the rest.
        state = torch.load(resume_path, map_location="cpu", weights_only=False)
        if state.get("fingerprint") != fingerprint:
            log.warning("%s was written for other options or data; starting afresh", resume_path)
        else:
            model.load_state_dict(state["model"])
            opt_g.load_state_dict(state["opt_g"])
            sched_g.load_state_dict(state["sched_g"])
            scaler_g.load_state_dict(state["scaler_g"])
            if opt_d is not None:
                opt_d.load_state_dict(state["opt_d"])
                sched_d.load_state_dict(state["sched_d"])
                scaler_d.load_state_dict(state["scaler_d"])
            rng.set_state(state["rng"])
            start, history, window, window_n, elapsed = (state["iteration"], state["history"], state["window"],
                                                         state["window_n"], state["elapsed"])
            log.info("resuming %s from iteration %d of %d", name, start, opts.iterations)

    def save_resume(iteration: int) -> None:
        _atomic_save({
            "fingerprint": fingerprint, "iteration": iteration, "model": model.state_dict(),
            "opt_g": opt_g.state_dict(), "sched_g": sched_g.state_dict(), "scaler_g": scaler_g.state_dict(),
            "opt_d": opt_d.state_dict() if opt_d else None, "sched_d": sched_d.state_dict() if sched_d else None,
            "scaler_d": scaler_d.state_dict(), "rng": rng.get_state(), "history": history,
            "window": window, "window_n": window_n, "elapsed": elapsed + time.perf_counter() - t0,
        }, resume_path)

    log.info("training %s on %s (amp=%s): %d iterations, batch %d, %d parameters", name, device, amp,
             opts.iterations, opts.batch_size, sum(p.numel() for p in model.parameters()))
    model.train()
    t0 = time.perf_counter()
    bar = tqdm(total=opts.iterations, initial=start, desc=name, file=sys.stderr, disable=not progress,
               mininterval=2.0 if sys.stderr.isatty() else 15.0, dynamic_ncols=False)
    for it in range(start, opts.iterations):
        source, driving = sampler.sample()  # [B, 3, S, S] each
        if disc is not None:
            disc.requires_grad_(False)  # G's step must not accumulate D's gradients
        with torch.autocast(device.type, enabled=amp):
            losses, out = model.generator_losses(source, driving, rng)
        loss_g = sum(losses.values())
        opt_g.zero_grad(set_to_none=True)
        scaler_g.scale(loss_g).backward()
        _clip(scaler_g, opt_g, params_g, opts.grad_clip)
        scaler_g.step(opt_g)
        scaler_g.update()
        sched_g.step()
        values = {k: v.item() for k, v in losses.items()}
        values["generator_total"] = loss_g.item()
        if disc is not None:
            disc.requires_grad_(True)
            with torch.autocast(device.type, enabled=amp):
                loss_d = model.discriminator_losses(driving, out)["discriminator"]
            opt_d.zero_grad(set_to_none=True)
            scaler_d.scale(loss_d).backward()
            _clip(scaler_d, opt_d, list(disc.parameters()), opts.grad_clip)
            scaler_d.step(opt_d)
            scaler_d.update()
            sched_d.step()
            values["discriminator"] = loss_d.item()
        for k, v in values.items():
            window[k] = window.get(k, 0.0) + v
        window_n += 1
        done = it + 1
        if done % opts.log_every == 0 or done == opts.iterations:
            row = {"iteration": done, "seconds": round(elapsed + time.perf_counter() - t0, 2),
                   "lr": opt_g.param_groups[0]["lr"], **{k: v / window_n for k, v in window.items()}}
            history.append(row)
            window, window_n = {}, 0
            bar.set_postfix(loss=f"{row['generator_total']:.3f}", refresh=False)
        bar.update(1)
        if done % opts.checkpoint_every == 0 and done < opts.iterations:
            save_resume(done)
        if callback is not None:
            callback(done)
    bar.close()
    seconds = elapsed + time.perf_counter() - t0

    model_path = out_dir / "model.pt"
    table = pd.DataFrame(history)
    table.to_csv(out_dir / "losses.csv", index=False)
    m = meta or {}
    title = " ".join(str(p) for p in (name, m.get("dataset"), f"fold {m['fold']}" if "fold" in m else "") if p)
    plot_losses(table, out_dir / "losses.png", title=title)
    _atomic_save({
        "format": CHECKPOINT_FORMAT, "name": name, "options": opts.to_dict(),
        "kp_detector": model.kp_detector.state_dict(), "generator": model.generator.state_dict(),
        "discriminator": disc.state_dict() if disc is not None else None,
        "meta": {**(meta or {}), "iterations": opts.iterations, "seconds": round(seconds, 1),
                 "device": str(device), "amp": amp, "video_ids": list(videos.video_ids),
                 "train_subjects": sorted(set(videos.subjects)),
                 "excluded_subjects": list(videos.excluded_subjects)},
    }, model_path)
    resume_path.unlink(missing_ok=True)
    if len(table):
        log.info("done in %.0f s (%.2f it/s this run); generator loss %.4f -> %.4f", seconds,
                 (opts.iterations - start) / max(time.perf_counter() - t0, 1e-9),
                 table["generator_total"].iloc[0], table["generator_total"].iloc[-1])
    return TrainResult(model_path, table, seconds, start)


def _clip(scaler: torch.amp.GradScaler, opt: torch.optim.Optimizer, params: list[torch.nn.Parameter],
          max_norm: float) -> None:
    if max_norm > 0:
        scaler.unscale_(opt)  # clip the true gradients, not the loss-scaled ones
        torch.nn.utils.clip_grad_norm_(params, max_norm)


def plot_losses(table: pd.DataFrame, path: str | Path, *, title: str = "") -> None:
    """One panel per loss term against the iteration (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    terms = [c for c in table.columns if c not in ("iteration", "seconds", "lr")]
    cols = 3
    rows = max(1, -(-len(terms) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, term in zip(axes.flat, terms):
        ax.plot(table["iteration"], table[term], lw=1.2)
        ax.set_title(term, fontsize=9)
        if (table[term] > 0).all():
            ax.set_yscale("log")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(terms):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.supxlabel("iteration", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_fold(folds_csv: str | Path, fold: int, out_dir: str | Path, options: dict[str, Any] | None,
               *, name: str = "monkeynet", dataset: str = "") -> TrainResult:
    """Train generator ``name`` on the training videos of ``fold`` (fold != k rows of folds.csv):
    the training entry point the catalog names for ``monkeynet`` and ``fomm`` (``options`` are
    already resolved, ``first_order`` fixed on for fomm)."""
    opts = MonkeyNetOptions.from_dict(options)
    videos = load_training_videos(folds_csv, fold, opts.image_size)
    return train_generator(videos, opts, out_dir, name=name,
                           meta={"dataset": dataset, "fold": int(fold), "folds_csv": str(folds_csv)})
