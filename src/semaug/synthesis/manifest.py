"""Training manifests per scenario and their class counts (the before/after figure).

A manifest lists one fold's training videos for one scenario, real or synthetic:
``original`` (the real training videos), ``oversample`` (+ the plan's driver videos again,
pointing at the original files), ``classic`` and each generator (+ their synthetic clips).
"""

from __future__ import annotations

import logging

import pandas as pd

from .. import catalog
from ..atomic import write_csv
from ..folds import check_no_leak, read_folds, split_fold
from .plan import read_plan

log = logging.getLogger(__name__)

# source_video / driver_video: the plan row a synthetic video was made from (empty for real
# ones), so figures can show the very clips that went in.
MANIFEST_COLUMNS = ["video_id", "path", "label", "subject", "driver_subject", "synthetic", "origin",
                    "source_video", "driver_video"]


def original_manifest(train: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"video_id": train["video_id"], "path": train["path"],
                         "label": train["label"], "subject": train["subject"],
                         "driver_subject": "", "synthetic": False, "origin": "real",
                         "source_video": "", "driver_video": ""})


def oversample_rows(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan's drivers repeated (its round-robin reuse), as extra rows on the real files."""
    rep = plan.groupby("driver_video").cumcount() + 1
    return pd.DataFrame({"video_id": plan["driver_video"] + ".rep" + rep.astype(str),
                         "path": plan["driver_path"], "label": plan["label"],
                         "subject": plan["driver_subject"], "driver_subject": "",
                         "synthetic": False, "origin": "oversample", "source_video": "",
                         "driver_video": plan["driver_video"]})


def synthetic_rows(videos: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """Rows for rendered clips; ``subject`` is the identity on screen (the catalog says whose:
    the source's for generators, the driver's for ``classic``)."""
    identity = catalog.scenario(scenario).identity
    return pd.DataFrame({"video_id": [f"{scenario}.{int(i):05d}" for i in videos["index"]],
                         "path": videos["path"], "label": videos["label"],
                         "subject": videos[f"{identity}_subject"],
                         "driver_subject": videos["driver_subject"], "synthetic": True,
                         "origin": scenario, "source_video": videos["source_video"],
                         "driver_video": videos["driver_video"]})


def build_manifest(scenario: str, folds: pd.DataFrame, fold: int, plan: pd.DataFrame | None = None,
                   videos: pd.DataFrame | None = None) -> pd.DataFrame:
    """The training manifest of one scenario (``MANIFEST_COLUMNS``), checked for leakage:
    real scenarios take the plan (``oversample``) or nothing, rendering ones their videos."""
    needs = catalog.scenario(scenario).manifest_input
    train, test = split_fold(folds, fold)
    parts = [original_manifest(train)]
    if needs == "videos":
        if videos is None:
            raise ValueError(f"scenario {scenario!r} needs its videos.csv")
        parts.append(synthetic_rows(videos, scenario))
    elif needs == "plan":
        if plan is None:
            raise ValueError(f"scenario {scenario!r} needs the synthesis plan")
        parts.append(oversample_rows(plan))
    manifest = pd.concat(parts, ignore_index=True)[MANIFEST_COLUMNS]
    check_no_leak(pd.concat([manifest["subject"], manifest["driver_subject"]]), test,
                  f"manifest {scenario} of fold {fold}")
    if manifest["video_id"].duplicated().any():
        raise ValueError(f"manifest {scenario}: duplicate video ids "
                         f"{manifest.loc[manifest['video_id'].duplicated(), 'video_id'].tolist()[:5]}")
    return manifest


def manifest_file(scenario: str, folds_csv: str, fold: int, out_csv: str, *,
                  plan_csv: str | None = None, videos_csv: str | None = None) -> pd.DataFrame:
    """The ``manifest`` rule."""
    plan = read_plan(plan_csv) if plan_csv else None
    videos = read_plan(videos_csv) if videos_csv else None
    manifest = build_manifest(scenario, read_folds(folds_csv), fold, plan, videos)
    counts = manifest["label"].value_counts().sort_index()
    log.info("%s fold %d: %d videos (%d synthetic); per class %s", scenario, fold, len(manifest),
             int(manifest["synthetic"].sum()), counts.to_dict())
    write_csv(manifest, out_csv)
    return manifest


def read_manifest(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"video_id": str, "subject": str, "driver_subject": str,
                                    "label": str}, keep_default_na=False)


def class_counts(manifests: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Videos per class (rows) and scenario (columns), with a ``total`` row."""
    counts = pd.DataFrame({s: m["label"].value_counts() for s, m in manifests.items()})
    counts = counts.fillna(0).astype(int).sort_index()
    counts.index.name = "label"
    counts.loc["total"] = counts.sum()
    return counts
