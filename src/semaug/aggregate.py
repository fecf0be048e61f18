"""The study's Table 13, with variance: per dataset, model × scenario, mean ± sd over
folds × seeds of the video-level normalized accuracy, Δ vs ``original`` and a paired test."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon
from tabulate import tabulate

METRICS_PATH = re.compile(
    r"(?:^|/)(?P<ds>[^/]+)/fold(?P<fold>\d+)/(?P<model>[^/]+)/(?P<scenario>[^/]+)/seed(?P<seed>\d+)/metrics\.json$"
)
BASELINE = "original"
# The smallest two-sided p a Wilcoxon signed-rank test can give on n non-zero pairs is
# 2 / 2**n: 0.0625 for n = 5, 0.031 for n = 6. Below 6 pairs it cannot reach p < 0.05.
MIN_PAIRS = 6
METRIC_NAME = "video-level normalized accuracy"


def collect(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """One row per metrics.json: ds, fold, model, scenario, seed and its video-level scores."""
    rows = []
    for path in paths:
        m = METRICS_PATH.search(Path(path).as_posix())
        if m is None:
            raise ValueError(f"{path} is not .../{{ds}}/fold{{k}}/{{model}}/{{scenario}}/seed{{s}}/metrics.json")
        with open(path) as fh:
            metrics = json.load(fh)
        rows.append({
            "ds": m["ds"], "fold": int(m["fold"]), "model": m["model"], "scenario": m["scenario"],
            "seed": int(m["seed"]), "normalized_accuracy": metrics["normalized_accuracy"],
            "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
        })
    return pd.DataFrame(rows, columns=["ds", "fold", "model", "scenario", "seed",
                                       "normalized_accuracy", "accuracy", "macro_f1"])


def paired_test(diff: np.ndarray) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p over paired differences, and a note when there is none."""
    nonzero = int(np.count_nonzero(diff))
    if nonzero == 0:
        return math.nan, f"n={len(diff)} pairs: no difference"
    if nonzero < MIN_PAIRS:
        extra = f" ({nonzero} non-zero)" if nonzero < len(diff) else ""
        return math.nan, f"n={len(diff)} pairs{extra}: too few for a test"
    return float(wilcoxon(diff).pvalue), ""


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


def _cell(row: pd.Series, pm: str, delta: str) -> str:
    sd = f" {pm} {row.sd_pct:.1f}" if not math.isnan(row.sd_pct) else f" (n={row.n})"
    text = f"{row.mean_pct:.1f}{sd}"
    if not math.isnan(row.delta_pct):
        test = f"p={row.p_value:.3g}" if not math.isnan(row.p_value) else row.test
        text += f" ({delta} {row.delta_pct:+.1f}; {test})"
    return text


def grid(summary: pd.DataFrame, ds: str, *, models: Sequence[str] | None = None,
         scenarios: Sequence[str] | None = None, pm: str = "±", delta: str = "Δ") -> pd.DataFrame:
    """Dataset ``ds`` as a model × scenario table of formatted cells."""
    s = summary[summary["ds"] == ds]
    models = [m for m in (models or s["model"].unique()) if m in set(s["model"])]
    scenarios = [c for c in (scenarios or s["scenario"].unique()) if c in set(s["scenario"])]
    table = pd.DataFrame("", index=pd.Index(models, name="model"), columns=scenarios)
    for row in s.itertuples(index=False):
        if row.model in table.index and row.scenario in table.columns:
            table.loc[row.model, row.scenario] = _cell(row, pm, delta)
    return table


def _caption(summary: pd.DataFrame, ds: str) -> str:
    n = summary.loc[summary["ds"] == ds, "n"]
    return (f"{ds}: {METRIC_NAME} (%), mean ± sd over folds × seeds (n = {n.min()}"
            + (f"–{n.max()}" if n.max() != n.min() else "") + " runs per cell)")


FOOTNOTE = (f"Δ: mean paired difference vs `{BASELINE}` over the (fold, seed) pairs, in points; "
            "p: two-sided Wilcoxon signed-rank test over those pairs (scipy.stats.wilcoxon); "
            f"fewer than {MIN_PAIRS} non-zero pairs cannot reach p < 0.05, so no test is run.")


def _tex_escape(text: str) -> str:
    return re.sub(r"([_%&#$])", r"\\\1", text)


def write_tables(summary: pd.DataFrame, *, md: str | os.PathLike, csv: str | os.PathLike,
                 tex: str | os.PathLike, html: str | os.PathLike | None = None,
                 models: dict[str, Sequence[str]] | None = None,
                 scenarios: Sequence[str] | None = None) -> None:
    """accuracy.{md,csv,tex} (+ html for the report): one table per dataset."""
    models = models or {}
    datasets = list(dict.fromkeys(summary["ds"]))
    summary.to_csv(csv, index=False, float_format="%.4f")
    md_parts, tex_parts, html_parts = [], [], []
    for ds in datasets:
        cells = grid(summary, ds, models=models.get(ds), scenarios=scenarios)
        md_parts.append(f"## {_caption(summary, ds)}\n\n"
                        + tabulate(cells, headers="keys", tablefmt="github") + "\n")
        html_parts.append(f"<h3>{_caption(summary, ds)}</h3>\n"
                          + tabulate(cells, headers="keys", tablefmt="html"))
        tcells = grid(summary, ds, models=models.get(ds), scenarios=scenarios,
                      pm=r"$\pm$", delta=r"$\Delta$")
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
    Path(md).write_text("\n".join(md_parts) + "\n" + FOOTNOTE + "\n")
    Path(tex).write_text("\n".join(tex_parts)
                         + "% " + FOOTNOTE.replace("Δ", "Delta") + "\n")
    if html is not None:
        Path(html).write_text("\n".join(html_parts) + f"\n<p>{FOOTNOTE}</p>\n")


def aggregate(metrics_paths: Iterable[str | os.PathLike], *, md: str | os.PathLike,
              csv: str | os.PathLike, tex: str | os.PathLike, html: str | os.PathLike | None = None,
              models: dict[str, Sequence[str]] | None = None,
              scenarios: Sequence[str] | None = None) -> pd.DataFrame:
    """metrics.json files → the summary table, written in all formats; returns the summary."""
    summary = summarize(collect(metrics_paths))
    write_tables(summary, md=md, csv=csv, tex=tex, html=html, models=models, scenarios=scenarios)
    return summary
