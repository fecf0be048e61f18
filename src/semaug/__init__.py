"""semaug: semantic data augmentation with keypoint-driven generative models for
facial-expression video classification."""

__version__ = "0.1.0"
