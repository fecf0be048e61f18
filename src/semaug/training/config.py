"""Training settings: the validated ``train`` block of the workflow config as a dataclass."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Augment:
    """Train-time augmentation, drawn per frame and applied on the device (one affine warp)."""

    hflip: float = 0.5  # probability of a horizontal flip
    shift: float = 0.05  # max translation, fraction of the image side
    scale: float = 0.05  # max zoom in/out, fraction

    @property
    def enabled(self) -> bool:
        return self.hflip > 0 or self.shift > 0 or self.scale > 0


@dataclass(frozen=True)
class TrainConfig:
    """One training job's settings. Defaults are sized for the CPU demo; config/paper.yaml
    carries the study's (50 epochs, batch 32, 224 px, all frames, ImageNet weights)."""

    epochs: int = 3
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.9
    # Keras' SGD decay, per iteration t: lr_t = lr / (1 + lr_decay · t)
    lr_decay: float = 1e-4
    image_size: int = 48
    frames: int | str = 3  # frame models: "all", or k = the last k frames of each video (the apex)
    clip_frames: int = 8  # clip models: frames per clip, first (neutral) to last (apex)
    lstm_hidden: int = 128  # cnn_lstm: LSTM hidden size
    lstm_backbone: str = "cnn"  # cnn_lstm: per-frame CNN, cnn (Table 3) | mobilenet
    pretrained: str = "none"  # imagenet | none
    augment: Augment = field(default_factory=Augment)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision (CUDA only)
    eval_batch_size: int = 256  # frames per evaluation forward pass (clips: // clip_frames)

    @classmethod
    def from_config(cls, train: dict[str, Any] | None, model: str | None = None) -> TrainConfig:
        """From the config's ``train`` block; ``by_model[model]`` entries override."""
        train = dict(train or {})
        by_model = train.pop("by_model", {}) or {}
        for key in ("threads", "gpu"):  # Snakemake settings, not training ones
            train.pop(key, None)
        if model is not None:
            train.update(by_model.get(model, {}))
        if "augment" in train:
            train["augment"] = Augment(**{**dataclasses.asdict(Augment()), **train["augment"]})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(train) - known
        if unknown:
            raise ValueError(f"unknown train settings: {sorted(unknown)}")
        cfg = cls(**train)
        if cfg.frames != "all" and (not isinstance(cfg.frames, int) or cfg.frames < 1):
            raise ValueError(f"train.frames must be 'all' or a positive integer, got {cfg.frames!r}")
        if not isinstance(cfg.clip_frames, int) or cfg.clip_frames < 2:
            raise ValueError("train.clip_frames must be an integer >= 2 (the first and the last "
                             f"frame at least), got {cfg.clip_frames!r}")
        if cfg.pretrained not in ("imagenet", "none"):
            raise ValueError(f"train.pretrained must be imagenet or none, got {cfg.pretrained!r}")
        return cfg

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
