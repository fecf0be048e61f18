"""Helpers over the workflow config (validated against workflow/schemas/config.schema.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def load_schema(path: str | Path) -> dict[str, Any]:
    with open(path) as fh:
        return yaml.safe_load(fh)


def explain_config_error(config: dict[str, Any], schema_path: str | Path) -> str:
    """One readable paragraph for the most relevant schema violation: the key's dotted path,
    what is wrong, and where the allowed keys are documented."""
    import jsonschema

    schema = load_schema(schema_path)
    validator_cls = jsonschema.validators.validator_for(schema)
    error = jsonschema.exceptions.best_match(validator_cls(schema).iter_errors(config))
    if error is None:
        return f"the config does not match {schema_path}"
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return (
        f"invalid config at `{where}`: {error.message}. "
        f"Every key, its allowed values and its default are in "
        f"workflow/schemas/{Path(schema_path).name}."
    )


class ConfigError(ValueError):
    """The config is valid against the schema but cannot run as it stands (a missing root,
    an unknown classifier or scenario, bad generator options): the message names the key."""


# Keys of the `train` block that size Snakemake jobs rather than the training itself.
_JOB_KEYS = ("threads", "gpu", "by_model")


def resolve_datasets(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each dataset's block with the defaults the schema cannot express filled in (the
    landmark source by format); the config itself is left as it is. An unknown format is a
    :class:`ConfigError` that lists the known ones."""
    from .formats import default_landmarks, format_names

    for name, ds in config["datasets"].items():
        if ds["format"] not in format_names():
            raise ConfigError(f"datasets.{name}.format: unknown format {ds['format']!r}; known: "
                              f"{', '.join(format_names())} (a new one is a module in "
                              f"src/semaug/datasets/)")
    return {name: {**ds, "landmarks": ds.get("landmarks") or default_landmarks(ds["format"])}
            for name, ds in config["datasets"].items()}


def check_roots(datasets: dict[str, dict[str, Any]]) -> None:
    """A real dataset's root must exist before any job runs (a demo root is rendered)."""
    from .formats import layout_of

    for name, ds in datasets.items():
        if "demo" in ds or Path(ds["root"]).is_dir():
            continue
        raise ConfigError(
            f"datasets.{name}.root: {ds['root']!r} does not exist. Expected a {ds['format']} "
            f"tree there: {layout_of(ds['format'], ds['root'])}. Point `root` at your "
            f"copy of the data (an absolute path works), or add `demo: {{}}` to render a demo "
            f"dataset there."
        )


def models_for(config: dict[str, Any], ds: str) -> list[str]:
    """Classifiers trained on dataset ``ds``: its own ``models``, else the top-level list."""
    return list(config["datasets"][ds].get("models") or config["models"])


def scenarios_for(config: dict[str, Any], ds: str) -> list[str]:
    """Scenarios run on dataset ``ds``: its own ``scenarios``, else the top-level list."""
    return list(config["datasets"][ds].get("scenarios") or config["scenarios"])


def all_scenarios(config: dict[str, Any]) -> list[str]:
    """Every scenario some dataset runs, in first-seen order (the tables' column order)."""
    return list(dict.fromkeys(sc for ds in config["datasets"] for sc in scenarios_for(config, ds)))


# The top-level lists that a dataset's own list overrides (models_for, scenarios_for).
PER_DATASET_LISTS = ("models", "scenarios")


def prefer_command_line_lists(config: dict[str, Any], command_line: Mapping[str, Any] | None
                              ) -> list[str]:
    """``--config models=[...]`` (or ``scenarios=[...]``) means that list on every dataset: drop
    the datasets' own lists of that key (from config files) so the top-level one applies to
    them; a dataset's list given on the command line too is kept. Returns the
    ``datasets.<name>.<key>`` entries dropped."""
    if not command_line:
        return []
    given = command_line.get("datasets") or {}
    changed = []
    for key in PER_DATASET_LISTS:
        if key not in command_line:
            continue
        for name, ds in (config.get("datasets") or {}).items():
            if isinstance(ds, dict) and ds.get(key) and key not in (given.get(name) or {}):
                del ds[key]
                changed.append(f"datasets.{name}.{key}")
    return changed


def check_models(config: dict[str, Any]) -> None:
    from .models import available_models  # lists the model files; imports no torch

    known = available_models()
    for ds in config["datasets"]:
        for model in models_for(config, ds):
            if model not in known:
                raise ConfigError(
                    f"datasets.{ds}.models / models: unknown classifier {model!r}; available: "
                    f"{', '.join(known)} (a new one is a file in src/semaug/models/)")


def check_scenarios(config: dict[str, Any]) -> None:
    """Every configured scenario is in the catalog, and every ``generators.<name>`` block fits
    the options its module declares."""
    from . import catalog

    known = catalog.scenarios()
    lists = {"scenarios": config["scenarios"]}
    lists.update({f"datasets.{name}.scenarios": ds["scenarios"]
                  for name, ds in config["datasets"].items() if ds.get("scenarios")})
    for key, names in lists.items():
        for sc in names:
            try:
                catalog.scenario(sc)
            except KeyError as err:
                raise ConfigError(f"{key}: {err.args[0]}") from None
    for name, block in (config.get("generators") or {}).items():
        if name not in known or not known[name].renders:
            rendering = [n for n, s in known.items() if s.renders]
            raise ConfigError(f"generators.{name}: no generator or augmentation of that name; "
                              f"known: {', '.join(rendering)}")
        try:
            catalog.resolve_options(name, block)
        except ValueError as err:
            raise ConfigError(str(err)) from None


def generator_options(config: dict[str, Any], gen: str) -> dict[str, Any]:
    """Resolved options of rendering scenario ``gen`` (defaults from its module)."""
    from . import catalog

    return catalog.resolve_options(gen, (config.get("generators") or {}).get(gen))


def train_settings(config: dict[str, Any], model: str, ds: str | None = None) -> dict[str, Any]:
    """The training settings of one classifier on dataset ``ds``: the ``train`` block, then its
    ``by_model[model]``, then the dataset's own ``train`` block and its ``by_model[model]``,
    without the keys that only size Snakemake jobs. A training job depends on these and nothing
    else of the config (so changing another model's or another dataset's settings reruns
    nothing)."""
    train = config.get("train") or {}
    layers = [train, (train.get("by_model") or {}).get(model, {})]
    if ds is not None:
        own = config["datasets"][ds].get("train") or {}
        layers += [own, (own.get("by_model") or {}).get(model, {})]
    settings: dict[str, Any] = {}
    for layer in layers:
        settings.update({k: v for k, v in layer.items() if k not in _JOB_KEYS})
    return settings


def train_gpu(config: dict[str, Any], visible: bool | None = None) -> int:
    """The `gpu` resource of a training job: ``train.gpu``, where ``auto`` = 1 when this
    machine shows an NVIDIA GPU (asked without importing torch), else 0."""
    from .devices import gpu_visible

    gpu = config["train"]["gpu"]
    if gpu != "auto":
        return int(gpu)
    return int(gpu_visible() if visible is None else visible)


def train_runtime_minutes(settings: dict[str, Any]) -> int:
    """Cluster time limit of a training job: generous for its own epochs on a GPU."""
    return 20 + 2 * int(settings["epochs"])


def generator_training_options(config: dict[str, Any], gen: str) -> dict[str, Any]:
    """What the training job of learned generator ``gen`` depends on: its resolved options
    without the synthesis-only ones (a new transfer mode re-renders, it does not retrain)."""
    from . import catalog

    return catalog.training_options(gen, (config.get("generators") or {}).get(gen))


def generator_runtime_minutes(options: dict[str, Any]) -> int:
    """Cluster time limit of a generator training job: about 150 iterations a minute on a GPU."""
    return 30 + int(options["iterations"]) // 150


# The synthesis settings a quality job measures with.
QUALITY_MEASURES = ("instrument", "measure_frames", "aed_frames", "ref_videos", "fidelity_frames")


def quality_measures(config: dict[str, Any]) -> dict[str, Any]:
    """The ``synthesis`` settings a synthesis-quality job measures with."""
    return {key: config["synthesis"][key] for key in QUALITY_MEASURES}


def instrument_installed(config: dict[str, Any], dlib_installed: bool | None = None) -> str:
    """What ``synthesis.instrument: auto`` can choose from on this machine: ``dlib`` when dlib
    and its model files are installed, else ``ridge regressor only``; ``""`` for a pinned
    instrument. A quality job's param: installing or removing dlib reruns the jobs that
    ``auto`` would now measure differently, and nothing else. (Whether dlib also finds the
    faces is the job's decision, from its input.)"""
    if config["synthesis"]["instrument"] != "auto":
        return ""
    if dlib_installed is None:
        from .dlib_models import dlib_available

        dlib_installed = dlib_available() is None
    return "dlib" if dlib_installed else "ridge regressor only"


def check_face_size(config: dict[str, Any]) -> None:
    """The aligned crops (``faces.size``) must be at least as large as every classifier's input
    (``train.image_size`` after ``by_model``): smaller crops would be blown up, and the model
    would learn the blur of the resize."""
    size = (config.get("faces") or {}).get("size")
    if size is None:
        return
    for ds in config["datasets"]:
        for model in models_for(config, ds):
            wanted = train_settings(config, model, ds).get("image_size")
            if wanted is not None and int(wanted) > int(size):
                raise ConfigError(
                    f"faces.size: {size} px crops are too small for {model} "
                    f"(train.image_size {wanted} for dataset {ds}); raise faces.size to at "
                    f"least {wanted} or lower train.image_size / train.by_model.{model}.image_size"
                    f" / datasets.{ds}.train")


def check_config(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Everything the Snakefile checks after schema validation; returns the resolved
    datasets. Raises :class:`ConfigError` with the key and the fix."""
    datasets = resolve_datasets(config)
    check_roots(datasets)
    check_models(config)
    check_scenarios(config)
    check_face_size(config)
    return datasets
