"""Aggregation on handcrafted metrics.json / predictions.csv files: mean ± sd, Δ with a subject
bootstrap CI, McNemar + Holm, Wilcoxon; per-class recall; figures; CLI."""

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
    path.parent.mkdir(parents=True, exist_ok=True)
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
    assert cells == ["cnn", "60.0 ± 8.9", "63.5 ± 10.0"]  # Δ and tests: accuracy_delta.*
    assert "accuracy_delta.md" in md
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


# ---------------------------------------------------------------- per-video paired statistics

CLASSES = ["a", "b", "c"]


def _predictions(root, ds, fold, model, scenario, seed, rows):
    """predictions.csv as train_job writes it (frame rows too), without a subject column."""
    path = root / ds / f"fold{fold}" / model / scenario / f"seed{seed}" / "predictions.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [{"level": "frame", "video_id": v, "frame": 0, "label": lab, "pred": CLASSES[0]}
              for v, lab, _ in rows]
    videos = [{"level": "video", "video_id": v, "frame": -1, "label": lab, "pred": pred}
              for v, lab, pred in rows]
    pd.DataFrame(frames + videos).assign(p_a=0.5).to_csv(path, index=False)
    return path


@pytest.fixture
def two_folds(tmp_path):
    """A two-fold, one-seed run: `same` predicts exactly as `original`; `better` fixes videos.
    Returns (predictions.csv paths, their metrics.json paths, {ds: folds.csv})."""
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    root = tmp_path / "run"
    folds, paths, metrics_paths = [], [], []
    for fold in (0, 1):
        rows_orig, rows_better = [], []
        for i in range(30):
            video, subject = f"v{fold}_{i:02d}", f"S{fold}_{i // 3}"
            label = CLASSES[i % 3]
            pred = label if rng.random() < 0.5 else CLASSES[(i + 1) % 3]
            rows_orig.append((video, label, pred))
            rows_better.append((video, label, label if i % 5 else pred))
            folds.append({"video_id": video, "subject": subject, "label": label, "fold": fold})
        for scenario, rows in [("original", rows_orig), ("same", rows_orig), ("better", rows_better)]:
            paths.append(_predictions(root, "ck", fold, "cnn", scenario, 0, rows))
            score = balanced_accuracy_score([r[1] for r in rows], [r[2] for r in rows])
            metrics_paths.append(_write(root, "ck", fold, "cnn", scenario, 0, score))
    folds_csv = root / "ck" / "folds.csv"
    pd.DataFrame(folds).to_csv(folds_csv, index=False)
    return paths, metrics_paths, {"ck": folds_csv}


def test_predictions_get_their_subjects_from_folds(two_folds):
    from semaug.aggregate import collect_predictions

    paths, metrics_paths, folds = two_folds
    pred = collect_predictions(paths, folds)
    assert len(pred) == 3 * 60  # video rows only
    assert set(pred["scenario"]) == {"original", "same", "better"}
    assert pred.loc[pred["video_id"] == "v1_07", "subject"].unique().tolist() == ["S1_2"]
    with pytest.raises(ValueError, match="no `subject` column"):
        collect_predictions(paths, {})


def test_self_comparison_and_a_real_gain_on_two_folds(two_folds):
    from semaug.aggregate import collect_predictions, delta_statistics

    paths, metrics_paths, folds = two_folds
    delta = delta_statistics(collect_predictions(paths, folds), n_resamples=1000, seed=0)
    d = delta.set_index("scenario")
    same = d.loc["same"]
    assert (same["delta_pct"], same["ci_low_pct"], same["ci_high_pct"]) == (0.0, 0.0, 0.0)
    assert same["mcnemar_p"] == 1.0 and same["mcnemar_p_holm"] == 1.0
    better = d.loc["better"]
    assert better["b"] == 0 and better["c"] > 0  # only gains
    assert better["n_videos"] == 60 and better["n_subjects"] == 20
    assert better["ci_low_pct"] <= better["delta_pct"] <= better["ci_high_pct"]
    assert better["delta_pct"] > 0
    # Holm over the two scenarios of (ck, cnn): the smaller p doubled, the larger one kept
    assert better["mcnemar_p_holm"] == pytest.approx(min(1.0, 2 * better["mcnemar_p"]))


def test_delta_table_has_short_cells_and_a_method_footnote(two_folds, tmp_path):
    from semaug.aggregate import delta_table_file

    paths, metrics_paths, folds = two_folds
    out = tmp_path / "tables"
    out.mkdir()
    delta_table_file(metrics_paths, paths, folds, md=out / "d.md", csv=out / "d.csv",
                     html=out / "d.html", tex=out / "d.tex", n_resamples=200, seed=3)
    md = (out / "d.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| model"))
    assert [c.strip() for c in header.strip("|").split("|")][:8] == [
        "model", "scenario", "Δ", "95 % CI", "b / c", "McNemar p", "Holm p", "Wilcoxon p"]
    same = next(line for line in md.splitlines() if "| same" in line)
    assert "[+0.0, +0.0]" in same and "1.000" in same
    table_lines = [line for line in md.splitlines() if line.startswith("|")]
    assert max(len(c) for line in table_lines for c in line.split("|")) < 20
    assert "bootstrap over test subjects (200 resamples, seed 3)" in md and "Holm" in md
    assert "– (2 pairs)" in same  # two (fold, seed) pairs: no Wilcoxon test
    csv = pd.read_csv(out / "d.csv")
    assert csv.loc[csv["scenario"] == "better", "n_pairs"].tolist() == [2]
    assert {"delta_pct", "ci_low_pct", "ci_high_pct", "mcnemar_p", "mcnemar_p_holm",
            "wilcoxon_p"} <= set(csv.columns)
    assert r"\caption" in (out / "d.tex").read_text()


def test_per_class_recall_with_videos_added(two_folds, tmp_path):
    from semaug.aggregate import class_recall_file

    paths, metrics_paths, folds = two_folds
    counts = {}
    for fold in (0, 1):
        path = tmp_path / f"counts{fold}.csv"
        pd.DataFrame({"label": ["a", "b", "c", "total"], "original": [10, 20, 30, 60],
                      "same": [10, 20, 30, 60], "better": [20 + fold * 2, 20, 30, 72 + fold * 2]}
                     ).to_csv(path, index=False)
        counts[("ck", fold)] = path
    recall = class_recall_file(paths, folds, counts, md=tmp_path / "r.md", csv=tmp_path / "r.csv")
    r = recall.set_index(["scenario", "label"])
    assert r.loc[("better", "a"), "train_videos"] == 10
    assert r.loc[("better", "a"), "added_videos"] == 11  # (10 + 12) / 2 folds
    assert r.loc[("better", "b"), "added_videos"] == 0
    assert (r.loc["same", "delta_pct"] == 0).all()
    pred = pd.concat(pd.read_csv(p) for p in paths if "/better/" in p.as_posix())
    video_a = pred[(pred["level"] == "video") & (pred["label"] == "a")]
    assert r.loc[("better", "a"), "recall_pct"] == pytest.approx(
        100 * (video_a["label"] == video_a["pred"]).mean())
    md = (tmp_path / "r.md").read_text()
    assert "## ck · cnn" in md and "| better" in md


def test_forest_and_class_delta_figures(two_folds, tmp_path):
    from semaug.aggregate import class_recall_file, delta_table_file
    from semaug.figures import class_delta_file, delta_forest_file

    paths, metrics_paths, folds = two_folds
    delta_table_file([], paths, folds, md=tmp_path / "d.md", csv=tmp_path / "d.csv", n_resamples=100)
    png = delta_forest_file(tmp_path / "d.csv", "ck", tmp_path / "figures" / "delta_ck.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    class_recall_file(paths, folds, {}, md=tmp_path / "r.md", csv=tmp_path / "r.csv")
    png = class_delta_file(tmp_path / "r.csv", "ck", tmp_path / "figures" / "class_delta_ck.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_demo_summary_prints_the_delta_table_and_forest_plots(two_folds, tmp_path, capsys):
    from semaug.aggregate import aggregate, delta_table_file
    from semaug.figures import delta_forest_file

    paths, metrics_paths, folds = two_folds
    tables = tmp_path / "results" / "tables"
    tables.mkdir(parents=True)
    aggregate(metrics_paths, md=tables / "accuracy.md", csv=tables / "accuracy.csv",
              tex=tables / "accuracy.tex")
    delta_table_file(metrics_paths, paths, folds, md=tables / "accuracy_delta.md",
                     csv=tables / "accuracy_delta.csv", n_resamples=100)
    png = delta_forest_file(tables / "accuracy_delta.csv", "ck",
                            tmp_path / "results" / "figures" / "delta_ck.png")
    assert cli(["demo-summary", "--tables", str(tables)]) == 0
    printed = capsys.readouterr().out
    assert str(tables / "accuracy_delta.md") in printed and "95 % CI" in printed
    assert f"  {png}" in printed
