"""Monkey-Net / FOMM networks and losses: identity flow, equivariance, relative transfer,
options vs the config schema. Tiny widths at 32 px so the file runs in seconds on a CPU."""

from __future__ import annotations

import copy

import pytest
import torch

from semaug import catalog
from semaug.generators.monkeynet.model import MonkeyNet, RandomTransform, equivariance_losses
from semaug.generators.monkeynet.options import MonkeyNetOptions
from semaug.generators.monkeynet.animate import relative_keypoints
from semaug.generators.monkeynet.dense_motion import sparse_motions
from semaug.generators.monkeynet.util import coordinate_grid, warp


TINY = {
    "image_size": 32, "keypoints": 4,
    "keypoint_detector": {"block_expansion": 8, "max_features": 16, "num_blocks": 2, "scale": 0.5},
    "dense_motion": {"block_expansion": 8, "max_features": 16, "num_blocks": 2},
    "generator": {"block_expansion": 8, "max_features": 16, "res_blocks": 1},
    "discriminator": {"block_expansion": 8, "max_features": 16, "num_blocks": 2},
}


def tiny_model(**overrides) -> MonkeyNet:
    torch.manual_seed(0)
    return MonkeyNet(MonkeyNetOptions.from_dict(TINY, **overrides)).eval()


def random_kp(b: int, k: int, jacobian: bool, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    kp = {"value": torch.rand(b, k, 2, generator=g) * 1.6 - 0.8}
    if jacobian:
        kp["jacobian"] = torch.eye(2) + 0.2 * torch.randn(b, k, 2, 2, generator=g)
    return kp


@pytest.mark.parametrize("first_order", [False, True])
def test_equal_keypoints_give_the_identity_flow(first_order: bool) -> None:
    model = tiny_model(first_order=first_order)
    source = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    kp = random_kp(2, 4, first_order, seed=2)
    with torch.no_grad():
        out = model.generator(source, kp, kp)
    identity = coordinate_grid(16, 16).expand(2, -1, -1, -1)
    assert torch.allclose(out["deformation"], identity, atol=1e-5)
    assert torch.allclose(out["deformed"], source, atol=1e-5)  # warping by it changes nothing
    # Zero-initialised motion head and open skip gate: the untrained output is ~ the source.
    assert (out["prediction"] - source).abs().mean() < 0.05
    # ... while moved keypoints move the flow (so the check above is not vacuous).
    moved = {**kp, "value": kp["value"] + 0.3}
    with torch.no_grad():
        shifted = model.generator(source, kp, moved)["deformation"]
    assert (shifted - identity).abs().max() > 0.05


def test_sparse_motion_sends_driving_keypoints_to_source_keypoints() -> None:
    kp_s, kp_d = random_kp(1, 3, True, seed=3), random_kp(1, 3, True, seed=4)
    motions = sparse_motions(kp_s, kp_d, (9, 9))  # [1, 4, 9, 9, 2]
    assert torch.equal(motions[0, 0], coordinate_grid(9, 9))  # background: identity
    # The candidate warp of keypoint k is affine: evaluate it at mu_d by interpolating the grid.
    grid = motions[0, 1:].permute(0, 3, 1, 2)  # [3, 2, 9, 9]
    at_mu_d = warp(grid, kp_d["value"][0][:, None, None, :])[..., 0, 0]  # [3, 2]
    assert torch.allclose(at_mu_d, kp_s["value"][0], atol=1e-4)


def test_mask_prior_makes_the_untrained_flow_follow_each_keypoint() -> None:
    """dense_motion.mask_prior: before any training, the flow at a driving keypoint points at
    that keypoint's source position (its Gaussian wins the mask there), and far from every
    keypoint it stays the identity; without the prior the untrained flow barely moves."""
    kp_d = {"value": torch.tensor([[[-0.5, -0.5], [0.5, 0.4]]])}  # [1, 2, 2] (x, y)
    kp_s = {"value": kp_d["value"] + torch.tensor([[[0.1, 0.0], [0.0, -0.1]]])}
    source = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    flows = {}
    for prior in (0.0, 12.0):
        torch.manual_seed(0)
        opts = MonkeyNetOptions.from_dict(copy.deepcopy(TINY), keypoints=2,
                                          dense_motion={**TINY["dense_motion"], "mask_prior": prior})
        with torch.no_grad():
            flows[prior] = MonkeyNet(opts).eval().generator.dense_motion(source, kp_s, kp_d)["deformation"]
    grid = coordinate_grid(16, 16)  # the dense motion runs at scale 0.5: 16 x 16

    def flow_at(flow: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:  # bilinear, [2]
        return warp(flow.permute(0, 3, 1, 2), xy.view(1, 1, 1, 2))[0, :, 0, 0]

    for k in range(2):
        target = kp_s["value"][0, k]
        assert torch.allclose(flow_at(flows[12.0], kp_d["value"][0, k]), target, atol=0.02)
        assert (flow_at(flows[0.0], kp_d["value"][0, k]) - target).abs().max() > 0.05
    # top-right, far from both keypoints: the prior adds nothing there (the untrained masks'
    # uniform share of keypoint motion, ~0.01, is the same with and without it)
    assert torch.allclose(flows[12.0][0, 0, -1], flows[0.0][0, 0, -1], atol=1e-4)
    assert (flows[12.0][0, 0, -1] - grid[0, -1]).abs().max() < 0.02


def test_equivariance_loss_is_zero_for_identity_and_positive_otherwise() -> None:
    model = tiny_model(first_order=True)
    frame = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        kp = model.kp_detector(frame)
        same = equivariance_losses(model.kp_detector, frame, kp, RandomTransform.identity(2))
        warped = RandomTransform(2, sigma_affine=0.1, sigma_tps=0.01, points_tps=5,
                                 generator=torch.Generator().manual_seed(6))
        other = equivariance_losses(model.kp_detector, frame, kp, warped)
    assert same["equivariance_value"] < 1e-5 and same["equivariance_jacobian"] < 1e-5
    assert other["equivariance_value"] > 1e-3 and other["equivariance_jacobian"] > 1e-3


def test_transform_jacobian_matches_autograd() -> None:
    t = RandomTransform(1, sigma_affine=0.1, sigma_tps=0.05, points_tps=3,
                        generator=torch.Generator().manual_seed(7))
    z = torch.tensor([[[0.3, -0.2], [-0.55, 0.41]]])
    analytic = t.jacobian(z)[0]  # [2, 2, 2]
    for n in range(2):
        numeric = torch.autograd.functional.jacobian(lambda p: t.warp_coordinates(p[None, None])[0, 0], z[0, n])
        assert torch.allclose(analytic[n], numeric, atol=1e-5)


def test_relative_keypoints_follow_the_drivers_motion() -> None:
    src, d0, dt = random_kp(1, 3, True, 8), random_kp(1, 3, True, 9), random_kp(1, 3, True, 10)
    at_start = relative_keypoints(src, d0, d0)  # driving frame 0: the source's own keypoints
    assert torch.allclose(at_start["value"], src["value"]) and torch.allclose(at_start["jacobian"], src["jacobian"], atol=1e-5)
    later = relative_keypoints(src, dt, d0)
    assert torch.allclose(later["value"] - src["value"], dt["value"] - d0["value"], atol=1e-6)
    expected = dt["jacobian"] @ torch.linalg.inv(d0["jacobian"]) @ src["jacobian"]
    assert torch.allclose(later["jacobian"], expected, atol=1e-5)


def test_the_catalog_declares_the_options_of_monkeynet_and_fomm() -> None:
    assert catalog.default_options("monkeynet") == MonkeyNetOptions().to_dict()
    fomm = catalog.default_options("fomm")
    assert fomm["first_order"] is True and {**fomm, "first_order": False} == MonkeyNetOptions().to_dict()
    with pytest.raises(ValueError, match="generators.fomm.first_order: fixed"):
        catalog.resolve_options("fomm", {"first_order": False})


def test_options_py_describes_and_checks_every_option() -> None:
    """options.py is the single source of names, defaults, descriptions and constraints: the
    catalog checks a config block against it at parse time."""
    from semaug.generators.monkeynet.options import schema_properties

    described = schema_properties()
    assert all(leaf.get("description") for group in described.values()
               for leaf in (group["properties"].values() if group.get("type") == "object" else [group]))
    with pytest.raises(ValueError, match="generators.monkeynet.keypoint_source: 'dense' is not one of"):
        catalog.resolve_options("monkeynet", {"keypoint_source": "dense"})


def test_unknown_or_misplaced_options_fail() -> None:
    with pytest.raises(ValueError, match="generators.monkeynet.bogus"):
        MonkeyNetOptions.from_dict({"bogus": 1})
    with pytest.raises(ValueError, match="loss_weights.vgg"):
        MonkeyNetOptions.from_dict({"loss_weights": {"vgg": 10}})
    opts = MonkeyNetOptions.from_dict(copy.deepcopy(TINY))
    assert opts.keypoint_detector.num_blocks == 2 and opts.generator.down_blocks == 2  # merged, not replaced


def test_config_blocks_are_checked_against_the_declared_options() -> None:
    with pytest.raises(ValueError, match="generators.monkeynet.iterations: expected int"):
        catalog.resolve_options("monkeynet", {"iterations": "many"})
    with pytest.raises(ValueError, match="generators.monkeynet.loss_weights.vgg: unknown option"):
        catalog.resolve_options("monkeynet", {"loss_weights": {"vgg": 1.0}})
    merged = catalog.resolve_options("monkeynet", {"generator": {"res_blocks": 6}, "lr": 1})
    assert merged["generator"]["res_blocks"] == 6 and merged["generator"]["down_blocks"] == 2
    assert merged["lr"] == 1  # an int where a float is declared is fine
