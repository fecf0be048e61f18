"""Motion transfer as FOMM users use it (relative/absolute, adaptive movement scale, best driver
frame, rigid registration) and landmark-driven keypoints, each on a case with a known answer.
Untrained tiny models at 32 px: the keypoint arithmetic is checked, not image quality."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semaug.generators.monkeynet.animate import transfer_keypoints
from semaug.generators.monkeynet.model import MonkeyNet
from semaug.generators.monkeynet.options import MonkeyNetOptions
from semaug.generators.monkeynet.animate import MonkeyNetAnimator, hull_scale, register_keypoints
from semaug.generators.monkeynet.data import flip_landmarks, normalise_landmarks
from semaug.generators.monkeynet.keypoint_detector import landmark_keypoints
from semaug.generators.monkeynet.options import LANDMARK_KEYPOINTS
from semaug.generators.monkeynet.util import gaussian_heatmaps
from semaug.generators.motion import best_matching_frame, register_to, transfer_landmarks
from semaug.ibug import INNER_LIPS, MEAN_FACE, NOSE_BOTTOM, OUTER_LIPS, RIGID_POINTS, STABLE_POINTS

TINY = {
    "image_size": 32, "keypoints": 4,
    "keypoint_detector": {"block_expansion": 8, "max_features": 16, "num_blocks": 2, "scale": 0.5},
    "dense_motion": {"block_expansion": 8, "max_features": 16, "num_blocks": 2},
    "generator": {"block_expansion": 8, "max_features": 16, "res_blocks": 1},
    "discriminator": {"block_expansion": 8, "max_features": 16, "num_blocks": 2, "scales": [1.0]},
}
SIZE = 32


def model(**overrides) -> MonkeyNet:
    torch.manual_seed(0)
    return MonkeyNet(MonkeyNetOptions.from_dict(TINY, **overrides)).eval()


def face(mouth_open: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0)) -> np.ndarray:
    """MEAN_FACE in 32-px crop pixels, the lower lips lowered by ``mouth_open`` (face units)."""
    lm = MEAN_FACE.copy()
    lower = list(range(55, 60)) + list(range(65, 68))
    lm[lower, 1] += mouth_open
    return (((lm - 0.5) * scale + 0.5) * (SIZE - 1) + np.asarray(shift)).astype(np.float32)


def frames(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


# --------------------------------------------------------------------- keypoint arithmetic

def test_absolute_and_relative_transfer_of_a_pure_translation() -> None:
    src = {"value": torch.tensor([[[0.1, 0.2], [-0.3, 0.4], [0.5, -0.5]]])}
    shifts = torch.tensor([[0.05, 0.0], [0.15, -0.1], [0.3, 0.2]])  # the driver drifts
    base = torch.tensor([[[-0.2, 0.0], [0.2, 0.1], [0.0, -0.4]]])
    drv = {"value": base + shifts[:, None]}  # [3, K, 2]
    ref = {"value": drv["value"][:1]}
    absolute = transfer_keypoints(src, drv, ref, mode="absolute")
    assert torch.equal(absolute["value"], drv["value"])  # the driver's keypoints as they are
    relative = transfer_keypoints(src, drv, ref, mode="relative")
    assert torch.allclose(relative["value"], src["value"] + (shifts - shifts[0])[:, None], atol=1e-6)
    with pytest.raises(ValueError, match="relative or absolute"):
        transfer_keypoints(src, drv, ref, mode="sideways")


def test_adaptive_scale_of_a_driver_at_half_size() -> None:
    src = torch.tensor([[0.0, 0.0], [0.6, 0.0], [0.6, 0.4], [0.0, 0.4], [0.3, 0.1]])
    driver_ref = 0.5 * src + torch.tensor([0.1, -0.2])  # the driver's face: half the size, elsewhere
    scale = hull_scale(src, driver_ref)
    assert scale == pytest.approx(2.0, rel=1e-6)
    motion = torch.tensor([0.02, -0.01])
    out = transfer_keypoints({"value": src[None]}, {"value": (driver_ref + motion)[None]},
                             {"value": driver_ref[None]}, scale=scale)
    assert torch.allclose(out["value"][0] - src, 2 * motion.expand_as(src), atol=1e-6)  # twice the motion
    collinear = torch.tensor([[0.0, 0.0], [0.1, 0.1], [0.2, 0.2]])
    assert hull_scale(src, collinear) == 1.0  # degenerate hull: no scaling


def test_best_frame_is_found_at_its_known_index() -> None:
    source = face(0.0, scale=1.3, shift=(2.0, -1.0))  # neutral, bigger and elsewhere
    driver = np.stack([face(m) for m in (0.08, 0.05, 0.02, 0.0, 0.03)])  # neutral at frame 3
    assert best_matching_frame(source, driver) == 3
    assert best_matching_frame(driver[1], driver) == 1


def test_rigid_registration_removes_head_motion_only() -> None:
    lm = face(0.0)
    theta, s, t = np.deg2rad(6.0), 1.08, np.array([1.5, -0.7])
    R = s * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = (lm - 16) @ R.T + 16 + t  # the same face, head turned, nearer and shifted
    driver = np.stack([lm, moved, face(0.05)])
    target = transfer_landmarks(lm, driver, RIGID_POINTS)
    assert np.abs(target[1] - lm).max() < 1e-3  # head motion: not transferred
    assert np.abs(target[2] - lm).max() > 1.0  # the mouth opening: transferred
    unregistered = transfer_landmarks(lm, driver, RIGID_POINTS, register=False)
    assert np.abs(unregistered[1] - lm).max() > 1.0
    # Keypoints follow the same similarity: moved keypoints map back onto the reference ones.
    A, b = register_to(np.stack([lm, moved]).astype(np.float64), 0, RIGID_POINTS)
    kp = {"value": torch.from_numpy(np.stack([lm[:5], moved[:5]])).float(),
          "jacobian": torch.eye(2).expand(2, 5, 2, 2)}
    back = register_keypoints(kp, A, b)
    assert torch.allclose(back["value"][1], torch.from_numpy(lm[:5]), atol=1e-3)
    assert torch.allclose(back["jacobian"][1], torch.from_numpy(np.linalg.inv(R)).float().expand(5, 2, 2), atol=1e-4)


def test_rigid_points_do_not_mistake_a_nose_wrinkle_for_head_motion() -> None:
    lm = face(0.0)
    wrinkled = lm.copy()
    wrinkled[NOSE_BOTTOM, 1] -= 1.5  # AU9: the lower nose rises
    driver = np.stack([lm, wrinkled])
    eyes = [36, 39, 42, 45]
    rigid = transfer_landmarks(lm, driver, RIGID_POINTS)
    stable = transfer_landmarks(lm, driver, STABLE_POINTS)
    assert np.abs(rigid[1, eyes] - lm[eyes]).max() < 1e-4  # the eyes stay put
    assert np.abs(stable[1, eyes] - lm[eyes]).max() > 0.1  # registering on the nose moves them


# --------------------------------------------------------------------- landmark keypoints

def test_landmark_keypoints_follow_the_given_landmarks() -> None:
    lm = torch.from_numpy(normalise_landmarks(np.stack([face(0.0), face(0.06)]), (SIZE, SIZE)))
    kp = landmark_keypoints(lm, LANDMARK_KEYPOINTS, first_order=True)
    assert kp["value"].shape == (2, len(LANDMARK_KEYPOINTS), 2)
    assert torch.equal(kp["value"], lm[:, list(LANDMARK_KEYPOINTS)])
    assert torch.equal(kp["jacobian"], torch.eye(2).expand(2, len(LANDMARK_KEYPOINTS), 2, 2))
    # As Gaussians (the dense motion network's input), each peaks at its landmark's pixel.
    heat = gaussian_heatmaps(kp["value"], (SIZE, SIZE), 0.001)  # [2, P, 32, 32]
    peak = heat.flatten(2).argmax(-1)
    peak_xy = torch.stack([peak % SIZE, peak // SIZE], -1).float()
    px = torch.from_numpy(np.stack([face(0.0), face(0.06)])[:, list(LANDMARK_KEYPOINTS)])
    assert (peak_xy - px).abs().max() <= 0.5 + 1e-4  # the pixel nearest the landmark
    # The lower-lip keypoint moves with the mouth opening, the brows do not.
    i_lip, i_brow = LANDMARK_KEYPOINTS.index(57), LANDMARK_KEYPOINTS.index(19)
    assert kp["value"][1, i_lip, 1] > kp["value"][0, i_lip, 1] + 0.05
    assert torch.equal(kp["value"][1, i_brow], kp["value"][0, i_brow])


@pytest.mark.parametrize("source,count", [("learned", 4), ("landmarks", len(LANDMARK_KEYPOINTS)),
                                          ("mixed", 4 + len(LANDMARK_KEYPOINTS))])
def test_keypoint_sources_shapes_and_losses(source: str, count: int) -> None:
    net = model(keypoint_source=source, first_order=True)
    assert net.opts.num_keypoints == count and (net.kp_detector is None) == (source == "landmarks")
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(2, 3, SIZE, SIZE, generator=g), torch.rand(2, 3, SIZE, SIZE, generator=g)
    lm = torch.from_numpy(normalise_landmarks(np.stack([face(0.0), face(0.05)]), (SIZE, SIZE)))
    kp, learned = net.keypoints(x, lm)
    assert kp["value"].shape == (2, count, 2) and kp["jacobian"].shape == (2, count, 2, 2)
    if source != "learned":
        assert torch.equal(kp["value"][:, -len(LANDMARK_KEYPOINTS):], lm[:, list(LANDMARK_KEYPOINTS)])
    with torch.no_grad():
        out = net.generator(x, kp, kp)
    assert out["prediction"].shape == x.shape and out["mask"].shape == (2, count + 1, SIZE // 2, SIZE // 2)
    net.train()
    losses, _ = net.generator_losses(x, y, torch.Generator().manual_seed(1), lm, lm.flip(0))
    assert ("equivariance_value" in losses) == (source != "landmarks")
    assert {"reconstruction", "feature_matching", "gan"} <= set(losses)
    if source != "learned":
        with pytest.raises(ValueError, match="needs the frames' landmarks"):
            net.keypoints(x)


def test_flipped_landmarks_mirror_the_face() -> None:
    lm = torch.from_numpy(normalise_landmarks(face(0.0)[None], (SIZE, SIZE)))
    flipped = flip_landmarks(lm)
    assert torch.allclose(flipped, lm, atol=1e-5)  # MEAN_FACE is symmetric: its mirror is itself
    moved = lm.clone()
    moved[0, 36:42, 0] -= 0.1  # the subject's right eye (image left) moves further left
    mirrored = flip_landmarks(moved)
    assert torch.allclose(mirrored[0, 42:48, 0], -moved[0, [39, 38, 37, 36, 41, 40], 0])
    assert torch.allclose(flip_landmarks(mirrored), moved)


# --------------------------------------------------------------------- through the animator

def animator(**transfer) -> MonkeyNetAnimator:
    net = model(keypoint_source="mixed", transfer=transfer)
    return MonkeyNetAnimator(net, "cpu", batch_size=4)


def test_animator_absolute_mode_puts_the_drivers_landmarks_on_the_source() -> None:
    src_lm = face(0.0)
    drv_lm = np.stack([face(0.0, shift=(3.0, 1.0)), face(0.04, shift=(3.0, 1.0))])  # translated driver
    anim = animator(mode="absolute")
    _, _, kp_src, kp_new, plans = anim.transferred_keypoints([(frames(1)[0], frames(2, 1))], [(src_lm, drv_lm)])
    pts = list(LANDMARK_KEYPOINTS)
    expected = torch.from_numpy(normalise_landmarks(drv_lm, (SIZE, SIZE))[:, pts])
    assert torch.allclose(kp_new["value"][:, 4:], expected, atol=1e-6)
    np.testing.assert_allclose(plans[0].target_landmarks, drv_lm, atol=1e-4)
    # Relative mode on the same pair: the constant translation is no motion at all.
    rel = animator(mode="relative")
    _, _, kp_src, kp_rel, plans = rel.transferred_keypoints([(frames(1)[0], frames(2, 1))], [(src_lm, drv_lm)])
    assert torch.allclose(kp_rel["value"][0, 4:], kp_src["value"][0, 4:], atol=1e-5)
    assert (kp_rel["value"][1, 4:] - kp_src["value"][0, 4:]).abs().max() > 0.02  # mouth opening


def test_animator_best_driver_frame_and_generator_output() -> None:
    src_lm = face(0.0, scale=1.1)
    drv_lm = np.stack([face(m) for m in (0.06, 0.03, 0.0, 0.04)])
    best = animator(driver_frame="best")
    out, plans = best.animate_many([(frames(1)[0], frames(4, 2))], [(src_lm, drv_lm)])
    assert plans[0].reference == 2
    np.testing.assert_allclose(plans[0].target_landmarks[2], src_lm, atol=1e-4)  # the source itself
    assert out[0].shape == (4, SIZE, SIZE, 3) and out[0].dtype == np.uint8
    first = animator(driver_frame="first")
    _, plans = first.animate_many([(frames(1)[0], frames(4, 2))], [(src_lm, drv_lm)])
    assert plans[0].reference == 0
    np.testing.assert_allclose(plans[0].target_landmarks[0], src_lm, atol=1e-4)


def test_landmark_keypoints_cannot_animate_without_landmarks() -> None:
    with pytest.raises(ValueError, match="needs the"):
        animator().animate_many([(frames(1)[0], frames(2, 1))])


def test_transfer_options_are_validated() -> None:
    with pytest.raises(ValueError, match="transfer.mode"):
        MonkeyNetOptions.from_dict({"transfer": {"mode": "sideways"}})
    with pytest.raises(ValueError, match="keypoint_source"):
        MonkeyNetOptions.from_dict({"keypoint_source": "dlib"})
    with pytest.raises(ValueError, match="landmark_points"):
        MonkeyNetOptions.from_dict({"landmark_points": [3, 3]})
    # Sizes the networks cannot take fail up front, naming the key to change.
    with pytest.raises(ValueError, match="discriminator.num_blocks"):
        MonkeyNetOptions.from_dict({"image_size": 32, "keypoint_detector": {"scale": 0.5, "num_blocks": 2},
                                    "dense_motion": {"num_blocks": 2}})  # D: 3 blocks on 16 px
    with pytest.raises(ValueError, match="dense_motion.num_blocks"):
        MonkeyNetOptions.from_dict({"image_size": 16, "keypoint_detector": {"num_blocks": 2}})  # 4 px, 3 levels
    assert list(range(48, 68)) == list(range(OUTER_LIPS.start, INNER_LIPS.stop))  # lips in the default set
    assert set(LANDMARK_KEYPOINTS) & set(range(48, 68)) and set(LANDMARK_KEYPOINTS) & set(range(17, 27))
