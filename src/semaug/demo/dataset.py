"""Render a whole demo dataset into a raw layout, then write the sentinel that marks it done."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..atomic import write_text
from .identity import Identity, sample_identity
from .knobs import DemoKnobs, make_knobs
from .layouts import SequenceSpec, layout
from .render import FrameRenderer
from .sequence import render_sequence

log = logging.getLogger("semaug.demo")
SENTINEL_NAME = ".semaug_demo.json"
# Written before the first frame and kept: folders under a root without it are not the demo's,
# and are never deleted (a real dataset's root given a `demo:` block by mistake).
OWNER_MARK = ".semaug_demo_owner"
# Separate random streams per purpose, so that e.g. a longer plan does not change the faces.
_PLAN, _IDENTITY, _SEQUENCE = 0, 1, 2


def identities(n_subjects: int, seed: int, knobs: DemoKnobs, fmt: str) -> list[Identity]:
    """The subjects of a render, subject i from its own random stream."""
    width, height = knobs.size(fmt)
    return [sample_identity(np.random.default_rng([seed, _IDENTITY, i]), width=width,
                            height=height, face_size=knobs.face_size, intensity=knobs.intensity,
                            noise=knobs.noise, head_motion=knobs.head_motion)
            for i in range(n_subjects)]


def plan(fmt: str, n_subjects: int, seed: int, knobs: DemoKnobs) -> list[SequenceSpec]:
    """The sequences a render writes (no pixels): subjects, classes, lengths, folder names."""
    return layout(fmt).plan(n_subjects, np.random.default_rng([seed, _PLAN]), knobs)


def _clear(root: Path, dirs: tuple[str, ...], sentinel: Path) -> None:
    """Remove an earlier (possibly partial) render: the sentinel first, then the folders the demo
    owns. Anything else under the root is left alone."""
    present = [name for name in dirs if (root / name).exists()]
    if present and not (root / OWNER_MARK).exists():
        raise FileExistsError(
            f"{root} already holds {present}, not written by the demo renderer; refusing to "
            f"delete them. Give the demo an empty `root`, or remove those folders yourself.")
    sentinel.unlink(missing_ok=True)
    for name in present:
        log.info("removing the earlier render %s", root / name)
        shutil.rmtree(root / name)


def render_dataset(fmt: str, root: str | os.PathLike, *, sentinel: str | os.PathLike | None = None,
                   subjects: int, seed: int, **knobs: Any) -> dict[str, Any]:
    """Render a demo dataset of ``subjects`` identities in format ``fmt`` (``ckplus`` | ``mug``)
    under ``root``, deterministically from ``seed``; ``knobs`` are :class:`DemoKnobs` fields.

    Writes ``sentinel`` (default ``root/.semaug_demo.json``) last, holding the parameters and the
    counts, and returns the same dictionary.
    """
    settings = make_knobs(**knobs)
    chosen = layout(fmt)
    if subjects < 2:
        raise ValueError(f"a demo needs at least 2 subjects, got {subjects}")
    root = Path(root)
    sentinel = Path(sentinel) if sentinel is not None else root / SENTINEL_NAME
    _clear(root, chosen.dirs, sentinel)
    root.mkdir(parents=True, exist_ok=True)
    (root / OWNER_MARK).write_text("rendered by semaug.demo; its folders here may be replaced\n")
    width, height = settings.size(fmt)
    log.info("rendering the %s demo into %s: %d subjects, seed %d, %dx%d, %s",
             fmt, root, subjects, seed, width, height, settings)

    specs = plan(fmt, subjects, seed, settings)
    faces = identities(subjects, seed, settings, fmt)
    started, n_frames, renderer = time.perf_counter(), 0, None
    for spec in tqdm(specs, desc=f"demo {fmt}", unit="seq", mininterval=2.0):
        if renderer is None or renderer.identity is not faces[spec.subject_index]:
            renderer = FrameRenderer(faces[spec.subject_index], width, height, grey=chosen.grey)
        rng = np.random.default_rng([seed, _SEQUENCE, spec.index])
        frames, landmarks = render_sequence(renderer, dict(spec.mix), spec.n_frames, rng)
        chosen.write(root, spec, frames, landmarks)
        n_frames += spec.n_frames
    elapsed = time.perf_counter() - started
    log.info("wrote %d sequences, %d frames in %.1f s (%.0f frames/s)",
             len(specs), n_frames, elapsed, n_frames / max(elapsed, 1e-9))

    per_class = Counter(spec.label for spec in specs if spec.label is not None)
    summary: dict[str, Any] = {
        "format": fmt, "subjects": subjects, "seed": seed, "knobs": settings.as_dict(),
        "width": width, "height": height,
        "counts": {name: per_class.get(name, 0) for name in chosen.classes},
        "unlabelled": sum(spec.label is None for spec in specs),
        "sequences": len(specs), "frames": n_frames,
    }
    # Atomic, and no timings inside: the same seed must give byte-identical files.
    write_text(sentinel, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
