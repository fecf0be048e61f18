"""Hyperparameters of the model and its training, with the defaults of the CPU demo.

The same keys (and defaults) form the ``generators.monkeynet`` block of the workflow config
schema; a test keeps the two in step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class KeypointOptions:
    block_expansion: int = 16
    max_features: int = 64
    num_blocks: int = 3
    scale: float = 0.25  # the detector and the dense motion run at scale x image_size
    temperature: float = 0.1


@dataclass
class DenseMotionOptions:
    block_expansion: int = 16
    max_features: int = 64
    num_blocks: int = 3
    kp_variance: float = 0.01
    occlusion: bool = True


@dataclass
class GeneratorOptions:
    block_expansion: int = 16
    max_features: int = 64
    down_blocks: int = 2
    res_blocks: int = 2
    warped_skip: bool = True


@dataclass
class DiscriminatorOptions:
    block_expansion: int = 16
    max_features: int = 64
    num_blocks: int = 3
    scales: list[float] = field(default_factory=lambda: [1.0, 0.5])


@dataclass
class LossWeights:
    reconstruction: float = 10.0  # L1 per pyramid level
    ssim: float = 5.0  # (1 - SSIM) / 2 per pyramid level
    gradient: float = 5.0  # L1 of image gradients per pyramid level
    feature_matching: float = 10.0  # per discriminator layer
    gan: float = 1.0  # LSGAN, generator side
    equivariance_value: float = 10.0
    equivariance_jacobian: float = 10.0


@dataclass
class TransformOptions:
    sigma_affine: float = 0.05
    sigma_tps: float = 0.005
    points_tps: int = 5


@dataclass
class MonkeyNetOptions:
    keypoints: int = 10
    first_order: bool = False  # FOMM's local affine Jacobians (gen = fomm)
    image_size: int = 64
    norm: str = "instance"
    keypoint_detector: KeypointOptions = field(default_factory=KeypointOptions)
    dense_motion: DenseMotionOptions = field(default_factory=DenseMotionOptions)
    generator: GeneratorOptions = field(default_factory=GeneratorOptions)
    discriminator: DiscriminatorOptions = field(default_factory=DiscriminatorOptions)
    loss_weights: LossWeights = field(default_factory=LossWeights)
    transform: TransformOptions = field(default_factory=TransformOptions)
    pyramid_scales: list[float] = field(default_factory=lambda: [1.0, 0.5, 0.25])
    iterations: int = 300
    batch_size: int = 8
    lr: float = 2e-4
    milestones: list[float] = field(default_factory=lambda: [0.6, 0.9])  # fractions of iterations
    lr_decay: float = 0.1
    grad_clip: float = 10.0  # max gradient norm per optimiser; 0 = off
    hflip: bool = True
    checkpoint_every: int = 100
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # mixed precision, CUDA only
    inference_batch_size: int = 32
    threads: int = 1  # CPU threads of a training job (the rule's `threads`)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None = None, **overrides: Any) -> "MonkeyNetOptions":
        """Options from a (possibly partial, possibly nested) dict; unknown keys are errors."""
        merged = _merge(to_dict(cls()), dict(values or {}), "generators.monkeynet")
        merged = _merge(merged, overrides, "generators.monkeynet")
        return _build(cls, merged)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def to_dict(opts: Any) -> dict[str, Any]:
    return dataclasses.asdict(opts)


def _merge(base: dict[str, Any], update: dict[str, Any], path: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if key not in base:
            raise ValueError(f"{path}.{key}: unknown option (known: {', '.join(sorted(base))})")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ValueError(f"{path}.{key}: expected a mapping, got {value!r}")
            out[key] = _merge(base[key], value, f"{path}.{key}")
        else:
            out[key] = value
    return out


_NESTED: dict[str, type] = {
    "keypoint_detector": KeypointOptions, "dense_motion": DenseMotionOptions,
    "generator": GeneratorOptions, "discriminator": DiscriminatorOptions,
    "loss_weights": LossWeights, "transform": TransformOptions,
}


def _build(cls: type, values: dict[str, Any]) -> Any:
    kwargs = {f.name: values[f.name] for f in dataclasses.fields(cls)}
    for name, sub in _NESTED.items():
        if name in kwargs:
            kwargs[name] = sub(**kwargs[name])
    return cls(**kwargs)
