import re
import os
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from semaug.config import explain_config_error
from semaug.formats import LAYOUTS, default_landmarks


CONFIG_SCHEMA = os.path.normpath(os.path.join(workflow.current_basedir, "../schemas/config.schema.yaml"))
try:
    validate(config, schema=CONFIG_SCHEMA)
except WorkflowError as err:
    # Snakemake's message dumps the whole schema; lead with the key path and the fix.
    raise WorkflowError(explain_config_error(config, CONFIG_SCHEMA)) from err

DATASETS = config["datasets"]
for _ds in DATASETS.values():
    _ds.setdefault("landmarks", default_landmarks(_ds["format"]))


def _check_roots():
    """A real dataset's root must exist before any job runs (demo roots are rendered)."""
    for name, ds in DATASETS.items():
        if "demo" in ds or os.path.isdir(ds["root"]):
            continue
        raise WorkflowError(
            f"datasets.{name}.root: {ds['root']!r} does not exist. Expected a {ds['format']} "
            f"tree there: {LAYOUTS[ds['format']].format(root=ds['root'])}. Point `root` at your copy of the "
            f"data (an absolute path works), or add `demo: {{}}` to render a demo dataset there."
        )


_check_roots()


wildcard_constraints:
    ds="|".join(map(re.escape, DATASETS)) if DATASETS else "[^/]+",
    k=r"\d+",
    s=r"\d+",
    shard=r"\d+",


def dataset(ds):
    """The validated config block of dataset `ds`."""
    return DATASETS[ds]


def demo_datasets():
    return [name for name, ds in DATASETS.items() if "demo" in ds]


def demo_sentinel(ds):
    return os.path.join(dataset(ds)["root"], ".semaug_demo.json")


def raw_input(ds):
    """What the index of `ds` waits for: the rendered demo, or nothing for real data."""
    return [demo_sentinel(ds)] if "demo" in dataset(ds) else []


def demo_by_root():
    """Demo datasets keyed by their root (the render rule's wildcard)."""
    return {os.path.normpath(dataset(ds)["root"]): ds for ds in demo_datasets()}


def face_shards(ds):
    return expand("results/{ds}/faces/shard{shard}.csv", ds=ds, shard=range(config["faces"]["shards"]))


def fold_ids():
    return range(config["folds"])


def final_outputs():
    outputs = []
    for ds in DATASETS:
        outputs.append(f"results/{ds}/folds.csv")
        if "demo" in dataset(ds):
            outputs.append(f"results/{ds}/demo_contact_sheet.png")
    return outputs
