"""The generator's mouth-opening cue (generator.mouth_mask): the inner-lip polygon of the frame
to render, its masks, and where the model and the animator take it from."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from semaug.generators.monkeynet.animate import MonkeyNetAnimator
from semaug.generators.monkeynet.model import MonkeyNet
from semaug.generators.monkeynet.mouth import mouth_masks, polygon_masks
from semaug.generators.monkeynet.options import MonkeyNetOptions
from test_monkeynet_spline import SIZE, TINY, face, normalised


def test_polygon_masks_cover_the_inside_with_antialiased_edges() -> None:
    square = torch.tensor([[[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]])
    mask = polygon_masks(square, (65, 65))  # pixel centres every 1/32: the square is 32 px wide
    assert mask.shape == (1, 1, 65, 65)
    assert mask[0, 0, 32, 32] == 1 and mask[0, 0, 5, 5] == 0 and mask[0, 0, 32, 60] == 0
    assert mask.sum().item() == pytest.approx(32 * 32, rel=0.01)
    edge = mask[0, 0, 32, 16]  # on the left edge: half covered
    assert edge.item() == pytest.approx(0.5, abs=0.01)
    assert polygon_masks(torch.full((1, 4, 2), float("nan")), (8, 8)).sum() == 0  # no landmarks


def test_the_mouth_mask_grows_as_the_mouth_opens() -> None:
    areas = [mouth_masks(normalised(face(o))[None], (SIZE, SIZE)).sum().item() for o in (0, 0.04, 0.08)]
    assert areas[0] < areas[1] < areas[2]
    assert areas[2] - areas[0] > 5  # pixels of a 32-px crop: the lip opened 2.5 px


def mouth_model() -> MonkeyNet:
    torch.manual_seed(0)
    opts = MonkeyNetOptions.from_dict(copy.deepcopy(TINY), keypoint_source="landmarks",
                                      generator={**TINY["generator"], "mouth_mask": True})
    return MonkeyNet(opts).eval()


def test_the_generator_sees_the_mask_and_needs_it() -> None:
    net = mouth_model()
    assert net.opts.needs_landmarks and "generator.mouth_mask" in net.opts.landmark_users
    x = torch.rand(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    lm_s, lm_d = normalised(face())[None], normalised(face(0.08))[None]
    kp_s, _ = net.keypoints(x, lm_s)
    kp_d, _ = net.keypoints(x, lm_d)
    with torch.no_grad():
        closed = net.animate(x, kp_s, kp_d, mouth=net.mouth_maps(lm_s, x.shape[2:]))["prediction"]
        opened = net.animate(x, kp_s, kp_d, mouth=net.mouth_maps(lm_d, x.shape[2:]))["prediction"]
    changed = (opened - closed).abs().sum(1)[0] > 1e-6  # [H, W]
    inside = net.mouth_maps(lm_d, x.shape[2:])[0, 0] > 0
    assert changed.any() and changed[inside].float().mean() > changed[~inside].float().mean()
    with pytest.raises(ValueError, match="mouth_mask needs the inner-lip masks"):
        net.animate(x, kp_s, kp_d)
    with pytest.raises(ValueError, match="mouth_mask needs the frames' landmarks"):
        net.mouth_maps(None, x.shape[2:])


def test_training_takes_the_driving_frames_mask_and_synthesis_the_transfer_targets() -> None:
    net = mouth_model().train()
    x = torch.rand(2, 3, SIZE, SIZE)
    lm = normalised(np.stack([face(), face(0.08)]))
    losses, out = net.generator_losses(x, x, landmarks_source=lm, landmarks_driving=lm.flip(0))
    assert torch.isfinite(sum(losses.values()))
    anim = MonkeyNetAnimator(net.eval(), "cpu", batch_size=2)
    rng = np.random.default_rng(1)
    src = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    driving = rng.integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    pairs = [(src, driving)]
    out, plans = anim.animate_many(pairs, [(face(), np.stack([face(), face(0.04), face(0.08)]))])
    masks = net.mouth_maps(anim.mouth_targets(pairs, plans), (SIZE, SIZE))
    assert out[0].shape == (3, SIZE, SIZE, 3) and masks.shape == (3, 1, SIZE, SIZE)
    areas = masks.sum((1, 2, 3))
    assert areas[0] < areas[1] < areas[2]  # the source's mouth, then the driver's opening one
