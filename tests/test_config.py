import copy
import inspect
import re

import pytest
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from semaug import config as semaug_config
from semaug.config import ConfigError, explain_config_error
from semaug.devices import gpu_visible


@pytest.fixture
def demo(demo_config, schema_path):
    """The demo config with the schema's defaults filled in, as the Snakefile sees it."""
    config = copy.deepcopy(demo_config)
    validate(config, schema=schema_path)
    return config


def test_demo_config_is_valid_and_defaults_are_filled(demo):
    config = demo
    assert config["fold_seed"] == 0
    assert config["faces"]["max_missing"] == 0.2
    assert config["datasets"]["ck_demo"]["subject_regex"]
    assert config["datasets"]["mug_demo"]["landmarks"] == "dataset"


def test_landmark_backend_defaults_by_format():
    from semaug.formats import default_landmarks

    assert default_landmarks("ckplus") == "dataset"
    assert default_landmarks("folder") == "face_alignment"


def test_minimal_user_config_gets_all_defaults(schema_path):
    config = {"datasets": {"mine": {"format": "folder", "root": "/data/videos"}}}
    validate(config, schema=schema_path)
    assert config["folds"] == 5 and config["seeds"] == [0]
    assert "landmarks" not in config["datasets"]["mine"]  # filled per format by the Snakefile
    assert config["faces"]["size"] == 64


@pytest.mark.parametrize(
    "mutate, where, what",
    [
        (lambda c: c["datasets"]["ck_demo"].update(landmark="dataset"), "datasets.ck_demo",
         "'landmark' was unexpected"),
        (lambda c: c.update(folds="five"), "folds", "not of type 'integer'"),
        (lambda c: c["faces"].update(size=4), "faces.size", "less than the minimum"),
        (lambda c: c.update(colour="red"), "(top level)", "'colour' was unexpected"),
    ],
)
def test_bad_config_names_the_key(mutate, where, what, demo_config, schema_path):
    config = copy.deepcopy(demo_config)
    mutate(config)
    with pytest.raises(WorkflowError):
        validate(copy.deepcopy(config), schema=schema_path)
    message = explain_config_error(config, schema_path)
    assert f"`{where}`" in message and what in message


def test_the_demo_passes_the_checks_after_the_schema(demo):
    datasets = semaug_config.check_config(demo)
    assert set(datasets) == {"ck_demo", "mug_demo"}
    assert all(ds["landmarks"] == "dataset" for ds in datasets.values())


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c["datasets"]["ck_demo"].update(format="avi"),
         "datasets.ck_demo.format: unknown format 'avi'; known: ckplus, folder, mug"),
        (lambda c: c["datasets"]["ck_demo"].update(models=["cnn", "vgg"]),
         "unknown classifier 'vgg'"),
        (lambda c: c.update(scenarios=["original", "stylegan"]),
         "scenarios: unknown scenario 'stylegan'"),
        (lambda c: c.update(generators={"landmark_warp": {"lamda": 1}}),
         "generators.landmark_warp.lamda: unknown option"),
        (lambda c: c.update(generators={"classic": {"flip_p": "often"}}),
         "generators.classic.flip_p: expected float"),
        (lambda c: c.update(generators={"oversample": {}}),
         "generators.oversample: no generator or augmentation of that name"),
        (lambda c: c["datasets"].update(real={"format": "mug", "root": "/nowhere/mug"}),
         "datasets.real.root: '/nowhere/mug' does not exist"),
    ],
)
def test_checks_after_the_schema_name_the_key(demo, mutate, message):
    mutate(demo)
    with pytest.raises(ConfigError) as err:
        semaug_config.check_config(demo)
    assert message in str(err.value)


def test_dataset_defaults_do_not_rewrite_the_config(schema_path):
    config = {"datasets": {"v": {"format": "folder", "root": "."}, "c": {"format": "ckplus", "root": "."}}}
    validate(config, schema=schema_path)
    resolved = semaug_config.resolve_datasets(config)
    assert resolved["v"]["landmarks"] == "face_alignment" and resolved["c"]["landmarks"] == "dataset"
    assert "landmarks" not in config["datasets"]["v"]


def test_auto_instrument_is_resolved_by_what_is_installed(demo):
    demo["synthesis"]["instrument"] = "auto"
    with_dlib = semaug_config.instrument_installed(demo, dlib_installed=True)
    without = semaug_config.instrument_installed(demo, dlib_installed=False)
    assert (with_dlib, without) == ("dlib", "ridge regressor only")
    for pinned in ("dlib", "ridge_regressor"):  # a pinned choice does not depend on the machine
        demo["synthesis"]["instrument"] = pinned
        assert {semaug_config.instrument_installed(demo, dlib_installed=b) for b in (True, False)} == {""}
    assert semaug_config.quality_measures(demo)["instrument"] == "ridge_regressor"
    # the rule passes them as keywords to quality_file: each must be one of its parameters
    from semaug.synthesis.quality import quality_file

    keywords = inspect.signature(quality_file).parameters
    assert set(semaug_config.quality_measures(demo)) <= set(keywords)


def test_a_training_job_sees_only_its_own_models_settings(demo):
    cnn, mobilenet = (semaug_config.train_settings(demo, m) for m in ("cnn", "mobilenet"))
    assert cnn["image_size"] == demo["train"]["by_model"]["cnn"]["image_size"]
    assert "by_model" not in cnn and "threads" not in cnn and "gpu" not in cnn
    demo["train"]["by_model"]["mobilenet"]["epochs"] = 99
    assert semaug_config.train_settings(demo, "cnn") == cnn  # another model's change: no effect
    assert semaug_config.train_settings(demo, "mobilenet")["epochs"] == 99 != mobilenet["epochs"]
    assert semaug_config.train_runtime_minutes({"epochs": 50}) == 120


def test_a_datasets_own_training_settings_apply_to_it_alone(demo, schema_path):
    """datasets.<ds>.train overrides the top-level block and its by_model for that dataset;
    its own by_model comes last."""
    top = semaug_config.train_settings(demo, "mobilenet")
    assert semaug_config.train_settings(demo, "mobilenet", "ck_demo") == top  # none of its own
    demo["datasets"]["mug_demo"]["train"] = {"epochs": 7, "lr": 0.5,
                                             "by_model": {"mobilenet": {"epochs": 25}}}
    validate(demo, schema=schema_path)
    mug = semaug_config.train_settings(demo, "mobilenet", "mug_demo")
    assert mug == {**top, "epochs": 25, "lr": 0.5}  # dataset over by_model, its by_model last
    assert semaug_config.train_settings(demo, "cnn", "mug_demo")["epochs"] == 7
    assert semaug_config.train_settings(demo, "mobilenet", "ck_demo") == top
    for bad in ({"threads": 2}, {"by_model": {"mobilenet": {"epoch": 3}}}):
        demo["datasets"]["mug_demo"]["train"] = bad  # job sizing stays global; typos stop
        with pytest.raises(WorkflowError):
            validate(copy.deepcopy(demo), schema=schema_path)


def test_command_line_models_apply_to_every_dataset(demo):
    assert semaug_config.models_for(demo, "ck_demo") == demo["datasets"]["ck_demo"]["models"]
    assert semaug_config.prefer_command_line_lists(demo, {"train": {"epochs": 1}}) == []
    assert demo["datasets"]["ck_demo"].get("models")  # no `models` on the command line: kept
    demo["models"] = ["cnn_lstm", "r2plus1d"]  # what Snakemake merged in from --config
    demo["datasets"]["mug_demo"]["models"] = ["resnet50"]
    command_line = {"models": ["cnn_lstm", "r2plus1d"],
                    "datasets": {"mug_demo": {"models": ["resnet50"]}}}
    assert semaug_config.prefer_command_line_lists(demo, command_line) == ["datasets.ck_demo.models"]
    assert semaug_config.models_for(demo, "ck_demo") == ["cnn_lstm", "r2plus1d"]
    assert semaug_config.models_for(demo, "mug_demo") == ["resnet50"]  # named there too: kept


def test_a_dataset_runs_its_own_scenarios(demo):
    """ck_demo names its own scenarios (Monkey-Net on it only); mug_demo takes the top-level
    list; the tables' columns are the union in first-seen order; --config scenarios=[...]
    applies to every dataset, as --config models=[...] does."""
    ck, mug = (semaug_config.scenarios_for(demo, ds) for ds in ("ck_demo", "mug_demo"))
    assert "monkeynet" in ck and "monkeynet" not in mug
    assert mug == demo["scenarios"] and set(mug) < set(ck)
    assert semaug_config.all_scenarios(demo) == ck  # mug's are a subset, in the same order
    demo["datasets"]["mug_demo"]["scenarios"] = ["original", "oversample", "median_blur"]
    with pytest.raises(semaug_config.ConfigError, match=r"datasets\.mug_demo\.scenarios: .*median_blur"):
        semaug_config.check_scenarios(demo)
    demo["datasets"]["mug_demo"]["scenarios"] = ["original", "oversample"]
    assert semaug_config.all_scenarios(demo) == ck
    demo["scenarios"] = ["original", "classic"]
    dropped = semaug_config.prefer_command_line_lists(demo, {"scenarios": ["original", "classic"]})
    assert dropped == ["datasets.ck_demo.scenarios", "datasets.mug_demo.scenarios"]
    assert all(semaug_config.scenarios_for(demo, ds) == ["original", "classic"] for ds in ("ck_demo", "mug_demo"))


@pytest.mark.slow
def test_config_models_on_the_command_line_reach_the_demo_datasets(tmp_path, snakemake_run, repo):
    """The demo's datasets name their own models; `--config models=[...]` still trains exactly
    the models it names, on both of them."""
    result = snakemake_run(tmp_path, "-n", "--config", "models=[cnn_lstm,r2plus1d]",
                           "--configfile", str(repo / "config" / "config.yaml"), timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    trained = set(re.findall(r"results/(\w+)/fold\d+/(\w+)/\w+/seed\d+/metrics\.json",
                             result.stdout + result.stderr))
    assert {m for _, m in trained} == {"cnn_lstm", "r2plus1d"}
    assert {d for d, _ in trained} == {"ck_demo", "mug_demo"}


@pytest.mark.slow
def test_the_demo_trains_monkeynet_on_ck_demo_only(tmp_path, snakemake_run, repo):
    """ck_demo's own scenarios bring Monkey-Net's generator, synthesis and classifier jobs to
    ck_demo only; `--config scenarios=[...]` on the command line replaces both datasets' lists."""
    config = str(repo / "config" / "config.yaml")
    result = snakemake_run(tmp_path, "-n", "--configfile", config, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    pattern = r"results/(\w+)/fold(\d+)/(\w+)/(\w+)/seed\d+/metrics\.json"
    runs = set(re.findall(pattern, out))
    assert {(d, k, m) for d, k, m, sc in runs if sc == "monkeynet"} == {
        ("ck_demo", k, m) for k in "01" for m in ("cnn", "mobilenet")}
    generators = set(re.findall(r"results/(\w+)/fold(\d)/generators/monkeynet/model\.pt", out))
    assert generators == {("ck_demo", "0"), ("ck_demo", "1")}
    assert "figures/confusion/ck_demo/cnn_monkeynet.png" in out
    assert "figures/confusion/mug_demo/mobilenet_monkeynet.png" not in out

    result = snakemake_run(tmp_path, "-n", "--configfile", config, "--config",
                           "scenarios=[original,oversample]", timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert {sc for *_, sc in re.findall(pattern, out)} == {"original", "oversample"}
    assert "train_generator" not in out


def test_gpu_resource_follows_the_device_nodes(tmp_path, demo):
    assert not gpu_visible(tmp_path, environ={})
    (tmp_path / "nvidia0").touch()
    assert gpu_visible(tmp_path, environ={})
    assert not gpu_visible(tmp_path, environ={"CUDA_VISIBLE_DEVICES": ""})
    assert not gpu_visible(tmp_path, environ={"CUDA_VISIBLE_DEVICES": "-1"})
    demo["train"]["gpu"] = "auto"
    assert semaug_config.train_gpu(demo, visible=True) == 1
    assert semaug_config.train_gpu(demo, visible=False) == 0
    demo["train"]["gpu"] = 1
    assert semaug_config.train_gpu(demo, visible=False) == 1


@pytest.mark.slow
def test_snakemake_stops_on_bad_config_before_any_job(tmp_path, snakemake_run):
    (tmp_path / "bad.yaml").write_text(
        "datasets:\n  ck: {format: ckplus, root: /nowhere, landmark: dataset}\n")
    result = snakemake_run(tmp_path, "-n", "--configfile", str(tmp_path / "bad.yaml"))
    assert result.returncode != 0
    assert "invalid config at `datasets.ck`" in result.stderr + result.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_missing_root_says_what_was_expected(tmp_path, snakemake_run):
    (tmp_path / "mine.yaml").write_text(
        "datasets:\n  mug: {format: mug, root: /nowhere/mug}\n")
    result = snakemake_run(tmp_path, "-n", "--configfile", str(tmp_path / "mine.yaml"))
    out = result.stderr + result.stdout
    assert result.returncode != 0
    assert "datasets.mug.root" in out and "subjects3/<subject>/[session<N>/]<expression>" in out


def test_schema_defaults_of_faces_dlib_are_the_backends_own(schema_path):
    import dataclasses

    from semaug.faces.dlib_landmarks import DlibOptions

    config = {"datasets": {"mine": {"format": "mug", "root": ".", "landmarks": "dlib"}}}
    validate(config, schema=schema_path)
    assert config["faces"]["dlib"] == dataclasses.asdict(DlibOptions())


@pytest.mark.slow
@pytest.mark.parametrize("overlay,jobs", [("demo_monkeynet.yaml", "mug_demo/fold0/generators/monkeynet/model.pt"),
                                          ("demo_full.yaml", "resnet50")])
def test_shipped_config_overlays_dry_run(tmp_path, snakemake_run, repo, overlay, jobs):
    """The config files the README tells people to add to the demo pass the schema (and the
    generators' own option checks) and plan their extra jobs."""
    result = snakemake_run(tmp_path, "-n", "--configfile", str(repo / "config" / "config.yaml"),
                           str(repo / "config" / overlay), timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert jobs in out
