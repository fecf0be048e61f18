"""The training loop (with resume), evaluation, and one workflow job end to end.

Frame and clip classifiers share all of it: a sample is a frame [3, S, S] or a clip
[T, 3, S, S] (``Classifier.takes_clips``), and only loading (``load_frameset``) and the
per-video vote in ``predict`` (a clip sample already is its video) tell them apart.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm import tqdm

from ..atomic import atomic_path, torch_save
from ..checkpoints import fingerprint_of, load_checkpoint
from ..devices import torch_device
from ..folds import check_no_leak, read_folds, split_fold
from ..metrics import class_order, classification_metrics, evaluation_metrics
from ..models import build_model
from ..models._base import BuildOptions, Classifier, param_groups
from .config import Augment, TrainConfig
from .data import BatchPipeline, FrameSet, load_frameset
from .sgd import SGD

log = logging.getLogger("semaug.training")

RESUME_FILE = "resume.pt"  # inside the output dir; undeclared, so Snakemake leaves it alone


def pick_device(name: str = "auto") -> torch.device:
    """The training device (:func:`semaug.devices.resolve_device`'s rule) as a torch device."""
    return torch_device(name)


def autocast_for(device: torch.device, amp: bool):  # noqa: ANN201
    """Mixed precision on CUDA GPUs with bfloat16 (Ampere and later); float32 elsewhere.

    bf16 has float32's range, so it needs no loss scaling; older GPUs (fp16 only) train in
    float32 rather than carry a loss scaler.
    """
    if device.type != "cuda" or not amp or not torch.cuda.is_bf16_supported():
        return nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16)


def steps_per_epoch(n: int, batch_size: int) -> int:
    # A last batch of one sample is dropped: BatchNorm cannot normalise a single value.
    return n // batch_size + (1 if n % batch_size >= 2 else 0)


def uses_channels_last(model: Classifier, device: torch.device) -> bool:
    """Whether ``model`` and its batches use the channels-last layout on ``device``: frame
    models on CUDA, and on the CPU those whose kernels are faster so (clip models take 5-D
    input, which channels_last does not describe)."""
    if model.takes_clips:
        return False
    return device.type == "cuda" or model.channels_last_on_cpu


def mobilenet_head(dataset: dict[str, Any]) -> str:
    """The study's MobileNet head for ``dataset``: its ``mobilenet_head``, else by format."""
    return dataset.get("mobilenet_head") or ("mug" if dataset.get("format") == "mug" else "ck")


def build_classifier(model_name: str, cfg: TrainConfig, num_classes: int, head: str,
                     device: torch.device) -> Classifier:
    """``model_name`` built from the training settings, on ``device``, in its memory layout."""
    model = build_model(model_name, BuildOptions(
        num_classes=num_classes, image_size=cfg.image_size,
        pretrained=cfg.pretrained == "imagenet", head=head,
        lstm_hidden=cfg.lstm_hidden, lstm_backbone=cfg.lstm_backbone,
    ))
    model.to(device)
    if uses_channels_last(model, device):
        model.to(memory_format=torch.channels_last)
    return model


def load_samples(table: pd.DataFrame, classes: Sequence[str], cfg: TrainConfig,
                 model: Classifier, device: torch.device) -> FrameSet:
    """The samples ``model`` trains or is tested on: one clip of ``cfg.clip_frames`` per video
    for clip models, ``cfg.frames`` frames per video for frame models."""
    return load_frameset(table, classes, frames=cfg.frames, image_size=cfg.image_size,
                         device=device, clip_frames=cfg.clip_frames if model.takes_clips else None)


def score(model: Classifier, predictions: pd.DataFrame, classes: Sequence[str]) -> dict[str, Any]:
    """metrics.json of a predictions table: video level, plus frame level for frame models
    (clip models have no per-frame predictions)."""
    videos = predictions[predictions["level"] == "video"]
    if model.takes_clips:
        return classification_metrics(videos["label"], videos["pred"], classes)
    frames = predictions[predictions["level"] == "frame"]
    return evaluation_metrics(videos["label"], videos["pred"], frames["label"], frames["pred"],
                              classes)


def pipeline_for(model: Classifier, data: FrameSet, augment: Augment | None) -> BatchPipeline:
    """The batch pipeline feeding ``model``: its normalisation, in its memory layout."""
    if model.takes_clips != data.clips:
        raise ValueError(f"{type(model).__name__} takes {'clips' if model.takes_clips else 'frames'}"
                         f" but the data holds {'clips' if data.clips else 'frames'}: load it "
                         "with load_frameset(..., clip_frames=T) for clip models, without for frame ones")
    return BatchPipeline(data.device, augment, mean=model.mean, std=model.std,
                         channels_last=uses_channels_last(model, data.device))


def train_step(model: Classifier, opt: SGD, x: Tensor, y: Tensor, amp: bool = True
               ) -> tuple[Tensor, Tensor]:
    """One SGD step on a batch x [B, 3, S, S] or [B, T, 3, S, S] (normalised), y [B];
    returns (loss, logits)."""
    with autocast_for(x.device, amp):
        logits = model(x)  # [B, C]
    loss = F.cross_entropy(logits.float(), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.detach(), logits.detach()


def fit(
    model: Classifier,
    data: FrameSet,
    cfg: TrainConfig,
    *,
    seed: int,
    resume_path: str | os.PathLike | None = None,
    fingerprint: str = "",
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
) -> pd.DataFrame:
    """Train ``model`` (already on ``data.device``) with SGD + momentum + Keras-style decay.

    The state after every epoch goes to ``resume_path``; if that file holds a state with the
    same ``fingerprint``, training continues from it (same RNG streams, so the result equals
    an uninterrupted run). Returns the history: epoch, loss, accuracy, lr, seconds.
    """
    device = data.device
    gen = torch.Generator().manual_seed(seed)  # shuffling + augmentation, drawn on the CPU
    opt = SGD(param_groups(model), lr=cfg.lr, momentum=cfg.momentum, decay=cfg.lr_decay)
    pipeline = pipeline_for(model, data, cfg.augment)
    history: list[dict[str, float]] = []
    start = 0

    resume_path = Path(resume_path) if resume_path else None
    if resume_path is not None and resume_path.exists():
        # CPU first: RNG states must stay CPU tensors; weights and buffers are copied over below
        state = load_checkpoint(resume_path, writer="the train rule")  # tensors only
        if state.get("fingerprint") == fingerprint:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            gen.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])  # dropout draws from the global stream
            if device.type == "cuda" and state.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(state["cuda_rng"], device)
            history, start = state["history"], state["epoch"]
            log.info("resuming from %s after epoch %d of %d", resume_path, start, cfg.epochs)
        else:
            log.info("%s belongs to other settings, data or code: starting over", resume_path)

    n, bs = len(data), cfg.batch_size
    n_steps = steps_per_epoch(n, bs)
    bar = tqdm(total=cfg.epochs * n_steps, initial=start * n_steps, desc="train", unit="step",
               file=sys.stderr, mininterval=2.0, dynamic_ncols=False, ascii=True)
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=gen).to(device)  # [N] one transfer per epoch
        aug = pipeline.draw(n, gen).to(device)  # [N, 4]
        loss_sum = torch.zeros((), device=device)  # accumulated on the device: no sync per step
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        for step in range(n_steps):
            ids = order[step * bs:(step + 1) * bs]  # [B]
            # [B, 3, S, S], or clips [B, T, 3, S, S]
            x = pipeline(data.store[data.index[ids]], aug[step * bs:(step + 1) * bs])
            y = data.labels[ids]  # [B]
            loss, logits = train_step(model, opt, x, y, cfg.amp)
            loss_sum += loss * len(ids)
            correct += (logits.argmax(1) == y).sum()
            seen += len(ids)
            bar.update()
        row = {"epoch": epoch + 1, "loss": loss_sum.item() / seen,
               "accuracy": correct.item() / seen, "lr": opt.lr,
               "seconds": time.perf_counter() - t0}
        history.append(row)
        bar.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['accuracy']:.3f}", refresh=False)
        log.info("epoch %d/%d loss %.4f accuracy %.4f (%.1f s)", row["epoch"], cfg.epochs,
                 row["loss"], row["accuracy"], row["seconds"])
        if resume_path is not None:
            torch_save({
                "fingerprint": fingerprint, "epoch": epoch + 1, "history": history,
                "model": model.state_dict(), "optimizer": opt.state_dict(),
                "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            }, resume_path)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, row)
    bar.close()
    return pd.DataFrame(history, columns=["epoch", "loss", "accuracy", "lr", "seconds"])


@torch.no_grad()
def predict(model: Classifier, data: FrameSet, cfg: TrainConfig) -> tuple[Tensor, Tensor]:
    """Softmax per sample float32 [N, C] and per video [V, C], on the CPU. A video's is the
    mean over its frame samples; a clip sample is a whole video, so there they are the same."""
    model.eval()
    pipeline = pipeline_for(model, data, None)
    # eval_batch_size counts frames, so a batch of clips holds as many frames as one of frames
    per_sample = data.index.shape[1] if data.clips else 1
    batch = max(1, cfg.eval_batch_size // per_sample)
    probs = []
    for start in range(0, len(data), batch):
        idx = data.index[start:start + batch]
        with autocast_for(data.device, cfg.amp):
            logits = model(pipeline(data.store[idx]))
        probs.append(logits.float().softmax(1))
    frame_probs = torch.cat(probs)  # [N, C]; clips: one per video, the mean below keeps it
    n_videos = len(data.video_ids)
    sums = torch.zeros(n_videos, frame_probs.shape[1], device=frame_probs.device)
    sums.index_add_(0, data.video, frame_probs)
    counts = torch.bincount(data.video, minlength=n_videos).clamp(min=1)
    return frame_probs.cpu(), (sums / counts[:, None]).cpu()


def prediction_table(data: FrameSet, frame_probs: Tensor, video_probs: Tensor,
                     classes: Sequence[str]) -> pd.DataFrame:
    """predictions.csv: one row per frame (level=frame) and per video (level=video); clip
    models classify whole videos, so theirs has video rows only (same columns)."""
    names = np.asarray(classes)
    videos = pd.DataFrame({
        "level": "video",
        "video_id": data.video_ids,
        "frame": -1,
        "label": names[data.video_labels],
        "pred": names[video_probs.argmax(1).numpy()],
    })
    if data.clips:
        table, probs = videos, video_probs.numpy()
    else:
        video_of = data.video.cpu().numpy()
        frames = pd.DataFrame({
            "level": "frame",
            "video_id": np.asarray(data.video_ids)[video_of],
            "frame": data.frame_numbers,
            "label": names[data.labels.cpu().numpy()],
            "pred": names[frame_probs.argmax(1).numpy()],
        })
        table = pd.concat([frames, videos], ignore_index=True)
        probs = torch.cat([frame_probs, video_probs]).numpy()
    for i, c in enumerate(classes):
        table[f"p_{c}"] = np.round(probs[:, i], 6)
    return table


def train_job(
    *,
    manifest: str | os.PathLike,
    folds: str | os.PathLike,
    fold: int,
    model_name: str,
    dataset: dict[str, Any],
    cfg: TrainConfig,
    seed: int,
    out_dir: str | os.PathLike,
    code: str = "",
) -> dict[str, Any]:
    """One (dataset, fold, model, scenario, seed) job: train on the manifest, test on the fold.

    Writes ``model.pt, history.csv, predictions.csv, metrics.json`` in ``out_dir``; returns
    the metrics. ``code``: the library code version, part of the resume fingerprint (a job
    killed and rerun after a code edit starts over instead of continuing the old code's run).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # First line of the log: what this job trains with, defaults included, so a run on real
    # data without a `train:` block shows the study's settings it got.
    log.info("training %s (fold %d, seed %d) with %s", model_name, fold, seed, cfg.describe())
    device = pick_device(cfg.device)
    dtypes = {"video_id": str, "subject": str, "driver_subject": str, "label": str}
    train_table = pd.read_csv(manifest, dtype=dtypes, keep_default_na=False)
    folds_table = read_folds(folds)
    _, test_table = split_fold(folds_table, fold)
    # The manifest was checked when written; a hand-edited one must not train on test faces.
    faces = [train_table[c] for c in ("subject", "driver_subject") if c in train_table]
    check_no_leak(pd.concat(faces), test_table, str(manifest))
    classes = class_order(dataset, folds_table["label"])
    head = mobilenet_head(dataset)
    log.info("device %s; %d classes %s", device, len(classes), classes)

    torch.manual_seed(seed)  # model initialisation and dropout
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    model = build_classifier(model_name, cfg, len(classes), head, device)
    for note in model.notes:
        log.info("%s", note)
    log.info("%s", model.summary())

    t0 = time.perf_counter()
    train = load_samples(train_table, classes, cfg, model, device)
    test = load_samples(test_table, classes, cfg, model, device)
    kind = f"clips of {cfg.clip_frames} frames" if model.takes_clips else "frames"
    log.info("loaded %d training %s (%d videos, %d distinct frames) and %d test %s "
             "(%d videos) in %.1f s", len(train), kind, len(train.video_ids), train.store.shape[0],
             len(test), kind, len(test.video_ids), time.perf_counter() - t0)

    fingerprint = fingerprint_of(
        settings=cfg.as_dict(), model=model_name, head=head, classes=classes, seed=seed, code=code,
        train=train_table[["video_id", "path", "label"]].values.tolist(),
    )
    resume = out / RESUME_FILE
    history = fit(model, train, cfg, seed=seed, resume_path=resume, fingerprint=fingerprint)
    with atomic_path(out / "history.csv") as tmp:
        history.to_csv(tmp, index=False)
    torch_save({"model": model_name, "head": head, "classes": classes, "seed": seed,
                "train": cfg.as_dict(), "state_dict": model.state_dict()}, out / "model.pt")

    frame_probs, video_probs = predict(model, test, cfg)
    predictions = prediction_table(test, frame_probs, video_probs, classes)
    if "subject" in test_table:  # the paired statistics resample test subjects
        subject_of = test_table.drop_duplicates("video_id").set_index("video_id")["subject"]
        predictions.insert(2, "subject", predictions["video_id"].map(subject_of))
    with atomic_path(out / "predictions.csv") as tmp:
        predictions.to_csv(tmp, index=False)
    metrics = score(model, predictions, classes)
    with atomic_path(out / "metrics.json") as tmp:  # written last: the job's completion mark
        tmp.write_text(json.dumps(metrics, indent=1))
    resume.unlink(missing_ok=True)  # done: a rerun (new settings, --forcerun) starts afresh
    frame_scores = (f" (frames: {metrics['frames']['normalized_accuracy']:.4f}, "
                    f"{metrics['frames']['accuracy']:.4f})" if "frames" in metrics else "")
    log.info("video-level normalized accuracy %.4f, accuracy %.4f%s",
             metrics["normalized_accuracy"], metrics["accuracy"], frame_scores)
    return metrics
