"""Aligned face crops + 68 landmarks per video (the faces stage).

`align` holds the geometry, `backends` (`fan`, `dlib_landmarks`; `track` what they return)
where landmarks come from, `crop` the stage.
"""

from .align import (SMOOTH_SIGMA_FRAMES, AlignedFaces, align_video, estimate_transforms,
                    resize_video, smooth_transforms, template_landmarks, template_points,
                    transform_points, warp_face)
from .backends import BACKENDS, FaceTrack, VideoRejected, fill_missing, make_backend
from .crop import crop_shard, crop_shard_file, crop_video, merge_shards, preview_frames, shard_videos
from ..dlib_models import DlibUnavailable, dlib_available
from .dlib_landmarks import DlibBackend, DlibOptions
from .fan import FaceAlignmentBackend, FaceModelUnavailable, weight_files

__all__ = [
    "BACKENDS", "SMOOTH_SIGMA_FRAMES", "AlignedFaces", "DlibBackend", "DlibOptions",
    "DlibUnavailable", "FaceAlignmentBackend",
    "FaceModelUnavailable", "FaceTrack", "VideoRejected", "align_video", "crop_shard",
    "crop_shard_file",
    "crop_video", "dlib_available", "estimate_transforms", "fill_missing", "make_backend", "merge_shards",
    "preview_frames", "resize_video", "shard_videos", "smooth_transforms", "template_landmarks",
    "template_points", "transform_points", "warp_face", "weight_files",
]
