"""What every classifier shares: build options, the input contract (frames or clips), the
Keras-to-PyTorch mappings, freezing, pretrained weights.

Keras → PyTorch, as the study's Keras models are rebuilt here:

* BatchNormalization(momentum=m): Keras updates ``moving = m·moving + (1−m)·batch``, PyTorch
  ``running = (1−p)·running + p·batch``, so ``p = 1 − m`` (Keras 0.99 → torch 0.01). Keras'
  default epsilon is 1e-3 (torch: 1e-5); the heads use 1e-3 as Keras did.
* kernel_regularizer=l2(λ): Keras adds ``λ·Σw²`` to the loss, i.e. ``2λ·w`` to the gradient.
  torch.optim.SGD's ``weight_decay=wd`` adds ``wd·w`` to the gradient *before* momentum, so
  ``wd = 2λ`` on that layer's kernel only (Keras regularises the kernel, not the bias) gives
  the same update, momentum included. (This equivalence holds for SGD, not for Adam/AdamW.)
* Dense/Conv2D initialisation: Keras' glorot_uniform kernels and zero biases.
* Dropout(r): same meaning (r = probability of dropping).
* ``layer.trainable = False``: ``requires_grad = False``. A frozen BatchNorm also keeps its
  running statistics (eval mode even while training), so frozen really means unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

log = logging.getLogger("semaug.models")

# torchvision's ImageNet weights expect inputs normalised with these (RGB, [0, 1] scale).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BuildOptions:
    """What a model builder needs to know."""

    num_classes: int
    image_size: int = 64  # side of the square input, pixels
    pretrained: bool = False  # torchvision weights (ImageNet; Kinetics-400 for video models)
    head: str | None = None  # mobilenet: "ck" (study's Table 1) or "mug" (Table 2)
    lstm_hidden: int = 128  # cnn_lstm: LSTM hidden size
    lstm_backbone: str = "cnn"  # cnn_lstm: per-frame features, "cnn" (Table 3) or "mobilenet"


class PretrainedWeightsUnavailable(RuntimeError):
    """Pretrained weights could not be loaded (offline, or a damaged file)."""


class Classifier(nn.Module):
    """A classifier of frames or of clips → logits [B, num_classes].

    ``takes_clips`` says which input it takes, and so how the training loop samples:
    False: one frame per sample, normalised float [B, 3, S, S]; True: one video per sample,
    [B, T, 3, S, S] (T = ``train.clip_frames`` frames spread from the first to the last).
    ``mean``/``std`` (RGB, [0, 1] scale) are the normalisation its weights expect.
    Subclasses fill ``l2_kernels`` (module, Keras λ) and ``notes`` (what was frozen, for the
    log). Softmax lives in the loss, not in the model.
    """

    takes_clips: ClassVar[bool] = False
    # channels-last on the CPU too: oneDNN's channels-last depthwise convolutions are about
    # twice as fast (MobileNetV2 at 48 px, batch 32: 135 vs 245 ms a step on one core), while
    # plain and bottleneck convolutions (the small CNN, ResNet50) are a little slower there
    channels_last_on_cpu: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.mean: tuple[float, ...] = IMAGENET_MEAN
        self.std: tuple[float, ...] = IMAGENET_STD
        self.l2_kernels: list[tuple[nn.Module, float]] = []  # plain list: not submodules
        self.notes: list[str] = []

    def regularize(self, module: nn.Module, lam: float) -> nn.Module:
        """Mark ``module.weight`` for Keras-style L2 with coefficient ``lam``."""
        self.l2_kernels.append((module, lam))
        return module

    def train(self, mode: bool = True) -> Classifier:
        """Train mode, except frozen BatchNorms, which keep their running statistics."""
        super().train(mode)
        for m in self.modules():
            if isinstance(m, _BatchNorm) and m.affine and not m.weight.requires_grad:
                m.eval()
        return self

    def summary(self) -> str:
        total = sum(p.numel() for p in self.parameters())
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return f"{trainable:,} of {total:,} parameters trainable ({100 * trainable / total:.1f} %)"


def keras_bn1d(features: int, keras_momentum: float) -> nn.BatchNorm1d:
    """BatchNormalization(momentum=keras_momentum) as PyTorch sees it (see module docstring)."""
    return nn.BatchNorm1d(features, momentum=1.0 - keras_momentum, eps=1e-3)


def keras_bn2d(features: int, keras_momentum: float = 0.99) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(features, momentum=1.0 - keras_momentum, eps=1e-3)


class Dropout(nn.Dropout):
    """nn.Dropout with a cheaper CPU mask: 15-bit integer noise compared with a threshold.

    PyTorch's CPU bernoulli and float uniform sampling cost more than the small CNN's
    convolutions on its full-resolution feature maps; one 64-bit draw split into four 15-bit
    values (``random_`` on int64 fills 63 bits, so each 16-bit quarter keeps its low 15) is about
    3x cheaper than float uniforms. The drop probability is p rounded to a multiple of 2^-15
    (0.4 → 0.399994). Same global RNG stream, so a seed still fixes every mask. On CUDA it is
    nn.Dropout unchanged.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.is_cuda:
            return super().forward(x)
        if self.p >= 1:
            return x * 0.0
        n = x.numel()
        noise = torch.empty((n + 3) // 4, dtype=torch.int64).random_().view(torch.int16)[:n]
        keep = noise.bitwise_and_(0x7FFF).view(x.shape) >= round(self.p * 32768)
        return x * keep.to(x.dtype).mul_(1 / (1 - self.p))


def glorot_(module: nn.Module) -> nn.Module:
    """Keras' default initialisation: glorot_uniform kernel, zero bias."""
    nn.init.xavier_uniform_(module.weight)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


def param_groups(model: Classifier) -> list[dict]:
    """SGD parameter groups of the trainable parameters: a Keras L2 λ on a kernel becomes
    ``weight_decay = 2λ`` on that tensor; everything else gets no decay."""
    lam_of = {id(m.weight): lam for m, lam in model.l2_kernels}
    groups: dict[float, list[nn.Parameter]] = {}
    for p in model.parameters():  # module order: deterministic, so optimizer states resume
        if p.requires_grad:
            groups.setdefault(2.0 * lam_of.get(id(p), 0.0), []).append(p)
    return [{"params": ps, "weight_decay": wd} for wd, ps in sorted(groups.items())]


def freeze(module: nn.Module, *, keep_batchnorm: bool = False) -> None:
    """requires_grad = False on ``module``; with ``keep_batchnorm`` its BN γ/β stay trainable."""
    for m in module.modules():
        trainable = keep_batchnorm and isinstance(m, _BatchNorm)
        for p in m.parameters(recurse=False):
            p.requires_grad_(trainable)


def checkpoint_path(weights) -> Path:  # noqa: ANN001 - a torchvision WeightsEnum member
    """Where torch hub looks for ``weights`` ($TORCH_HOME/hub/checkpoints/<file of the url>)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name


def imagenet_state_dict(weights) -> dict[str, torch.Tensor]:  # noqa: ANN001
    """Pretrained weights through torchvision's weights API (cached file first, then download);
    ImageNet ones for the image backbones, Kinetics-400 ones for the video networks.

    Raises PretrainedWeightsUnavailable saying where to put the file, or to set
    ``pretrained: none``, when neither works.
    """
    path = checkpoint_path(weights)
    trained_on = {"IMAGENET1K": "ImageNet", "KINETICS400": "Kinetics-400"}.get(
        weights.name.split("_")[0], weights.name)
    try:
        # check_hash off: the file name already carries the hash prefix, and a user may
        # legitimately place a re-saved copy there.
        return weights.get_state_dict(progress=False, check_hash=False)
    except Exception as err:  # noqa: BLE001 - offline (URLError), damaged file, …: one message
        raise PretrainedWeightsUnavailable(
            f"{trained_on} weights {weights} could not be loaded ({type(err).__name__}: {err}). "
            f"Download {weights.url} and save it as {path} (the torch hub checkpoints "
            f"directory; set TORCH_HOME to move it), or set `train: {{pretrained: none}}` "
            f"in the config to train from scratch."
        ) from err
