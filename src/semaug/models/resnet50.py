"""ResNet50 with the study's head (Table 4): GAP → BN(0.95) → Dense(C, L2 0.01).

With ImageNet weights (ResNet50_Weights.IMAGENET1K_V1) 95 % of the backbone is frozen, as in the
study: the backbone's parameterised layers (convolutions and BatchNorms, in forward order) are
counted and the first floor(0.95·n) frozen — of ResNet50's 106 that leaves the last bottleneck
block (3 convolutions + 3 BNs) and the head training. Frozen BNs keep their ImageNet running
statistics. Without pretrained weights the whole network trains.
"""

from __future__ import annotations

import math

from torch import Tensor, nn
from torchvision.models import ResNet50_Weights, resnet50

from ._base import BuildOptions, Classifier, freeze, glorot_, imagenet_state_dict, keras_bn1d

WEIGHTS = ResNet50_Weights.IMAGENET1K_V1
FROZEN_FRACTION = 0.95
FEATURES = 2048


def parameterised_layers(module: nn.Module) -> list[nn.Module]:
    """Leaf modules that own parameters, in definition (= forward) order."""
    return [m for m in module.modules() if not list(m.children()) and list(m.parameters(recurse=False))]


class ResNet50(Classifier):
    def __init__(self, num_classes: int, pretrained: bool) -> None:
        super().__init__()
        net = resnet50(weights=None)
        if pretrained:
            net.load_state_dict(imagenet_state_dict(WEIGHTS))
        # everything up to the pooled features: [B, 3, S, S] → [B, 2048, S/32, S/32]
        self.backbone = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(
            keras_bn1d(FEATURES, 0.95),
            self.regularize(glorot_(nn.Linear(FEATURES, num_classes)), 0.01),
        )
        if pretrained:
            layers = parameterised_layers(self.backbone)
            n_frozen = math.floor(FROZEN_FRACTION * len(layers))
            for layer in layers[:n_frozen]:
                freeze(layer)
            self.notes.append(f"resnet50: ImageNet backbone, first {n_frozen} of {len(layers)} "
                              "parameterised layers frozen")
        else:
            self.notes.append("resnet50: pretrained: none, so the whole network trains "
                              "(freezing applies to pretrained backbones only)")

    def forward(self, x: Tensor) -> Tensor:  # x [B, 3, S, S] → logits [B, C]
        return self.head(self.pool(self.backbone(x)).flatten(1))


def build(opts: BuildOptions) -> ResNet50:
    return ResNet50(opts.num_classes, opts.pretrained)
