import os
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from semaug.config import explain_config_error
from semaug.formats import LAYOUTS, default_landmarks
from semaug.models import available_models  # lists model files; imports no torch


CONFIG_SCHEMA = os.path.normpath(os.path.join(workflow.current_basedir, "../schemas/config.schema.yaml"))
try:
    validate(config, schema=CONFIG_SCHEMA)
except WorkflowError as err:
    # Snakemake's message dumps the whole schema; lead with the key path and the fix.
    raise WorkflowError(explain_config_error(config, CONFIG_SCHEMA)) from err

# envs/semaug.post-deploy.sh installs this checkout into the conda env of `--sdm conda`.
os.environ.setdefault("SEMAUG_SRC", workflow.basedir)

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
    outputs += aggregate_outputs()  # tables + figures (aggregate.smk); pulls in every training job
    outputs += synthesis_outputs()  # class distributions + quality reports (synthesis.smk)
    return outputs


# --- classifiers: training jobs and their aggregation (train.smk, aggregate.smk) ---------

BASELINE_SCENARIOS = ("original", "oversample")  # scenarios without synthetic videos


def models_for(ds):
    """Classifiers trained on `ds`: its own `models`, else the top-level list."""
    return dataset(ds).get("models") or config["models"]


def _check_models():
    known = available_models()
    for ds in DATASETS:
        for model in models_for(ds):
            if model not in known:
                raise WorkflowError(
                    f"datasets.{ds}.models / models: unknown classifier {model!r}; available: "
                    f"{', '.join(known)} (a new one is a file in src/semaug/models/)"
                )


_check_models()


def train_gpu():
    """The `gpu` resource of a training job: `train.gpu`, where `auto` = 1 if this machine
    shows an NVIDIA GPU (checked without importing torch), else 0."""
    gpu = config["train"]["gpu"]
    if gpu != "auto":
        return gpu
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "unset") not in ("", "-1")
    return int(visible and any(Path("/dev").glob("nvidia[0-9]*")))


def train_dir(ds, k, model, scenario, s):
    return f"results/{ds}/fold{k}/{model}/{scenario}/seed{s}"


def train_metrics(ds, model=None, scenario=None):
    """metrics.json of every (fold, model, scenario, seed) job of `ds` (optionally one model /
    scenario)."""
    return [
        f"{train_dir(ds, k, m, sc, s)}/metrics.json"
        for k in fold_ids()
        for m in ([model] if model else models_for(ds))
        for sc in ([scenario] if scenario else config["scenarios"])
        for s in config["seeds"]
    ]


def sample_scenarios():
    """Scenarios that add synthetic videos (their frames are shown in the report)."""
    return [sc for sc in config["scenarios"] if sc not in BASELINE_SCENARIOS]


def aggregate_outputs():
    """Tables, confusion matrices, class distributions and sample grids: what `all` builds."""
    outputs = [f"results/tables/accuracy.{ext}" for ext in ("md", "csv", "tex", "html")]
    for ds in DATASETS:
        outputs += [
            f"results/figures/confusion/{ds}/{m}_{sc}.png"
            for m in models_for(ds)
            for sc in config["scenarios"]
        ]
        outputs.append(f"results/figures/class_distribution/{ds}.png")
        outputs += [f"results/figures/samples/{ds}_{sc}.png" for sc in sample_scenarios()]
    return outputs


# --- learned generators (generators.smk) ---------------------------------------------------
LEARNED_GENERATORS = ("monkeynet", "fomm")  # trained per fold by rule train_generator


def generator_options(gen):
    """Validated options of learned generator `gen` (fomm: its own block, Jacobians on)."""
    options = dict(config["generators"][gen])
    if gen == "fomm":
        options["first_order"] = True
    return options


def generator_threads(wildcards):
    """CPU threads of a synthesis job: a learned generator's `threads` option, else one."""
    if wildcards.gen in LEARNED_GENERATORS:
        return generator_options(wildcards.gen)["threads"]
    return 1


def generator_model(ds, k, gen):
    """The trained model.pt that generator `gen` needs for fold `k` ([] for training-free ones)."""
    if gen in LEARNED_GENERATORS:
        return [f"results/{ds}/fold{k}/generators/{gen}/model.pt"]
    return []


def generator_runtime_minutes(gen):
    """Cluster time limit of a training job: generous, about 150 iterations a minute on a GPU."""
    return 30 + config["generators"][gen]["iterations"] // 150


# --- synthesis: plans, synthetic videos, manifests, quality (synthesis.smk) ---------------
SYNTHESIS_BASELINES = ("original", "oversample", "classic")  # scenarios that are not generators
TRAINING_FREE_GENERATORS = ("landmark_warp",)
KNOWN_GENERATORS = TRAINING_FREE_GENERATORS + tuple(LEARNED_GENERATORS)


def _check_scenarios():
    for sc in config["scenarios"]:
        if sc not in SYNTHESIS_BASELINES + KNOWN_GENERATORS:
            raise WorkflowError(
                f"scenarios: unknown scenario {sc!r}; available: "
                f"{', '.join(SYNTHESIS_BASELINES + KNOWN_GENERATORS)} (a new generator is a file "
                f"in src/semaug/generators/ plus its name in common.smk)"
            )


_check_scenarios()


def generator_scenarios():
    """Configured scenarios made by a generator (they get a quality report)."""
    return [sc for sc in config["scenarios"] if sc in KNOWN_GENERATORS]


def manifest_inputs(wc):
    """What train_{scenario}.csv is built from: the folds, plus the plan or the synthetic videos."""
    inputs = {"folds": f"results/{wc.ds}/folds.csv"}
    if wc.scenario == "oversample":
        inputs["plan"] = f"results/{wc.ds}/fold{wc.k}/synthesis_plan.csv"
    elif wc.scenario != "original":
        inputs["videos"] = f"results/{wc.ds}/fold{wc.k}/synthetic/{wc.scenario}/videos.csv"
    return inputs


def synthesis_outputs():
    """Per dataset and fold: the class distribution figure and each generator's quality report."""
    return [
        path
        for ds in DATASETS
        for k in fold_ids()
        for path in [f"results/{ds}/fold{k}/class_distribution.png"]
        + [f"results/{ds}/fold{k}/synthetic/{gen}/quality.json" for gen in generator_scenarios()]
    ]
