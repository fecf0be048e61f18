"""envs/semaug.yaml (the `conda:` environment of every rule) stays in step with pyproject.toml,
and its post-deploy script installs the checkout."""
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import REPO
ENV_FILE = REPO / "envs" / "semaug.yaml"
POST_DEPLOY = REPO / "envs" / "semaug.post-deploy.sh"
# Needed to run the workflow, not inside a job's environment (the outer Snakemake runs jobs).
NOT_IN_ENV = {"snakemake"}
# conda-forge names that differ from the PyPI name
CONDA_NAMES = {"torch": "pytorch"}


def env_specs() -> dict[str, str]:
    """name -> version specifier of every conda and pip dependency of the environment file."""
    env = yaml.safe_load(ENV_FILE.read_text())
    specs = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            if isinstance(item, str) and not item.startswith("-"):
                # conda's `python=3.11` is a match spec; pip's are PEP 508
                req = Requirement(re.sub(r"^([\w.-]+)=(?!=)", r"\1==", item.split("#")[0].strip()))
                specs[canonicalize_name(req.name)] = str(req.specifier)
    return specs


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_env_file_parses_and_names_channels():
    env = yaml.safe_load(ENV_FILE.read_text())
    assert env["name"] == "semaug"
    assert "conda-forge" in env["channels"]
    specs = env_specs()
    assert specs["python"].startswith("==3.")
    assert "pip" in specs


def test_env_lists_every_runtime_dependency_with_the_same_bounds():
    specs = env_specs()
    missing, different = [], []
    for dep in project()["dependencies"]:
        req = Requirement(dep)
        name = canonicalize_name(req.name)
        if name in NOT_IN_ENV:
            continue
        name = name if name in specs else canonicalize_name(CONDA_NAMES.get(name, name))
        if name not in specs:
            missing.append(dep)
        elif specs[name] != str(req.specifier):
            different.append(f"{dep} (env: {name}{specs[name]})")
    assert not missing, f"in pyproject.toml but not in {ENV_FILE.name}: {missing}"
    assert not different, f"bounds differ from pyproject.toml: {different}"


def test_env_python_satisfies_requires_python():
    from packaging.specifiers import SpecifierSet

    python = env_specs()["python"].lstrip("=")
    assert SpecifierSet(project()["requires-python"]).contains(python + ".0")


def test_every_rule_uses_the_env_file():
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = smk.read_text()
        n_rules = len(re.findall(r"^(?:rule|checkpoint) \w+:", text, re.M))
        n_conda = text.count('"../../envs/semaug.yaml"')
        assert n_conda == n_rules, f"{smk.name}: {n_rules} rules, {n_conda} `conda:` directives"


def _stub_python(tmp_path: Path) -> Path:
    """A `python` on PATH that records its arguments instead of installing anything."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "python"
    stub.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/calls"\n')
    stub.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("how", ["SEMAUG_SRC", "working directory"])
def test_post_deploy_installs_the_checkout(tmp_path, how):
    bin_dir = _stub_python(tmp_path)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    env.pop("SEMAUG_SRC", None)
    cwd = REPO
    if how == "SEMAUG_SRC":
        env["SEMAUG_SRC"], cwd = str(REPO), tmp_path
    proc = subprocess.run(["bash", str(POST_DEPLOY)], cwd=cwd, env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    calls = (tmp_path / "calls").read_text()
    assert f"-m pip install --no-deps --no-build-isolation --quiet -e {REPO}" in calls


def test_post_deploy_says_where_it_looked_when_the_checkout_is_unknown(tmp_path):
    bin_dir = _stub_python(tmp_path)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    env.pop("SEMAUG_SRC", None)
    proc = subprocess.run(["bash", str(POST_DEPLOY)], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert "SEMAUG_SRC" in proc.stderr and not (tmp_path / "calls").exists()
