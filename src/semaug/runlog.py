"""Logging set-up shared by the workflow's scripts: one log file per rule."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to(path: str | Path | None, *, threads: int | None = None) -> logging.Logger:
    """Send logging and stderr (where tqdm draws its bars) to the rule's log file, and give
    torch the job's ``threads`` (when given).

    Uncaught exceptions are written there too, with a one-line summary first so the cause
    reads before the traceback.
    """
    if threads is not None:
        import torch

        torch.set_num_threads(int(threads))
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the job
        sys.stderr = stream
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr, force=True)

    def excepthook(exc_type, exc, tb):  # noqa: ANN001
        logging.getLogger("semaug").error("%s: %s", exc_type.__name__, exc)
        sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = excepthook
    return logging.getLogger("semaug")


def snakemake_job(namespace: dict[str, Any], rule: str, **wildcards: Any) -> Any:
    """The ``snakemake`` object of a workflow script: the one Snakemake injected, or, when the
    script is run by hand for debugging (``python workflow/scripts/folds.py ds=ck_demo``), the
    same object built for ``rule`` from the Snakefile in the working directory, with
    ``wildcards`` as defaults that ``key=value`` arguments override; ``configfile=my.yaml``
    (repeatable) reads configs as ``--configfile`` would (PyPSA-Eur's ``mock_snakemake``
    idea)."""
    if "snakemake" in namespace:
        return namespace["snakemake"]
    from .scripting import mock_snakemake

    pairs = [arg.split("=", 1) for arg in sys.argv[1:] if "=" in arg]
    configfiles = [value for key, value in pairs if key == "configfile"]
    overrides = {key: value for key, value in pairs if key != "configfile"}
    return mock_snakemake(rule, configfiles=configfiles, **{**wildcards, **overrides})
