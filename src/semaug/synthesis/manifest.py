"""Training manifests per scenario and their class counts (the before/after figure).

A manifest lists one fold's training videos for one scenario, real or synthetic:
``original`` (the real training videos), ``oversample`` (+ the plan's driver videos again,
pointing at the original files), ``classic`` and each generator (+ their synthetic clips).
"""

from __future__ import annotations

import logging

import pandas as pd

from .plan import LeakageError, read_folds, read_plan, split_fold

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ["video_id", "path", "label", "subject", "driver_subject", "synthetic", "origin"]
BASELINES = ("original", "oversample", "classic")


def original_manifest(train: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"video_id": train["video_id"], "path": train["path"],
                         "label": train["label"], "subject": train["subject"],
                         "driver_subject": "", "synthetic": False, "origin": "real"})


def oversample_rows(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan's drivers repeated (its round-robin reuse), as extra rows on the real files."""
    rep = plan.groupby("driver_video").cumcount() + 1
    return pd.DataFrame({"video_id": plan["driver_video"] + ".rep" + rep.astype(str),
                         "path": plan["driver_path"], "label": plan["label"],
                         "subject": plan["driver_subject"], "driver_subject": "",
                         "synthetic": False, "origin": "oversample"})


def synthetic_rows(videos: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """Rows for rendered clips. The identity on screen is the source's (classic: the driver's)."""
    subject = videos["driver_subject"] if scenario == "classic" else videos["source_subject"]
    return pd.DataFrame({"video_id": [f"{scenario}.{int(i):05d}" for i in videos["index"]],
                         "path": videos["path"], "label": videos["label"], "subject": subject,
                         "driver_subject": videos["driver_subject"], "synthetic": True,
                         "origin": scenario})


def build_manifest(scenario: str, folds: pd.DataFrame, fold: int, plan: pd.DataFrame | None = None,
                   videos: pd.DataFrame | None = None) -> pd.DataFrame:
    """The training manifest of one scenario (``MANIFEST_COLUMNS``), checked for leakage."""
    train, test = split_fold(folds, fold)
    parts = [original_manifest(train)]
    if scenario == "oversample":
        parts.append(oversample_rows(plan))
    elif scenario != "original":
        if videos is None:
            raise ValueError(f"scenario {scenario!r} needs its videos.csv")
        parts.append(synthetic_rows(videos, scenario))
    manifest = pd.concat(parts, ignore_index=True)[MANIFEST_COLUMNS]
    leaked = set(manifest["subject"]) | set(manifest["driver_subject"]) - {""}
    leaked &= set(test["subject"])
    if leaked:
        raise LeakageError(f"manifest {scenario} of fold {fold} uses test subjects {sorted(leaked)}")
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
    manifest.to_csv(out_csv, index=False)
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


def plot_class_distribution(counts: pd.DataFrame, out_png: str, title: str = "") -> None:
    """Grouped bars: videos per class, before (original) and after each scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..figures import save_figure

    data = counts.drop(index="total", errors="ignore")
    n_sc = len(data.columns)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(data) * (1 + 0.25 * n_sc)), 3.6))
    width = 0.8 / n_sc
    for j, scenario in enumerate(data.columns):
        xs = [i + (j - (n_sc - 1) / 2) * width for i in range(len(data))]
        ax.bar(xs, data[scenario], width, label=scenario)
    ax.set_xticks(range(len(data)), data.index, rotation=30, ha="right")
    ax.set_ylabel("training videos")
    ax.set_title(title or "class distribution before / after augmentation")
    ax.legend(fontsize=8, ncols=min(n_sc, 5))
    save_figure(fig, out_png, dpi=120)


def class_counts_file(manifest_csvs: dict[str, str], out_csv: str, out_png: str, title: str = ""
                      ) -> pd.DataFrame:
    """The ``class_counts`` rule: table + figure from the scenarios' manifests."""
    counts = class_counts({s: read_manifest(p) for s, p in manifest_csvs.items()})
    counts.to_csv(out_csv)
    plot_class_distribution(counts, out_png, title)
    log.info("class counts:\n%s", counts.to_string())
    return counts
