"""Fixtures shared by the test files: the repository, its schema and demo config, a
Snakemake runner, small folds tables, and helpers for the offline networks."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(workdir: Path, *args: str, timeout: int = 900, snakefile: Path | None = None,
                  env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the repository's Snakefile with `workdir` as working directory (results go there)."""
    cmd = [SNAKEMAKE, "--snakefile", str(snakefile or REPO / "Snakefile"), "--directory",
           str(workdir), *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def schema_path() -> str:
    return str(SCHEMA)


@pytest.fixture(scope="session")
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


@pytest.fixture
def demo_config() -> dict:
    """config/config.yaml as written (a fresh copy per test)."""
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


@pytest.fixture
def snakemake_run():
    return run_snakemake


@pytest.fixture(scope="session")
def ffmpeg_available() -> bool:
    from semaug.video import ffmpeg_exe

    return shutil.which(ffmpeg_exe()) is not None or Path(ffmpeg_exe()).exists()


@pytest.fixture
def offline_torch_home(tmp_path, monkeypatch) -> Path:
    """An empty TORCH_HOME: nothing cached, so a weights download would be attempted (and
    must fail with the project's message, not reach the network)."""
    home = tmp_path / "torch_home"
    (home / "hub" / "checkpoints").mkdir(parents=True)
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def small_folds(n_subjects: int = 6, labels=("happy", "sad"), videos_per_label: int = 1,
                n_folds: int = 2):
    """A folds table of `n_subjects` subjects, each with `videos_per_label` videos of every
    label, subjects spread round-robin over `n_folds` folds (no clips behind the paths)."""
    import pandas as pd

    rows = [{"video_id": f"S{s:02d}_{lab}_{v}", "subject": f"S{s:02d}", "label": lab,
             "path": f"clips/S{s:02d}_{lab}_{v}.npz", "fold": s % n_folds}
            for s in range(n_subjects) for lab in labels for v in range(videos_per_label)]
    return pd.DataFrame(rows)
