"""Tables of quality.json files (the ``synthesis_quality_table`` rule and `make demo`'s closing
summary). The headline: the numbers a reader looks at first, one row per quality.json —
expression fidelity as a share of the real test videos', AKD against copy-source (raw and
registered on the rigid points), AED and identity leakage; then every measure, per class too.
Reads only JSON (no torch, no detector)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from ..atomic import write_text

MISSING = "–"
FOOTNOTE = (
    "fidelity: the expression probe's class-mean hit rate on the synthetic videos as a share of "
    "its rate on the real test videos. AKD (reg): the maker's self-reenactment keypoint distance "
    "relative to copy-source's (negative = closer to the real frames than a still face; reg: "
    "after registration on the eye corners and nasion). AED: identity embedding distance to the "
    "real frames (maker / copy-source). closer to driver: share of the synthetic videos nearer "
    "their driver's identity than their source's (classic's videos are their driver's own "
    "face). – : not measured (the ridge regressor has no identity embedding; classic has no "
    "self-reenactment).")


def get(result: Mapping[str, Any], *keys: str) -> Any:
    """``result[k1][k2]...``, or None where a key (or a dict on the way) is missing."""
    for key in keys:
        if not isinstance(result, Mapping) or key not in result:
            return None
        result = result[key]
    return result


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _percent(value: Any, *, signed: bool = False) -> str:
    if not _finite(value):
        return MISSING
    return f"{100 * value:+.0f} %" if signed else f"{100 * value:.0f} %"


def _change(q: Mapping[str, Any], key: str) -> str:
    mine, copy = get(q, q.get("maker", ""), key), get(q, "copy_source", key)
    return _percent(mine / copy - 1, signed=True) if _finite(mine) and _finite(copy) and copy \
        else MISSING


def headline(q: Mapping[str, Any]) -> dict[str, str]:
    """The headline cells of one quality.json (as loaded)."""
    name = q.get("maker", "")
    aed_pair = (get(q, name, "aed"), get(q, "copy_source", "aed"))
    return {
        "maker": str(name),
        "fold": str(q.get("fold", MISSING)),
        "instrument": str(get(q, "instrument", "name") or MISSING),
        "fidelity vs real": _percent(get(q, "expression_fidelity", "relative_to_real")),
        "AKD vs copy": _change(q, "akd"),
        "AKD reg vs copy": _change(q, "akd_registered"),
        "AED (copy)": (f"{aed_pair[0]:.3f} ({aed_pair[1]:.3f})"
                       if all(_finite(v) for v in aed_pair) else MISSING),
        "closer to driver": _percent(get(q, "identity", "closer_to_driver")),
    }


def headline_table(quality_jsons: Sequence[str | Path]) -> str:
    """Markdown: :func:`headline` of each quality.json, sorted by fold then maker."""
    loaded = [json.loads(Path(path).read_text()) for path in quality_jsons]
    loaded.sort(key=lambda q: (q.get("fold", -1), str(q.get("maker", ""))))
    return tabulate([headline(q) for q in loaded], headers="keys", tablefmt="github",
                    disable_numparse=True) + "\n"


def comparison_table(quality_jsons: Sequence[str | Path]) -> str:
    """Markdown: the :func:`headline_table`, one row per quality.json (maker, fold)
    with every number, then one row per (class, maker) with expression fidelity and identity
    leakage. Cells a maker does not have (classic's self-reenactment, AED without dlib) are
    empty."""
    overall, by_class = [], []
    for path in quality_jsons:
        q = json.loads(Path(path).read_text())
        name = q.get("maker", Path(path).parent.name)
        row = {"maker": name, "fold": q.get("fold"), "instrument": get(q, "instrument", "name")}
        for key, label in (("l1", "L1"), ("akd", "AKD"), ("akd_registered", "AKD reg"),
                           ("mkr", "MKR"), ("aed", "AED")):
            row[label] = get(q, name, key)
            row[f"{label} copy"] = get(q, "copy_source", key)
        row["floor"] = q.get("measurement_floor")
        for key in ("to_source", "to_driver", "closer_to_driver"):
            row[key] = get(q, "identity", key)
        for part in ("synthetic", "real_test", "copy_source"):
            row[f"fid {part}"] = get(q, "expression_fidelity", part, "class_mean")
        row["fid / real"] = get(q, "expression_fidelity", "relative_to_real")
        overall.append(row)
        for label, cells in (q.get("per_class") or {}).items():
            by_class.append({"class": label, "maker": name, "fold": q.get("fold"), **cells})
    parts = ["Synthetic-video quality, headline", "", headline_table(quality_jsons), FOOTNOTE, "",
             "All measures (self-reenactment on test videos; identity and expression "
             "fidelity on the synthetic training videos; fid = class-mean share assigned to the "
             "intended class)", "",
             pd.DataFrame(overall).to_markdown(index=False, floatfmt=".3f", missingval="")]
    if by_class:
        frame = pd.DataFrame(by_class).sort_values(["class", "maker", "fold"])
        parts += ["", "Per class", "", frame.to_markdown(index=False, floatfmt=".3f",
                                                         missingval="")]
    return "\n".join(parts) + "\n"


def comparison_table_file(quality_jsons: Sequence[str | Path], out_md: str) -> str:
    """Write :func:`comparison_table` of ``quality_jsons`` to ``out_md``."""
    text = comparison_table(quality_jsons)
    write_text(out_md, text)
    return text
