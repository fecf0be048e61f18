"""torchvision's video ResNets (R(2+1)D-18, MC3-18, R3D-18) as clip classifiers.

All three share torchvision's ``VideoResNet``: a stem, four residual stages, global average
pooling over (T, H, W) and ``fc`` (512 → 400 Kinetics classes), which is replaced here by a
fresh Dense(C). They take [B, 3, T, H, W]; the training loop's clips are [B, T, 3, H, W], so
``forward`` swaps the two axes. Their Kinetics-400 weights expect 112 × 112 crops normalised
with the Kinetics mean/std, which are read from the weights' own ``transforms()`` so they
cannot drift from torchvision's.

A model file is then a few lines, e.g. ``mc3_18.py``::

    from torchvision.models.video import MC3_18_Weights, mc3_18
    from ._video import video_classifier

    WEIGHTS = MC3_18_Weights.KINETICS400_V1
    IMAGE_SIZE = WEIGHTS.transforms().crop_size[0]

    def build(opts):
        return video_classifier("mc3_18", mc3_18, WEIGHTS, opts)
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ._base import BuildOptions, Classifier, glorot_, imagenet_state_dict


def normalisation(weights) -> tuple[tuple[float, ...], tuple[float, ...]]:  # noqa: ANN001
    """(mean, std) the weights were trained with, from torchvision's preset transform."""
    preset = weights.transforms()
    return tuple(preset.mean), tuple(preset.std)


class VideoClassifier(Classifier):
    """A torchvision VideoResNet with a new head: clips [B, T, 3, S, S] → logits [B, C]."""

    takes_clips = True

    def __init__(self, name: str, net: nn.Module, num_classes: int, weights, pretrained: bool
                 ) -> None:  # noqa: ANN001
        super().__init__()
        self.mean, self.std = normalisation(weights)
        if pretrained:
            net.load_state_dict(imagenet_state_dict(weights))
        net.fc = glorot_(nn.Linear(net.fc.in_features, num_classes))
        self.net = net
        if pretrained:
            self.notes.append(f"{name}: {weights} backbone (Kinetics-400), every layer "
                              "fine-tunes; new Dense head")
        else:
            self.notes.append(f"{name}: pretrained: none, so the whole network trains from scratch")

    def forward(self, x: Tensor) -> Tensor:  # x [B, T, 3, S, S] → logits [B, C]
        return self.net(x.transpose(1, 2))  # VideoResNet takes [B, 3, T, S, S]


def video_classifier(name: str, constructor: Callable[..., nn.Module], weights,  # noqa: ANN001
                     opts: BuildOptions) -> VideoClassifier:
    """Build ``constructor`` (e.g. torchvision's ``r2plus1d_18``) untrained, then load
    ``weights`` into it when ``opts.pretrained`` (same offline message as the image models)."""
    if opts.image_size < 16:
        raise ValueError(f"{name} needs images of at least 16 px (it strides 16x), "
                         f"got {opts.image_size}")
    return VideoClassifier(name, constructor(weights=None), opts.num_classes, weights,
                           opts.pretrained)
