"""Figures of the aggregate stage: Δ vs original with its CI (forest plot) and Δ recall vs
class size per dataset, confusion matrices summed over folds × seeds, class distributions per
scenario (real vs synthetic), original vs synthetic frame grids."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .atomic import write_csv  # noqa: E402
from .clip import load_clip  # noqa: E402
from .metrics import normalized_accuracy, row_normalize  # noqa: E402
from .plotting import save_figure  # noqa: E402



def plot_delta_forest(delta: pd.DataFrame, ds: str, path: str | os.PathLike,
                      baseline: str = "original") -> Path:
    """Forest plot of dataset ``ds``: one row per (model, scenario), Δ vs ``baseline`` (points)
    with its 95 % CI, zero marked; ``delta`` is accuracy_delta.csv
    (:func:`semaug.aggregate.delta_statistics`). Holm-adjusted McNemar p at the right."""
    rows = delta[(delta["ds"] == ds) & delta["delta_pct"].notna()].reset_index(drop=True)
    n = max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(6.4, 1.0 + 0.36 * n), dpi=120)
    y = np.arange(len(rows))[::-1]  # first row at the top
    models = list(dict.fromkeys(rows["model"]))
    colours = {m: f"C{i}" for i, m in enumerate(models)}
    for yi, r in zip(y, rows.itertuples(index=False)):
        ax.errorbar(r.delta_pct, yi, xerr=[[r.delta_pct - r.ci_low_pct], [r.ci_high_pct - r.delta_pct]],
                    fmt="o", color=colours[r.model], capsize=3, markersize=5)
        p = r.mcnemar_p_holm
        if not pd.isna(p):
            ax.annotate("p<0.001" if p < 0.001 else f"p={p:.2f}", (1.01, yi),
                        xycoords=("axes fraction", "data"), va="center", fontsize=7)
    ax.axvline(0.0, color="black", linestyle="--", linewidth=0.9)
    ax.set_yticks(y, [f"{r.model} · {r.scenario}" for r in rows.itertuples(index=False)], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"Δ normalized accuracy vs {baseline} (points), 95 % subject-bootstrap CI",
                  fontsize=8)
    ax.set_title(f"{ds}: Δ vs {baseline} (right: McNemar p, Holm)", fontsize=9)
    if rows.empty:
        ax.text(0.5, 0.5, "no paired predictions", transform=ax.transAxes, ha="center")
    return save_figure(fig, path)


def delta_forest_file(delta_csv: str | os.PathLike, ds: str, png: str | os.PathLike) -> Path:
    """The delta_figure rule: accuracy_delta.csv → results/figures/delta_<ds>.png."""
    return plot_delta_forest(pd.read_csv(delta_csv, dtype={"ds": str}), ds, png)


def plot_class_delta(recall: pd.DataFrame, ds: str, path: str | os.PathLike,
                     baseline: str = "original") -> Path:
    """Δ recall per class (points) against the class's training videos in ``baseline``: one
    panel per model, one colour per scenario, marker area ∝ videos the scenario added;
    ``recall`` is class_recall.csv (:func:`semaug.aggregate.per_class_recall`)."""
    rows = recall[recall["ds"] == ds]
    models = list(dict.fromkeys(rows["model"])) or [""]
    scenarios = list(dict.fromkeys(rows["scenario"]))
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.4), dpi=120,
                             squeeze=False, sharey=True)
    for ax, model in zip(axes[0], models):
        g = rows[rows["model"] == model]
        by_size = g["train_videos"].notna().any()
        x_of = (lambda t: t["train_videos"]) if by_size else (lambda t: t["test_videos"])
        for i, sc in enumerate(scenarios):
            t = g[g["scenario"] == sc]
            size = 12 + 2.0 * t["added_videos"].fillna(0).clip(lower=0)
            ax.scatter(x_of(t), t["delta_pct"], s=size, color=f"C{i}", alpha=0.75, label=sc)
        for label, t in g.groupby("label"):
            ax.annotate(label, (x_of(t).mean(), t["delta_pct"].max()), fontsize=6,
                        xytext=(2, 3), textcoords="offset points")
        ax.axhline(0.0, color="black", linestyle="--", linewidth=0.9)
        ax.set_xlabel(f"training videos of the class in {baseline} (mean over folds)" if by_size
                      else "test videos of the class", fontsize=8)
        ax.set_title(f"{ds} · {model}", fontsize=9)
    axes[0][0].set_ylabel(f"Δ recall vs {baseline} (points)", fontsize=8)
    if scenarios:
        axes[0][-1].legend(fontsize=7, title="marker area ∝ videos added", title_fontsize=6)
    return save_figure(fig, path)


def class_delta_file(recall_csv: str | os.PathLike, ds: str, png: str | os.PathLike) -> Path:
    """The class_delta_figure rule: class_recall.csv → results/figures/class_delta_<ds>.png."""
    return plot_class_delta(pd.read_csv(recall_csv, dtype={"ds": str, "label": str}), ds, png)


def summed_confusion(metrics_paths: Iterable[str | os.PathLike], level: str = "video"
                     ) -> tuple[np.ndarray, list[str]]:
    """Sum the confusion counts of several metrics.json files (same labels required)."""
    total, labels = None, None
    for path in metrics_paths:
        with open(path) as fh:
            m = json.load(fh)
        m = m if level == "video" else m["frames"]
        counts = np.asarray(m["confusion"], dtype=np.int64)
        if labels is None:
            total, labels = counts, list(m["labels"])
        elif list(m["labels"]) != labels:
            raise ValueError(f"{path}: labels {m['labels']} differ from {labels}")
        else:
            total = total + counts
    if total is None:
        raise ValueError("no metrics files given")
    return total, labels


def plot_confusion(counts: np.ndarray, labels: Sequence[str], path: str | os.PathLike,
                   title: str = "") -> Path:
    """Row-normalised heatmap (colour, percent) annotated with the summed counts."""
    norm = row_normalize(counts)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(max(4.2, 1.4 + 0.62 * n), 1.3 + 0.55 * n), dpi=110)
    ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{100 * norm[i, j]:.0f}\n({counts[i, j]})", ha="center", va="center",
                    fontsize=7, color="white" if norm[i, j] > 0.55 else "black")
    ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    score = normalized_accuracy(counts) if counts.sum() else float("nan")
    ax.set_title(f"{title}\nnormalized accuracy {100 * score:.1f} %", fontsize=8)
    return save_figure(fig, path)


def plot_class_distribution(manifests: dict[tuple[int, str], pd.DataFrame],
                            classes: Sequence[str], path: str | os.PathLike, title: str = "") -> Path:
    """Training videos per class for each scenario (mean over the folds given), real and
    synthetic stacked: one fold's figure (class_counts) and the dataset's (class_distribution).

    ``manifests`` maps (fold, scenario) to a train_{scenario}.csv table.
    """
    scenarios = list(dict.fromkeys(s for _, s in manifests))
    fig, axes = plt.subplots(1, len(scenarios), figsize=(2.6 * len(scenarios) + 0.6, 2.8),
                             dpi=110, sharey=True, squeeze=False)
    for ax, scenario in zip(axes[0], scenarios):
        tables = [t for (_, s), t in manifests.items() if s == scenario]
        real = np.zeros(len(classes))
        synth = np.zeros(len(classes))
        for t in tables:
            is_synth = t["synthetic"].astype(str).str.lower().isin(["true", "1"])
            real += t.loc[~is_synth, "label"].value_counts().reindex(classes, fill_value=0).to_numpy()
            synth += t.loc[is_synth, "label"].value_counts().reindex(classes, fill_value=0).to_numpy()
        real, synth = real / len(tables), synth / len(tables)
        x = np.arange(len(classes))
        ax.bar(x, real, color="tab:blue", label="real")
        ax.bar(x, synth, bottom=real, color="tab:orange", label="synthetic")
        ax.set_xticks(x, classes, rotation=60, ha="right", fontsize=7)
        ax.set_title(scenario, fontsize=9)
    axes[0][0].set_ylabel("training videos (mean over folds)", fontsize=8)
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def _spread(n_frames: int, k: int) -> list[int]:
    return sorted({round(i * (n_frames - 1) / max(k - 1, 1)) for i in range(k)})


def plot_samples(manifest: pd.DataFrame, folds: pd.DataFrame, path: str | os.PathLike,
                 *, rows: int = 4, frames: int = 4, title: str = "") -> Path:
    """Original vs synthetic frames: per synthetic video (one per class first), the clip whose
    face it shows (the source's first frame; for ``classic`` the driver's), the driving clip
    it was made from (its apex) and frames of the synthetic clip. The clips are the ones the
    manifest names (``source_video``, ``driver_video``), not look-alikes."""
    from . import catalog

    is_synth = manifest["synthetic"].astype(str).str.lower().isin(["true", "1"])
    synth = manifest[is_synth].drop_duplicates("path")
    missing = {"source_video", "driver_video"} - set(manifest.columns)
    if len(synth) and missing:
        raise ValueError(f"the manifest lacks {sorted(missing)}: it predates this version; "
                         f"delete it and rerun the manifest rule")
    picked = synth.groupby("label", sort=False).head(1)
    picked = pd.concat([picked, synth.drop(picked.index)]).head(rows)
    path_of = folds.set_index("video_id")["path"].to_dict()

    def real_clip(video: str) -> str:
        if video not in path_of:
            raise ValueError(f"video {video!r} of the manifest is not in the folds table")
        return str(path_of[video])

    n_rows = max(len(picked), 1)
    fig, axes = plt.subplots(n_rows, frames + 2, figsize=(1.3 * (frames + 2), 1.45 * n_rows),
                             dpi=110, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for r, row in enumerate(picked.itertuples(index=False)):
        identity = catalog.scenario(row.origin).identity
        shown = [(real_clip(getattr(row, f"{identity}_video")), 0, "appearance"),
                 (real_clip(row.driver_video), -1, "motion")]
        for c, (clip_path, t, caption) in enumerate(shown):
            axes[r, c].imshow(load_clip(clip_path).frames[t])
            axes[r, c].set_title(caption, fontsize=7)
        clip = load_clip(row.path)
        for c, t in enumerate(_spread(clip.n_frames, frames)):
            axes[r, 2 + c].imshow(clip.frames[t])
            axes[r, 2 + c].set_title(f"{row.label} t={t}" if c == 0 else f"t={t}", fontsize=7)
    if picked.empty:
        axes[0, 0].text(0, 0.5, "no synthetic videos in this manifest", fontsize=8)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def class_distribution_file(manifest_csvs: Sequence[str | os.PathLike], folds_csv: str | os.PathLike,
                            dataset: dict, out_png: str | os.PathLike, title: str = "") -> Path:
    """The ``class_distribution`` rule: every fold's manifests, classes in the dataset's order."""
    from . import layout
    from .folds import read_folds
    from .metrics import class_order
    from .synthesis.manifest import read_manifest

    manifests = {}
    for path in manifest_csvs:
        where = layout.parse(path, layout.MANIFEST)
        manifests[(where["k"], where["scenario"])] = read_manifest(str(path))
    classes = class_order(dataset, read_folds(folds_csv)["label"])
    return plot_class_distribution(manifests, classes, out_png, title=title)


def confusion_figures_file(metrics_paths: Sequence[str | os.PathLike], scenarios: Sequence[str],
                           out_pngs: Sequence[str | os.PathLike], title: str = "") -> list[Path]:
    """The ``confusion_figures`` rule: per scenario (``out_pngs`` in the same order), the
    confusion matrix summed over every run of that scenario."""
    from . import layout

    by_scenario: dict[str, list[str]] = {}
    for path in metrics_paths:
        by_scenario.setdefault(layout.parse(path, layout.TRAIN_METRICS)["scenario"], []).append(str(path))
    written = []
    for scenario, png in zip(scenarios, out_pngs, strict=True):
        if scenario not in by_scenario:
            raise ValueError(f"no metrics.json of scenario {scenario!r} among the inputs")
        paths = by_scenario[scenario]
        counts, labels = summed_confusion(paths)
        written.append(plot_confusion(counts, labels, png, title=f"{title} · {scenario}\n"
                                      f"video level, {len(paths)} runs summed"))
    return written


def samples_file(manifest_csv: str | os.PathLike, folds_csv: str | os.PathLike,
                 out_png: str | os.PathLike, title: str = "") -> Path:
    """The ``sample_grid`` rule."""
    from .folds import read_folds
    from .synthesis.manifest import read_manifest

    return plot_samples(read_manifest(str(manifest_csv)), read_folds(folds_csv), out_png,
                        title=title)


def class_counts_file(manifest_csvs: dict[str, str], out_csv: str | os.PathLike,
                      out_png: str | os.PathLike, *, fold: int = 0, title: str = "") -> pd.DataFrame:
    """The ``class_counts`` rule: one fold's videos per class and scenario, as a table and as
    the figure :func:`plot_class_distribution` draws for whole datasets."""
    from .synthesis.manifest import class_counts, read_manifest

    manifests = {s: read_manifest(p) for s, p in manifest_csvs.items()}
    counts = class_counts(manifests)
    write_csv(counts, out_csv, index=True)
    classes = [c for c in counts.index if c != "total"]
    plot_class_distribution({(fold, s): m for s, m in manifests.items()}, classes, out_png, title)
    return counts
