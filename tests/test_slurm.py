"""Profiles, and the tiny demo run end to end on a real single-node SLURM (`slurm` marker).

The SLURM test brings a cluster up on this host (tests/slurm_cluster.py): it runs in CI
(`CI=true`) or when `SEMAUG_SLURM_TEST=1`, needs root, and installs Debian's SLURM packages when
they are missing. Everything else here is fast and runs everywhere.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import REPO, SCHEMA, SNAKEMAKE, run_snakemake

SLURM_PROFILE = REPO / "profiles" / "slurm"
DEFAULT_PROFILE = REPO / "profiles" / "default" / "config.yaml"
# Hard ceiling for the workflow run on the test cluster (`timeout -k`): the run cannot hang even
# if job status checks went wrong. The tiny run (14 cluster jobs, 16 local ones) took 5-6 minutes
# on a shared 2-core machine under a load of 6-8.
SLURM_RUN_TIMEOUT = int(os.environ.get("SEMAUG_SLURM_TIMEOUT", "900"))

# The smallest config that still walks every stage: one CK+-layout demo dataset with a few
# subjects and small frames, 2 folds, one classifier, one epoch, small crops. Optional keys are
# only used when the schema defines them (stages land one by one).
TINY_DEMO = {"subjects": 8, "seed": 0, "width": 96, "height": 96, "min_frames": 6, "max_frames": 10}
TINY_TRAIN = {"epochs": 1, "batch_size": 16, "pretrained": "none", "image_size": 24, "frames": 2,
              "threads": 1, "device": "cpu"}


def tiny_config() -> dict:
    props = yaml.safe_load(SCHEMA.read_text())["properties"]
    demo_keys = (props["datasets"]["additionalProperties"]["properties"]["demo"]
                 .get("properties", {}))
    train_keys = props.get("train", {}).get("properties", {})
    config = {
        "datasets": {"tiny": {
            "format": "ckplus", "root": "results/demo/tiny", "landmarks": "dataset",
            "demo": {k: v for k, v in TINY_DEMO.items() if k in demo_keys}}},
        "folds": 2,
        "seeds": [0],
        "models": ["cnn"],
        "faces": {"size": 32, "shards": 2},
        "train": {k: v for k, v in TINY_TRAIN.items() if k in train_keys},
    }
    # original + the training-free generator: the synthesis stage runs, nothing is learned
    scenarios = props["scenarios"].get("default", ["original"])
    config["scenarios"] = [s for s in ("original", "landmark_warp") if s in scenarios]
    return config


# --------------------------------------------------------------------------- profiles (fast)
def parse_profile(path: Path, argv: list[str], monkeypatch) -> dict:
    from snakemake.profiles import ProfileConfigFileParser

    monkeypatch.setattr(sys, "argv", ["snakemake", *argv])
    monkeypatch.delenv("SNAKEMAKE_PROFILE", raising=False)
    with open(path) as stream:
        return dict(ProfileConfigFileParser().parse(stream))


def test_default_profile_sets_local_limits_for_local_runs(monkeypatch):
    for argv in ([], ["-n", "--cores", "2"], ["--executor", "local"], ["--profile", "elsewhere"]):
        keys = parse_profile(DEFAULT_PROFILE, argv, monkeypatch)
        assert "gpu=1" in keys["resources"], argv
        assert any(r.startswith("mem_mb=") for r in keys["resources"])
        assert keys["cores"] == "all" and keys["rerun-incomplete"] == "True"
        assert "mem_mb=2000" in keys["default-resources"]


@pytest.mark.parametrize("argv", [["--profile", str(SLURM_PROFILE)], [f"--profile={SLURM_PROFILE}"],
                                  ["-e", "slurm"], ["--executor=slurm"], ["--executor", "slurm-jobstep"]])
def test_default_profile_leaves_cluster_runs_alone(argv, monkeypatch):
    # A workflow profile overrides `--profile` key by key: a local gpu=1 limit or cores/default
    # resources would otherwise serialise GPU jobs cluster-wide and hide the cluster defaults.
    keys = parse_profile(DEFAULT_PROFILE, argv, monkeypatch)
    assert not {"resources", "cores", "default-resources", "latency-wait"} & set(keys), argv
    assert keys["rerun-incomplete"] == "True"


def test_slurm_profile_names_the_executor_and_defaults(monkeypatch):
    keys = parse_profile(SLURM_PROFILE / "config.yaml", [], monkeypatch)
    assert keys["executor"] == "slurm"
    assert int(keys["jobs"]) >= 10
    resources = dict(r.split("=", 1) for r in keys["default-resources"])
    assert {"mem_mb", "runtime"} <= set(resources)
    assert "resources" not in keys  # no cluster-wide gpu limit
    text = (SLURM_PROFILE / "config.yaml").read_text()
    assert "slurm_partition" in text and "slurm-status-command" in text


def test_cpu_jobs_get_no_gpu_flag_from_the_plugin():
    """crop_faces declares gpu=0 for `landmarks: dataset`: no --gpus flag, not --gpus=0."""
    utils = pytest.importorskip("snakemake_executor_plugin_slurm.utils")

    class Resources(dict):
        __getattr__ = dict.__getitem__

    for gpu, flag in ((0, ""), (1, " --gpus=1")):
        job = SimpleNamespace(resources=Resources(gpu=gpu))
        assert utils.set_gres_string(job) == flag


def planned_jobs(output: str) -> list[dict]:
    """Jobs as Snakemake printed them: rule, local or not (only a real run prints `localrule`;
    a dry run prints `rule` for both), wildcards and the resources Snakemake gave them."""
    jobs, current = [], None
    for line in output.splitlines():
        m = re.match(r"^(local)?rule (\w+):$", line.strip())
        if m:
            current = {"rule": m.group(2), "local": bool(m.group(1)), "resources": {}}
            jobs.append(current)
        elif current is not None and line.strip().startswith("threads:"):
            current["threads"] = int(line.split(":", 1)[1])
        elif current is not None and line.strip().startswith("resources:"):
            current["resources"] = dict(
                kv.strip().split("=", 1) for kv in line.split(":", 1)[1].split(",") if "=" in kv)
    return jobs


def dry_run_jobs(workdir: Path, *args: str) -> list[dict]:
    result = run_snakemake(workdir, "-n", *args, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return planned_jobs(result.stdout + "\n" + result.stderr)


@pytest.mark.slow
def test_slurm_profile_dry_run_keeps_rule_resources(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny_config()))
    jobs = dry_run_jobs(tmp_path, "--configfile", str(tmp_path / "tiny.yaml"),
                        "--profile", str(SLURM_PROFILE))
    assert jobs
    for job in jobs:
        res = job["resources"]
        assert "mem_mb" in res and "runtime" in res, job
    # the local default resources of profiles/default did not leak into the cluster run: rule
    # `all` declares none and gets the slurm profile's (threads are checked on the real run: a
    # dry run shows them capped at one core whatever the profile)
    assert {j["resources"]["mem_mb"] for j in jobs if j["rule"] == "all"} == {"4000"}
    assert {j["resources"].get("gpu") for j in jobs if j["rule"] == "train"} == {"1"}
    crop = [j for j in jobs if j["rule"] == "crop_faces"]
    assert crop and all(int(j["resources"].get("gpu", 0)) == 0 for j in crop)


@pytest.mark.slow
def test_default_profile_caps_threads_for_local_runs(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny_config()))
    jobs = dry_run_jobs(tmp_path, "--configfile", str(tmp_path / "tiny.yaml"),
                        "--set-threads", "train=64")
    assert {j.get("threads") for j in jobs if j["rule"] == "train"} == {min(64, os.cpu_count())}
    assert {j["resources"]["mem_mb"] for j in jobs if j["rule"] == "all"} == {"2000"}


# --------------------------------------------------------------------------- real SLURM
def slurm_requested() -> str | None:
    """Why the SLURM test is skipped here, or None when it should run."""
    if os.environ.get("CI", "").lower() != "true" and os.environ.get("SEMAUG_SLURM_TEST") != "1":
        return "real-SLURM test: runs in CI (CI=true) or with SEMAUG_SLURM_TEST=1"
    if os.geteuid() != 0:
        return "real-SLURM test needs root (it installs and starts slurmctld/slurmd/munged)"
    if not Path("/etc/debian_version").exists():
        return "real-SLURM test installs Debian packages; not a Debian system"
    return None


@pytest.fixture(scope="module")
def slurm_cluster():
    why = slurm_requested()
    if why:
        pytest.skip(why)
    from slurm_cluster import SlurmCluster, ensure_installed

    ensure_installed()
    cluster = SlurmCluster(Path(os.environ.get("SEMAUG_SLURM_ROOT", "/tmp/semaug-slurm-test")))
    cluster.start()  # stops daemons left by a killed earlier session (by their recorded PIDs)
    try:
        yield cluster
    finally:
        cluster.stop()  # by PID, also when the test failed


@pytest.mark.slurm
@pytest.mark.slow
def test_tiny_demo_runs_on_slurm(slurm_cluster, tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config()))
    cmd = ["timeout", "-k", "15", str(SLURM_RUN_TIMEOUT), SNAKEMAKE,
           "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(config), "--profile", str(SLURM_PROFILE), "--jobs", "4",
           # no accounting database on the test cluster: squeue + MinJobAge=600 (slurm.conf)
           "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2"]
    env = dict(slurm_cluster.env, PYTHONUNBUFFERED="1")
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=SLURM_RUN_TIMEOUT + 60)
    elapsed = time.monotonic() - start
    out = proc.stdout + "\n" + proc.stderr
    context = (f"rc={proc.returncode} after {elapsed:.0f}s\n{out[-6000:]}\n"
               f"{slurm_logs(tmp_path)}\n{slurm_cluster.logs()}")
    assert proc.returncode not in (124, 137), f"timed out (the SLURM status trap?)\n{context}"
    assert proc.returncode == 0, context

    # the outputs: every target of `all` built (the accuracy table included), nothing left to do
    again = run_snakemake(tmp_path, "-n", "--configfile", str(config), timeout=300)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]
    folds = (tmp_path / "results/tiny/folds.csv").read_text().splitlines()
    assert "fold" in folds[0].split(",") and len(folds) > 10
    table = tmp_path / "results/tables/accuracy.md"
    assert table.exists() and "cnn" in table.read_text()

    # what SLURM was asked for (scontrol keeps finished jobs for MinJobAge=600 s)
    ran = planned_jobs(out)
    remote = [j for j in ran if not j["local"]]
    local_rules = {j["rule"] for j in ran if j["local"]}
    assert "accuracy_table" in local_rules, "the cheap aggregate rules run on the submit host"
    submitted = [j for j in slurm_cluster.jobs() if j.get("Comment", "").startswith("rule_")]
    assert len(submitted) == len(remote), (
        f"{len(submitted)} SLURM jobs for {len(remote)} non-local jobs\n{context}")
    gpu_jobs = 0
    for job in submitted:
        rule = next(r for r in sorted({j["rule"] for j in remote}, key=len, reverse=True)
                    if job["Comment"] == f"rule_{r}" or job["Comment"].startswith(f"rule_{r}_wildcards_"))
        assert rule not in local_rules and job["JobState"] == "COMPLETED", job
        wanted = {int(j["resources"].get("gpu", 0)) for j in remote if j["rule"] == rule}
        gpus = re.search(r"gpu[:=](\d+)", job.get("TresPerJob", ""))
        asked = int(gpus.group(1)) if gpus else 0
        assert {asked} == wanted, f"{rule}: the SLURM job asked for {asked} GPUs, the rule wants {wanted}"
        gpu_jobs += asked
        # threads -> --cpus-per-task, uncapped by the submit host's cores; mem_mb -> --mem
        threads = {j.get("threads", 1) for j in remote if j["rule"] == rule}
        assert {int(job["NumCPUs"])} == threads, (rule, job["NumCPUs"], threads)
        mem = {int(j["resources"]["mem_mb"]) for j in remote if j["rule"] == rule}
        assert slurm_mb(job["MinMemoryNode"]) in mem, (rule, job["MinMemoryNode"], mem)
    assert gpu_jobs >= 1, "no GPU job reached SLURM (training jobs declare gpu=1)"
    print(f"\nSLURM run: {elapsed:.0f}s, {len(submitted)} cluster jobs ({gpu_jobs} with --gpus=1), "
          f"{len(ran) - len(remote)} local jobs")


def slurm_mb(value: str) -> int:
    """scontrol's memory field (`4000M`, `8G`) in MB."""
    number, unit = re.fullmatch(r"([\d.]+)([KMGT]?)", value).groups()
    return round(float(number) * {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024**2}[unit])


def slurm_logs(workdir: Path, tail: int = 1500) -> str:
    parts = []
    for path in sorted((workdir / ".snakemake" / "slurm_logs").rglob("*.log")):
        parts.append(f"--- {path.relative_to(workdir)}\n{path.read_text(errors='replace')[-tail:]}")
    return "\n".join(parts[-10:])
