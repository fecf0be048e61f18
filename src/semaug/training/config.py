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
    """One training job's settings. Defaults are the study's (as the config schema's): 50
    epochs, batch 32, 224 px, every frame, ImageNet weights; config/config.yaml sizes the CPU
    demo down explicitly."""

    epochs: int = 50
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.9
    # Keras' SGD decay, per iteration t: lr_t = lr / (1 + lr_decay · t)
    lr_decay: float = 1e-4
    image_size: int = 224  # the torchvision backbones' ImageNet input
    frames: int | str = "all"  # frame models: "all" (the study: every frame), or k = the last k (the apex)
    clip_frames: int = 8  # clip models: frames per clip, first (neutral) to last (apex)
    lstm_hidden: int = 128  # cnn_lstm: LSTM hidden size
    lstm_backbone: str = "cnn"  # cnn_lstm: per-frame CNN, cnn (Table 3) | mobilenet
    pretrained: str = "imagenet"  # imagenet | none
    augment: Augment = field(default_factory=Augment)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision (CUDA only)
    eval_batch_size: int = 256  # frames per evaluation forward pass (clips: // clip_frames)

    @classmethod
    def from_config(cls, settings: dict[str, Any] | None) -> TrainConfig:
        """From one classifier's resolved settings (:func:`semaug.config.train_settings`: the
        ``train`` block with the ``by_model`` and dataset overrides applied)."""
        train = dict(settings or {})
        if "by_model" in train:
            raise ValueError("TrainConfig.from_config takes one classifier's settings: resolve "
                             "by_model with semaug.config.train_settings(config, model, ds)")
        for key in ("threads", "gpu"):  # Snakemake settings, not training ones
            train.pop(key, None)
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

    def describe(self) -> str:
        """One line of every setting, key=value, for the job's log."""
        parts = []
        for key, value in self.as_dict().items():
            if isinstance(value, dict):
                value = "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
            parts.append(f"{key}={value}")
        return " ".join(parts)
