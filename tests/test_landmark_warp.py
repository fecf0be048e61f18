"""landmark_warp: relative motion transfer, TPS identity, displacement, no folds, registry."""

import numpy as np
import pytest
import torch

from semaug.clip import Clip
from semaug import catalog
from semaug.generators import build_generator, transfer_landmarks
from semaug.generators.tps import identity_grid, min_jacobian, tps_flow, upsample_flow
from semaug.ibug import MEAN_FACE
from semaug.synthesis.toy import draw_face, toy_clip

S = 64


def face_lm(scale=0.9, offset=(3.0, 3.0)) -> np.ndarray:
    return (MEAN_FACE * S * scale + np.asarray(offset)).astype(np.float32)


def still(lm: np.ndarray, n: int = 4) -> Clip:
    frames = np.repeat(draw_face(lm, S)[None], n, 0)
    return Clip(frames=frames, landmarks=np.repeat(lm[None], n, 0))


def test_transfer_ignores_head_motion_and_rescales_expression():
    src, drv0 = face_lm(0.6, (10, 10)), face_lm(0.9, (2, 2))
    apex = drv0.copy()
    apex[48:60, 1] += 3.0  # mouth drops 3 px on the driver
    # the driver's whole head also turns 10° and shifts: that must not transfer
    th = np.deg2rad(10)
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    moved = (apex - 30) @ R.T + 30 + [4, -2]
    target = transfer_landmarks(src, np.stack([drv0, drv0 @ R.T + [1, 1], moved]))
    np.testing.assert_allclose(target[0], src, atol=1e-5)
    np.testing.assert_allclose(target[1], src, atol=1e-3)
    ratio = 0.6 / 0.9
    np.testing.assert_allclose(target[2, 48:60, 1] - src[48:60, 1], 3.0 * ratio, atol=0.05)
    np.testing.assert_allclose(target[2, :17], src[:17], atol=0.05)


def test_reconstruction_keeps_the_head_motion_that_transfer_registers_out():
    lm = face_lm()
    shifts = np.array([[0, 0], [1.5, 0], [3, -1], [4, -2]], np.float32)
    clip = Clip(frames=np.repeat(draw_face(lm, S)[None], 4, 0), landmarks=lm[None] + shifts[:, None])
    gen = build_generator("landmark_warp", {}, device="cpu")
    # FOMM's reconstruction (the self-reenactment measures): the clip's own landmarks, moving
    rebuilt = gen.reconstruct_batch([clip])[0]
    np.testing.assert_allclose(rebuilt.landmarks, clip.landmarks, atol=1e-4)
    assert np.abs(rebuilt.frames[3].astype(int) - rebuilt.frames[0]).max() > 50  # the face moved
    # cross-identity transfer of the same clip: a pure head shift is registered out
    transferred = gen.animate_batch([(clip, clip)])[0]
    np.testing.assert_allclose(transferred.landmarks, np.repeat(lm[None], 4, 0), atol=1e-3)


def test_identity_grid_and_zero_motion_reproduce_the_source():
    lm = torch.from_numpy(face_lm())[None]
    grid = upsample_flow(tps_flow(lm, lm[0], (S, S)), (S, S))
    np.testing.assert_allclose(grid[0].reshape(-1, 2), identity_grid(S, S), atol=1e-5)
    gen = build_generator("landmark_warp", {}, device="cpu")
    src = still(face_lm(), 1)
    drv = still(face_lm(0.8, (6, 5)), 5)  # a different face, but no motion
    out = gen.animate(src, drv)
    assert out.frames.shape == (5, S, S, 3)
    assert np.array_equal(out.frames, np.repeat(src.frames[:1], 5, 0))
    np.testing.assert_allclose(out.landmarks, np.repeat(src.landmarks[:1], 5, 0), atol=1e-4)


def test_known_displacement_moves_image_content():
    lm = face_lm()
    img = np.full((S, S, 3), 128, np.uint8)
    cx, cy = lm[48:60].mean(0).round().astype(int)
    img[cy - 1:cy + 2, cx - 1:cx + 2] = 255  # a bright dot at the mouth centre
    src = Clip(frames=img[None], landmarks=lm[None])
    moved = lm.copy()
    moved[48:68] += [4.0, 2.0]  # the whole mouth moves right 4 px and down 2 px
    drv = Clip(frames=np.zeros((2, S, S, 3), np.uint8), landmarks=np.stack([lm, moved]))
    out = build_generator("landmark_warp", {"flow_resolution": 0}, device="cpu").animate(src, drv)

    def centroid(frame):
        w = np.clip(frame[..., 0].astype(float) - 128, 0, None)
        ys, xs = np.mgrid[0:S, 0:S]
        return np.array([(xs * w).sum(), (ys * w).sum()]) / w.sum()

    shift = centroid(out.frames[1]) - centroid(out.frames[0])
    np.testing.assert_allclose(shift, [4.0, 2.0], atol=0.5)
    assert out.frames[1][:4].std() == 0  # border rows untouched (anchors)


def test_crossing_eyelids_do_not_fold_the_warp():
    lm = face_lm()
    tgt = lm.copy()
    tgt[[37, 38], 1] += 8.0  # upper eyelid pushed far below the lower one
    tgt[[40, 41], 1] -= 8.0
    gen = build_generator("landmark_warp", {"min_gap": 0.0}, device="cpu")  # no clamp: λ must do it
    grid = upsample_flow(tps_flow(torch.from_numpy(tgt)[None], torch.from_numpy(lm), (S, S),
                                  resolution=0, lam=gen.options["lam"]), (S, S))
    assert min_jacobian(grid.permute(0, 3, 1, 2)) > 0
    clamped = build_generator("landmark_warp", {}, device="cpu").targets(
        still(lm, 1), Clip(frames=np.zeros((2, 1, 1, 3), np.uint8), landmarks=np.stack([lm, tgt])))
    assert (clamped[1, [41, 40], 1] - clamped[1, [37, 38], 1] >= 0.5 - 1e-5).all()


def test_batch_equals_one_by_one():
    gen = build_generator("landmark_warp", {"batch_frames": 5}, device="cpu")
    pairs = [(toy_clip("happy", size=32, n_frames=1, seed=i),
              toy_clip("surprise", size=32, n_frames=3 + i, seed=10 + i)) for i in range(3)]
    together = gen.animate_batch(pairs)
    for (s, d), out in zip(pairs, together):
        assert np.array_equal(out.frames, gen.animate(s, d).frames)
        assert out.n_frames == d.n_frames


def test_the_catalog_knows_landmark_warp_as_a_training_free_generator():
    spec = catalog.scenario("landmark_warp")
    assert spec.kind == catalog.GENERATOR and not spec.learned
    assert spec.module == "semaug.generators.landmark_warp"
    with pytest.raises(KeyError, match="unknown scenario 'no_such_generator'"):
        build_generator("no_such_generator")


def test_head_anchors_keep_the_hairline_still_when_the_brows_rise():
    lm = face_lm()
    img = np.full((S, S, 3), 200, np.uint8)
    hairline = int(lm[17:27, 1].min()) - 8  # above the pinned points (0.3 IOD ~ 5 px)
    img[:hairline] = 20  # dark hair above a bright forehead
    src = Clip(frames=img[None], landmarks=lm[None])
    raised = lm.copy()
    raised[17:27, 1] -= 4.0  # surprise: brows up 4 px
    drv = Clip(frames=np.repeat(img[None], 2, 0), landmarks=np.stack([lm, raised]))

    def hairline_shift(head_margin: float) -> float:
        gen = build_generator("landmark_warp", {"head_margin": head_margin}, device="cpu")
        column = gen.animate(src, drv).frames[1, :, S // 2, 0].astype(float)
        # sub-pixel edge: rows darker than the mid grey, counted with partial rows
        return float(np.clip((200 - column) / 180, 0, 1).sum()) - hairline

    pinned, free = abs(hairline_shift(0.3)), abs(hairline_shift(0.0))
    assert pinned < 0.5 * 4.0 and free > 1.8 * pinned, (pinned, free)


def lips_image(lm: np.ndarray, lips=(180, 60, 60), skin=(200, 170, 150)) -> np.ndarray:
    """A flat face: skin everywhere, the lips (outer lip line) in their own colour."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (S, S), skin)
    ImageDraw.Draw(img).polygon([tuple(p) for p in lm[48:60].tolist()], fill=lips)
    return np.asarray(img).copy()


def test_mouth_fill_darkens_a_mouth_that_opens_and_only_then():
    lm = face_lm()
    src = Clip(frames=lips_image(lm)[None], landmarks=lm[None])
    opened = lm.copy()
    opened[[65, 66, 67], 1] += 5.0  # the lower inner lip drops 5 px (~0.3 inter-ocular)
    opened[[55, 56, 57, 58, 59], 1] += 5.0
    opened[5:12, 1] += 4.0
    moved = lm.copy()
    moved[48:68, 0] += 2.0  # the mouth slides sideways, lips still closed

    def run(target: np.ndarray, **options) -> np.ndarray:
        drv = Clip(frames=np.zeros((2, S, S, 3), np.uint8), landmarks=np.stack([lm, target]))
        return build_generator("landmark_warp", options, device="cpu").animate(src, drv).frames

    filled, plain = run(opened), run(opened, mouth_fill=0)
    assert np.array_equal(filled[0], src.frames[0]) and np.array_equal(plain[0], src.frames[0])
    cx, cy = opened[[61, 62, 63, 65, 66, 67]].mean(0).round().astype(int)
    centre = (slice(cy - 1, cy + 2), slice(cx - 1, cx + 2))
    # Without the fill the warp stretches the lips over the gap; with it, a dark cavity:
    # half the lip colour (the default mouth_fill) in the middle of the opening.
    np.testing.assert_allclose(plain[1][centre].reshape(-1, 3).mean(0), [180, 60, 60], atol=25)
    np.testing.assert_allclose(filled[1][centre].reshape(-1, 3).mean(0), [90, 30, 30], atol=8)
    outside = np.ones((S, S), bool)
    outside[int(opened[48:68, 1].min()) - 2:int(opened[48:68, 1].max()) + 3,
            int(opened[48:68, 0].min()) - 2:int(opened[48:68, 0].max()) + 3] = False
    assert np.array_equal(filled[1][outside], plain[1][outside])  # the fill stays in the mouth
    # Lips that do not part are left to the warp alone.
    assert np.array_equal(run(moved), run(moved, mouth_fill=0))


def test_motion_stays_inside_the_face_region():
    from semaug.generators.landmark_warp import face_weight, head_anchors

    lm = face_lm()
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)  # texture: any motion shows
    src = Clip(frames=img[None], landmarks=lm[None])
    tgt = lm.copy()
    tgt[17:27, 1] -= 4.0  # brows up
    tgt[5:12, 1] += 4.0  # jaw down
    tgt[48:60, 1] += 2.0
    drv = Clip(frames=np.zeros((2, S, S, 3), np.uint8), landmarks=np.stack([lm, tgt]))

    def frame(feather: float) -> np.ndarray:
        options = {"face_feather": feather, "flow_resolution": 0, "mouth_fill": 0}
        return build_generator("landmark_warp", options, device="cpu").animate(src, drv).frames[1]

    iod = float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))
    outside = face_weight(head_anchors(lm, 0.3), iod, (S, S), (S, S), 0.5) == 0
    assert 0.1 < outside.mean() < 0.9
    confined, free = frame(0.5), frame(0.0)
    assert np.array_equal(confined[outside], img[outside])  # exactly the source's pixels
    assert (free[outside] != img[outside]).any(axis=-1).mean() > 0.05  # without: it leaks
    inside = face_weight(head_anchors(lm, 0.3), iod, (S, S), (S, S), 0.5) == 1
    assert np.array_equal(confined[inside], free[inside])  # and inside nothing changes


def test_nose_wrinkle_is_not_taken_for_head_motion():
    from semaug.ibug import STABLE_POINTS

    lm = face_lm()
    wrinkled = lm.copy()
    wrinkled[29:36, 1] -= 2.0  # disgust: the lower nose rises, the head does not move
    drv = Clip(frames=np.zeros((2, 1, 1, 3), np.uint8), landmarks=np.stack([lm, wrinkled]))
    src = still(face_lm(0.8, (6, 5)), 1)
    rigid = build_generator("landmark_warp", {}, device="cpu").targets(src, drv)
    np.testing.assert_allclose(rigid[1, :29], src.landmarks[0, :29], atol=1e-4)  # jaw, brows
    np.testing.assert_allclose(rigid[1, 36:], src.landmarks[0, 36:], atol=1e-4)  # eyes, mouth
    assert (rigid[1, 29:36, 1] - src.landmarks[0, 29:36, 1] < -1.0).all()
    nose_aligned = build_generator("landmark_warp", {"stable_points": list(STABLE_POINTS)},
                                   device="cpu").targets(src, drv)
    assert np.abs(nose_aligned[1, :17] - src.landmarks[0, :17]).max() > 0.3  # the old registration


def test_inverse_of_a_strong_stretch():
    import torch.nn.functional as F

    from semaug.generators.tps import invert_displacement

    n = 33
    xy = identity_grid(n, n).reshape(n, n, 2)
    x, y = xy[..., 0], xy[..., 1]
    bump = torch.exp(-(x**2 + y**2) / 0.1)
    # ∂Dx/∂x = 1.5 at the centre: the fixed point y = x − D(y) diverges there, Newton must not.
    disp = torch.stack([0.75 * x * bump * 2, 0.3 * y * bump])[None]
    assert (1 + torch.gradient(disp[0, 0], spacing=2 / (n - 1), dim=1)[0]).min() > 0  # no fold
    back = invert_displacement(disp)
    src = xy[None] + back.permute(0, 2, 3, 1)
    forward = F.grid_sample(disp, src, mode="bilinear", padding_mode="border", align_corners=True)
    residual = (src + forward.permute(0, 2, 3, 1) - xy[None]).norm(dim=-1).max()
    assert residual < 0.02 * 2 / (n - 1)  # a fiftieth of a grid cell
    assert back.abs().max() > 0.1  # (and it did have to move points)
