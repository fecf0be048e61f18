"""MobileNet with the study's heads (Tables 1 and 2), on torchvision's MobileNetV2.

The study used MobileNet v1 (Keras); torchvision has no MobileNet v1, so the backbone here is
MobileNetV2 (features → 1280 channels), with ImageNet weights MobileNet_V2_Weights.IMAGENET1K_V1.

Heads after global average pooling (Keras momentum m → torch 1 − m, λ → weight_decay 2λ):

* ``ck`` (Table 1, CK+): Dropout(0.4) → BN(0.95) → Dense(C, L2 1e-4)
* ``mug`` (Table 2, MUG): Dropout(0.4) → BN(0.99) → Dense(32, L2 0.01) → BN(0.99) → ReLU
  → Dense(C, L2 0.01). The table gives no activation for Dense(32); without one it would fold
  into the last layer, so ReLU (after its BN) is used.

Fine-tuning as in the study: with ImageNet weights, every backbone layer is frozen except the
BatchNorm layers (γ, β train; running statistics update). Without pretrained weights the whole
network trains.
"""

from __future__ import annotations

from torch import Tensor, nn
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

from ._base import BuildOptions, Classifier, freeze, glorot_, imagenet_state_dict, keras_bn1d

WEIGHTS = MobileNet_V2_Weights.IMAGENET1K_V1
FEATURES = 1280
HEADS = ("ck", "mug")


def make_head(kind: str, num_classes: int, model: Classifier) -> nn.Sequential:
    """The study's head ``kind`` on [B, 1280] pooled features, its L2 kernels marked on ``model``."""
    if kind == "ck":
        return nn.Sequential(
            nn.Dropout(0.4), keras_bn1d(FEATURES, 0.95),
            model.regularize(glorot_(nn.Linear(FEATURES, num_classes)), 1e-4),
        )
    if kind == "mug":
        return nn.Sequential(
            nn.Dropout(0.4), keras_bn1d(FEATURES, 0.99),
            model.regularize(glorot_(nn.Linear(FEATURES, 32)), 0.01), keras_bn1d(32, 0.99),
            nn.ReLU(inplace=True),
            model.regularize(glorot_(nn.Linear(32, num_classes)), 0.01),
        )
    raise ValueError(f"mobilenet head must be one of {HEADS}, got {kind!r}")


class MobileNet(Classifier):
    channels_last_on_cpu = True  # its depthwise convolutions: see Classifier

    def __init__(self, num_classes: int, head: str, pretrained: bool) -> None:
        super().__init__()
        net = mobilenet_v2(weights=None)
        if pretrained:
            net.load_state_dict(imagenet_state_dict(WEIGHTS))
        self.backbone = net.features  # [B, 3, S, S] → [B, 1280, S/32, S/32]
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = make_head(head, num_classes, self)
        if pretrained:
            freeze(self.backbone, keep_batchnorm=True)
            self.notes.append(f"mobilenet ({head} head): ImageNet backbone frozen except BatchNorm")
        else:
            self.notes.append(f"mobilenet ({head} head): pretrained: none, so the whole network "
                              "trains (freezing applies to pretrained backbones only)")

    def forward(self, x: Tensor) -> Tensor:  # x [B, 3, S, S] → logits [B, C]
        return self.head(self.pool(self.backbone(x)).flatten(1))


def build(opts: BuildOptions) -> MobileNet:
    return MobileNet(opts.num_classes, opts.head or "ck", opts.pretrained)
