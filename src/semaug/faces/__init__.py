"""Aligned face crops + 68 landmarks per video (the faces stage).

`align` holds the geometry, `backends`/`fan` where landmarks come from, `crop` the stage.
"""

from .align import (SMOOTH_SIGMA_FRAMES, AlignedFaces, align_video, estimate_transforms,
                    resize_video, smooth_transforms, template_landmarks, template_points,
                    transform_points, warp_face)
from .backends import BACKENDS, FaceTrack, VideoRejected, fill_missing, make_backend
from .crop import crop_shard, crop_shard_file, crop_video, merge_shards, preview_frames, shard_videos
from .fan import FaceAlignmentBackend, FaceModelUnavailable, weight_files

__all__ = [
    "BACKENDS", "SMOOTH_SIGMA_FRAMES", "AlignedFaces", "FaceAlignmentBackend",
    "FaceModelUnavailable", "FaceTrack", "VideoRejected", "align_video", "crop_shard", "crop_shard_file",
    "crop_video", "estimate_transforms", "fill_missing", "make_backend", "merge_shards",
    "preview_frames", "resize_video", "shard_videos", "smooth_transforms", "template_landmarks",
    "template_points", "transform_points", "warp_face", "weight_files",
]
