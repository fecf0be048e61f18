"""The study's Table 13, with variance, and the paired comparisons against ``original``.

* accuracy.{md,csv,tex,html}: per dataset, model × scenario, mean ± sd over folds × seeds of
  the video-level normalized accuracy (cells stay short: the tests live in the next table);
* accuracy_delta.{md,csv,tex,html}: per (dataset, model, scenario ≠ original), Δ on the pooled
  test videos with a 95 % subject-bootstrap CI, exact McNemar p (Holm-adjusted) and the
  fold × seed Wilcoxon p (:mod:`semaug.stats` has the statistics);
* class_recall.{md,csv,html}: per class, original vs scenario recall, Δ, and the training
  videos of that class with the number each scenario added.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from . import layout
from .atomic import write_csv, write_text
from .stats import (MIN_PAIRS, N_RESAMPLES, holm, mcnemar_exact, paired_bootstrap_delta,
                    wilcoxon_runs)

BASELINE = "original"
METRIC_NAME = "video-level normalized accuracy"


def job_of(path: str | os.PathLike) -> dict[str, str | int]:
    """ds, fold, model, scenario, seed of a training job's output file (metrics.json, or any
    file beside it such as predictions.csv), read through the results layout."""
    where = layout.parse(Path(path).with_name("metrics.json"), layout.TRAIN_METRICS)
    return {"ds": where["ds"], "fold": where["k"], "model": where["model"],
            "scenario": where["scenario"], "seed": where["s"]}


def collect(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """One row per metrics.json: ds, fold, model, scenario, seed and its video-level scores."""
    rows = []
    for path in paths:
        if Path(path).name != "metrics.json":
            raise ValueError(f"{path} is not .../{{ds}}/fold{{k}}/{{model}}/{{scenario}}/seed{{s}}/metrics.json")
        job = job_of(path)
        with open(path) as fh:
            metrics = json.load(fh)
        rows.append({
            **job, "normalized_accuracy": metrics["normalized_accuracy"],
            "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
        })
    return pd.DataFrame(rows, columns=["ds", "fold", "model", "scenario", "seed",
                                       "normalized_accuracy", "accuracy", "macro_f1"])


paired_test = wilcoxon_runs  # the name this module used before semaug.stats existed


def summarize(df: pd.DataFrame, metric: str = "normalized_accuracy",
              baseline: str = BASELINE) -> pd.DataFrame:
    """Per (ds, model, scenario): n, mean and sd (percent, sd with ddof=1) over folds × seeds;
    Δ = mean paired difference vs ``baseline`` over the (fold, seed) pairs both have, with the
    Wilcoxon p-value (or a note why there is none)."""
    rows = []
    for (ds, model, scenario), g in df.groupby(["ds", "model", "scenario"], sort=False):
        values = 100 * g[metric].to_numpy(dtype=float)
        row = {"ds": ds, "model": model, "scenario": scenario, "n": len(values),
               "mean_pct": values.mean(),
               "sd_pct": values.std(ddof=1) if len(values) > 1 else math.nan,
               "delta_pct": math.nan, "n_pairs": 0, "p_value": math.nan, "test": ""}
        base = df[(df["ds"] == ds) & (df["model"] == model) & (df["scenario"] == baseline)]
        if scenario != baseline and not base.empty:
            pairs = g.merge(base, on=["fold", "seed"], suffixes=("", "_base"))
            diff = 100 * (pairs[metric] - pairs[f"{metric}_base"]).to_numpy(dtype=float)
            if len(diff):
                row["delta_pct"], row["n_pairs"] = diff.mean(), len(diff)
                row["p_value"], row["test"] = paired_test(diff)
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(row: pd.Series, pm: str) -> str:
    # mean ± sd only: Δ, its CI and the tests have their own columns in accuracy_delta.*
    sd = f" {pm} {row.sd_pct:.1f}" if not math.isnan(row.sd_pct) else f" (n={row.n})"
    return f"{row.mean_pct:.1f}{sd}"


def grid(summary: pd.DataFrame, ds: str, *, models: Sequence[str] | None = None,
         scenarios: Sequence[str] | None = None, pm: str = "±") -> pd.DataFrame:
    """Dataset ``ds`` as a model × scenario table of formatted cells."""
    s = summary[summary["ds"] == ds]
    models = [m for m in (models or s["model"].unique()) if m in set(s["model"])]
    scenarios = [c for c in (scenarios or s["scenario"].unique()) if c in set(s["scenario"])]
    table = pd.DataFrame("", index=pd.Index(models, name="model"), columns=scenarios)
    for row in s.itertuples(index=False):
        if row.model in table.index and row.scenario in table.columns:
            table.loc[row.model, row.scenario] = _cell(row, pm)
    return table


def _caption(summary: pd.DataFrame, ds: str) -> str:
    n = summary.loc[summary["ds"] == ds, "n"]
    return (f"{ds}: {METRIC_NAME} (%), mean ± sd over folds × seeds (n = {n.min()}"
            + (f"–{n.max()}" if n.max() != n.min() else "") + " runs per cell)")


FOOTNOTE = (f"Cells: mean ± sd (ddof 1) over the folds × seeds runs. Δ vs `{BASELINE}`, its 95 % "
            "CI and the paired tests are in accuracy_delta.md.")


def _tex_escape(text: str) -> str:
    return re.sub(r"([_%&#$])", r"\\\1", text)


def write_tables(summary: pd.DataFrame, *, md: str | os.PathLike, csv: str | os.PathLike,
                 tex: str | os.PathLike, html: str | os.PathLike | None = None,
                 models: dict[str, Sequence[str]] | None = None,
                 scenarios: Sequence[str] | None = None) -> None:
    """accuracy.{md,csv,tex} (+ html for the report): one table per dataset."""
    models = models or {}
    datasets = list(dict.fromkeys(summary["ds"]))
    write_csv(summary, csv, index=False, float_format="%.4f")
    md_parts, tex_parts, html_parts = [], [], []
    for ds in datasets:
        cells = grid(summary, ds, models=models.get(ds), scenarios=scenarios)
        md_parts.append(f"## {_caption(summary, ds)}\n\n"
                        + tabulate(cells, headers="keys", tablefmt="github") + "\n")
        html_parts.append(f"<h3>{_caption(summary, ds)}</h3>\n"
                          + tabulate(cells, headers="keys", tablefmt="html"))
        tcells = grid(summary, ds, models=models.get(ds), scenarios=scenarios,
                      pm=r"$\pm$")
        tcells.index = [_tex_escape(m) for m in tcells.index]
        tcells.index.name = "model"
        tcells.columns = [_tex_escape(c) for c in tcells.columns]
        tcells = tcells.map(lambda c: c.replace("%", r"\%").replace("_", r"\_"))
        caption = _tex_escape(_caption(summary, ds)).replace("±", r"$\pm$").replace("×", r"$\times$")
        tex_parts.append(
            "\\begin{table}[ht]\n\\centering\n"
            + tabulate(tcells, headers="keys", tablefmt="latex_raw")
            + f"\n\\caption{{{caption}}}\n\\end{{table}}\n"
        )
    write_text(md, "\n".join(md_parts) + "\n" + FOOTNOTE + "\n")
    write_text(tex, "\n".join(tex_parts)
                         + "% " + FOOTNOTE.replace("Δ", "Delta") + "\n")
    if html is not None:
        write_text(html, "\n".join(html_parts) + f"\n<p>{FOOTNOTE}</p>\n")


def aggregate(metrics_paths: Iterable[str | os.PathLike], *, md: str | os.PathLike,
              csv: str | os.PathLike, tex: str | os.PathLike, html: str | os.PathLike | None = None,
              models: dict[str, Sequence[str]] | None = None,
              scenarios: Sequence[str] | None = None) -> pd.DataFrame:
    """metrics.json files → the summary table, written in all formats; returns the summary."""
    summary = summarize(collect(metrics_paths))
    write_tables(summary, md=md, csv=csv, tex=tex, html=html, models=models, scenarios=scenarios)
    return summary


# ---------------------------------------------------------------- per-video paired statistics

PREDICTION_COLUMNS = ["ds", "fold", "model", "scenario", "seed", "video_id", "subject", "label",
                      "pred", "correct"]


def collect_predictions(prediction_paths: Iterable[str | os.PathLike],
                        folds_csvs: Mapping[str, str | os.PathLike]) -> pd.DataFrame:
    """The video-level rows of every predictions.csv, one row per (job, test video), with the
    job's keys, the video's subject and whether its prediction is right.

    The subject comes from the predictions' ``subject`` column when they have one, else from
    the dataset's folds.csv (``folds_csvs`` maps ds → folds.csv).
    """
    subjects: dict[str, pd.Series] = {}
    parts = []
    for path in prediction_paths:
        job = job_of(path)
        table = pd.read_csv(path, dtype={"video_id": str, "subject": str, "label": str, "pred": str})
        table = table[table["level"] == "video"].copy()
        if "subject" not in table:
            ds = str(job["ds"])
            if ds not in subjects:
                if ds not in folds_csvs:
                    raise ValueError(f"{path} has no `subject` column and no folds.csv was given "
                                     f"for dataset {ds!r}: pass folds_csvs={{{ds!r}: ...}}")
                folds = pd.read_csv(folds_csvs[ds], dtype={"video_id": str, "subject": str})
                subjects[ds] = folds.set_index("video_id")["subject"]
            table["subject"] = table["video_id"].map(subjects[ds])
            missing = table.loc[table["subject"].isna(), "video_id"]
            if len(missing):
                raise ValueError(f"{path}: videos {', '.join(missing[:5])} are not in "
                                 f"{folds_csvs[ds]}: the predictions and folds are of different runs")
        for key, value in job.items():
            table[key] = value
        table["correct"] = table["label"] == table["pred"]
        parts.append(table[PREDICTION_COLUMNS])
    if not parts:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def paired_videos(predictions: pd.DataFrame, ds: str, model: str, scenario: str,
                  baseline: str = BASELINE) -> pd.DataFrame:
    """The test videos of (ds, model) scored by both ``baseline`` and ``scenario`` in the same
    (fold, seed): subject, label, correct_base, correct (one row per video and seed)."""
    keys = ["fold", "seed", "video_id"]
    cell = predictions[(predictions["ds"] == ds) & (predictions["model"] == model)]
    base = cell[cell["scenario"] == baseline]
    other = cell[cell["scenario"] == scenario]
    pairs = other.merge(base[keys + ["correct", "label"]], on=keys, suffixes=("", "_base"))
    if (pairs["label"] != pairs["label_base"]).any():
        raise ValueError(f"{ds}/{model}: {scenario} and {baseline} disagree on a video's label")
    return pairs[keys + ["subject", "label", "correct"]].assign(correct_base=pairs["correct_base"])


def compared_cells(predictions: pd.DataFrame, baseline: str = BASELINE
                   ) -> Iterator[tuple[Any, pd.DataFrame]]:
    """Each (ds, model, scenario ≠ baseline) cell with its videos paired with the baseline's."""
    cells = predictions[["ds", "model", "scenario"]].drop_duplicates()
    for cell in cells.itertuples(index=False):
        if cell.scenario != baseline:
            yield cell, paired_videos(predictions, cell.ds, cell.model, cell.scenario, baseline)


def delta_statistics(predictions: pd.DataFrame, runs: pd.DataFrame | None = None, *,
                     baseline: str = BASELINE, n_resamples: int = N_RESAMPLES,
                     seed: int = 0) -> pd.DataFrame:
    """One row per (ds, model, scenario ≠ baseline): Δ normalized accuracy on the pooled
    paired videos (points) with its subject-bootstrap CI, McNemar b, c, p and Holm-adjusted p
    (across the scenarios of a (ds, model)), and, from ``runs`` (:func:`collect`), the mean
    Δ over (fold, seed) pairs with the Wilcoxon p (or why there is none)."""
    summary = summarize(runs, baseline=baseline) if runs is not None and len(runs) else None
    rows = []
    for row, pairs in compared_cells(predictions, baseline):
        out: dict[str, object] = {"ds": row.ds, "model": row.model, "scenario": row.scenario,
                                  "n_videos": len(pairs), "n_subjects": pairs["subject"].nunique()}
        if len(pairs):
            boot = paired_bootstrap_delta(pairs["label"], pairs["correct_base"], pairs["correct"],
                                          pairs["subject"], n_resamples=n_resamples, seed=seed)
            test = mcnemar_exact(pairs["correct_base"], pairs["correct"])
            out.update(delta_pct=100 * boot.delta, ci_low_pct=100 * boot.low,
                       ci_high_pct=100 * boot.high, n_resamples=n_resamples,
                       b=test.b, c=test.c, mcnemar_p=test.p_value)
        if summary is not None:
            match = summary[(summary["ds"] == row.ds) & (summary["model"] == row.model)
                            & (summary["scenario"] == row.scenario)]
            if len(match):
                m = match.iloc[0]
                out.update(n_pairs=int(m["n_pairs"]), delta_runs_pct=m["delta_pct"],
                           wilcoxon_p=m["p_value"], wilcoxon_note=m["test"])
        rows.append(out)
    table = pd.DataFrame(rows, columns=[
        "ds", "model", "scenario", "n_videos", "n_subjects", "delta_pct", "ci_low_pct",
        "ci_high_pct", "n_resamples", "b", "c", "mcnemar_p", "mcnemar_p_holm", "n_pairs",
        "delta_runs_pct", "wilcoxon_p", "wilcoxon_note"])
    for _, idx in table.groupby(["ds", "model"], sort=False).groups.items():
        table.loc[idx, "mcnemar_p_holm"] = holm(table.loc[idx, "mcnemar_p"].to_numpy(dtype=float))
    return table


def _p(p: float) -> str:
    return "" if p is None or math.isnan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def delta_cells(delta: pd.DataFrame, ds: str) -> pd.DataFrame:
    """Dataset ``ds``'s rows of :func:`delta_statistics` as short printable columns."""
    rows = []
    for r in delta[delta["ds"] == ds].itertuples(index=False):
        has = not math.isnan(r.delta_pct)
        wil = _p(r.wilcoxon_p) or (f"– ({int(r.n_pairs)} pairs)" if not pd.isna(r.n_pairs) else "")
        rows.append({
            "model": r.model, "scenario": r.scenario,
            "Δ": f"{r.delta_pct:+.1f}" if has else "",
            "95 % CI": f"[{r.ci_low_pct:+.1f}, {r.ci_high_pct:+.1f}]" if has else "",
            "b / c": f"{int(r.b)} / {int(r.c)}" if has else "",
            "McNemar p": _p(r.mcnemar_p), "Holm p": _p(r.mcnemar_p_holm),
            "Wilcoxon p": wil, "videos": int(r.n_videos), "subjects": int(r.n_subjects),
        })
    return pd.DataFrame(rows)


def delta_footnote(n_resamples: int, seed: int, baseline: str = BASELINE) -> str:
    """Method and assumptions of accuracy_delta.*, for the table's footnote and the report."""
    return (
        f"Δ: scenario − `{baseline}` {METRIC_NAME}, in points, on the test videos of all folds "
        "and seeds pooled (a video tested in s seeds counts s times). 95 % CI: percentile "
        f"interval of a paired bootstrap over test subjects ({n_resamples} resamples, seed "
        f"{seed}): subjects drawn with replacement with all their videos, both arms scored on "
        "the same resample; it assumes subjects independent, and holds the trained models "
        "fixed (training noise enters only through the seeds pooled). b / c: videos only "
        f"`{baseline}` / only the scenario got right. McNemar p: exact two-sided binomial "
        "test of b against b + c (it takes videos as independent; a subject's videos are not, "
        "so read it beside the subject-level CI); Holm p: Holm-adjusted across the scenarios "
        f"compared with `{baseline}` within a (dataset, model). Wilcoxon p: signed-rank test "
        "over the (fold, seed) pairs of run scores, run only with at least "
        f"{MIN_PAIRS} non-zero pairs (below, p < 0.05 is out of reach); '– (n pairs)' when not run."
    )


def _write_sections(sections: list[tuple[str, pd.DataFrame]], footnote: str, *,
                    md: str | os.PathLike, html: str | os.PathLike | None = None,
                    tex: str | os.PathLike | None = None) -> None:
    """One titled table per section, in markdown (+ html, + LaTeX), with the footnote."""
    md_parts = [f"## {title}\n\n" + tabulate(t, headers="keys", tablefmt="github", showindex=False,
                              disable_numparse=True)
                + "\n" for title, t in sections]
    write_text(md, "\n".join(md_parts) + "\n" + footnote + "\n")
    if html is not None:
        parts = [f"<h3>{title}</h3>\n" + tabulate(t, headers="keys", tablefmt="html", showindex=False,
                                           disable_numparse=True)
                 for title, t in sections]
        write_text(html, "\n".join(parts) + f"\n<p>{footnote}</p>\n")
    if tex is not None:
        def esc(text: object) -> str:
            return (_tex_escape(str(text)).replace("Δ", r"$\Delta$").replace("–", "--")
                    .replace("±", r"$\pm$").replace("<", r"$<$").replace("−", "-"))
        parts = []
        for title, t in sections:
            tt = t.map(esc)
            tt.columns = [esc(c) for c in t.columns]
            parts.append("\\begin{table}[ht]\n\\centering\n"
                         + tabulate(tt, headers="keys", tablefmt="latex_raw", showindex=False,
                                  disable_numparse=True)
                         + f"\n\\caption{{{esc(title)}}}\n\\end{{table}}\n")
        write_text(tex, "\n".join(parts) + "% " + esc(footnote) + "\n")


def write_delta_tables(delta: pd.DataFrame, *, md: str | os.PathLike, csv: str | os.PathLike,
                       html: str | os.PathLike | None = None, tex: str | os.PathLike | None = None,
                       n_resamples: int = N_RESAMPLES, seed: int = 0) -> None:
    """accuracy_delta.{md,csv} (+ html, tex): one table per dataset."""
    write_csv(delta, csv, index=False, float_format="%.6g")
    sections = [(f"{ds}: Δ {METRIC_NAME} vs `{BASELINE}`, per-video paired", delta_cells(delta, ds))
                for ds in dict.fromkeys(delta["ds"])]
    _write_sections(sections, delta_footnote(n_resamples, seed), md=md, html=html, tex=tex)


def delta_table_file(metrics_paths: Iterable[str | os.PathLike],
                     prediction_paths: Iterable[str | os.PathLike],
                     folds_csvs: Mapping[str, str | os.PathLike], *, md: str | os.PathLike,
                     csv: str | os.PathLike, html: str | os.PathLike | None = None,
                     tex: str | os.PathLike | None = None, n_resamples: int = N_RESAMPLES,
                     seed: int = 0) -> pd.DataFrame:
    """The accuracy_delta rule: metrics.json + predictions.csv files (+ folds.csv per dataset
    for the subjects) → accuracy_delta.*; returns the table."""
    delta = delta_statistics(collect_predictions(prediction_paths, folds_csvs),
                             collect(metrics_paths), n_resamples=n_resamples, seed=seed)
    write_delta_tables(delta, md=md, csv=csv, html=html, tex=tex, n_resamples=n_resamples, seed=seed)
    return delta


accuracy_table_file = aggregate  # the accuracy_table rule: one call, as the other *_file wrappers


# ---------------------------------------------------------------- per-class effect

def read_class_counts(class_counts_csvs: Mapping[tuple[str, int], str | os.PathLike]) -> pd.DataFrame:
    """class_counts.csv files ((ds, fold) → path; label × scenario training videos, as the
    class_counts rule writes them) → long rows: ds, fold, label, scenario, videos."""
    parts = []
    for (ds, fold), path in class_counts_csvs.items():
        table = pd.read_csv(path, dtype={"label": str}).set_index("label").drop(index="total", errors="ignore")
        long = table.reset_index().melt(id_vars="label", var_name="scenario", value_name="videos")
        parts.append(long.assign(ds=ds, fold=int(fold)))
    columns = ["ds", "fold", "label", "scenario", "videos"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def per_class_recall(predictions: pd.DataFrame, class_counts: pd.DataFrame | None = None, *,
                     baseline: str = BASELINE) -> pd.DataFrame:
    """Per (ds, model, scenario ≠ baseline, class): recall of both arms on the pooled paired
    test videos (percent), Δ (points), test videos, and from ``class_counts``
    (:func:`read_class_counts`) the class's ``baseline`` training videos and the videos the
    scenario added, both as a mean over folds."""
    train = added = None
    if class_counts is not None and len(class_counts):
        per_fold = class_counts.pivot_table(index=["ds", "fold", "label"], columns="scenario",
                                            values="videos", aggfunc="sum")
        if baseline not in per_fold:
            raise ValueError(f"class counts have no `{baseline}` column: cannot tell what was added")
        train = per_fold[baseline].groupby(["ds", "label"]).mean()
        added = per_fold.sub(per_fold[baseline], axis=0).groupby(["ds", "label"]).mean()
    rows = []
    for cell, pairs in compared_cells(predictions, baseline):
        for label, g in pairs.groupby("label", sort=True):
            base, scen = 100 * g["correct_base"].mean(), 100 * g["correct"].mean()
            row = {"ds": cell.ds, "model": cell.model, "scenario": cell.scenario, "label": label,
                   "test_videos": len(g), "recall_base_pct": base, "recall_pct": scen,
                   "delta_pct": scen - base, "train_videos": math.nan, "added_videos": math.nan}
            if train is not None:
                row["train_videos"] = train.get((cell.ds, label), math.nan)
                if cell.scenario in added:
                    row["added_videos"] = added[cell.scenario].get((cell.ds, label), math.nan)
            rows.append(row)
    return pd.DataFrame(rows, columns=["ds", "model", "scenario", "label", "test_videos",
                                       "train_videos", "added_videos", "recall_base_pct",
                                       "recall_pct", "delta_pct"])


def class_recall_cells(recall: pd.DataFrame, ds: str, model: str) -> pd.DataFrame:
    """One (ds, model)'s rows of :func:`per_class_recall` as short printable columns."""
    t = recall[(recall["ds"] == ds) & (recall["model"] == model)]

    def num(x: float, fmt: str) -> str:
        return "" if pd.isna(x) else format(x, fmt)

    return pd.DataFrame({
        "scenario": t["scenario"], "class": t["label"],
        "train": [num(x, ".0f") for x in t["train_videos"]],
        "added": [num(x, "+.0f") for x in t["added_videos"]],
        "test": t["test_videos"],
        f"{BASELINE} %": [f"{x:.1f}" for x in t["recall_base_pct"]],
        "scenario %": [f"{x:.1f}" for x in t["recall_pct"]],
        "Δ": [f"{x:+.1f}" for x in t["delta_pct"]],
    })


CLASS_FOOTNOTE = (
    f"Recall per class on the test videos of all folds and seeds pooled that both `{BASELINE}` "
    "and the scenario scored; Δ in points. train: the class's training videos in "
    f"`{BASELINE}` (real videos), added: videos the scenario adds to it (synthetic clips, or "
    "copies for oversample), both per fold, mean over folds, from the folds' class_counts.csv. "
    "No test here: a class has few test videos, so read Δ with the overall CI of accuracy_delta.md."
)


def class_recall_file(prediction_paths: Iterable[str | os.PathLike],
                      folds_csvs: Mapping[str, str | os.PathLike],
                      class_counts_csvs: Mapping[tuple[str, int], str | os.PathLike], *,
                      md: str | os.PathLike, csv: str | os.PathLike,
                      html: str | os.PathLike | None = None) -> pd.DataFrame:
    """The class_recall rule: predictions.csv (+ folds.csv per dataset, + class_counts.csv per
    (dataset, fold)) → class_recall.{md,csv,html}; returns the table."""
    recall = per_class_recall(collect_predictions(prediction_paths, folds_csvs),
                              read_class_counts(class_counts_csvs))
    write_csv(recall, csv, index=False, float_format="%.4f")
    sections = [(f"{ds} · {model}: recall per class (%) vs `{BASELINE}`",
                 class_recall_cells(recall, ds, model))
                for ds, model in dict.fromkeys(zip(recall["ds"], recall["model"]))]
    _write_sections(sections, CLASS_FOOTNOTE, md=md, html=html)
    return recall
