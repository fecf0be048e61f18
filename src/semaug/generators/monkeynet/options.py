"""Hyperparameters of the model, its training and its motion transfer, with the defaults of the
CPU demo.

This module is the single source of the option names, defaults and descriptions: every field
carries ``metadata["description"]`` and, where the value is constrained, ``metadata["schema"]``
(JSON-schema keywords such as ``enum`` or ``minimum``), from which the ``generators.monkeynet``
block of the workflow config schema is written (:func:`schema_properties`). A test keeps the
two in step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

KEYPOINT_SOURCES = ("learned", "landmarks", "mixed")
TRANSFER_MODES = ("relative", "absolute")
DRIVER_FRAMES = ("first", "best")

# iBUG indices of the landmark keypoints (keypoint_source: landmarks | mixed): where expressions
# move the face, mirror-symmetric. Brows (3 a side), eyelids (upper and lower, a side), nose
# wings and tip, the outer lips (corners, top, bottom and their neighbours), the inner lips'
# midpoints (mouth opening) and three jaw points (jaw drop).
LANDMARK_KEYPOINTS = (
    17, 19, 21, 22, 24, 26,  # brows
    37, 41, 44, 46,  # eyelids
    30, 31, 35,  # nose tip and wings (nose wrinkler)
    48, 50, 51, 52, 54, 56, 57, 58,  # outer lips
    62, 66,  # inner lips
    4, 8, 12,  # jaw
)


def opt(default: Any, description: str, **schema: Any) -> Any:
    """A dataclass field with its description (and JSON-schema constraints) as metadata.

    Lists get a default_factory, so no two option objects share one list.
    """
    meta = {"description": description, "schema": schema}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: list(default) if isinstance(default, list) else dict(default),
                     metadata=meta)
    return field(default=default, metadata=meta)


def group(cls: type, description: str = "") -> Any:
    """A nested option group (a sub-dataclass with its own defaults)."""
    return field(default_factory=cls, metadata={"description": description, "schema": {}})


@dataclass
class KeypointOptions:
    block_expansion: int = opt(16, "hourglass width of the first level (doubles per level)", minimum=1)
    max_features: int = opt(64, "hourglass width cap", minimum=1)
    num_blocks: int = opt(3, "hourglass levels; image_size * scale must be divisible by 2**num_blocks",
                          minimum=1)
    scale: float = opt(0.25, "the detector and the dense motion network run at scale * image_size "
                             "(FOMM: 64 px for 256)", exclusiveMinimum=0, maximum=1)
    temperature: float = opt(0.1, "heatmap softmax temperature", exclusiveMinimum=0)


@dataclass
class DenseMotionOptions:
    block_expansion: int = opt(16, "hourglass width of the first level", minimum=1)
    max_features: int = opt(64, "hourglass width cap", minimum=1)
    num_blocks: int = opt(3, "hourglass levels", minimum=1)
    kp_variance: float = opt(0.01, "variance of the keypoint Gaussians on [-1,1] coordinates "
                                   "(FOMM: fixed 0.01)", exclusiveMinimum=0)
    occlusion: bool = opt(True, "predict an occlusion map that gates the warped features")
    mask_prior: float = opt(0.0, "added to keypoint k's mask logit: mask_prior x its Gaussian at the "
                                 "driving keypoint, so from the first iteration each keypoint's motion "
                                 "moves the pixels around it (a Gaussian-weighted keypoint warp the "
                                 "network then refines) instead of masks learned from nothing; "
                                 "0 = off (Monkey-Net, FOMM)", minimum=0)
    landmark_spline: float = opt(0.0, "one more candidate warp: landmark_warp's thin-plate spline through "
                                      "the 68 dataset landmarks (the driving frame's in training, the "
                                      "transfer targets at synthesis), with this starting mask logit "
                                      "(10: it carries the motion from the first iteration and the "
                                      "network learns where keypoint warps, the background or the "
                                      "decoder do better; TPSMM's spline candidates, driven by "
                                      "landmarks). Needs landmarks; 0 = off", minimum=0)


@dataclass
class GeneratorOptions:
    block_expansion: int = opt(16, "encoder width of the first level", minimum=1)
    max_features: int = opt(64, "encoder width cap", minimum=1)
    down_blocks: int = opt(2, "encoder down-samplings before the warp", minimum=1)
    res_blocks: int = opt(2, "residual blocks after the warp (FOMM: 6)", minimum=0)
    warped_skip: bool = opt(True, "Monkey-Net's full-resolution skip: the flow-warped source, "
                                  "blended in by a learned gate")
    mouth_mask: bool = opt(False, "the last layer also sees the inner-lip polygon of the frame to render "
                                  "(its landmarks in training, the transfer targets at synthesis), so "
                                  "that it learns to paint the mouth interior a warp cannot bring where "
                                  "the driver's mouth opens wider than the source's (landmark_warp's "
                                  "mouth_fill, learned). Needs landmarks")


@dataclass
class DiscriminatorOptions:
    block_expansion: int = opt(16, "width of the first block", minimum=1)
    max_features: int = opt(64, "width cap", minimum=1)
    num_blocks: int = opt(3, "conv blocks per scale", minimum=1)
    scales: list[float] = opt([1.0, 0.5], "image scales of the patch discriminators", type="array",
                              items={"type": "number", "exclusiveMinimum": 0, "maximum": 1}, minItems=1)


@dataclass
class LossWeights:
    reconstruction: float = opt(10.0, "L1 per pyramid level", minimum=0)
    ssim: float = opt(5.0, "(1 - SSIM) / 2 per pyramid level", minimum=0)
    gradient: float = opt(5.0, "L1 of image gradients per pyramid level", minimum=0)
    feature_matching: float = opt(10.0, "L1 of discriminator features, per layer and scale", minimum=0)
    gan: float = opt(1.0, "LSGAN, generator side", minimum=0)
    equivariance_value: float = opt(10.0, "keypoint equivariance under a random affine + TPS warp "
                                          "(learned keypoints only)", minimum=0)
    equivariance_jacobian: float = opt(10.0, "Jacobian equivariance (first_order only)", minimum=0)


@dataclass
class TransformOptions:
    sigma_affine: float = opt(0.05, "std of the affine part of the equivariance warp", minimum=0)
    sigma_tps: float = opt(0.005, "std of the thin-plate-spline part of the equivariance warp", minimum=0)
    points_tps: int = opt(5, "TPS control grid side", minimum=2)


@dataclass
class TransferOptions:
    """How a driving video's motion is put on the source at synthesis time (FOMM's demo options)."""

    mode: str = opt("relative", "relative: source keypoints + the driver's motion since its "
                                "reference frame (FOMM's --relative, needs a reference frame in the "
                                "source's pose); absolute: the driver's keypoints as they are (also "
                                "transfers the driver's face shape)", enum=list(TRANSFER_MODES))
    adapt_scale: bool = opt(True, "relative mode: scale the learned keypoints' motion by sqrt(convex-hull "
                                  "area of the source keypoints / that of the driver's reference "
                                  "frame) (FOMM's --adapt_scale). Landmark keypoints are always "
                                  "scaled by the inter-ocular ratio")
    driver_frame: str = opt("first", "the driver's reference frame: first, or best = the frame whose "
                                     "normalised landmarks are nearest the source's (FOMM's "
                                     "--find_best_frame; the video is animated forward and backward "
                                     "from it)", enum=list(DRIVER_FRAMES))
    register: bool = opt(True, "relative mode: similarity-align each driving frame to the reference "
                               "frame on ibug.RIGID_POINTS (eye corners + nasion) before measuring "
                               "its motion, as landmark_warp does, so the driver's head motion is "
                               "not transferred as expression")


@dataclass
class MonkeyNetOptions:
    keypoints: int = opt(10, "self-supervised keypoints K (every published config: 10); unused with "
                             "keypoint_source: landmarks", minimum=1)
    keypoint_source: str = opt(
        "learned", "what drives the dense motion network: learned (self-supervised keypoints), "
                   "landmarks (the dataset's landmarks at landmark_points, as Gaussians like the "
                   "learned ones) or mixed (both: K learned + the landmark points)",
        enum=list(KEYPOINT_SOURCES))
    landmark_points: list[int] = opt(
        list(LANDMARK_KEYPOINTS), "iBUG indices (0-67) of the landmark keypoints (keypoint_source: "
                                  "landmarks | mixed); default: brows, eyelids, nose, lips, jaw",
        type="array", items={"type": "integer", "minimum": 0, "maximum": 67}, minItems=1, uniqueItems=True)
    first_order: bool = opt(False, "FOMM's local affine Jacobians per keypoint (always on for gen = "
                                   "fomm; landmark keypoints carry the identity)")
    image_size: int = opt(64, "side of the square frames the model works at, pixels (crops are "
                              "resized to it)", minimum=16, multipleOf=16)
    norm: str = opt("instance", "normalisation in every block (instance: small batches; batch: the "
                                "published choice)", enum=["instance", "batch", "group", "none"])
    keypoint_detector: KeypointOptions = group(KeypointOptions)
    dense_motion: DenseMotionOptions = group(DenseMotionOptions)
    generator: GeneratorOptions = group(GeneratorOptions)
    discriminator: DiscriminatorOptions = group(DiscriminatorOptions)
    loss_weights: LossWeights = group(LossWeights, "0 turns a term off; gan = feature_matching = 0 "
                                                   "drops the discriminator")
    transform: TransformOptions = group(TransformOptions, "the random warp of the equivariance losses "
                                                          "(FOMM's values)")
    transfer: TransferOptions = group(TransferOptions, "motion transfer at synthesis time")
    pyramid_scales: list[float] = opt([1.0, 0.5, 0.25], "image scales of the reconstruction losses",
                                      type="array", items={"type": "number", "exclusiveMinimum": 0,
                                                           "maximum": 1}, minItems=1)
    iterations: int = opt(300, "training iterations (one batch of frame pairs each)", minimum=1)
    batch_size: int = opt(8, "frame pairs per iteration", minimum=1)
    lr: float = opt(2e-4, "Adam learning rate (betas fixed at the published 0.5, 0.999)", exclusiveMinimum=0)
    milestones: list[float] = opt([0.6, 0.9], "learning rate x lr_decay at these fractions of the "
                                              "iterations (FOMM: epochs 60 and 90 of 100)", type="array",
                                  items={"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1})
    lr_decay: float = opt(0.1, "learning-rate factor at each milestone", exclusiveMinimum=0, maximum=1)
    grad_clip: float = opt(10.0, "max gradient norm per optimiser; 0 = off", minimum=0)
    hflip: bool = opt(True, "flip both frames of a pair horizontally with probability 1/2")
    min_train_videos: int = opt(8, "fewest training videos (with >= 2 frames) a fold may have; fewer "
                                   "stops the training job with an error before any work", minimum=1)
    checkpoint_every: int = opt(100, "iterations between resume states (resume.pt beside model.pt)",
                                minimum=1)
    log_every: int = opt(10, "iterations averaged into one row of losses.csv", minimum=1)
    sample_every: int = opt(100, "iterations between sample grids of reconstructions (samples.png, "
                                 "and samples/iter_NNNNNN.png); 0 = only at the end", minimum=0)
    seed: int = opt(0, "seed of the weights, the frame pairs and the equivariance warps")
    device: str = opt("auto", "auto: CUDA when present, else CPU", type="string",
                      pattern="^(auto|cpu|cuda(:[0-9]+)?)$")
    amp: bool = opt(True, "mixed precision on CUDA (fp16 with loss scaling; inverses and solves in fp32)")
    inference_batch_size: int = opt(32, "frames per generator batch when synthesising", minimum=1)
    threads: int = opt(1, "CPU threads of a training job (torch's intra-op threads spin-wait: more "
                          "threads than free cores is several times slower)", minimum=1)

    def __post_init__(self) -> None:
        for name, allowed in (("keypoint_source", KEYPOINT_SOURCES), ("transfer.mode", TRANSFER_MODES),
                              ("transfer.driver_frame", DRIVER_FRAMES)):
            value = getattr(self.transfer, name.split(".")[1]) if "." in name else getattr(self, name)
            if value not in allowed:
                raise ValueError(f"generators.monkeynet.{name}: {value!r} is not one of {list(allowed)}")
        self._check_sizes()
        bad = [p for p in self.landmark_points if not 0 <= int(p) < 68]
        if bad or len(set(self.landmark_points)) != len(self.landmark_points):
            raise ValueError(f"generators.monkeynet.landmark_points: expected distinct iBUG indices "
                             f"0-67, got {self.landmark_points}")

    def _check_sizes(self) -> None:
        """Fail on sizes the networks cannot take, naming the keys (not a conv error mid-run)."""
        side = self.image_size * self.keypoint_detector.scale
        for block, levels in (("keypoint_detector", self.keypoint_detector.num_blocks),
                              ("dense_motion", self.dense_motion.num_blocks)):
            if side != int(side) or int(side) % 2**levels:
                raise ValueError(f"generators.monkeynet: image_size * keypoint_detector.scale = {side:g} px "
                                 f"must be divisible by 2**{block}.num_blocks = {2**levels}; lower "
                                 f"{block}.num_blocks or raise image_size or the scale")
        if self.loss_weights.gan > 0 or self.loss_weights.feature_matching > 0:
            d = self.discriminator
            for scale in d.scales:
                px = int(self.image_size * scale)
                for i in range(d.num_blocks):  # conv 4x4 (valid), then avgpool 2 but after the last
                    px -= 3
                    if px < 1:
                        raise ValueError(
                            f"generators.monkeynet.discriminator: {d.num_blocks} blocks do not fit "
                            f"{int(self.image_size * scale)}-px frames (scale {scale} of image_size "
                            f"{self.image_size}); lower discriminator.num_blocks or drop that scale")
                    px = px // 2 if i < d.num_blocks - 1 else px

    @property
    def uses_learned(self) -> bool:
        """Whether a keypoint detector is trained (keypoint_source learned or mixed)."""
        return self.keypoint_source in ("learned", "mixed")

    @property
    def uses_landmarks(self) -> bool:
        """Whether dataset landmarks drive the model (keypoint_source landmarks or mixed)."""
        return self.keypoint_source in ("landmarks", "mixed")

    @property
    def needs_landmarks(self) -> bool:
        """Whether training and synthesis need the frames' landmarks (landmark keypoints, the
        landmark spline or the mouth mask)."""
        return self.uses_landmarks or self.dense_motion.landmark_spline > 0 or self.generator.mouth_mask

    @property
    def landmark_users(self) -> str:
        """The options that need landmarks, for error messages ("" when none does)."""
        users = [f"keypoint_source {self.keypoint_source!r}"] if self.uses_landmarks else []
        if self.dense_motion.landmark_spline > 0:
            users.append("dense_motion.landmark_spline")
        if self.generator.mouth_mask:
            users.append("generator.mouth_mask")
        return " and ".join(users)

    @property
    def num_keypoints(self) -> int:
        """Keypoints the dense motion network sees: learned ones first, then landmark ones."""
        return self.keypoints * self.uses_learned + len(self.landmark_points) * self.uses_landmarks

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
    "loss_weights": LossWeights, "transform": TransformOptions, "transfer": TransferOptions,
}


def _build(cls: type, values: dict[str, Any]) -> Any:
    kwargs = {f.name: values[f.name] for f in dataclasses.fields(cls)}
    for name, sub in _NESTED.items():
        if name in kwargs:
            kwargs[name] = sub(**kwargs[name])
    return cls(**kwargs)


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def schema_properties(cls: type = MonkeyNetOptions) -> dict[str, Any]:
    """The JSON-schema ``properties`` of an options dataclass, from its fields' metadata: type,
    default, description and constraints; nested groups become objects with ``default: {}``."""
    props: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if f.name in _NESTED:
            node: dict[str, Any] = {"type": "object", "additionalProperties": False, "default": {}}
            if meta.get("description"):
                node["description"] = meta["description"]
            node["properties"] = schema_properties(_NESTED[f.name])
            props[f.name] = node
            continue
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        schema = dict(meta.get("schema", {}))
        if "enum" not in schema and "type" not in schema:
            schema["type"] = _JSON_TYPES[type(default)]
        props[f.name] = {**schema, "default": default, "description": meta["description"]}
    return props
