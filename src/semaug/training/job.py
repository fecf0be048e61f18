"""The training job as the workflow runs it: the rule's settings dict in, files out."""

from __future__ import annotations

import os
from typing import Any

from .config import TrainConfig
from .loop import train_job


def train_job_file(*, manifest: str | os.PathLike, folds: str | os.PathLike, fold: int,
                   model_name: str, dataset: dict[str, Any], settings: dict[str, Any], seed: int,
                   out_dir: str | os.PathLike, code: str = "") -> dict[str, Any]:
    """The ``train`` rule: ``settings`` are the model's resolved training settings
    (:func:`semaug.config.train_settings`), ``code`` the rule's code version; see
    :func:`train_job` for the outputs."""
    return train_job(manifest=manifest, folds=folds, fold=fold, model_name=model_name,
                     dataset=dataset, cfg=TrainConfig.from_config(settings), seed=seed,
                     out_dir=out_dir, code=code)
