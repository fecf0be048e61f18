"""The landmark spline candidate of the dense motion network (dense_motion.landmark_spline):
its maps, its place among the candidates, and the landmarks it needs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from semaug.generators.monkeynet.animate import MonkeyNetAnimator
from semaug.generators.monkeynet.data import normalise_landmarks
from semaug.generators.monkeynet.model import MonkeyNet
from semaug.generators.monkeynet.options import MonkeyNetOptions
from semaug.generators.monkeynet.spline import spline_flows
from semaug.generators.monkeynet.util import coordinate_grid, warp
from semaug.ibug import MEAN_FACE

SIZE = 32
GRID = (16, 16)  # the dense motion runs at scale 0.5
LOWER_LIP = list(range(55, 60)) + list(range(65, 68))
TINY = {
    "image_size": SIZE, "keypoints": 4,
    "keypoint_detector": {"block_expansion": 8, "max_features": 16, "num_blocks": 2, "scale": 0.5},
    "dense_motion": {"block_expansion": 8, "max_features": 16, "num_blocks": 2},
    "generator": {"block_expansion": 8, "max_features": 16, "res_blocks": 1},
    "discriminator": {"block_expansion": 8, "max_features": 16, "num_blocks": 2, "scales": [1.0]},
}


def face(mouth_open: float = 0.0) -> np.ndarray:
    """MEAN_FACE in crop pixels with the lower lip lowered by ``mouth_open`` face units."""
    lm = MEAN_FACE.copy()
    lm[LOWER_LIP, 1] += mouth_open
    return (lm * (SIZE - 1)).astype(np.float32)


def normalised(lm: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(normalise_landmarks(lm, (SIZE, SIZE)))


def sample(flow: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """A backward map [h, w, 2] read (bilinearly) at points [P, 2] -> [P, 2]."""
    return warp(flow.permute(2, 0, 1)[None], points[None, None])[0, :, 0].T


def residual_share(read: torch.Tensor, source: torch.Tensor, target: torch.Tensor) -> float:
    """How much of the asked-for vertical motion (source -> target points) a map read at the
    target points misses: 0 = it reads exactly the source points, 1 = no motion at all."""
    return float((read - source)[:, 1].abs().mean() / (target - source)[:, 1].abs().mean())


def spline_model(logit: float = 30.0, **overrides) -> MonkeyNet:
    torch.manual_seed(0)
    dense = {**TINY["dense_motion"], "landmark_spline": logit}
    return MonkeyNet(MonkeyNetOptions.from_dict(copy.deepcopy(TINY), dense_motion=dense, **overrides)).eval()


def test_spline_map_reads_each_target_landmark_at_its_source_position() -> None:
    source, opened = normalised(face()), normalised(face(0.08))  # lower lip down ~2.5 px
    maps = spline_flows(source, torch.stack([source, opened]), GRID)
    assert maps.shape == (2, *GRID, 2)
    assert torch.allclose(maps[0], coordinate_grid(*GRID), atol=1e-4)  # no motion: identity
    read = sample(maps[1], opened[LOWER_LIP])
    # The regularised spline, on a 16 x 16 grid read bilinearly, carries most of the motion:
    # the lowered lip reads near the source's lip (27 % short here; 15 % on a 32 x 32 grid).
    assert residual_share(read, source[LOWER_LIP], opened[LOWER_LIP]) < 0.35
    # ... and the border, far from every landmark, stays put
    assert torch.allclose(maps[1][0, 0], coordinate_grid(*GRID)[0, 0], atol=1e-4)


def test_a_dominant_spline_candidate_is_the_untrained_flow() -> None:
    net = spline_model(30.0)
    source = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    lm_s = normalised(np.stack([face(), face()]))
    lm_d = normalised(np.stack([face(0.08), face(0.04)]))
    kp_s, _ = net.keypoints(source, lm_s)
    kp_d, _ = net.keypoints(source, lm_d)
    maps = net.spline_maps(source, lm_s, lm_d)
    with torch.no_grad():
        motion = net.generator.dense_motion(source, kp_s, kp_d, maps)
    assert motion["mask"].shape == (2, 4 + 2, *GRID)  # background, 4 keypoints, the spline
    assert torch.allclose(motion["deformation"], maps, atol=1e-3)
    with pytest.raises(ValueError, match="landmark_spline"):
        net.generator.dense_motion(source, kp_s, kp_d)
    # Off (the default), the network has no such candidate.
    torch.manual_seed(0)
    plain = MonkeyNet(MonkeyNetOptions.from_dict(copy.deepcopy(TINY))).eval()
    with torch.no_grad():
        assert plain.generator.dense_motion(source, kp_s, kp_d)["mask"].shape[1] == 4 + 1
    assert plain.spline_maps(source, None, None) is None


def test_the_spline_needs_landmarks_in_training_and_synthesis() -> None:
    net = spline_model(10.0)
    x = torch.rand(2, 3, SIZE, SIZE)
    with pytest.raises(ValueError, match="landmark_spline needs the frames' landmarks"):
        net.generator_losses(x, x)
    frames = np.random.default_rng(0).integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="dense_motion.landmark_spline needs the landmarks"):
        MonkeyNetAnimator(net, "cpu").animate_many([(frames[0], frames)])
    opts = net.opts
    assert opts.needs_landmarks and not opts.uses_landmarks
    assert opts.landmark_users == "dense_motion.landmark_spline"


def test_animator_warps_the_source_landmarks_to_the_transfer_targets() -> None:
    anim = MonkeyNetAnimator(spline_model(30.0), "cpu", batch_size=2)
    rng = np.random.default_rng(1)
    src_frame = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    driving = rng.integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    src_lm, drv_lm = face(), np.stack([face(), face(0.04), face(0.08)])
    pairs, landmarks = [(src_frame, driving)], [(src_lm, drv_lm)]
    out, plans = anim.animate_many(pairs, landmarks)
    assert out[0].shape == (3, SIZE, SIZE, 3)
    maps = anim.spline_maps(pairs, landmarks, plans)  # [3, 16, 16, 2]
    assert torch.allclose(maps[0], coordinate_grid(*GRID), atol=1e-4)  # frame 0 = the source
    target = normalised(plans[0].target_landmarks[2])[LOWER_LIP]  # the driver's opening mouth
    src = normalised(src_lm)[LOWER_LIP]
    assert (target - src)[:, 1].mean() > 0.1
    assert residual_share(sample(maps[2], target), src, target) < 0.35
