"""Aggregation on handcrafted metrics.json files: mean ± sd, Δ, paired test; figures; CLI."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from semaug.aggregate import aggregate, collect, summarize
from semaug.cli import main as cli

# ck: 3 folds × 2 seeds = 6 (fold, seed) pairs; mug: 3 folds × 1 seed = 3 pairs.
CK_ORIGINAL = [0.50, 0.60, 0.70, 0.50, 0.60, 0.70]
CK_GAIN = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]  # all positive: exact two-sided p = 2 / 2**6


def _write(root, ds, fold, model, scenario, seed, value, confusion=None):
    path = root / ds / f"fold{fold}" / model / scenario / f"seed{seed}" / "metrics.json"
    path.parent.mkdir(parents=True)
    confusion = confusion or [[2, 1], [0, 3]]
    path.write_text(json.dumps({
        "normalized_accuracy": value, "accuracy": value, "macro_f1": value,
        "confusion": confusion, "labels": ["a", "b"], "frames": {},
    }))
    return path


@pytest.fixture
def metrics(tmp_path):
    paths = []
    pairs = [(k, s) for s in (0, 1) for k in range(3)]
    for (k, s), base, gain in zip(pairs, CK_ORIGINAL, CK_GAIN):
        paths.append(_write(tmp_path, "ck", k, "cnn", "original", s, base))
        paths.append(_write(tmp_path, "ck", k, "cnn", "oversample", s, base + gain))
    for k, (base, other) in enumerate([(0.6, 0.7), (0.6, 0.5), (0.9, 0.9)]):
        paths.append(_write(tmp_path, "mug", k, "resnet50", "original", 0, base))
        paths.append(_write(tmp_path, "mug", k, "resnet50", "landmark_warp", 0, other))
    return paths


def test_collect_parses_the_path_contract(metrics):
    df = collect(metrics)
    assert len(df) == 18
    assert set(df["ds"]) == {"ck", "mug"} and set(df["fold"]) == {0, 1, 2} and set(df["seed"]) == {0, 1}


def test_mean_sd_delta_and_wilcoxon(metrics):
    s = summarize(collect(metrics)).set_index(["ds", "model", "scenario"])
    orig = s.loc[("ck", "cnn", "original")]
    assert orig["mean_pct"] == pytest.approx(60.0)
    assert orig["sd_pct"] == pytest.approx(np.std([50, 60, 70] * 2, ddof=1))  # 8.944
    assert math.isnan(orig["delta_pct"])
    over = s.loc[("ck", "cnn", "oversample")]
    assert over["delta_pct"] == pytest.approx(3.5)  # mean of the paired gains, in points
    assert over["n_pairs"] == 6
    assert over["p_value"] == pytest.approx(2 / 2**6)
    warp = s.loc[("mug", "resnet50", "landmark_warp")]
    assert warp["delta_pct"] == pytest.approx(0.0)
    assert math.isnan(warp["p_value"])
    assert warp["test"] == "n=3 pairs (2 non-zero): too few for a test"


def test_tables_in_three_formats(metrics, tmp_path, capsys):
    out = tmp_path / "tables"
    out.mkdir()
    aggregate(metrics, md=out / "accuracy.md", csv=out / "accuracy.csv", tex=out / "accuracy.tex",
              html=out / "accuracy.html", scenarios=["original", "oversample", "landmark_warp"])
    md = (out / "accuracy.md").read_text()
    cnn_row = next(line for line in md.splitlines() if line.startswith("| cnn"))
    cells = [c.strip() for c in cnn_row.strip("|").split("|")]
    assert cells == ["cnn", "60.0 ± 8.9", "63.5 ± 10.0 (Δ +3.5; p=0.0312)"]
    assert "(Δ +0.0; n=3 pairs (2 non-zero): too few for a test)" in md
    assert md.index("## ck") < md.index("## mug")
    csv = pd.read_csv(out / "accuracy.csv")
    assert list(csv.columns[:5]) == ["ds", "model", "scenario", "n", "mean_pct"]
    tex = (out / "accuracy.tex").read_text()
    assert r"60.0 $\pm$ 8.9" in tex and r"landmark\_warp" in tex
    assert cli(["demo-summary", "--tables", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out / "accuracy.md") in printed and "snakemake --report" in printed and "60.0 ± 8.9" in printed


def test_cli_without_table_fails(tmp_path):
    assert cli(["demo-summary", "--tables", str(tmp_path)]) == 1


def test_confusion_summed_over_folds_and_plotted(metrics, tmp_path):
    from semaug.figures import plot_confusion, summed_confusion

    ck = [p for p in metrics if "/ck/" in p.as_posix() and "/original/" in p.as_posix()]
    counts, labels = summed_confusion(ck)
    assert labels == ["a", "b"] and counts.tolist() == [[12, 6], [0, 18]]
    png = plot_confusion(counts, labels, tmp_path / "c.png", title="ck cnn original")
    assert png.read_bytes()[:4] == b"\x89PNG"
