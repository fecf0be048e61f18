"""The results layout: where every artifact of the workflow lives, in one place.

Templates are relative to :data:`RESULTS` and use Snakemake's wildcard names (``{ds}``,
``{k}`` fold, ``{gen}`` a rendering scenario, ``{scenario}``, ``{model}``, ``{s}`` seed,
``{shard}``). The rules write them through ``results(...)`` in ``common.smk``; the library
builds concrete paths with :func:`path` and reads the wildcards back with :func:`parse` —
nothing else spells a path out or matches one with a regex.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

RESULTS = "results"
LOGS = "logs"
BENCHMARKS = f"{RESULTS}/benchmarks"  # mirrors LOGS: logs/<x>.log <-> results/benchmarks/<x>.tsv

# Per dataset
INDEX = "{ds}/index.csv"
INDEX_REJECTS = "{ds}/index_rejects.csv"
FACE_SHARD = "{ds}/faces/shard{shard}.csv"
FACE_SHARD_REJECTS = "{ds}/faces/shard{shard}_rejects.csv"
FACE_CLIPS = "{ds}/faces/clips"  # <video_id>.npz + .mp4, not declared: resumable
FACES = "{ds}/faces.csv"
FACES_REJECTS = "{ds}/faces_rejects.csv"
FOLDS = "{ds}/folds.csv"
DEMO_SHEET = "{ds}/demo_contact_sheet.png"

# Per fold
FOLD = "{ds}/fold{k}"
PLAN = FOLD + "/synthesis_plan.csv"
TARGETS = FOLD + "/synthesis_targets.csv"
SYNTHETIC = FOLD + "/synthetic/{gen}"
SYNTHETIC_CLIPS = SYNTHETIC + "/clips"  # {index:05d}.npz + .mp4, not declared: resumable
VIDEOS = SYNTHETIC + "/videos.csv"
QUALITY = SYNTHETIC + "/quality.json"
QUALITY_SAMPLES = SYNTHETIC + "/samples.png"
QUALITY_PER_CLASS = SYNTHETIC + "/quality_per_class.csv"
QUALITY_TABLE = "{ds}/synthesis_quality.md"  # every rendering scenario and fold, compared
QUALITY_REFERENCE = FOLD + "/quality_reference.npz"  # dlib's measures of the real videos
GENERATOR = FOLD + "/generators/{gen}"
GENERATOR_MODEL = GENERATOR + "/model.pt"
GENERATOR_LOSSES = GENERATOR + "/losses.csv"
GENERATOR_LOSS_PLOT = GENERATOR + "/losses.png"
GENERATOR_SAMPLES = GENERATOR + "/samples.png"  # latest reconstruction grid (samples/ holds all)
REGRESSOR = FOLD + "/landmark_regressor/model.npz"
REGRESSOR_METRICS = FOLD + "/landmark_regressor/metrics.json"
MANIFEST = FOLD + "/train_{scenario}.csv"
CLASS_COUNTS = FOLD + "/class_counts.csv"
FOLD_CLASS_FIGURE = FOLD + "/class_distribution.png"

# Per training job
TRAIN = FOLD + "/{model}/{scenario}/seed{s}"
TRAIN_MODEL = TRAIN + "/model.pt"
TRAIN_HISTORY = TRAIN + "/history.csv"
TRAIN_PREDICTIONS = TRAIN + "/predictions.csv"
TRAIN_METRICS = TRAIN + "/metrics.json"

# Aggregates
ACCURACY_TABLE = "tables/accuracy.{ext}"
DELTA_TABLE = "tables/accuracy_delta.{ext}"  # Δ vs original: subject-bootstrap CI, McNemar
CLASS_RECALL_TABLE = "tables/class_recall.{ext}"
DELTA_FIGURE = "figures/delta_{ds}.png"  # forest plot
CLASS_DELTA_FIGURE = "figures/class_delta_{ds}.png"
CONFUSION_FIGURE = "figures/confusion/{ds}/{model}_{scenario}.png"
CLASS_DISTRIBUTION_FIGURE = "figures/class_distribution/{ds}.png"
SAMPLES_FIGURE = "figures/samples/{ds}_{scenario}.png"

# What each wildcard can match when a path is read back.
_WILDCARD_PATTERNS = {"k": r"\d+", "s": r"\d+", "shard": r"\d+"}
_INT_WILDCARDS = frozenset(_WILDCARD_PATTERNS)


class _KeepMissing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def path(template: str, root: str = RESULTS, **wildcards: Any) -> str:
    """``template`` under ``root`` (default ``results``) with the given wildcards filled in;
    the others stay ``{name}`` (a rule's output pattern)."""
    filled = template.format_map(_KeepMissing(wildcards))
    return f"{root}/{filled}" if root else filled


@lru_cache(maxsize=None)
def _pattern(template: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        name = m[1]
        out.append(f"(?P<{name}>{_WILDCARD_PATTERNS.get(name, r'[^/]+')})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile(r"(?:^|/)" + "".join(out) + r"$")


def parse(file: str | os.PathLike, template: str) -> dict[str, Any]:
    """The wildcards of ``file`` under ``template`` (folds, seeds and shards as ints); a path
    of another shape is a ValueError that shows the expected one."""
    m = _pattern(template).search(Path(file).as_posix())
    if m is None:
        raise ValueError(f"{file} is not a {RESULTS}/{template} path")
    return {k: int(v) if k in _INT_WILDCARDS else v for k, v in m.groupdict().items()}
