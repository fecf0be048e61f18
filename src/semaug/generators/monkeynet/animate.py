"""Inference: motion transfer with a trained model, registered as the generators ``monkeynet``
(translation-only keypoints) and ``fomm`` (with first-order Jacobians).

In relative mode (default) the driving keypoints are moved into the source's frame relative to
the driver's reference frame r (frame 0, or with ``driver_frame: best`` the frame whose landmarks
best match the source's), after registering every driving frame to frame r on the rigid points
(eye corners + nasion), and scaled by s (FOMM's adaptive movement scale, or 1):

    mu'_t = mu_src + s (mu_t - mu_r),      J'_t = J_t J_r^-1 J_src;

in absolute mode mu'_t = mu_t. The generator renders the source frame under (kp_src -> kp'_t).
Landmark keypoints (keypoint_source landmarks | mixed) and the output landmarks follow the same
rule on the 68 dataset landmarks (:func:`transfer_landmarks`, inter-ocular scaling); so does the
landmark spline (dense_motion.landmark_spline), which warps the source's 68 landmarks to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...clip import Clip
from ...ibug import RIGID_POINTS
from ..landmark_warp import DEFAULTS as LANDMARK_WARP
from ..landmark_warp import keep_order
from ..motion import best_matching_frame, register_to, transfer_landmarks
from ..registry import Generator
from .data import fill_missing_landmarks, normalise_landmarks, to_float
from .keypoint_detector import concat_keypoints
from .model import MonkeyNet
from .options import MonkeyNetOptions, TransferOptions
from .spline import spline_flows
from ...checkpoints import load_checkpoint
from ...devices import torch_device
from .train import CHECKPOINT_FORMAT


def load_model(path: str | Path, device: str | torch.device = "cpu") -> MonkeyNet:
    """The keypoint detector + generator of a model.pt written by training (eval mode).

    Read with ``weights_only=True``: the file holds tensors, dicts, strings and numbers only.
    """
    state = load_checkpoint(path, writer="its train_generator job")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint; retrain the generator")
    opts = MonkeyNetOptions.from_dict(state["options"])
    opts.loss_weights.gan = opts.loss_weights.feature_matching = 0.0  # no discriminator needed
    model = MonkeyNet(opts)
    if model.kp_detector is not None:
        model.kp_detector.load_state_dict(state["kp_detector"])
    model.generator.load_state_dict(state["generator"])
    model.meta = state.get("meta", {})  # type: ignore[assignment]
    return model.to(device).eval()


def transfer_keypoints(kp_source: dict[str, torch.Tensor], kp_driving: dict[str, torch.Tensor],
                       kp_reference: dict[str, torch.Tensor], *, mode: str = "relative",
                       scale: float = 1.0) -> dict[str, torch.Tensor]:
    """Driving keypoints moved into the source's frame (FOMM's normalize_kp).

    kp_source [1 or T, K, ...], kp_driving [T, K, ...], kp_reference (the driver's reference
    frame) [1 or T, K, ...] -> [T, K, ...].

    - relative: mu' = mu_src + scale * (mu_t - mu_ref),  J' = J_t J_ref^-1 J_src;
    - absolute: the driving keypoints themselves.
    """
    if mode == "absolute":
        return {k: v.float() for k, v in kp_driving.items() if k in ("value", "jacobian")}
    if mode != "relative":
        raise ValueError(f"transfer mode must be relative or absolute, got {mode!r}")
    out = {"value": kp_source["value"].float() + scale * (kp_driving["value"].float()
                                                          - kp_reference["value"].float())}
    if "jacobian" in kp_source:
        # Fp32: an inverse of a near-singular 2x2 in half precision is noise.
        jac = kp_driving["jacobian"].float() @ torch.linalg.inv(kp_reference["jacobian"].float())
        out["jacobian"] = jac @ kp_source["jacobian"].float()
    return out


def relative_keypoints(kp_source: dict[str, torch.Tensor], kp_driving: dict[str, torch.Tensor],
                       kp_initial: dict[str, torch.Tensor], scale: float = 1.0) -> dict[str, torch.Tensor]:
    """Relative transfer (:func:`transfer_keypoints` with mode relative)."""
    return transfer_keypoints(kp_source, kp_driving, kp_initial, mode="relative", scale=scale)


def hull_scale(source: torch.Tensor, reference: torch.Tensor) -> float:
    """FOMM's adaptive movement scale: sqrt(hull area of source points / that of the driver's
    reference points), points [K, 2]; 1 when either hull is degenerate (fewer than 3 points in
    general position)."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        a_src = ConvexHull(source.detach().double().cpu().numpy()).volume  # 2-D: volume = area
        a_ref = ConvexHull(reference.detach().double().cpu().numpy()).volume
    except (QhullError, ValueError):
        return 1.0
    return float(np.sqrt(a_src / a_ref)) if a_ref > 1e-12 else 1.0


def register_keypoints(kp: dict[str, torch.Tensor], A: np.ndarray, b: np.ndarray) -> dict[str, torch.Tensor]:
    """Keypoints [T, K, ...] mapped by per-frame similarities x -> A_t x + b_t (A [T,2,2], b [T,2]):
    values move with the frame, Jacobians turn with it (J' = A J)."""
    A_t = torch.as_tensor(A, dtype=torch.float32, device=kp["value"].device)
    b_t = torch.as_tensor(b, dtype=torch.float32, device=kp["value"].device)
    out = {"value": kp["value"].float() @ A_t.transpose(1, 2) + b_t[:, None]}
    if "jacobian" in kp:
        out["jacobian"] = A_t[:, None] @ kp["jacobian"].float()
    return out


@dataclass
class PairPlan:
    """What one (source, driver) pair animates with: the driver's reference frame, the keypoint
    motion scale, and the landmarks of the generated video (source crop pixels)."""

    reference: int
    scale: float
    target_landmarks: np.ndarray | None


class MonkeyNetAnimator:
    """Animates source frames with driving videos using a trained :class:`MonkeyNet`, with the
    transfer options of ``model.opts.transfer`` (relative/absolute, adaptive scale, reference
    frame, rigid registration)."""

    def __init__(self, model: MonkeyNet, device: str | torch.device = "cpu", batch_size: int = 32,
                 transfer: TransferOptions | None = None) -> None:
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.size = model.opts.image_size
        self.batch_size = batch_size
        self.transfer = transfer or model.opts.transfer

    def _input(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 [N, H, W, 3] -> float [N, 3, S, S] at the model's size."""
        x = to_float(torch.from_numpy(np.ascontiguousarray(frames)), self.device)
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                              antialias=True)
        return x

    @torch.no_grad()
    def keypoints(self, frames: np.ndarray, landmarks: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        """uint8 [N, H, W, 3] (+ landmarks [N, 68, 2] in [-1, 1] coordinates) -> keypoints
        [N, K, ...], learned then landmark ones, in batches."""
        parts = []
        for i in range(0, len(frames), self.batch_size):
            lm = None if landmarks is None else torch.from_numpy(landmarks[i:i + self.batch_size]).to(self.device)
            parts.append(self.model.keypoints(self._input(frames[i:i + self.batch_size]), lm)[0])
        return {k: torch.cat([p[k] for p in parts]) for k in ("value", "jacobian") if k in parts[0]}

    def plan(self, source_lm: np.ndarray | None, driving_lm: np.ndarray | None) -> tuple[int, bool]:
        """(reference frame, whether to register) for landmarks in pixels ([68,2], [T,68,2]) or None."""
        t = self.transfer
        if source_lm is None or driving_lm is None:
            if self.model.opts.needs_landmarks:
                raise ValueError(f"{self.model.opts.landmark_users} needs the landmarks of the source "
                                 "and the driver")
            return 0, False
        reference = best_matching_frame(source_lm, driving_lm) if t.driver_frame == "best" else 0
        return reference, t.register and t.mode == "relative"

    @torch.no_grad()
    def transferred_keypoints(self, pairs: list[tuple[np.ndarray, np.ndarray]],
                              landmarks: list[tuple[np.ndarray, np.ndarray]] | None = None
                              ) -> tuple[np.ndarray, np.ndarray, dict[str, torch.Tensor],
                                         dict[str, torch.Tensor], list[PairPlan]]:
        """The keypoints :meth:`animate_many` renders with: (sources uint8 [P, S, S, 3], driving
        frames uint8 [sum T, S, S, 3], source keypoints [P, K, ...], transferred driving
        keypoints [sum T, K, ...], the plan of each pair). Arguments as for animate_many."""
        opts, t = self.model.opts, self.transfer
        sources = np.stack([self._resize_np(s) for s, _ in pairs])  # [P, S, S, 3]
        lengths = [len(d) for _, d in pairs]
        driving = np.concatenate([self._resize_np_many(d) for _, d in pairs])  # [sum T, S, S, 3]
        norm_src, norm_drv, lms = [], [], []  # [-1, 1] coordinates, gaps filled; pixels, gaps filled
        for (src, drv), (lm_s, lm_d) in zip(pairs, landmarks or [(None, None)] * len(pairs)):
            ns = None if lm_s is None else _normalised(lm_s[None], src.shape[:2])
            nd = None if lm_d is None else _normalised(lm_d, drv.shape[1:3])
            if ns is None or nd is None:
                ns = nd = None
            norm_src.append(ns)
            norm_drv.append(nd)
            lms.append((None, None) if ns is None else (_pixels(ns[0], src.shape[:2]), _pixels(nd, drv.shape[1:3])))
        have_lm = all(x is not None for x in norm_src)
        kp_src = self.keypoints(sources, np.concatenate(norm_src) if have_lm else None)
        kp_drv = self.keypoints(driving, np.concatenate(norm_drv) if have_lm else None)
        n_learned = opts.keypoints if opts.uses_learned else 0

        new_parts, plans, start = [], [], 0
        for p, ((src, drv), (lm_s, lm_d), n) in enumerate(zip(pairs, lms, lengths)):
            reference, register = self.plan(lm_s, lm_d)
            src_kp = {k: v[p:p + 1] for k, v in kp_src.items()}
            drv_kp = {k: v[start:start + n] for k, v in kp_drv.items()}
            learned_src = {k: v[:, :n_learned] for k, v in src_kp.items()}
            learned_drv = {k: v[:, :n_learned] for k, v in drv_kp.items()}
            if register:
                A, b = register_to(norm_drv[p].astype(np.float64), reference, RIGID_POINTS)
                learned_drv = register_keypoints(learned_drv, A, b)
            ref_kp = {k: v[reference:reference + 1] for k, v in learned_drv.items()}
            scale = 1.0
            if t.mode == "relative" and t.adapt_scale and n_learned >= 3:
                scale = hull_scale(learned_src["value"][0], ref_kp["value"][0])
            parts = [transfer_keypoints(learned_src, learned_drv, ref_kp, mode=t.mode, scale=scale)] if n_learned else []
            target = None
            if lm_s is not None and lm_d is not None:
                if t.mode == "relative":
                    target = transfer_landmarks(lm_s, lm_d, RIGID_POINTS, reference=reference, register=register)
                else:  # the driver's landmarks, put on the source's crop size
                    target = _pixels(norm_drv[p], src.shape[:2])
            if opts.uses_landmarks:
                pts = list(opts.landmark_points)
                lm_kp = torch.from_numpy(_normalised(target, src.shape[:2])[:, pts]).to(self.device)
                part = {"value": lm_kp}
                if "jacobian" in kp_drv:
                    part["jacobian"] = torch.eye(2, device=self.device).expand(n, len(pts), 2, 2)
                parts.append(part)
            new_parts.append(concat_keypoints(*parts) if len(parts) > 1 else parts[0])
            if target is None:  # no landmarks to transfer: the clip says so
                target = np.full((n, 68, 2), np.nan, np.float32)
            plans.append(PairPlan(reference, scale, target))
            start += n
        kp_new = {k: torch.cat([part[k] for part in new_parts]) for k in new_parts[0]}

        return sources, driving, kp_src, kp_new, plans

    @torch.no_grad()
    def animate_many(self, pairs: list[tuple[np.ndarray, np.ndarray]],
                     landmarks: list[tuple[np.ndarray, np.ndarray]] | None = None
                     ) -> tuple[list[np.ndarray], list[PairPlan]]:
        """[(source frame uint8 [H, W, 3], driving frames uint8 [T, H', W', 3])] with, optionally,
        their landmarks [(source [68, 2], driving [T, 68, 2]) in crop pixels] ->
        ([uint8 [T, H, W, 3]] at each source's size, the plan of each pair). Frames of all pairs
        share the batches. Landmarks are needed by landmark keypoints, rigid registration and
        driver_frame: best (without them: no registration, reference frame 0)."""
        if not pairs:
            return [], []
        sources, driving, kp_src, kp_new, plans = self.transferred_keypoints(pairs, landmarks)
        lengths = [len(d) for _, d in pairs]
        owner = torch.repeat_interleave(torch.arange(len(pairs)), torch.tensor(lengths))  # [sum T]
        src_t = self._input(sources)  # [P, 3, S, S]
        spline = self.spline_maps(pairs, landmarks, plans)
        mouth_targets = self.mouth_targets(pairs, plans)
        out = np.empty((len(driving), self.size, self.size, 3), np.uint8)
        for i in range(0, len(driving), self.batch_size):
            idx = owner[i:i + self.batch_size]
            mouth = (None if mouth_targets is None else
                     self.model.mouth_maps(mouth_targets[i:i + self.batch_size], (self.size, self.size)))
            pred = self.model.animate(src_t[idx], {k: v[idx] for k, v in kp_src.items()},
                                      {k: v[i:i + self.batch_size] for k, v in kp_new.items()},
                                      None if spline is None else spline[i:i + self.batch_size],
                                      mouth)["prediction"]
            out[i:i + len(idx)] = (pred.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        result, start = [], 0
        for (src, _), n in zip(pairs, lengths):
            result.append(_resize_uint8(out[start:start + n], src.shape[:2]))
            start += n
        return result, plans

    def spline_maps(self, pairs: list[tuple[np.ndarray, np.ndarray]],
                    landmarks: list[tuple[np.ndarray, np.ndarray]] | None,
                    plans: list[PairPlan]) -> torch.Tensor | None:
        """The landmark spline's maps for every driving frame, [sum T, h, w, 2]: each source's
        landmarks to its pair's transfer targets, kept from crossing as landmark_warp keeps them;
        None when the model has no landmark spline."""
        if not self.model.generator.dense_motion.spline:
            return None
        size = self.model.motion_size((self.size, self.size))
        maps = []
        for (src, _), (lm_s, _), plan in zip(pairs, landmarks or [], plans):
            target = keep_order(plan.target_landmarks, LANDMARK_WARP["min_gap"], lm_s)
            source, target = (torch.from_numpy(normalise_landmarks(lm, src.shape[:2])) for lm in (lm_s, target))
            maps.append(spline_flows(source, target, size))
        return torch.cat(maps).to(self.device)

    def mouth_targets(self, pairs: list[tuple[np.ndarray, np.ndarray]], plans: list[PairPlan]
                      ) -> torch.Tensor | None:
        """The landmarks [sum T, 68, 2] ([-1, 1] coordinates) whose inner lips make the mouth masks
        of the frames to render: each pair's transfer targets; None when the generator has no
        mouth mask. The masks themselves are drawn per batch (a [HW x edges] test per frame)."""
        if not self.model.generator.mouth_mask:
            return None
        targets = [torch.from_numpy(normalise_landmarks(plan.target_landmarks, src.shape[:2]))
                   for (src, _), plan in zip(pairs, plans)]
        return torch.cat(targets).to(self.device)

    def _resize_np(self, frame: np.ndarray) -> np.ndarray:
        return _resize_uint8(frame[None], (self.size, self.size))[0]

    def _resize_np_many(self, frames: np.ndarray) -> np.ndarray:
        return _resize_uint8(frames, (self.size, self.size))


def _normalised(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
    """Pixel landmarks [N, 68, 2] of frames of ``size`` -> [-1, 1] coordinates, missing frames
    filled from the nearest valid one; None when every frame misses them."""
    return fill_missing_landmarks(normalise_landmarks(landmarks, size))


def _pixels(normalised: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[-1, 1] coordinates [..., 2] -> crop pixels of frames of ``size`` = (H, W)."""
    h, w = size
    return ((normalised + 1.0) / 2.0 * np.array([w - 1, h - 1], np.float32)).astype(np.float32)


def _resize_uint8(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 [N, H, W, 3] -> uint8 [N, *size, 3] (anti-aliased bilinear); a no-op at equal size."""
    if tuple(frames.shape[1:3]) == tuple(size):
        return frames
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    y = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
    return y.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


class MonkeyNetGenerator(Generator):
    """Learned keypoint-driven generator (Monkey-Net recipe, no pretrained networks); declared
    in the package's ``__init__``."""

    name = "monkeynet"

    def __init__(self, options: Mapping[str, Any] | None = None, *, checkpoint: str | None = None,
                 device: str = "cpu") -> None:
        # Unknown keys fail here. The network is the checkpoint's; of these options only the
        # synthesis ones apply (transfer.*, inference_batch_size).
        opts = MonkeyNetOptions.from_dict(dict(options or {}))
        super().__init__(opts.to_dict(), checkpoint=checkpoint, device=str(torch_device(device)))
        if not checkpoint:
            raise ValueError(f"generator {self.name!r} needs checkpoint=<model.pt from its training rule>")
        model = load_model(checkpoint, self.device)
        if model.opts.first_order != opts.first_order:
            raise ValueError(f"{checkpoint} was trained with first_order={model.opts.first_order}; "
                             f"it is not a {self.name!r} model")
        self.animator = MonkeyNetAnimator(model, self.device, batch_size=opts.inference_batch_size,
                                          transfer=opts.transfer)
        # Reconstruction keeps the driver's head motion (see Generator.reconstruct_batch): with
        # source = frame 0 of the driving clip, relative motion from frame 0 without the rigid
        # registration is the driver's own keypoints.
        self.reconstructor = MonkeyNetAnimator(
            model, self.device, batch_size=opts.inference_batch_size,
            transfer=replace(opts.transfer, mode="relative", driver_frame="first", register=False))

    def animate(self, source: Clip, driving: Clip) -> Clip:
        return self.animate_batch([(source, driving)])[0]

    def animate_batch(self, pairs: list[tuple[Clip, Clip]],
                      seeds: Sequence[int] | None = None) -> list[Clip]:
        return self._render(self.animator, pairs)

    def reconstruct_batch(self, clips: list[Clip]) -> list[Clip]:
        return self._render(self.reconstructor, [(c, c) for c in clips])

    def _render(self, animator: MonkeyNetAnimator, pairs: list[tuple[Clip, Clip]]) -> list[Clip]:
        frames, plans = animator.animate_many(
            [(src.frames[0], drv.frames) for src, drv in pairs],
            [(src.landmarks[0], drv.landmarks) for src, drv in pairs])
        clips = []
        t = animator.transfer
        for (src, drv), out, plan in zip(pairs, frames, plans):
            meta = {"generator": self.name, "source": src.meta.get("video_id"),
                    "driver": drv.meta.get("video_id"), "transfer": t.mode,
                    "driver_reference_frame": plan.reference, "movement_scale": round(plan.scale, 4)}
            clips.append(Clip(frames=out, landmarks=plan.target_landmarks, meta=meta))
        return clips


class FommGenerator(MonkeyNetGenerator):
    """The same model with first-order local affine Jacobians (FOMM); J'_t = J_t J_0^-1 J_src."""

    name = "fomm"
