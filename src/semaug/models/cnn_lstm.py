"""CNN-LSTM (as in Ng et al., "Beyond Short Snippets"): a per-frame CNN, an LSTM over the
clip's frames, a Dense head on its last hidden state. Clips [B, T, 3, S, S] → logits [B, C].

Per-frame features (``train.lstm_backbone``):

* ``cnn``: the study's small CNN (Table 3), trained from scratch, with its output layer
  Dense(C) → BN replaced by Dense(EMBED) → BN → ReLU: Conv 8·3×3 → Conv 16·3×3 → Conv 64·1×1
  → Conv 32·1×1 → Flatten → Dropout(0.4) → Dense(128, L2 1e-4) → BN(0.99) → ReLU. The Dense
  over the flattened map is kept because the convolutions see only 5 × 5 px: where on the face
  a feature fires (mouth, brows) is the expression. (Average pooling to 4 × 4 instead reached
  37 % normalized accuracy on the CK+ demo's fold 0 after 25 epochs, this 81 %.)
* ``mobilenet``: torchvision's MobileNetV2 features, global average pooled (1280). With
  ``pretrained: imagenet`` (MobileNet_V2_Weights.IMAGENET1K_V1) they are frozen except
  BatchNorm, as the study fine-tuned MobileNet; ``pretrained: none`` trains them.

LSTM: one layer, ``train.lstm_hidden`` units, PyTorch's default initialisation; the head is
Dropout(0.4) → Dense(C) (glorot). The last hidden state summarises the clip, which runs from
the neutral first frame to the apex, so the order of frames carries the expression's onset.
"""

from __future__ import annotations

from torch import Tensor, nn

from ._base import (
    BuildOptions, Classifier, Dropout, freeze, glorot_, imagenet_state_dict, keras_bn1d,
)
from .cnn import L2, table3_features

EMBED = 128  # cnn backbone: features per frame fed to the LSTM
BACKBONES = ("cnn", "mobilenet")
DROPOUT = 0.4


class CNNLSTM(Classifier):
    takes_clips = True

    def __init__(self, num_classes: int, image_size: int, backbone: str, hidden: int,
                 pretrained: bool) -> None:
        super().__init__()
        if backbone == "cnn":
            side = image_size - 4  # two valid 3×3 convolutions
            self.frame_features = nn.Sequential(  # [N, 3, S, S] → [N, EMBED]
                table3_features(self), nn.Flatten(), Dropout(DROPOUT),
                self.regularize(glorot_(nn.Linear(32 * side * side, EMBED)), L2),
                keras_bn1d(EMBED, 0.99), nn.ReLU(inplace=True))
            width = EMBED
            self.notes.append(f"cnn_lstm: small CNN (Table 3) → Dense({EMBED}) per frame, "
                              "trained from scratch")
        elif backbone == "mobilenet":
            # imported here: torchvision's import (its ops load torch._dynamo) costs ~2 s,
            # which the default small-CNN backbone need not pay in every job
            from torchvision.models import mobilenet_v2

            from . import mobilenet

            net = mobilenet_v2(weights=None)
            if pretrained:
                net.load_state_dict(imagenet_state_dict(mobilenet.WEIGHTS))
                freeze(net.features, keep_batchnorm=True)
                self.notes.append("cnn_lstm: MobileNetV2 ImageNet features, frozen except BatchNorm")
            else:
                self.notes.append("cnn_lstm: MobileNetV2 features, pretrained: none, all train")
            self.frame_features = nn.Sequential(net.features, nn.AdaptiveAvgPool2d(1), nn.Flatten())
            width = mobilenet.FEATURES
        else:
            raise ValueError(f"cnn_lstm backbone must be one of {BACKBONES}, got {backbone!r}")
        self.lstm = nn.LSTM(width, hidden, batch_first=True)
        self.head = nn.Sequential(Dropout(DROPOUT), glorot_(nn.Linear(hidden, num_classes)))
        self.notes.append(f"cnn_lstm: LSTM of {hidden} units over the clip")

    def forward(self, x: Tensor) -> Tensor:  # x [B, T, 3, S, S] → logits [B, C]
        b, t = x.shape[:2]
        features = self.frame_features(x.flatten(0, 1)).view(b, t, -1)  # [B, T, F]
        _, (h, _) = self.lstm(features)  # h [1, B, hidden]: the state after the last frame
        return self.head(h[-1])


def build(opts: BuildOptions) -> CNNLSTM:
    if opts.lstm_backbone == "cnn" and opts.image_size < 5:
        raise ValueError(f"cnn_lstm needs images of at least 5 px, got {opts.image_size}")
    return CNNLSTM(opts.num_classes, opts.image_size, opts.lstm_backbone, opts.lstm_hidden,
                   opts.pretrained)
