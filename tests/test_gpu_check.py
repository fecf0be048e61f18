"""benchmarks/gpu_check.py on a CPU-only machine: the skip path exits 0 with its message, and
--cpu-smoke walks every measurement's code path at tiny size (the workflow step as a dry run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


def run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
               CUDA_VISIBLE_DEVICES="")  # CPU-only, also on a GPU machine
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=REPO)


def test_without_a_gpu_it_skips_with_a_message_and_exit_0() -> None:
    proc = run()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SKIPPED" in proc.stdout and "no CUDA device visible" in proc.stdout
    assert "it/s" not in proc.stdout  # nothing was measured


def test_cpu_smoke_runs_every_check() -> None:
    pytest.importorskip("face_alignment")
    proc = run("--cpu-smoke")
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-2000:]
    assert "4/4 checks passed" in out
    for figure in ("it/s training loop |", "img/s pipeline |", "frames/s network only", "plans monkeynet training"):
        assert figure in out, out


def test_a_failing_check_makes_the_exit_status_non_zero(monkeypatch, capsys) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.pop(0)

    def broken(size):
        raise RuntimeError("simulated failure")

    monkeypatch.setitem(gpu_check.RUNNERS, "classifier", broken)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # leave this process's threads alone
    assert gpu_check.main(["--cpu-smoke", "--only", "classifier"]) == 1
    out = capsys.readouterr().out
    assert "classifier: FAILED" in out and "simulated failure" in out and "0/1 checks passed" in out


def test_first_order_trains_fomm_in_the_monkeynet_check() -> None:
    proc = run("--cpu-smoke", "--only", "monkeynet", "--first-order")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "fomm 32 px batch 2 AMP" in proc.stdout and "1/1 checks passed" in proc.stdout
