"""The glibc allocator settings every workflow job inherits (semaug.allocator)."""

import os
import subprocess
import sys
from pathlib import Path

from semaug.allocator import ALLOCATOR_ENV, allocator_defaults

REPO = Path(__file__).resolve().parents[1]


def test_defaults_fill_only_what_the_user_left_unset():
    assert allocator_defaults({}) == ALLOCATOR_ENV
    mine = {"MALLOC_TRIM_THRESHOLD_": "0"}
    assert allocator_defaults(mine) == {"MALLOC_MMAP_THRESHOLD_": str(1 << 30)}
    assert allocator_defaults(dict(ALLOCATOR_ENV)) == {}


def _environment_after_parsing(env: dict[str, str]) -> list[str]:
    """MALLOC_* values in the environment of a process that parsed the Snakefile (the one
    its jobs inherit)."""
    code = ("import os; from semaug.scripting import mock_snakemake; "
            "mock_snakemake('folds', ds='ck_demo'); "
            "print(os.environ.get('MALLOC_MMAP_THRESHOLD_'), os.environ.get('MALLOC_TRIM_THRESHOLD_'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split()[-2:]


def test_the_workflow_gives_its_jobs_the_settings_and_keeps_the_users():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert _environment_after_parsing(env) == [str(1 << 30)] * 2
    assert _environment_after_parsing({**env, "MALLOC_TRIM_THRESHOLD_": "4096"}) == [
        str(1 << 30), "4096"]
