"""Inference: relative motion transfer with a trained model, registered as the generators
``monkeynet`` (translation-only keypoints) and ``fomm`` (with first-order Jacobians).

For driving frame t the driving keypoints are moved into the source's frame relative to the
driver's first frame (FOMM's relative mode, scale 1):

    mu'_t = mu_src + (mu_t - mu_0),      J'_t = J_t J_0^-1 J_src,

and the generator renders the source frame under (kp_src -> kp'_t). The output landmarks follow
the same relative rule on the 68 dataset landmarks (:func:`transfer_landmarks`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...clip import Clip
from ..motion import transfer_landmarks
from ..registry import Generator
from .data import to_float
from .model import MonkeyNet
from .options import MonkeyNetOptions
from .train import CHECKPOINT_FORMAT, resolve_device


def load_model(path: str | Path, device: str | torch.device = "cpu") -> MonkeyNet:
    """The keypoint detector + generator of a model.pt written by training (eval mode)."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint; retrain the generator")
    opts = MonkeyNetOptions.from_dict(state["options"])
    opts.loss_weights.gan = opts.loss_weights.feature_matching = 0.0  # no discriminator needed
    model = MonkeyNet(opts)
    model.kp_detector.load_state_dict(state["kp_detector"])
    model.generator.load_state_dict(state["generator"])
    model.meta = state.get("meta", {})  # type: ignore[assignment]
    return model.to(device).eval()


def relative_keypoints(kp_source: dict[str, torch.Tensor], kp_driving: dict[str, torch.Tensor],
                       kp_initial: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Driving keypoints moved into the source's frame: kp_source [1 or T, K, ...], kp_driving
    and kp_initial (the driver's frame 0) [T or 1, K, ...] -> [T, K, ...]."""
    out = {"value": kp_source["value"] + (kp_driving["value"] - kp_initial["value"])}
    if "jacobian" in kp_source:
        # Fp32: an inverse of a near-singular 2x2 in half precision is noise.
        jac = kp_driving["jacobian"].float() @ torch.linalg.inv(kp_initial["jacobian"].float())
        out["jacobian"] = jac @ kp_source["jacobian"].float()
    return out


class MonkeyNetAnimator:
    """Animates source frames with driving videos using a trained :class:`MonkeyNet`."""

    def __init__(self, model: MonkeyNet, device: str | torch.device = "cpu", batch_size: int = 32) -> None:
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.size = model.opts.image_size
        self.batch_size = batch_size

    def _input(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 [N, H, W, 3] -> float [N, 3, S, S] at the model's size."""
        x = to_float(torch.from_numpy(np.ascontiguousarray(frames)), self.device)
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                              antialias=True)
        return x

    @torch.no_grad()
    def keypoints(self, frames: np.ndarray) -> dict[str, torch.Tensor]:
        """uint8 [N, H, W, 3] -> keypoints [N, K, ...], in batches."""
        parts = [self.model.kp_detector(self._input(frames[i:i + self.batch_size]))
                 for i in range(0, len(frames), self.batch_size)]
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    @torch.no_grad()
    def animate_many(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """[(source frame uint8 [H, W, 3], driving frames uint8 [T, H', W', 3])] ->
        [uint8 [T, H, W, 3]] at each source's size. Frames of all pairs share the batches."""
        if not pairs:
            return []
        sources = np.stack([self._resize_np(s) for s, _ in pairs])  # [P, S, S, 3]
        lengths = [len(d) for _, d in pairs]
        driving = np.concatenate([self._resize_np_many(d) for _, d in pairs])  # [sum T, S, S, 3]
        kp_src = self.keypoints(sources)
        kp_drv = self.keypoints(driving)
        owner = torch.repeat_interleave(torch.arange(len(pairs)), torch.tensor(lengths))  # [sum T]
        first = torch.tensor(np.concatenate([[0], np.cumsum(lengths)[:-1]]))[owner]  # driver frame 0
        kp_new = relative_keypoints({k: v[owner] for k, v in kp_src.items()}, kp_drv,
                                    {k: v[first] for k, v in kp_drv.items()})
        src_t = self._input(sources)  # [P, 3, S, S]
        out = np.empty((len(driving), self.size, self.size, 3), np.uint8)
        for i in range(0, len(driving), self.batch_size):
            idx = owner[i:i + self.batch_size]
            pred = self.model.animate(src_t[idx], {k: v[idx] for k, v in kp_src.items()},
                                      {k: v[i:i + self.batch_size] for k, v in kp_new.items()})["prediction"]
            out[i:i + len(idx)] = (pred.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        result, start = [], 0
        for (src, _), n in zip(pairs, lengths):
            result.append(_resize_uint8(out[start:start + n], src.shape[:2]))
            start += n
        return result

    def _resize_np(self, frame: np.ndarray) -> np.ndarray:
        return _resize_uint8(frame[None], (self.size, self.size))[0]

    def _resize_np_many(self, frames: np.ndarray) -> np.ndarray:
        return _resize_uint8(frames, (self.size, self.size))


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
        opts = MonkeyNetOptions.from_dict(dict(options or {}))  # unknown keys fail here
        super().__init__(opts.to_dict(), checkpoint=checkpoint, device=str(resolve_device(device)))
        if not checkpoint:
            raise ValueError(f"generator {self.name!r} needs checkpoint=<model.pt from its training rule>")
        model = load_model(checkpoint, self.device)
        if model.opts.first_order != opts.first_order:
            raise ValueError(f"{checkpoint} was trained with first_order={model.opts.first_order}; "
                             f"it is not a {self.name!r} model")
        self.animator = MonkeyNetAnimator(model, self.device, batch_size=opts.inference_batch_size)

    def animate(self, source: Clip, driving: Clip) -> Clip:
        return self.animate_batch([(source, driving)])[0]

    def animate_batch(self, pairs: list[tuple[Clip, Clip]],
                      seeds: Sequence[int] | None = None) -> list[Clip]:
        frames = self.animator.animate_many([(src.frames[0], drv.frames) for src, drv in pairs])
        clips = []
        for (src, drv), out in zip(pairs, frames):
            meta = {"generator": self.name, "source": src.meta.get("video_id"),
                    "driver": drv.meta.get("video_id")}
            target = transfer_landmarks(src.landmarks[0], drv.landmarks)
            clips.append(Clip(frames=out, landmarks=target, meta=meta))
        return clips


class FommGenerator(MonkeyNetGenerator):
    """The same model with first-order local affine Jacobians (FOMM); J'_t = J_t J_0^-1 J_src."""

    name = "fomm"
