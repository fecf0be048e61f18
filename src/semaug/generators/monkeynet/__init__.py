"""Monkey-Net / First Order Motion Model, written for this project (no pretrained networks).

One network part a module: ``keypoint_detector``, ``dense_motion``, ``generator``,
``discriminator``; ``util`` (blocks, hourglass, grids), ``model`` (full model + losses),
``options`` (hyperparameters), ``data`` (frame pairs of a fold's training videos), ``train``
(training loop with resume), ``animate`` (inference, registered as generators ``monkeynet`` and
``fomm``), ``toy`` (procedural videos for tests).
"""

from .animate import (FommGenerator, MonkeyNetAnimator, MonkeyNetGenerator, load_model, relative_keypoints,
                      transfer_keypoints)
from .data import SubjectLeakError, TrainingVideos, load_training_videos, training_rows
from .model import MonkeyNet, RandomTransform, equivariance_losses
from .options import MonkeyNetOptions
from .train import TrainResult, train_fold, train_generator

__all__ = [
    "FommGenerator", "MonkeyNet", "MonkeyNetAnimator", "MonkeyNetGenerator", "MonkeyNetOptions",
    "RandomTransform", "SubjectLeakError", "TrainResult", "TrainingVideos", "equivariance_losses",
    "load_model", "load_training_videos", "relative_keypoints", "train_fold", "train_generator",
    "transfer_keypoints",
    "training_rows",
]
