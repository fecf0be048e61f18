"""The study's small CNN for CK+ (Table 3), trained from scratch.

    Conv2D  8 3×3 relu
    Conv2D 16 3×3 relu, L2
    Conv2D 64 1×1 relu, BN, Dropout, L2
    Conv2D 32 1×1 relu, BN, Dropout, L2
    Dense(C) softmax, Dropout, BN, L2

The table leaves open what this file settles: no pooling is listed and Keras' Dense needs a
Flatten before it, so the head is Flatten → Dropout → Dense → BN (→ softmax in the loss);
convolutions use Keras' default 'valid' padding; the dropout rate and L2 λ are not given, so
the rates of the study's other heads are used (Dropout 0.4, λ = 1e-4 as in its CK+ head);
BN momentum is Keras' default 0.99. It has no ImageNet weights: `pretrained` is ignored.
"""

from __future__ import annotations

from torch import Tensor, nn

from ._base import BuildOptions, Classifier, Dropout, glorot_, keras_bn1d, keras_bn2d

DROPOUT = 0.4
L2 = 1e-4


def table3_features(owner: Classifier) -> nn.Sequential:
    """Table 3's four convolutions: [B, 3, S, S] → [B, 32, S-4, S-4]; L2 marked on ``owner``."""
    conv = [glorot_(nn.Conv2d(3, 8, 3)), glorot_(nn.Conv2d(8, 16, 3)),
            glorot_(nn.Conv2d(16, 64, 1)), glorot_(nn.Conv2d(64, 32, 1))]
    for c in conv[1:]:
        owner.regularize(c, L2)
    return nn.Sequential(
        conv[0], nn.ReLU(inplace=True),  # [B, 8, S-2, S-2]
        conv[1], nn.ReLU(inplace=True),  # [B, 16, S-4, S-4]
        conv[2], nn.ReLU(inplace=True), keras_bn2d(64), Dropout(DROPOUT),
        conv[3], nn.ReLU(inplace=True), keras_bn2d(32), Dropout(DROPOUT),  # [B, 32, S-4, S-4]
    )


class SmallCNN(Classifier):
    def __init__(self, num_classes: int, image_size: int) -> None:
        super().__init__()
        self.features = table3_features(self)
        side = image_size - 4  # two valid 3×3 convolutions
        dense = self.regularize(glorot_(nn.Linear(32 * side * side, num_classes)), L2)
        self.head = nn.Sequential(nn.Flatten(), Dropout(DROPOUT), dense, keras_bn1d(num_classes, 0.99))
        self.notes.append("small CNN (Table 3): trained from scratch, nothing frozen")

    def forward(self, x: Tensor) -> Tensor:  # x [B, 3, S, S] → logits [B, C]
        return self.head(self.features(x))


def build(opts: BuildOptions) -> SmallCNN:
    if opts.image_size < 5:
        raise ValueError(f"cnn needs images of at least 5 px, got {opts.image_size}")
    return SmallCNN(opts.num_classes, opts.image_size)
