"""Classifier training: frames resident on the device, a resumable loop, evaluation."""

from .config import Augment, TrainConfig
from .data import BatchPipeline, FrameSet, load_frameset, select_frames
from .job import train_job_file
from .loop import RESUME_FILE, fit, pick_device, predict, train_job

__all__ = [
    "Augment", "BatchPipeline", "FrameSet", "RESUME_FILE", "TrainConfig", "fit", "load_frameset",
    "pick_device", "predict", "select_frames", "train_job", "train_job_file",
]
