"""The full model (keypoint detector + dense motion + generator + discriminator) and its
losses, none of which needs a pretrained network:

- reconstruction: L1, SSIM and image-gradient terms on an image pyramid (stand-ins for FOMM's
  VGG19 perceptual loss, whose weights we may not download);
- discriminator feature matching and LSGAN (Monkey-Net's recipe);
- keypoint (and Jacobian) equivariance under a random affine + thin-plate-spline warp.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .dense_motion import DenseMotionNetwork
from .discriminator import MultiScaleDiscriminator
from .generator import OcclusionAwareGenerator
from .keypoint_detector import KeypointDetector, concat_keypoints, landmark_keypoints
from .mouth import mouth_masks
from .options import MonkeyNetOptions
from .spline import pair_spline_flows
from .util import coordinate_grid, downsample, warp


class RandomTransform:
    """A random smooth warp of the plane: affine + thin-plate spline on a regular control grid.

    ``warp_coordinates`` maps points z of the *transformed* frame to the original frame;
    ``transform_frame`` resamples a frame accordingly: out(z) = frame(warp(z)).
    """

    def __init__(self, batch: int, *, sigma_affine: float, sigma_tps: float, points_tps: int,
                 generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> None:
        eye = torch.eye(2, 3).expand(batch, 2, 3)
        noise = torch.randn(batch, 2, 3, generator=generator) * sigma_affine
        self.theta = (eye + noise).to(device)  # [B, 2, 3]
        self.control = coordinate_grid(points_tps, points_tps).view(-1, 2).to(device)  # [P, 2]
        self.tps = (torch.randn(batch, points_tps**2, 2, generator=generator) * sigma_tps).to(device)

    @classmethod
    def identity(cls, batch: int, device: torch.device | str = "cpu") -> "RandomTransform":
        """The identity warp (for tests: equivariance losses must vanish under it)."""
        return cls(batch, sigma_affine=0.0, sigma_tps=0.0, points_tps=2, device=device)

    def warp_coordinates(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, N, 2] -> [B, N, 2]."""
        z = z.float()
        out = z @ self.theta[:, :, :2].transpose(1, 2) + self.theta[:, None, :, 2]
        diff = z[:, :, None] - self.control[None, None]  # [B, N, P, 2]
        r2 = (diff**2).sum(-1)  # [B, N, P]
        u = r2 * torch.log(r2 + 1e-9)  # TPS kernel r^2 log r^2
        return out + torch.einsum("bnp,bpi->bni", u, self.tps)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        """d warp / d z at z [B, N, 2] -> [B, N, 2, 2] (row = output coordinate), analytic."""
        z = z.float()
        diff = z[:, :, None] - self.control[None, None]  # [B, N, P, 2]
        r2 = (diff**2).sum(-1)
        du = 2 * diff * (torch.log(r2 + 1e-9) + 1)[..., None]  # [B, N, P, 2]: dU/dz
        tps = torch.einsum("bpi,bnpj->bnij", self.tps, du)
        return self.theta[:, None, :, :2] + tps

    def transform_frame(self, frame: torch.Tensor) -> torch.Tensor:
        """frame [B, C, H, W] -> the same frame seen through the warp."""
        b, _, h, w = frame.shape
        z = coordinate_grid(h, w, device=frame.device).view(1, -1, 2).expand(b, -1, -1)
        grid = self.warp_coordinates(z).view(b, h, w, 2)
        return warp(frame, grid, padding_mode="reflection")


def equivariance_losses(kp_detector: KeypointDetector, frame: torch.Tensor,
                        kp_frame: dict[str, torch.Tensor], transform: RandomTransform
                        ) -> dict[str, torch.Tensor]:
    """Keypoints must move with the image: detecting on the warped frame and mapping back must
    give the keypoints of the frame (and, with Jacobians, J_frame = dwarp * J_warped)."""
    kp_t = kp_detector(transform.transform_frame(frame))
    out = {"equivariance_value": (kp_frame["value"].float()
                                  - transform.warp_coordinates(kp_t["value"])).abs().mean()}
    if "jacobian" in kp_frame:
        with torch.autocast(device_type=frame.device.type, enabled=False):  # 2x2 inverse in fp32
            mapped = transform.jacobian(kp_t["value"]) @ kp_t["jacobian"].float()
            normed = torch.linalg.inv(kp_frame["jacobian"].float()) @ mapped  # ideally I
            eye = torch.eye(2, device=frame.device)
            out["equivariance_jacobian"] = (eye - normed).abs().mean()
    return out


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Structural similarity with 3x3 box statistics; x, y [B, C, H, W] in [0, 1]."""
    c1, c2 = 0.01**2, 0.03**2
    xp, yp = F.pad(x, [1] * 4, mode="reflect"), F.pad(y, [1] * 4, mode="reflect")
    mu_x, mu_y = F.avg_pool2d(xp, 3, 1), F.avg_pool2d(yp, 3, 1)
    var_x = F.avg_pool2d(xp * xp, 3, 1) - mu_x**2
    var_y = F.avg_pool2d(yp * yp, 3, 1) - mu_y**2
    cov = F.avg_pool2d(xp * yp, 3, 1) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return num / den


def gradient_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L1 between horizontal and vertical finite differences: keeps edges sharp."""
    dx = lambda t: t[..., :, 1:] - t[..., :, :-1]  # noqa: E731
    dy = lambda t: t[..., 1:, :] - t[..., :-1, :]  # noqa: E731
    return (dx(x) - dx(y)).abs().mean() + (dy(x) - dy(y)).abs().mean()


def pyramid_losses(pred: torch.Tensor, target: torch.Tensor, scales: list[float]
                   ) -> dict[str, torch.Tensor]:
    """Unweighted reconstruction terms summed over the pyramid levels."""
    pred, target = pred.float(), target.float()
    l1 = ssim = grad = pred.new_zeros(())
    for s in scales:
        p, t = downsample(pred, s), downsample(target, s)
        l1 = l1 + (p - t).abs().mean()
        ssim = ssim + ((1 - ssim_map(p, t)) / 2).clamp(0, 1).mean()
        grad = grad + gradient_l1(p, t)
    return {"reconstruction": l1, "ssim": ssim, "gradient": grad}


class MonkeyNet(nn.Module):
    """Keypoint detector + generator (owning the dense motion network) + discriminator.

    With ``keypoint_source`` landmarks or mixed, the dataset's landmarks at ``landmark_points``
    are keypoints too (after the learned ones): the dense motion network and the discriminator
    see ``opts.num_keypoints`` keypoints; only learned ones have a detector and equivariance.
    """

    def __init__(self, opts: MonkeyNetOptions) -> None:
        super().__init__()
        self.opts = opts
        k, kd, dm, g, d = (opts.num_keypoints, opts.keypoint_detector, opts.dense_motion, opts.generator,
                           opts.discriminator)
        self.kp_detector = None
        if opts.uses_learned:
            self.kp_detector = KeypointDetector(
                opts.keypoints, kd.block_expansion, kd.num_blocks, kd.max_features, opts.norm,
                scale=kd.scale, temperature=kd.temperature, first_order=opts.first_order)
        dense = DenseMotionNetwork(k, dm.block_expansion, dm.num_blocks, dm.max_features, opts.norm,
                                   scale=kd.scale, kp_variance=dm.kp_variance, occlusion=dm.occlusion,
                                   mask_prior=dm.mask_prior, landmark_spline=dm.landmark_spline)
        self.generator = OcclusionAwareGenerator(dense, g.block_expansion, g.max_features, g.down_blocks,
                                                 g.res_blocks, opts.norm, warped_skip=g.warped_skip,
                                                 mouth_mask=g.mouth_mask)
        w = opts.loss_weights
        self.discriminator = None
        if w.gan > 0 or w.feature_matching > 0:
            self.discriminator = MultiScaleDiscriminator(
                k, d.block_expansion, d.num_blocks, d.max_features, opts.norm, scales=d.scales,
                kp_variance=dm.kp_variance)

    def keypoints(self, frame: torch.Tensor, landmarks: torch.Tensor | None = None
                  ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
        """frame [B, 3, H, W], landmarks [B, 68, 2] in [-1, 1] coordinates (needed unless
        keypoint_source is learned) -> (all keypoints [B, num_keypoints, ...], the learned part
        or None)."""
        parts, learned = [], None
        if self.kp_detector is not None:
            learned = self.kp_detector(frame)
            parts.append(learned)
        if self.opts.uses_landmarks:
            if landmarks is None:
                raise ValueError(f"keypoint_source {self.opts.keypoint_source!r} needs the frames' "
                                 "landmarks; none were given")
            parts.append(landmark_keypoints(landmarks, self.opts.landmark_points,
                                            first_order=self.opts.first_order))
        return concat_keypoints(*parts), learned

    def spline_maps(self, source: torch.Tensor, landmarks_source: torch.Tensor | None,
                    landmarks_driving: torch.Tensor | None) -> torch.Tensor | None:
        """The landmark spline's backward maps for (source, driving) pairs of one video, [B, 68, 2]
        landmarks in [-1, 1] coordinates -> [B, h, w, 2] on the dense motion grid; None when the
        model has no landmark spline."""
        if not self.generator.dense_motion.spline:
            return None
        if landmarks_source is None or landmarks_driving is None:
            raise ValueError("dense_motion.landmark_spline needs the frames' landmarks; none were given "
                             "(set it to 0 for videos without landmarks)")
        return pair_spline_flows(landmarks_source, landmarks_driving, self.motion_size(source.shape[2:]))

    def mouth_maps(self, landmarks: torch.Tensor | None, size: tuple[int, int] | torch.Size
                   ) -> torch.Tensor | None:
        """Inner-lip masks [B, 1, H, W] of the frames to render, of ``size`` = (H, W), from their
        landmarks [B, 68, 2] in [-1, 1] coordinates; None when the generator has no mouth mask."""
        if not self.generator.mouth_mask:
            return None
        if landmarks is None:
            raise ValueError("generator.mouth_mask needs the frames' landmarks; none were given "
                             "(set it to false for videos without landmarks)")
        return mouth_masks(landmarks, tuple(size))

    def motion_size(self, size: tuple[int, int] | torch.Size) -> tuple[int, int]:
        """(h, w) of the dense motion grid for frames of ``size`` = (H, W)."""
        scale = self.generator.dense_motion.scale
        return int(size[0] * scale), int(size[1] * scale)

    def animate(self, source: torch.Tensor, kp_source: dict[str, torch.Tensor],
                kp_driving: dict[str, torch.Tensor], spline: torch.Tensor | None = None,
                mouth: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return self.generator(source, kp_source, kp_driving, spline, mouth)

    def generator_losses(self, source: torch.Tensor, driving: torch.Tensor,
                         rng: torch.Generator | None = None, landmarks_source: torch.Tensor | None = None,
                         landmarks_driving: torch.Tensor | None = None
                         ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """source, driving [B, 3, H, W] in [0, 1], frames of one video (and their landmarks
        [B, 68, 2] in [-1, 1] coordinates) -> (weighted losses, outputs).

        The model reconstructs the driving frame from the source frame and the keypoints of both.
        """
        w = self.opts.loss_weights
        kp_source, _ = self.keypoints(source, landmarks_source)
        kp_driving, learned_driving = self.keypoints(driving, landmarks_driving)
        spline = self.spline_maps(source, landmarks_source, landmarks_driving)
        out = self.generator(source, kp_source, kp_driving, spline,
                             self.mouth_maps(landmarks_driving, driving.shape[2:]))
        out["kp_source"], out["kp_driving"] = kp_source, kp_driving
        rec = pyramid_losses(out["prediction"], driving, self.opts.pyramid_scales)
        losses = {name: getattr(w, name) * value for name, value in rec.items() if getattr(w, name) > 0}
        if self.discriminator is not None:
            fake = self.discriminator(out["prediction"], kp_driving["value"])
            with torch.no_grad():
                real = self.discriminator(driving, kp_driving["value"])
            if w.feature_matching > 0:
                fm = sum((fr.detach().float() - ff.float()).abs().mean()
                         for (feat_r, _), (feat_f, _) in zip(real, fake)
                         for fr, ff in zip(feat_r, feat_f))
                losses["feature_matching"] = w.feature_matching * fm
            if w.gan > 0:
                losses["gan"] = w.gan * sum(((1 - s.float()) ** 2).mean() for _, s in fake)
        if learned_driving is not None and (
                w.equivariance_value > 0 or (self.opts.first_order and w.equivariance_jacobian > 0)):
            t = self.opts.transform
            transform = RandomTransform(driving.shape[0], sigma_affine=t.sigma_affine, sigma_tps=t.sigma_tps,
                                        points_tps=t.points_tps, generator=rng, device=driving.device)
            eq = equivariance_losses(self.kp_detector, driving, learned_driving, transform)
            losses["equivariance_value"] = w.equivariance_value * eq["equivariance_value"]
            if "equivariance_jacobian" in eq:
                losses["equivariance_jacobian"] = w.equivariance_jacobian * eq["equivariance_jacobian"]
        return losses, out

    def discriminator_losses(self, driving: torch.Tensor, out: dict[str, torch.Tensor]
                             ) -> dict[str, torch.Tensor]:
        """LSGAN: real driving frames -> 1, generated ones -> 0 (both given the driving keypoints)."""
        assert self.discriminator is not None
        kp = out["kp_driving"]["value"].detach()
        real = self.discriminator(driving, kp)
        fake = self.discriminator(out["prediction"].detach(), kp)
        loss = sum(((1 - r.float()) ** 2).mean() + (f.float() ** 2).mean()
                   for (_, r), (_, f) in zip(real, fake))
        return {"discriminator": loss}
