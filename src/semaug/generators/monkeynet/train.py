"""Training loop: Adam (betas 0.5, 0.999) with step decay, mixed precision on CUDA, gradient
clipping, resume after a kill, loss curves as CSV + PNG.

Files in ``out_dir``: ``model.pt`` (weights + options + provenance, written last),
``losses.csv``, ``losses.png``, ``samples.png`` (reconstructions of fixed training pairs at the
end; ``samples/iter_NNNNNN.png`` every ``sample_every`` iterations), and while training
``resume.pt`` (every ``checkpoint_every`` iterations; removed once ``model.pt`` exists).

Both checkpoints hold tensors, dicts, lists, strings and numbers only, and are read with
``torch.load(weights_only=True)``: loading one cannot run code.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch
from tqdm import tqdm

from ...atomic import atomic_path, torch_save, write_csv
from ...checkpoints import load_checkpoint
from ...devices import torch_device
from ...plotting import save_figure
from .data import PairSampler, TrainingVideos, check_enough_videos, load_training_videos
from .model import MonkeyNet
from .options import MonkeyNetOptions

log = logging.getLogger("semaug.monkeynet")

CHECKPOINT_FORMAT = "semaug.monkeynet/1"
RESUME_NAME = "resume.pt"


@dataclass
class TrainResult:
    model_path: Path
    history: pd.DataFrame  # one row per log window
    seconds: float  # training time over all runs (resumed ones included)
    resumed_from: int  # iteration the last run started at (0 = fresh)


def _plain_scheduler_state(sched: torch.optim.lr_scheduler.LRScheduler) -> dict[str, Any]:
    """A scheduler's state with its milestones Counter as a plain dict (weights_only-safe on any
    torch version)."""
    state = dict(sched.state_dict())
    if "milestones" in state:
        state["milestones"] = {int(k): int(v) for k, v in state["milestones"].items()}
    return state


def _load_scheduler_state(sched: torch.optim.lr_scheduler.LRScheduler, state: dict[str, Any]) -> None:
    state = dict(state)
    if "milestones" in state:
        state["milestones"] = Counter(state["milestones"])
    sched.load_state_dict(state)


class Trainer:
    """The model, its optimisers, schedulers and loss scalers, and one training iteration.

    Shared by :func:`train_generator` and the GPU benchmark (which times :meth:`step` on one
    fixed batch as the pure-compute figure).
    """

    def __init__(self, opts: MonkeyNetOptions, device: torch.device) -> None:
        self.opts = opts
        self.device = device
        self.amp = bool(opts.amp and device.type == "cuda")
        torch.manual_seed(opts.seed)  # weight initialisation
        self.model = MonkeyNet(opts).to(device)
        parts = [self.model.kp_detector, self.model.generator]
        self.params_g = [p for part in parts if part is not None for p in part.parameters()]
        self.disc = self.model.discriminator
        betas = (0.5, 0.999)
        self.opt_g = torch.optim.Adam(self.params_g, lr=opts.lr, betas=betas)
        self.opt_d = (torch.optim.Adam(self.disc.parameters(), lr=opts.lr, betas=betas)
                      if self.disc is not None else None)
        milestones = sorted({max(1, round(f * opts.iterations)) for f in opts.milestones})
        self.sched_g = torch.optim.lr_scheduler.MultiStepLR(self.opt_g, milestones, gamma=opts.lr_decay)
        self.sched_d = (torch.optim.lr_scheduler.MultiStepLR(self.opt_d, milestones, gamma=opts.lr_decay)
                        if self.opt_d is not None else None)
        self.scaler_g = torch.amp.GradScaler(device.type, enabled=self.amp)
        self.scaler_d = torch.amp.GradScaler(device.type, enabled=self.amp)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def step(self, source: torch.Tensor, driving: torch.Tensor, rng: torch.Generator | None,
             landmarks_source: torch.Tensor | None = None,
             landmarks_driving: torch.Tensor | None = None) -> dict[str, float]:
        """One generator step and (with a discriminator) one discriminator step; the loss values."""
        model, disc, opts = self.model, self.disc, self.opts
        if disc is not None:
            disc.requires_grad_(False)  # G's step must not accumulate D's gradients
        with torch.autocast(self.device.type, enabled=self.amp):
            losses, out = model.generator_losses(source, driving, rng, landmarks_source, landmarks_driving)
        loss_g = sum(losses.values())
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(loss_g).backward()
        _clip(self.scaler_g, self.opt_g, self.params_g, opts.grad_clip)
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        self.sched_g.step()
        values = {k: v.item() for k, v in losses.items()}
        values["generator_total"] = loss_g.item()
        if disc is not None:
            disc.requires_grad_(True)
            with torch.autocast(self.device.type, enabled=self.amp):
                loss_d = model.discriminator_losses(driving, out)["discriminator"]
            self.opt_d.zero_grad(set_to_none=True)
            self.scaler_d.scale(loss_d).backward()
            _clip(self.scaler_d, self.opt_d, list(disc.parameters()), opts.grad_clip)
            self.scaler_d.step(self.opt_d)
            self.scaler_d.update()
            self.sched_d.step()
            values["discriminator"] = loss_d.item()
        return values

    def state_dict(self) -> dict[str, Any]:
        """Everything an interrupted run needs, as tensors, dicts, lists and numbers only."""
        return {
            "model": self.model.state_dict(), "opt_g": self.opt_g.state_dict(),
            "sched_g": _plain_scheduler_state(self.sched_g), "scaler_g": self.scaler_g.state_dict(),
            "opt_d": self.opt_d.state_dict() if self.opt_d else None,
            "sched_d": _plain_scheduler_state(self.sched_d) if self.sched_d else None,
            "scaler_d": self.scaler_d.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.opt_g.load_state_dict(state["opt_g"])
        _load_scheduler_state(self.sched_g, state["sched_g"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        if self.opt_d is not None:
            self.opt_d.load_state_dict(state["opt_d"])
            _load_scheduler_state(self.sched_d, state["sched_d"])
            self.scaler_d.load_state_dict(state["scaler_d"])


def train_generator(videos: TrainingVideos, opts: MonkeyNetOptions, out_dir: str | Path, *,
                    name: str = "monkeynet", meta: dict[str, Any] | None = None,
                    callback: Callable[[int], None] | None = None, progress: bool = True) -> TrainResult:
    """Train on (source, driving) pairs of ``videos`` and write model.pt, losses.csv, losses.png,
    samples.png (and samples/iter_NNNNNN.png every ``sample_every`` iterations).

    ``callback(iteration)`` runs after each iteration (tests use it to simulate a kill).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if opts.needs_landmarks and videos.landmarks is None:
        raise ValueError(f"{opts.landmark_users} needs landmarks for every training video; some have "
                         "none (use keypoint_source: learned and dense_motion.landmark_spline: 0)")
    m = meta or {}
    if "fold" in m:  # train_fold checks before decoding; this covers direct callers
        check_enough_videos(sum(f.shape[0] >= 2 for f in videos.frames), m["fold"], opts.min_train_videos,
                            str(m.get("folds_csv", "")))
    device = torch_device(opts.device)
    trainer = Trainer(opts, device)
    model = trainer.model
    rng = torch.Generator().manual_seed(opts.seed)  # batches and equivariance warps
    sampler = PairSampler(videos, opts.batch_size, hflip=opts.hflip, generator=rng, device=device)
    # Fixed pairs for the sample grids, drawn by their own generator: rendering them must not
    # change the training batches (a resumed run stays identical to an uninterrupted one).
    shown = PairSampler(videos, min(6, opts.batch_size), hflip=False,
                        generator=torch.Generator().manual_seed(opts.seed + 1), device=device).sample()
    title = " ".join(str(p) for p in (name, m.get("dataset"), f"fold {m['fold']}" if "fold" in m else "") if p)

    start, history, window, window_n, elapsed = 0, [], {}, 0, 0.0
    resume_path = out_dir / RESUME_NAME
    fingerprint = {"options": opts.to_dict(), "videos": list(videos.video_ids), "name": name,
                   "code": m.get("code", "")}
    if resume_path.exists():
        # Plain tensors and dicts only (weights_only): a resume file cannot run code on load.
        # On the CPU: the RNG state must stay a CPU tensor; load_state_dict moves the rest.
        state = load_checkpoint(resume_path, writer="the train_generator rule")
        if state.get("fingerprint") != fingerprint:
            log.warning("%s was written for other options, data or code; starting afresh", resume_path)
        else:
            trainer.load_state_dict(state["trainer"])
            rng.set_state(state["rng"])
            start, history, window, window_n, elapsed = (state["iteration"], state["history"], state["window"],
                                                         state["window_n"], state["elapsed"])
            log.info("resuming %s from iteration %d of %d", name, start, opts.iterations)

    def save_resume(iteration: int) -> None:
        torch_save({
            "fingerprint": fingerprint, "iteration": iteration, "trainer": trainer.state_dict(),
            "rng": rng.get_state(), "history": history, "window": window, "window_n": window_n,
            "elapsed": elapsed + time.perf_counter() - t0,
        }, resume_path)

    log.info("training %s on %s (amp=%s): %d iterations, batch %d, %d parameters, keypoints %s (%d)",
             name, device, trainer.amp, opts.iterations, opts.batch_size, trainer.n_parameters,
             opts.keypoint_source, opts.num_keypoints)
    model.train()
    t0 = time.perf_counter()
    bar = tqdm(total=opts.iterations, initial=start, desc=name, file=sys.stderr, disable=not progress,
               mininterval=2.0 if sys.stderr.isatty() else 15.0, dynamic_ncols=False)
    for it in range(start, opts.iterations):
        source, driving, lm_source, lm_driving = sampler.sample()  # [B, 3, S, S], [B, 68, 2]
        values = trainer.step(source, driving, rng, lm_source, lm_driving)
        for k, v in values.items():
            window[k] = window.get(k, 0.0) + v
        window_n += 1
        done = it + 1
        if done % opts.log_every == 0 or done == opts.iterations:
            row = {"iteration": done, "seconds": round(elapsed + time.perf_counter() - t0, 2),
                   "lr": trainer.opt_g.param_groups[0]["lr"], **{k: v / window_n for k, v in window.items()}}
            history.append(row)
            window, window_n = {}, 0
            bar.set_postfix(loss=f"{row['generator_total']:.3f}", refresh=False)
        bar.update(1)
        if opts.sample_every and done % opts.sample_every == 0 and done < opts.iterations:
            write_samples(model, shown, out_dir, done, title=title)
        if done % opts.checkpoint_every == 0 and done < opts.iterations:
            save_resume(done)
        if callback is not None:
            callback(done)
    bar.close()
    seconds = elapsed + time.perf_counter() - t0

    model_path = out_dir / "model.pt"
    table = pd.DataFrame(history)
    write_csv(table, out_dir / "losses.csv", index=False)
    plot_losses(table, out_dir / "losses.png", title=title)
    write_samples(model, shown, out_dir, opts.iterations, title=title)
    disc = trainer.disc
    torch_save({
        "format": CHECKPOINT_FORMAT, "name": name, "options": opts.to_dict(),
        "kp_detector": model.kp_detector.state_dict() if model.kp_detector is not None else None,
        "generator": model.generator.state_dict(),
        "discriminator": disc.state_dict() if disc is not None else None,
        "meta": {**m, "iterations": opts.iterations, "seconds": round(seconds, 1),
                 "device": str(device), "amp": trainer.amp, "video_ids": list(videos.video_ids),
                 "train_subjects": sorted(set(videos.subjects)),
                 "excluded_subjects": list(videos.excluded_subjects)},
    }, model_path)
    resume_path.unlink(missing_ok=True)
    if len(table):
        log.info("done in %.0f s (%.2f it/s this run); generator loss %.4f -> %.4f", seconds,
                 (opts.iterations - start) / max(time.perf_counter() - t0, 1e-9),
                 table["generator_total"].iloc[0], table["generator_total"].iloc[-1])
    return TrainResult(model_path, table, seconds, start)


@torch.no_grad()
def write_samples(model: MonkeyNet, batch: tuple, out_dir: Path, iteration: int, *, title: str = "") -> Path:
    """Reconstructions of fixed training pairs: one row per pair, columns source (learned
    keypoints red, landmark keypoints cyan), driving, the source warped by the flow, the output.
    Written to ``samples/iter_NNNNNN.png`` and copied to ``samples.png`` (the latest)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    source, driving, lm_source, lm_driving = batch
    was_training = model.training
    model.eval()
    try:
        kp_s, _ = model.keypoints(source, lm_source)
        kp_d, _ = model.keypoints(driving, lm_driving)
        out = model.animate(source, kp_s, kp_d, model.spline_maps(source, lm_source, lm_driving),
                            model.mouth_maps(lm_driving, driving.shape[2:]))
    finally:
        model.train(was_training)
    n_learned = model.opts.keypoints if model.opts.uses_learned else 0
    size = source.shape[-1]
    to_px = lambda v: ((v.float().cpu().numpy() + 1) / 2 * (size - 1))  # noqa: E731
    images = [source, driving, out["deformed"], out["prediction"]]
    names = ["source", "driving", "warped source", "generated"]
    rows = source.shape[0]
    fig, axes = plt.subplots(rows, 4, figsize=(4 * 1.6, rows * 1.6), squeeze=False)
    for r in range(rows):
        for c, (img, label) in enumerate(zip(images, names)):
            ax = axes[r, c]
            ax.imshow(img[r].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(label, fontsize=8)
            if c < 2:
                pts = to_px((kp_s if c == 0 else kp_d)["value"][r])
                ax.scatter(pts[:n_learned, 0], pts[:n_learned, 1], s=6, c="red")
                ax.scatter(pts[n_learned:, 0], pts[n_learned:, 1], s=4, c="cyan")
    fig.suptitle(f"{title} - iteration {iteration}", fontsize=9)
    path = save_figure(fig, out_dir / "samples" / f"iter_{iteration:06d}.png", dpi=80)
    with atomic_path(out_dir / "samples.png") as tmp:
        shutil.copyfile(path, tmp)
    return path


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
    save_figure(fig, path, dpi=100)


def train_fold(folds_csv: str | Path, fold: int, out_dir: str | Path, options: dict[str, Any] | None,
               *, name: str = "monkeynet", dataset: str = "", code: str = "") -> TrainResult:
    """Train generator ``name`` on the training videos of ``fold`` (fold != k rows of folds.csv):
    the training entry point the catalog names for ``monkeynet`` and ``fomm`` (``options`` are
    already resolved, ``first_order`` fixed on for fomm). ``code``: the rule's code version, part
    of the resume fingerprint."""
    opts = MonkeyNetOptions.from_dict(options)
    videos = load_training_videos(folds_csv, fold, opts.image_size, min_videos=opts.min_train_videos,
                                  need_landmarks=opts.needs_landmarks)
    return train_generator(videos, opts, out_dir, name=name,
                           meta={"dataset": dataset, "fold": int(fold), "folds_csv": str(folds_csv),
                                 "code": code})
