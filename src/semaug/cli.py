"""Command line: ``semaug demo-summary`` (what `make demo` prints at the end)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPORT = "results/report.html"


RIDGE_CAVEAT = (
    "Measured with each fold's ridge landmark regressor (config synthesis.instrument): it has no "
    "identity embedding (no AED), and a linear pixel model follows flipped, warped and generated "
    "faces poorly (the real videos `classic` merely augments keep about 50 % of the real test "
    "videos' fidelity). `make demo-quality` measures ck_demo fold 0 with dlib (about 2½ minutes).")


def quality_summary(results: Path) -> None:
    """Print each dataset's synthetic-video quality headline (one row per maker and fold)."""
    from .layout import QUALITY, QUALITY_TABLE, path
    from .synthesis.quality_table import FOOTNOTE, headline_table

    printed = []
    for table in sorted(results.glob(path(QUALITY_TABLE, root="", ds="*"))):
        ds = table.parent.name
        jsons = sorted(results.glob(path(QUALITY, root="", ds=ds, k="*", gen="*")))
        if jsons:
            printed.append(headline_table(jsons))
            print(f"Synthetic-video quality, {ds} (all measures: {table}):\n\n{printed[-1]}")
    if printed:
        print(FOOTNOTE + "\n")
    if any("ridge_regressor" in text for text in printed):
        print(RIDGE_CAVEAT + "\n")


def demo_summary(tables: Path) -> int:
    """Print where the accuracy table is, the table itself, and how to build the report."""
    md = tables / "accuracy.md"
    if not md.exists():
        print(f"{md} does not exist yet: run the workflow first (`make demo` or "
              "`snakemake --cores 2 --resources gpu=1`).", file=sys.stderr)
        return 1
    print(f"Accuracy table: {md} (also {md.with_suffix('.csv')}, {md.with_suffix('.tex')})\n")
    print(md.read_text())
    delta = tables / "accuracy_delta.md"
    if delta.exists():
        print(f"Δ vs original with 95 % CI and paired tests: {delta}\n")
        print(delta.read_text())
    forest = sorted((tables.parent / "figures").glob("delta_*.png"))
    if forest:
        print("Forest plots (Δ vs original, 95 % CI):\n" + "".join(f"  {p}\n" for p in forest))
    quality_summary(tables.parent)
    what = "tables, Δ forest plots, per-class gains, class distributions, synthetic samples, confusion matrices"
    report = tables.parent / Path(REPORT).name  # results/tables -> results/report.html
    if report.exists():
        print(f"HTML report ({what}): {report}")
    else:
        print(f"HTML report ({what}):\n  snakemake --report {REPORT}\nthen open {REPORT} in a browser.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="semaug", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo-summary", help="print the accuracy table and how to build the report")
    p.add_argument("--tables", type=Path, default=Path("results/tables"),
                   help="folder holding accuracy.md (default: results/tables)")
    args = parser.parse_args(argv)
    if args.command == "demo-summary":
        return demo_summary(args.tables)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
