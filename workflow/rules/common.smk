# Config validation, wildcards, path helpers and input functions. The facts they use live in
# the library: the results layout (semaug.layout), the scenario catalog (semaug.catalog), the
# config checks and defaults (semaug.config), the code each job runs (semaug.provenance).
import os
import re

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from semaug import catalog, layout
from semaug.allocator import allocator_defaults
from semaug import config as semaug_config
from semaug.models import available_models  # lists model files; imports no torch
from semaug.provenance import code_version

CONFIG_SCHEMA = os.path.normpath(
    os.path.join(workflow.current_basedir, "../schemas/config.schema.yaml")
)
# A dataset's own `models` and `scenarios` lists override the top-level ones, except that
# `--config models=[...]` (or `scenarios=[...]`) on the command line is meant for every
# dataset (the demo's included).
semaug_config.prefer_command_line_lists(config, workflow.config_settings.config)
try:
    validate(config, schema=CONFIG_SCHEMA)
except WorkflowError as err:
    # Snakemake's message dumps the whole schema; lead with the key path and the fix.
    raise WorkflowError(
        semaug_config.explain_config_error(config, CONFIG_SCHEMA)
    ) from err
try:
    DATASETS = semaug_config.check_config(config)
except semaug_config.ConfigError as err:
    raise WorkflowError(str(err)) from None

# envs/semaug.post-deploy.sh installs this checkout into the conda env of `--sdm conda`.
os.environ.setdefault("SEMAUG_SRC", workflow.basedir)
# Jobs inherit this environment: glibc keeps freed tensor memory instead of returning it to
# the kernel every training step (semaug.allocator).
os.environ.update(allocator_defaults(os.environ))
# Every scenario some dataset runs (a dataset's own list, else the top-level one).
SCENARIOS = {
    name: catalog.scenario(name) for name in semaug_config.all_scenarios(config)
}


def _alternatives(names):
    """A wildcard constraint matching exactly ``names`` (and nothing when there are none)."""
    return "|".join(map(re.escape, names)) or "^$"


wildcard_constraints:
    ds=_alternatives(DATASETS),
    k=r"\d+",
    s=r"\d+",
    shard=r"\d+",
    model=_alternatives(available_models()),
    scenario=_alternatives(catalog.scenario_names()),
    gen=_alternatives(
        catalog.scenario_names(catalog.GENERATOR)
        + catalog.scenario_names(catalog.AUGMENTATION)
    ),


# --- paths (PyPSA-Eur style): the layout's templates under results/, logs/, benchmarks ---


def results(template, **wildcards):
    """``results/<template>``; the wildcards given are filled in, the others stay wildcards."""
    return layout.path(template, **wildcards)


def logs(name):
    return f"{layout.LOGS}/{name}.log"


def benchmarks(name):
    """The benchmark file beside a log: logs/<name>.log <-> results/benchmarks/<name>.tsv."""
    return f"{layout.BENCHMARKS}/{name}.tsv"


def code(*modules):
    """Hash of the library code a job runs, for its `params`: editing that code reruns the job."""
    return code_version(*modules)


# --- datasets -------------------------------------------------------------------------------


def dataset(ds):
    """The validated config block of dataset `ds` (defaults filled in)."""
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


def demo_of_root(root):
    return dataset(demo_by_root()[os.path.normpath(root)])


def index_settings(ds):
    """What the index of `ds` depends on (its params): not the dataset's models or demo knobs."""
    block = dataset(ds)
    return {
        key: block.get(key)
        for key in ("format", "root", "classes", "subject_regex", "landmarks")
    }


def crop_threads(ds):
    """A crop job's cores: dlib's worker processes, else one."""
    return (
        config["faces"]["dlib"]["threads"] if dataset(ds)["landmarks"] == "dlib" else 1
    )


def face_shards(ds):
    return [
        results(layout.FACE_SHARD, ds=ds, shard=i)
        for i in range(config["faces"]["shards"])
    ]


def fold_ids():
    return range(config["folds"])


# --- classifiers ------------------------------------------------------------------------------


def models_for(ds):
    """Classifiers trained on `ds`: its own `models`, else the top-level list."""
    return semaug_config.models_for(config, ds)


def scenarios_for(ds):
    """Scenarios run on `ds`: its own `scenarios`, else the top-level list."""
    return semaug_config.scenarios_for(config, ds)


def train_dataset(ds):
    """What a training job needs of its dataset: the class order and the MobileNet head."""
    block = dataset(ds)
    return {
        key: block[key]
        for key in ("format", "classes", "mobilenet_head")
        if key in block
    }


def train_settings(ds, model):
    return semaug_config.train_settings(config, model, ds)


def train_metrics(ds, model=None, scenario=None, template=layout.TRAIN_METRICS):
    """metrics.json (or another `template` file) of every (fold, model, scenario, seed) job of
    `ds` (optionally one model / scenario)."""
    return [
        results(template, ds=ds, k=k, model=m, scenario=sc, s=s)
        for k in fold_ids()
        for m in ([model] if model else models_for(ds))
        for sc in ([scenario] if scenario else scenarios_for(ds))
        for s in config["seeds"]
    ]


def train_predictions(ds):
    """predictions.csv of the same jobs as train_metrics(ds)."""
    return train_metrics(ds, template=layout.TRAIN_PREDICTIONS)


def all_folds_tables():
    return [results(layout.FOLDS, ds=ds) for ds in DATASETS]


def all_class_counts():
    return [
        results(layout.CLASS_COUNTS, ds=ds, k=k) for ds in DATASETS for k in fold_ids()
    ]


def rendering_scenarios(ds=None):
    """Configured scenarios (of `ds`, else of any dataset) that add rendered videos: their
    frames are shown in the report and each gets a quality report (classic: identity and
    expression fidelity only)."""
    names = scenarios_for(ds) if ds else SCENARIOS
    return [name for name in names if SCENARIOS[name].renders]


def quality_reference(ds, k):
    """The fold's shared dlib measures of its real videos ([] when the ridge regressor is
    pinned: it costs nothing to repeat)."""
    if config["synthesis"]["instrument"] == "ridge_regressor":
        return []
    return [results(layout.QUALITY_REFERENCE, ds=ds, k=k)]


def quality_reports(ds):
    return [
        results(layout.QUALITY, ds=ds, k=k, gen=gen)
        for k in fold_ids()
        for gen in rendering_scenarios(ds)
    ]


def manifests(ds, k):
    return [
        results(layout.MANIFEST, ds=ds, k=k, scenario=sc) for sc in scenarios_for(ds)
    ]


# --- rendering scenarios: generators and augmentation ----------------------------------------


def generator_options(gen):
    """Resolved options of `gen` (its module's defaults + the config's block)."""
    return semaug_config.generator_options(config, gen)


def generator_training_options(gen):
    """The options a generator's training job depends on (its `params`): no synthesis-only ones."""
    return semaug_config.generator_training_options(config, gen)


def generator_threads(wildcards):
    """CPU threads of a generator's training or rendering job: its `threads` option, else one."""
    return generator_options(wildcards.gen).get("threads", 1)


def is_learned(gen):
    return catalog.scenario(gen).learned


def learned_generators():
    return [
        name for name in catalog.scenario_names(catalog.GENERATOR) if is_learned(name)
    ]


def generator_model(ds, k, gen):
    """The trained model.pt that `gen` needs for fold `k` ([] for training-free ones)."""
    return (
        [results(layout.GENERATOR_MODEL, ds=ds, k=k, gen=gen)]
        if is_learned(gen)
        else []
    )


def generator_code(gen, *modules):
    """Hash of the library code of a rendering job, the generator's own module included."""
    return code(catalog.scenario(gen).module, *modules)


def manifest_inputs(wc):
    """What train_{scenario}.csv is built from: the folds, plus the plan (oversample) or the
    rendered videos."""
    inputs = {"folds": results(layout.FOLDS, ds=wc.ds)}
    needs = catalog.scenario(wc.scenario).manifest_input
    if needs == "videos":
        inputs["videos"] = results(layout.VIDEOS, ds=wc.ds, k=wc.k, gen=wc.scenario)
    elif needs == "plan":
        inputs["plan"] = results(layout.PLAN, ds=wc.ds, k=wc.k)
    return inputs


# --- what `all` builds --------------------------------------------------------------------------


def aggregate_outputs():
    """Tables, confusion matrices, class distributions and sample grids."""
    tables = [
        (layout.ACCURACY_TABLE, ("md", "csv", "tex", "html")),
        (layout.DELTA_TABLE, ("md", "csv", "tex", "html")),
        (layout.CLASS_RECALL_TABLE, ("md", "csv", "html")),
    ]
    outputs = [results(table, ext=ext) for table, exts in tables for ext in exts]
    for ds in DATASETS:
        outputs += [
            results(layout.DELTA_FIGURE, ds=ds),
            results(layout.CLASS_DELTA_FIGURE, ds=ds),
        ]
        outputs += [
            results(layout.CONFUSION_FIGURE, ds=ds, model=m, scenario=sc)
            for m in models_for(ds)
            for sc in scenarios_for(ds)
        ]
        outputs.append(results(layout.CLASS_DISTRIBUTION_FIGURE, ds=ds))
        outputs += [
            results(layout.SAMPLES_FIGURE, ds=ds, scenario=sc)
            for sc in rendering_scenarios(ds)
        ]
    return outputs


def synthesis_outputs():
    """Per dataset: each fold's class distribution figure, and the quality table over every
    rendering scenario and fold (which pulls in their quality reports)."""
    outputs = [
        results(layout.FOLD_CLASS_FIGURE, ds=ds, k=k)
        for ds in DATASETS
        for k in fold_ids()
    ]
    outputs += [
        results(layout.QUALITY_TABLE, ds=ds)
        for ds in DATASETS
        if rendering_scenarios(ds)
    ]
    return outputs


def final_outputs():
    outputs = []
    for ds in DATASETS:
        outputs.append(results(layout.FOLDS, ds=ds))
        if "demo" in dataset(ds):
            outputs.append(results(layout.DEMO_SHEET, ds=ds))
    return outputs + aggregate_outputs() + synthesis_outputs()
