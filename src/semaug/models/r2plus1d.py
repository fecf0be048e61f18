"""R(2+1)D-18 (Tran et al. 2018), torchvision's ``r2plus1d_18``, as a clip classifier.

Each 3-D convolution is factored into a spatial 1×3×3 and a temporal 3×1×1 one, so the network
models motion across the clip's frames. ``pretrained: imagenet`` loads its torchvision weights,
which are Kinetics-400 ones (R2Plus1D_18_Weights.KINETICS400_V1, file r2plus1d_18-91a641e6.pth;
torchvision has no ImageNet weights for it); ``pretrained: none`` trains from scratch. Inputs
are normalised as the weights expect: Kinetics mean (0.43216, 0.394666, 0.37645), std
(0.22803, 0.22145, 0.216989), read from ``WEIGHTS.transforms()``; its crops are 112 px
(``IMAGE_SIZE``, set ``train.by_model.r2plus1d.image_size`` to it). 31.3 M parameters.
"""

from __future__ import annotations

from torchvision.models.video import R2Plus1D_18_Weights, r2plus1d_18

from ._base import BuildOptions
from ._video import VideoClassifier, video_classifier

WEIGHTS = R2Plus1D_18_Weights.KINETICS400_V1
IMAGE_SIZE = WEIGHTS.transforms().crop_size[0]  # 112


def build(opts: BuildOptions) -> VideoClassifier:
    return video_classifier("r2plus1d", r2plus1d_18, WEIGHTS, opts)
