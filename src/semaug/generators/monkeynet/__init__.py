"""Monkey-Net / First Order Motion Model, written for this project (no pretrained networks).

One network part a module: ``keypoint_detector``, ``dense_motion``, ``generator``,
``discriminator``; ``util`` (blocks, hourglass), ``model`` (full model + losses),
``options`` (hyperparameters), ``data`` (frame pairs of a fold's training videos), ``train``
(training loop with resume), ``animate`` (inference), ``toy`` (procedural videos for tests).

This file only declares the two scenarios, so that reading the catalog imports no torch:
``monkeynet`` (translation-only keypoints) and ``fomm`` (the same model with FOMM's
first-order Jacobians, fixed on).
"""

from ...catalog import declare_generator
from .options import MonkeyNetOptions

_HERE = __name__
for _name, _cls, _fixed in (("monkeynet", "MonkeyNetGenerator", {}),
                            ("fomm", "FommGenerator", {"first_order": True})):
    declare_generator(
        _name, implementation=f"{_HERE}.animate:{_cls}", learned=True, options=MonkeyNetOptions,
        fixed_options=_fixed, train=f"{_HERE}.train:train_fold",
        # read by the animator from the config (not from model.pt), or only size the job
        synthesis_only=("transfer", "inference_batch_size", "threads"),
        description="learned keypoint-driven generator (Monkey-Net recipe)" if not _fixed else
        "first-order motion model (Monkey-Net + local affine Jacobians)",
    )

__all__ = ["MonkeyNetOptions"]
